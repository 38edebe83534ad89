"""`harness migrate DIR`: result folders of an older layout moved to where a run today resumes them."""

from __future__ import annotations

import argparse

from harness.cli.common import command, existing_folder


def _migrate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("output_dir", type=existing_folder, help="a run's --output-dir (default layout: results)")
    p.add_argument("--dry-run", action="store_true", help="list the moves only")


@command("migrate", "move results of an older folder layout to where runs resume them (docs: Results)", _migrate_args)
def _migrate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.app.migrate import migrate

    moves, left = migrate(Path(args.output_dir), args.dry_run)
    for move in moves:
        verb = "would move" if args.dry_run else "moved"
        print(f"{verb} {move.task}: {move.source} -> {move.target} (no {', '.join(move.dropped)} in its condition)")
    for move in left:
        print(f"left {move.task} in {move.source}: {move.target} gets it from the move above (reports read both)")
    print(f"{len(moves)} task(s) {'to move' if args.dry_run else 'moved'}; every other result is where runs look")
    return 0
