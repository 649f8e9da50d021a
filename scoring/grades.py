"""Grade bands with an optional cap on how many districts may hold a grade."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from scoring.scheme import GradeBand

# A score computed as 89.99999999999999 for a district that is "90 by hand" must still get the band.
_SCORE_TOLERANCE = 1e-9


def _band_by_score(score: float, bands: Sequence[GradeBand]) -> str | None:
    if math.isnan(score):
        return None
    for band in bands:
        if band.min_score is None or score >= band.min_score - _SCORE_TOLERANCE:
            return band.label
    return None


def assign_grades(scores: np.ndarray, bands: Sequence[GradeBand]) -> list[str | None]:
    """Grade each score and enforce ``max_share`` caps.

    Parameters
    ----------
    scores:
        ``(districts,)`` composite scores (NaN = unscored → grade ``None``).
    bands:
        Grade bands, best first (validated by :class:`~scoring.scheme.Scheme`).

    Returns
    -------
    list
        One label (or ``None`` below every band / unscored) per district.

    Notes
    -----
    A capped band admits at most ``floor(max_share × number of scored districts)`` districts, the
    best-scoring first.  Districts tied on the boundary are treated alike: if admitting the whole
    tie group would break the cap, the whole group moves to ``overflow_label`` (equal scores, equal
    grades, and the cap is never exceeded).
    """
    scores = np.asarray(scores, dtype=float)
    labels = [_band_by_score(float(s), bands) for s in scores]
    n_scored = int((~np.isnan(scores)).sum())
    for band in bands:
        if band.max_share is None or band.overflow_label is None:
            continue
        allowed = math.floor(band.max_share * n_scored + 1e-9)
        members = [i for i, lab in enumerate(labels) if lab == band.label]
        for i in members:
            # How many members score at least as well as i (ties included, i itself included).
            at_least = sum(1 for j in members if scores[j] >= scores[i] - _SCORE_TOLERANCE)
            if at_least > allowed:
                labels[i] = band.overflow_label
    return labels
