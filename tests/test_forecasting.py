"""Hand-checkable tests of forecasting.forecast: exact cases, fallbacks, bounds, events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import forecast

PATTERN = np.array([120.0, 118, 125, 130, 128, 140, 150, 149, 135, 128, 122, 119])


def monthly(values: np.ndarray, start: str = "2015-01", kind: str = "ms") -> pd.Series:
    idx = pd.period_range(start, periods=len(values), freq="M")
    if kind == "period":
        return pd.Series(values, index=idx)
    return pd.Series(values, index=idx.to_timestamp(how="start" if kind == "ms" else "end").normalize())


def check_frame(df: pd.DataFrame, h: int, lo: float = -np.inf, hi: float = np.inf) -> None:
    assert list(df.columns) == ["mean", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert len(df) == h
    vals = df.to_numpy()
    assert np.isfinite(vals).all()
    assert (vals >= lo).all() and (vals <= hi).all()
    assert (df["lo_95"] <= df["lo_80"] + 1e-9).all() and (df["lo_80"] <= df["mean"] + 1e-9).all()
    assert (df["mean"] <= df["hi_80"] + 1e-9).all() and (df["hi_80"] <= df["hi_95"] + 1e-9).all()
    for key in ("model", "reason", "version"):
        assert df.attrs[key]


def test_pure_seasonal_is_forecast_exactly_by_seasonal_naive() -> None:
    y = monthly(np.tile(PATTERN, 5))
    df = forecast(y, 18)
    expected = np.concatenate([PATTERN, PATTERN[:6]])
    np.testing.assert_allclose(df["mean"].to_numpy(), expected, rtol=1e-6)
    assert df.attrs["model"] == "snaive"
    assert df.index[0] == pd.Timestamp("2020-01-01")
    check_frame(df.iloc[:, :5], 18)


def test_index_type_is_kept() -> None:
    y = monthly(np.tile(PATTERN, 3), kind="period")
    df = forecast(y, 3)
    assert isinstance(df.index, pd.PeriodIndex) and str(df.index[0]) == "2018-01"
    y_end = monthly(np.tile(PATTERN, 3), kind="me")
    df_end = forecast(y_end, 3)
    assert df_end.index[0] == pd.Timestamp("2018-01-31")


def test_linear_trend_within_one_percent() -> None:
    t = np.arange(72, dtype=float)
    y = monthly(1000 + 5 * t + np.where(t % 2 == 0, 0.5, -0.5))  # a tiny wiggle keeps models identifiable
    df = forecast(y, 12)
    truth = 1000 + 5 * np.arange(72, 84)
    assert np.max(np.abs(df["mean"].to_numpy() / truth - 1)) < 0.01, df.attrs["reason"]
    check_frame(df, 12, lo=0)


def test_seasonal_trend_series_selects_a_model_with_reason() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(96)
    y = monthly(5000 + 10 * t + 200 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 30, 96))
    df = forecast(y, 12)
    check_frame(df, 12, lo=0)
    assert "rolling-origin backtest" in df.attrs["reason"]
    assert df.attrs["scores"]
    assert set(df.attrs["calibration"]) == {"80", "95"}


@pytest.mark.parametrize(
    ("name", "values", "expect"),
    [
        ("short", np.array([5.0, 6, 7, 6, 8, 9, 8, 10]), "short"),
        ("one", np.array([42.0]), "short"),
        ("constant", np.full(40, 7.0), "constant"),
        ("zeros", np.zeros(40), "all-zero"),
        ("huge", 1e9 * (1 + 0.01 * np.sin(np.arange(60))), "backtest"),
    ],
)
def test_fallbacks_are_finite_bounded_and_explained(name: str, values: np.ndarray, expect: str) -> None:
    df = forecast(monthly(values), 6, bounds=(0, None))
    check_frame(df, 6, lo=0)
    assert expect in df.attrs["reason"], df.attrs["reason"]


def test_gappy_series_with_nans_and_missing_months() -> None:
    values = np.tile(PATTERN, 4) + np.arange(48)
    y = monthly(values)
    y.iloc[[5, 6, 20]] = np.nan
    y = y.drop(y.index[[30, 31, 32]])  # missing months, not just NaN values
    df = forecast(y, 12)
    check_frame(df, 12, lo=0)
    assert "missing month" in df.attrs["reason"]


def test_zero_filled_months_are_treated_as_missing() -> None:
    values = np.tile(PATTERN, 4) * 10
    values[:5] = 0  # a district that started reporting late, zero-filled
    values[20] = 0
    df = forecast(monthly(values), 6)
    check_frame(df, 6, lo=1)
    assert "zero-filled" in df.attrs["reason"]


def test_trailing_nans_start_the_forecast_after_the_last_value() -> None:
    y = monthly(np.concatenate([np.tile(PATTERN, 3), [np.nan, np.nan]]))
    df = forecast(y, 2)
    assert df.index[0] == pd.Timestamp("2018-01-01")


def test_rates_never_exceed_100() -> None:
    t = np.arange(60)
    y = monthly(np.minimum(99.9, 80 + 0.4 * t + np.sin(t)))
    df = forecast(y, 24, bounds=(0, 100))
    check_frame(df, 24, lo=0, hi=100)
    assert df["hi_95"].max() <= 100


def test_shock_event_is_excluded_and_reported() -> None:
    t = np.arange(84)
    values = 10_000 + 20 * t + 300 * np.sin(2 * np.pi * t / 12)
    y = monthly(values, start="2014-01")
    y.loc["2020-01-01":"2020-06-01"] *= 1.6  # a COVID-like surge
    events = [("2020-01", "2020-06", "COVID-19")]
    df = forecast(y, 12, events=events)
    check_frame(df, 12, lo=0)
    assert any("COVID-19" in e for e in df.attrs["events"])
    plain = forecast(y, 12)
    truth = 10_000 + 20 * np.arange(84, 96) + 300 * np.sin(2 * np.pi * np.arange(84, 96) / 12)
    # Telling the model about the shock must not make the forecast worse on the clean continuation.
    assert np.abs(df["mean"] - truth).mean() <= np.abs(plain["mean"] - truth).mean() + 1e-6


def test_level_shift_event_continues_from_new_level() -> None:
    t = np.arange(72)
    values = 1000 + 100 * np.sin(2 * np.pi * t / 12) + np.where(t >= 48, 500.0, 0.0)
    y = monthly(values)
    df = forecast(y, 12, events=[{"start": "2019-01", "label": "definition change", "kind": "level_shift"}])
    truth = 1500 + 100 * np.sin(2 * np.pi * np.arange(72, 84) / 12)
    assert np.abs(df["mean"].to_numpy() / truth - 1).max() < 0.05
    assert any("level shift" in e for e in df.attrs["events"])


def test_custom_levels_name_columns() -> None:
    df = forecast(monthly(np.tile(PATTERN, 3) + np.arange(36)), 3, levels=(50, 90))
    assert list(df.columns) == ["mean", "lo_50", "hi_50", "lo_90", "hi_90"]


def test_bad_input_raises_clearly() -> None:
    with pytest.raises(ValueError):
        forecast(monthly(np.array([np.nan, np.nan])), 3)
    with pytest.raises(ValueError):
        forecast(monthly(PATTERN), 0)
