"""The typed spec of a prompt-retrieval task file (`tasks/prompt_retrieval/<Task>.yaml`)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Literal

import jinja2
import jinja2.meta
from pydantic import Field, NonNegativeInt, PositiveInt, field_validator, model_validator

from harness.core.sources import FilesSource
from harness.core.spec import Strict, TaskSpec, typed


class HfSource(Strict):
    """A Hugging Face dataset online, or `DATA_DIR/<folder>/<split>.jsonl` with the same columns offline."""

    kind: Literal["hf"]
    hf_dataset: str
    config: str | None = None
    revision: str | None = None
    folder: str
    pool_split: str
    test_split: str

    def split_file(self, data_dir: Path, split: str) -> Path:
        """Where `--data-dir` keeps a split (and `harness data mirror` writes it)."""
        return data_dir / self.folder / f"{split}.jsonl"


class PromptProtocol(Strict):
    """How the reference script drew, embedded, retrieved and scored (paper appendix B.2)."""

    pool_size: PositiveInt | None = None  # pool rows drawn (GeoQuery: the whole train file)
    pool_dialogues: PositiveInt | None = None  # MultiWOZ: every turn of this many train dialogues
    test_size: PositiveInt
    # set by --test-size (`PromptSettings.applied`), never in a task file: the size the reference drew, which a
    # draw that fixes the pool first keeps (`data.super_ni_split`)
    reference_test_size: PositiveInt | None = Field(default=None, exclude=True)
    test_groups: PositiveInt | None = None  # Amazon: reviewers drawn ...
    per_group: PositiveInt | None = None  # ... and reviews per reviewer
    group_rank: NonNegativeInt | None = None  # Amazon: score the group at this rank of ascending accuracy
    seed: int
    token_budget: PositiveInt
    per_demonstration_tokens: PositiveInt | None
    candidates: PositiveInt | None = None  # walk only the N most similar candidates
    skip_duplicates: bool
    centre_test: bool
    answer: Literal["label", "multiple-choice", "generation"]
    max_new_tokens: PositiveInt | None = None
    stop: list[str] | None = None
    reference_lm: str
    input_template: str  # Jinja: what the embedding model sees of a row (after the instruction)

    @model_validator(mode="after")
    def _generation(self) -> PromptProtocol:
        if (self.answer == "generation") != (self.max_new_tokens is not None and self.stop is not None):
            raise ValueError("generation tasks (and only they) set max_new_tokens and stop")
        return self


@functools.cache
def template(source: str) -> jinja2.Template:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(source)


def template_fields(source: str) -> set[str]:
    env = jinja2.Environment(autoescape=False)
    return set(jinja2.meta.find_undeclared_variables(env.parse(source)))


class PromptRetrievalTaskSpec(TaskSpec):
    benchmark: Literal["prompt-retrieval"]
    source: Annotated[FilesSource | HfSource, Field(discriminator="kind")]
    protocol: PromptProtocol

    @field_validator("protocol", mode="before")
    @classmethod
    def _typed(cls, value: Any) -> Any:
        return typed(PromptProtocol, value, "prompt-retrieval protocol")

    @model_validator(mode="after")
    def _consistent(self) -> PromptRetrievalTaskSpec:
        if self.category != "PromptRetrieval":
            raise ValueError("prompt-retrieval tasks have category PromptRetrieval")
        try:
            unknown_fields = template_fields(self.protocol.input_template) - set(self.text_fields)
        except jinja2.TemplateSyntaxError as exc:
            raise ValueError(f"protocol.input_template is not a valid template: {exc}") from None
        if unknown_fields:
            raise ValueError(
                f"protocol.input_template uses {sorted(unknown_fields)}, not among text_fields {self.text_fields}"
            )
        return self

    def embed_text(self, row: dict[str, Any]) -> str:
        """The task file's `input_template` filled with one row's fields."""
        return template(self.protocol.input_template).render(**row)
