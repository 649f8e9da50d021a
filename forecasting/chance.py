"""The chance of meeting an annual flow target by December, from a forecast of the months left (issue #20).

A flow target is met when the year-to-date actual plus the rest of the year's months reaches the target. Each
forecast month's interval ends are read as quantiles (``lo_80`` the 10 % quantile, the mean the median, …, as
:func:`forecasting.prob_above` reads them). Months are not independent: a forecast that is too low in October is
likely too low in November too, so adding independent intervals would make the year's total far too certain.
The months are tied by a Gaussian copula: every path draws one normal score per month with correlation ``rho``
between any two months (a common shock plus a month's own), maps it through that month's quantile function and
sums the path. ``rho = 1`` is the comonotone sum (the quantiles of the total are the sums of the months'
quantiles: the widest honest reading); ``rho = 0`` independent months (too narrow).

The draws are fixed (a seeded generator, common to every call), so the chance is a deterministic function that is
non-increasing in the target and non-decreasing in the actual; it is exactly 1 once the actual reaches the target.

The rule a leader uses today, "on track if completion ≥ time-elapsed progress", is :func:`naive`, scored the same
way by :func:`backtest_chance` (Brier score and a reliability table, :func:`brier_by_month`, :func:`reliability`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .probability import quantile_points

RHO = 0.6  # correlation of two months' normal scores; chosen on the development year (docs/forecasting.md)
N_PATHS = 4000
SEED = 20


def _draws(n_months: int, rho: float, n_paths: int, seed: int) -> np.ndarray:
    """``n_paths × n_months`` normal scores, equicorrelated with ``rho`` (the same for every call)."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal((n_paths, 1))
    own = rng.standard_normal((n_paths, max(12, n_months)))[:, :n_months]
    rho = float(np.clip(rho, 0.0, 1.0))
    return np.sqrt(rho) * common + np.sqrt(1.0 - rho) * own  # type: ignore[no-any-return]


def month_values(row: pd.Series, z: np.ndarray, lower: float | None = 0.0) -> np.ndarray:
    """A forecast month's values at normal scores ``z``: linear in the normal score between the known
    quantiles, extended beyond the outermost ones on the slope of the outermost interval (the inverse of
    :func:`forecasting.prob_above`'s reading), floored at ``lower``."""
    vals, zs = quantile_points(row)
    zs_u, idx = np.unique(zs, return_index=True)
    vals_u = vals[idx]
    if len(zs_u) == 1:
        out = np.full_like(z, vals_u[0], dtype=float)
    else:
        out = np.interp(z, zs_u, vals_u)
        lo_slope = (vals_u[1] - vals_u[0]) / (zs_u[1] - zs_u[0])
        hi_slope = (vals_u[-1] - vals_u[-2]) / (zs_u[-1] - zs_u[-2])
        out = np.where(z < zs_u[0], vals_u[0] + (z - zs_u[0]) * lo_slope, out)
        out = np.where(z > zs_u[-1], vals_u[-1] + (z - zs_u[-1]) * hi_slope, out)
    if lower is not None:
        out = np.maximum(out, lower)
    return out  # type: ignore[no-any-return]


def year_totals(
    actual: float,
    remaining: pd.DataFrame,
    *,
    rho: float = RHO,
    n_paths: int = N_PATHS,
    seed: int = SEED,
    lower: float | None = 0.0,
) -> np.ndarray:
    """Simulated year totals: ``actual`` (the year to date) plus one correlated path of the ``remaining``
    forecast months (columns ``mean`` and ``lo_*``/``hi_*``, one row per month left)."""
    if remaining.empty:
        return np.full(n_paths, float(actual))
    z = _draws(len(remaining), rho, n_paths, seed)
    total = np.full(n_paths, float(actual))
    for j, (_, row) in enumerate(remaining.iterrows()):
        total += month_values(row, z[:, j], lower)
    return total


def chance_of_target(
    actual: float,
    target: float,
    remaining: pd.DataFrame,
    *,
    rho: float = RHO,
    n_paths: int = N_PATHS,
    seed: int = SEED,
    lower: float | None = 0.0,
) -> float:
    """P(year total ≥ ``target``) given the year-to-date ``actual`` and the forecast of the months left.

    1 once ``actual`` ≥ ``target``; NaN when the actual or the target is unknown (a hidden figure has no
    chance either). With no month left it is 1 or 0.
    """
    if not (np.isfinite(actual) and np.isfinite(target)):
        return float("nan")
    if actual >= target:
        return 1.0
    totals = year_totals(actual, remaining, rho=rho, n_paths=n_paths, seed=seed, lower=lower)
    return float(np.mean(totals >= target))


def recalibrate(p: float, calibration: tuple[float, float] | None) -> float:
    """A stated chance mapped through a logistic recalibration ``(a, b)`` fitted on development years
    (:func:`fit_recalibration`): ``1 / (1 + exp(-(a + b·logit p)))``. Monotone for ``b > 0``, so the chance stays
    monotone in the target and the actual; a met target (``p == 1``) and an unknown chance are kept."""
    if calibration is None or p != p or p >= 1.0:
        return p
    a, b = calibration
    q = float(np.clip(p, 1e-3, 1 - 1e-3))
    return float(1.0 / (1.0 + np.exp(-(a + max(b, 1e-6) * np.log(q / (1 - q))))))


