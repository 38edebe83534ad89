"""Encoding throughput: the harness encoder vs plain SentenceTransformer.encode, side by side in one run.

Reports texts/s and tokens/s of (a) the harness encoder (masked instruction mode, cache off), (b) plain
`SentenceTransformer.encode` of the same instruction+text strings, their ratio; (c) a cache-hit re-run as a
fraction of the first run; (d) tokens/s as a fraction of this machine's measured dense matmul throughput;
(e) the same ratio on a real task's text stream (STSBenchmark's sentence1 + sentence2 columns, repeats as they
occur), where the harness encodes each distinct text once.

    python benchmarks/encode_throughput.py [--model minilm] [--n 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch

from harness.models.cache import EmbeddingCache
from harness.models.encoder import Encoder

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mteb"
INSTRUCTION = "Represent the scientific passage for retrieval: "


def texts_mix(n: int) -> tuple[list[str], str]:
    """Real short/medium/long texts when the shared data is there (STS sentences, SciFact abstracts)."""
    rng = random.Random(0)
    sts, docs = SHARED / "STSBenchmark" / "test.jsonl", SHARED / "SciFact" / "corpus.jsonl"
    if sts.exists() and docs.exists():
        short = [json.loads(line)["sentence1"] for line in sts.open()]
        long = [json.loads(line)["text"] for line in docs.open()]
        pool = rng.sample(short, n * 2 // 3) + rng.sample(long, n - n * 2 // 3)
        return pool, "2/3 STSBenchmark sentences + 1/3 SciFact abstracts"
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


def task_stream() -> list[str]:
    """Every text STSBenchmark's evaluation encodes, repeats included (empty without the shared data)."""
    sts = SHARED / "STSBenchmark" / "test.jsonl"
    if not sts.exists():
        return []
    rows = [json.loads(line) for line in sts.open()]
    return [r["sentence1"] for r in rows] + [r["sentence2"] for r in rows]


def matmul_flops(seconds: float = 2.0) -> float:
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    torch.mm(a, b)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        count += 1
    return count * 2 * 1024**3 / (time.perf_counter() - start)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    texts, source = texts_mix(args.n)
    harness = Encoder(args.model, mode="masked", batch_size=args.batch_size)
    plain = harness.model  # the very same SentenceTransformer, so weights and threads are identical
    joined = [INSTRUCTION + t.strip() for t in texts]
    tokens = int(sum(plain.preprocess([t])["attention_mask"].sum() for t in joined))

    def run_plain() -> None:
        for pooling in harness.poolings:
            pooling.include_prompt = True
        plain.encode(joined, batch_size=args.batch_size)

    t_harness, t_plain = [], []
    timed(run_plain)  # warm-up
    for rep in range(args.repeats):  # interleaved, first one alternating, so drift hits both alike
        order = [("h", lambda: harness._forward(texts, INSTRUCTION)), ("p", run_plain)]
        for name, fn in order if rep % 2 == 0 else order[::-1]:
            (t_harness if name == "h" else t_plain).append(timed(fn))
    th, tp = statistics.median(t_harness), statistics.median(t_plain)

    with tempfile.TemporaryDirectory() as tmp:
        cached = Encoder(args.model, mode="masked", batch_size=args.batch_size, cache=EmbeddingCache(Path(tmp) / "c"))
        first = timed(lambda: cached.encode(texts, instruction=INSTRUCTION))
        rerun = timed(lambda: cached.encode(texts, instruction=INSTRUCTION))

    stream = task_stream()
    if stream:
        harness_stream = Encoder(args.model, mode="masked", batch_size=args.batch_size)

        def run_plain_stream() -> None:
            for pooling in harness.poolings:
                pooling.include_prompt = True
            plain.encode([INSTRUCTION + t.strip() for t in stream], batch_size=args.batch_size)

        t_stream_plain = timed(run_plain_stream)
        t_stream_harness = timed(lambda: harness_stream.encode(stream, instruction=INSTRUCTION))

    params = sum(p.numel() for n, p in plain.named_parameters() if "embeddings" not in n)
    peak = matmul_flops()
    achieved = 2 * params * tokens / th  # forward FLOPs ~ 2 x non-embedding parameters per token
    report = {
        "model": args.model,
        "texts": len(texts),
        "text_source": source,
        "tokens": tokens,
        "threads": torch.get_num_threads(),
        "harness_texts_per_s": len(texts) / th,
        "harness_tokens_per_s": tokens / th,
        "plain_texts_per_s": len(texts) / tp,
        "plain_tokens_per_s": tokens / tp,
        "ratio_harness_vs_plain": tp / th,
        "cache_rerun_fraction_of_first_run": rerun / first,
        "matmul_peak_gflops": peak / 1e9,
        "achieved_gflops": achieved / 1e9,
        "fraction_of_matmul_peak": achieved / peak,
    }
    if stream:
        report.update(
            {
                "stream_texts": len(stream),
                "stream_distinct_texts": len(set(stream)),
                "stream_ratio_harness_vs_plain": t_stream_plain / t_stream_harness,
            }
        )
    for key, value in report.items():
        print(f"{key:36s} {value:.4g}" if isinstance(value, float) else f"{key:36s} {value}")


if __name__ == "__main__":
    main()
