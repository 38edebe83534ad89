"""MTEB's own run setting, the protocol (`--protocol`, `protocols.py`): which era's evaluation code scores its
tasks. It is a key of MTEB units' condition (`protocol_<p>` in their folder names, `protocol=<p>` in their run
names), so results of two protocols never share a folder. Declared as data (`FLAGS`, `Benchmark.flags`) and read
into its settings object by `from_values`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.benchmarks.mteb.protocols import ALIASES, DEFAULT, PROTOCOLS, resolve
from harness.core.benchmark import Flag


@dataclass(frozen=True)
class MtebSettings:
    protocol: str = DEFAULT  # resolved: one of PROTOCOLS

    def condition(self) -> dict[str, str]:
        """Its keys of an MTEB unit's condition (mteb's `experiment_kwargs`)."""
        return {"protocol": self.protocol}


FLAGS = (
    Flag(
        "protocol",
        "MTEB evaluation code to reproduce: instructor (the INSTRUCTOR paper's fork; alias paper), mteb-2022 "
        "(mteb 0.0.2, the MTEB paper's baseline runs), mteb (installed mteb as is)",
        choices=(*PROTOCOLS, *ALIASES),
        default=DEFAULT,
    ),
)


def from_values(values: Mapping[str, Any]) -> MtebSettings:
    """The protocol a request names (an alias resolved, an unknown one refused), else the default."""
    return MtebSettings(resolve(values.get("protocol") or DEFAULT))
