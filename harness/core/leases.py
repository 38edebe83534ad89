"""Leases: concurrent runs on one output folder take different tasks, with no scheduler.

A lease is a directory `<result folder>/.leases/<task>`, made under a draft name with its `owner` file and renamed
into place: the rename is atomic on local and network filesystems alike and fails onto an existing lease, so
exactly one process gets it. Its holder refreshes an `owner` file every HEARTBEAT seconds. A lease is
taken over when its heartbeat is older than TTL (a worker that died on another host), or at once when its owner
was a process on this host that no longer exists (a kill -9 here); takeover renames the stale lease away first,
which one process only can do, so two takers never both win.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from harness.core.fingerprint import differences

TTL = 300.0
HEARTBEAT = 20.0


class Lease:
    """`fingerprint`: the inputs the holder computes the task from (`harness.core.fingerprint`), in its owner file,
    so that a run on other inputs that finds the lease taken is told so rather than left a result it did not ask
    for (`differs`)."""

    def __init__(self, folder: Path, task: str, fingerprint: dict[str, Any] | None = None) -> None:
        self.path = folder / ".leases" / task
        self.fingerprint = fingerprint
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._since = time.time()

    def acquire(self) -> bool:
        """True when this process now holds the task; False when a live worker does."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for left in self.path.parent.glob(f"{self.path.name}.draft-*"):  # drafts a killed process left behind
            with contextlib.suppress(OSError):
                if time.time() - left.stat().st_mtime > HEARTBEAT:
                    shutil.rmtree(left, ignore_errors=True)
        for _ in range(2):  # a second try after taking over a stale lease
            # the lease appears with its owner in one step (a rename onto an existing, non-empty lease fails), so a
            # kill between creating it and naming its owner cannot leave an ownerless lease that blocks the task
            draft = self.path.with_name(f"{self.path.name}.draft-{uuid.uuid4().hex}")
            draft.mkdir()
            self._write_owner(draft)
            try:
                os.rename(draft, self.path)
            except OSError:
                shutil.rmtree(draft, ignore_errors=True)
                if not self._stale():
                    return False
                tomb = self.path.with_name(f"{self.path.name}.stale-{uuid.uuid4().hex}")
                with contextlib.suppress(OSError):  # another process took it over first: the retry sees its lease
                    os.rename(self.path, tomb)
                    shutil.rmtree(tomb, ignore_errors=True)
                continue
            self._beat = threading.Thread(target=self._heartbeat, daemon=True)
            self._beat.start()
            return True
        return False

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        shutil.rmtree(self.path, ignore_errors=True)

    def _write_owner(self, folder: Path | None = None) -> None:
        """Atomically (temp file, then replace): a kill mid-heartbeat never leaves a torn owner file."""
        owner = (folder or self.path) / "owner"
        draft = owner.with_name(f"owner.{os.getpid()}.tmp")
        owner_info = {"host": socket.gethostname(), "pid": os.getpid(), "time": time.time(), "since": self._since}
        if self.fingerprint is not None:
            owner_info["fingerprint"] = self.fingerprint
        draft.write_text(json.dumps(owner_info))
        os.replace(draft, owner)

    def holder(self) -> dict | None:
        """Who computes the task now (host, pid, since: a live lease's owner), or None."""
        try:
            info = json.loads((self.path / "owner").read_text())
        except (OSError, ValueError):
            return None
        return None if self._stale() else info

    def differs(self) -> list[str] | None:
        """What differs between the inputs of the live holder and ours (`fingerprint.differences`), or None when
        it computes the same result (or names no inputs: an older harness's lease)."""
        theirs = (self.holder() or {}).get("fingerprint")
        if (
            not isinstance(theirs, dict)
            or self.fingerprint is None
            or theirs.get("sha256") == self.fingerprint["sha256"]
        ):
            return None
        return differences(theirs, self.fingerprint)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            with contextlib.suppress(OSError):
                self._write_owner()

    def _stale(self) -> bool:
        owner = self.path / "owner"
        try:
            info = json.loads(owner.read_text())
            age = time.time() - owner.stat().st_mtime
        except (OSError, ValueError):  # an unreadable owner (a lease from another tool or version): stale once old
            try:
                return time.time() - self.path.stat().st_mtime > TTL
            except OSError:
                return False
        if info.get("host") == socket.gethostname() and not _alive(int(info.get("pid", -1))):
            return True
        return age > TTL


def _alive(pid: int) -> bool:
    """Whether a process of this host is running: a zombie (exited, its parent not yet waiting for it, as a killed
    Ray worker stays for a while) is not."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: the state after the command name in /proc/<pid>/stat
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True
