"""Units at scale without a scheduler: the plan's statuses, cost-balanced shards, and leases that a dead worker's
successor takes over."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from harness.app.runner import plan, shard
from harness.core import leases
from harness.core.benchmark import task_folder
from harness.core.context import RunOptions
from harness.core.instructions import Library
from harness.core.leases import Lease
from harness.core.paths import data_dir, smoke_dir
from harness.core.results import Unit, record_path
from harness.core.spec import Registry
from tests.conftest import finished

SMOKE = Registry(smoke_dir() / "tasks")
LIB = Library(data_dir("instructions"), SMOKE)


def _fake_status(costs: dict[str, int]) -> dict[str, tuple[str, dict]]:
    return {name: ("missing", {"inputs": {"data": {"bytes": c}}}) for name, c in costs.items()}


def test_shards_are_longest_first_greedy_and_deterministic() -> None:
    """Costs 9, 7, 6, 5, 4, 2 over 2 shards, each to the lighter one: 9 -> A (9), 7 -> B (7), 6 -> B (13),
    5 -> A (14), 4 -> B (17), 2 -> A (16). So A = {9, 5, 2}, B = {7, 6, 4} (a bug in the order or the
    least-loaded choice gives another split)."""
    specs = list(SMOKE.tasks.values())[:6]
    costs = dict(zip([s.name for s in specs], [5, 9, 2, 7, 4, 6], strict=True))
    status = _fake_status(costs)
    first, second = shard(specs, status, 1, 2), shard(specs, status, 2, 2)
    assert sorted(costs[s.name] for s in first) == [2, 5, 9] and sorted(costs[s.name] for s in second) == [4, 6, 7]
    assert {s.name for s in first} | {s.name for s in second} == set(costs) and not {s.name for s in first} & {
        s.name for s in second
    }
    assert shard(specs, status, 1, 2) == first  # every array member computes the same split
    assert shard(specs, status, 1, 1) == specs


def test_plan_says_done_missing_and_stale_with_what_differs(tmp_path: Path) -> None:
    opts = RunOptions(Unit("tiny", "r", "instructor-large", "masked"), tmp_path / "out", smoke_dir() / "data")
    specs = [SMOKE.get("SmokeSTS"), SMOKE.get("SmokeClustering")]
    status = plan(specs, LIB, opts)
    assert [v[0] for v in status.values()] == ["missing", "missing"]
    folder = task_folder(specs[0], opts)
    # a record counts as done only beside a result file giving its score (a record alone is recomputed)
    finished(folder, "SmokeSTS", 0.5, fingerprint=status["SmokeSTS"][1])
    old = json.loads(json.dumps(status["SmokeClustering"][1]))
    old["inputs"]["model"]["max_length"] = 8
    old["sha256"] = "a record made with --max-length 8"
    record_path(folder, "SmokeClustering").write_text(json.dumps({"fingerprint": old}))
    again = plan(specs, LIB, opts)
    assert again["SmokeSTS"][0] == "done" and again["SmokeClustering"][0] == "stale: model.max_length"


def test_a_lease_is_held_once(tmp_path: Path) -> None:
    first, second = Lease(tmp_path, "T"), Lease(tmp_path, "T")
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire()
    second.release()
    assert not (tmp_path / ".leases" / "T").exists()


def _foreign_lease(tmp_path: Path, host: str, pid: int, age: float) -> None:
    lease = tmp_path / ".leases" / "T"
    lease.mkdir(parents=True)
    (lease / "owner").write_text(json.dumps({"host": host, "pid": pid, "time": time.time() - age}))
    then = time.time() - age
    os.utime(lease / "owner", (then, then))


@pytest.mark.parametrize(
    ("host", "pid", "age", "taken"),
    [
        ("elsewhere", 1, 10.0, False),  # a live worker on another host, heartbeat fresh: left to it
        ("elsewhere", 1, leases.TTL + 60, True),  # its heartbeat stopped: the worker died, taken over
        (socket.gethostname(), 2**22 + 12345, 10.0, True),  # a dead process on this host (kill -9): at once
        (socket.gethostname(), os.getpid(), 10.0, False),  # a live process here
    ],
)
def test_a_dead_workers_lease_is_taken_over(tmp_path: Path, host: str, pid: int, age: float, taken: bool) -> None:
    _foreign_lease(tmp_path, host, pid, age)
    lease = Lease(tmp_path, "T")
    assert lease.acquire() is taken
    if taken:
        assert json.loads((tmp_path / ".leases" / "T" / "owner").read_text())["pid"] == os.getpid()
        lease.release()


def test_a_lease_never_exists_without_its_owner(tmp_path: Path) -> None:
    """A kill between creating a lease and naming its owner left an ownerless lease that blocked its task for the
    whole TTL (a seeded kill -9 found it): the lease now appears with its owner in one rename, and the owner is
    rewritten atomically."""
    lease = Lease(tmp_path, "T")
    assert lease.acquire()
    owner = json.loads((tmp_path / ".leases" / "T" / "owner").read_text())
    assert owner["pid"] == os.getpid() and not list((tmp_path / ".leases").glob("T.draft-*"))
    assert sorted(p.name for p in (tmp_path / ".leases" / "T").iterdir()) == ["owner"]
    lease.release()
    left = tmp_path / ".leases" / "T.draft-dead"  # what a kill between the draft and the rename leaves
    left.mkdir()
    then = time.time() - leases.HEARTBEAT - 5
    os.utime(left, (then, then))
    assert Lease(tmp_path, "T").acquire() and not left.exists()


def test_a_zombie_owner_is_dead() -> None:
    """A killed worker whose parent has not waited for it yet (a Ray worker, for a while) holds no lease: before,
    its lease stood until the heartbeat TTL ran out (minutes of a retried unit waiting)."""
    import subprocess
    import sys
    import time

    from harness.core.leases import _alive

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # exited, not yet waited for: a zombie
        state = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            break
        time.sleep(0.05)
    assert not _alive(child.pid)
    child.wait()
    assert _alive(os.getpid())
