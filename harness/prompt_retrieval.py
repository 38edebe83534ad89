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
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.demonstrations import Budget, cosine, mean_centre, most_similar_first, select
from harness.errors import HarnessError
from harness.instructions import sha256
from harness.lm import CausalLM, Demo, rouge_l
from harness.registry import TaskSpec

CONDITIONS = ("similar", "random", "zero-shot")


@dataclass(frozen=True)
class Example:
    id: str
    embed_text: str  # what the embedding model sees (after the instruction)
    lm_input: str  # what the LM sees
    gold: str
    options: tuple[str, ...] | None = None  # per-example options (HellaSwag's endings)
    demo_text: str = ""  # as a demonstration in a plain-layout prompt (and for its length); default input+gold
    prefix: str = ""  # plain layout: what precedes the demonstrations (GeoQuery's database prompt)
    group: str | None = None  # Amazon: the reviewer

    def demo(self) -> str:
        return self.demo_text or self.lm_input + self.gold


@dataclass(frozen=True)
class Format:
    """How one raw row becomes an example, as the task's reference script formats it."""

    embed: Callable[[dict[str, Any]], str]
    lm_input: Callable[[dict[str, Any]], str]
    gold: Callable[[dict[str, Any]], str]
    options: Callable[[dict[str, Any]], list[str]] | None = None


@dataclass(frozen=True)
class PromptTask:
    """How a task's rows become prompts. Budget, candidate cut, duplicate rule, test-side centring and
    generation settings are data: the `protocol` of the task file."""

    load: Callable[[TaskSpec, Path | None], tuple[list[Example], list[Example], dict[str, Any]]]
    options: list[str] | None  # None: per-example options, or a generation task when examples have none
    layout: str = "metaicl"  # metaicl: MetaICL direct; plain: prefix + demonstrations + test input, one string
    answer_prefix: str = ""  # prepended to generated text (GeoQuery's prompt ends in "SELECT")
    group_rank: int | None = None  # score the group at this rank of ascending accuracy (Amazon: 2, the 3rd-lowest)


def _examples(rows: list[dict[str, Any]], ids: list[int], fmt: Format) -> list[Example]:
    return [
        Example(
            str(i),
            fmt.embed(rows[i]),
            fmt.lm_input(rows[i]),
            fmt.gold(rows[i]),
            tuple(fmt.options(rows[i])) if fmt.options else None,
        )
        for i in ids
    ]


# ------------------------------------------------------------------------------------------ adapters
def _multirc_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    head, sep, question = row["input"].partition("\nQuestion:")
    answer = row["output"][0]
    if not head.startswith("Sentence:") or not sep or answer not in ("Yes.", "No."):
        raise HarnessError(
            f"{where}: expected input 'Sentence: ...\\nQuestion: ...' and output 'Yes.'/'No.', "
            f"got {row['input'][:60]!r} -> {answer!r}"
        )
    return {
        "sentence": head.removeprefix("Sentence:").strip(),
        "question": question.strip(),
        "label": {"Yes.": "True", "No.": "False"}[answer],
    }


MULTIRC = Format(
    lambda r: f"{r['sentence']}\n{r['question']}",
    lambda r: f"{r['sentence']}\n. Based on that information, can we know {r['question']}\nanswer:",
    lambda r: r["label"],
)


def _multirc(spec: TaskSpec, data_dir: Path | None) -> tuple[list[Example], list[Example], dict[str, Any]]:
    """main_answerbility.py: 256 test then 3,000 pool instances drawn with random.seed(0) from one file."""
    from harness.sources import task_files

    path = task_files(spec, data_dir)["instances"]
    p = spec.protocol
    raw, pool_idx, test_idx = _super_ni_split(path, p["seed"], p["pool_size"], p["test_size"])
    rows = [_multirc_row(r, f"{path} instance {i}") for i, r in enumerate(raw)]
    return _examples(rows, pool_idx, MULTIRC), _examples(rows, test_idx, MULTIRC), {"file": str(path)}


