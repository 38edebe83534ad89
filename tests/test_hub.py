"""The hub path, offline: each layout a pinned revision of a shipped task holds, laid out as the public record shows
it (the paths of its task file) in a hub cache as `huggingface_hub` writes it (`conftest.HubCache`: blobs and
symlinks), read by the harness's real loading code: `huggingface_hub.snapshot_download`, then `datasets` or mteb
on the local snapshot, or the 2022 script's parse. Whatever the hub gives, a `--data-dir` copy of the same rows
gives the same rows.

Every load is checked against the figures of record (mteb's own statistics, `stats.py`, or a revision's recorded
row counts): in these tests mteb's figures are those of the fixture's own `--data-dir` copy (`_figures_of`), so a
snapshot with a row missing, a cut file or a script read the wrong way is refused, as a real short download is.

A broken case fails here: a loader that runs or downloads a snapshot's script; a script-era file read from another
subset or split, or with other csv quoting; a file missing from the cache not named; rows derived from a snapshot
served after the snapshot changed; a revision the record does not establish read anyway."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.benchmarks.mteb import stats
from harness.benchmarks.mteb.data import era_rows, load_part, mteb_parts, mteb_task
from harness.benchmarks.mteb.mirror import rows_root
from harness.benchmarks.mteb.portable import TaskData
from harness.benchmarks.mteb.spec import HubPin, MtebTaskSpec
from harness.cli import main
from harness.core.errors import DataError
from harness.core.spec import registry
from tests.conftest import HubCache

SENTINEL = "HARNESS_TEST_SCRIPT_RAN"


def _spec(name: str) -> MtebTaskSpec:
    spec = registry().get(name)
    assert isinstance(spec, MtebTaskSpec)
    return spec


def _jsonl(rows: list[dict[str, Any]], gz: bool = False) -> str | bytes:
    text = "".join(json.dumps(r) + "\n" for r in rows)
    return gzip.compress(text.encode()) if gz else text


def _tsv(rows: list[tuple[str, int]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="\t", lineterminator="\n")
    writer.writerow(["sentence", "is_counterfactual"])
    writer.writerows(rows)
    return buf.getvalue()


def _lay_out(hub_cache: HubCache, pin: HubPin, bodies: dict[str, str | bytes], extra: dict | None = None) -> Path:
    """The revision's files at the paths its task file names (`bodies` by their key there), plus `extra` files."""
    assert pin.files is not None and set(bodies) == set(pin.files), (sorted(bodies), sorted(pin.files))
    files = {pin.files[key].replace("*", "00000-of-00001.parquet"): body for key, body in bodies.items()}
    return hub_cache.dataset(pin.hf_dataset, pin.revision, {**files, **(extra or {})})


def _figures_of(monkeypatch: pytest.MonkeyPatch, spec: MtebTaskSpec, root: Path) -> None:
    """mteb's figures for `spec` made those of the `--data-dir` copy under `root`, by mteb's own statistic code:
    a hub read that gives other rows than the copy is refused as a real short download is."""
    figures = {}
    for _, part in mteb_parts(spec):
        task = mteb_task(spec, part)
        task.dataset = TaskData(part, root, folder=root / "mteb" / spec.name).to_mteb()
        for subset in spec.subsets:
            for split in [spec.split, "train"] if spec.category == "Classification" else [spec.split]:
                figures[(subset, split)] = stats.observed_stats(task, subset, split)
    monkeypatch.setattr(stats, "expected_stats", lambda task, subset, split: figures.get((subset, split)))


def _portable(root: Path, name: str, files: dict[str, list[dict[str, Any]]]) -> Path:
    for rel, rows in files.items():
        path = root / "mteb" / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(_jsonl(rows)))
    return root


def _script(tmp_path: Path) -> str:
    """A loading script that leaves a file behind if anything ever imports or runs it."""
    return f"import pathlib\npathlib.Path({str(tmp_path / SENTINEL)!r}).write_text('ran')\n"


# ---------------------------------------------------------------------------------------- script-era revisions
COUNTERFACTUAL = [
    ('I wish it came in "red" - it would be perfect', 1),  # quotes inside a field: csv's default quoting reads them
    ("If only the battery lasted, I'd have kept it", 1),
    ("Works as described.", 0),
    ("The strap broke after a week.", 0),
]


