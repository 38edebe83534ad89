"""MultiWOZ (IC-DST text-to-SQL state tracking): SQL both ways, typo fixes, state updates and metrics by hand,
the reference's sampling and prompt text, and a whole run with scripted completions, resumed mid-dialogue."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.app.runner import run_tasks
from harness.benchmarks.prompt_retrieval import PromptSettings
from harness.benchmarks.prompt_retrieval.evaluate import plain_prompt
from harness.benchmarks.prompt_retrieval.scoring import rouge_l
from harness.benchmarks.prompt_retrieval.tasks import ADAPTERS
from harness.benchmarks.prompt_retrieval.tasks.multiwoz import tracker as mw
from harness.core.benchmark import task_folder
from harness.core.context import RunOptions
from harness.core.errors import HarnessError
from harness.core.instructions import library
from harness.core.results import Unit, record_path
from harness.core.spec import registry
from harness.models.cache import CachedEncoder
from harness.models.encoder import Encoder
from harness.models.lm import CausalLM
from harness.models.stores.sqlite import EmbeddingCache
from tests.conftest import DATA, need, prompt_options


def test_state_changes_become_sql_and_back() -> None:
    one_table = {"hotel-area": "centre", "hotel-book stay": "3"}
    assert mw.change_sql(one_table) == "SELECT * FROM hotel WHERE area = centre AND book_stay = 3"
    assert mw.rename(mw.change_sql(one_table)) == "SELECT * FROM hotel WHERE area = centre AND book_number_of_days = 3"
    two_tables = {"hotel-name": "acorn guest house", "train-leaveat": "09:00|09:15"}  # "a|b": the first is shown
    sql = mw.change_sql(two_tables)
    assert sql == "SELECT * FROM hotel AS t1, train AS t2 WHERE t1.name = acorn guest house AND t2.leaveat = 09:00"
    assert mw.change_sql({}) == "SELECT * FROM  WHERE "  # a turn that changes nothing
    # the LM completes "SELECT * FROM"
    assert mw.parse_sql(sql.removeprefix("SELECT * FROM")) == {
        "hotel-name": "acorn guest house",
        "train-leaveat": "09:00",
    }
    assert mw.parse_sql(" hotel WHERE area = centre AND book_stay = 3") == one_table
    assert mw.parse_sql("  WHERE ") == {}
    assert mw.parse_sql(" restaurant WHERE food LIKE 'italian'") == {"restaurant-food": "italian"}
    assert mw.rename(" restaurant WHERE food_type = thai AND depart_time = 10:00", back=True) == (
        " restaurant WHERE food = thai AND leaveat = 10:00"
    )
    for broken in ("hotel", " hotel AS"):  # the reference's parser fails on these too
        with pytest.raises((ValueError, IndexError)):
            mw.parse_sql(broken)


def test_typo_fixes_use_the_ontology() -> None:
    ontology = {"hotel-name": ["acorn guest house", "the lensfield hotel"], "attraction-name": ["kings college"]}
    fixed = mw.fix_typos(
        {
            "hotel-area": "center",  # whole-value fix
            "hotel-name": "the acorn",  # "the " dropped, " guest house" added: an ontology entity
            "train-leaveat": "9:30",  # 09:30
            "attraction-name": "king s college",  # 's re-attached
            "restaurant-name": "nowhere",  # an entity slot with no matching entity: dropped
            "restaurant-book day": "wendesday",
        },
        ontology,
    )
    assert fixed == {
        "hotel-area": "centre",
        "hotel-name": "acorn guest house",
        "train-leaveat": "09:30",
        "attraction-name": "kings college",
        "restaurant-book day": "wednesday",
    }
    assert mw.fix_typos({"hotel-name": "lensfield"}, ontology) == {"hotel-name": "the lensfield hotel"}


def test_real_ontology_fixes() -> None:
    need(DATA / "prompt_retrieval" / "multiwoz")
    ontology = json.loads((DATA / "prompt_retrieval/multiwoz/mw24_ontology.json").read_text())
    assert len(ontology) == 31
    fixed = mw.fix_typos({"hotel-name": "acorn", "restaurant-food": "portugese", "hotel-type": "guesthouse"}, ontology)
    assert fixed == {"hotel-name": "acorn guest house", "restaurant-food": "portuguese", "hotel-type": "guest house"}


def test_state_updates_gold_alternatives_and_metrics_by_hand() -> None:
    previous = {"hotel-area": "centre", "hotel-stars": "4"}
    assert mw.update(previous, {"hotel-stars": mw.DELETE, "hotel-parking": "yes|free"}) == {
        "hotel-area": "centre",
        "hotel-parking": "yes",
    }
    gold = {"hotel-parking": "yes|free", "hotel-area": "east|centre"}
    assert mw.resolve_gold(gold, {"hotel-area": "centre"}) == {"hotel-parking": "yes|free", "hotel-area": "centre"}
    assert mw.state_text({"taxi-leaveat": "10:00", "hotel-area": "east"}) == "hotel-area east taxi-leaveat 10:00"
    assert mw.state_text({"": ","}) == ","  # a garbled parse: the reference strips its line
    gold = {"hotel-area": "east", "hotel-stars": "4", "hotel-parking": "yes"}
    predicted = {"hotel-area": "east", "hotel-stars": "3", "hotel-internet": "yes"}
    # missed: stars 4, parking yes (2); wrong: internet (stars 3 is a missed slot, counted once) -> (30 - 3) / 30
    assert mw.slot_accuracy(gold, predicted) == pytest.approx(27 / 30)
    assert mw.slot_f1(gold, predicted) == pytest.approx(1 / 3)  # 1 hit of 3 predicted, of 3 gold
    assert mw.slot_f1({}, {}) == 1 and mw.slot_f1({}, predicted) == 0 and mw.slot_f1(gold, {}) == 0


def _dialogue(did: str, domains: list[str], turns: list[tuple[str, str, dict]]) -> list[dict]:
    """IC-DST turns (mw24_100p_*.json): each (system, user, change); states accumulate."""
    rows: list[dict] = []
    state: dict = {}
    for n, (_, _, change) in enumerate(turns):
        rows.append(
            {
                "ID": did,
                "turn_id": n,
                "domains": domains,
                "dialog": {"sys": [t[0] for t in turns[: n + 1]], "usr": [t[1] for t in turns[: n + 1]]},
                "slot_values": {**state, **change},
                "turn_slot_values": change,
                "last_slot_values": state,
            }
        )
        state = {**state, **change}
    return rows


TRAIN = [
    *_dialogue(
        "T1.json",
        ["hotel"],
        [
            ("none", "i need a hotel in the centre", {"hotel-area": "centre"}),
            ("how many stars ?", "4 stars please", {"hotel-stars": "4"}),
        ],
    ),
    *_dialogue("T2.json", ["restaurant"], [("none", "cheap food please", {"restaurant-pricerange": "cheap"})]),
    *_dialogue("T3.json", ["police"], [("none", "i was robbed", {})]),  # outside the five domains: dropped
    *_dialogue(
        "T4.json",
        ["train", "taxi"],
        [("none", "a train at 9 and a taxi", {"train-leaveat": "09:00|09:15", "taxi-destination": "cambridge"})],
    ),
]
TEST = [
    *_dialogue(
        "E1.json",
        ["hotel"],
        [
            ("none", "find me a hotel in the east", {"hotel-area": "east"}),
            ("anything else ?", "with free parking", {"hotel-parking": "yes|free"}),
        ],
    ),
    *_dialogue("E2.json", ["restaurant"], [("none", "i want chinese food", {"restaurant-food": "chinese"})]),
]
ONTOLOGY = {"restaurant-food": ["chinese", "italian"], "hotel-name": ["acorn guest house"]}
COMPLETIONS = {  # what the scripted LM answers for each test turn
    "E1.json_turn_0": " hotel WHERE area = east AND stars = 4",  # one slot too many
    "E1.json_turn_1": " hotel WHERE parking = free AND stars = [DELETE]",  # ... taken back
    "E2.json_turn_0": " restaurant WHERE food_type = chinse",  # not in the ontology: no change
}


def _data(root: Path) -> Path:
    folder = root / "prompt_retrieval" / "multiwoz"
    folder.mkdir(parents=True)
    (folder / "mw24_100p_train.json").write_text(json.dumps(TRAIN))
    (folder / "mw24_100p_test.json").write_text(json.dumps(TEST))
    (folder / "mw24_ontology.json").write_text(json.dumps(ONTOLOGY))
    return root


def _spec(**protocol: Any):  # noqa: ANN202
    spec = registry().get("PromptRetrievalMultiWOZ")
    return spec.model_copy(update={"protocol": spec.protocol.model_copy(update=protocol)})


def test_sampling_and_prompt_follow_main_mwoz(tmp_path: Path) -> None:
    sample = ADAPTERS["PromptRetrievalMultiWOZ"].load(_spec(pool_dialogues=2), _data(tmp_path))
    rng = random.Random(0)  # main_mwoz.py: random.sample of dialogue ids, then random.shuffle of test dialogues
    chosen = rng.sample(["T1.json", "T2.json", "T4.json"], 2)
    test_order = [["E1.json_turn_0", "E1.json_turn_1"], ["E2.json_turn_0"]]
    rng.shuffle(test_order)
    turns = {
        "T1.json": ["T1.json_turn_0", "T1.json_turn_1"],
        "T2.json": ["T2.json_turn_0"],
        "T4.json": ["T4.json_turn_0"],
    }
    assert [e.id for e in sample.pool] == [t for d in chosen for t in turns[d]]
    assert [e.id for e in sample.tests] == [t for d in test_order for t in d]
    first = next(e for e in sample.tests if e.id == "E1.json_turn_0")
    assert first.embed_text == "[system]  [user] find me a hotel in the east"  # no instruction, 'none' -> ''

    # a test turn after two demonstrations, with the state predicted for its previous turn
    train = mw.read_dialogues(tmp_path / "prompt_retrieval/multiwoz/mw24_100p_train.json")
    assert list(train) == ["T1.json", "T2.json", "T4.json"]
    examples = [
        replace(first, id=t.name, demo_text=mw.demonstration(t)) for t in (train["T4.json"][0], train["T1.json"][1])
    ]
    assert sample.tracker is not None
    asked = replace(
        first, id="E1.json_turn_1", lm_input=sample.tracker.question("E1.json_turn_1", {"hotel-area": "east"})
    )
    prompt = plain_prompt(ADAPTERS["PromptRetrievalMultiWOZ"], asked, examples)
    assert prompt == (
        mw.rename(mw.SCHEMA)
        + "\n"
        + "Example #0\n[context] \n[system] \nQ: [user] a train at 9 and a taxi\n"
        + "SQL: SELECT * FROM train AS t1, taxi AS t2 WHERE t1.depart_time = 09:00 AND t2.destination = cambridge;\n\n\n"
        + "Example #1\n[context] hotel-area: centre\n[system] how many stars ?\nQ: [user] 4 stars please\n"
        + "SQL: SELECT * FROM hotel WHERE stars = 4;\n\n\n"
        + "Example #2\n[context] hotel-area: east\n[system] anything else ?\nQ: [user] with free parking\n"
        + "SQL: SELECT * FROM"
    )
    assert "food_type text" in prompt and "depart_time text" in prompt  # the schema's columns renamed too


def test_missing_dialogue_files_and_malformed_turns_are_named(tmp_path: Path) -> None:
    opts = RunOptions(Unit("minilm", "t", "none", "none"), tmp_path, tmp_path, log=lambda *_: None)
    opts.prompt = PromptSettings(lm="x")
    with pytest.raises(HarnessError, match="mw24_100p_train.json.*icl-selective-annotation"):
        run_tasks([_spec()], lambda: None, library(), opts)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"ID": "x", "turn_id": 0}]))
    with pytest.raises(HarnessError, match="turn 0 is not an IC-DST turn"):
        mw.read_dialogues(bad)


def _run(root: Path, lm_path: Path, tmp_path: Path, seen: list[tuple[str, list[int]]]) -> tuple[Any, list[dict]]:
    """A run whose LM answers each turn from COMPLETIONS (the turn found from the call order)."""
    spec = _spec(max_new_tokens=20)  # the tiny LM's window is 1,024 tokens
    encoder = CachedEncoder(Encoder("minilm", mode="none"), EmbeddingCache(tmp_path / "cache.sqlite"))
    opts = prompt_options(root, tmp_path, lm_path, variant="instructor-large")
    records = task_folder(spec, opts) / f"{spec.name}.examples.jsonl"
    done = {json.loads(line)["id"] for line in records.read_text().splitlines()} if records.exists() else set()
    todo = [e.id for e in ADAPTERS[spec.name].load(spec, root).tests if e.id not in done]

    def scripted(self: CausalLM, context: list[int], max_new_tokens: int, stop: list[str]) -> str:
        name = todo[len(seen)]
        seen.append((name, context))
        return COMPLETIONS[name]

    original = CausalLM.generate
    CausalLM.generate = scripted  # type: ignore[method-assign]
    try:
        [outcome] = run_tasks([spec], lambda: encoder, library(), opts)
    finally:
        CausalLM.generate = original  # type: ignore[method-assign]
    return outcome, [json.loads(line) for line in records.read_text().splitlines()]


def test_dialogue_state_tracking_run_and_resume(lm_path: Path, tmp_path: Path) -> None:
    root = _data(tmp_path / "data")
    seen: list[tuple[str, list[int]]] = []
    outcome, rows = _run(root, lm_path, tmp_path, seen)
    by_id = {r["id"]: r for r in rows}
    assert by_id["E1.json_turn_0"]["state"] == {"hotel-area": "east", "hotel-stars": "4"}
    assert by_id["E1.json_turn_1"]["previous_state"] == {
        "hotel-area": "east",
        "hotel-stars": "4",
    }  # predicted, not gold
    assert by_id["E1.json_turn_1"]["state"] == {"hotel-area": "east", "hotel-parking": "free"}
    assert by_id["E1.json_turn_1"]["gold"] == "hotel-area east hotel-parking free"  # "yes|free" accepts "free"
    assert by_id["E2.json_turn_0"]["state"] == {} and by_id["E2.json_turn_0"]["prediction"] == ""
    scores = outcome.record["scores"]
    assert scores["joint_goal_accuracy"] == pytest.approx(1 / 3)
    assert scores["slot_accuracy"] == pytest.approx((29 / 30 + 1 + 29 / 30) / 3)  # one wrong, none, one missed
    assert scores["slot_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert outcome.score == pytest.approx(rouge_l([r["prediction"] for r in rows], [r["gold"] for r in rows]) / 100)
    # ROUGE-L F by hand: "hotel area east hotel stars 4" against "hotel area east": LCS 3, P 3/6, R 1 -> 2/3;
    # then an exact state (1) and an empty prediction (0)
    assert outcome.score == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert scores["token_budget"] == 1024 - 20

    # the second turn's prompt: its demonstrations, then the turn with the predicted state
    lm = CausalLM(str(lm_path), device="cpu")
    task = ADAPTERS["PromptRetrievalMultiWOZ"]
    sample = task.load(_spec(), root)
    pool = {e.id: e for e in sample.pool}
    second = next(e for e in sample.tests if e.id == "E1.json_turn_1")
    asked = replace(
        second,
        lm_input="[context] hotel-area: east, hotel-stars: 4\n[system] anything else ?\nQ: [user] with free parking\nSQL: SELECT * FROM",
    )
    expected = plain_prompt(task, asked, [pool[i] for i in by_id["E1.json_turn_1"]["demonstrations"]])
    assert dict(seen)["E1.json_turn_1"] == lm.ids(expected)
    assert all(len(context) <= 1024 - 20 for _, context in seen) and by_id["E1.json_turn_1"]["demonstrations"]

    # interrupted after the first turn: the rest resumes from the recorded prediction
    records = Path(outcome.record["examples"])
    records.write_text(records.read_text().splitlines()[0] + "\n")
    record_path(records.parent, "PromptRetrievalMultiWOZ").unlink()
    again, resumed = _run(root, lm_path, tmp_path, seen := [])
    assert len(seen) == 2 and resumed == rows and again.score == pytest.approx(outcome.score)
