"""The instruction library: `instructions/*.yaml`, versioned data validated on load.

A *variant* names which instruction a run uses, HELM-style:
  instructor-large | instructor-base | instructor-xl   the checkpoints' verbatim evaluation strings
  <family>@<date>                                      a family as the reference code had it on that date, where
                                                       a string changed after numbers were published with it
                                                       (instructions/dated.yaml: which number each belongs to)
  none                                                 no instruction
  paraphrase:K  (K = 1..5)                             the K-th hand-written rewording of each side's
                                                       instructor-large string (instructions/paraphrases.yaml)
  paraphrase-query:K                                   the same on the query side only of retrieval and
                                                       reranking (documents keep instructor-large's string,
                                                       so the corpus embeddings are reused from the cache)
  frames:K, frames-query:K                             the K-th frame of the same words ('Represent this ...',
                                                       'For ..., represent ...'; instructions/frames.yaml)
  level:none|tag|simple|detailed                       the paper's detail-level ablation (section 4.3)

A task evaluated without an instruction (instructor-large's string is empty) has nothing to reword: its
paraphrase, frame and `detailed` variants run without one and say so in their note (`UNEVALUATED`).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.core.errors import HarnessError, SpecError, unknown
from harness.core.paths import data_dir, include_paths
from harness.core.spec import Registry, TaskSpec, read_yaml, registry

Side = Literal["query", "document"]
FAMILIES = ("instructor-base", "instructor-large", "instructor-xl")
LEVELS = ("none", "tag", "simple", "detailed")
N_PARAPHRASES = 5
REWORDINGS = ("paraphrase", "paraphrase-query", "frames", "frames-query")
UNEVALUATED = "no evaluated instruction: the paper evaluates this task without one, so this variant runs without one"


@dataclass(frozen=True)
class Instruction:
    """The instruction for each side of a task (equal for symmetric tasks)."""

    query: str
    document: str
    note: str | None = None

    def side(self, side: Side) -> str:
        return self.query if side == "query" else self.document


NO_INSTRUCTION = Instruction("", "")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entry(obj: Any, where: str) -> Instruction:
    """Parse one instruction entry: a string, {query, document[, note]} or {text, note}."""
    if isinstance(obj, str):
        return Instruction(obj, obj)
    if isinstance(obj, dict):
        keys = set(obj)
        if keys in ({"query", "document"}, {"query", "document", "note"}) and all(
            isinstance(obj[k], str) for k in ("query", "document")
        ):
            return Instruction(obj["query"], obj["document"], obj.get("note"))
        if keys == {"text", "note"} and isinstance(obj["text"], str) and isinstance(obj["note"], str):
            return Instruction(obj["text"], obj["text"], obj["note"])
    raise SpecError(f"{where}: expected a string, {{query, document}} or {{text, note}}, got {obj!r:.120}")


def _flatten(table: Any, where: str, parse: Any) -> dict[str, Any]:
    """Task -> parsed entry; a {subtasks: {...}} entry contributes one key per subtask."""
    if not isinstance(table, dict):
        raise SpecError(f"{where}: expected a mapping of task names, got {type(table).__name__}")
    out: dict[str, Any] = {}
    for task, obj in table.items():
        if isinstance(obj, dict) and set(obj) == {"subtasks"}:
            for sub, sub_obj in obj["subtasks"].items():
                out[sub] = parse(sub_obj, f"{where}.{task}.subtasks.{sub}")
        else:
            out[task] = parse(obj, f"{where}.{task}")
    return out


def _section(path: Path, key: str) -> Any:
    raw = read_yaml(path)
    if not isinstance(raw, dict) or key not in raw:
        raise SpecError(f"{path}: expected a top-level {key!r} mapping")
    return raw[key]


def _frame_list(obj: Any, where: str) -> list[Instruction]:
    if not isinstance(obj, list) or len(obj) != N_PARAPHRASES:
        raise SpecError(f"{where}: expected a list of {N_PARAPHRASES} paraphrases, got {obj!r:.120}")
    return [_entry(o, f"{where}[{i + 1}]") for i, o in enumerate(obj)]


def _rewordings(path: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """`paraphrases.yaml`: original string -> its five paraphrases, and -> the words each must keep."""
    texts, keep = {}, {}
    for i, entry in enumerate(_section(path, "paraphrases")):
        where = f"{path}: paraphrases[{i}]"
        if not isinstance(entry, dict) or not {"original", "paraphrases"} <= set(entry) <= {
            "original",
            "paraphrases",
            "keep",
        }:
            raise SpecError(f"{where}: expected {{original, paraphrases[, keep]}}, got {entry!r:.120}")
        original, paraphrases = entry["original"], entry["paraphrases"]
        if original in texts:
            raise SpecError(f"{where}: {original!r} is paraphrased twice; name it once")
        if (
            not isinstance(paraphrases, list)
            or len(paraphrases) != N_PARAPHRASES
            or not all(isinstance(t, str) and t for t in paraphrases)
        ):
            raise SpecError(f"{where}: expected a list of {N_PARAPHRASES} paraphrases, got {paraphrases!r:.120}")
        texts[original], keep[original] = paraphrases, list(entry.get("keep", []))
    return texts, keep


def _level_map(obj: Any, where: str) -> dict[str, Instruction]:
    if not isinstance(obj, dict) or set(obj) != {"tag", "simple"}:
        raise SpecError(
            f"{where}: expected {{tag, simple}} (detailed is the instructor-large string), got {obj!r:.120}"
        )
    return {k: _entry(v, f"{where}.{k}") for k, v in obj.items()}


class Library:
    """Every instruction of every task, by variant."""

    def __init__(self, root: Path, tasks: Registry, extra: tuple[Path, ...] = ()) -> None:
        """`extra`: folders whose `<family>.yaml` add instructions for their own tasks (never replace one)."""
        self.tasks = tasks
        self.families = {
            f: _flatten(_section(root / f"{f}.yaml", "instructions"), f"{root / f}.yaml", _entry) for f in FAMILIES
        }
        for folder in extra:
            for family in FAMILIES:
                if (path := folder / f"{family}.yaml").is_file():
                    added = _flatten(_section(path, "instructions"), str(path), _entry)
                    if clash := sorted(set(added) & set(self.families[family])):
                        raise SpecError(f"{path}: {', '.join(clash)} already has a {family} instruction; name it once")
                    self.families[family].update(added)
        self.paraphrases, self.keep = _rewordings(root / "paraphrases.yaml")
        self.frames = _flatten(_section(root / "frames.yaml", "frames"), f"{root}/frames.yaml", _frame_list)
        self.levels = _flatten(_section(root / "levels.yaml", "levels"), f"{root}/levels.yaml", _level_map)
        self.dated = _dated_sets(root / "dated.yaml")

    def keys(self, task: str) -> list[str]:
        """The instruction keys of a task: its subtasks (CQADupstack forums), else its own name."""
        spec = self.tasks.get(task)
        return spec.subtasks or [spec.instructions_from or task]

    def _key(self, task: str, subtask: str | None) -> str:
        keys = self.keys(task)
        if not self.tasks.get(task).subtasks:
            return keys[0]
        if subtask is None:
            raise SpecError(f"task {task!r} has one instruction per subtask; pass one of {keys}")
        if subtask not in keys:
            raise unknown(f"subtask of {task}", subtask, keys)
        return subtask

    def get(self, task: str, variant: str, subtask: str | None = None) -> Instruction:
        key = self._key(task, subtask)
        kind, _, arg = variant.partition(":")
        if variant == "none":
            return NO_INSTRUCTION
        if variant in FAMILIES:
            return self._lookup(self.families[variant], key, variant)
        if variant in self.dated:
            family, changed = self.dated[variant]
            return changed.get(key) or self._lookup(self.families[family], key, family)
        if kind in REWORDINGS and arg.isdigit() and 1 <= int(arg) <= N_PARAPHRASES:
            return self._reworded(task, key, kind, int(arg))
        if kind == "level" and arg in LEVELS:
            large = self._lookup(self.families["instructor-large"], key, "instructor-large")
            if arg == "none":
                return NO_INSTRUCTION
            if arg == "detailed":
                return large if large.query or large.document else Instruction("", "", UNEVALUATED)
            return self._lookup(self.levels, key, "levels")[arg]
        raise unknown("instruction variant", variant, variants(self))

    def _reworded(self, task: str, key: str, kind: str, k: int) -> Instruction:
        """The k-th paraphrase or frame; `-query` kinds keep instructor-large's document side."""
        large = self._lookup(self.families["instructor-large"], key, "instructor-large")
        if not (large.query or large.document):
            return Instruction("", "", UNEVALUATED)
        if kind.startswith("frames"):
            reworded = self._lookup(self.frames, key, "frames")[k - 1]
        else:
            reworded = Instruction(*(self.paraphrase(side, k) for side in (large.query, large.document)))
        if kind.endswith("-query") and not self.tasks.get(task).symmetric:
            return Instruction(reworded.query, large.document)
        return reworded

    def variant_for(self, task: str, variant: str) -> str:
        """The name of what a variant rewords on this task: `paraphrase-query:3` on a symmetric task (STS: one
        instruction for both sides) rewords it on both, as `paraphrase:3` does, and is filed under that name."""
        kind, _, arg = variant.partition(":")
        if kind in REWORDINGS and kind.endswith("-query") and self.tasks.get(task).symmetric:
            return f"{kind.removesuffix('-query')}:{arg}"
        return variant

    def paraphrase(self, original: str, k: int) -> str:
        """The k-th (1-based) paraphrase of an instruction string; the empty string stays empty."""
        if not original:
            return original
        if original not in self.paraphrases:
            raise SpecError(f"no paraphrases of {original!r}: add them to instructions/paraphrases.yaml")
        return self.paraphrases[original][k - 1]

    def unevaluated(self, task: str, subtask: str | None = None) -> bool:
        """Whether the paper evaluates the task without an instruction (nothing to paraphrase)."""
        large = self.families["instructor-large"].get(self._key(task, subtask))
        return large is not None and not (large.query or large.document)

    @staticmethod
    def _lookup(table: dict[str, Any], key: str, what: str) -> Any:
        if key not in table:
            raise SpecError(f"no {what} instruction for task {key!r}: add it to instructions/")
        return table[key]

    def _sides_of(self, task: str, sub: str | None) -> dict[str, Any]:
        def both(ins: Instruction) -> dict[str, str]:
            return {"query": ins.query, "document": ins.document}

        return {
            "instructions": {f: both(self.get(task, f, sub)) for f in FAMILIES},
            "paraphrases": [both(self.get(task, f"paraphrase:{k}", sub)) for k in range(1, N_PARAPHRASES + 1)],
            "frames": [both(self.get(task, f"frames:{k}", sub)) for k in range(1, N_PARAPHRASES + 1)],
            "levels": {lv: both(self.get(task, f"level:{lv}", sub)) for lv in LEVELS},
        }

    def record(self, spec: TaskSpec) -> dict[str, Any]:
        """A task's public record (`harness tasks --format json`): spec fields plus every instruction; a task
        with subtasks shows its first subtask's at top level and every subtask's under `subtasks`."""
        record: dict[str, Any] = spec.model_dump(exclude_none=True)
        keys = self.keys(spec.name)
        if not spec.subtasks:
            record.update(self._sides_of(spec.name, None))
        else:
            per_sub = {k: self._sides_of(spec.name, k) for k in keys}
            record.update(per_sub[keys[0]])
            record["subtasks"] = per_sub
        record["symmetric"] = spec.symmetric
        return record

    def own_problems(self, spec: TaskSpec) -> list[str]:
        """What a task of an include path lacks: an instruction in at least one family (a run names the family
        with --instructions), unless it borrows another task's (`instructions_from`)."""
        if spec.instructions_from:
            return []
        file = self.tasks.files[spec.name]  # DIR/tasks/<benchmark>/.../<Task>.yaml: the registry reads tasks/ whole
        include = next((p.parent for p in file.parents if p.name == "tasks"), file.parent)
        return [
            f"{spec.name} ({self.tasks.files[spec.name]}): no instruction for {key!r} in any family: add "
            f"`{key}: 'Represent the ...: '` to {include / 'instructions'}/<family>.yaml (e.g. instructor-large.yaml)"
            for key in self.keys(spec.name)
            if not any(key in self.families[f] for f in FAMILIES)
        ]

    def problems(self) -> list[str]:
        """Everything missing or inconsistent across the registry and the instruction files."""
        found = []
        for spec in self.tasks.tasks.values():
            # your own tasks (include paths) need an instruction in one family (`own_problems`), not every variant
            shipped = self.tasks.shipped(spec.name)
            found += [] if shipped else self.own_problems(spec)
            for key in self.keys(spec.name):
                for variant in (
                    *FAMILIES,
                    *(f"{kind}:{k}" for kind in ("paraphrase", "frames") for k in range(1, N_PARAPHRASES + 1)),
                    *(f"level:{lv}" for lv in LEVELS),
                ):
                    try:
                        self.get(spec.name, variant, key if spec.subtasks else None)
                    except HarnessError as exc:
                        found += [str(exc)] if shipped else []
                large = self.families["instructor-large"].get(key)
                frames = self.frames.get(key, [])
                if shipped and large and large.query and (len(set(frames)) != N_PARAPHRASES or large in frames):
                    found.append(f"frames of {key}: need {N_PARAPHRASES} distinct ones, all unlike the original")
                if spec.symmetric and large and large.query != large.document:
                    found.append(f"{key}: symmetric task with different query and document instructions")
        evaluated = {text for ins in self.families["instructor-large"].values() for text in (ins.query, ins.document)}
        for original, texts in self.paraphrases.items():
            if len(set(texts)) != N_PARAPHRASES or original in texts:
                found.append(f"paraphrases of {original!r}: need {N_PARAPHRASES} distinct ones, all unlike it")
            if original not in evaluated:
                found.append(f"paraphrases of {original!r}: no task evaluates that instructor-large string")
        for table_name, table in (
            ("frames", self.frames),
            ("levels", self.levels),
            *((f, t) for f, t in self.families.items()),
            *((name, changed) for name, (_, changed) in self.dated.items()),
        ):
            known = {k for s in self.tasks.tasks.values() for k in self.keys(s.name)}
            found += [
                f"instructions {table_name}: {k!r} is not a task of the registry" for k in table if k not in known
            ]
        return found


