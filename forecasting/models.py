"""Base models. Each returns a point forecast, its own forecast s.d. and in-sample residuals.

All inputs are already divided by the training mean: statsmodels SARIMAX silently returned near-zero
forecasts on unscaled series with levels ~150,000, and scaling fixed every case we saw.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._prep import SEASON

# The single models a forecast may use (version 1.2.0: Theta is no longer one of them, see docs/forecasting.md;
# it remains the fallback for 24-36 months of data).
SEASONAL_MODELS = ("ets", "sarima", "snaive_level")
# Members of the combination, weighted by their backtest errors. ``yoy_ar`` (below) was tried as a fourth
# member: no gain on the development set (0.2154 vs 0.2160), 40 % more fit time; it stays available as a single
# candidate (``candidates=("yoy_ar",)``). ``stockflow`` is a rival of the combination, not a member: as a member
# it made the demo registry's backtest worse (combination MASE 0.095 with it, 0.083 without).
COMBO_MEMBERS = ("ets", "sarima", "snaive_level")
ARIMA_ORDER = (1, 1, 1)  # non-seasonal (p, d, q) of the SARIMA candidate; seasonal part (0, 1, 1)12
# L-BFGS stopping tolerance (relative change of the likelihood, in units of machine epsilon; scipy's default
# is 1e7). The ETS and SARIMA likelihoods are flat near their maximum: stopping at 1e10 (~2e-6 relative)
# moved forecasts by well under their standard error and cut the fit time by 1.5-2.5x.
FACTR = 1e10
# Likelihood evaluations allowed per SARIMAX fit. Real series need 50-130 (57 benchmark windows: median 52, max 128);
# a noise-free series with missing months took 660 (10 s) on a flat ridge where AR and MA cancel out.
SARIMA_MAXFUN = 150
COMBO = "combo"


@dataclass
class ModelData:
    """One training window in the forms the models need."""

    filled: np.ndarray  # no NaN: gaps/shocks seasonally interpolated, level shifts removed
    raw: np.ndarray  # NaN at gaps and shock months (SARIMAX treats them as missing observations)
    steps: np.ndarray  # (n, k) level-shift dummies for SARIMAX
    inflow: np.ndarray | None = None  # flow into the stock (filled like ``filled``), for the stock-flow model


@dataclass
class Fit:
    """Forecast of one model on one window."""

    mean: np.ndarray
    sd: np.ndarray
    resid: np.ndarray
    params: np.ndarray | None = None  # fitted parameters, reused as start values on shorter windows


def _sd_from(resid: np.ndarray) -> float:
    r = resid[np.isfinite(resid)]
    return float(np.sqrt(np.mean(r**2))) if r.size else 0.0


def snaive(d: ModelData, h: int, m: int = SEASON) -> Fit:
    """Seasonal naive: the value of the same month last year; s.d. grows with completed years."""
    y = d.filled
    if len(y) <= m:
        return naive(d, h)
    k = np.arange(h)
    mean = y[len(y) - m + (k % m)]
    resid = np.concatenate([np.full(m, np.nan), y[m:] - y[:-m]])
    sd = _sd_from(resid) * np.sqrt(k // m + 1)
    return Fit(mean, sd, resid)


def naive(d: ModelData, h: int) -> Fit:
    """Random walk: the last value; s.d. grows with the square root of the horizon."""
    y = d.filled
    resid = np.concatenate([[np.nan], np.diff(y)])
    return Fit(np.full(h, y[-1]), _sd_from(resid) * np.sqrt(np.arange(1, h + 1)), resid)


def drift(d: ModelData, h: int) -> Fit:
    """Random walk with drift: the line through the first and last values, extended."""
    y = d.filled
    n = len(y)
    if n < 3:
        return naive(d, h)
    slope = (y[-1] - y[0]) / (n - 1)
    k = np.arange(1, h + 1)
    resid = np.concatenate([[np.nan], np.diff(y) - slope])
    sd = _sd_from(resid) * np.sqrt(k * (1 + k / (n - 1)))
    return Fit(y[-1] + slope * k, sd, resid)


def mean_model(d: ModelData, h: int) -> Fit:
    """Recent average (last 12 months at most): for mostly-zero, intermittent counts."""
    y = d.filled[-SEASON:]
    resid = d.filled - y.mean()
    sd = float(np.std(y, ddof=1)) * np.sqrt(1 + 1 / len(y)) if len(y) > 1 else 0.0
    return Fit(np.full(h, y.mean()), np.full(h, sd), resid)


def _fit_warm(mod: Any, start: np.ndarray | None, **kw: Any) -> Any:
    """Fit from ``start`` when it fits the model (it converges in fewer steps), else from scratch."""
    if start is not None and len(start) == len(mod.start_params):
        try:
            return mod.fit(start_params=start, disp=False, **kw)
        except Exception:  # a bad start must not cost the model: retry cold
            pass
    return mod.fit(disp=False, **kw)


def ets(d: ModelData, h: int, start: np.ndarray | None = None) -> Fit:
    """statsmodels ETSModel, additive error, damped additive trend, additive seasonality."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = pd.Series(d.filled)
    seasonal = "add" if len(y) >= 2 * SEASON + 2 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = ETSModel(
            y,
            error="add",
            trend="add",
            damped_trend=True,
            seasonal=seasonal,
            seasonal_periods=SEASON if seasonal else None,
        )
        res = _fit_warm(mod, start, maxiter=200, factr=FACTR)
        pred = res.get_prediction(start=len(y), end=len(y) + h - 1)
        mean = np.asarray(pred.predicted_mean, float)
        sd = np.sqrt(np.maximum(np.asarray(pred.forecast_variance, float), 0.0))
    return Fit(mean, sd, np.asarray(res.resid, float), np.asarray(res.params, float))


