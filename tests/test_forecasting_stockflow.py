"""Stock-flow forecasting (forecasting.stockflow): the identity by hand, on the demo's records, and a known
flow process recovered from simulated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from forecasting import backtest, forecast
from forecasting.stockflow import forecast_stock, outflow_rate, outflows, rebuild
from store import schema as s


def test_identity_on_a_hand_built_series() -> None:
    stock = np.array([10.0, 12.0, 11.0, 15.0])
    inflow = np.array([10.0, 5.0, 3.0, 6.0])
    # 10 + 5 - 12 = 3 left in month 2; 12 + 3 - 11 = 4; 11 + 6 - 15 = 2
    np.testing.assert_allclose(outflows(stock, inflow)[1:], [3.0, 4.0, 2.0])
    np.testing.assert_allclose(outflow_rate(stock, inflow)[1:], [3 / 10, 4 / 12, 2 / 11])
    assert np.isnan(outflows(stock, inflow)[0])
    # The law of motion gives the stock back from its first value, the inflows and the outflow rates.
    np.testing.assert_allclose(rebuild(10.0, inflow[1:], outflow_rate(stock, inflow)[1:]), stock[1:])
    # No inflow, half leaving each month: 8 -> 4 -> 2.
    np.testing.assert_allclose(rebuild(8.0, np.zeros(2), np.full(2, 0.5)), [4.0, 2.0])


def simulated(n: int = 168, seed: int = 3, noise: bool = True) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """A registry: seasonal Poisson inflows, binomial exits at a seasonal outflow rate. Also the true rates."""
    rng = np.random.default_rng(seed)
    t = np.arange(n + 12)
    expected_in = 1200 * (1 + 0.25 * np.sin(2 * np.pi * t / 12)) * (1 + 0.002 * t)
    rate = 0.10 + 0.015 * np.cos(2 * np.pi * t / 12)
    inflow = rng.poisson(expected_in).astype(float) if noise else expected_in
    stock = np.empty(n + 12)
    level = 12000.0
    for k in range(n + 12):
        out = rng.binomial(int(level), rate[k]) if noise else level * rate[k]
        level = level - out + inflow[k]
        stock[k] = level
    idx = pd.period_range("2010-01", periods=n + 12, freq="M")
    return pd.Series(stock, idx), pd.Series(inflow, idx), rate


def test_outflow_rate_of_a_noise_free_process_is_the_true_rate() -> None:
    stock, inflow, rate = simulated(noise=False)
    np.testing.assert_allclose(outflow_rate(stock.to_numpy(), inflow.to_numpy())[1:], rate[1:], rtol=1e-9)


def test_the_candidate_recovers_a_known_flow_process() -> None:
    stock, inflow, rate = simulated(noise=False)
    n = len(stock) - 12
    # Noise-free seasonal flows: the rebuilt stock follows the true path closely a year ahead.
    mean, sd, _ = forecast_stock(stock.to_numpy()[:n], inflow.to_numpy()[:n], 12)
    truth = stock.to_numpy()[n:]
    assert np.max(np.abs(mean / truth - 1)) < 0.02  # (the damped trend of the inflow model: 1.2 %)
    assert np.all(np.isfinite(sd)) and np.all(sd >= 0)


def test_the_candidate_beats_seasonal_naive_on_a_noisy_registry() -> None:
    stock, inflow, _ = simulated(noise=True)
    bt = backtest(stock, 12, 3, inflow=inflow, models=("stockflow", "snaive"))
    mase = bt.groupby("model")["scaled_error"].mean()
    assert mase["stockflow"] < 0.8 * mase["snaive"]
    assert (bt[bt.model == "stockflow"]["chosen"] == "stockflow").all()


def test_forecast_offers_the_candidate_only_with_an_inflow() -> None:
    stock, inflow, _ = simulated(noise=True)
    train, flow = stock.iloc[:-12], inflow.iloc[:-12]
    with_flow = forecast(train, 12, inflow=flow, n_origins=2)
    assert "stockflow" in with_flow.attrs["scores"]
    assert "stockflow" not in forecast(train, 12, n_origins=2).attrs["scores"]
    # The inflow is read on the stock's months only: later inflow values cannot leak into the forecast.
    leaked = forecast(train, 12, inflow=inflow, n_origins=2)
    pd.testing.assert_frame_equal(leaked, with_flow)


def _district_month(engine: Engine, indicator: str) -> pd.Series:
    a = s.agg_monthly
    stmt = select(a.c.area_code, a.c.year, a.c.month, a.c.value).where(
        a.c.group_code == "all", a.c.level == "district", a.c.indicator_code == indicator
    )
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(stmt).all(), columns=["area", "year", "month", "value"])
    return df.set_index(["area", "year", "month"])["value"].astype(float).sort_index()


@pytest.mark.usefixtures("demo_engine")
def test_the_identity_holds_on_the_demo_registry(demo_engine: Engine) -> None:
    """stock = previous stock + registrations - exits, per district and month, on the tiny demo.

    Exits are counted straight from the spells (``ended_on`` in the month); the stock and the registrations are
    the stored aggregates. The calendar starts at the first registration, so the first month's previous stock
    is zero. Exact: every exit of a spell is one registration leaving the stock, none is counted elsewhere.
    """
    stock = _district_month(demo_engine, "registered_unemployed")
    regs = _district_month(demo_engine, "unemployment_registrations").reindex(stock.index, fill_value=0.0)
    u = s.unemployment_spell
    y, m = func.extract("year", u.c.ended_on), func.extract("month", u.c.ended_on)
    stmt = (
        select(u.c.district_code, y, m, func.count())
        .where(u.c.ended_on.is_not(None))
        .group_by(u.c.district_code, y, m)
    )
    with demo_engine.connect() as conn:
        ex = pd.DataFrame(conn.execute(stmt).all(), columns=["area", "year", "month", "value"])
    ex[["year", "month"]] = ex[["year", "month"]].astype(int)
    exits = (
        ex.set_index(["area", "year", "month"])["value"].astype(float).reindex(stock.index, fill_value=0.0)
    )
    assert len(stock) > 13 * 24
    for area, st in stock.groupby(level="area"):
        prev = st.shift(1, fill_value=0.0)
        implied = prev + regs.loc[area].to_numpy() - exits.loc[area].to_numpy()
        np.testing.assert_allclose(st.to_numpy(), implied.to_numpy(), err_msg=str(area))


def test_seasonal_mean_by_hand() -> None:
    from forecasting.stockflow import seasonal_mean

    y = np.concatenate([np.arange(12.0), np.arange(12.0) + 2, np.arange(12.0) + 4, [99.0] * 5])  # 41 months
    mean, sd = seasonal_mean(y[:36], 13)
    np.testing.assert_allclose(mean, np.concatenate([np.arange(12.0) + 2, [2.0]]))
    assert np.all(sd > 0)
    # The months line up with the calendar whatever the length: 30 months, the last three whole years are
    # not available, two are (months 6..29); month 30 is the same calendar month as month 6 and 18.
    mean, _ = seasonal_mean(y[:30], 1)
    np.testing.assert_allclose(mean, [(y[6] + y[18]) / 2])
