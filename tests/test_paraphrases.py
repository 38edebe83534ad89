"""The robustness study's instructions: hand-written paraphrases that reword (not frames of the same words),
the paper's detail levels, and the tasks evaluated without an instruction flagged rather than given one."""

from __future__ import annotations

import re

import pytest

from harness.core.instructions import FAMILIES, N_PARAPHRASES, UNEVALUATED, library
from harness.core.spec import registry

# Words that carry no content: articles, prepositions, pronouns, the format's own words and the frames' glue.
FUNCTION_WORDS = set(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "each",
        "every",
        "given",
        "following",
        "below",
        "above",
        "it",
        "its",
        "to",
        "for",
        "of",
        "on",
        "in",
        "as",
        "at",
        "by",
        "with",
        "and",
        "or",
        "so",
        "be",
        "can",
        "being",
        "used",
        "use",
        "aim",
        "from",
        "about",
        "is",
        "are",
        "which",
        "what",
        "represent",
        "input",
    ]
)
# The eight frames of instructions/frames.yaml, as patterns over the original's body (the words after
# 'Represent the/a'): a paraphrase matching one only wraps the original's words.
FRAMES = (
    r"represent this {body}",
    r"represent the given {body}",
    r"represent the following {body}",
    r"represent the {body} below",
    r"represent each {body}",
    r"for .*, represent the {body}",
    r"represent the {body} so that it can be used for .*",
    r"represent the {body} with the aim of .*",
)
UNEVALUATED_TASKS = ("PromptRetrievalDBpedia14", "PromptRetrievalMultiWOZ")


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9&'-]+", text.lower()) if w not in FUNCTION_WORDS}


def _stripped(text: str) -> str:
    return re.sub(r"(; input: |: |; )$", "", text.lower())


def _body(text: str) -> str:
    """The original without its leading 'Represent the/a/an' and its ending."""
    return re.sub(r"^represent (the|a|an) ", "", _stripped(text))


def _is_frame(original: str, text: str) -> bool:
    body = re.escape(_body(original))
    return any(re.fullmatch(f.format(body=body), _stripped(text)) for f in FRAMES)


def _ending(text: str) -> str:
    return next(e for e in ("; Input: ", ": ", "; ") if text.endswith(e))


def _pairs() -> list[tuple[str, str, list[str]]]:
    lib = library()
    return [(o, p, lib.keep[o]) for o, texts in lib.paraphrases.items() for p in texts]


@pytest.mark.parametrize(("original", "paraphrase", "keep"), _pairs())
def test_each_paraphrase_rewords_its_original_and_keeps_its_meaning_slots(
    original: str, paraphrase: str, keep: list[str]
) -> None:
    """Fails on a frame posing as a paraphrase (the original's words wrapped), a paraphrase that drops a label
    list or a named community (Quora, Ubuntu, the MASSIVE intents), or one that changes the format's ending or the
    case of its first letter (both change the tokens the model sees beyond the wording)."""
    assert _words(paraphrase) - _words(original), f"no content word of its own: {paraphrase!r}"
    if " " in _body(original):  # a one-word body ('question') may stay, with words of its own around it
        assert _body(original) not in paraphrase.lower(), f"contains the original's words in order: {paraphrase!r}"
    assert not _is_frame(original, paraphrase)
    for slot in keep:
        assert any(form in paraphrase.lower() for form in slot.lower().split("|")), (slot, paraphrase)
    assert _ending(paraphrase) == _ending(original)
    assert paraphrase[0] == original[0] and paraphrase.lower().startswith("represent ")


def test_the_checks_catch_every_frame() -> None:
    """The checks above must fail on the frames (each wraps the original's words): this fails if they cannot."""
    lib = library()
    for spec in registry().tasks.values():
        for key in lib.keys(spec.name):
            sub = key if spec.subtasks else None
            large = lib.get(spec.name, "instructor-large", sub)
            for k in range(1, N_PARAPHRASES + 1):
                frame = lib.get(spec.name, f"frames:{k}", sub)
                for side in ("query", "document"):
                    original, text = large.side(side), frame.side(side)
                    if original:
                        assert _is_frame(original, text) or not (_words(text) - _words(original)), (key, text)


