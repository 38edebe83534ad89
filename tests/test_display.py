"""The one progress display (`harness.core.progress`), captured in both its forms: the harness's own bar on a
terminal, a line every N seconds in a pipe or a Slurm log. And the API's output: quiet by default, its lines on
the `harness` logger, with `verbose=True` on stderr.

Fails here: a global TQDM_DISABLE (the bar never shows), a display that counts nothing inside a task, a pipe that
gets bar redraws, an ETA that counts the model load, the API printing or letting library bars through."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest

from harness.app.api import RunRequest, encoder_for
from harness.cli import main
from harness.core import progress


@pytest.fixture(autouse=True)
def _restore_display():  # noqa: ANN202
    yield
    progress.configure(False)


def test_on_a_terminal_the_task_bar_counts_texts_with_rate_and_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TQDM_DISABLE", "1")  # a user's global switch must not silence the harness's own bar
    buf = io.StringIO()
    progress.configure(True, stream=buf, tty=True)
    encoder = encoder_for(RunRequest(cache=False, batch_size=8))
    progress.display().task = "SciFact"
    encoder.encode([f"passage number {i}" for i in range(300)])
    shown = buf.getvalue()
    assert "SciFact: encoding" in shown and "300/300" in shown and "text/s" in shown
    assert "\r" in shown  # redrawn in place, a bar


def test_on_a_real_pty_without_a_size_the_bar_still_draws() -> None:
    """A pty that reports 0 x 0 (made by `script`, `docker run -t`, a CI runner) left tqdm drawing nothing: the
    transcript of a 2,552-text task on such a terminal showed no bar at all. Here the child's stderr is a fresh
    pty (os.openpty sets no size), as on those terminals."""
    import os
    import pty
    import subprocess
    import sys

    code = (
        "from harness.core import progress\n"
        "d = progress.configure(True)\n"
        "d.task = 'T'\n"
        "with d.encoding(40) as advance:\n"
        "    [advance(1) for _ in range(40)]\n"
    )
    main_fd, child_fd = pty.openpty()
    subprocess.run([sys.executable, "-c", code], stderr=child_fd, check=True, timeout=60)
    os.close(child_fd)
    shown = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # the child side is closed: all read
            break
        if not chunk:
            break
        shown += chunk
    os.close(main_fd)
    assert b"T: encoding" in shown and b"40/40" in shown


def test_in_a_pipe_the_display_is_a_line_every_n_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`harness run` with stderr not a terminal (as under capsys, a pipe or Slurm): lines, no redraws; the run's
    lines give tasks done / total and an ETA with the model load set apart."""
    monkeypatch.setenv("HARNESS_PROGRESS_SECONDS", "0")  # a line at every step, so that a tiny task shows one
    assert main(["run", "--tasks", "SmokeSTS,SmokeClassification", "--output-dir", str(tmp_path), "--no-cache"]) == 0
    out, err = capsys.readouterr()
    assert re.search(r"^SmokeSTS: encoding \d+/\d+ texts \([\d,]+/s, ETA \d+s\)$", err, re.M), err
    assert "\r" not in err
    assert re.search(r"\[1/2\] SmokeSTS: .* run: 1/2 tasks done, ETA \d+s, model load [\d.]+s apart", out), out
    assert "[2/2] SmokeClassification" in out and "run: 2/2 tasks done, ETA 0s" in out


def test_the_api_is_quiet_by_default_and_logs_when_verbose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    import harness

    with caplog.at_level(logging.INFO, logger="harness"):
        harness.evaluate("minilm", ["SmokeSTS"], output_dir=tmp_path / "a", cache=False)
    out, err = capsys.readouterr()
    assert out == "" and "Loading weights" not in err and err == ""
    assert any("SmokeSTS: cosine_spearman" in r.getMessage() for r in caplog.records)  # on the logger, at INFO
    harness.evaluate("minilm", ["SmokeSTS"], output_dir=tmp_path / "b", cache=False, verbose=True)
    assert "SmokeSTS: cosine_spearman" in capsys.readouterr().err


