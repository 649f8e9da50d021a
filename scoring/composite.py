"""The nominal composite score of a scheme: normalise, weight, aggregate, rank, grade."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.aggregate import composite_batch
from scoring.grades import assign_grades
from scoring.model import AREA, Model, missing_notes, normalised_matrix, prepare
from scoring.ranking import rank_desc
from scoring.scheme import Scheme


def nominal_scores(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(normalised matrix, scores)`` for the scheme as written (no perturbation)."""
    matrix = normalised_matrix(model)
    scores = composite_batch(
        matrix[None, :, :], model.weights[None, :], np.zeros(1, dtype=int), model.scheme.aggregation
    )[0]
    return matrix, scores


def score(indicators: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Score every district of one year with ``scheme``.

    Parameters
    ----------
    indicators:
        One row per district, indexed by ``area_code`` or with an ``area_code`` column, one column per
        indicator code of the scheme (raw units: %, yuan, persons…); NaN = missing.  Extra columns
        are ignored.
    scheme:
        The scheme to apply.

    Returns
    -------
    pandas.DataFrame
        In input order: ``area_code``, ``score`` (0–100 for 0–100 normalisations), ``rank`` (1 = best,
        ties share the best rank; nullable int), ``grade`` (only if the scheme has grade bands),
        ``missing`` (text listing missing indicators and the rule applied; ``""`` if none) and one
        ``norm_<code>`` column per indicator (normalised value after the missing rule).
        ``attrs["scheme"]`` holds the scheme name and ``attrs["missing_rule"]`` the rule.
    """
    model = prepare(indicators, scheme)
    matrix, scores = nominal_scores(model)
    out = pd.DataFrame({AREA: model.areas.to_numpy(), "score": scores})
    out["rank"] = pd.array(rank_desc(scores), dtype="Float64").astype("Int64")
    if scheme.grade_bands:
        out["grade"] = pd.array(assign_grades(scores, scheme.grade_bands), dtype="object")
    out["missing"] = missing_notes(model)
    for j, code in enumerate(model.codes):
        out[f"norm_{code}"] = matrix[:, j]
    out.attrs.update(scheme=scheme.name, missing_rule=scheme.missing)
    return out


def score_panel(indicators: pd.DataFrame, scheme: Scheme, by: str = "year") -> pd.DataFrame:
    """Score each year (or other ``by`` group) separately and stack the results.

    Parameters
    ----------
    indicators:
        Rows for several years, with an ``area_code`` column and a ``by`` column.
    scheme:
        The scheme to apply to every group.
    by:
        Grouping column; normalisation statistics are computed within each group.

    Returns
    -------
    pandas.DataFrame
        :func:`score` output for every group with the ``by`` column first.
    """
    if by not in indicators.columns:
        raise ValueError(f"no column {by!r} to group by")
    parts = []
    for key, group in indicators.groupby(by, sort=True):
        part = score(group.drop(columns=[by]), scheme)
        part.insert(0, by, key)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
