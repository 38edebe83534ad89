"""MultiWOZ 2.4 dialogue state tracking as text-to-SQL (IC-DST, Hu et al. 2022), the eleventh prompt-retrieval
task, as `evaluation/prompt_retrieval/main_mwoz.py` and `utils.py` of xlang-ai/instructor-embedding @ 9a9742c
run it (data: `data/mw24_100p_{train,test}.json` and `mw24_ontology.json` of xlang-ai/icl-selective-annotation).

A turn's prompt is the database schema, then the retrieved demonstration turns ("Example #n": `[context]` the
gold state before the turn, `[system]` and `[user]` utterances, `SQL:` the turn's state change as a query),
then the test turn with the state *predicted* for its previous turn, ending in "SQL: SELECT * FROM". Test
turns are therefore answered in dialogue order. The completion is parsed back into slot values, corrected
against the ontology and merged into the state. The scored texts are the predicted and gold states written as
sorted "slot value" pairs (the reference's predictions.txt and golds.txt); joint goal accuracy, slot accuracy
and slot F1 (the reference's `evaluate`) are recorded beside ROUGE-L.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.benchmarks.prompt_retrieval.tasks.multiwoz.typos import State, fix_typos
from harness.core.errors import DataError

DOMAINS = frozenset({"hotel", "restaurant", "attraction", "taxi", "train"})
# main_mwoz.py's conversion(): clearer column names in the prompt, undone on the completion
RENAMES = (
    ("leaveat", "depart_time"),
    ("arriveby", "arrive_by_time"),
    ("book_stay", "book_number_of_days"),
    ("food", "food_type"),
)
DELETE = "[DELETE]"

# rename() is applied to the schema as to every SQL text
SCHEMA = (Path(__file__).parent / "schema.sql").read_text(encoding="utf-8")  # utils.py's table_prompt, verbatim

OPERATORS = (" = ", " LIKE ", " < ", " > ", " >= ", " <= ")
N_SLOTS = 30  # slot accuracy's denominator in the reference's compute_acc


def rename(text: str, *, back: bool = False) -> str:
    for old, new in RENAMES:
        text = text.replace(new, old) if back else text.replace(old, new)
    return text


@dataclass(frozen=True)
class Turn:
    dialogue: str
    index: int
    system: str  # "none" (the first turn) read as ""
    user: str
    state: State  # gold state after this turn
    change: State  # gold slot values this turn sets
    previous: State  # gold state before this turn

    @property
    def name(self) -> str:
        return f"{self.dialogue}_turn_{self.index}"

    @property
    def previous_name(self) -> str | None:
        return f"{self.dialogue}_turn_{self.index - 1}" if self.index else None


def read_dialogues(path: Path) -> dict[str, list[Turn]]:
    """Turns by dialogue, in file order; turns outside the five domains are dropped, as the reference does."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg})") from None
    keys = ("ID", "turn_id", "domains", "dialog", "slot_values", "turn_slot_values", "last_slot_values")
    dialogues: dict[str, list[Turn]] = {}
    for n, row in enumerate(rows if isinstance(rows, list) else [None]):
        if not isinstance(row, dict) or any(k not in row for k in keys):
            raise DataError(f"{path}: turn {n} is not an IC-DST turn (expected keys {', '.join(keys)})")
        if not set(row["domains"]) <= DOMAINS:
            continue
        system, user = row["dialog"]["sys"][-1], row["dialog"]["usr"][-1]
        turn = Turn(
            row["ID"],
            int(row["turn_id"]),
            "" if system == "none" else system,
            user,
            row["slot_values"],
            row["turn_slot_values"],
            row["last_slot_values"],
        )
        dialogues.setdefault(turn.dialogue, []).append(turn)
    return dialogues


