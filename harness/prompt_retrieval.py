"""Prompt retrieval (INSTRUCTOR paper appendix B.2): the embedding model retrieves in-context demonstrations
from an annotated pool; a causal LM answers with them; the score is ROUGE-L F x100 against the gold answer.

Each task's adapter reproduces its reference script (`evaluation/prompt_retrieval/main_*.py` of
xlang-ai/instructor-embedding): sampling, embedded text, LM input format, options and budget. Every test
example's demonstrations (pool ids in prompt order), prediction and gold answer are written to
`<Task>.examples.jsonl`, line by line, so a score can be audited and an interrupted run resumes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.demonstrations import Budget, cosine, mean_centre, most_similar_first, select
from harness.errors import HarnessError
from harness.lm import CausalLM, Demo, rouge_l
from harness.registry import TaskSpec

CONDITIONS = ("similar", "random", "zero-shot")


@dataclass(frozen=True)
class Example:
    id: str
    embed_text: str  # what the embedding model sees (after the instruction)
    lm_input: str  # what the LM sees
    gold: str


@dataclass(frozen=True)
class PromptTask:
    load: Callable[[dict[str, Path], int, int, int], tuple[list[Example], list[Example]]]
    options: list[str] | None  # None: a generation task
    budget: Budget
    centre_test: bool  # the reference centres test embeddings too (main.py tasks, CODA) or not
    max_new_tokens: int = 64
    stop: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ adapters
def _multirc(files: dict[str, Path], seed: int, pool_size: int, test_size: int) -> tuple[list[Example], list[Example]]:
    """main_answerbility.py: 256 test then 3,000 pool instances sampled with random.seed(0) from one file."""
    try:
        instances = json.loads(files["instances"].read_text(encoding="utf-8"))["Instances"]
    except (KeyError, json.JSONDecodeError) as exc:
        raise HarnessError(f"{files['instances']}: expected a Super-NaturalInstructions task file ({exc})") from None
    rng = random.Random(seed)
    test_idx = rng.sample(range(len(instances)), test_size)
    rest = sorted(set(range(len(instances))) - set(test_idx))  # = the reference's list(set(...)) for ints
    pool_idx = rng.sample(rest, min(pool_size, len(rest)))

    def example(i: int) -> Example:
        text, answer = instances[i]["input"], instances[i]["output"][0]
        head, sep, question = text.partition("\nQuestion:")
        if not head.startswith("Sentence:") or not sep:
            raise HarnessError(f"{files['instances']}: instance {i} is not 'Sentence: ...\\nQuestion: ...'")
        sentence, question = head.removeprefix("Sentence:").strip(), question.strip()
        gold = {"Yes.": "True", "No.": "False"}.get(answer)
        if gold is None:
            raise HarnessError(f"{files['instances']}: instance {i} has output {answer!r}, expected 'Yes.' or 'No.'")
        return Example(
            str(i),
            f"{sentence}\n{question}",
            f"{sentence}\n. Based on that information, can we know {question}\nanswer:",
            gold,
        )

    return [example(i) for i in pool_idx], [example(i) for i in test_idx]


ADAPTERS: dict[str, PromptTask] = {
    "PromptRetrievalMultiRCAnswerability": PromptTask(
        _multirc, ["True", "False"], Budget(1000, per_demonstration=None, skip_duplicates=False), centre_test=False
    ),
}


def adapter(spec: TaskSpec) -> PromptTask:
    if spec.name not in ADAPTERS:
        raise HarnessError(
            f"task {spec.name}: prompt retrieval is implemented for {', '.join(ADAPTERS)} so far; "
            "this task's data adapter is not written yet"
        )
    return ADAPTERS[spec.name]


# ------------------------------------------------------------------------------------------ evaluation
@dataclass
class PromptSettings:
    lm: str | None = None
    lm_device: str | None = None
    lm_precision: str = "fp32"
    lm_batch_size: int = 8
    demos: str = "similar"
    test_size: int | None = None

    def folder_name(self, spec: TaskSpec) -> str:
        from harness.results import slug

        return slug(
            f"lm={Path(self.lm).name if self.lm and Path(self.lm).exists() else self.lm},"
            f"demos={self.demos},test={self.test_size or spec.protocol['test_size']}"
        )


def read_done(path: Path) -> dict[str, dict[str, Any]]:
    """Finished examples; a torn last line (the run was killed mid-write) is dropped and redone."""
    done: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            done[row["id"]] = row
    return done


def evaluate(
    spec: TaskSpec,
    files: dict[str, Path],
    encode: Callable[[list[str]], np.ndarray],
    lm: CausalLM,
    settings: PromptSettings,
    records: Path,
    log: Callable[..., None] = print,
) -> dict[str, Any]:
    task = adapter(spec)
    p = spec.protocol
    test_size = settings.test_size or p["test_size"]
    pool, tests = task.load(files, p["seed"], p["pool_size"], test_size)
    pool_vecs = mean_centre(encode([e.embed_text for e in pool]))
    test_vecs = encode([e.embed_text for e in tests])
    test_vecs = mean_centre(test_vecs) if task.centre_test else test_vecs
    scores = cosine(test_vecs, pool_vecs)
    lengths = [len(lm.ids(e.lm_input + e.gold)) for e in pool]
    rng = np.random.default_rng(p["seed"])
    done = read_done(records)
    records.parent.mkdir(parents=True, exist_ok=True)
    with records.open("a", encoding="utf-8") as out:
        todo = [(n, e) for n, e in enumerate(tests) if e.id not in done]
        log(f"{spec.name}: {len(tests) - len(todo)} of {len(tests)} examples already scored, {len(todo)} to go")
        for start in range(0, len(todo), lm.batch_size):
            batch = todo[start : start + lm.batch_size]
            rows = [_row(task, settings.demos, n, e, pool, scores[n], lengths, lm, rng) for n, e in batch]
            _predict(task, lm, rows)
            for row in rows:
                row.pop("context")
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                done[row["id"]] = row
            out.flush()
            log(f"{spec.name}: {min(start + lm.batch_size, len(todo))}/{len(todo)} examples scored")
    ordered = [done[e.id] for e in tests]
    score = rouge_l([r["prediction"] for r in ordered], [r["gold"] for r in ordered])
    accuracy = float(np.mean([r["prediction"] == r["gold"] for r in ordered]))
    return {
        "rougeL": score / 100,
        "accuracy": accuracy if task.options else None,
        "main_score": score / 100,
        "n_test": len(tests),
        "n_pool": len(pool),
        "mean_demonstrations": float(np.mean([len(r["demonstrations"]) for r in ordered])),
    }


def _row(
    task: PromptTask,
    condition: str,
    n: int,
    example: Example,
    pool: list[Example],
    scores: np.ndarray,
    lengths: list[int],
    lm: CausalLM,
    rng: np.random.Generator,
) -> dict[str, Any]:
    if condition == "zero-shot":
        chosen: list[int] = []
    else:
        order = most_similar_first(scores) if condition == "similar" else rng.permutation(len(pool))
        chosen = select(order, scores, lengths, len(lm.ids(example.lm_input)), task.budget)
    demos = [Demo(pool[i].lm_input, pool[i].gold) for i in chosen]
    return {
        "id": example.id,
        "demonstrations": [pool[i].id for i in chosen],
        "gold": example.gold,
        "context": lm.context(demos, example.lm_input),
    }


def _predict(task: PromptTask, lm: CausalLM, rows: list[dict[str, Any]]) -> None:
    if task.options is None:
        for row in rows:
            row["prediction"] = lm.generate(row["context"], task.max_new_tokens, task.stop)
        return
    losses = lm.option_losses([r["context"] for r in rows], task.options)
    for row, loss in zip(rows, losses, strict=True):
        row["option_losses"] = dict(zip(task.options, map(float, loss), strict=True))
        row["prediction"] = task.options[int(np.argmin(loss))]
