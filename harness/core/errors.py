"""The harness's errors: one type per failure family, each with a stable exit code (docs/concepts/failing-well.md), and
"did you mean" for unknown names. Every expected failure is one of these: the CLI prints its one-line message
(the traceback only with --debug) and exits with its code."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class HarnessError(Exception):
    """A user-facing error: the message names the thing that is wrong and how to fix it."""

    exit_code = 2


class UsageError(HarnessError):
    """A command-line value, an unknown name, conflicting selectors."""

    exit_code = 2


class SpecError(HarnessError):
    """A task or instruction file is malformed."""

    exit_code = 3


class DataError(HarnessError):
    """Task data missing, malformed, undecodable or inconsistent (file, line and fix named)."""

    exit_code = 4


class ModelError(HarnessError):
    """A model or LM cannot be found, loaded or used as asked."""

    exit_code = 5


class CacheError(HarnessError):
    """The embedding cache is unreadable or holds a corrupt entry."""

    exit_code = 6


class ResultError(HarnessError):
    """Finished results conflict with this run's inputs, or a result file is unreadable."""

    exit_code = 7


class OutputError(HarnessError):
    """An output or cache location is not writable, or the disk is full."""

    exit_code = 8


class LaunchError(HarnessError):
    """A cluster job or Ray task still failing after its retries (its log named); finished units are kept."""

    exit_code = 9


class Terminated(BaseException):  # noqa: N818 - a signal, like KeyboardInterrupt
    """Raised in the main thread by the CLI's SIGTERM handler, as KeyboardInterrupt is for SIGINT."""


class Interrupted(HarnessError):
    """SIGINT (exit 130) or SIGTERM (exit 143, what Slurm sends before the kill); finished work is kept."""

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signal_number


def unknown(kind: str, name: str, valid: Iterable[str]) -> UsageError:
    """An error for an unknown name, suggesting the closest valid ones."""
    valid = sorted(valid)
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
    if not close:
        lowered = {v.lower(): v for v in valid}
        close = [lowered[v] for v in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.5)]
    hint = (
        f" Did you mean: {', '.join(close)}?"
        if close
        else f" Valid: {', '.join(valid[:12])}{' ...' if len(valid) > 12 else ''}."
    )
    return UsageError(f"unknown {kind} {name!r}.{hint}")