def sample(
    train: Mapping[str, list[Turn]], test: Mapping[str, list[Turn]], seed: int, n_dialogues: int, n_test: int
) -> tuple[list[Turn], list[Turn]]:
    """main_mwoz.py: random.seed(seed); the pool is every turn of n_dialogues train dialogues drawn with
    random.sample; the test dialogues are then shuffled and their turns, in dialogue order, cut to n_test."""
    rng = random.Random(seed)
    chosen = rng.sample(list(train), min(n_dialogues, len(train)))
    dialogues = list(test.values())
    rng.shuffle(dialogues)
    return [t for d in chosen for t in train[d]], [t for d in dialogues for t in d][:n_test]


# ---------------------------------------------------------------------------------------------- prompt text
def context_line(state: Mapping[str, str]) -> str:
    # the reference joins a *set* of "slot: value" strings, so its order changed with the hash seed; here: state order
    return "[context] " + rename(", ".join(f"{slot}: {value}" for slot, value in state.items()))


def change_sql(change: Mapping[str, str]) -> str:
    """A turn's state change as the query the demonstrations show (utils.py's slot_values_to_seq_sql)."""
    tables: dict[str, list[tuple[str, str]]] = {}
    for slot, value in change.items():
        parts = slot.replace(" ", "_").split("-")
        if len(parts) != 2:
            raise DataError(f"MultiWOZ slot {slot!r}: expected 'domain-slot'")
        tables.setdefault(parts[0], []).append((parts[1], value.split("|")[0]))
    if len(tables) == 1:
        [(table, columns)] = tables.items()
        return f"SELECT * FROM {table} WHERE " + " AND ".join(f"{c} = {v}" for c, v in columns)
    alias = {table: f"t{i}" for i, table in enumerate(tables, 1)}
    return (
        "SELECT * FROM "
        + ", ".join(f"{t} AS {a}" for t, a in alias.items())
        + " WHERE "
        + " AND ".join(f"{alias[t]}.{c} = {v}" for t, columns in tables.items() for c, v in columns)
    )


def demonstration(turn: Turn) -> str:
    """utils.py's get_instance, without its "Example #n" line (the prompt numbers demonstrations by position)."""
    previous = {slot: value.split("|")[0] for slot, value in turn.previous.items()}
    return (
        f"{context_line(previous)}\n[system] {turn.system}\nQ: [user] {turn.user}\n"
        f"SQL: {rename(change_sql(turn.change))};\n\n\n"
    )


def question(turn: Turn, predicted_previous: Mapping[str, str]) -> str:
    return f"{context_line(predicted_previous)}\n[system] {turn.system}\nQ: [user] {turn.user}\nSQL: SELECT * FROM"


# ---------------------------------------------------------------------------------------------- reading answers
def parse_sql(completion: str) -> State:
    """The slot values a completion of "SELECT * FROM" sets (utils.py's sql_pred_parse). Raises ValueError or
    IndexError where the reference's parser fails (it then falls back to no change)."""
    import sqlparse

    sql = " * FROM" + completion
    if sql == " * FROM  WHERE ":
        return {}
    statements = sqlparse.parse(sql)
    if not statements:
        return {}
    where = str(statements[0].tokens[-1]).replace("_", " ").replace("'", "").replace("WHERE ", "")
    for operator in OPERATORS:
        where = where.replace(operator, "-")
    pairs = where.split(" AND ")
    words = sql.split()
    if "AS" in sql:
        aliases = {words[i + 1].replace(",", ""): words[i - 1] for i, word in enumerate(words) if word == "AS"}
        for alias, table in aliases.items():
            pairs = [pair.replace(alias + ".", table + "-") for pair in pairs]
    else:
        table = words[words.index("FROM") + 1]
        pairs = [f"{table}-{pair}" for pair in pairs] if pairs != [""] else []
    split = [pair.split("-") for pair in pairs]
    return {"-".join(parts[:-1]).replace("_", " "): parts[-1] for parts in split}


def update(previous: Mapping[str, str], change: Mapping[str, str]) -> State:
    state = dict(previous)
    for slot, value in change.items():
        if value == DELETE:
            state.pop(slot, None)
        else:
            state[slot] = value
    return {slot: value.split("|")[0] for slot, value in state.items()}


