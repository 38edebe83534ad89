"""bf16 on this machine's CPU against fp32, side by side in one run: how to run it, and what it does to scores.

Speed (the default): the same 1,200 real texts (2/3 STSBenchmark sentences, 1/3 SciFact abstracts, as
`encode_throughput.py`) encoded by one sentence-transformers model in

- fp32 (the reference);
- bf16 under `torch.autocast` (weights fp32; matmuls in bf16, layer norms and softmax in fp32);
- bf16 weights (everything in bf16, the pooled vector cast back);
- bf16 weights with pooling and normalisation in fp32 (the token states cast up before the Pooling module);

each one's texts/s and ratio to fp32 (runs interleaved and repeated, median), and its vectors' cosine to fp32's
(smallest and mean over the texts). `Encoder(precision="bf16")` on a CPU runs the variant this measurement chose.

The command (`--embed`): `harness embed --precision fp32` and `--precision bf16` on the same texts as JSON Lines,
alternated and repeated (median wall time of the whole command, model load included), and the cosine of each
text's two vectors.

Scores (`--scores`): every shared MTEB and Billboard task run by `harness run` in fp32 and in bf16 (the harness's
own bf16 path), the main score of each and the difference, and the run's wall time ratio; a markdown table.

    python perf/cpu_precision.py [--model minilm] [--n 1200] [--repeats 5]
    python perf/cpu_precision.py --embed [--model minilm] [--n 1200] [--repeats 5]
    python perf/cpu_precision.py --scores [--data-dir ../shared/data] [--model minilm]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SCORED = [  # the shared tasks the harness scores without an LM
    "STSBenchmark",
    "SICK-R",
    "STS12",
    "STS13",
    "BIOSSES",
    "SummEval",
    "Banking77Classification",
    "EmotionClassification",
    "SciFact",
    "BillboardMSCOCO",
    "BillboardWMT20ZhEn",
]  # a task whose data is not in --data-dir (or not in the harness's layout) is named and skipped


def _fp32_pooling(model: Any) -> Any:
    """Cast the transformer's token states to fp32 before the model's Pooling module (a forward hook)."""

    def up(_module: Any, _inputs: Any, features: dict[str, Any]) -> dict[str, Any]:
        return {**features, "token_embeddings": features["token_embeddings"].float()}

    model[0].register_forward_hook(up)
    for module in list(model)[1:]:
        module.float()
    return model


def variants(model: Any) -> dict[str, tuple[Any, Callable[[], Any]]]:
    """Each way of running `model` (fp32 weights) as (model, context of its forward passes)."""
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    weights = copy.deepcopy(model).to(torch.bfloat16)
    hybrid = _fp32_pooling(copy.deepcopy(model).to(torch.bfloat16))
    return {
        "fp32": (model, nullcontext),
        "bf16 autocast": (model, autocast),
        "bf16 weights": (weights, nullcontext),
        "bf16 weights, fp32 pooling": (hybrid, nullcontext),
    }


def encoded(model: Any, context: Callable[[], Any], texts: list[str]) -> np.ndarray:
    with torch.inference_mode(), context():
        out = model.encode(texts, batch_size=32, convert_to_tensor=True, show_progress_bar=False)
    return out.float().numpy()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def speed(model_name: str, n: int, repeats: int) -> None:
    from encode_throughput import texts_mix  # perf/ is the script's folder

    from harness.models.encoder import Encoder

    texts, source = texts_mix(n)
    runs = variants(Encoder(model_name, mode="none").model)
    vectors = {name: encoded(m, c, texts) for name, (m, c) in runs.items()}  # warm-up, and the vectors compared
    times: dict[str, list[float]] = {name: [] for name in runs}
    for rep in range(repeats):
        for name in list(runs) if rep % 2 == 0 else list(runs)[::-1]:
            start = time.perf_counter()
            encoded(*runs[name], texts)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["fp32"])
    print(f"model {model_name}: {len(texts)} texts ({source}), {torch.get_num_threads()} threads, {repeats} repeats")
    print(f"CPU: native bf16 {torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()}")
    print("| variant | texts/s | speed vs fp32 | min cosine to fp32 | mean cosine |")
    print("|---|---|---|---|---|")
    for name in runs:
        seconds = statistics.median(times[name])
        cos = cosines(vectors[name], vectors["fp32"])
        print(
            f"| {name} | {len(texts) / seconds:.1f} | {base / seconds:.2f}x "
            f"(runs {', '.join(f'{base / t:.2f}' for t in times[name])}) | {cos.min():.5f} | {cos.mean():.6f} |"
        )


def embed(model_name: str, n: int, repeats: int) -> None:
    import json
    import subprocess
    import sys

    from encode_throughput import texts_mix  # perf/ is the script's folder

    texts, source = texts_mix(n)
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    with tempfile.TemporaryDirectory() as tmp:
        given = Path(tmp) / "texts.jsonl"
        given.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
        for rep in range(repeats):
            for precision in ("fp32", "bf16") if rep % 2 == 0 else ("bf16", "fp32"):
                command = [sys.executable, "-m", "harness", "embed", "--model", model_name, "--no-cache"]
                command += ["--precision", precision, "--input", str(given), "--output", f"{tmp}/{precision}.npy"]
                start = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True)
                times[precision].append(time.perf_counter() - start)
        cos = cosines(np.load(f"{tmp}/bf16.npy"), np.load(f"{tmp}/fp32.npy"))
    fp32, bf16 = statistics.median(times["fp32"]), statistics.median(times["bf16"])
    print(f"`harness embed --no-cache`, model {model_name}: {len(texts)} texts ({source}), median of {repeats}")
    print(f"fp32 {fp32:.1f} s, bf16 {bf16:.1f} s (whole command, model load included): bf16 {fp32 / bf16:.2f}x")
    print(f"cosine of each text's bf16 and fp32 vectors: min {cos.min():.5f}, mean {cos.mean():.6f}")


def scores(model_name: str, data: Path) -> None:
    import harness
    from harness.core.errors import HarnessError

    wall = {"fp32": 0.0, "bf16": 0.0}
    print(f"model {model_name}, `harness run --precision fp32|bf16 --no-cache`, every item of each task")
    print("| task | fp32 | bf16 | bf16 - fp32 |\n|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for task in SCORED:
            found, seconds = {}, {}
            try:
                for precision in ("fp32", "bf16"):  # one task at a time in both: drift hits both alike
                    start = time.perf_counter()
                    [score] = harness.evaluate(
                        model_name, [task], data_dir=data, precision=precision, output_dir=Path(tmp), cache=False
                    )
                    seconds[precision], found[precision] = time.perf_counter() - start, score.score or float("nan")
            except HarnessError as exc:
                print(f"<!-- {task} skipped: {str(exc)[:160]} -->", flush=True)
                continue
            wall = {p: wall[p] + seconds[p] for p in wall}
            change = found["bf16"] - found["fp32"]
            shown = "0.00" if abs(change) < 0.005 else f"{change:+.2f}"  # never "-0.00"
            print(
                f"| {task} | {found['fp32']:.2f} | {found['bf16']:.2f} | {shown} |",
                flush=True,
            )
    print(
        f"wall time of these runs: fp32 {wall['fp32']:.0f} s, bf16 {wall['bf16']:.0f} s, "
        f"{wall['fp32'] / wall['bf16']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scores", action="store_true")
    parser.add_argument("--embed", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=SHARED)
    args = parser.parse_args()
    if args.scores:
        scores(args.model, args.data_dir)
    elif args.embed:
        embed(args.model, args.n, args.repeats)
    else:
        speed(args.model, args.n, args.repeats)


if __name__ == "__main__":
    main()