def fit_recalibration(p: np.ndarray, outcome: np.ndarray) -> tuple[float, float]:
    """The ``(a, b)`` of :func:`recalibrate` that minimise the Brier score on development cases (``b > 0``)."""
    from scipy.optimize import minimize

    p, outcome = np.asarray(p, float), np.asarray(outcome, float)
    keep = p < 1.0

    def loss(ab: np.ndarray) -> float:
        q = np.array([recalibrate(float(x), (ab[0], ab[1])) for x in p[keep]])
        return float(np.mean((q - outcome[keep]) ** 2))

    found = minimize(loss, np.array([0.0, 1.0]), bounds=[(-5, 5), (0.05, 5)], method="L-BFGS-B")
    return float(found.x[0]), float(found.x[1])


def naive(actual: float, target: float, month: int) -> float:
    """The rule a leader uses today as a probability: 1 when completion ≥ time-elapsed progress, else 0."""
    if not (np.isfinite(actual) and np.isfinite(target)) or target <= 0:
        return float("nan")
    return 1.0 if actual / target >= month / 12 - 1e-12 else 0.0


# --- backtest ---------------------------------------------------------------------------------------------


def backtest_chance(
    y: pd.Series,
    targets: Mapping[int, float],
    years: Iterable[int],
    fit: Callable[[pd.Series, int], pd.DataFrame],
    *,
    months: Iterable[int] = range(1, 12),
    rhos: Iterable[float] = (RHO,),
) -> pd.DataFrame:
    """Score the chance on past complete years at every month-end.

    ``y``: the monthly flow (PeriodIndex); ``targets``: the year's target; ``fit(history, horizon)``: the
    forecast procedure (``forecasting.forecast`` with the job's settings) on the history up to a month-end.
    Returns one row per (year, month, rho): ``year, month, rho, actual, target, p, naive, outcome``
    (1 when the year's total reached the target).
    """
    rhos = tuple(rhos)
    rows: list[dict[str, Any]] = []
    for year in years:
        target = float(targets.get(year, float("nan")))
        months_y = y[(y.index.year == year)]
        if not np.isfinite(target) or len(months_y.dropna()) < 12:
            continue
        outcome = float(months_y.sum() >= target)
        for m in months:
            end = pd.Period(year=year, month=m, freq="M")
            ytd = float(months_y[months_y.index <= end].sum())
            history = y[y.index <= end]
            fc = fit(history, 12 - m)
            for rho in rhos:
                p = chance_of_target(ytd, target, fc.iloc[: 12 - m], rho=rho)
                rows.append(
                    dict(
                        year=year,
                        month=m,
                        rho=rho,
                        actual=ytd,
                        target=target,
                        p=p,
                        naive=naive(ytd, target, m),
                        outcome=outcome,
                    )
                )
    return pd.DataFrame(rows, columns=["year", "month", "rho", "actual", "target", "p", "naive", "outcome"])


def brier_by_month(rows: pd.DataFrame) -> pd.DataFrame:
    """Brier score of the chance and of the naive rule per month-end (and ``all``): ``month, cases, brier,
    brier_naive, base_rate``."""
    r = rows.dropna(subset=["p", "naive"])
    sq = r.assign(b=(r["p"] - r["outcome"]) ** 2, bn=(r["naive"] - r["outcome"]) ** 2)
    by = sq.groupby("month").agg(
        cases=("b", "size"), brier=("b", "mean"), brier_naive=("bn", "mean"), base_rate=("outcome", "mean")
    )
    by.index = by.index.astype(str)
    total = pd.DataFrame(
        {
            "cases": [len(sq)],
            "brier": [sq["b"].mean()],
            "brier_naive": [sq["bn"].mean()],
            "base_rate": [sq["outcome"].mean()],
        },
        index=["all"],
    )
    return pd.concat([by, total]).rename_axis("month").reset_index()


def reliability(rows: pd.DataFrame, bins: int = 10, column: str = "p") -> pd.DataFrame:
    """Reliability table: per decile of the stated chance, ``cases``, the mean stated chance and the share that
    reached the target (``observed``), and their difference in points."""
    r = rows.dropna(subset=[column])
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(r[column], edges[1:-1], right=False), 0, bins - 1)
    out = (
        r.assign(bin=which)
        .groupby("bin")
        .agg(cases=(column, "size"), stated=(column, "mean"), observed=("outcome", "mean"))
        .reindex(range(bins))
    )
    out["cases"] = out["cases"].fillna(0).astype(int)
    out["decile"] = [f"{edges[i]:.1f}–{edges[i + 1]:.1f}" for i in range(bins)]
    out["gap_pp"] = (out["observed"] - out["stated"]) * 100
    return out.reset_index(drop=True)[["decile", "cases", "stated", "observed", "gap_pp"]]
