"""Prompt-retrieval evaluation: embed pool and test inputs, choose demonstrations, prompt the LM, score.

Every test example's demonstrations (pool ids in prompt order), prediction and gold answer are written to
`<Task>.examples.jsonl`, line by line, so a score can be audited and an interrupted run resumes.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.benchmarks.prompt_retrieval.demonstrations import Budget, cosine, mean_centre, most_similar_first, select
from harness.benchmarks.prompt_retrieval.scoring import (
    group_at_rank,
    joined_tokens,
    rouge_l,
    rouge_l_each,
    scored_pairs,
)
from harness.benchmarks.prompt_retrieval.spec import PromptProtocol, PromptRetrievalTaskSpec
from harness.benchmarks.prompt_retrieval.tasks import adapter
from harness.benchmarks.prompt_retrieval.types import Example, PromptTask
from harness.core.errors import ResultError
from harness.core.instructions import sha256
from harness.core.interfaces import Demo, ScoringLM
from harness.core.io import unwritable, write_atomic
from harness.core.items import Items, Stratum

if TYPE_CHECKING:
    from harness.benchmarks.prompt_retrieval.settings import PromptSettings
    from harness.benchmarks.prompt_retrieval.tasks.multiwoz.tracker import Tracker


def read_done(path: Path, log: Callable[..., None] = print) -> dict[str, dict[str, Any]]:
    """Finished examples by id. A torn last line (a run killed mid-write) is cut off the file, and said, so that
    the examples appended next start on a line of their own."""
    done: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return done
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with path.open("r+b") as fh:
            fh.truncate(end)
        log(f"{path}: cut off a torn last line ({len(data) - end} bytes) left by an interrupted write; it is rescored")
    for number, line in enumerate(data[:end].decode("utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise ResultError(
                f"{path}:{number}: not valid JSON; run with --overwrite to rescore every example"
            ) from None
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise ResultError(
                f"{path}:{number}: an example line without its 'id' (not written by the harness, or edited); "
                "run with --overwrite to rescore every example"
            )
        done[row["id"]] = row
    return done


def claim_records(records: Path, fingerprint: str, overwrite: bool) -> None:
    """Examples scored under other inputs are never mixed in: --overwrite starts the file anew; a file from other
    inputs (another LM in a folder of the same name, say) is refused; `<Task>.examples.fingerprint` says which."""
    marker = records.with_suffix(".fingerprint")
    if records.exists() and not overwrite:
        if not marker.is_file() or marker.read_text(encoding="utf-8").strip() != fingerprint:
            raise ResultError(
                f"{records}: these examples were scored with other inputs (LM, data, instructions or settings); "
                "run with --overwrite to rescore them, or --output-dir DIR to keep both"
            )
        return
    records.unlink(missing_ok=True)
    write_atomic(marker, lambda fh: fh.write(fingerprint + "\n"))


def evaluate(
    spec: PromptRetrievalTaskSpec,
    data_dir: Path | None,
    encode: Callable[[list[str]], np.ndarray],
    lm: ScoringLM,
    settings: PromptSettings,
    records: Path,
    log: Callable[..., None] = print,
) -> tuple[dict[str, Any], Items]:
    """The task's scores, and each test example's ROUGE-L (Amazon: grouped by reviewer, the score being the
    reviewer at `group_rank`)."""
    task = adapter(spec)
    spec = settings.applied(spec)
    p = spec.protocol
    sample = task.load(spec, data_dir)
    pool, tests = sample.pool, sample.tests
    sample.provenance["sample_sha256"] = sha256(json.dumps([(e.id, e.embed_text, e.gold) for e in pool + tests]))
    pool_vecs = mean_centre(encode([e.embed_text for e in pool]))
    test_vecs = encode([e.embed_text for e in tests])
    test_vecs = mean_centre(test_vecs) if p.centre_test else test_vecs
    budget = Budget.from_protocol(p)
    if task.layout == "plain":  # generation: the prompt and the answer must fit the LM's window
        budget = replace(budget, total_tokens=min(budget.total_tokens, lm.window - (p.max_new_tokens or 0)))
    run = _Run(task, p, budget, settings.demos, pool, cosine(test_vecs, pool_vecs), lm, sample.tracker)
    done = run.answer(tests, records, spec.name, log)
    ordered = [done[e.id] for e in tests]
    extra: dict[str, Any] = sample.tracker.summary(ordered) if sample.tracker else {}
    each = rouge_l_each(*scored_pairs(task.options, ordered))
    ids = [e.id for e in tests]
    items = Items([Stratum("", "mean", {"value": each}, ids=ids)])
    if p.group_rank is not None:
        groups = np.asarray([str(e.group) for e in tests])
        items = Items(
            [Stratum("", "kth_lowest_group_mean", {"value": each}, ids=ids, group=groups, k=p.group_rank + 1)]
        )  # Amazon: the score of the group at that rank of ascending accuracy
        ordered, extra = group_at_rank(tests, ordered, p.group_rank)
    if task.token_joined:
        extra["rougeL_text"] = rouge_l([r["prediction_text"] for r in ordered], [r["gold"] for r in ordered]) / 100
    score = rouge_l(*scored_pairs(task.options, ordered))
    accuracy = float(np.mean([r["prediction"] == r["gold"] for r in ordered]))
    labelled = p.answer != "generation"
    scores = {
        **extra,
        "rougeL": score / 100,
        "accuracy": accuracy if labelled else None,
        "main_score": score / 100,
        "n_test": len(tests),
        "n_pool": len(pool),
        "token_budget": budget.total_tokens,
        "data": sample.provenance,
        "mean_demonstrations": float(np.mean([len(r["demonstrations"]) for r in ordered])),
    }
    return scores, items


@dataclass
class _Run:
    """Answers test examples: demonstrations, prompt, LM, one record line each."""

    task: PromptTask
    protocol: PromptProtocol
    budget: Budget
    condition: str
    pool: list[Example]
    scores: np.ndarray  # [test, pool] cosine
    lm: ScoringLM
    tracker: Tracker | None

    def __post_init__(self) -> None:
        self.lengths = [len(self.lm.ids(self.task.header.format(n=0) + e.demo())) for e in self.pool]

    def answer(self, tests: list[Example], records: Path, name: str, log: Callable[..., None]) -> dict[str, dict]:
        """Records of all test examples, scoring those the records lack; returns them by id. The file is held
        with an exclusive lock from before it is read, so two runs never interleave their lines."""
        try:
            return self._answer(tests, records, name, log)
        except OSError as exc:  # a full disk: every line written before it is kept, and resumed from
            raise unwritable(records, exc) from None

    def _answer(self, tests: list[Example], records: Path, name: str, log: Callable[..., None]) -> dict[str, dict]:
        records.parent.mkdir(parents=True, exist_ok=True)
        with records.open("a", encoding="utf-8") as out:
            try:
                fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ResultError(
                    f"{records}: another run is scoring these examples right now; wait for it to finish, "
                    "or use another --output-dir"
                ) from None
            done = read_done(records, log)
            step = 1 if self.tracker else self.lm.batch_size  # a dialogue turn needs the prediction before it
            todo = [(n, e) for n, e in enumerate(tests) if e.id not in done]
            log(f"{name}: {len(tests) - len(todo)} of {len(tests)} examples already scored, {len(todo)} to go")
            began = time.perf_counter()
            for start in range(0, len(todo), step):
                rows = [self._row(n, e, done) for n, e in todo[start : start + step]]
                _predict(self.task, self.protocol, self.lm, rows, self.tracker)
                for row in rows:
                    row.pop("context")
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    done[row["id"]] = row
                out.flush()
                finished = min(start + step, len(todo))
                rate = finished / max(time.perf_counter() - began, 1e-9)
                eta = (len(todo) - finished) / rate
                log(f"{name}: {finished}/{len(todo)} examples scored ({rate:.2f}/s, ETA {eta:.0f}s)")
        return done

    def _row(self, n: int, example: Example, done: dict[str, dict]) -> dict[str, Any]:
        row: dict[str, Any] = {"id": example.id}
        if self.tracker:
            row["previous_state"] = self.tracker.previous_state(example.id, done)
            example = replace(example, lm_input=self.tracker.question(example.id, row["previous_state"]))
        chosen = self._demonstrations(n, example)
        if self.task.layout == "plain":
            context = self.lm.ids(plain_prompt(self.task, example, [self.pool[i] for i in chosen]))
            while chosen and len(context) > self.budget.total_tokens:  # merges across pieces can add a token or two
                chosen = chosen[1:]
                context = self.lm.ids(plain_prompt(self.task, example, [self.pool[i] for i in chosen]))
        else:
            context = self.lm.context(
                [Demo(self.pool[i].lm_input, self.pool[i].gold) for i in chosen], example.lm_input
            )
        return row | {
            "demonstrations": [self.pool[i].id for i in chosen],
            "gold": example.gold,
            "options": list(example.options) if example.options else None,
            "context": context,
        }

    def _demonstrations(self, n: int, example: Example) -> list[int]:
        if self.condition == "zero-shot":
            return []
        if self.condition == "similar":
            order = most_similar_first(self.scores[n])
        else:  # one generator per test example, so a resumed run draws what a whole one would
            order = np.random.default_rng([self.protocol.seed, n]).permutation(len(self.pool))
        test_length = len(self.lm.ids(plain_prompt(self.task, example, [])))
        return select(order, self.scores[n], self.lengths, test_length, self.budget)


def plain_prompt(task: PromptTask, example: Example, demos: list[Example]) -> str:
    """Prefix, numbered demonstrations, test input (for the MetaICL layout: the test input alone)."""
    head = task.header
    shown = "".join(head.format(n=i) + d.demo() for i, d in enumerate(demos))
    return example.prefix + shown + head.format(n=len(demos)) + example.lm_input


def _predict(
    task: PromptTask, protocol: PromptProtocol, lm: ScoringLM, rows: list[dict[str, Any]], tracker: Tracker | None
) -> None:
    """By the task file's `answer`: label tasks score their shared options in one batch, multiple-choice tasks
    each example's own options, generation tasks decode greedily."""
    groups: list[tuple[list[dict[str, Any]], list[str]]] = []
    if protocol.answer == "label":
        groups = [(rows, list(task.options or ()))]
    elif protocol.answer == "multiple-choice":
        groups = [([row], row["options"]) for row in rows]
    for group, options in groups:
        for row, loss in zip(group, lm.option_losses([r["context"] for r in group], options), strict=True):
            row["option_losses"] = dict(zip(options, map(float, loss), strict=True))
            row["prediction"] = options[int(np.argmin(loss))]
    for row in rows:
        if "prediction" in row:
            continue
        if task.token_joined:
            ids = lm.generate_ids(row["context"], int(protocol.max_new_tokens or 0))
            row["prediction_text"] = lm.text(ids, list(protocol.stop or ())).strip()
            row["prediction"] = joined_tokens(lm.pieces(ids), list(protocol.stop or ()))
            continue
        completion = lm.generate(row["context"], int(protocol.max_new_tokens or 0), list(protocol.stop or ()))
        if tracker:
            row.update(tracker.read(row["id"], completion, row["previous_state"]))
        else:
            row["prediction"] = task.answer_prefix + completion.strip()
