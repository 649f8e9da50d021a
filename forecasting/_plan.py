"""Shared pieces of ``forecast``: the plan record, training-window views, and the fallbacks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import models as M
from ._prep import SEASON, seasonal_fill, seasonal_scale


@dataclass
class Plan:
    """What ``forecast`` decided, in scaled units."""

    mean: np.ndarray
    sd: np.ndarray
    model: str
    reason: str
    factors: dict[float, float] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    interval_method: str = "model"
    resid: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _estimate_shift(x: np.ndarray, step: np.ndarray) -> float:
    """Size of a level shift at the first month of ``step``, net of trend and season.

    Year-on-year changes that straddle the shift contain it; those just before do not.
    """
    t0 = int(np.argmax(step > 0))
    n = len(x)
    if t0 >= 2 * SEASON and n - t0 >= 1:
        yoy = x[SEASON:] - x[:-SEASON]  # yoy[i] = x[i+12] - x[i]
        across = yoy[t0 - SEASON : min(t0, n - SEASON)]
        before = yoy[t0 - 2 * SEASON : t0 - SEASON]
        return float(np.median(across) - np.median(before))
    d = np.diff(x)
    return float(d[t0 - 1] - np.median(d)) if t0 >= 1 else 0.0


def model_data(
    values: np.ndarray, shock: np.ndarray, steps: np.ndarray, inflow: np.ndarray | None = None
) -> M.ModelData:
    """Build the filled (ETS/Theta) and raw-with-NaN (SARIMAX) views of one training window.

    ``inflow`` (the flow into a stock, same months) is filled the same way, over its own gaps and the shocks.
    """
    missing = ~np.isfinite(values) | shock
    filled = seasonal_fill(values, missing)
    keep = [j for j in range(steps.shape[1]) if 0 < steps[:, j].sum() < len(values)]
    steps = steps[:, keep]
    for j in range(steps.shape[1]):
        # Put earlier months on the new definition's level so the forecast continues from it.
        filled = filled + _estimate_shift(filled, steps[:, j]) * (1.0 - steps[:, j])
    raw = np.where(missing, np.nan, values)
    flow = None
    if inflow is not None and np.isfinite(inflow).sum() >= 2:
        flow = seasonal_fill(inflow, ~np.isfinite(inflow) | shock)
    return M.ModelData(filled=filled, raw=raw, steps=steps, inflow=flow)


def fallback(values: np.ndarray, shock: np.ndarray, steps: np.ndarray, h: int) -> Plan | None:
    """Cases where model selection would be meaningless or fragile; ``None`` means 'no fallback'."""
    obs = values[np.isfinite(values)]
    n = len(values)
    if n < 2:
        return Plan(
            np.full(h, obs[-1]),
            np.zeros(h),
            "naive",
            "short series (1 month): the last value, no spread observed yet so intervals have zero width",
        )
    if np.ptp(obs) <= 1e-12 * max(1.0, float(np.abs(obs).max())):
        kind = "all-zero" if np.all(obs == 0) else "constant"
        return Plan(
            np.full(h, obs[-1]),
            np.zeros(h),
            "naive",
            f"{kind} series: the value repeats; no spread was ever observed, so intervals have zero width",
        )
    d = model_data(values, shock, steps)
    if np.mean(obs == 0) > 0.5:
        f = M.run("mean", d, h)
        return Plan(
            f.mean, f.sd, "mean", "mostly zeros (intermittent counts): recent 12-month average", resid=f.resid
        )
    if n < 2 * SEASON:
        name = "naive"
        if n >= 6:
            hb = max(1, min(h, n // 3))
            errs = {}
            for cand in ("naive", "drift"):
                dd = model_data(values[: n - hb], shock[: n - hb], steps[: n - hb])
                a = values[n - hb :]
                errs[cand] = float(np.nanmean(np.abs(a - M.run(cand, dd, hb).mean)))
            name = min(errs, key=errs.__getitem__)
        f = M.run(name, d, h)
        return Plan(
            f.mean,
            f.sd,
            name,
            f"short series ({n} months < 2 seasons): {name} with random-walk "
            "intervals; seasonal models need at least 24 months",
            resid=f.resid,
        )
    if seasonal_scale(d.filled) <= 1e-9 * max(1.0, float(np.abs(obs).mean())):
        f = M.run("snaive", d, h)
        return Plan(
            f.mean,
            f.sd,
            "snaive",
            "the series repeats exactly every 12 months: seasonal naive is exact",
            resid=f.resid,
        )
    return None
