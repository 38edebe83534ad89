"""Encoding throughput on this machine's CPU, side by side in one run, on a real text mix (2/3 STSBenchmark
sentences, 1/3 SciFact abstracts; synthetic texts without the shared data):

- plain `SentenceTransformer.encode` (batch 32, its own length sorting);
- the harness encoder on torch (`Encoder`: planned batches, one forward pass each);
- the harness encoder on ONNX Runtime (`OnnxEncoder`: the transformer exported once, the rest torch's modules);
- each one's texts/s and tokens/s, the ratio to plain, the largest coordinate difference from plain, and the
  fraction of the best measured dense GEMM throughput of this machine (the better of torch's and ONNX Runtime's
  1024x1024 fp32 matmul), counting 2 x (non-embedding parameters) FLOPs per token.

Runs are interleaved and repeated (median), so drift hits every backend alike.

    python perf/encode_throughput.py [--model minilm] [--n 1200] [--repeats 3] [--mode none]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from harness.models.encoder import Encoder
from harness.models.onnx import OnnxEncoder

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mteb"


def texts_mix(n: int) -> tuple[list[str], str]:
    rng = random.Random(0)
    sts, docs = SHARED / "STSBenchmark" / "test.jsonl", SHARED / "SciFact" / "corpus.jsonl"
    if sts.exists() and docs.exists():
        short = list(dict.fromkeys(json.loads(line)["sentence1"] for line in sts.open()))
        long = [json.loads(line)["text"] for line in docs.open()]
        return rng.sample(short, n * 2 // 3) + rng.sample(long, n - n * 2 // 3), "2/3 STSBenchmark + 1/3 SciFact"
    words = [
        "the",
        "of",
        "a",
        "model",
        "text",
        "embedding",
        "cat",
        "dog",
        "rain",
        "retrieval",
        "question",
        "answer",
        "data",
        "science",
    ]
    lengths = [rng.choice([8, 12, 20, 40, 120, 250]) for _ in range(n)]
    return [" ".join(rng.choice(words) for _ in range(k)) for k in lengths], "synthetic 8-250 words"


def gemm_flops(seconds: float = 2.0) -> dict[str, float]:
    """fp32 1024x1024 matmul throughput of torch and of ONNX Runtime (same threads)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    a, b = np.random.rand(1024, 1024).astype(np.float32), np.random.rand(1024, 1024).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "gemm",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1024, 1024]) for x in "ab"],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [1024, 1024])],
    )
    with tempfile.TemporaryDirectory() as tmp:
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), f"{tmp}/g.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        session = ort.InferenceSession(f"{tmp}/g.onnx", options, providers=["CPUExecutionProvider"])
        runs = {
            "torch": lambda: torch.mm(torch.from_numpy(a), torch.from_numpy(b)),
            "onnxruntime": lambda: session.run(None, {"a": a, "b": b}),
        }
        rates = {}
        for name, fn in runs.items():
            fn()
            count, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                fn()
                count += 1
            rates[name] = count * 2 * 1024**3 / (time.perf_counter() - start)
    return rates


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--mode", default="none", choices=["none", "prefix", "masked"])
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    texts, source = texts_mix(args.n)
    instruction = "" if args.mode == "none" else "Represent the scientific passage for retrieval: "
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["HARNESS_CACHE"] = tmp  # the ONNX export goes here, not into your cache
        backends = {
            "torch": Encoder(args.model, mode=args.mode, batch_size=args.batch_size),  # type: ignore[arg-type]
            "onnx": OnnxEncoder(args.model, mode=args.mode, batch_size=args.batch_size),  # type: ignore[arg-type]
        }
        plain = backends["torch"].model
        inputs = backends["torch"]._inputs(texts, instruction)
        runs: dict[str, Callable[[], np.ndarray]] = {
            "plain sentence-transformers": lambda: plain.encode(inputs, batch_size=args.batch_size),
            **{f"harness {b}": (lambda e=e: e.encode(texts, instruction=instruction)) for b, e in backends.items()},
        }
        if args.mode == "masked":  # plain has no masking: compare like with like only in the other modes
            runs.pop("plain sentence-transformers")
        outputs = {name: np.asarray(fn()) for name, fn in runs.items()}  # warm-up, and the vectors compared
        times: dict[str, list[float]] = {name: [] for name in runs}
        for rep in range(args.repeats):
            order = list(runs) if rep % 2 == 0 else list(runs)[::-1]
            for name in order:
                times[name].append(timed(runs[name]))
    tokens = int(sum(plain.preprocess([t])["attention_mask"].sum() for t in inputs))
    params = sum(p.numel() for n, p in plain.named_parameters() if "embeddings" not in n)
    peaks = gemm_flops()
    best = max(peaks.values())
    reference = outputs.get("plain sentence-transformers", outputs["harness torch"])
    print(
        f"model {args.model}, mode {args.mode}: {len(texts)} texts ({source}), {tokens} tokens, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"GEMM fp32 1024^3: torch {peaks['torch'] / 1e9:.1f} GFLOP/s, onnxruntime {peaks['onnxruntime'] / 1e9:.1f}")
    base = statistics.median(times.get("plain sentence-transformers", times["harness torch"]))
    for name in runs:
        seconds = statistics.median(times[name])
        print(
            f"  {name:30s} {len(texts) / seconds:7.1f} texts/s {tokens / seconds:8.0f} tokens/s  "
            f"{base / seconds:5.2f}x plain  max|diff| {np.abs(outputs[name] - reference).max():.1e}  "
            f"{2 * params * tokens / seconds / best:.2f} of the best GEMM"
        )


if __name__ == "__main__":
    main()
