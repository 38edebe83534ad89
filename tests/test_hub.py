"""The hub path, offline: small files laid out as the hub cache lays them out (`conftest.HubCache`), read by the
harness's real loading code (`huggingface_hub.snapshot_download`, then `datasets` on the local snapshot or the
script-era parser). Each upstream format the harness supports: script-free JSON Lines (the paper-era pins),
script-era per-subset files (`loader: script`), today's parquet (`--protocol mteb`). Whatever the hub gives, a
`data mirror` copy read with `--data-dir` gives the same rows.

A broken case fails here: a run that calls `load_dataset(repo)` (no network: it fails), a loader that runs or
downloads a snapshot's script, a script-era file read from another subset or split, a row count not checked."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

from harness.benchmarks.mteb import era_rows, load_part
from harness.benchmarks.mteb.mirror import cached_rows
from harness.benchmarks.mteb.portable import TaskData
from harness.benchmarks.mteb.spec import DatasetPin, MtebTaskSpec
from harness.cli import main
from harness.core.errors import DataError
from harness.core.spec import registry
from tests.conftest import HubCache

SENTINEL = "HARNESS_TEST_SCRIPT_RAN"


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def _spec(name: str) -> MtebTaskSpec:
    spec = registry().get(name)
    assert isinstance(spec, MtebTaskSpec)
    return spec


def _script(tmp_path: Path) -> str:
    """A loading script that leaves a file behind if anything ever imports or runs it."""
    return f"import pathlib\npathlib.Path({str(tmp_path / SENTINEL)!r}).write_text('ran')\n"


def test_era_protocols_read_the_paper_revision_from_the_hub_cache_once(hub_cache: HubCache, tmp_path: Path) -> None:
    """ToxicConversations: the era protocols read the fork's pin, mteb today's; the rows are mirrored once into the
    harness cache (the snapshot can go) and read back with the portable checks."""
    spec = _spec("ToxicConversationsClassification")
    rows = [{"text": t, "label": i % 2} for i, t in enumerate(["good", "bad", "fine", "awful"])]
    paper = "d7c0de2777da35d6aae2200a62c6e0e5af397c4c"
    snap = hub_cache.dataset(
        "mteb/toxic_conversations_50k", paper, {"train.jsonl": _jsonl(rows), "test.jsonl": _jsonl(rows[::-1])}
    )
    data, source = era_rows(spec, spec, None, "instructor")
    assert source["revision"] == paper and len(source["sha256"]) == 64
    assert [r["text"] for r in data.subsets["default"]["test"]] == ["awful", "fine", "bad", "good"]  # file order
    for path in snap.iterdir():
        path.unlink()
    again, _ = era_rows(spec, spec, None, "mteb-2022")
    assert again.subsets == data.subsets


def test_a_revision_neither_online_nor_cached_names_the_fix_and_leaves_nothing(
    hub_cache: HubCache, tmp_path: Path
) -> None:
    with pytest.raises(DataError, match=r"could not get broken/x @ 0+ from the hub .*harness data mirror --protocol"):
        cached_rows(_spec("STS12"), DatasetPin(hf_dataset="broken/x", revision="0" * 40))
    assert not [p for p in (tmp_path / "harness-cache").rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("task", "rows", "expected"),
    [
        (  # mteb 0.0.2 and 1.0 read pair classification as one row of lists under sent1/sent2/labels
            "TwitterSemEval2015",
            [{"sent1": ["a b", "c d"], "sent2": ["a c", "x y"], "labels": [1, 0]}],
            [
                {"sentence1": "a b", "sentence2": "a c", "label": 1},
                {"sentence1": "c d", "sentence2": "x y", "label": 0},
            ],
        ),
        (
            "AskUbuntuDupQuestions",
            [
                {"query": "q1", "positive": ["p1"], "negative": ["n1", "n2"]},
                {"query": "q2", "positive": ["p2"], "negative": []},
            ],
            [
                {"query": "q1", "positive": ["p1"], "negative": ["n1", "n2"]},
                {"query": "q2", "positive": ["p2"], "negative": []},
            ],
        ),
    ],
)
def test_paper_era_pair_and_reranking_rows_are_read_as_the_old_code_read_them(
    hub_cache: HubCache, task: str, rows: list[dict], expected: list[dict]
) -> None:
    hub_cache.dataset(f"old/{task}", "1" * 40, {"test.jsonl": _jsonl(rows)})
    folder = cached_rows(_spec(task), DatasetPin(hf_dataset=f"old/{task}", revision="1" * 40))
    assert TaskData(_spec(task), Path(), folder=folder).subsets["default"]["test"] == expected


def _counterfactual(hub_cache: HubCache, tmp_path: Path, train_rows: int = 4018) -> list[dict]:
    """The script-era AmazonCounterfactual revision: a script, per-subset split files (test gzipped), and another
    subset that must not be read."""
    spec = _spec("AmazonCounterfactualClassification")
    assert spec.source.paper_loader is not None and spec.source.paper_loader.loader == "script"
    train = [
        {"text": f"I wish it were {i}", "label": i % 2, "label_text": ["not-counterfactual", "counterfactual"][i % 2]}
        for i in range(train_rows)
    ]
    test = [{"text": f"if only {i}", "label": (i // 3) % 2, "label_text": "x"} for i in range(670)]
    hub_cache.dataset(
        "mteb/amazon_counterfactual",
        str(spec.source.paper_revision),
        {
            "amazon_counterfactual.py": _script(tmp_path),
            "en/train.jsonl": _jsonl(train),
            "en/test.jsonl.gz": gzip.compress(_jsonl(test).encode()),
            "de/test.jsonl": _jsonl([{"text": "Ich wünschte", "label": 1}]),
        },
    )
    return test


def test_a_script_era_revision_is_read_from_its_files_without_running_its_script(
    hub_cache: HubCache, tmp_path: Path
) -> None:
    """The hub rows (era protocol), a `data mirror --protocol instructor` copy, and that copy read with --data-dir
    are the same rows; the revision's script is neither run nor imported."""
    test = _counterfactual(hub_cache, tmp_path)
    spec = _spec("AmazonCounterfactualClassification")
    hub, source = era_rows(spec, spec, None, "instructor")
    assert source["source"] == "hub" and source["revision"] == spec.source.paper_revision
    assert [r["text"] for r in hub.subsets["en"]["test"]] == [r["text"] for r in test]
    out = tmp_path / "mirror"
    assert main(["data", "mirror", "--protocol", "instructor", "--tasks", spec.name, "--out", str(out)]) == 0
    local, source = era_rows(spec, spec, out, "instructor")
    assert source["source"] == "data-dir" and local.subsets == hub.subsets
    assert not (tmp_path / SENTINEL).exists() and "amazon_counterfactual" not in sys.modules


