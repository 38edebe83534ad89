"""Prompt retrieval: demonstration selection on hand-built pools, option scoring against an independent
log-probability computation, and the whole pipeline on MultiRC answerability with a tiny GPT-2."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.app.runner import run_tasks
from harness.benchmarks.prompt_retrieval import PromptSettings
from harness.benchmarks.prompt_retrieval.demonstrations import Budget, cosine, mean_centre, most_similar_first, select
from harness.benchmarks.prompt_retrieval.scoring import rouge_l
from harness.core.benchmark import task_folder
from harness.core.context import RunOptions
from harness.core.errors import HarnessError
from harness.core.instructions import library
from harness.core.interfaces import Demo
from harness.core.results import Unit, record_path
from harness.core.spec import registry
from harness.models.cache import CachedEncoder
from harness.models.encoder import Encoder
from harness.models.lm import CausalLM
from harness.models.stores.sqlite import EmbeddingCache
from tests.conftest import DATA, need, prompt_options

# pool of 2-d vectors at known angles from the test vector (1, 0)
ANGLES = [10, 50, 0, 30, 80, 20]  # degrees; index 2 is the test input itself
POOL = np.array([[np.cos(np.radians(a)), np.sin(np.radians(a))] for a in ANGLES])
TEST = np.array([[1.0, 0.0]])


def test_budget_is_the_task_files_protocol() -> None:
    assert Budget.from_protocol(registry().get("PromptRetrievalAmazon").protocol) == Budget(1000, 250, 2, False)
    assert Budget.from_protocol(registry().get("PromptRetrievalCODA19").protocol) == Budget(1900, None, 16, False)
    assert Budget.from_protocol(registry().get("PromptRetrievalRTE").protocol) == Budget(1000, 250, None, True)


def _pick(lengths: list[int], budget: Budget, test_length: int = 10) -> list[int]:
    scores = cosine(TEST, POOL)[0]
    return select(most_similar_first(scores), scores, lengths, test_length, budget)


def test_nearest_neighbours_least_to_most_similar_and_duplicates() -> None:
    scores = cosine(TEST, POOL)[0]
    assert list(most_similar_first(scores)) == [2, 0, 5, 3, 1, 4]
    big = Budget(10_000, per_demonstration=None)
    assert _pick([1] * 6, big) == [4, 1, 3, 5, 0]  # the duplicate (index 2) skipped; most similar last
    assert _pick([1] * 6, Budget(10_000, per_demonstration=None, skip_duplicates=False)) == [4, 1, 3, 5, 0, 2]


def test_budget_cut_off_per_demonstration_cap_and_count_limits() -> None:
    lengths = [300, 100, 5, 400, 100, 200]  # candidate order: 2 (duplicate), 0, 5, 3, 1, 4; test input 10 tokens
    # cap 250: 0 (300) and 3 (400) are skipped, the walk goes on: 5 -> 210, 1 -> 310, 4 -> 410
    assert _pick(lengths, Budget(1000, per_demonstration=250)) == [4, 1, 5]
    # cap 500: 0 -> 310, 5 -> 510, 3 -> 910, then 1 would make 1010 > 1000: the walk stops there
    assert _pick(lengths, Budget(1000, per_demonstration=500)) == [3, 5, 0]
    # top-2 candidates (Amazon, CivilComments): only 2 and 0 are walked; a capped one is not replaced
    assert _pick(lengths, Budget(1000, per_demonstration=500, candidates=2, skip_duplicates=False)) == [0, 2]
    assert _pick(lengths, Budget(1000, per_demonstration=250, candidates=2, skip_duplicates=False)) == [2]
    assert _pick([1] * 6, Budget(10_000, per_demonstration=None, candidates=16)) == [4, 1, 3, 5, 0]  # CODA: top-16
    assert _pick([1] * 6, Budget(10_000, per_demonstration=None, candidates=3)) == [5, 0]  # duplicate among the 3
    assert _pick([1] * 6, Budget(1000), test_length=1000) == []  # no room at all


def test_mean_centring_changes_the_neighbours() -> None:
    pool = np.array([[10.0, 0.0], [10.0, 1.0], [0.0, 1.0]])  # mean (6.67, 0.67)
    test = np.array([[0.0, 1.0]])
    # raw cosines 0, 0.0995, 1 -> [2, 1, 0]; centred rows (3.33, -0.67), (3.33, 0.33), (-6.67, 0.33) give
    # cosines -0.196, 0.0995, 0.0499 -> [1, 2, 0]
    assert mean_centre(pool).mean(axis=0) == pytest.approx([0, 0])
    assert list(most_similar_first(cosine(test, pool)[0])) == [2, 1, 0]
    assert list(most_similar_first(cosine(test, mean_centre(pool))[0])) == [1, 2, 0]
    assert cosine(test, mean_centre(pool))[0] == pytest.approx([-0.1961, 0.0995, 0.0499], abs=1e-4)


def test_option_scores_match_an_independent_log_probability(lm_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    lm = CausalLM(str(lm_path), device="cpu", batch_size=3)
    demos = [Demo("the cats are good", "True"), Demo("it is rain", "False")]
    contexts = [lm.context(demos, "the dogs are bad"), lm.context([], "hello world")]
    got = lm.option_losses(contexts, ["True", "False", "is good"])
    tok, model = AutoTokenizer.from_pretrained(lm_path), AutoModelForCausalLM.from_pretrained(lm_path).eval()
    for i, ctx in enumerate(contexts):
        for j, option in enumerate(["True", "False", "is good"]):
            opt = tok("\n" + option, add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([ctx + opt])).logits[0], dim=-1)
            want = -np.mean([logp[len(ctx) + k - 1, t].item() for k, t in enumerate(opt)])
            assert got[i, j] == pytest.approx(want, abs=1e-5)
    # MetaICL direct layout: later inputs after "\n\n\n", outputs after "\n", pieces tokenized separately
    assert contexts[0] == (
        lm.ids("the cats are good")
        + lm.ids("\nTrue")
        + lm.ids("\n\n\nit is rain")
        + lm.ids("\nFalse")
        + lm.ids("\n\n\nthe dogs are bad")
    )


def test_rouge_l_is_accuracy_for_labels_and_partial_for_text() -> None:
    assert rouge_l(["True", "False", "True"], ["True", "True", "True"]) == pytest.approx(200 / 3)
    assert 0 < rouge_l(["the cat sat"], ["the cat sat down"]) < 100


@pytest.mark.slow
def test_multirc_pipeline_end_to_end(lm_path: Path, tmp_path: Path) -> None:
    folder = need(DATA / "prompt_retrieval" / "multirc_answerability")
    spec = registry().get("PromptRetrievalMultiRCAnswerability")
    encoder = CachedEncoder(Encoder("minilm", mode="prefix"), EmbeddingCache(tmp_path / "cache.sqlite"))
    opts = prompt_options(DATA, tmp_path, lm_path, "instructor-large", "prefix", lm_batch_size=4, test_size=6)
    [outcome] = run_tasks([spec], lambda: encoder, library(), opts)
    record = outcome.record
    rows = [json.loads(line) for line in Path(record["examples"]).read_text().splitlines()]
    instances = json.loads((folder / "multirc_answerability.json").read_text())["Instances"]
    expected_ids = [str(i) for i in random.Random(0).sample(range(len(instances)), 6)]  # the reference's draw
    assert [r["id"] for r in rows] == expected_ids
    for r in rows:
        assert r["prediction"] in ("True", "False") and r["gold"] in ("True", "False")
        assert r["demonstrations"] and set(r["option_losses"]) == {"True", "False"}
        assert r["gold"] == {"Yes.": "True", "No.": "False"}[instances[int(r["id"])]["output"][0]]
    accuracy = np.mean([r["prediction"] == r["gold"] for r in rows])
    assert outcome.score == pytest.approx(accuracy)  # ROUGE-L of one-word labels = accuracy
    assert record["protocol"]["pool_size"] == 3000 and "gpt-j-6B" in record["protocol"]["deviation"]
    assert record["instructions"][spec.name]["query"]["text"] == "Represent the Wikipedia sentence; Input: "

    # an interrupted run resumes: drop the last two examples (and tear a line), the LM scores only those
    lines = Path(record["examples"]).read_text().splitlines()
    Path(record["examples"]).write_text("\n".join(lines[:4]) + '\n{"id": "torn')
    record_path(task_folder(spec, opts), spec.name).unlink()
    scored: list[int] = []
    original = CausalLM.option_losses

    def counting(self, contexts, options):  # noqa: ANN001, ANN202
        scored.append(len(contexts))
        return original(self, contexts, options)

    CausalLM.option_losses = counting  # type: ignore[method-assign]
    try:
        [again] = run_tasks([spec], lambda: encoder, library(), opts)
    finally:
        CausalLM.option_losses = original  # type: ignore[method-assign]
    assert sum(scored) == 2 and again.score == pytest.approx(outcome.score)


def test_prompt_retrieval_needs_an_lm_and_an_adapter(tmp_path: Path) -> None:
    need(DATA / "prompt_retrieval" / "multirc_answerability")
    opts = RunOptions(Unit("minilm", "t", "none", "none"), tmp_path, DATA, log=lambda *_: None)
    with pytest.raises(HarnessError, match="needs a language model: pass --lm"):
        run_tasks([registry().get("PromptRetrievalMultiRCAnswerability")], lambda: None, library(), opts)
    unknown = registry().get("PromptRetrievalRTE").model_copy(update={"name": "PromptRetrievalNew"})
    with pytest.raises(HarnessError, match="PromptRetrievalNew.*adapter is not written yet"):
        run_tasks([unknown], lambda: None, library(), opts)


@pytest.mark.slow
def test_cli_run_writes_per_example_records(lm_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    need(DATA / "prompt_retrieval" / "multirc_answerability")
    args = [
        "run",
        "--model",
        "minilm",
        "--tasks",
        "PromptRetrievalMultiRCAnswerability",
        "--lm",
        str(lm_path),
        "--lm-device",
        "cpu",
        "--test-size",
        "3",
        "--data-dir",
        str(DATA),
        "--output-dir",
        str(tmp_path),
    ]
    assert main(args) == 0
    assert "PromptRetrievalMultiRCAnswerability" in capsys.readouterr().out
    [records] = list(tmp_path.rglob("PromptRetrievalMultiRCAnswerability.examples.jsonl"))
    assert "demos=similar,test=3" in str(records.parent)
    rows = [json.loads(line) for line in records.read_text().splitlines()]
    assert len(rows) == 3 and all({"id", "demonstrations", "prediction", "gold"} <= set(r) for r in rows)


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_hf_task_formats_and_sampling_follow_the_reference(tmp_path: Path) -> None:
    """get_task.py's strings for RTE and HellaSwag; RTE's whole train split is the pool (no draw), then
    random.seed(0) draws the test rows."""
    from harness.benchmarks.prompt_retrieval.tasks import ADAPTERS

    _jsonl(
        tmp_path / "prompt_retrieval/rte/train.jsonl",
        [{"sentence1": f"Cats sleep {i}", "sentence2": "Cats rest", "label": i % 2} for i in range(5)],
    )
    _jsonl(
        tmp_path / "prompt_retrieval/rte/validation.jsonl",
        [{"sentence1": f"Dogs bark {i}", "sentence2": "Dogs are loud", "label": 1} for i in range(9)],
    )
    spec = registry().get("PromptRetrievalRTE")
    spec = spec.model_copy(update={"protocol": spec.protocol.model_copy(update={"test_size": 3})})
    sample = ADAPTERS["PromptRetrievalRTE"].load(spec, tmp_path)
    pool, tests = sample.pool, sample.tests
    assert [e.id for e in pool] == ["0", "1", "2", "3", "4"]
    assert [e.id for e in tests] == [str(i) for i in random.Random(0).sample(range(9), 3)]
    assert pool[1].embed_text == "Cats sleep 1.\nquestion: Cats rest"
    assert pool[1].lm_input == "Cats sleep 1.\nquestion: Cats rest. True or False?\nanswer:"
    assert (pool[0].gold, pool[1].gold) == ("True", "False")

    row = {
        "activity_label": "Cooking",
        "ctx_a": "A man cuts bread.",
        "ctx_b": "he",
        "label": "2",
        "endings": ["sings.", "runs.", "eats it.", "flies."],
    }
    other = {**row, "ctx_a": "A dog waits.", "label": "0", "endings": ["barks.", "sleeps.", "eats.", "sits."]}
    _jsonl(tmp_path / "prompt_retrieval/hellaswag/train.jsonl", [row] * 4)
    _jsonl(tmp_path / "prompt_retrieval/hellaswag/validation.jsonl", [row, other])
    hs = registry().get("PromptRetrievalHellaSwag")
    by_id = {e.id: e for e in ADAPTERS["PromptRetrievalHellaSwag"].load(hs, tmp_path).tests}
    example, second = by_id["0"], by_id["1"]
    assert second.options == ("barks.", "sleeps.", "eats.", "sits.") and second.gold == "barks."
    assert example.embed_text == "The topic is Cooking. A man cuts bread. he | sings. | runs. | eats it. | flies."
    assert example.lm_input == "The topic is Cooking. A man cuts bread. he "
    assert example.gold == "eats it." and example.options == ("sings.", "runs.", "eats it.", "flies.")


def test_missing_local_split_fails_before_any_model(tmp_path: Path) -> None:
    opts = RunOptions(
        Unit("minilm", "t", "none", "none"),
        tmp_path,
        tmp_path,
        log=lambda *_: None,
        settings={"prompt-retrieval": PromptSettings(lm="unused")},
    )
    with pytest.raises(HarnessError, match=r"missing .*prompt_retrieval/sst5/train.jsonl"):
        run_tasks([registry().get("PromptRetrievalSST5")], lambda: None, library(), opts)


@pytest.mark.slow
def test_geoquery_generation_pipeline(lm_path: Path, tmp_path: Path) -> None:
    """The plain layout (database prompt, '-- question\\nquery' demonstrations, then '-- question\\nSELECT') and
    greedy generation cut at the stop strings, with ROUGE-L against the gold SQL."""
    need(DATA / "prompt_retrieval" / "geoquery")
    from harness.benchmarks.prompt_retrieval.tasks import geoquery

    spec = registry().get("PromptRetrievalGeoQuery")
    encoder = CachedEncoder(Encoder("minilm", mode="prefix"), EmbeddingCache(tmp_path / "cache.sqlite"))
    opts = prompt_options(DATA, tmp_path, lm_path, variant="instructor-large", mode="prefix", test_size=2)
    seen: list[list[int]] = []
    original = CausalLM.generate

    def spy(self, context, max_new_tokens, stop):  # noqa: ANN001, ANN202
        seen.append(context)
        return original(self, context, max_new_tokens, stop)

    CausalLM.generate = spy  # type: ignore[method-assign]
    try:
        [outcome] = run_tasks([spec], lambda: encoder, library(), opts)
    finally:
        CausalLM.generate = original  # type: ignore[method-assign]
    rows = [json.loads(line) for line in Path(outcome.record["examples"]).read_text().splitlines()]
    train = json.loads((DATA / "prompt_retrieval/geoquery/geoquery_train.json").read_text())
    test = json.loads((DATA / "prompt_retrieval/geoquery/geoquery_eval.json").read_text())
    lm = CausalLM(str(lm_path), device="cpu")
    for row, context in zip(rows, seen, strict=True):
        assert row["prediction"].startswith("SELECT ") and row["gold"] == test[int(row["id"])]["query"]
        demos = "".join(f"-- {train[int(i)]['question']}\n{train[int(i)]['query']}\n\n" for i in row["demonstrations"])
        question = test[int(row["id"])]["question"]
        database = geoquery.db_prompt(DATA / "prompt_retrieval/geoquery/geography.sqlite", question)
        prompt = database + geoquery.INSTRUCTIONS + demos
        assert context == lm.ids(prompt + f"-- {test[int(row['id'])]['question']}\nSELECT")
        assert len(context) <= 1024 - 50  # the budget shrinks to the LM's window less the answer's tokens
    assert outcome.record["scores"]["token_budget"] == 1024 - 50
    assert "temperature 0.7" in outcome.record["data"]["deviation"]
    assert outcome.score == pytest.approx(rouge_l([r["prediction"] for r in rows], [r["gold"] for r in rows]) / 100)


def test_hellaswag_scores_each_examples_own_endings(lm_path: Path, tmp_path: Path) -> None:
    """Every row has endings of its own and its gold at its own position, so scoring one example with another's
    endings (or its gold with another's label) changes the records."""
    words = ["good", "bad", "rain", "sun", "cats", "dogs", "the", "is"]
    rows = [
        {
            "activity_label": "Cooking",
            "ctx_a": f"the cats {i}",
            "ctx_b": "is",
            "label": str(i % 4),
            "endings": [words[(i + k) % len(words)] for k in range(4)],
        }
        for i in range(6)
    ]
    _jsonl(tmp_path / "prompt_retrieval/hellaswag/train.jsonl", rows)
    _jsonl(tmp_path / "prompt_retrieval/hellaswag/validation.jsonl", rows[:3])
    outcome, records = _run_with("PromptRetrievalHellaSwag", {"test_size": 3}, tmp_path, lm_path, tmp_path)
    assert sorted(r["id"] for r in records) == ["0", "1", "2"]
    for r in records:
        own = rows[int(r["id"])]
        assert r["options"] == own["endings"] and list(r["option_losses"]) == own["endings"]
        assert r["gold"] == own["endings"][int(own["label"])]
        assert r["prediction"] == min(r["option_losses"], key=r["option_losses"].get)
    assert outcome.record["scores"]["accuracy"] == pytest.approx(
        np.mean([r["prediction"] == r["gold"] for r in records])
    )


def _run_with(spec_name: str, protocol: dict, root: Path, lm_path: Path, tmp_path: Path):  # noqa: ANN202
    spec = registry().get(spec_name)
    spec = spec.model_copy(update={"protocol": spec.protocol.model_copy(update=protocol)})
    encoder = CachedEncoder(Encoder("minilm", mode="none"), EmbeddingCache(tmp_path / "cache.sqlite"))
    opts = prompt_options(root, tmp_path, lm_path)
    [outcome] = run_tasks([spec], lambda: encoder, library(), opts)
    return outcome, [json.loads(line) for line in Path(outcome.record["examples"]).read_text().splitlines()]


def test_amazon_scores_the_third_lowest_reviewer_group(lm_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "prompt_retrieval/amazon"
    folder.mkdir(parents=True)
    train = [{"text": f"good product {i}\nreally", "label": i % 5, "meta": [99, 0]} for i in range(12)]
    test = [{"text": f"review {r}-{k}", "label": (r + k) % 5, "meta": [r, 0]} for r in range(4) for k in range(3)]
    (folder / "amazon_train.json").write_text(json.dumps(train))
    (folder / "amazon_test.json").write_text(json.dumps(test))
    outcome, rows = _run_with(
        "PromptRetrievalAmazon", {"pool_size": 8, "test_groups": 3, "per_group": 2}, tmp_path, lm_path, tmp_path
    )
    groups = outcome.record["scores"]["group_accuracy"]
    assert len(groups) == 3 and len(rows) == 6
    third_lowest = sorted(groups, key=groups.get)[2]
    assert outcome.record["scores"]["scored_group"] == third_lowest
    assert outcome.score == pytest.approx(groups[third_lowest])  # ROUGE-L of labels = accuracy of that group
    assert all(len(r["demonstrations"]) <= 2 for r in rows)  # top-2 candidates
    assert {r["gold"] for r in rows} <= {"very negative", "negative", "neutral", "positive", "very positive"}


def test_civil_comments_tests_the_toxic_identity_subgroup(lm_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "prompt_retrieval/civil"
    folder.mkdir(parents=True)
    train = [{"text": f"comment {i}", "label": i % 2, "meta": [0, 0, 0, i % 2]} for i in range(10)]
    test = [{"text": f"test {i}", "label": i % 2, "meta": [0, 0, 0, (i // 2) % 2]} for i in range(16)]
    (folder / "civil_train.json").write_text(json.dumps(train))
    (folder / "civil_test.json").write_text(json.dumps(test))
    _, rows = _run_with("PromptRetrievalCivilComments", {"test_size": 3}, tmp_path, lm_path, tmp_path)
    subgroup = {str(i) for i, t in enumerate(test) if t["meta"][3] == 1 and t["label"] == 1}
    assert len(rows) == 3 and {r["id"] for r in rows} <= subgroup
    assert {r["gold"] for r in rows} == {"negative"}  # label 1 -> "negative" in main_civil.py's label_map


def test_coda_generates_titles_after_plain_demonstrations(
    lm_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CODA's score is the reference's: generated tokens decoded one by one and joined with spaces (`prediction`),
    the decoded text beside (`prediction_text`, `rougeL_text`). The tiny GPT-2 decodes with spaces, so pieces and
    text are made to differ here: a pipeline that scored the decoded text would pass otherwise."""
    folder = tmp_path / "prompt_retrieval/coda"
    folder.mkdir(parents=True)
    instances = [{"id": str(i), "input": f"the cats are good {i}", "output": ["Coronavirus cases"]} for i in range(12)]
    (folder / "coda_title_gen.json").write_text(json.dumps({"Instances": instances}))
    monkeypatch.setattr(CausalLM, "pieces", lambda self, ids: ["Cor", "onav", "irus", " cases", "\n", "x"])
    monkeypatch.setattr(CausalLM, "text", lambda self, ids, stop: "Coronavirus cases")
    outcome, rows = _run_with("PromptRetrievalCODA19", {"pool_size": 8, "test_size": 3}, tmp_path, lm_path, tmp_path)
    assert [r["id"] for r in rows] == [str(i) for i in random.Random(0).sample(range(12), 3)]
    assert [r["prediction"] for r in rows] == ["Cor onav irus  cases"] * 3  # joined up to the stop, as the reference
    assert [r["prediction_text"] for r in rows] == ["Coronavirus cases"] * 3
    assert outcome.score == pytest.approx(rouge_l(["Cor onav irus  cases"] * 3, ["Coronavirus cases"] * 3) / 100)
    assert outcome.score < 1 and outcome.record["scores"]["rougeL_text"] == pytest.approx(1.0)


def test_coda_predictions_join_tokens_as_the_reference() -> None:
    from harness.benchmarks.prompt_retrieval.scoring import joined_tokens

    stop = ["--", "\n", ";", "#"]
    # the first token never stops; "\n" does (spaces stripped); "\n\n" is not a stop string
    assert joined_tokens(["\n", "Cor", "onav", "irus", " cases", "\n", "write"], stop) == "\n Cor onav irus  cases"
    assert joined_tokens(["A", " title", "\n\n", "write"], stop) == "A  title \n\n write"
    assert joined_tokens(["A", " ;"], stop) == "A"
    # to ROUGE-L the split word is three other words: no credit
    assert rouge_l([joined_tokens(["Cor", "onav", "irus"], stop)], ["Coronavirus"]) == 0


@pytest.mark.slow
def test_random_demonstrations_are_the_same_after_a_resume(lm_path: Path, tmp_path: Path) -> None:
    need(DATA / "prompt_retrieval" / "multirc_answerability")
    spec = registry().get("PromptRetrievalMultiRCAnswerability")
    encoder = CachedEncoder(Encoder("minilm", mode="none"), EmbeddingCache(tmp_path / "cache.sqlite"))
    opts = prompt_options(DATA, tmp_path, lm_path, lm_batch_size=2, demos="random", test_size=4)
    [whole] = run_tasks([spec], lambda: encoder, library(), opts)
    path = Path(whole.record["examples"])
    first = [json.loads(line)["demonstrations"] for line in path.read_text().splitlines()]
    path.write_text("\n".join(path.read_text().splitlines()[:2]) + "\n")  # interrupted after one batch
    record_path(task_folder(spec, opts), spec.name).unlink()
    run_tasks([spec], lambda: encoder, library(), opts)
    assert [json.loads(line)["demonstrations"] for line in path.read_text().splitlines()] == first
    assert first[0] != first[1]  # random, not the same draw for every example


def test_the_embedded_text_is_the_task_files_template(tmp_path: Path) -> None:
    """What the embedding model sees comes from `input_template` in the task file (it used to be a code lambda
    that disagreed with the file for Amazon): editing the file changes the text, and Amazon's drops newlines."""
    from harness.benchmarks.prompt_retrieval.tasks import ADAPTERS

    _jsonl(tmp_path / "prompt_retrieval/sst5/train.jsonl", [{"text": f"fine {i}", "label": 3} for i in range(3)])
    _jsonl(tmp_path / "prompt_retrieval/sst5/test.jsonl", [{"text": "fine", "label": 3}])
    spec = registry().get("PromptRetrievalSST5")
    assert ADAPTERS[spec.name].load(spec, tmp_path).pool[0].embed_text == "fine 0"
    edited = spec.protocol.model_copy(update={"input_template": "review: {{ text }}!"})
    assert ADAPTERS[spec.name].load(spec.model_copy(update={"protocol": edited}), tmp_path).pool[0].embed_text == (
        "review: fine 0!"
    )
    amazon = registry().get("PromptRetrievalAmazon")
    assert amazon.embed_text({"text": "great\nproduct\n"}) == "greatproduct"


def test_another_lm_in_a_folder_of_the_same_name_is_not_resumed(lm_path: Path, tmp_path: Path) -> None:
    """Prompt-retrieval results were keyed by the LM folder's name: other weights in a folder of the same name were
    reported as done (40.62 where they score 46.88). The fingerprint holds the LM's weights digest; --overwrite
    then rescores every example (it used to make 0 LM calls)."""
    import shutil

    _jsonl(tmp_path / "prompt_retrieval/sst5/train.jsonl", [{"text": f"fine {i}", "label": i % 5} for i in range(6)])
    _jsonl(tmp_path / "prompt_retrieval/sst5/test.jsonl", [{"text": f"good {i}", "label": i % 5} for i in range(3)])
    lm = tmp_path / "lms" / "tiny-gpt2"
    shutil.copytree(lm_path, lm)
    outcome, first = _run_with("PromptRetrievalSST5", {"test_size": 3}, tmp_path, lm, tmp_path)
    assert outcome.status == "done" and len(first) == 3
    from safetensors.torch import load_file, save_file

    weights = lm / "model.safetensors"
    save_file({k: v + 0.05 for k, v in load_file(weights).items()}, weights, metadata={"format": "pt"})  # same name
    with pytest.raises(HarnessError, match=r"computed from other inputs: PromptRetrievalSST5 \(settings.lm_revision\)"):
        _run_with("PromptRetrievalSST5", {"test_size": 3}, tmp_path, lm, tmp_path)
    spec = registry().get("PromptRetrievalSST5")
    spec = spec.model_copy(update={"protocol": spec.protocol.model_copy(update={"test_size": 3})})
    encoder = CachedEncoder(Encoder("minilm", mode="none"), EmbeddingCache(tmp_path / "cache.sqlite"))
    opts = prompt_options(tmp_path, tmp_path, lm)
    opts.overwrite = True
    [again] = run_tasks([spec], lambda: encoder, library(), opts)
    rows = [json.loads(line) for line in Path(again.record["examples"]).read_text().splitlines()]
    assert len(rows) == 3 and [r["option_losses"] for r in rows] != [r["option_losses"] for r in first]


def test_two_writers_never_interleave_one_examples_file(lm_path: Path, tmp_path: Path) -> None:
    """A second run on the same examples file (two jobs on one output folder) refuses instead of appending."""
    import fcntl

    _jsonl(tmp_path / "prompt_retrieval/sst5/train.jsonl", [{"text": f"fine {i}", "label": i % 5} for i in range(6)])
    _jsonl(tmp_path / "prompt_retrieval/sst5/test.jsonl", [{"text": f"good {i}", "label": i % 5} for i in range(3)])
    outcome, _ = _run_with("PromptRetrievalSST5", {"test_size": 3}, tmp_path, lm_path, tmp_path)
    examples = Path(outcome.record["examples"])
    record_path(examples.parent, "PromptRetrievalSST5").unlink()  # as if the first run were still going
    with examples.open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(HarnessError, match=r"another run is scoring these examples right now"):
            _run_with("PromptRetrievalSST5", {"test_size": 3}, tmp_path, lm_path, tmp_path)
    resumed, rows = _run_with("PromptRetrievalSST5", {"test_size": 3}, tmp_path, lm_path, tmp_path)
    assert resumed.status == "done" and len(rows) == 3  # once free, the finished examples are reused, not repeated


def test_amazon_group_at_every_rank_is_one_definition_for_scorer_and_statistic() -> None:
    """Seven reviewers with seven different accuracies, so every rank is another group: the scorer's pick and the
    per-item statistic (k = rank + 1) agree with the hand-sorted accuracies at every rank. A rank one off in either
    (the 3-group end-to-end test cannot see it: rank 2 of 3 is also the last) fails here."""
    from harness.benchmarks.prompt_retrieval.scoring import group_at_rank
    from harness.benchmarks.prompt_retrieval.types import Example
    from harness.core.items import Items, Stratum

    accuracy = {"r0": 4, "r1": 0, "r2": 8, "r3": 2, "r4": 6, "r5": 1, "r6": 7}  # correct answers out of 8
    tests, rows = [], []
    for name, right in accuracy.items():
        for k in range(8):
            tests.append(Example(f"{name}-{k}", "t", "t", "pos", group=name))
            rows.append({"prediction": "pos" if k < right else "neg", "gold": "pos"})
    groups = np.asarray([e.group for e in tests])
    correct = np.asarray([float(r["prediction"] == r["gold"]) for r in rows])
    by_accuracy = sorted(accuracy, key=accuracy.__getitem__)
    for rank, expected in enumerate(by_accuracy):
        chosen, extra = group_at_rank(tests, rows, rank)
        assert extra["scored_group"] == expected and len(chosen) == 8
        stratum = Stratum("", "kth_lowest_group_mean", {"value": correct}, group=groups, k=rank + 1)
        assert Items([stratum]).score() == accuracy[expected] / 8


def test_its_settings_come_through_its_own_hook_and_a_misspelt_one_is_refused() -> None:
    """`--lm`, `--test-size`, ... are prompt retrieval's (`settings.py`), reach it as `RunOptions.settings`, and
    `--limit` caps the test size; a keyword no benchmark reads used to be dropped without a word."""
    from harness.app.api import RunRequest, prepare, split_settings
    from harness.benchmarks.prompt_retrieval import settings
    from harness.core.errors import UsageError

    request = RunRequest(tasks=["SmokeSTS"], limit=3, **split_settings({"lm": "x", "test_size": 5, "demos": "random"}))
    opts = prepare(request).options
    assert opts.settings["prompt-retrieval"].test_size == 5  # as given; the unit's limit caps it where it is read
    chosen = settings(opts)
    assert (chosen.lm, chosen.test_size, chosen.demos) == ("x", 3, "random")
    with pytest.raises(UsageError, match=r"unknown run setting 'lm_batchsize'\. Did you mean: lm_batch_size"):
        prepare(RunRequest(tasks=["SmokeSTS"], settings={"lm_batchsize": 4}))
    # values are checked as the flags check them: `demos="zeroshot"` used to run random demonstrations, filed
    # under demos=zeroshot; a test size of 0 or "many" reached the evaluation
    with pytest.raises(UsageError, match=r"unknown demos \(--demos\) 'zeroshot'\. Did you mean: zero-shot"):
        prepare(RunRequest(tasks=["SmokeSTS"], **split_settings({"demos": "zeroshot"})))
    for size in (0, "many"):
        with pytest.raises(UsageError, match=rf"test_size={size!r} \(--test-size\)"):
            prepare(RunRequest(tasks=["SmokeSTS"], **split_settings({"test_size": size})))
    assert (
        settings(prepare(RunRequest(tasks=["SmokeSTS"], **split_settings({"test_size": "7"}))).options).test_size == 7
    )
