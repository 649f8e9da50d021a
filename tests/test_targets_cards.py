"""The district card weighted by zone (seed 002 §四(一)): a hand-worked example, the core rule, and the demo's
cards telling districts apart on every surface (#17)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest
from sqlalchemy import Engine

import figures.targets as ft
from figures.rules import Rules
from figures.run import plain
from store.card_weights import DEFAULT_WEIGHTS

WEIGHTS = pd.DataFrame(
    [
        ("central", "urban_new_employment", 40.0, "linear", True),
        ("central", "graduate_employment", 30.0, "seasonal", False),
        ("central", "difficulty_employment", 30.0, "linear", False),
        ("outer", "urban_new_employment", 40.0, "linear", True),
        ("outer", "rural_labour_transfer", 60.0, "linear", False),
    ],
    columns=["zone", "indicator_code", "weight", "pace", "core"],
)
ORDER = {
    "urban_new_employment": 0,
    "difficulty_employment": 2,
    "rural_labour_transfer": 4,
    "graduate_employment": 5,
}


def frame(rows: Sequence[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    """Attainment rows (area, zone, indicator, status) with the columns the card reads."""
    out = pd.DataFrame(rows, columns=["area_code", "zone", "indicator_code", "status"])
    return out.assign(
        name_zh=out["area_code"],
        name_en=out["area_code"],
        sort_order=out["indicator_code"].map(ORDER),
        completion_rate=0.5,
        time_elapsed_progress=0.5,
    )


# Statuses on the linear pace line; the seasonal line differs only for graduates (a July indicator).
LINEAR = [
    ("A", "central", "urban_new_employment", "green"),
    ("A", "central", "graduate_employment", "red"),  # behind the linear line in September ...
    ("A", "central", "difficulty_employment", "yellow"),
    ("B", "central", "urban_new_employment", "green"),
    ("B", "central", "graduate_employment", "yellow"),
    ("B", "central", "difficulty_employment", "red"),
    ("C", "outer", "urban_new_employment", "red"),
    ("C", "outer", "rural_labour_transfer", "green"),
    ("D", "outer", "urban_new_employment", "green"),
    ("D", "outer", "rural_labour_transfer", None),  # hidden (a small count): no status
    ("E", "outer", "urban_new_employment", "yellow"),
    ("E", "outer", "rural_labour_transfer", "green"),
]
SEASONAL = [
    ("A", "central", "graduate_employment", "green"),  # ... but on pace against the seasonal line
    ("B", "central", "graduate_employment", "yellow"),
    # the seasonal frame's other rows must never be read for indicators weighted on the linear line
    ("C", "outer", "urban_new_employment", "green"),
]


def test_hand_worked_weighted_card() -> None:
    statuses = ft.card_statuses(frame(LINEAR), frame(SEASONAL), WEIGHTS)
    a = statuses[statuses["area_code"] == "A"].set_index("indicator_code")
    assert a.loc["graduate_employment", "status"] == "green"  # seasonal pace for the seasonal indicator
    assert a.loc["graduate_employment", "pace"] == "seasonal"
    c = statuses[statuses["area_code"] == "C"].set_index("indicator_code")
    assert c.loc["urban_new_employment", "status"] == "red"  # linear for the others
    names = frame(LINEAR).drop_duplicates("area_code")[["area_code", "name_zh", "name_en", "zone"]]
    cards, exceptions = ft.district_cards(statuses, names, Rules())
    got = cards.set_index("area_code")
    # A: 40 (green) + 30 (graduates green on the seasonal line) + 30 × ½ (yellow) = 85 of 100 → green.
    # The old rule (worst status) made A yellow, and red on the linear line.
    # B: 40 + 30 × ½ + 0 = 55 → red (below 60).
    # C: 0 (core red) + 60 = 60 → yellow.
    # D: 40 of the 40 shown (60 withheld) = 100 → green, 60 % of the weight withheld.
    # E: 40 × ½ + 60 = 80 → green.
    assert got["score"].round(6).to_dict() == {"A": 85.0, "B": 55.0, "C": 60.0, "D": 100.0, "E": 80.0}
    assert got["card"].to_dict() == {"A": "green", "B": "red", "C": "yellow", "D": "green", "E": "green"}
    assert got["weight_withheld_pct"].round(6).to_dict() == {
        "A": 0.0,
        "B": 0.0,
        "C": 0.0,
        "D": 60.0,
        "E": 0.0,
    }
    assert got.loc["A", ["n_green", "n_yellow", "n_red"]].tolist() == [2, 1, 0]
    assert set(exceptions["area_code"]) == {"B", "C"}  # behind on some indicator, as before


def test_card_thresholds_and_core_rule() -> None:
    rules = Rules(card_green_score=80, card_yellow_score=60)
    assert ft.card_of(80.0, False, rules) == "green"
    assert ft.card_of(79.99, False, rules) == "yellow"
    assert ft.card_of(59.99, False, rules) == "red"
    assert ft.card_of(95.0, True, rules) == "yellow"  # never green while the core indicator is behind
    assert ft.card_of(40.0, True, rules) == "red"
    assert ft.card_of(float("nan"), False, rules) is None  # every figure hidden: no card
    assert ft.card_of(70.0, False, Rules(card_green_score=70, card_yellow_score=50)) == "green"


def test_default_weights_follow_the_seed() -> None:
    w = pd.DataFrame([x._asdict() for x in DEFAULT_WEIGHTS]).set_index(["zone", "indicator_code"])["weight"]
    for zone in ("central", "outer"):
        top = w[zone].sort_values(ascending=False)
        assert top.index[0] == "urban_new_employment"  # the core everywhere
    assert w["central"]["difficulty_employment"] > w["outer"]["difficulty_employment"]
    assert w["central"]["graduate_employment"] > w["outer"]["graduate_employment"]
    assert w["outer"]["rural_labour_transfer"] > w["central"]["rural_labour_transfer"]
    assert w["outer"]["startup_loans_issued"] > w["central"]["startup_loans_issued"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_demo_cards_tell_districts_apart(backend: str, request: pytest.FixtureRequest) -> None:
    from store.db import make_engine

    url = request.getfixturevalue("demo_url" if backend == "sqlite" else "pg_demo_url")
    engine: Engine = make_engine(url)
    weights = ft.card_weights(plain(engine, 10))
    assert len(weights) == len(DEFAULT_WEIGHTS)  # the demo loads the bureau's weights
    cards, _exceptions, statuses = ft.cards(plain(engine, 10), Rules(), 2026, 9)
    assert len(cards) == 13
    assert cards["card"].nunique() > 1  # the worst-status rule gave (nearly) every district the same card
    grad = statuses[statuses["indicator_code"] == "graduate_employment"]
    assert set(grad["pace"]) == {"seasonal"}
