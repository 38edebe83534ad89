"""Encoding on several devices of one node (`--devices cuda:0,cuda:1`): one worker process per device, each
holding its own `Encoder`, and whole planned batches sent to them in turn. Every batch is encoded exactly as one
device encodes it (the batch plan decides the vectors, `harness.models.encoder`), so the embeddings are those of a
single device of the same kind. sentence-transformers' own pool re-batches the chunks it is given and cannot carry
INSTRUCTOR's masked pooling into its workers, hence workers of our own.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from harness.core.interfaces import Telemetry
from harness.models.encoder import Encoder

_worker: Encoder | None = None  # the encoder of this worker process


def _start(settings: dict[str, Any]) -> None:
    global _worker
    _worker = Encoder(**settings)


def _encode(batch: list[str], instruction: str) -> np.ndarray:
    assert _worker is not None, "worker started without its encoder"
    return _worker.encode_batches([batch], instruction)[0]


class MultiDeviceEncoder(Encoder):
    """An `Encoder` (loaded on the first device, for tokenizer, identity and plan) whose batches run on every device."""

    def __init__(self, name: str, *, devices: list[str], **settings: Any) -> None:
        super().__init__(name, device=devices[0], **settings)
        context = multiprocessing.get_context("spawn")  # CUDA cannot be used in forked children
        self.devices = devices
        self.telemetry = Telemetry(",".join(devices))
        self.workers = [
            ProcessPoolExecutor(
                1, mp_context=context, initializer=_start, initargs=({"name": name, "device": d, **settings},)
            )
            for d in devices
        ]

    def encode_batches(self, batches: list[list[str]], instruction: str) -> list[np.ndarray]:
        start = time.perf_counter()
        futures = [self.workers[i % len(self.workers)].submit(_encode, b, instruction) for i, b in enumerate(batches)]
        vectors = [f.result() for f in futures]
        self.telemetry.add(sum(len(b) for b in batches), time.perf_counter() - start)
        return vectors

    def close(self) -> None:
        for worker in self.workers:
            worker.shutdown(cancel_futures=True)