def _hf_rows(spec: TaskSpec, split: str, data_dir: Path | None) -> list[dict[str, Any]]:
    from harness.io import read_jsonl
    from harness.registry import HfSource

    source = spec.source
    assert isinstance(source, HfSource)
    if data_dir is not None:
        return [row for _, row in read_jsonl(data_dir / source.folder / f"{split}.jsonl")]
    from datasets import load_dataset

    try:
        data = load_dataset(source.hf_dataset, source.config, split=split, revision=source.revision)
    except Exception as exc:
        raise HarnessError(
            f"task {spec.name}: could not load {source.hf_dataset} ({exc.__class__.__name__}); "
            f"offline, pass --data-dir DIR with {source.folder}/{split}.jsonl"
        ) from None
    return [dict(r) for r in data]


def _hf_task(fmt: Format) -> Callable[[TaskSpec, Path | None], tuple[list[Example], list[Example], dict[str, Any]]]:
    """get_task.py: random.seed(0); 3,000 pool rows from train (all of it when smaller, with no draw), then 256
    test rows, each drawn with random.sample."""

    def load(spec: TaskSpec, data_dir: Path | None) -> tuple[list[Example], list[Example], dict[str, Any]]:
        source, p = spec.source, spec.protocol
        train = _hf_rows(spec, source.pool_split, data_dir)  # type: ignore[union-attr]
        test = _hf_rows(spec, source.test_split, data_dir)  # type: ignore[union-attr]
        rng = random.Random(p["seed"])
        pool_idx = (
            list(range(len(train))) if len(train) <= p["pool_size"] else rng.sample(range(len(train)), p["pool_size"])
        )
        test_idx = rng.sample(range(len(test)), min(p["test_size"], len(test)))
        missing = [c for c in spec.text_fields if c not in train[0]]
        if missing:
            raise HarnessError(f"task {spec.name}: rows lack column(s) {missing} (expected {spec.text_fields} + label)")
        return (
            _examples(train, pool_idx, fmt),
            _examples(test, test_idx, fmt),
            {"source": "data-dir" if data_dir else getattr(source, "hf_dataset", None)},
        )

    return load


def _labels(names: list[str]) -> Callable[[dict[str, Any]], str]:
    return lambda r: names[int(r["label"])]


GEO_INSTRUCTIONS = "-- Using valid SQLite, answer the following questions for the tables provided above.\n"


def geo_db_prompt(database: Path, rows: int = 3) -> str:
    """main_geo.py's database prompt: each table's CREATE statement (sqlparse, aligned) and `rows` example rows.
    The reference picks rows matching the question (bridge content matching); this takes the first rows."""
    import sqlite3

    import pandas as pd
    import sqlparse

    with sqlite3.connect(database) as conn:
        tables = conn.execute("SELECT name, sql FROM sqlite_master WHERE type='table'").fetchall()
        prompt = ""
        for name, sql in tables:
            sample = pd.read_sql_query(f"SELECT * FROM {name} LIMIT {rows}", conn).to_string(index=False)
            prompt += sqlparse.format(sql, reindent_aligned=True) + "\n" + "/*\n" + sample + "\n*/\n" + "\n"
    return prompt


def _geoquery(spec: TaskSpec, data_dir: Path | None) -> tuple[list[Example], list[Example], dict[str, Any]]:
    """main_geo.py: the whole train file is the pool; 256 test questions drawn with random.seed(0)."""
    from harness.sources import task_files

    files = task_files(spec, data_dir)
    train, test = (json.loads(files[k].read_text(encoding="utf-8")) for k in ("train", "test"))
    prefix = geo_db_prompt(files["database"]) + GEO_INSTRUCTIONS

    def example(row: dict[str, Any], i: int) -> Example:
        return Example(
            str(i),
            row["seq_in"],
            f"-- {row['question']}\nSELECT",
            row["query"],
            demo_text=f"-- {row['question']}\n{row['query']}\n\n",
            prefix=prefix,
        )

    rng = random.Random(spec.protocol["seed"])
    test_idx = rng.sample(range(len(test)), min(spec.protocol["test_size"], len(test)))
    deviation = "database rows: the first 3 per table, not the reference's question-matched rows"
    return (
        [example(r, i) for i, r in enumerate(train)],
        [example(test[i], i) for i in test_idx],
        {"files": {k: str(v) for k, v in files.items()}, "deviation": deviation},
    )


def _json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}: not valid JSON ({exc.msg})") from None


