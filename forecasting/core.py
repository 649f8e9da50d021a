"""``forecast``: model choice by an in-sample rolling-origin backtest, calibrated intervals, fallbacks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from . import models as M
from ._plan import Plan, fallback, model_data
from ._prep import (
    SEASON,
    Prepared,
    from_periods,
    infer_bounds,
    prepare,
    seasonal_fill,
    seasonal_scale,
    to_periods,
)

VERSION = "forecasting-1.2.0"

# ``stockflow`` takes part only when the stock's inflow is given (``forecast(..., inflow=...)``).
DEFAULT_CANDIDATES = ("snaive", *M.SEASONAL_MODELS, M.COMBO, M.STOCKFLOW)
# Inner backtest origins: five (a year apart when the data allow) judge the candidates more reliably than
# three (in the benchmark, relative MASE 0.384 with three origins, 0.361 with five, same candidates).
N_ORIGINS = 5
MIN_TRAIN = 3 * SEASON  # ETS with seasonality needs two full seasons; one more keeps its fit stable
MAX_TRAIN = 15 * SEASON  # older years add fit time but little about today's labour market
# A single model must beat the combination by this margin to replace it: a few origins are a noisy
# judge, and on real unemployment series the combination was the most accurate on average.
COMBO_MARGIN = 0.95
# How the combination weighs its members: "inverse_mse" (from their inner-backtest errors) or "equal".
# Version 1.2.0 (#21), chosen on the benchmark's development set only: inverse-MSE weights.
COMBO_WEIGHTS = "inverse_mse"
# Version 1.2.0: the combination is the forecast whenever it can be made; the inner backtest sets its weights
# instead of picking one model (on the development set picking lost accuracy at every margin tried).
ALWAYS_COMBINE = True


# Fits shared between forecast calls inside ``reuse_fits()``: keyed by model, horizon and the exact window.
_CACHE: dict[tuple[Any, ...], M.Fit] | None = None


@contextmanager
def reuse_fits() -> Iterator[None]:
    """Share model fits between the ``forecast`` calls made inside this block (one process, one thread).

    A backtest forecasts from nested windows of one series: the outer origin a year back is the same
    window as the final forecast's first inner origin, and so on. Inside this block a model already fitted
    on exactly the same (scaled) window and horizon is not fitted again; the forecasts are the same up to
    the optimiser's tolerance (only the start values differ). ``backtest`` uses it; a caller that
    forecasts and backtests one series can wrap both. Nested blocks share the outer block's fits.
    """
    global _CACHE
    if _CACHE is not None:
        yield
        return
    _CACHE = {}
    try:
        yield
    finally:
        _CACHE = None


def _run_cached(name: str, d: M.ModelData, h: int, start: np.ndarray | None) -> M.Fit:
    if _CACHE is None:
        return M.run(name, d, h, start)
    flow = b"" if d.inflow is None else d.inflow.tobytes()
    key = (name, h, d.raw.tobytes(), d.filled.tobytes(), d.steps.shape, d.steps.tobytes(), flow)
    fit = _CACHE.get(key)
    if fit is None:
        fit = _CACHE[key] = M.run(name, d, h, start)
    return fit


def _one_blas_thread() -> Any:
    """Limit BLAS/OpenMP to one thread while fitting, when ``threadpoolctl`` is installed.

    The models' matrices are tiny (a few dozen states); with OpenBLAS's default of one thread per core
    the extra threads only spin, and on a busy two-core machine a forecast took 10-20x the CPU time
    (a test series: 16 s instead of 1 s). Without threadpoolctl, set ``OPENBLAS_NUM_THREADS=1`` before
    numpy is imported (the forecast job's workers and the benchmark do).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: statsforecast (benchmark extra) brings it
        return nullcontext()
    return threadpool_limits(limits=1)


def _origins(n: int, h: int, n_origins: int) -> tuple[int, list[int]]:
    """Inner origins (training lengths) and backtest horizon, all inside the training data."""
    hb = min(h, n - MIN_TRAIN)
    if hb < 1 or n_origins < 1:
        return 0, []
    for step in (hb, max(1, hb // 2), max(1, hb // 4)):
        origins = [n - hb - step * k for k in range(n_origins)]
        origins = [o for o in origins if o >= MIN_TRAIN]
        if len(origins) >= min(n_origins, 2):
            return hb, sorted(origins)
    return hb, [n - hb]


def _fit_members(
    names: Sequence[str],
    d: M.ModelData,
    h: int,
    failed: dict[str, str],
    warm: dict[str, M.Fit] | None = None,
) -> dict[str, M.Fit]:
    fits: dict[str, M.Fit] = {}
    lo, hi = np.nanmin(d.filled), np.nanmax(d.filled)
    span = max(hi - lo, 1e-9 + 0.1 * abs(hi))
    for name in names:
        if name in failed:
            continue
        try:
            start = warm[name].params if warm and name in warm else None
            f = _run_cached(name, d, h, start)
        except Exception as exc:  # a failing model is dropped and reported, never fatal
            failed[name] = f"{type(exc).__name__}: {exc}"[:200]
            continue
        # Guard against the silent blow-ups / collapses seen with statsmodels on odd data.
        if np.any(f.mean > hi + 3 * span) or np.any(f.mean < lo - 3 * span):
            failed[name] = "forecast left three data ranges around the history (blow-up)"
            continue
        fits[name] = f
    return fits


def _combo_weights(errs: dict[str, list[np.ndarray]], n_origins: int) -> dict[str, float]:
    """Weights of the combination's members (those backtested at every origin), from their backtest errors.

    ``COMBO_WEIGHTS == "inverse_mse"``: proportional to 1 / mean squared inner-backtest error (Bates &
    Granger 1969; no correlations estimated: a few origins cannot estimate them); ``"equal"``: 1 / k.
    """
    members = [k for k in M.COMBO_MEMBERS if k in errs and len(errs[k]) == n_origins]
    if len(members) < 2:
        return {}
    mse = {k: float(np.nanmean(np.concatenate(errs[k]) ** 2)) for k in members}
    if COMBO_WEIGHTS == "equal" or not all(np.isfinite(v) and v > 0 for v in mse.values()):
        return {k: 1.0 / len(members) for k in members}
    inv = {k: 1.0 / v for k, v in mse.items()}
    total = sum(inv.values())
    return {k: v / total for k, v in inv.items()}


def select_and_fit(
    values: np.ndarray,
    shock: np.ndarray,
    steps: np.ndarray,
    h: int,
    levels: Sequence[float],
    n_origins: int = N_ORIGINS,
    candidates: Sequence[str] = DEFAULT_CANDIDATES,
    inflow: np.ndarray | None = None,
) -> Plan:
    """Rolling-origin backtest inside the data, pick/combine, refit on all data, calibrate intervals.

    ``candidates`` may include ``"combo"`` (ETS+SARIMA+snaive_level weighted by inverse backtest MSE); a single
    name forces that model.
    ``inflow`` (the flow into the stock ``values``, same months) enables the ``stockflow`` candidate.
    """
    n = len(values)
    if inflow is None or np.isfinite(inflow).sum() < MIN_TRAIN:
        inflow = None
        candidates = [c for c in candidates if c != M.STOCKFLOW] or ["snaive"]
    fit_names = [c for c in candidates if c != M.COMBO]
    if M.COMBO in candidates:
        fit_names += [
            m for m in M.COMBO_MEMBERS if m not in fit_names and (m != M.STOCKFLOW or inflow is not None)
        ]
    hb, origins = _origins(n, h, n_origins)
    scale = seasonal_scale(seasonal_fill(values, ~np.isfinite(values) | shock)) or 1.0
    failed: dict[str, str] = {}
    errs: dict[str, list[np.ndarray]] = {}
    sds: dict[str, list[np.ndarray]] = {}
    d_full = model_data(values, shock, steps, inflow)
    # Fitting on all the data first gives start values that make the shorter inner fits converge faster.
    full_fits = _fit_members(fit_names, d_full, h, failed) if origins else {}
    for o in origins:
        d = model_data(values[:o], shock[:o], steps[:o], None if inflow is None else inflow[:o])
        fits = _fit_members(fit_names, d, hb, failed, warm=full_fits)
        actual = values[o : o + hb]
        valid = np.isfinite(actual) & ~shock[o : o + hb]
        for name, f in fits.items():
            errs.setdefault(name, []).append(np.where(valid, actual - f.mean, np.nan))
            sds.setdefault(name, []).append(f.sd)
    weights = _combo_weights(errs, len(origins)) if M.COMBO in candidates else {}
    if weights:  # the combination's backtest errors and s.d. follow from its members' (no refit)
        for store in (errs, sds):
            store[M.COMBO] = [
                np.sum([w * store[k][i] for k, w in weights.items()], axis=0) for i in range(len(origins))
            ]
    errs = {k: v for k, v in errs.items() if k in candidates}
    scores = {k: float(np.nanmean(np.abs(np.concatenate(v)))) / scale for k, v in errs.items()}
    scores = {k: v for k, v in scores.items() if np.isfinite(v) and len(errs[k]) == len(origins)}
    notes = [f"{k} dropped: {v}" for k, v in failed.items()]
    if not scores:
        plan = _theta_only(d_full, h, failed)
        plan.reason = "; ".join([plan.reason, *notes])
        return plan
    ranked = sorted(scores, key=scores.__getitem__)
    best = ranked[0]
    if best != M.COMBO and M.COMBO in scores and scores[M.COMBO] * COMBO_MARGIN <= scores[best]:
        best = M.COMBO
    # snaive wins ties: it is the simplest and exact on purely seasonal data.
    if "snaive" in scores and scores["snaive"] <= scores[best] * (1 + 1e-9):
        best = "snaive"
    if ALWAYS_COMBINE and M.COMBO in scores:
        best = M.COMBO
        # The stock-flow model is not a member (it was never tried on public data): it replaces the
        # combination only where it beats it inside the backtest by the usual margin.
        if M.STOCKFLOW in scores and scores[M.STOCKFLOW] <= scores[M.COMBO] * COMBO_MARGIN:
            best = M.STOCKFLOW
    for choice in [best, *[r for r in ranked if r != best]]:
        members = list(weights) if choice == M.COMBO else [choice]
        final = {k: v for k, v in full_fits.items() if k in members} or _fit_members(
            members, d_full, h, failed
        )
        if choice == M.COMBO and len(final) >= 2:
            fit = M.combine(list(final.values()), [weights.get(k, 0.0) for k in final])
            members = list(final)
        elif choice in final:
            fit = final[choice]
        else:
            continue
        e = np.concatenate(errs[choice])
        s = np.concatenate(sds[choice])
        factors, method = _calibrate(e, s, levels)
        label = "combination(" + "+".join(members) + ")" if choice == M.COMBO else choice
        score_txt = ", ".join(f"{k} {v:.2f}" for k, v in sorted(scores.items(), key=lambda kv: kv[1]))
        why = (
            f"chosen by a rolling-origin backtest inside the training data ({len(origins)} origins, "
            f"horizons 1-{hb}); MASE: {score_txt}"
        )
        if choice == M.COMBO:
            why += "; weights " + ", ".join(f"{k} {weights.get(k, 0.0):.2f}" for k in members)
        if choice == M.STOCKFLOW and ALWAYS_COMBINE:
            why += "; the stock-flow model beat the combination by more than 5%"
        elif choice == M.COMBO and choice != ranked[0] and ALWAYS_COMBINE:
            why += f"; combination kept over {ranked[0]}: choosing one model on a few origins lost accuracy"
        elif choice == M.COMBO and choice != ranked[0]:
            why += f"; combination kept over {ranked[0]}: within 5%, and combinations are steadier"
        elif choice == "snaive" and choice != ranked[0]:
            why += f"; seasonal naive tied with {ranked[0]} and is simpler"
        elif choice != ranked[0]:
            why += f"; {ranked[0]} could not be fitted on all the data"
        return Plan(fit.mean, fit.sd, label, "; ".join([why, *notes]), factors, scores, method, fit.resid)
    plan = _theta_only(d_full, h, failed)
    plan.reason = "; ".join(["every candidate failed to refit", plan.reason, *notes])
    return plan


def _calibrate(e: np.ndarray, sd: np.ndarray, levels: Sequence[float]) -> tuple[dict[float, float], str]:
    """Widen the model's own intervals where its standardised backtest errors show under-coverage."""
    ok = np.isfinite(e) & (sd > 0)
    r = np.abs(e[ok]) / sd[ok]
    if r.size < 8:
        return {lv: 1.0 for lv in levels}, "model's own intervals (too few backtest errors to calibrate)"
    factors = {
        lv: max(1.0, float(np.quantile(r, lv / 100)) / float(norm.ppf(0.5 + lv / 200))) for lv in levels
    }
    method = (
        f"model's own interval widths scaled by empirical quantiles of {r.size} standardised backtest "
        "errors where they under-covered (factors "
        + ", ".join(f"{lv:g}%: {f:.2f}" for lv, f in factors.items())
    ) + ")"
    return factors, method


def _theta_only(d: M.ModelData, h: int, failed: dict[str, str]) -> Plan:
    fits = _fit_members(["theta"], d, h, failed)
    if "theta" in fits:
        f = fits["theta"]
        return Plan(
            f.mean,
            f.sd,
            "theta",
            "too little data to backtest; Theta (best-calibrated own intervals)",
            resid=f.resid,
        )
    f = M.run("snaive", d, h)
    return Plan(
        f.mean, f.sd, "snaive", "too little data to backtest and Theta failed; seasonal naive", resid=f.resid
    )


def _level_name(lv: float) -> str:
    return f"{lv:g}"


def forecast(
    y: pd.Series,
    horizon: int,
    levels: Iterable[float] = (80, 95),
    events: Iterable[Any] | None = None,
    bounds: Sequence[float | None] | None = None,
    *,
    n_origins: int = N_ORIGINS,
    candidates: Sequence[str] = DEFAULT_CANDIDATES,
    inflow: pd.Series | None = None,
) -> pd.DataFrame:
    """Forecast a monthly series ``horizon`` months ahead with calibrated prediction intervals.

    ``y`` has a monthly DatetimeIndex or PeriodIndex (gaps and NaNs allowed). ``events`` lists known
    breaks as ``(start, end, label[, "shock"|"level_shift"])``. ``bounds`` are physical limits, e.g.
    ``(0, None)`` for counts, ``(0, 100)`` for rates in percent; by default non-negative data stay
    non-negative. Returns columns ``mean, lo_<L>, hi_<L>`` per level, indexed by the months after the
    last observation in the input's index type; ``.attrs`` holds ``model``, ``reason`` and ``version``.
    ``inflow``: when ``y`` is a stock, the monthly flow into it (e.g. new registrations for the registered
    unemployed); it adds the stock-flow candidate (``forecasting.stockflow``), which the backtest may choose.
    """
    if int(horizon) < 1:
        raise ValueError("horizon must be at least 1")
    h = int(horizon)
    lv = [float(x) for x in levels]
    if any(not 0 < x < 100 for x in lv):
        raise ValueError("levels must be percentages strictly between 0 and 100")
    prep = prepare(y, events)
    flow = None if inflow is None else _align(inflow, prep.index)
    lo_b, hi_b = infer_bounds(prep.values, bounds)
    with _one_blas_thread():
        plan, prep_used = _plan(prep, h, lv, n_origins, candidates, flow)
    return _to_frame(plan, prep_used, h, lv, (lo_b, hi_b))


def _align(inflow: pd.Series, index: pd.PeriodIndex) -> np.ndarray:
    """The inflow on the stock's months (NaN where it has no value)."""
    s = inflow if isinstance(inflow, pd.Series) else pd.Series(inflow)
    periods, _, _ = to_periods(s.index)
    v = pd.Series(
        pd.to_numeric(pd.Series(np.asarray(s.values)), errors="coerce").to_numpy(float), index=periods
    )
    v = v[~v.index.duplicated(keep="last")]
    return v.reindex(index).to_numpy(float)


def _plan(
    prep: Prepared,
    h: int,
    lv: list[float],
    n_origins: int,
    candidates: Sequence[str],
    inflow: np.ndarray | None = None,
) -> tuple[Plan, Prepared]:
    notes = list(prep.notes)
    if prep.n > MAX_TRAIN:
        cut = prep.n - MAX_TRAIN
        inflow = None if inflow is None else inflow[cut:]
        prep = Prepared(
            prep.values[cut:],
            prep.index[cut:],
            prep.kind,
            prep.name,
            prep.tz,
            prep.events,
            prep.shock_mask[cut:],
            prep.steps[cut:],
            notes,
        )
        notes.append(f"only the last {MAX_TRAIN} months used (older ones add fit time, little signal)")
    obs = prep.values[np.isfinite(prep.values)]
    # A power of two near the mean: dividing by it is exact, so nested windows of one series are the same
    # numbers and ``reuse_fits`` can share their fits (the mean itself differs from window to window).
    mean_abs = float(np.mean(np.abs(obs)))
    scale = float(2.0 ** np.round(np.log2(mean_abs))) if mean_abs > 0 else 1.0
    x = prep.values / scale
    plan = fallback(x, prep.shock_mask, prep.steps, h)
    if plan is None:
        flow = None if inflow is None else inflow / scale  # the same units as the stock
        plan = select_and_fit(x, prep.shock_mask, prep.steps, h, lv, n_origins, candidates, flow)
    else:
        plan.reason = "fallback: " + plan.reason
        plan.interval_method = "the fallback model's own intervals (no backtest)"
    plan.mean = plan.mean * scale
    plan.sd = plan.sd * scale
    plan.resid = plan.resid * scale
    if notes:
        plan.reason = plan.reason + "; data: " + "; ".join(notes)
    return plan, prep


def _to_frame(
    plan: Plan, prep: Prepared, h: int, lv: list[float], bounds: tuple[float, float]
) -> pd.DataFrame:
    lo_b, hi_b = bounds
    future = pd.period_range(prep.index[-1] + 1, periods=h, freq="M")
    index = from_periods(future, prep.kind, prep.tz, getattr(prep.index, "name", None))
    out = {"mean": np.clip(plan.mean, lo_b, hi_b)}
    clipped = bool(np.any(out["mean"] != plan.mean))
    prev = np.zeros(h)
    for level in sorted(lv):
        z = float(norm.ppf(0.5 + level / 200))
        half = np.maximum(plan.sd * z * plan.factors.get(level, 1.0), prev)  # nested intervals
        prev = half
        lo, hi = np.clip(plan.mean - half, lo_b, hi_b), np.clip(plan.mean + half, lo_b, hi_b)
        clipped |= bool(np.any(lo != plan.mean - half) or np.any(hi != plan.mean + half))
        out[f"lo_{_level_name(level)}"], out[f"hi_{_level_name(level)}"] = lo, hi
    cols = ["mean"] + [f"{s}_{_level_name(level)}" for level in lv for s in ("lo", "hi")]
    df = pd.DataFrame(out, index=index)[cols]
    # Anything non-finite left at this point is a bug; fail soft to the last value rather than show NaN.
    if not np.isfinite(df.to_numpy()).all():
        last = float(prep.values[np.isfinite(prep.values)][-1])
        df = df.fillna(last).replace([np.inf, -np.inf], last)
        plan.reason += "; non-finite output replaced by the last value"
    event_notes = [n for n in prep.notes if n.startswith(("shock", "level shift"))]
    df.attrs = {
        "model": plan.model,
        "reason": plan.reason + ("; clipped to physical bounds" if clipped else ""),
        "version": VERSION,
        "interval_method": plan.interval_method,
        "calibration": {_level_name(k): round(v, 4) for k, v in plan.factors.items()},
        "scores": {k: round(v, 4) for k, v in plan.scores.items()},
        "events": event_notes,
        "bounds": (None if np.isinf(lo_b) else lo_b, None if np.isinf(hi_b) else hi_b),
        "last_observation": str(prep.index[-1]),
        "residuals": [float(v) for v in plan.resid[-MAX_TRAIN:]],
    }
    return df