def _dated_sets(path: Path) -> dict[str, tuple[str, dict[str, Instruction]]]:
    """`dated.yaml`: variant -> (its family, the instructions that differed on that date)."""
    out = {}
    for name, entry in _section(path, "sets").items():
        where = f"{path}: set {name}"
        if (
            not isinstance(entry, dict)
            or entry.get("family") not in FAMILIES
            or not name.startswith(f"{entry['family']}@")
        ):
            raise SpecError(f"{where}: expected family (one of {', '.join(FAMILIES)}) named before the '@'")
        if not {"changed_by", "published", "instructions"} <= set(entry):
            raise SpecError(
                f"{where}: every set says what changed it (changed_by) and which numbers it belongs to (published)"
            )
        out[name] = (entry["family"], _flatten(entry["instructions"], where, _entry))
    return out


def variants(lib: Library | None = None) -> list[str]:
    return [
        *FAMILIES,
        *(lib.dated if lib else ()),
        "none",
        *(f"{kind}:{k}" for kind in REWORDINGS for k in range(1, N_PARAPHRASES + 1)),
        *(f"level:{lv}" for lv in LEVELS),
    ]


def library(root: Path | None = None) -> Library:
    """The shipped instructions (or `root`'s) plus the include paths' (`paths.include_paths`)."""
    return _library(root or data_dir("instructions"), include_paths())


@functools.cache
def _library(root: Path, includes: tuple[Path, ...]) -> Library:
    return Library(root, registry(), tuple(p / "instructions" for p in includes if (p / "instructions").is_dir()))
