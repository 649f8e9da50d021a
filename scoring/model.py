"""Turn an indicator table plus a scheme into the numeric arrays every computation shares.

Missing-data rules are applied here, in the open, and recorded per district:

* ``"mean"``  – a missing raw value is replaced by the mean of the districts that have it
  (before normalisation, so every normalisation sees the same imputed value);
* ``"zero"``  – the district gets a normalised value of 0 for that indicator (worst on 0–100 scales;
  note: the city average on the z-score scale);
* ``"reweight"`` – the value stays missing and the aggregation renormalises the weights over the
  indicators the district does have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.normalise import normalise_column
from scoring.scheme import NORMALISATIONS, Scheme

AREA = "area_code"
RULE_LABELS = {"zero": "scored 0", "reweight": "weight redistributed", "mean": "city mean imputed"}


@dataclass(frozen=True)
class Model:
    """Validated inputs of one scheme applied to one year's indicator table.

    ``raw`` is ``(districts, indicators)`` after mean imputation (NaN where still missing);
    ``missing`` marks the originally missing cells; ``weights`` are nominal weights summing to 1.
    """

    scheme: Scheme
    areas: pd.Index
    codes: list[str]
    raw: np.ndarray
    missing: np.ndarray
    weights: np.ndarray


def area_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` indexed by area code (taken from an ``area_code`` column if present).

    Raises ``ValueError`` for duplicate area codes or for several years mixed in one table
    (normalisation compares districts within one year, so mixing years would be wrong).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"indicators must be a pandas DataFrame, got {type(frame).__name__}")
    table = frame.set_index(AREA) if AREA in frame.columns else frame
    if "year" in table.columns and table["year"].nunique(dropna=True) > 1:
        raise ValueError("indicators hold several years; score one year at a time (see score_panel)")
    dupes = table.index[table.index.duplicated()].unique().tolist()
    if dupes:
        raise ValueError(f"duplicate area codes in indicators: {dupes}")
    if len(table) == 0:
        raise ValueError("indicators table is empty")
    return table.rename_axis(AREA)


def _numeric(table: pd.DataFrame, codes: list[str]) -> np.ndarray:
    absent = [c for c in codes if c not in table.columns]
    if absent:
        raise ValueError(f"indicator columns missing from the data: {absent}")
    cols = []
    for code in codes:
        try:
            col = pd.to_numeric(table[code], errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"indicator {code!r} has non-numeric values: {exc}") from exc
        if np.isinf(col).any():
            raise ValueError(f"indicator {code!r} has infinite values; use NaN for missing")
        cols.append(col)
    return np.column_stack(cols)


def prepare(indicators: pd.DataFrame, scheme: Scheme) -> Model:
    """Validate ``indicators`` against ``scheme`` and apply mean imputation if the scheme says so."""
    table = area_table(indicators)
    codes = scheme.codes
    raw = _numeric(table, codes)
    missing = np.isnan(raw)
    if scheme.missing == "mean" and missing.any():
        empty = [c for c, col in zip(codes, raw.T, strict=True) if np.isnan(col).all()]
        if empty:
            raise ValueError(f"cannot impute a city mean for indicators with no data at all: {empty}")
        raw = np.where(missing, np.nanmean(raw, axis=0), raw)
    weights = np.array([scheme.normalised_weights()[c] for c in codes])
    return Model(scheme=scheme, areas=table.index, codes=codes, raw=raw, missing=missing, weights=weights)


def normalised_matrix(model: Model, override: str | None = None) -> np.ndarray:
    """Return ``(districts, indicators)`` normalised values with the missing rule applied.

    Parameters
    ----------
    model:
        From :func:`prepare`.
    override:
        ``None`` uses each indicator's own normalisation.  Another method name applies that method
        to every indicator, except ``"target"``, which only applies to indicators that have a target
        (the others keep their own method).
    """
    if override is not None and override not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {override!r}; choose one of {NORMALISATIONS}")
    cols = []
    for j, ind in enumerate(model.scheme.indicators):
        method = ind.normalisation
        if override is not None and (override != "target" or ind.target is not None):
            method = override
        cols.append(normalise_column(model.raw[:, j], method, ind.direction, ind.target))
    matrix = np.column_stack(cols)
    if model.scheme.missing == "zero":
        matrix = np.where(model.missing, 0.0, matrix)
    return matrix


def normalised_stack(model: Model, options: Sequence[str | None]) -> np.ndarray:
    """Stack :func:`normalised_matrix` for each option into ``(K, districts, indicators)``."""
    return np.stack([normalised_matrix(model, opt) for opt in options])


def missing_notes(model: Model) -> list[str]:
    """Per district, a readable list of missing indicators and what the rule did about them."""
    label = RULE_LABELS[model.scheme.missing]
    return [
        ", ".join(f"{code} ({label})" for code, gone in zip(model.codes, row, strict=True) if gone)
        for row in model.missing
    ]