def sarima(d: ModelData, h: int, start: np.ndarray | None = None) -> Fit:
    """statsmodels SARIMAX (1,1,1)(0,1,1)12 with level-shift dummies as regressors.

    The airline model (0,1,1)(0,1,1)12 plus one AR term: month-to-month changes in employment and
    unemployment persist (a labour market that starts shedding jobs keeps doing so for a while), which
    the airline model cannot express. Fixed rather than searched: an order search would multiply the fit
    time, and the inner backtest already weighs this model against ETS and Theta.
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    exog = d.steps if d.steps.shape[1] else None
    future = np.repeat(d.steps[-1:], h, axis=0) if exog is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # concentrate_scale: sigma^2 profiled out; ~5x faster and converged where the default did not.
        mod = SARIMAX(
            d.raw, exog=exog, order=ARIMA_ORDER, seasonal_order=(0, 1, 1, SEASON), concentrate_scale=True
        )
        res = _fit_warm(mod, start, maxiter=100, factr=FACTR, maxfun=SARIMA_MAXFUN)
        fc = res.get_forecast(h, exog=future)
        mean = np.asarray(fc.predicted_mean, float)
        sd = np.asarray(fc.se_mean, float)
    resid = np.asarray(res.resid, float).copy()
    resid[: SEASON + 1] = np.nan  # the diffuse start makes the first d + D*s residuals meaningless
    return Fit(mean, sd, resid, np.asarray(res.params, float))


def yoy_ar(d: ModelData, h: int, start: np.ndarray | None = None) -> Fit:
    """statsmodels SARIMAX (2,0,0)(0,1,1)12 with a constant: the year-on-year change as an AR(2) around a
    constant growth.

    Unlike the (1,1,1)(0,1,1)12 candidate, which carries the latest month-to-month momentum on, this one
    lets the year-on-year change return to its average: a different error after a turning point, which is
    what a combination needs from its members.
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    exog = d.steps if d.steps.shape[1] else None
    future = np.repeat(d.steps[-1:], h, axis=0) if exog is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = SARIMAX(
            d.raw,
            exog=exog,
            order=(2, 0, 0),
            seasonal_order=(0, 1, 1, SEASON),
            trend="c",
            concentrate_scale=True,
        )
        res = _fit_warm(mod, start, maxiter=100, factr=FACTR, maxfun=SARIMA_MAXFUN)
        fc = res.get_forecast(h, exog=future)
        mean = np.asarray(fc.predicted_mean, float)
        sd = np.asarray(fc.se_mean, float)
    resid = np.asarray(res.resid, float).copy()
    resid[:SEASON] = np.nan  # the diffuse start of the seasonal difference
    return Fit(mean, sd, resid, np.asarray(res.params, float))


