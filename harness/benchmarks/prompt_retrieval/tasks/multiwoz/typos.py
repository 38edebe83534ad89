"""MultiWOZ 2.4 value normalisation: utils.py's typo_fix (2.4 branch) of xlang-ai/instructor-embedding @ 9a9742c."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

State = dict[str, str]

# utils.py's typo_fix (MultiWOZ 2.4 branch): substring fixes, whole-value fixes, and the slots whose values
# must be ontology entities (after trying "the " and common suffixes)
SUBSTRING_FIXES = (
    ("fen ditton", "fenditton"),
    ("guesthouse", "guest house"),
    ("steveage", "stevenage"),
    ("stantsted", "stansted"),
    ("storthford", "stortford"),
    ("shortford", "stortford"),
    ("weish", "welsh"),
    ("bringham", "birmingham"),
    ("liverpoool", "liverpool"),
    ("petersborough", "peterborough"),
    ("el shaddai", "el shaddia"),
    ("wendesday", "wednesday"),
    ("brazliian", "brazilian"),
    ("graffton", "grafton"),
)
VALUE_FIXES = {
    "center": "centre",
    "caffe uno": "cafe uno",
    "caffee uno": "cafe uno",
    "christs college": "christ college",
    "churchill college": "churchills college",
    "sat": "saturday",
    "saint johns chop shop house": "saint johns chop house",
    "good luck chinese food takeaway": "good luck",
    "asian": "asian oriental",
    "gallery at 12": "gallery at 12 a high street",
    "portugese": "portuguese",
    "museum of archaelogy and anthropology": "museum of archaeology and anthropology",
}
ENTITY_SLOTS = frozenset(
    {
        "hotel-name",
        "train-destination",
        "train-departure",
        "attraction-type",
        "attraction-name",
        "restaurant-name",
        "taxi-departure",
        "taxi-destination",
        "restaurant-food",
    }
)
ENTITY_PREFIXES = ("the ",)
ENTITY_SUFFIXES = (
    " hotel",
    " restaurant",
    " cinema",
    " guest house",
    " theatre",
    " airport",
    " street",
    " gallery",
    " museum",
)


def _entity(value: str, candidates: Iterable[str]) -> str:
    """An ontology entity for `value`, adding or dropping "the " and a common suffix; "" when none fits."""
    options = set(candidates)
    if value in options:
        return value
    value = next((value[len(p) :] for p in ENTITY_PREFIXES if value.startswith(p)), value)
    value = next((value[: -len(s)] for s in ENTITY_SUFFIXES if value.endswith(s)), value)
    for prefix in ("", *ENTITY_PREFIXES):
        for suffix in ("", *ENTITY_SUFFIXES):
            if prefix + value + suffix in options:
                return prefix + value + suffix
    return ""


def fix_typos(values: Mapping[str, str], ontology: Mapping[str, list[str]]) -> State:
    """utils.py's typo_fix(version=2.4); a value that ends up empty (an entity not in the ontology) is dropped."""
    fixed: State = {}
    for slot, value in values.items():
        value = value.replace(" s ", "s ")
        value = value[:-2] + "s" if value.endswith(" s") else value
        for wrong, right in SUBSTRING_FIXES:
            value = value.replace(wrong, right)
        value = VALUE_FIXES.get(value, value)
        value = "0" + value if ":" in value and len(value) < 5 else value  # 9:30 -> 09:30
        if slot in ENTITY_SLOTS:
            value = _entity(value, ontology.get(slot, ()))
        if value:
            fixed[slot] = value
    return fixed
