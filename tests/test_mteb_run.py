"""MTEB tasks end to end through mteb's evaluators: instructions reaching the model, bad data, resume,
the paper protocol's pieces against independent implementations, and published scores on real data."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import spearmanr

from harness.benchmarks.mteb.protocols import legacy_undersample
from harness.core.errors import HarnessError
from harness.core.instructions import Library, library
from harness.core.paths import data_dir, smoke_dir
from harness.core.results import Unit
from harness.core.runner import RunOptions, run_tasks
from harness.core.spec import Registry, registry
from harness.models.cache import CachedEncoder, EmbeddingCache
from harness.models.encoder import Encoder
from tests.conftest import DATA, need
from tests.tiny_models import tiny_instructor

SMOKE = Registry(smoke_dir() / "tasks")
SMOKE_LIB = Library(data_dir("instructions"), SMOKE)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_instructor(tmp_path_factory.mktemp("models"))


def _run(
    tmp: Path,
    names: list[str],
    factory: Any,
    *,
    reg: Registry = SMOKE,
    lib: Library = SMOKE_LIB,
    data: Path | None = None,
    variant: str = "instructor-large",
    mode: str = "masked",
    protocol: str = "paper",
    model: str = "tiny",
) -> list[Any]:
    unit = Unit(model, "test", variant, mode, protocol)
    opts = RunOptions(unit, tmp / "out", data or smoke_dir() / "data", log=lambda *_: None)
    return run_tasks([reg.get(n) for n in names], factory, lib, opts)


def test_texts_reach_the_model_with_the_registry_instruction(tiny: Path, tmp_path: Path) -> None:
    enc = Encoder(str(tiny), mode="masked")
    seen: list[str] = []
    original = enc.model.encode

    def spy(inputs: list[str], **kwargs: Any) -> Any:
        seen.extend(inputs)
        return original(inputs, **kwargs)

    enc.model.encode = spy  # type: ignore[method-assign]
    _run(tmp_path, ["SmokeRetrieval", "SmokeSTS"], lambda: enc)
    sci = library().get("SciFact", "instructor-large")
    sts = library().get("STSBenchmark", "instructor-large").query
    assert sci.query == "Represent a Scientific query for retrieving a supporting passage; "
    # masked mode feeds (instruction + text.strip()).strip(), as InstructorEmbedding 1.0.1
    assert sci.query + "Does vitamin D deficiency make bones weaker?" in seen
    assert (
        sci.document + "Vitamin D Vitamin D deficiency is associated with weaker bones and a higher fracture risk."
        in seen
    )
    assert sts + "A cat is sleeping on the sofa." in seen
    assert all(t.startswith((sci.query, sci.document, sts)) for t in seen)  # no text went in without its instruction


def test_every_smoke_task_runs_and_is_written(tiny: Path, tmp_path: Path) -> None:
    from mteb import TaskResult

    outcomes = _run(tmp_path, list(SMOKE.tasks), lambda: Encoder(str(tiny), mode="masked"))
    assert {o.status for o in outcomes} == {"done"}
    folder = Unit("tiny", "test", "instructor-large", "masked", "paper").folder(tmp_path / "out")
    for o in outcomes:
        record = json.loads((folder / f"{o.task}.run.json").read_text())
        assert record["main_score"] == o.score and 0 <= o.score <= 1
        assert record["task"]["name"] == o.task and record["protocol"]["protocol"] == "paper"
        for sides in record["instructions"].values():
            for entry in sides.values():
                assert len(entry["sha256"]) == 64 and entry["text"].strip()
        assert TaskResult.from_disk(folder / f"{o.task}.json").task_name == o.task
    summ = json.loads((folder / "SmokeSummarization.json").read_text())["scores"]["test"][0]
    assert summ["legacy_pvalue_averaging"] is True and "cosine_spearman_correct" in summ


def test_second_run_is_resumed_without_encoding(tiny: Path, tmp_path: Path) -> None:
    first = _run(tmp_path, ["SmokeSTS", "SmokeClassification"], lambda: Encoder(str(tiny), mode="masked"))

    def no_model() -> Encoder:
        raise AssertionError("a resumed run must not load the model")

    second = _run(tmp_path, ["SmokeSTS", "SmokeClassification"], no_model)
    assert [o.status for o in second] == ["resumed", "resumed"]
    assert [o.score for o in second] == [o.score for o in first]


# ------------------------------------------------------------------ bad input, before any model loads
def _broken(tmp_path: Path, task: str, edit: Any) -> Path:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(smoke_dir() / "data", root)
    edit(root / "mteb" / task)
    return root


def _fail_before_model(tmp_path: Path, task: str, root: Path, match: str) -> None:
    def no_model() -> Encoder:
        raise AssertionError("bad data must fail before the model loads")

    with pytest.raises(HarnessError, match=match):
        _run(tmp_path, [task], no_model, data=root)


def test_unknown_task() -> None:
    with pytest.raises(HarnessError, match="unknown task 'STSBenchmarks'. Did you mean: STSBenchmark"):
        registry().select(names=["STSBenchmarks"])


def test_missing_data_folder(tmp_path: Path) -> None:
    root = _broken(tmp_path, "SmokeSTS", lambda f: __import__("shutil").rmtree(f))
    _fail_before_model(tmp_path, "SmokeSTS", root, r"task SmokeSTS: no data folder .*mteb/SmokeSTS")


def test_missing_column(tmp_path: Path) -> None:
    def drop(folder: Path) -> None:
        path = folder / "test.jsonl"
        path.write_text(path.read_text().replace('"score"', '"gold"', 1))

    root = _broken(tmp_path, "SmokeSTS", drop)
    _fail_before_model(tmp_path, "SmokeSTS", root, r"test.jsonl:1: missing column 'score' \(expected sentence1")


def test_empty_file(tmp_path: Path) -> None:
    root = _broken(tmp_path, "SmokeRetrieval", lambda f: (f / "queries.jsonl").write_text("\n"))
    _fail_before_model(tmp_path, "SmokeRetrieval", root, r"queries.jsonl is empty")


def test_mixed_label_types(tmp_path: Path) -> None:
    def mix(folder: Path) -> None:
        path = folder / "train.jsonl"
        path.write_text(path.read_text().replace('"label": 2,', '"label": "2",', 1))

    root = _broken(tmp_path, "SmokeClassification", mix)
    _fail_before_model(tmp_path, "SmokeClassification", root, r"column 'label' mixes types \['int', 'str'\]")


def test_wrong_type_and_bad_qrels(tmp_path: Path) -> None:
    root = _broken(tmp_path, "SmokeRetrieval", lambda f: (f / "qrels" / "test.tsv").write_text("q\td\ts\n"))
    _fail_before_model(tmp_path, "SmokeRetrieval", root, r"header must be query-id<TAB>corpus-id<TAB>score")


# ------------------------------------------------------------------ paper protocol pieces
def test_legacy_undersampling_matches_mteb_0_0_x_global_stream() -> None:
    labels = [i % 3 for i in range(30)]
    # mteb 0.0.x: np.random.seed(42) at task creation, then np.random.shuffle(idxs) once per experiment
    np.random.seed(42)
    idxs_old = np.arange(30)
    expected = []
    for _ in range(3):
        np.random.shuffle(idxs_old)
        counts, picked = Counter(), []
        for i in idxs_old:
            if counts[labels[i]] < 2:
                picked.append(int(i))
                counts[labels[i]] += 1
        expected.append(picked)
    rng, idxs = np.random.RandomState(42), np.arange(30)
    got = [legacy_undersample(labels, 2, idxs, rng) for _ in range(3)]
    assert got == expected
    assert got[0] != got[1]  # a continuing stream: each experiment its own subset


def test_summeval_legacy_and_correct_scores_by_hand(tiny: Path, tmp_path: Path) -> None:
    """The flagged 2022 value = mean over documents of (Spearman + p-value) / 2; the correct one = mean Spearman."""
    enc = Encoder(str(tiny), mode="masked")
    _run(tmp_path, ["SmokeSummarization"], lambda: enc)
    folder = Unit("tiny", "test", "instructor-large", "masked", "paper").folder(tmp_path / "out")
    scores = json.loads((folder / "SmokeSummarization.json").read_text())["scores"]["test"][0]
    ins = library().get("SummEval", "instructor-large").query
    rows = [json.loads(line) for line in (smoke_dir() / "data/mteb/SmokeSummarization/test.jsonl").open()]
    legacy, correct = [], []
    for row in rows:
        human = enc.encode(row["human_summaries"], instruction=ins)
        machine = enc.encode(row["machine_summaries"], instruction=ins)
        predicted = (machine @ human.T).max(axis=1)  # unit vectors: dot = cosine
        rho, p = spearmanr(row["relevance"], predicted)
        legacy.append((rho + p) / 2)
        correct.append(rho)
    assert scores["cosine_spearman"] == pytest.approx(np.mean(legacy), abs=1e-6)
    assert scores["cosine_spearman_correct"] == pytest.approx(np.mean(correct), abs=1e-6)


# ------------------------------------------------------------------ published figures on real data
PUBLISHED_2022 = {"STSBenchmark": 82.03, "STS13": 80.60}  # ../shared/reference/minilm-published.csv


@pytest.mark.parametrize("task", list(PUBLISHED_2022))
def test_minilm_reproduces_published_sts(task: str, tmp_path: Path) -> None:
    need(DATA / "mteb" / task)
    [outcome] = _run(
        tmp_path,
        [task],
        lambda: Encoder("minilm", mode="none"),
        reg=registry(),
        lib=library(),
        data=DATA,
        variant="none",
        mode="none",
        model="minilm",
    )
    assert 100 * outcome.score == pytest.approx(PUBLISHED_2022[task], abs=0.3)


def test_emotion_both_protocols_match_their_era(tmp_path: Path) -> None:
    """Installed mteb reproduces the 2024 re-run (40.83, minilm-published.csv) exactly. The paper protocol's
    one-stream sampler gives 38.735, 0.305 from the 2022 figure 38.43: it is not yet mteb 0.0.2's exact stream
    (issue #13). Both are pinned exactly, so a change to either sampler shows here instead of hiding in a tolerance."""
    need(DATA / "mteb" / "EmotionClassification")
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    got = {}
    for protocol in ("paper", "mteb"):
        [o] = _run(
            tmp_path,
            ["EmotionClassification"],
            lambda: CachedEncoder(Encoder("minilm", mode="none"), cache),
            reg=registry(),
            lib=library(),
            data=DATA,
            variant="none",
            mode="none",
            protocol=protocol,
            model="minilm",
        )
        got[protocol] = 100 * o.score
    assert got["paper"] == pytest.approx(38.735, abs=1e-9)
    assert got["mteb"] == pytest.approx(40.83, abs=1e-9)


# ------------------------------------------------------------------ mirror = inverse of the portable reader
# what the in-memory mteb form of a task does not hold, so a round trip through it cannot keep it
NOT_CARRIED = {"Classification": {"label_text"}, "Summarization": {"id"}}


@pytest.mark.parametrize("task", sorted(SMOKE.tasks))
def test_mirror_round_trips_the_portable_format(task: str, tmp_path: Path) -> None:
    """Every column the mteb form holds comes back, row for row (a mirror dropping `title` fails here)."""
    from harness.benchmarks.mteb.mirror import mirror
    from harness.benchmarks.mteb.portable import TaskData

    spec = SMOKE.get(task)
    original = TaskData(spec, smoke_dir() / "data")
    loaded = type("Loaded", (), {"dataset": original.to_mteb()})()
    mirror(spec, [(spec, loaded)], tmp_path)
    again = TaskData(spec, tmp_path)
    skip = NOT_CARRIED.get(spec.category, set())
    for subset, rows in original.subsets.items():
        for part, data in rows.items():
            expected = data if part == "qrels" else [{k: v for k, v in r.items() if k not in skip} for r in data]
            assert again.subsets[subset][part] == expected
    if spec.category == "Retrieval":
        assert all(r["title"] for r in again.subsets["default"]["corpus"])


def test_mirror_keeps_label_text_of_an_mteb_classification_dataset(tmp_path: Path) -> None:
    """mteb's classification datasets carry label_text beside label: the mirror writes it."""
    from datasets import Dataset

    from harness.benchmarks.mteb.mirror import write_portable

    spec = SMOKE.get("SmokeClassification")
    rows = {"text": ["a", "b"], "label": [0, 1], "label_text": ["change_pin", "card_arrival"]}
    write_portable(spec, {"test": Dataset.from_dict(rows), "train": Dataset.from_dict(rows)}, tmp_path)
    for part in ("test", "train"):
        written = [json.loads(line) for line in (tmp_path / f"{part}.jsonl").read_text().splitlines()]
        assert written == [
            {"text": "a", "label": 0, "label_text": "change_pin"},
            {"text": "b", "label": 1, "label_text": "card_arrival"},
        ]


def test_mirror_offline_names_the_fix(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    assert main(["data", "mirror", "--tasks", "STS12", "--out", "/tmp/unused-mirror"]) == 4  # data
    assert "could not load mteb/sts12-sts" in capsys.readouterr().err


@pytest.mark.parametrize(("protocol", "long_gets"), [("paper", ""), ("mteb", "instruction")])
def test_clustering_long_texts_lose_their_instruction_under_the_paper_protocol(
    tiny: Path, tmp_path: Path, protocol: str, long_gets: str
) -> None:
    long = " ".join(["the cats and dogs are good"] * 50)  # 300 words: over 256 tokens with the instruction

    def lengthen(folder: Path) -> None:
        rows = [json.loads(line) for line in (folder / "test.jsonl").open()]
        for row in rows:
            row["sentences"][0] = long
        (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    root = _broken(tmp_path, "SmokeClustering", lengthen)
    enc = Encoder(str(tiny), mode="masked")
    inputs_seen: list[str] = []
    original = enc.model.encode

    def spy(inputs: list[str], **kwargs: Any) -> Any:
        inputs_seen.extend(inputs)
        return original(inputs, **kwargs)

    enc.model.encode = spy  # type: ignore[method-assign]
    _run(tmp_path, ["SmokeClustering"], lambda: enc, data=root, protocol=protocol)
    instruction = library().get("TwentyNewsgroupsClustering", "instructor-large").query
    seen = {t.removeprefix(instruction): instruction if t.startswith(instruction) else "" for t in inputs_seen}
    assert seen["The tennis match went to five sets."] == instruction
    assert seen[long] == (instruction if long_gets == "instruction" else "")


def test_mirror_unrolls_single_row_pair_classification(tmp_path: Path) -> None:
    """mteb 1.x pair-classification datasets keep all pairs in one row: the mirror writes one row per pair."""
    from datasets import Dataset

    from harness.benchmarks.mteb.mirror import write_portable

    spec = SMOKE.get("SmokePairClassification")
    one_row = Dataset.from_dict({"sentence1": [["a", "b"]], "sentence2": [["c", "d"]], "labels": [[1, 0]]})
    write_portable(spec, {"test": one_row}, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "test.jsonl").read_text().splitlines()]
    assert rows == [{"sentence1": "a", "sentence2": "c", "label": 1}, {"sentence1": "b", "sentence2": "d", "label": 0}]
