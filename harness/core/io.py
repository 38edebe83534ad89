"""File I/O shared by every module: atomic writes (write, fsync, rename) and checked JSON Lines."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from harness.core.errors import DataError, OutputError

STALE_TEMP_SECONDS = 15 * 60  # an atomic write lasts seconds; a temp file this old was left by a killed writer


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ensure_writable(folder: Path, need_bytes: int = 50_000_000) -> None:
    """Fail before any model loads when `folder` cannot take results: not creatable, not writable, or short of
    space; and clean the temp files a killed writer left there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".harness-probe-", delete=True):
            pass
    except OSError as exc:
        raise OutputError(
            f"{folder} is not writable ({exc.strerror}); pass another --output-dir or fix its permissions"
        ) from None
    free = shutil.disk_usage(folder).free
    if free < need_bytes:
        raise OutputError(
            f"{folder}: only {free / 1e6:.0f} MB free, {need_bytes / 1e6:.0f} MB needed; free space or pass another --output-dir"
        )
    now = time.time()
    for stale in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > STALE_TEMP_SECONDS:
                stale.unlink()


def unwritable(path: Path, exc: OSError) -> OSError | OutputError:
    """A full, over-quota, read-only or forbidden write as the OutputError naming the file (exit 8); another
    OSError as it is."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
        return OutputError(
            f"could not write {path} ({exc.strerror}); everything finished before it is kept: free space or "
            "fix permissions, then resume with the same command"
        )
    return exc


def write_atomic_path(path: Path, write: Callable[[Path], None]) -> None:
    """`write(tmp)` a temporary file in the same folder, then rename it: readers never see half a file. The
    file gets the umask's permissions (mkstemp's 0600 would hide results from collaborators); a full or
    read-only disk is an OutputError naming the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise unwritable(path, exc) from None
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise unwritable(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, write: Callable[[Any], None], mode: str = "w") -> None:
    """Like `write_atomic_path`, for a writer that takes an open file."""

    def through_handle(tmp: Path) -> None:
        with open(tmp, mode, encoding=None if "b" in mode else "utf-8") as fh:  # noqa: PTH123
            write(fh)

    write_atomic_path(path, through_handle)


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, lambda fh: json.dump(obj, fh, indent=1, ensure_ascii=False, default=str))


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """One JSON object per line, streamed: `rows` may be a generator over millions of rows."""
    write_atomic(path, lambda fh: fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


class NotJsonError(DataError):
    """A line that is not a JSON object (`read_texts` then says what a line must be)."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_jsonl(path: Path, nonfinite: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a bad line (not JSON, not UTF-8, or NaN/Infinity unless
    `nonfinite`: then the caller checks the fields it scores) fails with the file, the line and the fix."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}:{number}: not UTF-8 (byte {exc.start} of the line is 0x{raw[exc.start]:02x}); "
                    "re-save the file as UTF-8"
                ) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line) if nonfinite else json.loads(line, parse_constant=_no_constant)
            except json.JSONDecodeError as exc:
                raise NotJsonError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            except ValueError as exc:
                raise DataError(f"{path}:{number}: {exc}; write a finite number or drop the row") from None
            if not isinstance(obj, dict):
                raise NotJsonError(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
            yield number, obj


def read_texts(path: Path, field: str = "text") -> list[str]:
    """The `field` of each line of a JSON Lines file (`harness embed --input`); a plain-text file is named as one,
    with the line each text must be."""
    try:
        rows = list(read_jsonl(path))
    except NotJsonError as exc:
        raise DataError(
            f'{exc}: each line must be a JSON object such as {{"{field}": "A man is playing a guitar."}}; from a '
            f"plain-text file, one text per line: jq -R '{{{field}: .}}' {path.name} > texts.jsonl"
        ) from None
    texts = []
    for number, obj in rows:
        if field not in obj:
            raise DataError(f'{path}:{number}: missing field {field!r} (expected {{"{field}": ...}} per line)')
        if not isinstance(obj[field], str):
            raise DataError(f"{path}:{number}: field {field!r} is {type(obj[field]).__name__}, expected a string")
        texts.append(obj[field])
    if not texts:
        raise DataError(f'{path}: no texts (expected one {{"{field}": ...}} object per line)')
    return texts