def test_mteb_summarization_bar_is_off_when_the_libraries_are_quiet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """mteb's SummEval evaluator draws a bare tqdm "Scoring" bar that no mteb switch turns off; under
    `--protocol mteb` it broke the one display. Fails if the bar shows on a quiet run, or if the patch outlives
    the evaluation (a caller's own mteb use would lose its bar)."""
    import importlib

    import harness
    from harness.benchmarks.mteb import SUMMARIZATION_BAR

    harness.evaluate("minilm", ["SmokeSummarization"], protocol="mteb", output_dir=tmp_path, cache=False)
    assert "Scoring" not in capsys.readouterr().err
    module = importlib.import_module(SUMMARIZATION_BAR)
    assert module.tqdm.__module__.startswith("tqdm")  # the module's own tqdm again, not a partial


def test_in_a_pipe_a_long_first_group_still_shows_a_line_within_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first line came when the first 16 batches were done: 80 s into SciFact's long abstracts. An encode call
    still running after `FIRST_LINE` seconds says so, whatever its batches do."""
    import io
    import time

    from harness.core import progress

    monkeypatch.setattr(progress, "FIRST_LINE", 0.2)
    stream = io.StringIO()
    shown = progress.configure(True, stream=stream, tty=False, every=30)
    with shown.encoding(5183) as advance:
        time.sleep(0.5)  # the first group of batches, still running
        first = stream.getvalue()
        advance(512)
    assert first.startswith("encoding 0/5,183 texts (0/s, first batches running)")
    progress.configure(False)


def test_the_eta_counts_tokens_each_capped_at_the_models_max_length() -> None:
    """The ETA counted characters, so a corpus of long abstracts (SciFact) looked four times its cost to a model
    that reads 256 tokens of each: 165% mean error on nine shared tasks. Work is now each distinct text's tokens
    (about 4 characters each, 2 special), capped at the max length, with the rate calibrated on the finished tasks."""
    from types import SimpleNamespace

    from harness.app.runner import run_line
    from harness.core.checks import DataCheck, Work

    work = Work.of(["a" * 100, "b" * 10_000, "a" * 100])  # distinct: one short, one past the cap
    assert work.counts[6] == 1 and work.counts[13] == 1 and sum(work.counts) == 2
    assert work.tokens(256) == 100 / 4 + 2 + 256 and work.tokens(4096) == 100 / 4 + 2 + 10_000 / 4 + 2
    short, long = Work.of(["x" * 398]), Work.of(["y" * 40_000])  # 101.5 tokens; 256 capped
    todo = [SimpleNamespace(name="A"), SimpleNamespace(name="B")]
    ctx = SimpleNamespace(
        checks={"A": DataCheck(work=short), "B": DataCheck(work=long)},
        max_length=256,
        load_seconds=3.0,
        fingerprints={},
    )
    # A took 10 s of work (13 s elapsed, 3 s of model load): B's 256 tokens at A's 10 s / 101.5 tokens
    assert run_line(1, todo, ctx, 13.0) == f"run: 1/2 tasks done, ETA {256 * 10 / 101.5:.0f}s, model load 3.0s apart"


def test_a_limited_runs_eta_counts_the_work_of_its_items() -> None:
    """`--limit N` evaluates N items, but the ETA counted the whole data's texts: a 40-pair run of a 1,379-pair
    STS task looked 34 times its cost. The work is now that of the cut data (`TaskData.limited`); the rows
    (checked against mteb's figures) stay the whole data's, and the data itself is left whole."""
    from harness.benchmarks.mteb.portable import TaskData
    from harness.core.checks import Work
    from harness.core.paths import smoke_dir
    from harness.core.spec import Registry

    spec = Registry(smoke_dir() / "tasks").get("SmokeSTS")
    data = TaskData(spec, smoke_dir() / "data")
    rows = data.subsets["default"][spec.split]
    whole, cut = data.check(), data.check(limit=2)
    kept = [rows[0], rows[-1]]  # two items, evenly spaced: the first and the last
    assert cut.work == Work.of([r[f] for r in kept for f in spec.text_fields]) != whole.work
    assert cut.rows == whole.rows and data.subsets["default"][spec.split] == rows