def _super_ni_split(
    path: Path, seed: int, pool_size: int, test_size: int
) -> tuple[list[dict[str, Any]], list[int], list[int]]:
    """main_answerbility.py and main_coda_title_gen.py: test indices first, then the pool from the rest."""
    try:
        rows = _json_file(path)["Instances"]
    except (KeyError, TypeError):
        raise HarnessError(f"{path}: expected a Super-NaturalInstructions task file with 'Instances'") from None
    rng = random.Random(seed)
    test_idx = rng.sample(range(len(rows)), test_size)
    rest = sorted(set(range(len(rows))) - set(test_idx))  # = the reference's list(set(...)) for ints
    return rows, rng.sample(rest, min(pool_size, len(rest))), test_idx


def _coda(spec: TaskSpec, data_dir: Path | None) -> tuple[list[Example], list[Example], dict[str, Any]]:
    from harness.sources import task_files

    path = task_files(spec, data_dir)["instances"]
    p = spec.protocol
    rows, pool_idx, test_idx = _super_ni_split(path, p["seed"], p["pool_size"], p["test_size"])

    def example(i: int) -> Example:
        text, title = rows[i]["input"], rows[i]["output"][0]
        return Example(
            str(i), text, f"write a title\n{text}\ntitle:", title, demo_text=f"write a title\n{text}\ntitle:{title}\n\n"
        )

    deviation = "predictions are the decoded text up to a stop string; the reference joined decoded tokens with spaces"
    return [example(i) for i in pool_idx], [example(i) for i in test_idx], {"file": str(path), "deviation": deviation}


AMAZON_LABELS = ["very negative", "negative", "neutral", "positive", "very positive"]
CIVIL_LABELS = ["positive", "negative"]  # main_civil.py's label_map: 0 positive, 1 negative


def _wilds(kind: str) -> Callable[[TaskSpec, Path | None], tuple[list[Example], list[Example], dict[str, Any]]]:
    """main_amazon.py / main_civil.py: 3,000 pool rows drawn from train, then the test rows: Amazon 20
    reviewers x 50 reviews, CivilComments 256 toxic comments that mention the identity in meta[3]."""

    def load(spec: TaskSpec, data_dir: Path | None) -> tuple[list[Example], list[Example], dict[str, Any]]:
        from harness.sources import task_files

        files = task_files(spec, data_dir)
        train, test = _json_file(files["train"]), _json_file(files["test"])
        p = spec.protocol
        rng = random.Random(p["seed"])
        pool_idx = rng.sample(range(len(train)), min(p["pool_size"], len(train)))
        if kind == "amazon":
            by_reviewer: dict[Any, list[int]] = {}
            for i, row in enumerate(test):
                by_reviewer.setdefault(row["meta"][0], []).append(i)
            reviewers = rng.sample(sorted(by_reviewer), p["test_groups"])  # sorted: set order is not stable
            test_idx = [i for r in reviewers for i in rng.sample(by_reviewer[r], p["per_group"])]
        else:
            subgroup = [i for i, row in enumerate(test) if row["meta"][3] == 1 and row["label"] == 1]
            test_idx = rng.sample(subgroup, min(p["test_size"], len(subgroup)))

        def example(row: dict[str, Any], i: int) -> Example:
            if kind == "amazon":
                text = row["text"].replace("\n", "")
                return Example(
                    str(i),
                    text,
                    f"How do you feel about the following sentence?\n{text}.\nanswer:",
                    AMAZON_LABELS[row["label"]],
                    group=str(row["meta"][0]),
                )
            return Example(
                str(i),
                row["text"],
                f"Is the following sentence 'positive' or 'negative'?\n{row['text']}.\nanswer:",
                CIVIL_LABELS[row["label"]],
            )

        return (
            [example(train[i], i) for i in pool_idx],
            [example(test[i], i) for i in test_idx],
            {"files": {k: str(v) for k, v in files.items()}},
        )

    return load


RTE_LABELS = ["True", "False"]
SST5_LABELS = ["very negative", "negative", "neutral", "positive", "very positive"]
MRPC_LABELS = ["not equivalent", "equivalent"]
DBPEDIA_LABELS = [
    "company",
    "educational institution",
    "artist",
    "athlete",
    "office holder",
    "mean of transportation",
    "building",
    "natural place",
    "village",
    "animal",
    "plant",
    "album",
    "film",
    "written work",
]

