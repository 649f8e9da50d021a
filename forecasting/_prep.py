"""Input cleaning shared by every entry point: index normalisation, gaps, zero-fill, events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SEASON = 12

# Counts never below this are implausible as true zeros: a zero there is a zero-filled missing month.
_ZERO_FILL_MIN_LEVEL = 10.0


@dataclass(frozen=True)
class Event:
    """A known break: a temporary ``shock`` (months excluded) or a permanent ``level_shift``."""

    start: pd.Period
    end: pd.Period
    label: str
    kind: str = "shock"


@dataclass
class Prepared:
    """A monthly series on a complete PeriodIndex plus what was done to it and why."""

    values: np.ndarray  # float, NaN where missing
    index: pd.PeriodIndex
    kind: str  # "period", "ms" or "me": how to rebuild the caller's index type
    name: Any
    tz: Any = None
    events: list[Event] = field(default_factory=list)
    shock_mask: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    steps: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Number of months from the first to the last observation."""
        return len(self.values)


def to_periods(index: pd.Index) -> tuple[pd.PeriodIndex, str, Any]:
    """Map a monthly DatetimeIndex/PeriodIndex (or parseable labels) to a monthly PeriodIndex."""
    if isinstance(index, pd.PeriodIndex):
        return index.asfreq("M"), "period", None
    if not isinstance(index, pd.DatetimeIndex):
        index = pd.DatetimeIndex(pd.to_datetime(index))
    tz = index.tz
    naive = index.tz_localize(None) if tz is not None else index
    kind = (
        "me"
        if len(naive) and bool(naive.is_month_end.all()) and not bool(naive.is_month_start.all())
        else "ms"
    )
    return naive.to_period("M"), kind, tz


def from_periods(periods: pd.PeriodIndex, kind: str, tz: Any = None, name: Any = None) -> pd.Index:
    """Rebuild the caller's index type (PeriodIndex, month-start or month-end timestamps)."""
    if kind == "period":
        return pd.PeriodIndex(periods, freq="M", name=name)
    ts = periods.to_timestamp(how="end" if kind == "me" else "start")
    if kind == "me":
        ts = ts.normalize()
    ts = pd.DatetimeIndex(ts, name=name)
    return ts.tz_localize(tz) if tz is not None else ts


def _period(x: Any) -> pd.Period:
    return pd.Period(x, freq="M") if not isinstance(x, pd.Period) else x.asfreq("M")


def parse_events(events: Iterable[Any] | None) -> list[Event]:
    """Accept (start, end, label[, kind]) tuples, dicts or Event objects; kind is shock|level_shift."""
    out: list[Event] = []
    for ev in events or []:
        if isinstance(ev, Event):
            out.append(ev)
            continue
        if isinstance(ev, dict):
            start, end = ev["start"], ev.get("end", ev["start"])
            label, kind = str(ev.get("label", "event")), str(ev.get("kind", "shock"))
        else:
            seq = list(ev)
            start, end = seq[0], seq[1] if len(seq) > 1 else seq[0]
            label = str(seq[2]) if len(seq) > 2 else "event"
            kind = str(seq[3]) if len(seq) > 3 else "shock"
        kind = kind.replace("-", "_").replace(" ", "_").lower()
        if kind not in ("shock", "level_shift"):
            raise ValueError(f"event kind must be 'shock' or 'level_shift', got {kind!r}")
        s = _period(start)
        e = _period(end) if end is not None else s
        out.append(Event(min(s, e), max(s, e), label, kind))
    return out


def prepare(y: pd.Series, events: Iterable[Any] | None = None) -> Prepared:
    """Clean ``y`` into a gap-free monthly frame of values (NaN = missing) and record every fix."""
    if not isinstance(y, pd.Series):
        y = pd.Series(y)
    notes: list[str] = []
    periods, kind, tz = to_periods(y.index)
    vals = pd.to_numeric(pd.Series(np.asarray(y.values), index=periods), errors="coerce").astype(float)
    vals[~np.isfinite(vals.to_numpy())] = np.nan
    if periods.has_duplicates:
        vals = vals.groupby(level=0).mean()
        notes.append("duplicate months were averaged")
    vals = vals.sort_index()
    obs = vals.dropna()
    if obs.empty:
        raise ValueError("the series has no finite observation; nothing to forecast")
    full = pd.period_range(obs.index[0], obs.index[-1], freq="M")
    if len(vals) and vals.index[-1] > obs.index[-1]:
        notes.append(f"trailing missing months after {obs.index[-1]} ignored; forecast starts after it")
    v = vals.reindex(full).to_numpy(dtype=float)
    n_missing = int(np.isnan(v).sum())
    if n_missing:
        notes.append(f"{n_missing} missing month(s) filled by seasonal interpolation")
    v = _zero_fill_to_missing(v, notes)
    ok = np.flatnonzero(np.isfinite(v))
    if ok[-1] < len(v) - 1:
        notes.append("trailing zero-filled months ignored; forecast starts after the last real value")
    v, full = v[ok[0] : ok[-1] + 1], full[ok[0] : ok[-1] + 1]
    prep = Prepared(values=v, index=full, kind=kind, name=y.name, tz=tz, notes=notes)
    _apply_events(prep, parse_events(events))
    return prep


