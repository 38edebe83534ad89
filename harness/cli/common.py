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
    p.add_argument("--model", default="minilm", help="hub id, local folder, or 'minilm' (packaged, offline)")
    p.add_argument("--revision", help="hub revision (commit) to load")
    p.add_argument(
        "--mode",
        choices=["masked", "prefix", "none"],
        help="instruction mode (default: masked for INSTRUCTOR checkpoints, none otherwise)",
    )
    p.add_argument("--batch-size", type=positive_int, default=32)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--device", type=device, help="cpu, cuda, cuda:1, mps (default: best available)")
    where.add_argument(
        "--devices",
        type=devices,
        help="encode on several devices of this node at once, e.g. cuda:0,cuda:1 (the embeddings are one device's)",
    )
    p.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    p.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default="torch",
        help="onnx: the transformer in ONNX Runtime (CPU; exported once, checked against torch at load)",
    )
    p.add_argument("--max-length", type=positive_int, help="max tokens of instruction + text (default: the model's)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")


def request(args: argparse.Namespace) -> RunRequest:
    """The run request the arguments describe (the verbs without a run's selection leave those fields unset)."""
    from harness.app.api import RunRequest, silent
    from harness.core.plugins import setting_names

    fields = RunRequest.__dataclass_fields__
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    names = setting_names()  # the benchmarks' own flags
    own = {k: v for k, v in vars(args).items() if k in names and v is not None}
    quiet = getattr(args, "quiet", False)
    return RunRequest(
        **given, settings=own, cache=not args.no_cache, progress=not quiet, log=silent if quiet else print
    )


def benchmark_args(p: argparse.ArgumentParser) -> None:
    """Every benchmark's own flags (`core.plugins.settings_hooks`), for `run` and `robustness`."""
    from harness.core.plugins import settings_hooks

    for hook in settings_hooks().values():
        hook.add_arguments(p)


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


def score_table(rows: list[tuple[str, str, str, float | None, str]]) -> None:
    """A run's table: task, category, metric, score (0-100, blank when not computed), status."""
    table(
        ("task", "category", "metric", "score", "status"),
        [(t, c, m, "" if s is None else f"{s:.2f}", st) for t, c, m, s, st in rows],
    )


def table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    cells = [tuple(str(c) for c in r) for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
