"""Robustness of a scheme: Monte Carlo rank bands, effective weights, one-at-a-time sensitivity.

Following the OECD/JRC Handbook (2008, ch. 7) and COINr's ``get_sensanalysis``: the uncertain inputs
are the weights (each multiplied by an independent uniform factor in [1 − noise, 1 + noise] and
renormalised) and the normalisation method (drawn uniformly per run from the scheme's own choice and
the listed alternatives).  Everything is computed in one vectorised pass; there is no Python loop
per run.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from scoring.aggregate import composite_batch
from scoring.composite import nominal_scores
from scoring.model import AREA, Model, normalised_stack, prepare
from scoring.ranking import rank_desc
from scoring.scheme import NORMALISATIONS, Scheme


def _options(normalisations: Sequence[str] | None) -> list[str | None]:
    alts = list(dict.fromkeys(normalisations or ()))
    unknown = [a for a in alts if a not in NORMALISATIONS]
    if unknown:
        raise ValueError(f"unknown normalisations {unknown}; choose from {NORMALISATIONS}")
    return [None, *alts]


def _check_mc(runs: int, noise: float) -> None:
    if not isinstance(runs, int | np.integer) or runs < 1:
        raise ValueError(f"runs must be a positive integer, got {runs!r}")
    if not 0 <= noise < 1:
        raise ValueError(f"noise must be in [0, 1) (a fraction of each weight), got {noise!r}")


def simulate(
    model: Model, runs: int, noise: float, normalisations: Sequence[str] | None, seed: int
) -> np.ndarray:
    """Return ``(runs, districts)`` composite scores under random weights and normalisations.

    Parameters
    ----------
    model:
        From :func:`scoring.model.prepare`.
    runs:
        Number of Monte Carlo runs.
    noise:
        Relative half-width of the uniform weight perturbation (0.25 = ±25 %).
    normalisations:
        Alternative normalisation methods; each run uses one option drawn uniformly from
        the scheme's own methods plus these (see :func:`scoring.model.normalised_matrix`).
    seed:
        Seed of ``numpy.random.default_rng``; the same seed gives the same runs.
    """
    _check_mc(runs, noise)
    options = _options(normalisations)
    rng = np.random.default_rng(seed)
    m = len(model.codes)
    factors = rng.uniform(1.0 - noise, 1.0 + noise, size=(runs, m)) if noise > 0 else np.ones((runs, m))
    # No explicit renormalisation: the aggregation divides by the sum of the weights it uses, and
    # leaving the weights untouched makes a zero-noise run bit-identical to the nominal score.
    weights = model.weights[None, :] * factors
    choice = rng.integers(0, len(options), size=runs) if len(options) > 1 else np.zeros(runs, dtype=int)
    return composite_batch(normalised_stack(model, options), weights, choice, model.scheme.aggregation)


def _percentiles(values: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column for an unscored district
        return np.nanpercentile(values, qs, axis=0)


def rank_uncertainty(
    indicators: pd.DataFrame,
    scheme: Scheme,
    runs: int = 1000,
    noise: float = 0.25,
    normalisations: Sequence[str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Monte Carlo rank and score bands per district.

    Parameters
    ----------
    indicators, scheme:
        As for :func:`scoring.score`.
    runs:
        Number of Monte Carlo runs (10,000 for 20 districts × 12 indicators takes well under 1 s).
    noise:
        Each weight is multiplied by U(1 − noise, 1 + noise), then the weights are renormalised.
    normalisations:
        Alternative normalisation methods to draw from (with the scheme's own), e.g.
        ``["minmax", "rank"]``; ``None`` = weights only.
    seed:
        Random seed (reproducible results).

    Returns
    -------
    pandas.DataFrame
        ``area_code, rank_nominal, rank_median, rank_p05, rank_p95, score_nominal, score_median,
        score_p05, score_p95`` (percentiles with linear interpolation, so a band edge may be
        fractional).  ``noise=0`` without alternatives gives zero-width bands.
    """
    model = prepare(indicators, scheme)
    _, nominal = nominal_scores(model)
    scores = simulate(model, runs, noise, normalisations, seed)
    ranks = rank_desc(scores)
    r05, r50, r95 = _percentiles(ranks, (5, 50, 95))
    s05, s50, s95 = _percentiles(scores, (5, 50, 95))
    return pd.DataFrame(
        {
            AREA: model.areas.to_numpy(),
            "rank_nominal": rank_desc(nominal),
            "rank_median": r50,
            "rank_p05": r05,
            "rank_p95": r95,
            "score_nominal": nominal,
            "score_median": s50,
            "score_p05": s05,
            "score_p95": s95,
        }
    )


