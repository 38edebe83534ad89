"""The harness's one error type, and "did you mean" for unknown names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class HarnessError(Exception):
    """A user-facing error: the message names the thing that is wrong and how to fix it."""


def unknown(kind: str, name: str, valid: Iterable[str]) -> HarnessError:
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
    return HarnessError(f"unknown {kind} {name!r}.{hint}")
