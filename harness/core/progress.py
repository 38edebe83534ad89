"""The one progress display of a process: `harness run`, `robustness`, `launch`, `embed` and the Python API all
report through `display()`. Inside a task, each encode call's texts (those the embedding cache lacks) count up:
on a terminal as the harness's own bar (texts / total, rate, ETA; tqdm, cleared when done), elsewhere (a Slurm
log, a pipe) as one line every `every` seconds. The run's own lines (`runner`) add tasks done / total and the run's
ETA from measured throughput, the model load excluded.

The libraries underneath stay quiet through their own switches (`quiet_libraries`), never a global
`TQDM_DISABLE`, which would silence this display too."""

from __future__ import annotations

import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TextIO

FIRST_LINE = 10.0  # seconds into an encode call before its first line off a terminal


@dataclass
class Display:
    enabled: bool = False
    stream: TextIO | None = None  # None: sys.stderr at the time of writing
    tty: bool | None = None  # None: whether the stream is a terminal
    every: float = 30.0  # seconds between two lines when not a terminal
    task: str = ""  # the task being evaluated, named on the bar
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def _stream(self) -> TextIO:
        return self.stream or sys.stderr

    def _is_tty(self) -> bool:
        return self.tty if self.tty is not None else bool(getattr(self._stream(), "isatty", lambda: False)())

    @contextmanager
    def encoding(self, total: int) -> Iterator[Callable[[int], None]]:
        """Count `total` texts being encoded: yields `advance(n)`."""
        if not self.enabled or total <= 0:
            yield lambda n: None
            return
        label = f"{self.task}: encoding" if self.task else "encoding"
        if self._is_tty():
            import shutil

            from tqdm import tqdm

            # a terminal that reports no size (a pty made by `script`, `docker run -t`) gives tqdm 0 columns and
            # rows, and it then draws nothing: the size shutil reports has a fallback for that
            size = shutil.get_terminal_size()
            bar = tqdm(
                total=total,
                desc=label,
                unit="text",
                file=self._stream(),
                leave=False,
                disable=False,
                ncols=size.columns,
                nrows=size.lines,
            )
            try:
                yield bar.update
            finally:
                bar.refresh()  # tqdm skips updates within its mininterval: draw the final count before clearing
                bar.close()
            return
        start = last = self.clock()
        done = 0

        def line(now: float) -> None:
            nonlocal last
            rate = done / max(now - start, 1e-9)
            eta = f"ETA {(total - done) / rate:.0f}s" if rate else "first batches running"
            print(f"{label} {done:,}/{total:,} texts ({rate:,.0f}/s, {eta})", file=self._stream(), flush=True)
            last = now

        def advance(n: int) -> None:
            nonlocal done
            done += n
            now = self.clock()
            if now - last >= self.every or (done >= total and now - start >= self.every):
                line(now)

        # a call that is still running after FIRST_LINE seconds says so, though no batch group has finished yet (a
        # group of long texts took 80 s before the first line): a pipe or a Slurm log sees the task alive early
        stop = threading.Event()

        def beat() -> None:
            wait = min(FIRST_LINE, self.every)
            while not stop.wait(wait):
                if self.clock() - last >= wait:
                    line(self.clock())
                wait = self.every

        timer = threading.Thread(target=beat, daemon=True) if self.every > 0 else None  # 0: a line per step anyway
        if timer is not None:
            timer.start()
        try:
            yield advance
        finally:
            stop.set()
            if timer is not None:
                timer.join()


_DISPLAY = Display()


def display() -> Display:
    return _DISPLAY


def configure(
    enabled: bool, *, stream: TextIO | None = None, tty: bool | None = None, every: float | None = None
) -> Display:
    """Set the process's display (the CLI from its flags, the API from `progress=`/`verbose=`). `every`: seconds
    between two lines off a terminal, default `$HARNESS_PROGRESS_SECONDS` or 30."""
    import os

    global _DISPLAY
    seconds = every if every is not None else float(os.environ.get("HARNESS_PROGRESS_SECONDS", "30"))
    _DISPLAY = Display(enabled, stream, tty, seconds)
    return _DISPLAY


def quiet_libraries() -> None:
    """Each library's own switches: no progress bars or advisory notices from transformers, datasets,
    huggingface_hub, sentence-transformers or mteb (the harness passes `show_progress_bar=False` where it calls
    them), and their FutureWarning/DeprecationWarning/UserWarning hidden. The harness's own warnings still show."""
    import logging
    import os

    global _LIBRARIES_QUIET
    _LIBRARIES_QUIET = True
    for key, value in {
        "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",  # read at import by the libraries that are not yet imported
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TRANSFORMERS_VERBOSITY": "error",
        "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    }.items():
        os.environ.setdefault(key, value)
    for name in ("transformers", "datasets", "huggingface_hub", "sentence_transformers", "mteb", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("mteb", "sentence_transformers", "transformers", "datasets", "sklearn", "torch"):
        for category in (FutureWarning, DeprecationWarning, UserWarning):
            warnings.filterwarnings("ignore", category=category, module=module)
    _imported_switches()


_LIBRARIES_QUIET = False  # whether `quiet_libraries` has run in this process


@contextmanager
def bars_off(module: str) -> Iterator[None]:
    """The bare tqdm bars of a library module that has no switch for them (mteb's SummEval evaluator draws a
    "Scoring" bar per call), disabled for the duration once `quiet_libraries` has run; untouched otherwise, or
    where the module (a private one) is gone or draws no `tqdm`."""
    import functools
    import importlib

    try:
        found = importlib.import_module(module) if _LIBRARIES_QUIET else None
    except ImportError:
        found = None
    original = getattr(found, "tqdm", None)
    if original is None:
        yield
        return
    found.tqdm = functools.partial(original, disable=True)  # type: ignore[union-attr]
    try:
        yield
    finally:
        found.tqdm = original  # type: ignore[union-attr]


def _imported_switches() -> None:
    """The switches of libraries already imported (their environment variables were read at import)."""
    if "transformers" in sys.modules:
        import transformers

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    if "datasets" in sys.modules:
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    if "huggingface_hub" in sys.modules:
        import huggingface_hub

        huggingface_hub.utils.disable_progress_bars()
