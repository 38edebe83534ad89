"""The typed spec of an MTEB task file (`tasks/mteb/<Task>.yaml`): its dataset pin and its protocol settings."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PositiveInt, ValidationInfo, field_validator, model_validator

from harness.core.spec import MTEB_CATEGORIES, Strict, TaskSpec, typed


class DatasetPin(Strict):
    hf_dataset: str
    revision: str = Field(min_length=1)


class ScriptLoader(Strict):
    """A paper-era revision whose subsets only its loading script defined (`hub.load_scripted`): the data files the
    script read (`files`: {subset} and {split} filled in; a gzipped copy is found too), the rows expected per subset
    and split (checked: a wrong file is refused, never scored), and where the layout comes from."""

    loader: Literal["script"]
    script: str
    files: str = Field(pattern=r"\{split\}")
    rows: dict[str, dict[str, PositiveInt]] | None = None
    evidence: str


class MtebSource(Strict):
    """The mteb task class that evaluates the task and the dataset revision it loads (passed to mteb).

        `paper_hf_dataset`/`paper_revision`: what the paper-era code loaded (the INSTRUCTOR fork's pin, a full commit),
        where it differs from today's pin; the era protocols load it (`era_pin`), through its script's files when it has
    one (`paper_loader`; today's pins load with `datasets` as they are). `parts`: per-subtask pins
        (CQADupstack's 12 forums are 12 mteb tasks)."""

    kind: Literal["mteb"]
    mteb_task: str
    hf_dataset: str | None = None
    revision: str | None = Field(default=None, min_length=1)
    paper_hf_dataset: str | None = None
    paper_revision: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}$")  # the hub resolves only full commits
    paper_loader: ScriptLoader | None = None
    parts: dict[str, DatasetPin] | None = None

    @model_validator(mode="after")
    def _pinned(self) -> MtebSource:
        if (self.parts is None) == (self.hf_dataset is None or self.revision is None):
            raise ValueError("give hf_dataset and revision, or parts (one pin per subtask), not both")
        if (self.paper_hf_dataset is None) != (self.paper_revision is None):
            raise ValueError("give paper_hf_dataset and paper_revision together")
        if self.paper_loader is not None and self.paper_revision is None:
            raise ValueError("paper_loader describes a paper_revision: give one")
        return self

    def pin(self, part: str | None = None) -> DatasetPin:
        if self.parts is not None:
            return self.parts[part or ""]
        return DatasetPin(hf_dataset=str(self.hf_dataset), revision=str(self.revision))

    def era_pin(self, part: str | None = None) -> DatasetPin:
        """What the paper-era code loaded: the paper pin where the task file gives one, else today's."""
        if self.paper_hf_dataset and self.paper_revision:
            return DatasetPin(hf_dataset=self.paper_hf_dataset, revision=self.paper_revision)
        return self.pin(part)


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
