"""MkDocs hook: pages that describe the command line and the API's keyword settings are filled from the code when
the site is built, so they never drift from it.

- docs/reference/cli.md: `<!-- cli-help -->` becomes the `--help` text of `harness` and of every verb, from the
  parser the command itself uses (`harness.cli.build_parser`).
- docs/reference/api.md: `<!-- benchmark-settings -->` becomes the table of each benchmark's own keyword settings
  (`Benchmark.flags`, declared data), which `harness.evaluate` takes beside `RunRequest`'s fields.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _harness() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # this checkout's harness, whatever else is installed


def cli_help() -> str:
    _harness()
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal's width: fixed, so every build says the same
    from harness.cli import build_parser

    parser = build_parser()
    parser.prog = "harness"
    sections = ["## harness\n", "```text", parser.format_help().rstrip(), "```"]
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in verbs.choices.items():  # in the order `harness --help` lists them
        sections += [f"\n## harness {name}\n", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(sections) + "\n"


def benchmark_settings() -> str:
    _harness()
    from harness.core.benchmark import all_benchmarks

    rows = ["| benchmark | keyword | flag | default | meaning |", "|---|---|---|---|---|"]
    for benchmark in all_benchmarks():
        for flag in benchmark.flags:
            default = "" if flag.default is None else f"`{flag.default}`"
            meaning = flag.help.replace("|", "\\|")
            rows.append(f"| `{benchmark.name}` | `{flag.name}` | `{flag.option}` | {default} | {meaning} |")
    return "\n".join(rows) + "\n"


FILLS: dict[str, tuple[str, Callable[[], str]]] = {
    "reference/cli.md": ("<!-- cli-help -->", cli_help),
    "reference/api.md": ("<!-- benchmark-settings -->", benchmark_settings),
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri not in FILLS:
        return markdown
    marker, fill = FILLS[page.file.src_uri]
    if marker not in markdown:
        raise ValueError(f"{page.file.src_uri}: the marker {marker} is missing; the generated text has nowhere to go")
    return markdown.replace(marker, fill())