def _zero_fill_to_missing(v: np.ndarray, notes: list[str]) -> np.ndarray:
    """Zeros inside a series whose other values are all large are missing months filled with 0."""
    finite = v[np.isfinite(v)]
    zeros = finite == 0
    nonzero = finite[~zeros]
    if not zeros.any() or nonzero.size < 2:
        return v
    if np.min(np.abs(nonzero)) >= _ZERO_FILL_MIN_LEVEL and zeros.mean() <= 0.5:
        out = v.copy()
        out[out == 0] = np.nan
        # Leading zero-filled months carry no information: they are dropped rather than invented.
        notes.append(
            f"{int(zeros.sum())} zero month(s) in a series otherwise >= {nonzero.min():g} treated as "
            "zero-filled missing data"
        )
        return out
    return v


def _apply_events(prep: Prepared, events: list[Event]) -> None:
    """Build the shock mask and level-shift step regressors over the prepared index."""
    n = prep.n
    idx = prep.index
    mask = np.zeros(n, bool)
    steps: list[np.ndarray] = []
    for ev in events:
        if ev.kind == "shock":
            inside = (idx >= ev.start) & (idx <= ev.end)
            if inside.any():
                mask |= np.asarray(inside)
                prep.notes.append(
                    f"shock '{ev.label}' {ev.start}..{ev.end}: {int(inside.sum())} month(s) excluded from "
                    "model selection and scoring, treated as missing in SARIMAX and seasonally interpolated "
                    "for ETS/Theta/seasonal naive"
                )
            else:
                prep.notes.append(f"shock '{ev.label}' {ev.start}..{ev.end} lies outside the data: ignored")
        else:
            step = np.asarray(idx >= ev.start, dtype=float)
            if 0 < step.sum() < n and step.sum() >= 2:
                steps.append(step)
                prep.notes.append(
                    f"level shift '{ev.label}' from {ev.start}: step dummy in SARIMAX; earlier months shifted "
                    "by the estimated step for the other models"
                )
            else:
                prep.notes.append(
                    f"level shift '{ev.label}' from {ev.start}: too close to an end of the data to estimate, ignored"
                )
    prep.events = events
    prep.shock_mask = mask
    prep.steps = np.column_stack(steps) if steps else np.zeros((n, 0))


def seasonal_fill(v: np.ndarray, missing: np.ndarray, m: int = SEASON) -> np.ndarray:
    """Fill ``missing`` positions by linear interpolation of the deseasonalised series, then reseasonalise.

    Plain linear interpolation would erase the seasonal pattern inside a long gap (e.g. a 6-month shock).
    """
    out = np.asarray(v, dtype=float).copy()
    miss = np.asarray(missing, bool) | ~np.isfinite(out)
    if not miss.any():
        return out
    pos = np.arange(len(out))
    ok = ~miss
    if ok.sum() == 0:
        return np.zeros_like(out)
    base = np.interp(pos, pos[ok], out[ok])
    season = np.zeros(len(out))
    if ok.sum() >= 2 * m:
        trend = pd.Series(base).rolling(m, center=True, min_periods=m // 2).median().to_numpy()
        dev = pd.Series(np.where(ok, out - trend, np.nan))
        prof = dev.groupby(pos % m).median().reindex(range(m)).fillna(0.0).to_numpy()
        season = (prof - prof.mean())[pos % m]
    des = out - season
    des[miss] = np.interp(pos[miss], pos[ok], des[ok])
    return des + season


def seasonal_scale(v: np.ndarray, m: int = SEASON) -> float:
    """In-sample MAE of the seasonal naive (lag m), or naive if too short: the MASE denominator."""
    x = np.asarray(v, dtype=float)
    if len(x) > m:
        d = np.abs(x[m:] - x[:-m])
    elif len(x) > 1:
        d = np.abs(np.diff(x))
    else:
        return 0.0
    d = d[np.isfinite(d)]
    return float(d.mean()) if d.size else 0.0


def infer_bounds(values: np.ndarray, bounds: Sequence[float | None] | None) -> tuple[float, float]:
    """Physical bounds as floats (inf = none); counts default to non-negative when the data are."""
    if bounds is None:
        finite = values[np.isfinite(values)]
        lo = 0.0 if finite.size and finite.min() >= 0 else -np.inf
        return lo, np.inf
    lo_b, hi_b = bounds
    return (-np.inf if lo_b is None else float(lo_b), np.inf if hi_b is None else float(hi_b))
