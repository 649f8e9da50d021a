"""Splitting a budget pot between districts by shares, with floors and caps, exact to the fen.

Amounts are computed in integer fen (0.01 yuan).  With floors fᵢ and caps cᵢ the allocation is the
"water-filling" solution aᵢ = clip(λ·sᵢ, fᵢ, cᵢ) with λ chosen so that Σ aᵢ = pot.  It is what
"fix the capped/floored districts and redistribute the rest by share, repeat until nothing moves"
converges to, computed exactly from the breakpoints of the piecewise-linear Σ clip(λ·sᵢ, fᵢ, cᵢ)
(vectorised over Monte Carlo runs).  Fractions of a fen are then settled by largest remainder.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd

from scoring.aggregate import check_weights
from scoring.composite import score
from scoring.model import AREA, area_table, prepare
from scoring.robustness import simulate
from scoring.scheme import Scheme

Bound: TypeAlias = float | Mapping[str, float] | pd.Series | None
_CHUNK_CELLS = 1_000_000
_FEN_SLACK = 1e-6  # tolerance (in fen) when converting yuan bounds and float amounts to whole fen


def pot_to_fen(pot: float) -> int:
    """Return ``round(pot, 2)`` yuan as integer fen; the pot must be finite and >= 0."""
    if (
        isinstance(pot, bool)
        or not isinstance(pot, int | float | np.number)
        or not math.isfinite(pot)
        or pot < 0
    ):
        raise ValueError(f"pot must be a finite amount of yuan >= 0, got {pot!r}")
    return int(round(round(float(pot), 2) * 100))


def _bound(areas: Sequence[object], value: Bound, default: float, what: str) -> np.ndarray:
    n = len(areas)
    if value is None:
        return np.full(n, default)
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an amount in yuan or a mapping by area, not a bool")
    if isinstance(value, int | float | np.number):
        arr = np.full(n, float(value))
    else:
        mapping = dict(value.items())
        unknown = [k for k in mapping if k not in set(areas)]
        if unknown:
            raise ValueError(f"{what} given for unknown areas: {unknown}")
        arr = np.array([float(mapping.get(a, default)) for a in areas])
        arr = np.where(np.isnan(arr), default, arr)
    if (arr < 0).any() or np.isnan(arr).any():
        raise ValueError(f"{what} must be >= 0 yuan")
    return arr


def _bounds_fen(areas: Sequence[object], floor: Bound, cap: Bound) -> tuple[np.ndarray, np.ndarray]:
    lo_yuan = _bound(areas, floor, 0.0, "floor")
    hi_yuan = _bound(areas, cap, math.inf, "cap")
    clash = [a for a, lo, hi in zip(areas, lo_yuan, hi_yuan, strict=True) if lo > hi]
    if clash:
        raise ValueError(f"floor above cap for areas {clash}")
    # Floors round up and caps round down to whole fen, so the rounded bounds still hold in yuan.
    lo = np.ceil(lo_yuan * 100 - _FEN_SLACK)
    with np.errstate(invalid="ignore"):
        hi = np.where(np.isinf(hi_yuan), np.inf, np.floor(hi_yuan * 100 + _FEN_SLACK))
    return lo, hi


def _check_feasible(pot_fen: int, lo: np.ndarray, hi: np.ndarray, shares: np.ndarray) -> None:
    if lo.sum() > pot_fen:
        raise ValueError(
            f"floors sum to {lo.sum() / 100:.2f} yuan, more than the pot of {pot_fen / 100:.2f} yuan: "
            "they cannot all hold"
        )
    if hi.sum() < pot_fen:
        raise ValueError(
            f"caps sum to {hi.sum() / 100:.2f} yuan, less than the pot of {pot_fen / 100:.2f} yuan: "
            "they cannot all hold"
        )
    # Districts with a zero share only ever get their floor, so the others' caps must cover the rest.
    reach = np.where(shares > 0, hi[None, :], lo[None, :]).sum(axis=1)
    if (reach < pot_fen).any():
        raise ValueError(
            "the districts with a non-zero share are all at their caps and zero-share districts get only "
            f"their floors: {reach.min() / 100:.2f} yuan of {pot_fen / 100:.2f} yuan can be placed"
        )


def water_fill(shares: np.ndarray, pot: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Continuous allocation clip(λ·share, lo, hi) summing to ``pot``, for each row of ``shares``.

    Parameters
    ----------
    shares:
        ``(runs, districts)`` non-negative shares (rows need not sum to 1).
    pot:
        Amount to place (any unit; fen in this module).
    lo, hi:
        ``(districts,)`` floors and caps in the same unit (``hi`` may be ``inf``); feasibility must
        have been checked (see ``_check_feasible``).

    Returns
    -------
    numpy.ndarray
        ``(runs, districts)`` amounts, each row summing to ``pot`` up to rounding error.
    """
    out = np.empty(shares.shape)
    n = shares.shape[1]
    step = max(1, _CHUNK_CELLS // max(1, n * (2 * n + 1)))
    for start in range(0, shares.shape[0], step):
        out[start : start + step] = _water_fill_rows(shares[start : start + step], pot, lo, hi)
    return out


def _water_fill_rows(s: np.ndarray, pot: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    pos = s > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        b_lo = np.where(pos, lo / s, 0.0)
        b_hi = np.where(pos & np.isfinite(hi), hi / s, 0.0)
    # g(λ) = Σ clip(λ·s, lo, hi) is piecewise linear between these breakpoints.
    cand = np.sort(np.concatenate([np.zeros((len(s), 1)), b_lo, b_hi], axis=1), axis=1)
    g = np.clip(cand[:, :, None] * s[:, None, :], lo, hi).sum(axis=2)
    rows = np.arange(len(s))
    idx = np.argmax(g >= pot, axis=1)
    reached = g[rows, idx] >= pot
    prev = np.maximum(idx - 1, 0)
    c0, c1, g0, g1 = cand[rows, prev], cand[rows, idx], g[rows, prev], g[rows, idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_seg = np.where(g1 > g0, c0 + (pot - g0) * (c1 - c0) / (g1 - g0), c1)
        # Beyond the last breakpoint only uncapped districts still grow, at slope Σ s over them.
        slope = np.where(np.isinf(hi)[None, :], s, 0.0).sum(axis=1)
        lam_ext = np.where(slope > 0, cand[:, -1] + (pot - g[:, -1]) / slope, cand[:, -1])
    lam = np.where(reached, np.where(idx == 0, 0.0, lam_seg), lam_ext)
    return np.clip(lam[:, None] * s, lo, hi)


def round_fen(amounts: np.ndarray, pot_fen: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Round continuous fen amounts to whole fen summing exactly to ``pot_fen`` (largest remainder).

    Each district first gets the whole fen below its amount (kept within its bounds); the fen left
    over go one each to the largest fractional parts, ties to the earlier district in input order.
    """
    base = np.clip(np.floor(amounts + _FEN_SLACK), lo, hi)
    frac = amounts - base
    for _ in range(len(amounts) + 2):
        left = pot_fen - int(base.sum())
        if left == 0:
            break
        if left > 0:
            order = np.argsort(-frac, kind="stable")
            room = order[base[order] < hi[order]][:left]
            base[room] += 1
            frac[room] -= 1
        else:
            order = np.argsort(frac, kind="stable")
            room = order[base[order] > lo[order]][:-left]
            base[room] -= 1
            frac[room] += 1
    return base.astype(np.int64)


def _scores_input(scores: pd.DataFrame | pd.Series) -> tuple[list[object], np.ndarray]:
    if isinstance(scores, pd.Series):
        areas, values = list(scores.index), scores.to_numpy(dtype=float)
    elif isinstance(scores, pd.DataFrame) and {AREA, "score"} <= set(scores.columns):
        areas, values = scores[AREA].tolist(), scores["score"].to_numpy(dtype=float)
    else:
        raise ValueError(
            "scores must be a Series indexed by area code or a DataFrame with area_code and score"
        )
    if len(set(areas)) != len(areas):
        raise ValueError("duplicate area codes in scores")
    bad = [a for a, v in zip(areas, values, strict=True) if not math.isfinite(v) or v < 0]
    if bad:
        raise ValueError(f"scores must be finite and >= 0 to be used as shares; offending areas: {bad}")
    if len(values) == 0 or values.sum() <= 0:
        raise ValueError("all scores are zero (or there are none): there is no basis for shares")
    return areas, values


def allocate(
    scores: pd.DataFrame | pd.Series, pot: float, floor: Bound = None, cap: Bound = None
) -> pd.DataFrame:
    """Split ``pot`` yuan in proportion to ``scores``, respecting floors and caps, exact to the fen.

    Parameters
    ----------
    scores:
        A DataFrame with ``area_code`` and ``score`` columns (e.g. :func:`scoring.score` output) or a
        Series indexed by area code (e.g. :func:`factor_shares`); non-negative, not all zero.
    pot:
        Budget in yuan; the result sums exactly to ``round(pot, 2)``.
    floor, cap:
        Minimum / maximum yuan per district: one number for all, or a mapping/Series by area code
        (areas not listed are unbounded).

    Returns
    -------
    pandas.DataFrame
        In input order: ``area_code``, ``share`` (score ÷ Σ scores), ``amount_fen`` (int),
        ``amount_yuan`` (``amount_fen / 100``), ``share_of_pot`` and ``bound`` (``"floor"``,
        ``"cap"`` or ``""``).

    Raises
    ------
    ValueError
        If the floors sum to more than the pot or the caps to less, a floor exceeds a cap, or the
        scores are unusable (negative, missing, all zero).
    """
    areas, values = _scores_input(scores)
    pot_fen = pot_to_fen(pot)
    lo, hi = _bounds_fen(areas, floor, cap)
    shares = values / values.sum()
    _check_feasible(pot_fen, lo, hi, shares[None, :])
    fen = round_fen(water_fill(shares[None, :], float(pot_fen), lo, hi)[0], pot_fen, lo, hi)
    bound = np.where((fen >= hi), "cap", np.where((fen <= lo) & (lo > 0), "floor", ""))
    return pd.DataFrame(
        {
            AREA: areas,
            "share": shares,
            "amount_fen": fen,
            "amount_yuan": fen / 100.0,
            "share_of_pot": fen / pot_fen if pot_fen else np.zeros(len(fen)),
            "bound": bound,
        }
    )


def factor_shares(
    factors: pd.DataFrame, weights: Mapping[str, float], inverse: Iterable[str] = ()
) -> pd.Series:
    """Factor-method shares: shareₐ = Σᵢ wᵢ · xₐᵢ / Σ_b x_bᵢ.

    Parameters
    ----------
    factors:
        One row per district (indexed by ``area_code`` or with that column), one column per factor
        (any unit: persons, yuan…); complete data required (impute before, openly).
    weights:
        Factor code → non-negative weight; renormalised to sum 1.
    inverse:
        Factors where less means more money (e.g. ``fiscal_capacity_per_capita_yuan``): 1/x is used.

    Returns
    -------
    pandas.Series
        Shares summing to 1, indexed by ``area_code``, named ``"share"``.
    """
    w = check_weights(weights)
    inv = set(inverse)
    if inv - set(w):
        raise ValueError(f"inverse factors {sorted(inv - set(w))} have no weight")
    table = area_table(factors)
    absent = [c for c in w if c not in table.columns]
    if absent:
        raise ValueError(f"factor columns missing from the data: {absent}")
    total = np.zeros(len(table))
    for code, weight in w.items():
        x = pd.to_numeric(table[code], errors="raise").to_numpy(dtype=float)
        if np.isnan(x).any():
            raise ValueError(f"factor {code!r} is missing for {list(table.index[np.isnan(x)])}; impute first")
        if (x < 0).any() or (code in inv and (x <= 0).any()):
            raise ValueError(f"factor {code!r} must be {'> 0 (it is inverted)' if code in inv else '>= 0'}")
        x = 1.0 / x if code in inv else x
        if x.sum() <= 0:
            raise ValueError(f"factor {code!r} sums to zero over the city; it cannot split anything")
        total += weight * x / x.sum()
    return pd.Series(total, index=table.index, name="share")


def allocation_uncertainty(
    indicators: pd.DataFrame,
    scheme: Scheme,
    pot: float,
    runs: int = 1000,
    noise: float = 0.25,
    floor: Bound = None,
    cap: Bound = None,
    seed: int = 0,
    normalisations: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each district's allocation under the Monte Carlo runs of :func:`scoring.rank_uncertainty`.

    Parameters
    ----------
    indicators, scheme:
        As for :func:`scoring.score`; the scores must be non-negative (not z-score based).
    pot, floor, cap:
        As for :func:`allocate` (yuan).
    runs, noise, seed, normalisations:
        As for :func:`scoring.rank_uncertainty` (same seed → same runs).

    Returns
    -------
    pandas.DataFrame
        ``area_code, amount_nominal`` (exact :func:`allocate` result), ``amount_p05, amount_median,
        amount_p95`` in yuan rounded to 0.01.  Percentiles use the continuous run amounts (before fen
        rounding, which moves an amount by less than 0.01 yuan).
    """
    model = prepare(indicators, scheme)
    nominal = allocate(score(indicators, scheme), pot, floor, cap)
    scores = simulate(model, runs, noise, normalisations, seed)
    if np.isnan(scores).any() or (scores < 0).any():
        raise ValueError("some run scores are missing or negative; score shares need scores >= 0")
    sums = scores.sum(axis=1, keepdims=True)
    if (sums <= 0).any():
        raise ValueError("a run gave every district a zero score: there is no basis for shares")
    shares = scores / sums
    pot_fen = pot_to_fen(pot)
    areas = list(model.areas)
    lo, hi = _bounds_fen(areas, floor, cap)
    _check_feasible(pot_fen, lo, hi, shares)
    amounts = water_fill(shares, float(pot_fen), lo, hi) / 100.0
    p05, p50, p95 = np.percentile(amounts, (5, 50, 95), axis=0)
    return pd.DataFrame(
        {
            AREA: areas,
            "amount_nominal": nominal["amount_yuan"].to_numpy(),
            "amount_p05": np.round(p05, 2),
            "amount_median": np.round(p50, 2),
            "amount_p95": np.round(p95, 2),
        }
    )
