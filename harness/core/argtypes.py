"""argparse types for flags that change numbers, shared by the CLI and the benchmarks' own flags
(`Benchmark.flags`, each a `Flag` whose `type` this is): a value that would run wrong is refused at parse time."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """A whole number of at least 1 (0 used to become a default silently)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def device(text: str) -> str:
    """A torch device this machine has (cuda on a CPU build used to end in a traceback)."""
    import torch

    kind = text.split(":")[0]
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if kind not in available:
        raise argparse.ArgumentTypeError(f"unknown device {text!r}: use cpu, cuda, cuda:N or mps")
    if not available[kind]:
        raise argparse.ArgumentTypeError(f"{kind} is not available here (torch {torch.__version__}); use --device cpu")
    return text