ADAPTERS: dict[str, PromptTask] = {
    "PromptRetrievalMultiRCAnswerability": PromptTask(_multirc, ["True", "False"]),
    "PromptRetrievalGeoQuery": PromptTask(
        _geoquery,
        None,
        layout="plain",
        answer_prefix="SELECT ",
    ),
    "PromptRetrievalCODA19": PromptTask(
        _coda,
        None,
        layout="plain",
    ),
    "PromptRetrievalAmazon": PromptTask(
        _wilds("amazon"),
        AMAZON_LABELS,
        group_rank=2,
    ),
    "PromptRetrievalCivilComments": PromptTask(
        _wilds("civil"),
        CIVIL_LABELS,
    ),
    "PromptRetrievalRTE": PromptTask(
        _hf_task(
            Format(
                lambda r: f"{r['sentence1']}.\nquestion: {r['sentence2']}",
                lambda r: f"{r['sentence1']}.\nquestion: {r['sentence2']}. True or False?\nanswer:",
                _labels(RTE_LABELS),
            )
        ),
        RTE_LABELS,
    ),
    "PromptRetrievalSST5": PromptTask(
        _hf_task(
            Format(
                lambda r: r["text"],
                lambda r: f"How do you feel about the following sentence?\n{r['text']}\nanswer:",
                _labels(SST5_LABELS),
            )
        ),
        SST5_LABELS,
    ),
    "PromptRetrievalMRPC": PromptTask(
        _hf_task(
            Format(
                lambda r: f"{r['sentence1']}.\n{r['sentence2']}",
                lambda r: (
                    f"Are the following two sentences 'equivalent' or 'not equivalent'?\n{r['sentence1']}.\n"
                    f"{r['sentence2']}.\nanswer:"
                ),
                _labels(MRPC_LABELS),
            )
        ),
        MRPC_LABELS,
    ),
    "PromptRetrievalDBpedia14": PromptTask(
        _hf_task(
            Format(
                lambda r: f"title: {r['title']} ; content: {r['content']}",
                lambda r: f"title: {r['title']}; content: {r['content']}",
                _labels(DBPEDIA_LABELS),
            )
        ),
        DBPEDIA_LABELS,
    ),
    "PromptRetrievalHellaSwag": PromptTask(
        _hf_task(
            Format(
                lambda r: (
                    f"The topic is {r['activity_label']}. {r['ctx_a']} {r['ctx_b']} | " + " | ".join(r["endings"])
                ),
                lambda r: f"The topic is {r['activity_label']}. {r['ctx_a']} {r['ctx_b']} ",
                lambda r: r["endings"][int(r["label"])],
                options=lambda r: list(r["endings"]),
            )
        ),
        None,
    ),
}


