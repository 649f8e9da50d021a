"""Version 1.2.0's combination: inverse-MSE weights by hand, the level-moved seasonal naive by hand, and the
weights following the members' accuracy on simulated data with a known best member."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting import forecast
from forecasting import models as M
from forecasting.core import _combo_weights


def test_inverse_mse_weights_by_hand() -> None:
    # ETS errs by 1 (MSE 1), SARIMA by 2 (MSE 4), snaive_level by 4 (MSE 16): weights 16 : 4 : 1.
    errs = {
        "ets": [np.array([1.0, -1.0]), np.array([1.0, np.nan])],
        "sarima": [np.array([2.0, -2.0]), np.array([-2.0, np.nan])],
        "snaive_level": [np.array([4.0, 4.0]), np.array([-4.0, np.nan])],
        "snaive": [np.array([0.0, 0.0]), np.array([0.0, np.nan])],  # not a member: no weight
    }
    w = _combo_weights(errs, 2)
    assert set(w) == {"ets", "sarima", "snaive_level"}
    np.testing.assert_allclose([w["ets"], w["sarima"], w["snaive_level"]], np.array([16, 4, 1]) / 21)
    # A member missing an origin is left out; fewer than two members: no combination.
    assert set(_combo_weights({**errs, "sarima": errs["sarima"][:1]}, 2)) == {"ets", "snaive_level"}
    assert _combo_weights({"ets": errs["ets"]}, 2) == {}


def test_combine_weighted_by_hand() -> None:
    a = M.Fit(np.array([10.0, 20.0]), np.array([1.0, 2.0]), np.zeros(3))
    b = M.Fit(np.array([20.0, 40.0]), np.array([3.0, 4.0]), np.zeros(3))
    c = M.combine([a, b], [3.0, 1.0])
    np.testing.assert_allclose(c.mean, [12.5, 25.0])
    np.testing.assert_allclose(c.sd, [1.5, 2.5])
    np.testing.assert_allclose(M.combine([a, b]).mean, [15.0, 30.0])


def test_snaive_level_by_hand() -> None:
    y = np.concatenate([np.arange(12.0), np.arange(12.0) + 5, [17.0]])  # 25 months
    d = M.ModelData(filled=y, raw=y, steps=np.zeros((len(y), 0)))
    f = M.snaive_level(d, 13)
    # last year's pattern (months 13..24: 6, 7, ..., 16, 17) moved by y[-1] - y[-13] = 17 - 5 = 12
    expected = np.array([18.0, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 18])
    np.testing.assert_allclose(f.mean, expected)
    assert np.all(np.diff(f.sd) > 0)


def test_the_combination_leans_on_the_member_that_fits() -> None:
    """A series with a steady trend and season: the trend models fit it, the level-moved naive lags by the
    trend each year, so it gets the least weight; the combination stays close to the truth."""
    rng = np.random.default_rng(0)
    n = 132
    t = np.arange(n + 12)
    truth = 1000 + 3.0 * t + 40 * np.sin(2 * np.pi * t / 12)
    y = pd.Series(truth[:n] + rng.normal(0, 4, n), index=pd.period_range("2010-01", periods=n, freq="M"))
    fc = forecast(y, 12)
    assert fc.attrs["model"].startswith("combination(")
    weights = dict(
        part.rsplit(" ", 1) for part in fc.attrs["reason"].split("weights ")[1].split(";")[0].split(", ")
    )
    w = {k: float(v) for k, v in weights.items()}
    assert w["snaive_level"] < min(w["ets"], w["sarima"])
    assert abs(sum(w.values()) - 1) < 0.02
    assert np.max(np.abs(fc["mean"].to_numpy() / truth[n:] - 1)) < 0.02
