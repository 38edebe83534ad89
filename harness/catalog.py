"""A task's full public record: its spec plus every instruction, as `harness tasks --format json` prints it."""

from __future__ import annotations

from typing import Any

from harness.instructions import FAMILIES, LEVELS, N_PARAPHRASES, Instruction, library
from harness.registry import TaskSpec


def _sides(ins: Instruction) -> dict[str, str]:
    return {"query": ins.query, "document": ins.document}


def _variants(task: str, sub: str | None) -> dict[str, Any]:
    lib = library()
    return {
        "instructions": {f: _sides(lib.get(task, f, sub)) for f in FAMILIES},
        "paraphrases": [_sides(lib.get(task, f"paraphrase:{k}", sub)) for k in range(1, N_PARAPHRASES + 1)],
        "levels": {lv: _sides(lib.get(task, f"level:{lv}", sub)) for lv in LEVELS},
    }


def task_record(spec: TaskSpec) -> dict[str, Any]:
    """Spec fields plus instructions; a task with subtasks shows its first subtask's at top level
    and every subtask's under `subtasks`."""
    record: dict[str, Any] = spec.model_dump(exclude_none=True)
    keys = library().keys(spec.name)
    if not spec.subtasks:
        record.update(_variants(spec.name, None))
    else:
        per_sub = {k: _variants(spec.name, k) for k in keys}
        record.update(per_sub[keys[0]])
        record["subtasks"] = per_sub
    record["symmetric"] = spec.symmetric
    return record
