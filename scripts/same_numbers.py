"""Compare every number of every result file under two folders written by scripts/same-numbers.sh (BEFORE, AFTER):
the same files, and each float equal bit for bit (timings and paths aside; folders renamed by a later layout
matched, `RENAMED`). A file only in AFTER (a task the later version added) is listed, not compared; one only in
BEFORE is a difference. Exit 1 naming the first differences."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

SKIP = {"evaluation_time", "seconds", "date", "time", "kg_co2_emissions", "folder", "files", "items", "path"}


def numbers(obj: Any, where: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k not in SKIP:
                out.update(numbers(v, f"{where}.{k}"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(numbers(v, f"{where}[{i}]"))
    elif isinstance(obj, float | int) and not isinstance(obj, bool):
        out[where] = obj.hex() if isinstance(obj, float) else obj
    return out


def load(path: Path) -> Any:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return json.loads(raw)


RENAMED = {"__suite_smoke": ""}  # condition keys a later layout added to a folder's name (CHANGELOG: Layout)


def files(root: Path) -> dict[str, Path]:
    found = {}
    for p in root.rglob("*"):
        if p.is_file() and p.name.endswith((".json", ".json.gz")) and "events" not in p.name:
            name = p.relative_to(root).as_posix()
            for old, new in RENAMED.items():
                name = name.replace(old, new)
            found[name] = p
    return found


def main(a: str, b: str) -> int:
    left, right = files(Path(a) / "results"), files(Path(b) / "results")
    problems = [f"only in {a}: {n}" for n in sorted(left.keys() - right.keys())]  # a result lost
    added = sorted(right.keys() - left.keys())  # new tasks or files of the later version: listed, not a difference
    compared = 0
    for name in sorted(left.keys() & right.keys()):
        x, y = numbers(load(left[name])), numbers(load(right[name]))
        compared += len(x)
        problems += [
            f"{name}{k}: {x.get(k)} != {y.get(k)}" for k in sorted(x.keys() | y.keys()) if x.get(k) != y.get(k)
        ]
    print(f"{len(left.keys() & right.keys())} files, {compared} numbers compared; {len(problems)} differences")
    if added:
        print(
            f"{len(added)} files only in {b} (not compared): {', '.join(added[:6])}{' ...' if len(added) > 6 else ''}"
        )
    for p in problems[:20]:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
