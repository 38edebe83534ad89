"""MultiWOZ 2.4 dialogue state tracking as text-to-SQL (IC-DST): the eleventh prompt-retrieval task. The state
tracking, SQL and scoring are `tracker.py`, the ontology value fixes `typos.py`, the prompt's schema `schema.sql`."""

from __future__ import annotations

from pathlib import Path

from harness.benchmarks.prompt_retrieval.data import files_source, json_file
from harness.benchmarks.prompt_retrieval.spec import PromptRetrievalTaskSpec
from harness.benchmarks.prompt_retrieval.tasks.multiwoz import tracker
from harness.benchmarks.prompt_retrieval.types import Example, Sample
from harness.core.sources import task_files


def load(spec: PromptRetrievalTaskSpec, data_dir: Path | None) -> Sample:
    """main_mwoz.py: the pool is every turn of 1,000 train dialogues; the test turns are the first 256 of the
    shuffled test dialogues, answered in order (`tracker.Tracker`)."""
    files = task_files(spec, files_source(spec), data_dir)
    p = spec.protocol
    train, test = (tracker.read_dialogues(files[k]) for k in ("train", "test"))
    pool, tests = tracker.sample(train, test, p.seed, int(p.pool_dialogues or 0), p.test_size)
    prefix = tracker.rename(tracker.SCHEMA) + "\n"

    def example(turn: tracker.Turn) -> Example:  # a test turn's LM input waits for the previous prediction
        gold = tracker.state_text(turn.state)
        fields = {"system": turn.system, "user": turn.user}
        return Example(
            turn.name, spec.embed_text(fields), "", gold, demo_text=tracker.demonstration(turn), prefix=prefix
        )

    deviation = "[context] lists slots in state order; the reference joined a set, whose order changed from run to run"
    return Sample(
        [example(t) for t in pool],
        [example(t) for t in tests],
        {"files": {k: str(v) for k, v in files.items()}, "deviation": deviation},
        tracker.Tracker({t.name: t for t in tests}, json_file(files["ontology"])),
    )