def _counterfactual(hub_cache: HubCache, tmp_path: Path, test: list[tuple[str, int]] | None = None) -> Path:
    """mteb/amazon_counterfactual @ e8379541 as its tree page shows it: data/{DE,EN,EN-ext,JP}_{split}.tsv (split
    `valid`, not `validation`), the loading script, dataset_infos.json and a README; no en/ folder."""
    pin = _spec("AmazonCounterfactualClassification").source.paper
    assert pin is not None and pin.script is not None and pin.script.format == "tsv"
    test = COUNTERFACTUAL if test is None else test
    extra = {
        "amazon_counterfactual.py": _script(tmp_path),
        "dataset_infos.json": "{}",
        "README.md": "# Amazon counterfactual\n",
        "data/EN_valid.tsv": _tsv([("a validation sentence", 0)]),
        "data/DE_test.tsv": _tsv([("Ich wünschte, es wäre rot", 1)]),
        "data/EN-ext_test.tsv": _tsv([("an external sentence", 0)]),
        "data/JP_test.tsv": _tsv([("赤ければよかった", 1)]),
    }
    train = [(f"I would have bought it if it were {i}", i % 2) for i in range(8)]
    return _lay_out(hub_cache, pin, {"en/train": _tsv(train), "en/test": _tsv(test)}, extra)


def _counterfactual_copy(tmp_path: Path) -> Path:
    """The same rows as the script gives them, in the portable layout (`--data-dir`)."""
    names = {0: "not-counterfactual", 1: "counterfactual"}

    def rows(pairs: list[tuple[str, int]]) -> list[dict[str, Any]]:
        return [{"text": t, "label": label, "label_text": names[label]} for t, label in pairs]

    train = [(f"I would have bought it if it were {i}", i % 2) for i in range(8)]
    return _portable(
        tmp_path / "copy",
        "AmazonCounterfactualClassification",
        {"en/train.jsonl": rows(train), "en/test.jsonl": rows(COUNTERFACTUAL)},
    )


def test_the_counterfactual_paper_pin_is_read_as_its_tree_page_and_script_show_it(
    hub_cache: HubCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The era protocols read data/EN_{train,test}.tsv as the script's csv module did (a header line, tab-separated,
    default quoting, label_text from its id2label): the same rows as a `--data-dir` copy, in file order, never the
    other subsets' files; the script is neither run nor imported; `data mirror` writes those rows."""
    spec = _spec("AmazonCounterfactualClassification")
    copy = _counterfactual_copy(tmp_path)
    _figures_of(monkeypatch, spec, copy)
    _counterfactual(hub_cache, tmp_path)
    hub, source = era_rows(spec, spec, None, "instructor")
    assert source["source"] == "hub" and source["revision"] == "e8379541af4e31359cca9fbcf4b00f2671dba205"
    local, _ = era_rows(spec, spec, copy, "instructor")
    assert hub.subsets == local.subsets and hub.subsets["en"]["test"][0]["text"] == COUNTERFACTUAL[0][0]
    out = tmp_path / "mirror"
    assert main(["data", "mirror", "--protocol", "instructor", "--tasks", spec.name, "--out", str(out)]) == 0
    assert era_rows(spec, spec, out, "instructor")[0].subsets == hub.subsets
    assert not (tmp_path / SENTINEL).exists() and "amazon_counterfactual" not in sys.modules


