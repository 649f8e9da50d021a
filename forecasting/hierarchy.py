"""Many series at once, and the backtest-driven choice of a reconciliation method."""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from ._prep import seasonal_scale, to_periods
from .core import forecast
from .reconcile import reconcile, residuals_from_forecasts

METHODS = ("bottom_up", "mint_shrink")


def _one(args: tuple[str, pd.Series, int, dict[str, Any]]) -> tuple[str, pd.DataFrame]:
    name, y, horizon, kw = args
    return name, forecast(y, horizon, **kw)


def forecast_many(
    series: Mapping[str, pd.Series] | pd.DataFrame, horizon: int, n_jobs: int = 1, **kwargs: Any
) -> dict[str, pd.DataFrame]:
    """``forecast`` for each series (dict or wide frame); ``n_jobs > 1`` uses that many processes."""
    items = series.items() if isinstance(series, pd.DataFrame) else series.items()
    jobs = [(str(k), v, horizon, kwargs) for k, v in items]
    n_jobs = max(1, min(int(n_jobs), os.cpu_count() or 1, len(jobs)))
    if n_jobs == 1:
        return dict(_one(j) for j in jobs)
    with ProcessPoolExecutor(n_jobs) as pool:
        return dict(pool.map(_one, jobs))


def _as_dict(history: Mapping[str, pd.Series] | pd.DataFrame) -> dict[str, pd.Series]:
    if isinstance(history, pd.DataFrame):
        return {str(c): history[c] for c in history.columns}
    return {str(k): v for k, v in history.items()}


def choose_reconciliation(
    history: Mapping[str, pd.Series] | pd.DataFrame,
    horizon: int,
    total: str = "city",
    origins: int = 2,
    step: int = 12,
    base: Mapping[str, pd.DataFrame] | None = None,
    n_jobs: int = 1,
    backtests: Mapping[str, Mapping[pd.Period, pd.DataFrame]] | None = None,
    **kwargs: Any,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Backtest bottom-up and MinT-shrink on the last ``origins`` windows and keep the better one.

    The city forecast is never made worse than the city's own model: a method is eligible only if its
    reconciled city error in the backtest is no larger than the base city forecast's. If neither is,
    the result is top-down (the city model's forecast split in the district forecasts' proportions).
    Among eligible methods the lower mean scaled error over all nodes wins. Returns the reconciled
    frames (``base`` if given, else fresh forecasts on the full history) and a report dict.

    ``backtests``: forecasts already made at backtest origins, ``{node: {origin month: frame}}`` (e.g. from
    ``backtest(..., keep=...)`` with the same ``horizon`` and ``kwargs``); a node and origin found there is not
    fitted again, so the choice costs no model fits when every window was backtested already.
    """
    hist = _as_dict(history)
    if total not in hist:
        raise KeyError(f"total series {total!r} missing")
    periods = {k: to_periods(v.index)[0] for k, v in hist.items()}
    last = min(p.max() for p in periods.values())
    errs: dict[str, list[float]] = {m: [] for m in ("base", *METHODS)}
    city: dict[str, list[float]] = {m: [] for m in ("base", *METHODS)}
    reused = 0
    for k in range(origins, 0, -1):
        origin = last - horizon - step * (k - 1)
        train = {n: v[np.asarray(periods[n] <= origin)] for n, v in hist.items()}
        if min(len(v.dropna()) for v in train.values()) < 2:
            continue
        known = {n: (backtests or {}).get(n, {}).get(origin) for n in train}
        fc = {n: f.iloc[:horizon] for n, f in known.items() if f is not None and len(f) >= horizon}
        missing = {n: v for n, v in train.items() if n not in fc}
        reused += len(fc)
        if missing:
            fc.update(forecast_many(missing, horizon, n_jobs=n_jobs, **kwargs))
        fc = {n: fc[n] for n in train}  # node order as given (the reconciliation keeps it)
        target = pd.period_range(origin + 1, periods=horizon, freq="M")
        scales = {n: seasonal_scale(v.to_numpy(float)) or 1.0 for n, v in train.items()}
        variants: dict[str, dict[str, pd.DataFrame]] = {"base": fc}
        for m in METHODS:
            try:
                variants[m] = reconcile(fc, m, total=total)
            except (ValueError, np.linalg.LinAlgError):
                continue
        for m, frames in variants.items():
            node_err = []
            for n, f in frames.items():
                actual = pd.Series(hist[n].to_numpy(float), index=periods[n]).reindex(target).to_numpy()
                mae = float(np.nanmean(np.abs(actual - f["mean"].to_numpy())))
                node_err.append(mae / scales[n])
                if n == total:
                    city[m].append(mae)
            errs[m].append(float(np.mean(node_err)))
    score = {m: float(np.mean(v)) for m, v in errs.items() if v}
    city_score = {m: float(np.mean(v)) for m, v in city.items() if v}
    eligible = [m for m in METHODS if m in city_score and city_score[m] <= city_score.get("base", np.inf)]
    if eligible:
        method = min(eligible, key=score.__getitem__)
        reason = (
            f"{method} had the lowest mean scaled error ({score[method]:.3f}) among methods that kept the "
            "city forecast at least as accurate as the city model"
        )
    else:
        method = "top_down"
        reason = (
            "both reconciled city forecasts were worse than the city model in the backtest: the city "
            "model is kept and split in the district forecasts' proportions"
        )
    if base is None:
        base = forecast_many(hist, horizon, n_jobs=n_jobs, **kwargs)
    try:
        result = reconcile(base, method, total=total)
    except (ValueError, np.linalg.LinAlgError) as exc:
        method, reason = "bottom_up", f"{method} failed on the final forecasts ({exc}); bottom-up used"
        result = reconcile(base, method, total=total)
    report = {
        "method": method,
        "reason": reason,
        "node_scaled_mae": score,
        "city_mae": city_score,
        "origins": origins,
        "reused_windows": reused,
    }
    for f in result.values():
        f.attrs["reconciliation_reason"] = reason
    return result, report


__all__ = ["choose_reconciliation", "forecast_many", "residuals_from_forecasts"]
