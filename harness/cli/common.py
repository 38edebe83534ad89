"""What the verbs share: the command table, model arguments and the encoder they describe, table output."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.argtypes import device, positive_int

if TYPE_CHECKING:
    from harness.app.api import RunRequest
    from harness.core.interfaces import TextEncoder

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(
    name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None]
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = (help_text, configure, fn)
        return fn

    return register


def task_names(text: str) -> list[str]:
    """An argparse type: comma-separated task names, at least one (an empty list used to mean the smoke suite)."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError("no task names given (e.g. --tasks STS12,SciFact; see `harness tasks`)")
    return names


def tasks_option(p: Any, required: bool = False) -> None:
    """`--tasks`/`-t`: comma-separated (`A,B`) or space-separated (`A B`, mteb's spelling) task names."""

    class Flat(argparse.Action):
        def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
            setattr(namespace, self.dest, [n for v in values for n in v])

    p.add_argument(
        "-t",
        "--tasks",
        nargs="+",
        type=task_names,
        action=Flat,
        required=required,
        metavar="TASK",
        help="task names, comma- or space-separated (`harness tasks` lists them)",
    )


def devices(text: str) -> list[str]:
    """An argparse type: comma-separated devices, each one this machine has (`--devices cuda:0,cuda:1`)."""
    chosen = [device(d.strip()) for d in text.split(",") if d.strip()]
    if len(chosen) < 2:
        raise argparse.ArgumentTypeError(f"--devices takes two or more devices (got {text!r}); for one, use --device")
    return chosen


def existing_folder(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a folder")
    return path


def model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-m", "--model", default="minilm", help="hub id, local folder, or 'minilm' (packaged, offline)")
    p.add_argument("--revision", help="hub revision (commit) to load")
    p.add_argument(
        "--mode",
        choices=["masked", "prefix", "none"],
        help="instruction mode (default: masked for INSTRUCTOR checkpoints, none otherwise)",
    )
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=32,
        help="texts per forward pass (default 32); the batches are planned by length, so every batch size gives "
        "vectors within a few ulps of each other",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--device", type=device, help="cpu, cuda, cuda:1, mps (default: best available)")
    where.add_argument(
        "--devices",
        type=devices,
        help="encode on several devices of this node at once, e.g. cuda:0,cuda:1 (the embeddings are one device's)",
    )
    p.add_argument(
        "--precision",
        choices=["fp32", "fp16", "bf16"],
        default="fp32",
        help="fp32 (default: the paper's numbers), or bf16/fp16 on a GPU or a CPU that runs them natively (bf16: "
        "AVX512-BF16 or AMX; refused elsewhere); part of the run's name and folder",
    )
    p.add_argument("--max-length", type=positive_int, help="max tokens of instruction + text (default: the model's)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")


def request(args: argparse.Namespace) -> RunRequest:
    """The run request the arguments describe (the verbs without a run's selection leave those fields unset)."""
    from harness.app.api import RunRequest, silent
    from harness.core.benchmark import setting_names

    fields = RunRequest.__dataclass_fields__
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    names = setting_names()  # the benchmarks' own flags
    own = {k: v for k, v in vars(args).items() if k in names and v is not None}
    quiet = getattr(args, "quiet", False)
    return RunRequest(
        **given, settings=own, cache=not args.no_cache, progress=not quiet, log=silent if quiet else print
    )


def benchmark_args(p: argparse.ArgumentParser) -> None:
    """Every benchmark's own flags (`Benchmark.flags`, declared data), for `run`, `plan`, `data` and `robustness`:
    given ones reach its `settings`, absent ones stay None there (the benchmark applies its defaults)."""
    from harness.core.benchmark import all_benchmarks

    for benchmark in all_benchmarks():
        if not benchmark.flags:
            continue
        group = p.add_argument_group(f"{benchmark.name} settings")
        for flag in benchmark.flags:
            default = f" (default: {flag.default})" if flag.default is not None else ""
            group.add_argument(
                flag.option, dest=flag.name, type=flag.type, choices=flag.choices, help=flag.help + default
            )


def make_encoder(args: argparse.Namespace) -> TextEncoder:
    """The encoder the arguments describe, behind the embedding cache unless --no-cache."""
    from harness.app.api import encoder_for

    return encoder_for(request(args))


def emit(text: str, output: str | None) -> int:
    """Print a command's text, or write it atomically to `output`."""
    if output:
        from harness.core.io import write_atomic

        write_atomic(Path(output), lambda fh: fh.write(text))
        print(f"wrote {output}")
    else:
        print(text)
    return 0


def score_table(rows: list[tuple[str, str, str, float | None, str, dict[str, Any] | None]]) -> None:
    """A run's table: task, category, metric, score (0-100, blank when not computed), its 95% interval (the
    record's bootstrap over test items, as lm-eval's table shows its stderr; blank without per-item outputs),
    status."""

    def interval(record: dict[str, Any] | None) -> str:
        found = ((record or {}).get("uncertainty") or {}).get("interval")
        return f"[{100 * found['low']:.2f}, {100 * found['high']:.2f}]" if found else ""

    table(
        ("task", "category", "metric", "score", "95% CI", "status"),
        [(t, c, m, "" if s is None else f"{s:.2f}", interval(r), st) for t, c, m, s, st, r in rows],
    )


def table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    cells = [tuple(str(c) for c in r) for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
