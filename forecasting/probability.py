"""Probability that a forecast month ends above a control line, from the interval quantiles."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from ._prep import to_periods


def _row_position(df: pd.DataFrame, at: Any) -> int:
    """``at``: None (last month), an int 1-12 (first forecast month with that month of year), or a date."""
    periods, _, _ = to_periods(df.index)
    if at is None:
        return len(df) - 1
    if isinstance(at, int | np.integer) and not isinstance(at, bool) and 1 <= int(at) <= 12:
        hits = np.flatnonzero(periods.month == int(at))
        if not hits.size:
            raise KeyError(f"no forecast month with month-of-year {at}")
        return int(hits[0])
    p = pd.Period(at, freq="M") if not isinstance(at, pd.Period) else at.asfreq("M")
    hits = np.flatnonzero(periods == p)
    if not hits.size:
        raise KeyError(f"{p} is not a forecast month ({periods[0]}..{periods[-1]})")
    return int(hits[0])


def quantile_points(row: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(values, normal scores) known for one forecast row: the mean as median plus each interval end."""
    vals, zs = [float(row["mean"])], [0.0]
    for col in row.index:
        if isinstance(col, str) and col.startswith("lo_"):
            level = float(col[3:])
            z = float(norm.ppf(0.5 + level / 200))
            vals += [float(row[col]), float(row["hi_" + col[3:]])]
            zs += [-z, z]
    order = np.lexsort((np.array(zs), np.array(vals)))
    return np.array(vals)[order], np.array(zs)[order]


def _tail(rise: float, run: float, distance: float) -> float:
    """How far the normal score moves ``distance`` beyond the outermost quantile, on the slope ``rise / run``
    of the outermost interval. A line exactly on that quantile moves nothing, however steep the slope (an
    interval a few denormals wide would otherwise give inf × 0)."""
    if distance == 0:
        return 0.0
    with np.errstate(over="ignore", divide="ignore"):
        return float(rise / run * distance)


def prob_above(forecast_df: pd.DataFrame, line: float, at: Any = None) -> float:
    """P(value > ``line``) at month ``at`` (default: the last forecast month).

    The interval ends are read as quantiles (lo_80 is the 10 % quantile, ...). Between them the normal
    score is interpolated linearly; beyond the outermost ones the tails are normal with the slope of the
    outermost interval. This reproduces a normal exactly when the intervals are normal, respects
    skewed or bound-clipped intervals, and is monotone (non-increasing) in ``line``.
    """
    row = forecast_df.iloc[_row_position(forecast_df, at)]
    vals, zs = quantile_points(row)
    line = float(line)
    # Clipping at a bound stacks several quantiles on one value: that value carries a point mass, so the
    # CDF jumps there from the lowest to the highest normal score stacked on it.
    uniq = np.unique(vals)
    zmin = np.maximum.accumulate(np.array([zs[vals == v].min() for v in uniq]))
    zmax = np.maximum.accumulate(np.array([zs[vals == v].max() for v in uniq]))
    if len(uniq) == 1:
        return 1.0 if line < uniq[0] else 0.0
    if line < uniq[0]:
        if zmin[0] < zmax[0]:  # mass on the lowest value: a lower bound, nothing lies below it
            return 1.0
        z = zmax[0] - _tail(zmin[1] - zmax[0], uniq[1] - uniq[0], uniq[0] - line)
    elif line >= uniq[-1]:
        if zmin[-1] < zmax[-1]:  # mass on the highest value: an upper bound, nothing lies above it
            return 0.0
        z = zmax[-1] + _tail(zmin[-1] - zmax[-2], uniq[-1] - uniq[-2], line - uniq[-1])
    else:
        k = int(np.searchsorted(uniq, line, side="right")) - 1
        frac = (line - uniq[k]) / (uniq[k + 1] - uniq[k])
        z = zmax[k] + (zmin[k + 1] - zmax[k]) * frac
    return float(1.0 - norm.cdf(z))
