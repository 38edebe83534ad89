"""Prompt retrieval (INSTRUCTOR paper appendix B.2): the embedding model retrieves in-context demonstrations
from an annotated pool; a causal LM answers with them; the score is ROUGE-L F x100 against the gold answer.

Each task's adapter reproduces its reference script (`evaluation/prompt_retrieval/main_*.py` of
xlang-ai/instructor-embedding): sampling, embedded text, LM input format, options and budget; GeoQuery's
database prompt is `harness.geoquery`, MultiWOZ's state tracking `harness.multiwoz`. Every test example's
demonstrations (pool ids in prompt order), prediction and gold answer are written to
`<Task>.examples.jsonl`, line by line, so a score can be audited and an interrupted run resumes.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.demonstrations import Budget, cosine, mean_centre, most_similar_first, select
from harness.errors import HarnessError
from harness.instructions import sha256
from harness.lm import CausalLM, Demo, rouge_l
from harness.multiwoz import Tracker
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
    prefix: str = ""  # plain layout: what precedes the demonstrations (GeoQuery's rows, MultiWOZ's schema)
    group: str | None = None  # Amazon: the reviewer

    def demo(self) -> str:
        return self.demo_text or self.lm_input + self.gold


@dataclass(frozen=True)
class Sample:
    pool: list[Example]
    tests: list[Example]
    provenance: dict[str, Any]
    tracker: Tracker | None = None  # MultiWOZ: test turns run in order, each prompt showing the state predicted before


Loader = Callable[[TaskSpec, Path | None], Sample]


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

    load: Loader
    options: list[str] | None  # None: per-example options, or a generation task when examples have none
    layout: str = "metaicl"  # metaicl: MetaICL direct; plain: prefix + demonstrations + test input, one string
    header: str = ""  # plain layout: put before each demonstration and the test input, numbered ({n}) from 0
    answer_prefix: str = ""  # prepended to generated text (GeoQuery's prompt ends in "SELECT")
    group_rank: int | None = None  # score the group at this rank of ascending accuracy (Amazon: 2, the 3rd-lowest)
    token_joined: bool = False  # score the reference's token-joined predictions, the decoded text beside (CODA)


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


def _multirc(spec: TaskSpec, data_dir: Path | None) -> Sample:
    """main_answerbility.py: 256 test then 3,000 pool instances drawn with random.seed(0) from one file."""
    from harness.sources import task_files

    path = task_files(spec, data_dir)["instances"]
    p = spec.protocol
    raw, pool_idx, test_idx = _super_ni_split(path, p["seed"], p["pool_size"], p["test_size"])
    rows = [_multirc_row(r, f"{path} instance {i}") for i, r in enumerate(raw)]
    return Sample(_examples(rows, pool_idx, MULTIRC), _examples(rows, test_idx, MULTIRC), {"file": str(path)})


def hf_rows(spec: TaskSpec, split: str, data_dir: Path | None) -> list[dict[str, Any]]:
    """A split of a Hugging Face task: `data_dir/<folder>/<split>.jsonl`, else the dataset at its revision."""
    from harness.io import read_jsonl
    from harness.registry import HfSource

    source = spec.source
    assert isinstance(source, HfSource)
    if data_dir is not None:
        return [row for _, row in read_jsonl(source.split_file(data_dir, split))]
    from datasets import load_dataset

    try:
        data = load_dataset(source.hf_dataset, source.config, split=split, revision=source.revision)
    except Exception as exc:
        raise HarnessError(
            f"task {spec.name}: could not load {source.hf_dataset} ({exc.__class__.__name__}); "
            f"offline, pass --data-dir DIR with {source.folder}/{split}.jsonl"
        ) from None
    return [dict(r) for r in data]


def _hf_task(fmt: Format) -> Loader:
    """get_task.py: random.seed(0); 3,000 pool rows from train (all of it when smaller, with no draw), then 256
    test rows, each drawn with random.sample."""

    def load(spec: TaskSpec, data_dir: Path | None) -> Sample:
        source, p = spec.source, spec.protocol
        train = hf_rows(spec, source.pool_split, data_dir)  # type: ignore[union-attr]
        test = hf_rows(spec, source.test_split, data_dir)  # type: ignore[union-attr]
        rng = random.Random(p["seed"])
        pool_idx = (
            list(range(len(train))) if len(train) <= p["pool_size"] else rng.sample(range(len(train)), p["pool_size"])
        )
        test_idx = rng.sample(range(len(test)), min(p["test_size"], len(test)))
        missing = [c for c in spec.text_fields if c not in train[0]]
        if missing:
            raise HarnessError(f"task {spec.name}: rows lack column(s) {missing} (expected {spec.text_fields} + label)")
        return Sample(
            _examples(train, pool_idx, fmt),
            _examples(test, test_idx, fmt),
            {"source": "data-dir" if data_dir else getattr(source, "hf_dataset", None)},
        )

    return load


def _labels(names: list[str]) -> Callable[[dict[str, Any]], str]:
    return lambda r: names[int(r["label"])]


def _geoquery(spec: TaskSpec, data_dir: Path | None) -> Sample:
    """main_geo.py: the whole train file is the pool; 256 test questions drawn with random.seed(0); each test
    prompt opens with the database rows that match its question (harness.geoquery)."""
    from harness import geoquery
    from harness.sources import task_files

    files = task_files(spec, data_dir)
    train, test = (json.loads(files[k].read_text(encoding="utf-8")) for k in ("train", "test"))

    def example(row: dict[str, Any], i: int, prefix: str = "") -> Example:
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
    database = files["database"]
    deviation = "greedy decoding; the reference sampled code-davinci-002 at temperature 0.7 (utils.py codex_execution)"
    return Sample(
        [example(r, i) for i, r in enumerate(train)],  # demonstrations: no prefix of their own
        [
            example(test[i], i, geoquery.db_prompt(database, test[i]["question"]) + geoquery.INSTRUCTIONS)
            for i in test_idx
        ],
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


def _coda(spec: TaskSpec, data_dir: Path | None) -> Sample:
    from harness.sources import task_files

    path = task_files(spec, data_dir)["instances"]
    p = spec.protocol
    rows, pool_idx, test_idx = _super_ni_split(path, p["seed"], p["pool_size"], p["test_size"])

    def example(i: int) -> Example:
        text, title = rows[i]["input"], rows[i]["output"][0]
        return Example(
            str(i), text, f"write a title\n{text}\ntitle:", title, demo_text=f"write a title\n{text}\ntitle:{title}\n\n"
        )

    return Sample([example(i) for i in pool_idx], [example(i) for i in test_idx], {"file": str(path)})


def _multiwoz(spec: TaskSpec, data_dir: Path | None) -> Sample:
    """main_mwoz.py: the pool is every turn of 1,000 train dialogues; the test turns are the first 256 of the
    shuffled test dialogues, answered in order (harness.multiwoz)."""
    from harness import multiwoz
    from harness.sources import task_files

    files = task_files(spec, data_dir)
    p = spec.protocol
    train, test = (multiwoz.read_dialogues(files[k]) for k in ("train", "test"))
    pool, tests = multiwoz.sample(train, test, p["seed"], p["pool_dialogues"], p["test_size"])
    prefix = multiwoz.rename(multiwoz.SCHEMA) + "\n"

    def example(turn: multiwoz.Turn) -> Example:  # a test turn's LM input waits for the previous prediction
        gold = multiwoz.state_text(turn.state)
        return Example(turn.name, turn.history, "", gold, demo_text=multiwoz.demonstration(turn), prefix=prefix)

    deviation = "[context] lists slots in state order; the reference joined a set, whose order changed from run to run"
    return Sample(
        [example(t) for t in pool],
        [example(t) for t in tests],
        {"files": {k: str(v) for k, v in files.items()}, "deviation": deviation},
        multiwoz.Tracker({t.name: t for t in tests}, _json_file(files["ontology"])),
    )


AMAZON_LABELS = ["very negative", "negative", "neutral", "positive", "very positive"]
CIVIL_LABELS = ["positive", "negative"]  # main_civil.py's label_map: 0 positive, 1 negative


def _wilds(kind: str) -> Loader:
    """main_amazon.py / main_civil.py: 3,000 pool rows drawn from train, then the test rows: Amazon 20
    reviewers x 50 reviews, CivilComments 256 toxic comments that mention the identity in meta[3]."""

    def load(spec: TaskSpec, data_dir: Path | None) -> Sample:
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

        return Sample(
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
    "PromptRetrievalMultiWOZ": PromptTask(_multiwoz, None, layout="plain", header="Example #{n}\n"),
    "PromptRetrievalCODA19": PromptTask(_coda, None, layout="plain", token_joined=True),
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
            if not source.split_file(data_dir, split).is_file():
                raise HarnessError(
                    f"task {spec.name}: missing {source.split_file(data_dir, split)} "
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
    sample = task.load(spec, data_dir)
    pool, tests = sample.pool, sample.tests
    sample.provenance["sample_sha256"] = sha256(json.dumps([(e.id, e.embed_text, e.gold) for e in pool + tests]))
    pool_vecs = mean_centre(encode([e.embed_text for e in pool]))
    test_vecs = encode([e.embed_text for e in tests])
    test_vecs = mean_centre(test_vecs) if p["centre_test"] else test_vecs
    budget = Budget.from_protocol(p)
    if task.layout == "plain":  # generation: the prompt and the answer must fit the LM's window
        budget = replace(budget, total_tokens=min(budget.total_tokens, lm.window - p["max_new_tokens"]))
    run = _Run(task, p, budget, settings.demos, pool, cosine(test_vecs, pool_vecs), lm, sample.tracker)
    done = run.answer(tests, records, spec.name, log)
    ordered = [done[e.id] for e in tests]
    extra: dict[str, Any] = sample.tracker.summary(ordered) if sample.tracker else {}
    if task.group_rank is not None:  # Amazon: the score of the group at that rank of ascending accuracy
        groups: dict[str, list[dict[str, Any]]] = {}
        for example, row in zip(tests, ordered, strict=True):
            groups.setdefault(str(example.group), []).append(row)
        accuracy_of = {g: float(np.mean([r["prediction"] == r["gold"] for r in rows])) for g, rows in groups.items()}
        chosen = sorted(accuracy_of, key=accuracy_of.__getitem__)[min(task.group_rank, len(groups) - 1)]
        extra = {"group_accuracy": accuracy_of, "scored_group": chosen}
        ordered = groups[chosen]
    if task.token_joined:
        extra["rougeL_text"] = rouge_l([r["prediction_text"] for r in ordered], [r["gold"] for r in ordered]) / 100
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
        "token_budget": budget.total_tokens,
        "data": sample.provenance,
        "mean_demonstrations": float(np.mean([len(r["demonstrations"]) for r in ordered])),
    }


@dataclass
class _Run:
    """Answers test examples: demonstrations, prompt, LM, one record line each."""

    task: PromptTask
    protocol: dict[str, Any]
    budget: Budget
    condition: str
    pool: list[Example]
    scores: np.ndarray  # [test, pool] cosine
    lm: CausalLM
    tracker: Tracker | None

    def __post_init__(self) -> None:
        self.lengths = [len(self.lm.ids(self.task.header.format(n=0) + e.demo())) for e in self.pool]

    def answer(self, tests: list[Example], records: Path, name: str, log: Callable[..., None]) -> dict[str, dict]:
        """Records of all test examples, scoring those the records lack; returns them by id."""
        done = read_done(records)
        records.parent.mkdir(parents=True, exist_ok=True)
        step = 1 if self.tracker else self.lm.batch_size  # a dialogue turn needs the prediction before it
        todo = [(n, e) for n, e in enumerate(tests) if e.id not in done]
        log(f"{name}: {len(tests) - len(todo)} of {len(tests)} examples already scored, {len(todo)} to go")
        began = time.perf_counter()
        with records.open("a", encoding="utf-8") as out:
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
            context = self.lm.ids(_plain_prompt(self.task, example, [self.pool[i] for i in chosen]))
            while chosen and len(context) > self.budget.total_tokens:  # merges across pieces can add a token or two
                chosen = chosen[1:]
                context = self.lm.ids(_plain_prompt(self.task, example, [self.pool[i] for i in chosen]))
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
            order = np.random.default_rng([self.protocol["seed"], n]).permutation(len(self.pool))
        test_length = len(self.lm.ids(_plain_prompt(self.task, example, [])))
        return select(order, self.scores[n], self.lengths, test_length, self.budget)


def _plain_prompt(task: PromptTask, example: Example, demos: list[Example]) -> str:
    """Prefix, numbered demonstrations, test input (for the MetaICL layout: the test input alone)."""
    head = task.header
    shown = "".join(head.format(n=i) + d.demo() for i, d in enumerate(demos))
    return example.prefix + shown + head.format(n=len(demos)) + example.lm_input


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


def _predict(
    task: PromptTask, protocol: dict[str, Any], lm: CausalLM, rows: list[dict[str, Any]], tracker: Tracker | None
) -> None:
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
        if "prediction" in row:
            continue
        if task.token_joined:
            ids = lm.generate_ids(row["context"], protocol["max_new_tokens"])
            row["prediction_text"] = lm.text(ids, protocol["stop"]).strip()
            row["prediction"] = joined_tokens(lm.pieces(ids), protocol["stop"])
            continue
        completion = lm.generate(row["context"], protocol["max_new_tokens"], protocol["stop"])
        if tracker:
            row.update(tracker.read(row["id"], completion, row["previous_state"]))
        else:
            row["prediction"] = task.answer_prefix + completion.strip()


def joined_tokens(pieces: list[str], stop: list[str]) -> str:
    """main_coda_title_gen.py's prediction: the generated tokens decoded one by one, cut before the first token
    (after the first) that is a stop string once spaces are stripped, joined with spaces. So "coronavirus" in
    three tokens reads "cor onav irus" to ROUGE, and a "\n\n" token does not stop it."""
    end = next((i for i, piece in enumerate(pieces) if i > 0 and piece.strip(" ") in stop), len(pieces))
    return " ".join(pieces[:end])
