"""MTEB's own run setting, the protocol (`--protocol`, `protocols.py`): which era's evaluation code scores its
tasks. It is a key of MTEB units' condition (`protocol_<p>` in their folder names, `protocol=<p>` in their run
names), so results of two protocols never share a folder. This module is the benchmark's settings hook
(`harness.core.plugins.settings_hooks`): its flag (`add_arguments`) and its settings from a request's values
(`from_values`)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.benchmarks.mteb.protocols import ALIASES, DEFAULT, PROTOCOLS, resolve


@dataclass(frozen=True)
class MtebSettings:
    protocol: str = DEFAULT  # resolved: one of PROTOCOLS

    def condition(self) -> dict[str, str]:
        """Its keys of an MTEB unit's condition (mteb's `experiment_kwargs`)."""
        return {"protocol": self.protocol}


NAMES = ("protocol",)  # the request values this benchmark reads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Its flag, on `run`, `robustness` and `data` (dest `protocol`)."""
    parser.add_argument_group("MTEB").add_argument(
        "--protocol",
        choices=[*PROTOCOLS, *ALIASES],
        default=DEFAULT,
        help="MTEB evaluation code to reproduce: instructor (the INSTRUCTOR paper's fork; alias paper), mteb-2022 "
        "(mteb 0.0.2, the MTEB paper's baseline runs), mteb (installed mteb as is)",
    )


def from_values(values: Mapping[str, Any], limit: int | None) -> MtebSettings:
    """The protocol a request names (an alias resolved, an unknown one refused), else the default."""
    return MtebSettings(resolve(values.get("protocol") or DEFAULT))
