"""The eleven prompt-retrieval tasks: how each reference script's rows become prompts, by task name."""

from __future__ import annotations

from harness.benchmarks.prompt_retrieval.spec import PromptRetrievalTaskSpec
from harness.benchmarks.prompt_retrieval.tasks import coda, geoquery, multiwoz
from harness.benchmarks.prompt_retrieval.tasks.label_tasks import (
    AMAZON_LABELS,
    CIVIL_LABELS,
    DBPEDIA_LABELS,
    MRPC_LABELS,
    RTE_LABELS,
    SST5_LABELS,
    hf_task,
    labels,
    multirc,
    wilds,
)
from harness.benchmarks.prompt_retrieval.types import Format, PromptTask
from harness.core.errors import SpecError

ADAPTERS: dict[str, PromptTask] = {
    "PromptRetrievalMultiRCAnswerability": PromptTask(multirc, ["True", "False"]),
    "PromptRetrievalGeoQuery": PromptTask(
        geoquery.load,
        layout="plain",
        answer_prefix="SELECT ",
    ),
    "PromptRetrievalMultiWOZ": PromptTask(multiwoz.load, layout="plain", header="Example #{n}\n"),
    "PromptRetrievalCODA19": PromptTask(coda.load, layout="plain", token_joined=True),
    "PromptRetrievalAmazon": PromptTask(
        wilds("amazon"),
        AMAZON_LABELS,
    ),
    "PromptRetrievalCivilComments": PromptTask(
        wilds("civil"),
        CIVIL_LABELS,
    ),
    "PromptRetrievalRTE": PromptTask(
        hf_task(
            Format(
                lambda r: f"{r['sentence1']}.\nquestion: {r['sentence2']}. True or False?\nanswer:",
                labels(RTE_LABELS),
            )
        ),
        RTE_LABELS,
    ),
    "PromptRetrievalSST5": PromptTask(
        hf_task(
            Format(
                lambda r: f"How do you feel about the following sentence?\n{r['text']}\nanswer:",
                labels(SST5_LABELS),
            )
        ),
        SST5_LABELS,
    ),
    "PromptRetrievalMRPC": PromptTask(
        hf_task(
            Format(
                lambda r: (
                    f"Are the following two sentences 'equivalent' or 'not equivalent'?\n{r['sentence1']}.\n"
                    f"{r['sentence2']}.\nanswer:"
                ),
                labels(MRPC_LABELS),
            )
        ),
        MRPC_LABELS,
    ),
    "PromptRetrievalDBpedia14": PromptTask(
        hf_task(
            Format(
                lambda r: f"title: {r['title']}; content: {r['content']}",
                labels(DBPEDIA_LABELS),
            )
        ),
        DBPEDIA_LABELS,
    ),
    "PromptRetrievalHellaSwag": PromptTask(
        hf_task(
            Format(
                lambda r: f"The topic is {r['activity_label']}. {r['ctx_a']} {r['ctx_b']} ",
                lambda r: r["endings"][int(r["label"])],
                options=lambda r: list(r["endings"]),
            )
        ),
    ),
}


def adapter(spec: PromptRetrievalTaskSpec) -> PromptTask:
    """The task's adapter, checked against what its task file says it answers."""
    if spec.name not in ADAPTERS:
        raise SpecError(
            f"task {spec.name}: prompt retrieval is implemented for {', '.join(ADAPTERS)}; "
            "this task's data adapter is not written yet"
        )
    task = ADAPTERS[spec.name]
    if (task.options is not None) != (spec.protocol.answer == "label"):
        raise SpecError(
            f"task {spec.name}: its task file says answer: {spec.protocol.answer}, but its adapter "
            f"{'has' if task.options else 'has no'} shared label options"
        )
    return task