def test_a_quoting_the_script_did_not_use_is_refused_by_the_figures(
    hub_cache: HubCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read with csv.QUOTE_NONE, the quoted sentence keeps its quote marks: other characters than mteb's figures
    (the measured difference on the real files), so the read is refused, naming the figure."""
    spec = _spec("AmazonCounterfactualClassification")
    _figures_of(monkeypatch, spec, _counterfactual_copy(tmp_path))
    _counterfactual(hub_cache, tmp_path)
    real = csv.DictReader
    monkeypatch.setattr(csv, "DictReader", lambda fh, **kw: real(fh, quoting=csv.QUOTE_NONE, **kw))
    with pytest.raises(DataError, match=r"do not give its figures of record: en/test: .*text characters 141 vs 137"):
        era_rows(spec, spec, None, "instructor")
    assert not [p for p in rows_root().rglob("*") if p.is_file()]  # a refused read leaves nothing to serve


def test_a_script_era_revision_of_jsonl_files_reads_each_line_as_it_stands(
    hub_cache: HubCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MTOPDomain @ d80d48c1: en/{train,test}.jsonl beside the other languages' folders and two scripts."""
    spec = _spec("MTOPDomainClassification")
    pin = spec.source.paper
    assert pin is not None and pin.script is not None and pin.script.format == "jsonl"
    test = [
        {"id": i, "text": f"wake me at {i}", "label": i % 2, "label_text": ["alarm", "music"][i % 2]} for i in range(4)
    ]
    train = [{**r, "text": r["text"] + " please"} for r in test]
    unread = {"id"}  # a field the harness does not read: the mirror leaves it out, the hub rows drop it
    copy = _portable(
        tmp_path / "copy",
        spec.name,
        {
            f"en/{n}.jsonl": [{k: v for k, v in r.items() if k not in unread} for r in rows]
            for n, rows in (("train", train), ("test", test))
        },
    )
    _figures_of(monkeypatch, spec, copy)
    extra = {"mtop_domain.py": _script(tmp_path), "mtop-domain.py": _script(tmp_path), "de/test.jsonl": "{}\n"}
    _lay_out(hub_cache, pin, {"en/train": str(_jsonl(train)), "en/test": str(_jsonl(test))}, extra)
    hub, _ = era_rows(spec, spec, None, "mteb-2022")
    assert hub.subsets == era_rows(spec, spec, copy, "mteb-2022")[0].subsets
    assert not (tmp_path / SENTINEL).exists()


# ------------------------------------------------------------------------------------------ script-free revisions
def test_a_gzipped_reranking_revision_is_checked_against_its_recorded_rows(hub_cache: HubCache, tmp_path: Path) -> None:
    """AskUbuntu @ 2000358c: test.jsonl.gz alone, 375 rows recorded by mteb's statistics of that revision. A
    snapshot with 374 is refused naming the figure; once repaired (another blob), it is read afresh."""
    spec = _spec("AskUbuntuDupQuestions")
    pin = spec.source.paper
    assert pin is not None and pin.rows == {"test": 375}
    rows = [{"query": f"how do I {i}", "positive": [f"do {i}"], "negative": [f"not {i}", "other"]} for i in range(375)]
    snap = _lay_out(hub_cache, pin, {"test": _jsonl(rows[:-1], gz=True)})
    with pytest.raises(DataError, match=r"AskUbuntuDupQuestions: the files of .*2000358c .*: test: samples 374 vs 375"):
        era_rows(spec, spec, None, "instructor")
    HubCache.replace(snap, "test.jsonl.gz", _jsonl(rows, gz=True))
    data, _ = era_rows(spec, spec, None, "instructor")
    assert len(data.subsets["default"]["test"]) == 375 and data.subsets["default"]["test"][0] == rows[0]


def test_rows_derived_from_a_snapshot_are_never_served_once_it_changes(
    hub_cache: HubCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SICK-R @ a6ea5a8c (test.jsonl.gz; mteb's figures are its own). The derived rows are keyed by the snapshot
    files' digest: a new blob is read afresh, not served the old rows; an edited derived copy is built again;
    `harness cache --clear` removes them, saying so."""
    spec = _spec("SICK-R")
    pin = spec.source.paper
    assert pin is not None and pin.rows is None and pin.files == {"test": "test.jsonl.gz"}
    rows = [{"sentence1": f"a dog {i}", "sentence2": f"the dog {i}", "score": 1 + i % 4, "id": i} for i in range(6)]
    copy = _portable(tmp_path / "copy", spec.name, {"test.jsonl": [{k: r[k] for k in list(r)[:3]} for r in rows]})
    _figures_of(monkeypatch, spec, copy)
    snap = _lay_out(hub_cache, pin, {"test": _jsonl(rows, gz=True)})  # with an `id` the harness does not read
    first, _ = era_rows(spec, spec, None, "instructor")
    assert first.subsets == era_rows(spec, spec, copy, "instructor")[0].subsets
    (first.folder / "test.jsonl").write_text(str(_jsonl(rows[:3])))  # an edited derived copy: built again
    assert era_rows(spec, spec, None, "instructor")[0].subsets == first.subsets
    changed = [{**r, "score": 4.5} for r in rows]
    _figures_of(monkeypatch, spec, _portable(tmp_path / "copy2", spec.name, {"test.jsonl": changed}))
    HubCache.replace(snap, "test.jsonl.gz", _jsonl(changed, gz=True))
    again, _ = era_rows(spec, spec, None, "instructor")
    assert [r["score"] for r in again.subsets["default"]["test"]] == [4.5] * 6
    assert main(["cache", "--clear"]) == 0
    assert not rows_root().exists()


def test_a_file_missing_from_the_cache_is_named_with_the_fix(hub_cache: HubCache, tmp_path: Path) -> None:
    spec = _spec("AskUbuntuDupQuestions")
    pin = spec.source.paper
    assert pin is not None
    hub_cache.dataset(pin.hf_dataset, pin.revision, {"README.md": "# cut short\n"})
    with pytest.raises(
        DataError,
        match=r"holds mteb/askubuntudupquestions-reranking @ 2000358c without .*/test.jsonl.gz \(test; the record: .*\): the download was cut short",
    ):
        era_rows(spec, spec, None, "instructor")


def test_a_cut_file_is_named_as_damaged(hub_cache: HubCache, tmp_path: Path) -> None:
    spec = _spec("AskUbuntuDupQuestions")
    pin = spec.source.paper
    assert pin is not None
    _lay_out(hub_cache, pin, {"test": _jsonl([{"query": "q", "positive": ["p"], "negative": []}], gz=True)[:20]})
    with pytest.raises(DataError, match=r"did not load from its files test.jsonl.gz .*a file is damaged"):
        era_rows(spec, spec, None, "instructor")


@pytest.mark.parametrize("task", ["MassiveIntentClassification", "STS17", "ToxicConversationsClassification"])
def test_a_revision_the_record_does_not_establish_is_refused_in_one_line(hub_cache: HubCache, task: str) -> None:
    pin = _spec(task).source.paper
    assert pin is not None and pin.refused and pin.files is None
    with pytest.raises(DataError, match=rf"^task {task}: .* is not read from the hub: .*Pass --data-dir") as err:
        era_rows(_spec(task), _spec(task), None, "instructor")
    assert "\n" not in str(err.value)


def test_a_revision_without_figures_of_record_is_refused_though_its_files_are_known(hub_cache: HubCache) -> None:
    spec = _spec("STS22")
    pin = spec.source.paper
    assert pin is not None and pin.files and pin.refused and "no figure of record" in pin.refused
    with pytest.raises(DataError, match=r"is not read from the hub: no figure of record"):
        era_rows(spec, spec, None, "instructor")


def test_pair_classification_rows_of_the_mteb_1_era_are_unrolled(
    hub_cache: HubCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SprintDuplicateQuestions @ today's pin: test.json.gz holding one row of lists (sent1, sent2, labels)."""
    spec = _spec("SprintDuplicateQuestions")
    pin = spec.source.today()
    pairs = [("a b", "a c", 1), ("c d", "x y", 0), ("e", "e f", 1)]
    copy = _portable(
        tmp_path / "copy",
        spec.name,
        {"test.jsonl": [{"sentence1": a, "sentence2": b, "label": y} for a, b, y in pairs]},
    )
    _figures_of(monkeypatch, spec, copy)
    one_row = {"sent1": [a for a, _, _ in pairs], "sent2": [b for _, b, _ in pairs], "labels": [y for *_, y in pairs]}
    _lay_out(hub_cache, pin, {"test": _jsonl([one_row], gz=True)})
    assert era_rows(spec, spec, None, "instructor")[0].subsets == era_rows(spec, spec, copy, "instructor")[0].subsets


# ------------------------------------------------------------------------- today's pins, loaded by mteb itself
def test_protocol_mteb_loads_todays_beir_layout_through_mteb_and_checks_it(
    hub_cache: HubCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ArguAna @ today's pin: corpus.jsonl, queries.jsonl, qrels/test.jsonl and the README configs that map them
    (default -> qrels, corpus, queries), loaded by mteb from the snapshot; a qrels row missing is refused."""
    spec = _spec("ArguAna")
    pin = spec.source.today()
    assert pin.files == {"corpus": "corpus.jsonl", "queries": "queries.jsonl", "qrels/test": "qrels/test.jsonl"}
    corpus = [{"_id": f"d{i}", "title": f"t{i}", "text": f"passage {i}"} for i in range(5)]
    queries = [{"_id": f"q{i}", "text": f"question {i}"} for i in range(2)]
    qrels = [{"query-id": "q0", "corpus-id": "d1", "score": 1.0}, {"query-id": "q1", "corpus-id": "d3", "score": 1.0}]
    copy = _portable(tmp_path / "copy", spec.name, {"corpus.jsonl": corpus, "queries.jsonl": queries})
    (copy / "mteb" / spec.name / "qrels").mkdir()
    (copy / "mteb" / spec.name / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td1\t1\nq1\td3\t1\n")
    _figures_of(monkeypatch, spec, copy)
    card = (
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: test\n    path: qrels/test.jsonl\n"
        "- config_name: corpus\n  data_files:\n  - split: corpus\n    path: corpus.jsonl\n"
        "- config_name: queries\n  data_files:\n  - split: queries\n    path: queries.jsonl\n---\n# ArguAna\n"
    )
    bodies = {"corpus": str(_jsonl(corpus)), "queries": str(_jsonl(queries)), "qrels/test": str(_jsonl(qrels[:1]))}
    snap = _lay_out(hub_cache, pin, bodies, {"README.md": card})
    with pytest.raises(
        DataError,
        match=r"ArguAna: the files of mteb/arguana @ c22ab2a5 .*: test: samples 6 vs 7; test: characters 70 vs 80; test: queries 1 vs 2",
    ):
        load_part(spec, spec, None, "mteb")
    HubCache.replace(snap, "qrels/test.jsonl", str(_jsonl(qrels)))
    task, source = load_part(spec, spec, None, "mteb")
    assert source == {"source": "hub", "path": "mteb/arguana", "revision": pin.revision}
    assert sorted(task.dataset["default"]["test"]["relevant_docs"]) == ["q0", "q1"]


def test_protocol_mteb_from_a_hub_snapshot_gives_its_number(
    hub_cache: HubCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole run: mteb evaluates today's STS12 pin (test.jsonl.gz) and the harness reads its predictions back
    into per-item outputs (a task of one subset loaded from the hub holds its splits directly: the reader used to
    look for a `default` subset and end in a KeyError after mteb had scored). The number equals the same rows run
    from a `--data-dir` copy."""
    spec = _spec("STS12")
    pin = spec.source.today()
    pairs = [("a cat sits", "the cat sat", 4.5), ("a dog runs", "a wolf howls", 2.0), ("rain falls", "sun shines", 0.4)]
    rows = [{"sentence1": a, "sentence2": b, "score": s} for a, b, s in pairs]
    copy = _portable(tmp_path / "copy", spec.name, {"test.jsonl": rows})
    _figures_of(monkeypatch, spec, copy)
    _lay_out(hub_cache, pin, {"test": _jsonl(rows, gz=True)})
    args = ["run", "--tasks", "STS12", "--protocol", "mteb", "--no-cache"]
    assert main(["-q", *args, "--output-dir", str(tmp_path / "hub")]) == 0
    assert main(["-q", *args, "--output-dir", str(tmp_path / "local"), "--data-dir", str(copy)]) == 0
    scores = [
        json.loads(next((tmp_path / out).rglob("STS12.run.json")).read_text())["main_score"] for out in ("hub", "local")
    ]
    assert scores[0] == scores[1] and 0 < scores[0] <= 1


def test_data_check_refuses_a_short_snapshot_with_exit_4(
    hub_cache: HubCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec("SICK-R")
    pin = spec.source.paper
    assert pin is not None
    rows = [{"sentence1": f"a {i}", "sentence2": f"b {i}", "score": 3.0} for i in range(10)]
    _figures_of(monkeypatch, spec, _portable(tmp_path / "copy", spec.name, {"test.jsonl": rows}))
    _lay_out(hub_cache, pin, {"test": _jsonl(rows[:9], gz=True)})
    assert main(["data", "check", "--tasks", "SICK-R"]) == 4
    out = capsys.readouterr().out
    assert "refused  SICK-R: the files of mteb/sickr-sts @ a6ea5a8c" in out and "test: samples 9 vs 10" in out
    shutil.rmtree(tmp_path / "copy")