def check_data(spec: TaskSpec, data_dir: Path | None) -> None:
    """Fail before any model loads when the task has no adapter or its local files are missing."""
    from harness.registry import HfSource
    from harness.sources import task_files

    adapter(spec)
    source = spec.source
    if not isinstance(source, HfSource):
        task_files(spec, data_dir)
    elif data_dir is not None:
        for split in (source.pool_split, source.test_split):
            if not (data_dir / source.folder / f"{split}.jsonl").is_file():
                raise HarnessError(
                    f"task {spec.name}: missing {data_dir / source.folder / f'{split}.jsonl'} "
                    f"(rows of {source.hf_dataset} {split} with columns {spec.text_fields} + label)"
                )


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
        from harness.results import model_label, slug

        return slug(
            f"lm={model_label(self.lm) if self.lm else self.lm},"
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
    data_dir: Path | None,
    encode: Callable[[list[str]], np.ndarray],
    lm: CausalLM,
    settings: PromptSettings,
    records: Path,
    log: Callable[..., None] = print,
) -> dict[str, Any]:
    task = adapter(spec)
    if settings.test_size:
        spec = spec.model_copy(update={"protocol": {**spec.protocol, "test_size": settings.test_size}})
    p = spec.protocol
    pool, tests, provenance = task.load(spec, data_dir)
    provenance["sample_sha256"] = sha256(json.dumps([(e.id, e.embed_text, e.gold) for e in pool + tests]))
    pool_vecs = mean_centre(encode([e.embed_text for e in pool]))
    test_vecs = encode([e.embed_text for e in tests])
    test_vecs = mean_centre(test_vecs) if p["centre_test"] else test_vecs
    budget = Budget.from_protocol(p)
    scores = cosine(test_vecs, pool_vecs)
    lengths = [len(lm.ids(e.demo())) for e in pool]
    done = read_done(records)
    records.parent.mkdir(parents=True, exist_ok=True)
    with records.open("a", encoding="utf-8") as out:
        todo = [(n, e) for n, e in enumerate(tests) if e.id not in done]
        log(f"{spec.name}: {len(tests) - len(todo)} of {len(tests)} examples already scored, {len(todo)} to go")
        began = time.perf_counter()
        for start in range(0, len(todo), lm.batch_size):
            batch = todo[start : start + lm.batch_size]
            # random demonstrations: one generator per test example, so a resumed run draws what a whole one would
            rows = [
                _row(
                    task, budget, settings.demos, e, pool, scores[n], lengths, lm, np.random.default_rng([p["seed"], n])
                )
                for n, e in batch
            ]
            _predict(task, p, lm, rows)
            for row in rows:
                row.pop("context")
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                done[row["id"]] = row
            out.flush()
            finished = min(start + lm.batch_size, len(todo))
            rate = finished / max(time.perf_counter() - began, 1e-9)
            log(
                f"{spec.name}: {finished}/{len(todo)} examples scored ({rate:.2f}/s, ETA {(len(todo) - finished) / rate:.0f}s)"
            )
    ordered = [done[e.id] for e in tests]
    extra: dict[str, Any] = {}
    if task.group_rank is not None:  # Amazon: the score of the group at that rank of ascending accuracy
        groups: dict[str, list[dict[str, Any]]] = {}
        for example, row in zip(tests, ordered, strict=True):
            groups.setdefault(str(example.group), []).append(row)
        accuracy_of = {g: float(np.mean([r["prediction"] == r["gold"] for r in rows])) for g, rows in groups.items()}
        chosen = sorted(accuracy_of, key=accuracy_of.__getitem__)[min(task.group_rank, len(groups) - 1)]
        extra = {"group_accuracy": accuracy_of, "scored_group": chosen}
        ordered = groups[chosen]
    score = rouge_l(*_scored(task, ordered))
    accuracy = float(np.mean([r["prediction"] == r["gold"] for r in ordered]))
    labelled = task.options is not None or tests[0].options is not None
    return {
        **extra,
        "rougeL": score / 100,
        "accuracy": accuracy if labelled else None,
        "main_score": score / 100,
        "n_test": len(tests),
        "n_pool": len(pool),
        "data": provenance,
        "mean_demonstrations": float(np.mean([len(r["demonstrations"]) for r in ordered])),
    }


def _scored(task: PromptTask, rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """What ROUGE-L compares. Label tasks: the label ids, as the reference scripts convert predictions with
    label_to_digit (so the score is accuracy; label words would give partial credit, e.g. 'negative' against
    'very negative'). Multiple choice and generation: the texts."""
    if task.options is not None:
        return (
            [str(task.options.index(r["prediction"])) for r in rows],
            [str(task.options.index(r["gold"])) for r in rows],
        )
    return [r["prediction"] for r in rows], [r["gold"] for r in rows]


def _row(
    task: PromptTask,
    budget: Budget,
    condition: str,
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
        chosen = select(order, scores, lengths, len(lm.ids(example.prefix + example.lm_input)), budget)
    if task.layout == "plain":
        context = lm.ids(example.prefix + "".join(pool[i].demo() for i in chosen) + example.lm_input)
    else:
        context = lm.context([Demo(pool[i].lm_input, pool[i].gold) for i in chosen], example.lm_input)
    return {
        "id": example.id,
        "demonstrations": [pool[i].id for i in chosen],
        "gold": example.gold,
        "options": list(example.options) if example.options else None,
        "context": context,
    }


def _predict(task: PromptTask, protocol: dict[str, Any], lm: CausalLM, rows: list[dict[str, Any]]) -> None:
    """Shared options: one batch; per-example options: one call each; no options: greedy generation."""
    if task.options is not None:
        groups = [(rows, task.options)]
    else:
        groups = [([row], row["options"]) for row in rows if row["options"]]
    for group, options in groups:
        for row, loss in zip(group, lm.option_losses([r["context"] for r in group], options), strict=True):
            row["option_losses"] = dict(zip(options, map(float, loss), strict=True))
            row["prediction"] = options[int(np.argmin(loss))]
    for row in rows:
        if "prediction" not in row:
            row["prediction"] = task.answer_prefix + lm.generate(
                row["context"], protocol["max_new_tokens"], protocol["stop"]
            )