# ---------------------------------------------------------------------------------------------- scoring
def resolve_gold(gold: Mapping[str, str], predicted: Mapping[str, str]) -> State:
    """A gold value "a|b" accepts either: it becomes the predicted value when that is one of them."""
    return {
        slot: predicted[slot] if "|" in value and predicted.get(slot) in value.split("|") else value
        for slot, value in gold.items()
    }


def state_text(state: Mapping[str, str]) -> str:
    return " ".join(f"{slot} {state[slot]}" for slot in sorted(state)).strip()


def slot_accuracy(gold: Mapping[str, str], predicted: Mapping[str, str]) -> float:
    """Of 30 slots, those neither missed nor wrongly filled (a wrong value of a missed slot counts once)."""
    gold_pairs, predicted_pairs = _pairs(gold), _pairs(predicted)
    missed = gold_pairs - predicted_pairs
    missed_slots = {p.rsplit("-", 1)[0] for p in missed}
    wrong = {p for p in predicted_pairs - gold_pairs if p.rsplit("-", 1)[0] not in missed_slots}
    return (N_SLOTS - len(missed) - len(wrong)) / N_SLOTS


def slot_f1(gold: Mapping[str, str], predicted: Mapping[str, str]) -> float:
    gold_pairs, predicted_pairs = _pairs(gold), _pairs(predicted)
    if not gold_pairs:
        return float(not predicted_pairs)
    hits = len(gold_pairs & predicted_pairs)
    precision = hits / len(predicted_pairs) if predicted_pairs else 0.0
    recall = hits / len(gold_pairs)
    return 2 * precision * recall / (precision + recall) if hits else 0.0


def _pairs(state: Mapping[str, str]) -> set[str]:
    return {f"{slot}-{value}" for slot, value in state.items()}


@dataclass(frozen=True)
class Tracker:
    """Runs the test turns in dialogue order: each turn's prompt shows the state predicted for the turn before,
    read from the records of finished turns (so a resumed run goes on from the predictions it made)."""

    turns: Mapping[str, Turn]  # test turns by name
    ontology: Mapping[str, list[str]]

    def previous_state(self, name: str, done: Mapping[str, Mapping[str, Any]]) -> State:
        before = self.turns[name].previous_name
        if before is None:
            return {}
        if before not in done:
            raise DataError(f"MultiWOZ turn {name}: turn {before} has no prediction yet (turns run in dialogue order)")
        return dict(done[before]["state"])

    def question(self, name: str, previous: Mapping[str, str]) -> str:
        return question(self.turns[name], previous)

    def read(self, name: str, completion: str, previous: Mapping[str, str]) -> dict[str, Any]:
        """One test turn's record: the new state and the texts ROUGE-L compares; a completion the reference's
        parser rejects changes nothing, as there."""
        from sqlparse.exceptions import SQLParseError

        try:
            change, valid = parse_sql(rename(completion, back=True)), True
        except (ValueError, IndexError, SQLParseError):
            change, valid = {}, False
        state = update(previous, fix_typos(change, self.ontology))
        gold = resolve_gold(self.turns[name].state, state)
        return {
            "completion": completion,
            "valid_sql": valid,
            "state": state,
            "prediction": state_text(state),
            "gold": state_text(gold),
            "joint_goal": state == gold,
            "slot_accuracy": slot_accuracy(gold, state),
            "slot_f1": slot_f1(gold, state),
        }

    @staticmethod
    def summary(rows: list[dict[str, Any]]) -> dict[str, float]:
        n = len(rows)
        return {
            "joint_goal_accuracy": sum(r["joint_goal"] for r in rows) / n,
            "slot_accuracy": sum(r["slot_accuracy"] for r in rows) / n,
            "slot_f1": sum(r["slot_f1"] for r in rows) / n,
            "invalid_sql": sum(not r["valid_sql"] for r in rows) / n,
        }
