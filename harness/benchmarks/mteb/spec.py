"""The typed spec of an MTEB task file (`tasks/mteb/<Task>.yaml`): its dataset pin and its protocol settings."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, PositiveInt, ValidationInfo, field_validator, model_validator

from harness.core.spec import MTEB_CATEGORIES, Strict, TaskSpec, typed


def place(subset: str, part: str) -> str:
    """How task files name a subset's split (or retrieval part): `test` in a task of one subset, `en/test` else."""
    return part if subset == "default" else f"{subset}/{part}"


class ScriptRead(Strict):
    """How a 2022 revision's loading script turned its `files` into rows (`datasets` 4 and later run no script, nor
    does the harness: `hub.read_scripted` reads the files as the script did). `format`: `jsonl` (one JSON object per
    line, yielded as it stands) or `tsv` (a header line, then tab-separated fields read by `csv.DictReader` with
    its default quoting); `columns`: row field -> the file's column; `label_names`: the label_text the script gave
    each label."""

    script: str
    format: Literal["jsonl", "tsv"]
    columns: dict[str, str] | None = None
    label_names: dict[str, str] | None = None


class HubPin(Strict):
    """One revision of a hub dataset and what the public record shows it holds for the task.

    `files`: a split, or a retrieval task's `corpus`, `queries`, `qrels/<split>` (`en/test` where the task has
    subsets: `place`) -> the path in the repository (a glob for sharded parquet), as the revision's tree page shows
    it; exactly these are downloaded and must all be there. `script`: how its loading script read them (2022
    revisions only). `rows`: the samples per split (`place`) recorded for this revision where mteb's own figures
    (`descriptive_stats`, of the revision mteb pins today) are not its figures; None: mteb's figures are this
    revision's (today's pin, or a paper-era revision whose rows the record shows are today's). `evidence`: the
    pages or commits that show all this. `refused`: why this revision is not read from the hub (the record does
    not establish its files, or no figure of record can check a download of it): refused in one line, never read
    by a guess."""

    hf_dataset: str
    revision: str = Field(min_length=1)
    files: dict[str, str] | None = None
    script: ScriptRead | None = None
    rows: dict[str, PositiveInt] | None = None
    evidence: str | None = None
    refused: str | None = None

    @model_validator(mode="after")
    def _recorded(self) -> HubPin:
        if self.files is not None and not self.evidence:
            raise ValueError("files need their evidence: the tree page, commit or script that shows them")
        if self.script is not None and self.files is None:
            raise ValueError("script describes how files were read: give the files")
        return self

    def label(self) -> str:
        return f"{self.hf_dataset} @ {self.revision[:8]}"


class MtebSource(Strict):
    """The mteb task class that evaluates the task and the dataset revisions it is read at.

    `pin`: the revision installed mteb loads (mteb's own metadata; `--protocol mteb`). `paper`: what the paper-era
    code loaded (the INSTRUCTOR fork's pin, a full commit) where it differs; the era protocols read it (`era_pin`).
    `parts`: per-subtask pins (CQADupstack's 12 forums are 12 mteb tasks)."""

    kind: Literal["mteb"]
    mteb_task: str
    pin: HubPin | None = None
    paper: HubPin | None = None
    parts: dict[str, HubPin] | None = None

    @model_validator(mode="after")
    def _pinned(self) -> MtebSource:
        if (self.parts is None) == (self.pin is None):
            raise ValueError("give pin, or parts (one pin per subtask), not both")
        if self.paper is not None and not re.fullmatch(r"[0-9a-f]{40}", self.paper.revision):
            raise ValueError("paper.revision must be a full commit (the hub resolves only those)")
        return self

    def today(self, part: str | None = None) -> HubPin:
        """The revision installed mteb loads (of one CQADupstack forum, for a task with parts)."""
        if self.parts is not None:
            return self.parts[part or ""]
        assert self.pin is not None  # one of pin and parts is given (`_pinned`)
        return self.pin

    def era_pin(self, part: str | None = None) -> HubPin:
        """What the paper-era code loaded: the paper pin where the task file gives one, else today's."""
        return self.paper or self.today(part)


class ClassificationProtocol(Strict):
    """Logistic regression on per-label undersampled train sets (mteb's classification evaluator)."""

    samples_per_label: PositiveInt
    n_experiments: PositiveInt
    max_iter: PositiveInt


class ClusteringProtocol(Strict):
    """The INSTRUCTOR reference's rule: a text over this many tokens with its instruction is encoded without it."""

    instructor_max_tokens_with_instruction: PositiveInt


PROTOCOLS: dict[str, type[Strict]] = {"Classification": ClassificationProtocol, "Clustering": ClusteringProtocol}


class MtebTaskSpec(TaskSpec):
    benchmark: Literal["mteb"]
    source: MtebSource
    protocol: ClassificationProtocol | ClusteringProtocol | None = None

    @field_validator("protocol", mode="before")
    @classmethod
    def _typed_by_category(cls, value: Any, info: ValidationInfo) -> Any:
        category = info.data.get("category")
        model = PROTOCOLS.get(str(category))
        if model is None:
            if value:
                raise ValueError(f"{category} tasks take no protocol settings (got {value!r:.60})")
            return None
        return typed(model, value, f"{category} protocol")

    @model_validator(mode="after")
    def _consistent(self) -> MtebTaskSpec:
        if self.category not in MTEB_CATEGORIES:
            raise ValueError(f"category {self.category!r} is not an MTEB category ({', '.join(MTEB_CATEGORIES)})")
        if self.category in PROTOCOLS and self.protocol is None:
            raise ValueError(
                f"{self.category} tasks need protocol settings: {', '.join(PROTOCOLS[self.category].model_fields)}"
            )
        parts = self.source.parts
        if (parts is not None or self.subtasks is not None) and set(parts or ()) != set(self.subtasks or ()):
            raise ValueError("source.parts must pin exactly the subtasks")
        return self
