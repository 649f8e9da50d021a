"""The chance of meeting a flow target by December (forecasting/chance.py): properties and the backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting.chance import (
    backtest_chance,
    brier_by_month,
    chance_of_target,
    fit_recalibration,
    naive,
    recalibrate,
    reliability,
    year_totals,
)
from forecasting.probability import prob_above


def months_left(n: int, mean: float = 100.0, sd: float = 20.0) -> pd.DataFrame:
    """``n`` forecast months with normal 80/95 % intervals."""
    idx = pd.period_range(end="2026-12", periods=n, freq="M") if n else pd.PeriodIndex([], freq="M")
    return pd.DataFrame(
        {
            "mean": mean,
            "lo_80": mean - 1.2816 * sd,
            "hi_80": mean + 1.2816 * sd,
            "lo_95": mean - 1.96 * sd,
            "hi_95": mean + 1.96 * sd,
        },
        index=idx,
    )


@settings(max_examples=40, deadline=None)
@given(
    actual=st.floats(0, 2000),
    t1=st.floats(0, 3000),
    t2=st.floats(0, 3000),
    n=st.integers(0, 11),
    mean=st.floats(0, 300),
    sd=st.floats(0, 80),
)
def test_monotone_in_target_and_one_once_met(
    actual: float, t1: float, t2: float, n: int, mean: float, sd: float
) -> None:
    rest = months_left(n, mean, sd)
    lo, hi = sorted((t1, t2))
    assert chance_of_target(actual, lo, rest) >= chance_of_target(actual, hi, rest)
    assert chance_of_target(actual, actual, rest) == 1.0
    assert chance_of_target(actual, actual * 0.5, rest) == 1.0
    assert 0.0 <= chance_of_target(actual, hi, rest) <= 1.0


@settings(max_examples=40, deadline=None)
@given(
    a1=st.floats(0, 2000),
    a2=st.floats(0, 2000),
    target=st.floats(1, 3000),
    n=st.integers(0, 11),
    sd=st.floats(0, 80),
)
def test_monotone_in_the_actual(a1: float, a2: float, target: float, n: int, sd: float) -> None:
    rest = months_left(n, 100.0, sd)
    lo, hi = sorted((a1, a2))
    assert chance_of_target(lo, target, rest) <= chance_of_target(hi, target, rest)


def test_no_month_left_is_the_actual_against_the_target() -> None:
    assert chance_of_target(999, 1000, months_left(0)) == 0.0
    assert chance_of_target(1000, 1000, months_left(0)) == 1.0
    assert np.isnan(chance_of_target(float("nan"), 1000, months_left(3)))


def test_one_month_left_reads_the_interval_as_quantiles() -> None:
    """With one month left the chance is prob_above of that month at target − actual."""
    rest = months_left(1, 100.0, 20.0)
    for need in (70.0, 100.0, 125.0):
        p = chance_of_target(500.0, 500.0 + need, rest, n_paths=4000)
        assert p == pytest.approx(prob_above(rest, need), abs=0.02)


def test_months_are_correlated_not_independent() -> None:
    """Six months of sd 20 each: perfectly correlated, the total's sd is 120; independent, 49. The chance
    uses the correlated reading (never adds independent intervals): its spread lies between the two, near
    the comonotone end for the default correlation."""
    rest = months_left(6, 100.0, 20.0)
    sd_one = year_totals(0, rest, rho=1.0).std()
    sd_ind = year_totals(0, rest, rho=0.0).std()
    sd_def = year_totals(0, rest).std()
    assert sd_one == pytest.approx(120, rel=0.05)
    assert sd_ind == pytest.approx(20 * np.sqrt(6), rel=0.08)
    assert sd_ind < sd_def < sd_one


def test_naive_rule() -> None:
    assert naive(500, 1000, 6) == 1.0
    assert naive(499, 1000, 6) == 0.0


def test_backtest_scores_ours_and_naive_on_past_years() -> None:
    """A steady series with a target it meets by a hair: the naive rule says 'behind' every month before
    the busy December, the forecast knows December is busy; Brier and reliability are computed per month."""
    idx = pd.period_range("2019-01", "2025-12", freq="M")
    seasonal = np.where(idx.month == 12, 300.0, 100.0)
    y = pd.Series(seasonal + np.random.default_rng(1).normal(0, 3, len(idx)), index=idx)
    targets = {2024: 1380.0, 2025: 1500.0}  # 2024 met (about 1,400), 2025 missed

    def fit(history: pd.Series, horizon: int) -> pd.DataFrame:
        last = history.index[-1]
        future = pd.period_range(last + 1, periods=horizon, freq="M")
        mean = np.where(future.month == 12, 300.0, 100.0)
        sd = 5.0
        return pd.DataFrame(
            {
                "mean": mean,
                "lo_80": mean - 1.28 * sd,
                "hi_80": mean + 1.28 * sd,
                "lo_95": mean - 1.96 * sd,
                "hi_95": mean + 1.96 * sd,
            },
            index=future,
        )

    rows = backtest_chance(y, targets, [2024, 2025], fit, months=range(1, 12))
    assert len(rows) == 22
    assert set(rows["outcome"]) == {0.0, 1.0}
    table = brier_by_month(rows)
    overall = table[table["month"] == "all"].iloc[0]
    assert overall["brier"] < overall["brier_naive"]
    rel = reliability(rows)
    assert rel["cases"].sum() == 22
    assert list(rel.columns) == ["decile", "cases", "stated", "observed", "gap_pp"]


@settings(max_examples=40, deadline=None)
@given(p1=st.floats(0, 1), p2=st.floats(0, 1), a=st.floats(-3, 3), b=st.floats(0.05, 4))
def test_recalibration_keeps_the_order_and_a_met_target(p1: float, p2: float, a: float, b: float) -> None:
    lo, hi = sorted((p1, p2))
    assert recalibrate(lo, (a, b)) <= recalibrate(hi, (a, b))
    assert recalibrate(1.0, (a, b)) == 1.0
    assert recalibrate(0.3, None) == 0.3


def test_recalibration_learns_an_optimistic_bias() -> None:
    """Stated chances twice the observed rate: the fitted map lowers them."""
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.95, 2000)
    outcome = (rng.uniform(size=2000) < p / 2).astype(float)
    a, b = fit_recalibration(p, outcome)
    assert recalibrate(0.6, (a, b)) == pytest.approx(0.3, abs=0.08)
