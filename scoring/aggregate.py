"""Weighted aggregation of normalised indicators into one composite score.

One numpy kernel (:func:`composite_batch`) serves both the nominal score and the Monte Carlo runs,
so the nominal result and a zero-noise simulation agree bit for bit.  Missing normalised values
(NaN) are skipped and the remaining weights renormalised per district; that *is* the "reweight"
missing-data rule, and the other rules simply leave no NaN behind.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from scoring.scheme import AGGREGATIONS

# Runs per chunk: keeps the (runs, districts, indicators) temporaries to a few MB.
_CHUNK_CELLS = 500_000


def geometric_shift(values: np.ndarray) -> float:
    """Return the constant added before a geometric mean so that every value is >= 1.

    Parameters
    ----------
    values:
        Normalised values (any shape, NaN ignored).

    Returns
    -------
    float
        ``max(1, 1 - min(values))``.  On 0–100 scales this is exactly 1, so the geometric score is
        ``prod((x + 1) ** w) - 1``: a zero no longer wipes out the whole product, 0 and 100 stay
        fixed points, and the result stays on the 0–100 scale.  For z-scores (which can be
        negative) the shift depends on the data.
    """
    present = values[~np.isnan(values)]
    lowest = float(present.min()) if present.size else 0.0
    return max(1.0, 1.0 - lowest)


def composite_batch(
    stack: np.ndarray,
    weights: np.ndarray,
    choice: np.ndarray,
    aggregation: str,
) -> np.ndarray:
    """Aggregate many weight vectors against a choice of normalised matrices.

    Parameters
    ----------
    stack:
        ``(K, districts, indicators)`` normalised values, one matrix per normalisation option;
        NaN = missing (skipped, weights renormalised over what is present).
    weights:
        ``(runs, indicators)`` non-negative weights (need not sum to 1).
    choice:
        ``(runs,)`` index into ``stack`` for each run.
    aggregation:
        ``"arithmetic"`` or ``"geometric"`` (see :func:`geometric_shift`).

    Returns
    -------
    numpy.ndarray
        ``(runs, districts)`` composite scores; NaN when a district has no weighted value.
    """
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    present = ~np.isnan(stack)
    shifts = (
        np.array([geometric_shift(m) for m in stack]) if aggregation == "geometric" else np.zeros(len(stack))
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        base = np.log(stack + shifts[:, None, None]) if aggregation == "geometric" else stack
    values = np.where(present, base, 0.0)
    avail = present.astype(float)
    runs, n_areas = weights.shape[0], stack.shape[1]
    out = np.empty((runs, n_areas))
    step = max(1, _CHUNK_CELLS // max(1, stack.shape[1] * stack.shape[2]))
    for start in range(0, runs, step):
        sl = slice(start, start + step)
        w = weights[sl, None, :]
        # Multiply-and-sum over the last axis (not BLAS): each run is summed in the same order,
        # so identical weight rows give identical scores regardless of the batch size.
        num = (values[choice[sl]] * w).sum(axis=2)
        den = (avail[choice[sl]] * w).sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(den > 0, num / den, np.nan)
        out[sl] = np.exp(mean) - shifts[choice[sl], None] if aggregation == "geometric" else mean
    return out


def check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Validate weights (finite, >= 0, not all zero) and return them rescaled to sum 1."""
    clean = {str(k): float(v) for k, v in weights.items()}
    bad = {k: v for k, v in clean.items() if not np.isfinite(v) or v < 0}
    if bad:
        raise ValueError(f"weights must be finite and >= 0, got {bad}")
    total = sum(clean.values())
    if total <= 0:
        raise ValueError("weights are all zero; at least one must be > 0")
    return {k: v / total for k, v in clean.items()}


def aggregate(
    normalised: pd.DataFrame,
    weights: Mapping[str, float],
    method: str = "arithmetic",
) -> pd.Series:
    """Combine normalised indicator columns into one composite score per row.

    Parameters
    ----------
    normalised:
        One row per district, one column per indicator (bigger = better); NaN = missing.
        Only the columns named in ``weights`` are used.
    weights:
        Column → non-negative weight; renormalised to sum 1 (per row, over the non-missing values).
    method:
        ``"arithmetic"``: Σ wᵢ·xᵢ (a strength fully offsets a weakness).  ``"geometric"``:
        Π (xᵢ + s)^wᵢ − s with s from :func:`geometric_shift` (s = 1 on 0–100 scales), which only
        partly lets strengths offset weaknesses.

    Returns
    -------
    pandas.Series
        Composite score per row, same index, named ``"score"``; NaN for a row with no usable value.
    """
    w = check_weights(weights)
    absent = sorted(set(w) - {str(c) for c in normalised.columns})
    if absent:
        raise ValueError(f"weights name columns not in the data: {absent}")
    cols = list(w)
    matrix = normalised[cols].to_numpy(dtype=float)[None, :, :]
    scores = composite_batch(matrix, np.array([[w[c] for c in cols]]), np.zeros(1, dtype=int), method)
    return pd.Series(scores[0], index=normalised.index, name="score")
