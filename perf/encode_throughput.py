"""Encoding throughput on this machine's CPU, side by side in one run, on a real text mix (2/3 STSBenchmark
sentences, 1/3 SciFact abstracts; synthetic texts without the shared data):

- plain `SentenceTransformer.encode` (batch 32, its own length sorting);
- the harness encoder on torch (`Encoder`: planned batches, one forward pass each), in fp32 and, where the CPU
  has native bf16, in bf16 (`--precision bf16`);
- the model's transformer in ONNX Runtime, the pooling by the model's own modules, two ways: the graph exported
  by torch (eager attention, opset 17), and that graph fused by ONNX Runtime's transformer optimizer (attention,
  layer norm, GELU and bias fusions) and run with IO binding; each checked against torch fp32 (max difference);
- each one's texts/s and tokens/s, the ratio to plain, the largest coordinate difference from plain, and the
  fraction of the best measured dense GEMM throughput of this machine (the better of torch's and ONNX Runtime's
  1024x1024 fp32 matmul), counting 2 x (non-embedding parameters) FLOPs per token.

Runs are interleaved and repeated (median), so drift hits every path alike. The ONNX paths need
`pip install onnx onnxruntime` (not a dependency of the harness: this is the measurement by which the harness's
ONNX backend was removed: CHANGELOG, docs/performance.md); without them they are skipped.

    python perf/encode_throughput.py [--model minilm] [--n 1200] [--repeats 5] [--mode none]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.models.encoder import Encoder, native_precision

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


def rate(fn: Callable[[], object], seconds: float = 2.0) -> float:
    """1024^3 matmuls per second x their FLOPs."""
    fn()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count * 2 * 1024**3 / (time.perf_counter() - start)


def gemm_flops() -> dict[str, float]:
    """1024x1024 matmul throughput: torch fp32 and bf16, ONNX Runtime fp32 where installed (same threads)."""
    a, b = np.random.rand(1024, 1024).astype(np.float32), np.random.rand(1024, 1024).astype(np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    rates = {"torch fp32": rate(lambda: torch.mm(ta, tb))}
    rates["torch bf16"] = rate(lambda: torch.mm(ta.bfloat16(), tb.bfloat16()))
    if not importlib.util.find_spec("onnxruntime"):
        return rates
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

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
        rates["onnxruntime fp32"] = rate(lambda: session.run(None, {"a": a, "b": b}))
    return rates


def exported(model: Any, folder: Path) -> tuple[Path, list[str]]:
    """The model's transformer (token states out) exported by torch's TorchScript exporter, eager attention."""
    transformer: Any = model[0].auto_model
    sample = model.preprocess(["A man is playing a guitar.", "Cells divide by mitosis. " * 20])
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class TokenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: Any) -> Any:
            return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

    attention = transformer.config._attn_implementation
    transformer.config._attn_implementation = "eager"  # plain matmuls, which the optimizer's fusions recognise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenStates().eval(),
            tuple(sample[n] for n in names),
            str(folder / "model.onnx"),
            input_names=names,
            output_names=["token_states"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "token_states"]},
            opset_version=17,
            dynamo=False,
        )
    transformer.config._attn_implementation = attention
    return folder / "model.onnx", names


def fused(path: Path, model: Any) -> Path:
    """The graph fused by ONNX Runtime's transformer optimizer (BERT fusions: attention, skip layer norm, GELU)."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = model[0].auto_model.config
    optimized = optimize_model(
        str(path), model_type="bert", num_heads=config.num_attention_heads, hidden_size=config.hidden_size
    )
    out = path.with_name("fused.onnx")
    optimized.save_model_to_file(str(out))
    return out


