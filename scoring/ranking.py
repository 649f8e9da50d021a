"""Competition ranking ("1 = best, ties share the best rank") for single and batched scores."""

from __future__ import annotations

import numpy as np

# Scores closer than this (relative to the largest score) count as tied, so floating-point noise
# from different summation paths never splits districts that are equal by construction.
RELATIVE_TIE_TOLERANCE = 1e-9
_CHUNK_CELLS = 2_000_000


def rank_desc(scores: np.ndarray) -> np.ndarray:
    """Rank each row of ``scores`` from best (1) down; ties get the minimum rank.

    Parameters
    ----------
    scores:
        ``(runs, districts)`` or ``(districts,)`` scores, bigger = better; NaN = unscored.

    Returns
    -------
    numpy.ndarray
        Float ranks of the same shape: 1 + the number of districts scoring strictly better
        (beyond the tie tolerance); NaN for unscored districts (which never outrank anybody).
    """
    arr = np.asarray(scores, dtype=float)
    flat = arr[None, :] if arr.ndim == 1 else arr
    valid = ~np.isnan(flat)
    filled = np.where(valid, flat, -np.inf)
    top = np.nanmax(np.abs(np.where(valid, flat, 0.0)), axis=1, initial=0.0)
    tol = RELATIVE_TIE_TOLERANCE * np.maximum(1.0, top)
    out = np.empty(flat.shape)
    n = flat.shape[1]
    step = max(1, _CHUNK_CELLS // max(1, n * n))
    for start in range(0, flat.shape[0], step):
        sl = slice(start, start + step)
        # better[r, i, j]: district j beats district i in run r.
        better = filled[sl, None, :] > filled[sl, :, None] + tol[sl, None, None]
        out[sl] = better.sum(axis=2) + 1.0
    out = np.where(valid, out, np.nan)
    return out[0] if arr.ndim == 1 else out