def snaive_level(d: ModelData, h: int) -> Fit:
    """Last year's seasonal pattern moved to the latest level: ``y[n-12+k] + (y[n-1] - y[n-13])``.

    A fully damped trend: no growth beyond what has happened. In a combination it is the guard against
    carrying on a trend after a shock; the weights give it a say where trends have not persisted.
    """
    y = d.filled
    m = SEASON
    if len(y) <= m + 1:
        return naive(d, h)
    k = np.arange(h)
    mean = y[len(y) - m + (k % m)] + (y[-1] - y[-m - 1])
    resid = np.concatenate([np.full(m + 1, np.nan), np.diff(y[m:] - y[:-m])])
    sd = _sd_from(resid) * np.sqrt(k + 1)
    return Fit(mean, sd, resid)


def theta(d: ModelData, h: int, start: np.ndarray | None = None) -> Fit:
    """statsmodels ThetaModel (seasonality tested and removed automatically); best-calibrated intervals.

    The interval is statsmodels' own (``prediction_intervals``): an IMA(1,1) variance growth with the
    innovation variance of an ARIMA(0,1,1) with drift on the series. That variance is estimated here with
    the scale concentrated out of the likelihood (the same maximum, found ~2x faster: statsmodels' default
    fit was half of Theta's time), warm-started on shorter windows from ``start``.
    """
    from statsmodels.tsa.forecasting.theta import ThetaModel
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y = pd.Series(d.filled)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Multiplicative deseasonalisation needs strictly positive data; fall back to additive otherwise.
        method = "auto" if np.all(y > 0) else "additive"
        res = ThetaModel(y, period=SEASON, method=method).fit()
        mean = np.asarray(res.forecast(h), float)
        ima = _fit_warm(SARIMAX(d.filled, order=(0, 1, 1), trend="c", concentrate_scale=True), start)
    alpha = float(res.params["alpha"])
    sd = np.sqrt((1 + np.arange(h) * (1 + (alpha - 1) ** 2)) * float(ima.scale))
    # ThetaModel exposes no in-sample residuals; NaN tells callers to use another member's.
    return Fit(mean, sd, np.full(len(d.filled), np.nan), np.asarray(ima.params, float))


def stockflow(d: ModelData, h: int) -> Fit:
    """The stock rebuilt from forecasts of its inflow and outflow rate (``forecasting.stockflow``)."""
    from .stockflow import forecast_stock

    if d.inflow is None:
        raise ValueError("the stock-flow model needs the inflow series")
    mean, sd, resid = forecast_stock(d.filled, d.inflow, h)
    return Fit(mean, sd, resid)


STOCKFLOW = "stockflow"
WARM = ("ets", "sarima", "theta", "yoy_ar")
MODELS: dict[str, Callable[..., Fit]] = {
    "snaive": snaive,
    "naive": naive,
    "drift": drift,
    "mean": mean_model,
    "ets": ets,
}
MODELS.update(
    {"sarima": sarima, "theta": theta, "yoy_ar": yoy_ar, "snaive_level": snaive_level, STOCKFLOW: stockflow}
)


def run(name: str, d: ModelData, h: int, start: np.ndarray | None = None) -> Fit:
    """Fit one model by name; raise if its output is not finite so the caller can drop it."""
    fit = MODELS[name](d, h, start) if name in WARM else MODELS[name](d, h)
    if not (np.all(np.isfinite(fit.mean)) and np.all(np.isfinite(fit.sd))):
        raise FloatingPointError(f"{name} produced a non-finite forecast")
    return fit


def combine(fits: list[Fit], weights: list[float] | None = None) -> Fit:
    """Weighted (default: equal) combination; s.d. is the weighted mean of the members' (conservative:
    assumes correlation 1)."""
    w = np.full(len(fits), 1.0 / len(fits)) if weights is None else np.asarray(weights, float)
    w = w / w.sum() if w.sum() > 0 else np.full(len(fits), 1.0 / len(fits))
    mean = np.sum([wi * f.mean for wi, f in zip(w, fits, strict=True)], axis=0)
    sd = np.sum([wi * f.sd for wi, f in zip(w, fits, strict=True)], axis=0)
    k = min(len(f.resid) for f in fits)
    stack = np.vstack([f.resid[len(f.resid) - k :] for f in fits])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # all-NaN columns (e.g. the differencing start) stay NaN
        resid = np.nanmean(stack, axis=0)
    return Fit(mean, sd, resid)