def onnx_runs(model: Any, inputs: list[str], batch_size: int, folder: Path) -> dict[str, Callable[[], np.ndarray]]:
    """ONNX Runtime encoding `inputs` in batches of `batch_size` (length-sorted), pooled by the model's modules."""
    import onnxruntime as ort

    path, names = exported(model, folder)
    order = np.argsort([-len(t) for t in inputs], kind="stable")
    batches = [[inputs[i] for i in order[k : k + batch_size]] for k in range(0, len(inputs), batch_size)]

    def session(graph: Path) -> Any:
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

    def run(graph_session: Any, bound: bool) -> np.ndarray:
        vectors = []
        for batch in batches:
            features = model.preprocess(batch)
            feeds = {n: features[n].numpy() for n in names}
            if bound:
                binding = graph_session.io_binding()
                for n, array in feeds.items():
                    binding.bind_cpu_input(n, array)
                binding.bind_output("token_states")
                graph_session.run_with_iobinding(binding)
                states = binding.copy_outputs_to_cpu()[0]
            else:
                states = graph_session.run(None, feeds)[0]
            features = {**features, "token_embeddings": torch.from_numpy(states)}
            with torch.inference_mode():
                for module in list(model)[1:]:
                    features = module(features)
            vectors.append(features["sentence_embedding"].numpy())
        out = np.empty((len(inputs), vectors[0].shape[1]), np.float32)
        out[order] = np.concatenate(vectors)
        return out

    plain, optimized = session(path), session(fused(path, model))
    return {"onnx export": lambda: run(plain, False), "onnx fused, io binding": lambda: run(optimized, True)}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--mode", default="none", choices=["none", "prefix", "masked"])
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    texts, source = texts_mix(args.n)
    instruction = "" if args.mode == "none" else "Represent the scientific passage for retrieval: "
    encoders = {"fp32": Encoder(args.model, mode=args.mode, batch_size=args.batch_size)}
    if native_precision("bf16", "cpu"):
        encoders["bf16"] = Encoder(args.model, mode=args.mode, batch_size=args.batch_size, precision="bf16")
    plain = encoders["fp32"].model
    inputs = encoders["fp32"]._inputs(texts, instruction)
    runs: dict[str, Callable[[], np.ndarray]] = {
        "plain sentence-transformers": lambda: plain.encode(inputs, batch_size=args.batch_size),
        **{f"harness torch {p}": (lambda e=e: e.encode(texts, instruction=instruction)) for p, e in encoders.items()},
    }
    with tempfile.TemporaryDirectory() as tmp:
        if args.mode == "masked":  # plain and ONNX have no masking here: compare like with like in the other modes
            runs.pop("plain sentence-transformers")
        elif importlib.util.find_spec("onnxruntime"):
            runs |= onnx_runs(plain, inputs, args.batch_size, Path(tmp))
        outputs = {name: np.asarray(fn()) for name, fn in runs.items()}  # warm-up, and the vectors compared
        times: dict[str, list[float]] = {name: [] for name in runs}
        for rep in range(args.repeats):
            order = list(runs) if rep % 2 == 0 else list(runs)[::-1]
            for name in order:
                times[name].append(timed(runs[name]))
    tokens = int(sum(plain.preprocess([t])["attention_mask"].sum() for t in inputs))
    params = sum(p.numel() for n, p in plain.named_parameters() if "embeddings" not in n)
    peaks = gemm_flops()
    best = max(v for k, v in peaks.items() if "fp32" in k)
    reference = outputs.get("plain sentence-transformers", outputs["harness torch fp32"])
    print(
        f"model {args.model}, mode {args.mode}: {len(texts)} texts ({source}), {tokens} tokens, "
        f"{torch.get_num_threads()} threads, median of {args.repeats}"
    )
    print("GEMM 1024^3: " + ", ".join(f"{k} {v / 1e9:.1f} GFLOP/s" for k, v in peaks.items()))
    base = statistics.median(times.get("plain sentence-transformers", times["harness torch fp32"]))
    for name in runs:
        seconds = statistics.median(times[name])
        print(
            f"  {name:30s} {len(texts) / seconds:7.1f} texts/s {tokens / seconds:8.0f} tokens/s  "
            f"{base / seconds:5.2f}x plain  max|diff| {np.abs(outputs[name] - reference).max():.1e}  "
            f"{2 * params * tokens / seconds / best:.2f} of the best fp32 GEMM"
        )


if __name__ == "__main__":
    main()
