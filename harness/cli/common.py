"""What the verbs share: the command table, model arguments and the encoder they describe, table output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.core.errors import HarnessError

if TYPE_CHECKING:
    from harness.models.protocol import TextEncoder

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(
    name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None]
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = (help_text, configure, fn)
        return fn

    return register


def model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="minilm", help="hub id, local folder, or 'minilm' (packaged, offline)")
    p.add_argument("--revision", help="hub revision (commit) to load")
    p.add_argument(
        "--mode",
        choices=["masked", "prefix", "none"],
        help="instruction mode (default: masked for INSTRUCTOR checkpoints, none otherwise)",
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: best available)")
    p.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default="fp32")
    p.add_argument("--max-length", type=int, help="max tokens of instruction + text (default: the model's)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")


def model_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The model arguments that change numbers beyond name, revision and mode (part of every fingerprint)."""
    return {"max_length": args.max_length, "precision": args.precision}


def check_mode(instruction_given: bool, mode: str, flag: str) -> None:
    """An instruction with mode none would be silently dropped: refuse, naming the fix."""
    if instruction_given and mode == "none":
        raise HarnessError(
            f"{flag} is given but the instruction mode is 'none', which ignores it (the default for models that are "
            "not INSTRUCTOR checkpoints): pass --mode masked (INSTRUCTOR) or --mode prefix (instruction + text)"
        )


def make_encoder(args: argparse.Namespace) -> TextEncoder:
    """The encoder the arguments describe, behind the embedding cache unless --no-cache."""
    from harness.models.cache import CachedEncoder, EmbeddingCache
    from harness.models.encoder import Encoder
    from harness.models.resolve import default_mode

    encoder = Encoder(
        args.model,
        mode=args.mode or default_mode(args.model),
        revision=args.revision,
        device=args.device,
        precision=args.precision,
        max_length=args.max_length,
        batch_size=args.batch_size,
        progress=sys.stderr.isatty(),
    )
    return encoder if args.no_cache else CachedEncoder(encoder, EmbeddingCache())


def emit(text: str, output: str | None) -> int:
    """Print a command's text, or write it atomically to `output`."""
    if output:
        from harness.core.io import write_atomic

        write_atomic(Path(output), lambda fh: fh.write(text))
        print(f"wrote {output}")
    else:
        print(text)
    return 0


def table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    cells = [tuple(str(c) for c in r) for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
