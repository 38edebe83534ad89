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

from dataclasses import dataclass

from harness.core.errors import UsageError

FIRST_SHUFFLE_DRAWS = 20  # mteb-2022: first-shuffle states averaged (seeds 0..N-1); see eras.py's docstring


@dataclass(frozen=True)
class Era:
    name: str
    code: str
    first_shuffles: tuple[int, ...]  # the states of the first undersampling shuffle, averaged
    clustering_seed: int
    fork_quirks: bool  # the INSTRUCTOR fork's instruction handling (SummEval machine summaries, skipped documents)


ERAS = {
    "mteb-2022": Era(
        "mteb-2022",
        "mteb 0.0.2 (embeddings-benchmark/mteb@210d012, PyPI, 2022-06-30)",
        tuple(range(FIRST_SHUFFLE_DRAWS)),
        28042000,
        False,
    ),
    "instructor": Era(
        "instructor",
        "the INSTRUCTOR mteb fork (xlang-ai/instructor-embedding@9a9742c, evaluation/MTEB)",
        (42,),
        42,
        True,
    ),
}


PROTOCOLS = ("instructor", "mteb-2022", "mteb")
ALIASES = {"paper": "instructor"}
DEFAULT = "instructor"
# the main score the era evaluators report per category (classification: the task file's accuracy; retrieval runs
# mteb's evaluator under every protocol): reranking's is sklearn's mean average precision, not mteb 2.x's map_at_1000
ERA_METRICS = {
    "Clustering": "v_measure",
    "PairClassification": "cosine_ap",
    "Reranking": "map",
    "STS": "cosine_spearman",
    "Summarization": "cosine_spearman",
}


def metric(category: str, main_metric: str, protocol: str) -> str:
    """The name of the main score a task reports under a protocol: one name in `harness tasks`, the run's table,
    its record and its report."""
    return ERA_METRICS.get(category, main_metric) if era_scores(category, protocol) else main_metric


def era_scores(category: str, protocol: str) -> bool:
    """Whether an era's evaluators score a task of `category` under `protocol`; installed mteb's do under the
    `mteb` protocol, and for retrieval under every protocol (mteb's evaluator reproduces BEIR's exact search, which
    both eras ran). The one rule for which code scores a task, its rows and its record (`evaluator_era`)."""
    return category != "Retrieval" and resolve(protocol) != "mteb"


def evaluator_era(category: str, protocol: str) -> Era | None:
    """The era whose evaluators score a task of `category` under `protocol` (`era_scores`), or None."""
    return era(protocol) if era_scores(category, protocol) else None


def resolve(name: str) -> str:
    """The protocol a name or alias stands for; an unknown name is a usage error listing the valid ones."""
    protocol = ALIASES.get(name, name)
    if protocol not in PROTOCOLS:
        raise UsageError(f"unknown protocol {name!r}: use {', '.join(PROTOCOLS)} (paper = instructor)")
    return protocol


def era(protocol: str) -> Era | None:
    """The era whose evaluators a protocol runs, or None for installed mteb."""
    return ERAS.get(resolve(protocol))
