"""The bridge to mteb's own runner: `harness.mteb_model` (the model, with its instructions for every MTEB task, as
an mteb model) and `harness.mteb_task` (a registry task as an mteb task with its data loaded), for
`mteb.evaluate(harness.mteb_model(...), harness.mteb_task(...))`. The one module of the top layer that names a
benchmark: it composes MTEB's adapter with the encoder `harness.app.api` builds, which no lower layer may import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.app.api import RunRequest, api_output, encoder_for, variant_and_mode, with_model_object
from harness.core.errors import UsageError


def mteb_model(model: Any = "minilm", verbose: bool = False, **settings: Any) -> Any:
    """The model (a name, a SentenceTransformer or any object with `encode`: `api.with_model_object`) as an mteb
    model (`adapter.HarnessModel`) for `mteb.evaluate(...)`, with `RunRequest`'s model settings (instructions,
    mode, revision, device, precision, max_length, batch_size, cache). Its results are the unit `harness run
    --protocol mteb` would write: the same condition in its ModelMeta."""
    from harness.benchmarks.mteb.adapter import HarnessModel
    from harness.benchmarks.mteb.settings import MtebSettings
    from harness.core.instructions import library
    from harness.core.results import Unit, model_meta, settings_keys

    api_output(verbose, bool(settings.get("progress")))
    request = with_model_object(RunRequest(**settings), model)
    variant, mode = variant_and_mode(request)
    encoder = encoder_for(request)
    keys = settings_keys(request.model_settings)
    unit = Unit(request.model, encoder.identity.revision, variant, mode, settings=keys)
    unit = unit.within(MtebSettings("mteb").condition())
    meta = model_meta(encoder.identity, encoder.similarity_fn_name, unit.condition)
    lib = library()
    lib.get("STS12", variant)  # an unknown variant fails here, naming the valid ones
    return HarnessModel(encoder, lib, variant, meta, log=request.log)


def mteb_task(name: str, data_dir: str | Path | None = None, limit: int | None = None) -> Any:
    """An MTEB task of the registry as an mteb task object with its data loaded: from `data_dir` (the portable
    layout; offline), else the hub at today's pin (the hub cache offline). `limit`: at most that many evaluation
    items, as `--limit`. For `mteb.evaluate(harness.mteb_model(...), harness.mteb_task(...))`."""
    from harness.benchmarks.mteb.data import load_part, mteb_parts
    from harness.benchmarks.mteb.spec import MtebTaskSpec
    from harness.core.spec import every_task

    spec = every_task().get(name)
    if not isinstance(spec, MtebTaskSpec):
        raise UsageError(f"{name} is a {spec.benchmark} task; mteb_task gives MTEB tasks (see `harness tasks`)")
    parts = mteb_parts(spec)
    if len(parts) != 1:
        raise UsageError(
            f"{name} is {len(parts)} mteb tasks ({', '.join(p.name for _, p in parts[:3])}, ...): "
            "evaluate it with harness.evaluate, or name its parts to mteb"
        )
    task, _ = load_part(spec, parts[0][1], Path(data_dir) if data_dir else None, "mteb", limit)
    return task
