"""Rolling-origin backtest, its summary, and plain-language accuracy sentences for leaders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._prep import parse_events, seasonal_scale, to_periods
from .core import forecast, reuse_fits

AUTO = "auto"
BASELINE = "snaive"
DEFAULT_MODELS = (AUTO, BASELINE)


def horizon_band(h: int) -> str:
    """Horizon band label used in summaries: 1-3, 4-6, 7-12 or 13+ months."""
    return "1-3" if h <= 3 else "4-6" if h <= 6 else "7-12" if h <= 12 else "13+"


def _origin_positions(
    periods: pd.PeriodIndex, horizon: int, origins: int | Iterable[Any], step: int
) -> list[int]:
    """Positions (number of training months) of each origin; the test window may run past the data."""
    n = len(periods)
    if isinstance(origins, int | np.integer):
        last = n - horizon  # the last origin whose whole test window is observed
        pos = [last - step * k for k in range(int(origins))][::-1]
    else:
        pos = []
        for o in origins:
            p = pd.Period(o, freq="M") if not isinstance(o, pd.Period) else o.asfreq("M")
            pos.append(int(periods.searchsorted(p, side="right")))
    return [p for p in pos if p >= 2]


def backtest(
    y: pd.Series,
    horizon: int,
    origins: int | Iterable[Any],
    levels: Sequence[float] = (80, 95),
    events: Iterable[Any] | None = None,
    bounds: Sequence[float | None] | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    step: int = 12,
    *,
    keep: dict[tuple[str, pd.Period], pd.DataFrame] | None = None,
    inflow: pd.Series | None = None,
) -> pd.DataFrame:
    """Rolling-origin evaluation: one row per model, origin and horizon step.

    ``origins`` is a count (the last ones, ``step`` months apart, yearly by default so the windows cover
    different years) or a list of origin months (the last month of training data). ``models`` are
    ``"auto"`` (the full ``forecast``) or single candidates: snaive, ets, sarima, theta, combo.
    Columns: model, origin, h, band, target, actual, mean, lo_/hi_ per level, abs_error, scaled_error
    (absolute error / in-sample seasonal-naive MAE with m=12 of the training window), smape_term,
    in_<L> (actual inside the interval), event (target in a shock month), and per (model, origin):
    mase, smape, coverage_<L>.

    ``keep``: a dict filled with each forecast frame, keyed ``(model, origin month)``, so a caller can reuse
    them (``choose_reconciliation(..., backtests=...)`` does) instead of fitting the same windows again.
    ``inflow``: the flow into the stock ``y`` (see ``forecast``); each origin sees only its training months.
    """
    y = y if isinstance(y, pd.Series) else pd.Series(y)
    periods, _, _ = to_periods(y.index)
    series = pd.Series(
        pd.to_numeric(pd.Series(np.asarray(y.values)), errors="coerce").to_numpy(float), index=periods
    ).sort_index()
    series = series[~series.index.duplicated(keep="last")]
    full = pd.period_range(series.index[0], series.index[-1], freq="M")
    series = series.reindex(full)
    ev = parse_events(events)
    shock = np.zeros(len(full), bool)
    for e in ev:
        if e.kind == "shock":
            shock |= np.asarray((full >= e.start) & (full <= e.end))
    rows: list[dict[str, Any]] = []
    lv = [float(x) for x in levels]
    with reuse_fits():  # the origins' windows are nested: models fitted on one are not fitted again
        for pos in _origin_positions(full, horizon, origins, step):
            train = series.iloc[:pos]
            hist = np.where(shock[:pos], np.nan, train.to_numpy())
            scale = seasonal_scale(hist)
            origin = full[pos - 1]
            for model in models:
                kw: dict[str, Any] = {} if model == AUTO else {"candidates": [model]}
                fc = forecast(train, horizon, levels=lv, events=ev, bounds=bounds, inflow=inflow, **kw)
                if keep is not None:
                    keep[(model, origin)] = fc
                fut = pd.period_range(origin + 1, periods=horizon, freq="M")
                actual = series.reindex(fut).to_numpy()
                in_shock = np.isin(fut, full[shock]) if shock.any() else np.zeros(horizon, bool)
                for i in range(horizon):
                    a, f = float(actual[i]), float(fc["mean"].iloc[i])
                    row: dict[str, Any] = {
                        "model": model,
                        "origin": origin,
                        "h": i + 1,
                        "band": horizon_band(i + 1),
                        "target": fut[i],
                        "actual": a,
                        "mean": f,
                        "abs_error": abs(a - f),
                        "scaled_error": abs(a - f) / scale if scale > 0 else np.nan,
                        "smape_term": 0.0 if a == 0 and f == 0 else 200 * abs(a - f) / (abs(a) + abs(f)),
                        "event": bool(in_shock[i]),
                        "chosen": fc.attrs.get("model", model),
                    }
                    for level in lv:
                        name = f"{level:g}"
                        lo, hi = float(fc[f"lo_{name}"].iloc[i]), float(fc[f"hi_{name}"].iloc[i])
                        row[f"lo_{name}"], row[f"hi_{name}"] = lo, hi
                        row[f"in_{name}"] = bool(lo <= a <= hi) if np.isfinite(a) else np.nan
                    rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    ok = np.isfinite(df["actual"]) & ~df["event"]
    g = df[ok].groupby(["model", "origin"])
    per = g["scaled_error"].mean().rename("mase").to_frame().join(g["smape_term"].mean().rename("smape"))
    for level in lv:
        name = f"{level:g}"
        per[f"coverage_{name}"] = g[f"in_{name}"].mean()
    return df.merge(per.reset_index(), on=["model", "origin"], how="left")


def accuracy_summary(bt: pd.DataFrame, exclude_events: bool = True) -> pd.DataFrame:
    """Aggregate a ``backtest`` frame per model.

    Columns: n_origins, mase (mean over origins), rel_mase_gmean (geometric mean over origins of MASE
    relative to seasonal naive, when it was backtested), smape, coverage_<L>, mae_<band>, mae_h<k>,
    first_target, last_target and years (span of the test windows). Months inside shock events are left
    out by default because the models were told to ignore them.
    """
    df = bt[np.isfinite(bt["actual"])]
    if exclude_events:
        df = df[~df["event"]]
    levels = [c[3:] for c in df.columns if c.startswith("in_")]
    out = []
    per_origin = df.groupby(["model", "origin"])["scaled_error"].mean().unstack("model")
    for model, d in df.groupby("model", sort=False):
        row: dict[str, Any] = {"model": model, "n_origins": d["origin"].nunique(), "n_forecasts": len(d)}
        row["mase"] = float(d.groupby("origin")["scaled_error"].mean().mean())
        if BASELINE in per_origin and model in per_origin:
            ratio = (per_origin[model] / per_origin[BASELINE]).replace([np.inf, 0], np.nan).dropna()
            row["rel_mase_gmean"] = float(np.exp(np.log(ratio).mean())) if len(ratio) else np.nan
        row["smape"] = float(d["smape_term"].mean())
        for lv in levels:
            row[f"coverage_{lv}"] = float(d[f"in_{lv}"].astype(float).mean())
        for band, b in d.groupby("band"):
            row[f"mae_{band}"] = float(b["abs_error"].mean())
        for h, b in d.groupby("h"):
            row[f"mae_h{h}"] = float(b["abs_error"].mean())
        first, last = d["target"].min(), d["target"].max()
        row.update(first_target=str(first), last_target=str(last), years=((last - first).n + 1) / 12)
        out.append(row)
    return pd.DataFrame(out).set_index("model")


_EN_NUM = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_ZH_NUM = "零一二三四五六七八九十"
_ZH_UNIT = {"persons": "人", "people": "人", "percentage points": "个百分点", "points": "个百分点"}


def format_number(x: float) -> str:
    """Round for a reader: thousands separators above 10, one decimal above 1, two significant below."""
    if not np.isfinite(x):
        return "n/a"
    if abs(x) >= 10:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.1f}"
    return f"{x:.2g}"


def describe_accuracy(
    summary: pd.DataFrame | dict[str, Any],
    unit: str = "persons",
    lang: str = "en",
    horizon: int = 3,
    model: str = AUTO,
    baseline: str = BASELINE,
    level: float = 80,
) -> str:
    """One or two sentences a leader can read, from ``accuracy_summary`` output (en or zh)."""
    s = pd.DataFrame(summary) if isinstance(summary, dict) else summary
    if model not in s.index:
        others = [m for m in s.index if m != baseline]
        model = others[0] if others else baseline
    row = s.loc[model]
    col = f"mae_h{horizon}" if f"mae_h{horizon}" in s.columns else f"mae_{horizon_band(horizon)}"
    err = float(row[col])
    base = float(s.loc[baseline, col]) if baseline in s.index and baseline != model else np.nan
    years = max(1, int(round(float(row.get("years", 1.0)))))
    cov_col = f"coverage_{level:g}"
    cov = float(row[cov_col]) if cov_col in s.columns else np.nan
    if lang == "zh":
        u = _ZH_UNIT.get(unit, unit)
        y_txt = _ZH_NUM[years] if years <= 10 else str(years)
        text = f"过去{y_txt}年，这项预测提前{horizon}个月的平均误差约为{format_number(err)}{u}"
        if np.isfinite(base):
            text += f"；按去年同月数值简单推测的误差约为{format_number(base)}{u}"
        text += "。"
        if np.isfinite(cov):
            text += f"其{level:g}%区间覆盖了{cov * 100:.0f}%的实际值。"
        return text
    if lang != "en":
        raise ValueError("lang must be 'en' or 'zh'")
    period = "year" if years == 1 else f"{_EN_NUM[years] if years <= 10 else years} years"
    text = (
        f"Over the last {period} this forecast was off by about {format_number(err)} {unit} "
        f"at a {horizon}-month horizon"
    )
    if np.isfinite(base):
        text += f"; a same-month-last-year guess was off by {format_number(base)}"
    text += "."
    if np.isfinite(cov):
        text += f" Its {level:g}% range held the actual figure {cov * 100:.0f}% of the time."
    return text
