"""Allocation of a pot: exact to the fen, floors and caps, infeasibility, factor shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import PRESETS, allocate, allocation_uncertainty, factor_shares, score


def _scores(values: list[float]) -> pd.Series:
    return pd.Series(values, index=[f"D{i}" for i in range(len(values))], dtype=float)


def test_largest_remainder_settles_the_last_fen() -> None:
    out = allocate(_scores([1, 1, 1]), 100)
    # 33.333… each: two fen are handed out by largest remainder; ties go in input order.
    assert out["amount_yuan"].tolist() == [33.34, 33.33, 33.33]
    assert out["amount_fen"].sum() == 10000
    # 5 fen split 0.5 / 0.3 / 0.2 → 2.5, 1.5, 1.0 → 2, 1, 1 plus one fen to the first .5 remainder.
    assert allocate(_scores([5, 3, 2]), 0.05)["amount_fen"].tolist() == [3, 1, 1]


def test_dataframe_input_and_output_columns() -> None:
    df = pd.DataFrame({"area_code": ["a", "b"], "score": [30.0, 10.0]})
    out = allocate(df, 1000)
    assert list(out.columns) == ["area_code", "share", "amount_fen", "amount_yuan", "share_of_pot", "bound"]
    assert out["amount_yuan"].tolist() == [750.0, 250.0] and out["share"].tolist() == [0.75, 0.25]


def test_caps_cascade_and_floors_redistribute() -> None:
    # Cap 35: A's 50 → 35; the other 65 split 3:2 gives B 39 > 35 → B 35 too; C takes the rest.
    out = allocate(_scores([5, 3, 2]), 100, cap=35)
    assert out["amount_yuan"].tolist() == [35.0, 35.0, 30.0]
    assert out["bound"].tolist() == ["cap", "cap", ""]
    # Floor 30: B and C would get 10 each, are lifted to 30; A keeps the remaining 60.
    out = allocate(_scores([10, 1, 1]), 120, floor=30)
    assert out["amount_yuan"].tolist() == [60.0, 30.0, 30.0]
    assert out["bound"].tolist() == ["", "floor", "floor"]
    # Per-area bounds from a mapping; unlisted areas are unbounded.
    out = allocate(_scores([1, 1, 1, 1]), 1000, cap={"D0": 100})
    assert out["amount_yuan"].tolist() == [100.0, 300.0, 300.0, 300.0]


def test_infeasible_bounds_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"floors sum to 150\.00 yuan, more than the pot of 100\.00 yuan"):
        allocate(_scores([1, 1, 1]), 100, floor=50)
    with pytest.raises(ValueError, match=r"caps sum to 90\.00 yuan, less than the pot of 100\.00 yuan"):
        allocate(_scores([1, 1, 1]), 100, cap=30)
    with pytest.raises(ValueError, match="floor above cap"):
        allocate(_scores([1, 1]), 100, floor={"D0": 60}, cap={"D0": 50})
    with pytest.raises(ValueError, match="non-zero share are all at their caps"):
        allocate(_scores([1, 0]), 100, cap={"D0": 50})
    with pytest.raises(ValueError, match="unknown areas"):
        allocate(_scores([1, 1]), 100, floor={"X": 1})
    with pytest.raises(ValueError, match=">= 0 to be used as shares"):
        allocate(_scores([1, -1]), 100)
    with pytest.raises(ValueError, match="all scores are zero"):
        allocate(_scores([0, 0]), 100)
    with pytest.raises(ValueError, match="pot must be"):
        allocate(_scores([1]), float("nan"))


@st.composite
def bounded_case(draw: st.DrawFn) -> tuple[pd.Series, int, list[int] | None, list[int] | None]:
    n = draw(st.integers(1, 20))
    scores = draw(st.lists(st.floats(0.001, 1000), min_size=n, max_size=n))
    pot_fen = draw(st.integers(0, 10**10))
    floors = caps = None
    if draw(st.booleans()):  # floors that together fit in the pot
        fracs = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
        floors = [int(pot_fen * f / n) for f in fracs]
    if draw(st.booleans()):  # caps that together cover the pot
        fracs = draw(st.lists(st.floats(1 / n, 1), min_size=n, max_size=n))
        caps = [max(int(pot_fen * f) + 1, (floors or [0] * n)[i]) for i, f in enumerate(fracs)]
    return _scores(scores), pot_fen, floors, caps


@settings(max_examples=300, deadline=None)
@given(bounded_case())
def test_allocations_sum_to_the_pot_and_respect_bounds(
    case: tuple[pd.Series, int, list[int] | None, list[int] | None],
) -> None:
    scores, pot_fen, floors, caps = case

    def to_map(v: list[int] | None) -> dict[str, float] | None:
        return None if v is None else {a: f / 100 for a, f in zip(scores.index, v, strict=True)}

    out = allocate(scores, pot_fen / 100, floor=to_map(floors), cap=to_map(caps))
    fen = out["amount_fen"].to_numpy()
    assert fen.sum() == pot_fen
    assert round(out["amount_yuan"].sum(), 2) == round(pot_fen / 100, 2)
    if floors is not None:
        assert (fen >= np.array(floors)).all()
    if caps is not None:
        assert (fen <= np.array(caps)).all()
    # Districts at neither bound share what is left in proportion to their scores (± 1 fen).
    free = out["bound"].to_numpy() == ""
    if free.sum() > 1:
        s = scores.to_numpy()[free]
        ideal = s / s.sum() * fen[free].sum()
        assert np.abs(fen[free] - ideal).max() <= 1.0 + 1e-6


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.001, 100), min_size=1, max_size=15), st.floats(0, 1e9))
def test_any_pot_is_split_exactly_to_round_pot_2(scores: list[float], pot: float) -> None:
    out = allocate(_scores(scores), pot)
    assert out["amount_fen"].sum() == int(round(round(pot, 2) * 100))


def test_factor_shares_by_hand() -> None:
    factors = pd.DataFrame(
        {
            "area_code": ["A", "B"],
            "working_age_population": [100, 300],
            "fiscal_capacity_per_capita_yuan": [1000, 4000],
        }
    )
    # population 0.6 × (0.25, 0.75) + inverse fiscal capacity 0.4 × (0.8, 0.2) = (0.47, 0.53)
    shares = factor_shares(
        factors,
        {"working_age_population": 0.6, "fiscal_capacity_per_capita_yuan": 0.4},
        inverse=["fiscal_capacity_per_capita_yuan"],
    )
    assert shares.tolist() == pytest.approx([0.47, 0.53]) and shares.name == "share"
    assert allocate(shares, 10_000)["amount_yuan"].tolist() == [4700.0, 5300.0]
    with pytest.raises(ValueError, match="impute first"):
        factor_shares(factors.assign(working_age_population=[1, np.nan]), {"working_age_population": 1})
    with pytest.raises(ValueError, match="> 0"):
        factor_shares(
            factors.assign(fiscal_capacity_per_capita_yuan=[0, 1]),
            {"fiscal_capacity_per_capita_yuan": 1},
            inverse=["fiscal_capacity_per_capita_yuan"],
        )


def _preset_data(n: int = 13) -> pd.DataFrame:
    codes = PRESETS["guarantee_fund_5"].codes
    rng = np.random.default_rng(2)
    df = pd.DataFrame(rng.uniform(50, 100, size=(n, len(codes))), columns=codes)
    df.insert(0, "area_code", [f"A{i}" for i in range(n)])
    return df


def test_allocation_uncertainty_collapses_without_noise() -> None:
    df, scheme = _preset_data(), PRESETS["guarantee_fund_5"]
    out = allocation_uncertainty(df, scheme, pot=5_000_000, runs=20, noise=0.0, floor=100_000)
    assert np.abs(out["amount_p05"] - out["amount_nominal"]).max() <= 0.01 + 1e-6  # fen rounding only
    assert (out["amount_p05"] == out["amount_p95"]).all()
    assert out["amount_nominal"].sum() == pytest.approx(5_000_000, abs=1e-6)
    noisy = allocation_uncertainty(
        df, scheme, pot=5_000_000, runs=500, noise=0.25, floor=100_000, cap=600_000
    )
    assert (noisy["amount_p05"] <= noisy["amount_median"]).all() and (
        noisy["amount_median"] <= noisy["amount_p95"]
    ).all()
    assert noisy["amount_p05"].min() >= 100_000 and noisy["amount_p95"].max() <= 600_000
    nominal = allocate(score(df, scheme), 5_000_000, floor=100_000, cap=600_000)
    assert noisy["amount_nominal"].tolist() == nominal["amount_yuan"].tolist()
