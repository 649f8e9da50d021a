"""Normalisation of raw indicator values onto a common scale, respecting direction.

All methods ignore missing values (NaN stays NaN) and compute their statistics over the districts
that have a value.  "Relative" methods (min-max, rank, fracmax) compare districts with each other,
so a column where every district has the same value carries no information: it maps to 100 for
everyone (not NaN), so the indicator neither helps nor hurts anybody.  A constant column's z-score is
0 (everybody is at the mean), which keeps the z-score monotone in each district's own value.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from scoring.scheme import DIRECTIONS, NORMALISATIONS

CONSTANT_VALUE = 100.0


def _minmax(x: np.ndarray, higher: bool) -> np.ndarray:
    lo, hi = np.nanmin(x), np.nanmax(x)
    if hi == lo:
        return np.where(np.isnan(x), np.nan, CONSTANT_VALUE)
    scaled = (x - lo) / (hi - lo) if higher else (hi - x) / (hi - lo)
    return scaled * 100.0


def _zscore(x: np.ndarray, higher: bool) -> np.ndarray:
    present = x[~np.isnan(x)]
    # Sample standard deviation (ddof=1), as R's sd() used by COINr's n_zscore.
    sd = float(np.std(present, ddof=1)) if present.size > 1 else 0.0
    if sd == 0.0:
        # Everyone is at the mean, z = 0.  (100, the 0–100 methods' constant value, would make a
        # district that catches up with the others jump from -0.7 to 100 and back to +0.7 when it
        # overtakes them: a non-monotone score.)
        return np.where(np.isnan(x), np.nan, 0.0)
    z = (x - present.mean()) / sd
    return z if higher else -z


def _rank(x: np.ndarray, higher: bool) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    n = int(ok.sum())
    if n <= 1 or np.nanmin(x) == np.nanmax(x):
        out[ok] = CONSTANT_VALUE
        return out
    # Average ranks for ties, ascending in "goodness": the best district gets n, i.e. 100 %.
    ranks = rankdata(x[ok] if higher else -x[ok], method="average")
    out[ok] = (ranks - 1.0) / (n - 1.0) * 100.0
    return out


def _target(x: np.ndarray, higher: bool, target: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        # Lower-better: at or below the target (including zero or negative cost) is full marks.
        ratio = x / target if higher else np.where(x <= 0, 1.0, target / x)
    return np.where(np.isnan(x), np.nan, np.clip(ratio, 0.0, 1.0) * 100.0)


def _fracmax(x: np.ndarray, higher: bool) -> np.ndarray:
    if np.nanmin(x) < 0:
        raise ValueError("'fracmax' normalisation needs non-negative values (it is a ratio scale)")
    if higher:
        top = np.nanmax(x)
        if top == 0:
            return np.where(np.isnan(x), np.nan, CONSTANT_VALUE)
        return x / top * 100.0
    # Lower-better: the cheapest district gets 100, others best/value (inverse-proportional).
    positive = x[(x > 0) & ~np.isnan(x)]
    if positive.size == 0:
        return np.where(np.isnan(x), np.nan, CONSTANT_VALUE)
    with np.errstate(divide="ignore"):
        return np.where(np.isnan(x), np.nan, np.where(x <= 0, 100.0, positive.min() / x * 100.0))


def normalise_column(x: np.ndarray, method: str, direction: str, target: float | None = None) -> np.ndarray:
    """Normalise one 1-D float array (NaN = missing).

    Parameters
    ----------
    x:
        Raw values in the indicator's unit.
    method:
        One of ``minmax`` (0–100), ``zscore`` (standard deviations from the mean), ``rank``
        (percentile 0–100, ties averaged), ``target`` (value/target, capped at 100), ``fracmax``
        (value ÷ maximum × 100).
    direction:
        ``"higher"`` or ``"lower"`` (lower-better values are reversed so that bigger is always better).
    target:
        Target in the indicator's unit; required for ``target``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``; bigger is better; NaN where ``x`` is NaN.
    """
    if method not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {method!r}; choose one of {NORMALISATIONS}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    x = np.asarray(x, dtype=float)
    if np.isinf(x).any():
        raise ValueError("indicator values must be finite (use NaN for missing)")
    if np.isnan(x).all():
        return x.copy()
    higher = direction == "higher"
    if method == "minmax":
        return _minmax(x, higher)
    if method == "zscore":
        return _zscore(x, higher)
    if method == "rank":
        return _rank(x, higher)
    if method == "fracmax":
        return _fracmax(x, higher)
    if target is None or not target > 0:
        raise ValueError(f"'target' normalisation needs a target > 0, got {target!r}")
    return _target(x, higher, float(target))


def _pick(option: str | Mapping[str, str], column: str) -> str:
    return option if isinstance(option, str) else option[column]


def _pick_target(option: float | Mapping[str, float] | None, column: str) -> float | None:
    if option is None or isinstance(option, int | float):
        return option
    return option.get(column)


def normalise(
    values: pd.Series | pd.DataFrame,
    method: str,
    direction: str | Mapping[str, str] = "higher",
    target: float | Mapping[str, float] | None = None,
) -> pd.Series | pd.DataFrame:
    """Normalise a Series (one indicator) or each column of a DataFrame across districts.

    Parameters
    ----------
    values:
        Raw indicator values, one row per district; NaN = missing (kept as NaN).
    method:
        ``"minmax"`` → 0–100 (best = 100); ``"zscore"`` → (x − mean) / sample sd;
        ``"rank"`` → percentile rank 0–100 with ties averaged; ``"target"`` → value/target × 100
        capped at 100 (lower-better: target/value); ``"fracmax"`` → value ÷ max × 100
        (lower-better: min ÷ value × 100).
    direction:
        ``"higher"`` or ``"lower"``, or a mapping column → direction for a DataFrame.
    target:
        Target value (indicator unit) for ``"target"``; a mapping column → target for a DataFrame.

    Returns
    -------
    Same type, shape and index as ``values``; bigger is always better.  A constant column gives 100
    for every district (0 for ``zscore``: everybody is at the mean), never NaN.
    """
    if isinstance(values, pd.Series):
        col = str(values.name)
        out = normalise_column(
            values.to_numpy(dtype=float), method, _pick(direction, col), _pick_target(target, col)
        )
        return pd.Series(out, index=values.index, name=values.name)
    result = {
        col: normalise_column(
            values[col].to_numpy(dtype=float),
            method,
            _pick(direction, str(col)),
            _pick_target(target, str(col)),
        )
        for col in values.columns
    }
    return pd.DataFrame(result, index=values.index, columns=values.columns)
