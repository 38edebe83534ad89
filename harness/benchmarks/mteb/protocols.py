"""The evaluation protocols, each named for the code whose numbers it reproduces (recorded in every result):

- `instructor` (the default; `paper` is an alias): the mteb fork that produced the INSTRUCTOR paper's numbers
  (xlang-ai/instructor-embedding@9a9742c, `evaluation/MTEB`), run as its `examples/evaluate_model.py` runs it.
  Compare a baseline with INSTRUCTOR under this one.
- `mteb-2022`: mteb 0.0.2 (embeddings-benchmark/mteb@210d012, PyPI, 2022-06-30), which wrote the MTEB paper's
  result files, the baseline rows (GTR, Sent-T5, all-MiniLM-L6-v2) that the INSTRUCTOR paper's Table 2 copies.
- `mteb`: the installed mteb as it is (today's evaluators, today's dataset revisions).

The two era protocols load each dataset at the revision the paper-era code loaded (the task file's `source.paper`
pin, or its `source.pin` where that is the same) and evaluate every task type but retrieval with that code's
evaluators (`eras.py`); retrieval runs mteb's evaluator, which reproduces BEIR's exact search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.core.errors import UsageError

if TYPE_CHECKING:
    from harness.benchmarks.mteb.eras import Era

PROTOCOLS = ("instructor", "mteb-2022", "mteb")
ALIASES = {"paper": "instructor"}
DEFAULT = "instructor"


def resolve(name: str) -> str:
    """The protocol a name or alias stands for; an unknown name is a usage error listing the valid ones."""
    protocol = ALIASES.get(name, name)
    if protocol not in PROTOCOLS:
        raise UsageError(f"unknown protocol {name!r}: use {', '.join(PROTOCOLS)} (paper = instructor)")
    return protocol


def era(protocol: str) -> Era | None:
    """The era whose evaluators a protocol runs, or None for installed mteb."""
    from harness.benchmarks.mteb.eras import ERAS

    return ERAS.get(resolve(protocol))