def test_a_script_era_file_with_other_rows_than_the_task_file_says_is_refused(
    hub_cache: HubCache, tmp_path: Path
) -> None:
    _counterfactual(hub_cache, tmp_path, train_rows=4000)
    spec = _spec("AmazonCounterfactualClassification")
    with pytest.raises(
        DataError, match=r"train.jsonl of mteb/amazon_counterfactual @ e8379541\w+ has 4000 rows, its task file 4018"
    ):
        era_rows(spec, spec, None, "instructor")


def test_protocol_mteb_loads_todays_parquet_pin_through_mteb_and_the_mirror_gives_the_same_rows(
    hub_cache: HubCache, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    spec = _spec("STS12")
    pairs = {
        "sentence1": ["a cat", "a dog", "rain"],
        "sentence2": ["the cat", "a wolf", "sun"],
        "score": [4.5, 2.0, 0.4],
    }
    snap = hub_cache.dataset(str(spec.source.hf_dataset), str(spec.source.revision), {"README.md": "# STS12\n"})
    (snap / "data").mkdir()
    pq.write_table(pa.table(pairs), snap / "data" / "test-00000-of-00001.parquet")
    task, source = load_part(spec, spec, None, "mteb")
    assert source == {"source": "hub", "path": spec.source.hf_dataset, "revision": spec.source.revision}
    assert task.dataset["test"]["sentence1"] == pairs["sentence1"]
    out = tmp_path / "mirror"
    assert main(["data", "mirror", "--protocol", "mteb", "--tasks", "STS12", "--out", str(out)]) == 0
    mirrored, _ = load_part(spec, spec, out, "mteb")
    assert mirrored.dataset["default"]["test"].to_dict() == task.dataset["test"].to_dict()