def _squared_correlation(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    ok = ~np.isnan(x) & ~np.isnan(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return 0.0, float("nan")
    r = float(np.corrcoef(x[ok], y[ok])[0, 1])
    return r * r, r


def effective_weights(indicators: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """Nominal versus effective weights of each indicator.

    Definition: the effective weight of indicator i is rᵢ² / Σⱼ rⱼ², where rᵢ is the Pearson
    correlation, across districts, between the normalised indicator (after the missing rule; pairwise
    complete cases) and the nominal composite score.  For a linear aggregate of uncorrelated
    indicators rᵢ² is the first-order sensitivity index (Paruolo, Saisana & Saltelli 2013), i.e. the
    share of the score's variance the indicator explains.  Indicators that do not vary (or have fewer
    than 3 values) get 0.

    Parameters
    ----------
    indicators, scheme:
        As for :func:`scoring.score`.

    Returns
    -------
    pandas.DataFrame
        ``code, group, nominal_weight`` (renormalised to sum 1), ``effective_weight`` (sums to 1;
        NaN if no indicator correlates, e.g. all scores equal) and ``correlation`` (signed r, so a
        negative relation is visible).
    """
    model = prepare(indicators, scheme)
    matrix, scores = nominal_scores(model)
    pairs = [_squared_correlation(matrix[:, j], scores) for j in range(len(model.codes))]
    r2 = np.array([p[0] for p in pairs])
    total = r2.sum()
    return pd.DataFrame(
        {
            "code": model.codes,
            "group": [ind.group for ind in scheme.indicators],
            "nominal_weight": model.weights,
            "effective_weight": r2 / total if total > 0 else np.full(len(r2), np.nan),
            "correlation": [p[1] for p in pairs],
        }
    )


def _scenarios(
    model: Model, weight_change: float, normalisations: Sequence[str], aggregation: bool
) -> list[tuple[str, str, str | None, np.ndarray, str | None, str]]:
    """(label, kind, code, weights, normalisation option, aggregation) for each one-at-a-time change."""
    base = model.weights
    agg = model.scheme.aggregation
    out: list[tuple[str, str, str | None, np.ndarray, str | None, str]] = []
    for j, code in enumerate(model.codes):
        if base[j] == 0:
            continue
        for sign in (-1, 1):
            w = base.copy()
            w[j] *= 1 + sign * weight_change
            out.append((f"weight {code} {sign * weight_change:+.0%}", "weight", code, w, None, agg))
    own = [ind.normalisation for ind in model.scheme.indicators]
    for alt in dict.fromkeys(normalisations):
        applied = [
            alt if (alt != "target" or ind.target is not None) else ind.normalisation
            for ind in model.scheme.indicators
        ]
        if applied != own:
            out.append((f"normalisation {alt}", "normalisation", None, base, alt, agg))
    if aggregation:
        other = "geometric" if agg == "arithmetic" else "arithmetic"
        out.append((f"aggregation {other}", "aggregation", None, base, None, other))
    return out


def sensitivity_scenarios(
    indicators: pd.DataFrame,
    scheme: Scheme,
    weight_change: float = 0.25,
    normalisations: Sequence[str] = ("minmax", "zscore", "rank"),
    aggregation: bool = True,
) -> pd.DataFrame:
    """Rank of every district under each one-at-a-time change (long format).

    Parameters
    ----------
    indicators, scheme:
        As for :func:`scoring.score`.
    weight_change:
        Each indicator's weight is lowered and raised by this fraction (others unchanged, then
        renormalised): two scenarios per indicator with a non-zero weight.
    normalisations:
        Alternative methods, each applied to all indicators (``"target"`` only where a target
        exists); an alternative identical to the scheme is skipped.
    aggregation:
        Also try the other aggregation method (arithmetic ↔ geometric).

    Returns
    -------
    pandas.DataFrame
        ``scenario, kind, code, area_code, rank_nominal, rank, rank_shift`` where
        ``rank_shift = rank − rank_nominal`` (positive = the district falls).
    """
    if not 0 <= weight_change < 1:
        raise ValueError(f"weight_change must be in [0, 1), got {weight_change!r}")
    model = prepare(indicators, scheme)
    _, nominal = nominal_scores(model)
    nominal_rank = rank_desc(nominal)
    scen = _scenarios(model, weight_change, list(normalisations), aggregation)
    if not scen:
        raise ValueError("nothing to compare: no weight change, no alternative normalisation or aggregation")
    options = _options([s[4] for s in scen if s[4] is not None])
    stack = normalised_stack(model, options)
    rows = []
    for label, kind, code, w, opt, agg in scen:
        scores = composite_batch(stack, w[None, :], np.array([options.index(opt)]), agg)[0]
        rank = rank_desc(scores)
        rows.append(
            pd.DataFrame(
                {
                    "scenario": label,
                    "kind": kind,
                    "code": code,
                    AREA: model.areas.to_numpy(),
                    "rank_nominal": nominal_rank,
                    "rank": rank,
                    "rank_shift": rank - nominal_rank,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def sensitivity(
    indicators: pd.DataFrame,
    scheme: Scheme,
    weight_change: float = 0.25,
    normalisations: Sequence[str] = ("minmax", "zscore", "rank"),
    aggregation: bool = True,
) -> pd.DataFrame:
    """Per district, the single choice that moves its rank most.

    Parameters are those of :func:`sensitivity_scenarios`.

    Returns
    -------
    pandas.DataFrame
        In input order: ``area_code, rank_nominal, max_abs_shift, rank_shift`` (signed, positive =
        falls), ``rank_at_max``, ``driver`` (scenario label; ``"none"`` if nothing moves it, ``"unscored"``
        for a district without a score),
        ``kind`` and ``code``.  Ties between scenarios go to the first in scenario order (weights in
        scheme order, down before up; then normalisations; then aggregation).
    """
    long = sensitivity_scenarios(indicators, scheme, weight_change, normalisations, aggregation)
    long["max_abs_shift"] = long["rank_shift"].abs()
    # Unscored districts have NaN shifts; -1 keeps idxmax defined for them.
    long["_key"] = long["max_abs_shift"].fillna(-1.0)
    order = pd.unique(long[AREA])
    picked = long.loc[long.groupby(AREA, sort=False)["_key"].idxmax()]
    picked = picked.set_index(AREA).loc[order].reset_index()
    unscored = picked["max_abs_shift"].isna()
    still = picked["max_abs_shift"] == 0
    picked["driver"] = picked["scenario"]
    picked.loc[still, ["driver", "kind", "code"]] = ["none", "none", None]
    picked.loc[unscored, ["driver", "kind", "code"]] = ["unscored", "none", None]
    return picked[
        [AREA, "rank_nominal", "max_abs_shift", "rank_shift", "rank", "driver", "kind", "code"]
    ].rename(columns={"rank": "rank_at_max"})
