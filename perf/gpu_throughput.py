"""Encoding throughput of the 56 MTEB tasks on a GPU, for a GPU machine (CI never runs it).

For each task: every distinct text its evaluation encodes (both sides, train texts of classification, the corpus of
retrieval), encoded by the harness encoder on the device at the given precision (length-sorted planned batches
across the task's texts, one forward pass each). Records per task: texts, tokens, seconds, texts/s, tokens/s and
the fraction of the device's measured dense matmul peak at that precision (8192^3 matmuls), counting
2 x (non-embedding parameters) FLOPs per token. One JSON line per task to --output, and a summary.

    python perf/gpu_throughput.py --model hkunlp/instructor-large --precision bf16 --data-dir DATA \\
        [--tasks STS12,SciFact] [--batch-size 128] [--output gpu.jsonl]
    python perf/gpu_throughput.py --random-t5 large --precision bf16 --data-dir DATA   # offline, no weights

`--random-t5 base|large|xl`: a random-weight T5 encoder of INSTRUCTOR's size (GTR's t5-v1_1 shapes, mean pooling,
the Dense layer to 768, Normalize) with a BPE tokenizer of T5's vocabulary size trained on the selected tasks'
texts, built in a temporary folder: the throughput of instructor-base/large/xl without downloading them. The
attention implementation used (SDPA where transformers has it for T5) is printed.

Without --data-dir, each task is loaded from the hub at its pin (mteb's loaders), then read like a --data-dir task.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from harness.benchmarks.mteb import data_folder, load_part, mteb_parts
from harness.benchmarks.mteb.mirror import mirror
from harness.benchmarks.mteb.portable import TaskData
from harness.core.spec import registry
from harness.models.encoder import Encoder

FIELDS = {
    "STS": ("sentence1", "sentence2"),
    "PairClassification": ("sentence1", "sentence2"),
    "Classification": ("text",),
    "Clustering": ("sentences",),
    "Reranking": ("query", "positive", "negative"),
    "Summarization": ("human_summaries", "machine_summaries"),
}


def task_texts(data: TaskData) -> list[str]:
    texts: list[str] = []
    for rows in data.subsets.values():
        if data.spec.category == "Retrieval":
            corpus = rows["corpus"].to_pylist()
            texts += [f"{r['title']} {r['text']}".strip() for r in corpus] + [q["text"] for q in rows["queries"]]
            continue
        for split_rows in (v for v in rows.values() if isinstance(v, list)):
            for row in split_rows:
                for field in FIELDS[data.spec.category]:
                    value = row[field]
                    texts += value if isinstance(value, list) else [value]
    return list(dict.fromkeys(texts))


T5_SIZES = {  # GTR's t5-v1_1 encoders, as INSTRUCTOR uses them: d_model, d_ff, layers, heads
    "base": (768, 2048, 12, 12),
    "large": (1024, 2816, 24, 16),
    "xl": (2048, 5120, 24, 32),
}


def random_t5(size: str, texts: list[str], folder: Path) -> Path:
    """A sentence-transformers folder: a random T5 encoder of `size`, a 32,128-token BPE trained on `texts`."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Dense, Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5EncoderModel

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=32128, special_tokens=["<pad>", "</s>", "<unk>"])
    tokenizer.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    d_model, d_ff, layers, heads = T5_SIZES[size]
    config = T5Config(
        vocab_size=32128,
        d_model=d_model,
        d_ff=d_ff,
        num_layers=layers,
        num_heads=heads,
        d_kv=64,
        feed_forward_proj="gated-gelu",
        is_encoder_decoder=False,
        use_cache=False,
    )
    T5EncoderModel(config).save_pretrained(folder / "t5")
    fast.save_pretrained(folder / "t5")
    transformer = Transformer(str(folder / "t5"), max_seq_length=512)
    modules = [transformer, Pooling(d_model, "mean"), Dense(d_model, 768, bias=False), Normalize()]
    SentenceTransformer(modules=modules).save(str(folder / "model"))
    return folder / "model"


def matmul_peak(dtype: torch.dtype, seconds: float = 3.0) -> float:
    a = torch.randn(8192, 8192, device="cuda", dtype=dtype)
    b = torch.randn(8192, 8192, device="cuda", dtype=dtype)
    torch.mm(a, b)
    torch.cuda.synchronize()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        count += 1
    torch.cuda.synchronize()
    return count * 2 * 8192**3 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--mode", default="masked", choices=["masked", "prefix", "none"])
    parser.add_argument("--precision", default="bf16", choices=["fp32", "fp16", "bf16"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--tasks", help="comma-separated (default: the 56 MTEB tasks)")
    parser.add_argument("--output", type=Path, default=Path("gpu_throughput.jsonl"))
    parser.add_argument("--random-t5", choices=sorted(T5_SIZES), help="a random T5 of INSTRUCTOR's size (offline)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark is for a GPU machine")
    specs = registry().select(names=args.tasks.split(",") if args.tasks else None, benchmark="mteb")
    built = tempfile.TemporaryDirectory()
    if args.random_t5:
        sample = [t for spec in specs[:8] for _, part in mteb_parts(spec) for t in _texts(spec, part, args.data_dir)]
        args.model = str(random_t5(args.random_t5, sample[:200_000], Path(built.name)))
    encoder = Encoder(args.model, mode=args.mode, device="cuda", precision=args.precision, batch_size=args.batch_size)
    print(f"attention: {getattr(encoder.model[0].auto_model.config, '_attn_implementation', '?')}")
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.precision]
    peak = matmul_peak(dtype)
    params = sum(p.numel() for n, p in encoder.model.named_parameters() if "embed" not in n and "shared" not in n)
    totals: dict[str, float] = {"texts": 0, "tokens": 0, "seconds": 0}
    with args.output.open("w") as out:
        for spec in specs:
            for _, part in mteb_parts(spec):  # type: ignore[arg-type]
                texts = _texts(spec, part, args.data_dir)
                tokens = sum(encoder.token_counts(texts))
                torch.cuda.synchronize()
                start = time.perf_counter()
                encoder.encode(texts, instruction="Represent the text: " if args.mode != "none" else "")
                torch.cuda.synchronize()
                seconds = time.perf_counter() - start
                line: dict[str, Any] = {
                    "task": part.name,
                    "texts": len(texts),
                    "tokens": tokens,
                    "seconds": seconds,
                    "texts_per_s": len(texts) / seconds,
                    "tokens_per_s": tokens / seconds,
                    "fraction_of_matmul_peak": 2 * params * tokens / seconds / peak,
                }
                out.write(json.dumps(line) + "\n")
                print(json.dumps(line), flush=True)
                for key in totals:
                    totals[key] += line[key]
    print(
        f"{args.model} {args.precision} on {torch.cuda.get_device_name()}: {totals['texts']:.0f} texts, "
        f"{totals['tokens'] / totals['seconds']:.0f} tokens/s, matmul peak {peak / 1e12:.0f} TFLOP/s, "
        f"{2 * params * totals['tokens'] / totals['seconds'] / peak:.2f} of it"
    )


def _texts(spec: Any, part: Any, root: Path | None) -> list[str]:
    if root is not None:
        return task_texts(TaskData(part, root, folder=data_folder(spec, part, root)))
    with tempfile.TemporaryDirectory() as tmp:  # hub data, read through the portable layout like --data-dir
        mirror(spec, [(part, load_part(spec, part, None, "mteb")[0])], Path(tmp))
        return task_texts(TaskData(part, Path(tmp), folder=data_folder(spec, part, Path(tmp))))


if __name__ == "__main__":
    main()
