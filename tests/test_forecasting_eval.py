"""Backtest metrics, accuracy sentences, prob_above and reconciliation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasting import (
    accuracy_summary,
    backtest,
    choose_reconciliation,
    describe_accuracy,
    forecast,
    prob_above,
    reconcile,
    shrink_covariance,
)

PATTERN = np.array([120.0, 118, 125, 130, 128, 140, 150, 149, 135, 128, 122, 119])


def monthly(values: np.ndarray, start: str = "2015-01") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="MS"))


def test_seasonal_naive_mase_is_one_when_errors_equal_in_sample_scale() -> None:
    # Pattern plus a linear trend: every seasonal difference, in and out of sample, equals 12 * slope,
    # so the seasonal naive's out-of-sample MAE equals its in-sample MAE and MASE is exactly 1.
    t = np.arange(72)
    y = monthly(np.tile(PATTERN, 6) + 2.0 * t)
    bt = backtest(y, 12, origins=2, models=["snaive"])
    assert set(bt["origin"].astype(str)) == {"2019-12", "2018-12"}
    np.testing.assert_allclose(bt["mase"].to_numpy(), 1.0, rtol=1e-9)
    np.testing.assert_allclose(bt["abs_error"].to_numpy(), 24.0, rtol=1e-9)
    summary = accuracy_summary(bt)
    assert summary.loc["snaive", "mase"] == pytest.approx(1.0)
    assert summary.loc["snaive", "rel_mase_gmean"] == pytest.approx(1.0)


def test_backtest_columns_bands_and_explicit_origins() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(84)
    y = monthly(3000 + 5 * t + 100 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 20, 84))
    bt = backtest(y, 12, origins=[pd.Timestamp("2020-12-01")], models=["auto", "snaive"])
    assert set(bt["band"]) == {"1-3", "4-6", "7-12"}
    assert len(bt) == 24
    for col in ("mase", "smape", "coverage_80", "coverage_95", "abs_error", "in_80", "in_95"):
        assert col in bt.columns
    s = accuracy_summary(bt)
    assert {"mae_1-3", "mae_4-6", "mae_7-12", "mae_h3", "coverage_80"} <= set(s.columns)
    assert s.loc["auto", "years"] == pytest.approx(1.0)


def test_describe_accuracy_uses_the_given_numbers() -> None:
    summary = pd.DataFrame(
        {"mae_h3": [1234.4, 2345.6], "years": [3.0, 3.0], "coverage_80": [0.78, 0.5]},
        index=pd.Index(["auto", "snaive"], name="model"),
    )
    en = describe_accuracy(summary, unit="persons")
    assert en.startswith("Over the last three years this forecast was off by about 1,234 persons")
    assert "3-month horizon" in en and "same-month-last-year guess was off by 2,346" in en
    assert "78%" in en
    zh = describe_accuracy(summary, unit="persons", lang="zh")
    assert "过去三年" in zh and "1,234人" in zh and "2,346人" in zh and "78%" in zh
    rate = describe_accuracy(summary.assign(mae_h3=[0.34, 0.5]), unit="percentage points")
    assert "0.34 percentage points" in rate


def _fc() -> pd.DataFrame:
    y = monthly(np.tile(PATTERN, 4) + np.random.default_rng(0).normal(0, 3, 48))
    return forecast(y, 12)


def test_prob_above_is_monotone_and_sensible() -> None:
    df = _fc()
    row = df.iloc[-1]
    lines = np.linspace(row["lo_95"] - 50, row["hi_95"] + 50, 101)
    probs = [prob_above(df, x, at=12) for x in lines]
    assert all(a >= b for a, b in zip(probs, probs[1:], strict=False))
    assert prob_above(df, row["mean"], at=12) == pytest.approx(0.5, abs=1e-9)
    assert prob_above(df, row["hi_80"], at=12) == pytest.approx(0.10, abs=1e-9)
    assert prob_above(df, row["lo_95"], at=12) == pytest.approx(0.975, abs=1e-9)
    assert prob_above(df, row["mean"], at=df.index[-1]) == pytest.approx(0.5, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    mean=st.floats(0, 1000),
    w80=st.floats(0, 100),
    extra=st.floats(0, 100),
    a=st.floats(-2000, 2000),
    b=st.floats(-2000, 2000),
)
def test_prob_above_monotone_property(mean: float, w80: float, extra: float, a: float, b: float) -> None:
    lo80, hi80 = max(0.0, mean - w80), mean + w80
    lo95, hi95 = max(0.0, mean - w80 - extra), mean + w80 + extra
    df = pd.DataFrame(
        {"mean": [mean], "lo_80": [lo80], "hi_80": [hi80], "lo_95": [lo95], "hi_95": [hi95]},
        index=pd.period_range("2025-12", periods=1, freq="M"),
    )
    lo, hi = min(a, b), max(a, b)
    p_lo, p_hi = prob_above(df, lo), prob_above(df, hi)
    assert 0.0 <= p_hi <= p_lo <= 1.0


def _hierarchy(h: int = 6) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    rng = np.random.default_rng(7)
    idx = pd.period_range("2026-01", periods=h, freq="M")
    base = {}
    for i, name in enumerate(["a", "b", "c"]):
        m = 100.0 * (i + 1) + rng.normal(0, 5, h)
        base[name] = pd.DataFrame(
            {"mean": m, "lo_80": m - 10, "hi_80": m + 10, "lo_95": m - 20, "hi_95": m + 20}, index=idx
        )
    city = sum(f["mean"] for f in base.values()) * 1.05
    base["city"] = pd.DataFrame(
        {"mean": city, "lo_80": city - 20, "hi_80": city + 20, "lo_95": city - 40, "hi_95": city + 40},
        index=idx,
    )
    resid = pd.DataFrame(rng.normal(0, 1, (60, 4)) * [3.0, 1.0, 1.5, 2.0], columns=["city", "a", "b", "c"])
    return base, resid


@pytest.mark.parametrize("method", ["bottom_up", "mint_shrink", "top_down"])
def test_reconciled_districts_sum_to_city(method: str) -> None:
    base, resid = _hierarchy()
    out = reconcile(base, method, residuals=resid)
    districts = sum(out[k]["mean"] for k in "abc")
    np.testing.assert_allclose(districts, out["city"]["mean"], rtol=1e-6)
    for f in out.values():
        assert (f["lo_95"] <= f["mean"]).all() and (f["mean"] <= f["hi_95"]).all()
    if method == "top_down":
        np.testing.assert_allclose(out["city"]["mean"], base["city"]["mean"], rtol=1e-12)
    if method == "bottom_up":
        np.testing.assert_allclose(out["a"]["mean"], base["a"]["mean"], rtol=1e-12)


def test_reconcile_wide_frame_and_non_negativity() -> None:
    wide = pd.DataFrame({"city": [10.0, 10.0], "a": [-5.0, 4.0], "b": [20.0, 5.0]})
    out = reconcile(wide, "bottom_up")
    assert (out[["a", "b"]] >= 0).all().all()
    np.testing.assert_allclose(out["a"] + out["b"], out["city"], rtol=1e-6)
    resid = pd.DataFrame(np.random.default_rng(1).normal(size=(30, 3)), columns=["city", "a", "b"])
    mint = reconcile(wide, "mint_shrink", residuals=resid)
    np.testing.assert_allclose(mint["a"] + mint["b"], mint["city"], rtol=1e-6)


def test_shrinkage_intensity_in_unit_interval_and_diagonal_target() -> None:
    rng = np.random.default_rng(2)
    w, lam = shrink_covariance(rng.normal(size=(8, 5)))
    assert 0 <= lam <= 1
    np.testing.assert_allclose(w, w.T)
    assert np.all(np.linalg.eigvalsh(w) > 0)


def test_choose_reconciliation_never_worse_than_city_model() -> None:
    rng = np.random.default_rng(5)
    t = np.arange(60)
    hist = {}
    for i, name in enumerate(["a", "b", "c"]):
        hist[name] = monthly(200 * (i + 1) + 3 * t + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 5, 60))
    hist["city"] = hist["a"] + hist["b"] + hist["c"]
    out, report = choose_reconciliation(hist, 6, origins=1, candidates=["snaive", "theta"])
    assert report["method"] in ("bottom_up", "mint_shrink", "top_down")
    if report["method"] != "top_down":
        assert report["city_mae"][report["method"]] <= report["city_mae"]["base"]
    np.testing.assert_allclose(sum(out[k]["mean"] for k in "abc"), out["city"]["mean"], rtol=1e-6)


def test_choose_reconciliation_reuses_backtest_windows_without_refitting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The windows a backtest already forecast give the same choice and scores, with no model fitted again."""
    import forecasting.hierarchy as hierarchy

    rng = np.random.default_rng(11)
    t = np.arange(72)
    hist = {
        name: monthly(100 * (i + 1) + 2 * t + 15 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 4, 72))
        for i, name in enumerate(["a", "b", "c"])
    }
    hist["city"] = hist["a"] + hist["b"] + hist["c"] + rng.normal(0, 6, 72)
    kw = {"candidates": ["snaive"], "levels": (80, 95)}
    fresh, fresh_report = choose_reconciliation(hist, 12, origins=2, **kw)
    windows = {}
    for name, y in hist.items():
        kept: dict = {}
        backtest(y, 12, origins=3, models=["snaive"], keep=kept)
        assert len(kept) == 3
        windows[name] = {origin: frame for (_, origin), frame in kept.items()}

    def no_fits(*args: object, **kwargs: object) -> None:
        raise AssertionError("a window was fitted again")

    monkeypatch.setattr(hierarchy, "forecast_many", no_fits)
    base = {name: forecast(y, 12, candidates=["snaive"]) for name, y in hist.items()}
    out, report = choose_reconciliation(hist, 12, origins=2, base=base, backtests=windows, **kw)
    assert report["reused_windows"] == 2 * 4 and fresh_report["reused_windows"] == 0
    assert report["method"] == fresh_report["method"]
    for key in ("node_scaled_mae", "city_mae"):
        assert report[key] == pytest.approx(fresh_report[key], rel=1e-12)
    for name in hist:
        np.testing.assert_allclose(out[name]["mean"], fresh[name]["mean"], rtol=1e-12)


def test_prob_above_on_an_interval_a_few_denormals_wide() -> None:
    """Found by the property above in CI: a line exactly on the top of an interval 2e-309 wide gave NaN (the
    tail's slope overflowed to inf and was multiplied by 0)."""
    tiny = 2.225073858507203e-309
    df = pd.DataFrame(
        {"mean": [0.0], "lo_80": [0.0], "hi_80": [0.0], "lo_95": [0.0], "hi_95": [tiny]},
        index=pd.period_range("2025-12", periods=1, freq="M"),
    )
    p_top, p_zero, p_above = prob_above(df, tiny), prob_above(df, 0.0), prob_above(df, 1.0)
    assert p_top == pytest.approx(0.025, abs=1e-12)  # the 97.5 % quantile
    assert 0.0 <= p_above <= p_top <= p_zero <= 1.0
    assert p_above == 0.0