def test_every_evaluated_string_of_every_task_and_side_has_five_paraphrases() -> None:
    """Fails if a task's instruction changes without its paraphrases (the run would refuse mid-study) or a
    side silently keeps its original under a paraphrase variant."""
    lib = library()
    for spec in registry().tasks.values():
        for key in lib.keys(spec.name):
            sub = key if spec.subtasks else None
            large = lib.get(spec.name, "instructor-large", sub)
            if lib.unevaluated(spec.name, sub):
                continue
            variants = [lib.get(spec.name, f"paraphrase:{k}", sub) for k in range(1, N_PARAPHRASES + 1)]
            for side in ("query", "document"):
                texts = [v.side(side) for v in variants]
                assert len(set(texts)) == N_PARAPHRASES and large.side(side) not in texts, (key, side)
                assert texts == [lib.paraphrase(large.side(side), k) for k in range(1, N_PARAPHRASES + 1)]


def test_query_only_variants_keep_the_document_instruction() -> None:
    lib = library()
    large = lib.get("SciFact", "instructor-large")
    for kind in ("paraphrase", "frames"):
        both, query_only = lib.get("SciFact", f"{kind}:2"), lib.get("SciFact", f"{kind}-query:2")
        assert query_only.query == both.query != large.query
        assert query_only.document == large.document != both.document
    assert lib.get("STS12", "paraphrase-query:2") == lib.get("STS12", "paraphrase:2")  # symmetric: both sides


def test_frames_are_kept_as_their_own_variant() -> None:
    lib = library()
    assert (
        lib.get("SciFact", "frames:3").query == "For retrieving a supporting passage, represent the Scientific query; "
    )
    assert lib.get("SciFact", "frames:3") != lib.get("SciFact", "paraphrase:3")


@pytest.mark.parametrize("task", UNEVALUATED_TASKS)
def test_tasks_evaluated_without_an_instruction_are_flagged_not_given_one(task: str) -> None:
    """Fails if an invented string comes back for a task the paper evaluates with none."""
    lib = library()
    assert lib.unevaluated(task)
    for family in FAMILIES:
        assert lib.get(task, family).query == ""
    for variant in [*(f"{k}:{i}" for k in ("paraphrase", "frames") for i in range(1, 6)), "level:detailed"]:
        ins = lib.get(task, variant)
        assert (ins.query, ins.document, ins.note) == ("", "", UNEVALUATED), variant


def test_levels_follow_the_papers_natural_questions_example() -> None:
    """The paper (section 4.3): tag 'Natural Questions; Input: ...', simple 'Wikipedia Questions; Input: ...',
    detailed the full instruction. Fails on the old 'NQ' tag or the singular 'Wikipedia Question'."""
    lib = library()
    assert lib.get("NQ", "level:none").query == ""
    assert lib.get("NQ", "level:tag").query == "Natural Questions; Input: "
    assert lib.get("NQ", "level:simple").query == "Wikipedia Questions; Input: "
    assert lib.get("NQ", "level:detailed") == lib.get("NQ", "instructor-large")


def test_every_tag_and_simple_level_has_the_papers_shape() -> None:
    """A tag is a name; a simple level is one to three capitalised words ending in a plural text type."""
    lib = library()
    for key, levels in lib.levels.items():
        for name in ("tag", "simple"):
            for text in (levels[name].query, levels[name].document):
                assert re.fullmatch(r"[^;:]+; Input: ", text), (key, text)
        for text in (levels["simple"].query, levels["simple"].document):
            words = text.removesuffix("; Input: ").split()
            assert 1 <= len(words) <= 3 and all(w[0].isupper() for w in words if w != "and"), (key, text)
            assert words[-1].endswith("s") or words[-1] == "Evidence", (key, text)
