"""Seed 002 §二's fund methods as pure functions: the transfer split by factors, the guarantee fund with its 50 %
matching, the own-funds rule and the yearly fund-performance evaluation (docs/funds.md quotes the clauses).

No UI, no database: each function takes a DataFrame with one row per district and returns one. Amounts are split
exactly to the fen by :func:`scoring.allocate` (the shares of each district sum to 1, the amounts to the pot).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from scoring.allocation import Bound, allocate, pot_to_fen, water_fill
from scoring.scheme import Scheme

#: §二(一): "按不低于本级财政上年度一般预算收入1.5%的标准" — a district's own funds against last year's revenue.
OWN_FUNDS_RULE_PCT = 1.5
#: §二(四): "各区按50%的比例安排配套资金" — the district's matching of the city's guarantee-fund subsidy.
MATCHING_SHARE = 0.5
#: §二(二)'s five factors, in the text's order (codes of the columns :func:`factor_split` reads).
WUHAN_FACTORS: tuple[str, ...] = (
    "funds_raised_yuan",  # 就业专项资金筹集额度: the district's own funds of the results year
    "target_workload",  # 就业工作目标任务: its urban new employment target
    "last_year_results",  # 上年度就业工作实绩: urban new employment achieved
    "revenue_per_resident_yuan",  # 财政困难程度 (proxy, inverted): general budget revenue per resident
    "performance_score",  # 资金使用绩效: the yearly fund-performance evaluation (0–100)
)
#: Factors where less means more money: the fiscal-difficulty proxy is inverted (1/x) before its share is taken.
INVERSE_FACTORS: frozenset[str] = frozenset({"revenue_per_resident_yuan"})
#: §二(五)'s four aspects of the yearly evaluation, 25 points each.
EVALUATION_ASPECTS: tuple[str, ...] = ("raising_use", "startup", "policy_delivery", "targets")
ASPECT_POINTS = 25.0


def factor_table(
    factors: pd.DataFrame, weights: Mapping[str, float], inverse: Iterable[str] = INVERSE_FACTORS
) -> pd.DataFrame:
    """Each factor as the district's share of the city total, and the weighted share.

    Parameters
    ----------
    factors:
        ``area_code`` and one column per weighted factor (complete: impute openly before).
    weights:
        Factor code → weight ≥ 0 (renormalised to sum 1).
    inverse:
        Factors where less means more money, inverted (1/x) first; default :data:`INVERSE_FACTORS`.

    Returns
    -------
    pandas.DataFrame
        ``area_code``, ``part_<code>`` (the district's share of the city total of that factor, 0–1) per factor,
        and ``share`` = Σ wᵢ·partᵢ (sums to 1 over the districts).
    """
    total = sum(float(w) for w in weights.values())
    if total <= 0 or any(float(w) < 0 for w in weights.values()):
        raise ValueError("factor weights must be >= 0 and not all zero")
    inv = set(inverse)
    out = pd.DataFrame({"area_code": factors["area_code"].astype(str).to_numpy()})
    share = np.zeros(len(factors))
    for code, weight in weights.items():
        x = pd.to_numeric(factors[code], errors="raise").to_numpy(dtype=float)
        if np.isnan(x).any():
            raise ValueError(f"factor {code!r} is missing for some districts; impute first")
        if code in inv:
            if (x <= 0).any():
                raise ValueError(f"factor {code!r} must be > 0 (it is inverted)")
            x = 1.0 / x
        if (x < 0).any() or x.sum() <= 0:
            raise ValueError(f"factor {code!r} must be >= 0 and not zero over the city")
        part = x / x.sum()
        out[f"part_{code}"] = part
        share += float(weight) / total * part
    out["share"] = share
    return out


def factor_split(
    factors: pd.DataFrame,
    weights: Mapping[str, float],
    pot: float,
    floor: Bound = None,
    cap: Bound = None,
    inverse: Iterable[str] = INVERSE_FACTORS,
) -> pd.DataFrame:
    """§二(二): split the transfer ``pot`` (yuan) by the weighted factor shares, exact to the fen.

    Returns :func:`factor_table`'s columns plus ``amount_fen, amount_yuan, share_of_pot, bound`` of
    :func:`scoring.allocate` (``bound`` = ``"floor"``/``"cap"`` where a floor or cap holds the amount).
    """
    table = factor_table(factors, weights, inverse)
    alloc = allocate(table.set_index("area_code")["share"], pot, floor, cap)
    return table.merge(alloc.drop(columns="share"), on="area_code")


def guarantee_split(indicators: pd.DataFrame, scheme: Scheme, pot: float) -> pd.DataFrame:
    """§二(四): the city's guarantee-fund subsidy by five indicators, each the district's share of the city
    total (所占比例), weighted by ``scheme``; each district matches 50 % of what it receives.

    Returns ``area_code, part_<code>…, share, amount_fen, amount_yuan, matching_fen, matching_yuan,
    fund_fen, fund_yuan``. Matching is half the subsidy rounded up to the fen (the district adds at least half);
    ``fund`` = subsidy + matching, the district-level guarantee fund it forms.
    """
    out = factor_split(indicators, scheme.weights, pot, inverse=())
    out["matching_fen"] = (out["amount_fen"] + 1) // 2  # ceil(amount × 50 %) in whole fen
    out["matching_yuan"] = out["matching_fen"] / 100.0
    out["fund_fen"] = out["amount_fen"] + out["matching_fen"]
    out["fund_yuan"] = out["fund_fen"] / 100.0
    return out.drop(columns=["share_of_pot", "bound"])


def own_funds_rule(own_yuan: pd.Series, last_revenue_yuan: pd.Series) -> pd.DataFrame:
    """§二(一): each district's own funds against 1.5 % of last year's general budget revenue.

    Returns ``required_yuan`` (1.5 % of the revenue, to the fen), ``ratio_pct`` and ``met`` (None when the
    revenue is unknown), indexed like the inputs.
    """
    own = pd.to_numeric(own_yuan, errors="coerce").astype(float)
    revenue = pd.to_numeric(last_revenue_yuan, errors="coerce").astype(float)
    required = (revenue * OWN_FUNDS_RULE_PCT / 100).round(2)
    ratio = own / revenue.where(revenue > 0) * 100
    met = [None if pd.isna(r) else bool(o + 1e-9 >= q) for o, q, r in zip(own, required, ratio, strict=True)]
    return pd.DataFrame({"required_yuan": required, "ratio_pct": ratio, "met": met}, index=own.index)


def _points(value: pd.Series, target: float, lower_is_better: bool = False) -> pd.Series:
    """0–1 of the way to ``target``: value ÷ target capped at 1 (target ÷ value for lower-is-better)."""
    v = pd.to_numeric(value, errors="coerce").astype(float)
    if lower_is_better:
        return (target / v.where(v > target, target)).clip(0, 1)
    return (v / target).clip(0, 1)


def evaluation(measured: pd.DataFrame, assessed: pd.Series | None = None) -> pd.DataFrame:
    """§二(五): the yearly fund-performance evaluation, four aspects of 25 points each (total 0–100).

    ``measured`` has ``area_code`` and the fund indicators of ``queries.funds.fund_indicators`` plus
    ``priority_share_pct`` (share of spending on the categories §二(三) names). ``assessed``: the assessors'
    policy-delivery marks (0–100) by area code; the measurable part of policy delivery is half of that aspect.

    - raising and use: own funds against the 1.5 % rule (⅓), spending progress (⅓), year-end balance under 50 %
      of the input (⅓, full marks at or under 50 %);
    - start-up results: loans issued against the target (½), loan recovery rate against 100 % (½);
    - policy delivery: spending on §二(三)'s priorities against 60 % of spending (¼), satisfaction (¼),
      the assessors' mark (½; missing → that half is 0 and ``assessed`` says so);
    - targets: the share of the district's targets met.

    A missing measure counts 0 points (said in ``missing``).
    Returns ``area_code``, one column per aspect (points), ``total`` and ``missing`` (codes, comma-separated).
    """
    m = measured.set_index("area_code")
    parts: dict[str, list[tuple[str, pd.Series]]] = {
        "raising_use": [
            ("own_funds_ratio_pct", _points(m["own_funds_ratio_pct"], OWN_FUNDS_RULE_PCT) / 3),
            ("spending_progress_pct", _points(m["spending_progress_pct"], 100.0) / 3),
            ("year_end_balance_pct", _points(m["year_end_balance_pct"], 50.0, lower_is_better=True) / 3),
        ],
        "startup": [
            ("loans_issued_vs_target_pct", _points(m["loans_issued_vs_target_pct"], 100.0) / 2),
            ("loan_recovery_rate_pct", _points(m["loan_recovery_rate_pct"], 100.0) / 2),
        ],
        "policy_delivery": [
            ("priority_share_pct", _points(m["priority_share_pct"], 60.0) / 4),
            ("satisfaction_score", _points(m["satisfaction_score"], 100.0) / 4),
            (
                "assessed",
                (pd.Series(assessed, dtype=float) if assessed is not None else pd.Series(dtype=float))
                .reindex(m.index)
                .clip(0, 100)
                / 100
                / 2,
            ),
        ],
        "targets": [("targets_met_share_pct", _points(m["targets_met_share_pct"], 100.0))],
    }
    out = pd.DataFrame(index=m.index)
    missing: dict[str, list[str]] = {a: [] for a in m.index}
    for aspect, items in parts.items():
        total = pd.Series(0.0, index=m.index)
        for code, part in items:
            for area in part.index[part.isna()]:
                missing[area].append(code)
            total += part.fillna(0.0)
        out[aspect] = (total * ASPECT_POINTS).round(2)
    out["total"] = out[list(EVALUATION_ASPECTS)].sum(axis=1).round(2)
    out["missing"] = [", ".join(missing[a]) for a in out.index]
    return out.reset_index()


def factor_band(
    factors: pd.DataFrame,
    weights: Mapping[str, float],
    pot: float,
    floor: float | None,
    cap: float | None,
    noise: float,
    runs: int = 1000,
    seed: int = 0,
    inverse: Iterable[str] = INVERSE_FACTORS,
) -> pd.DataFrame:
    """5th–95th percentile of each district's factor-split amount when every weight varies by ±``noise``.

    Weight draws U(1 − noise, 1 + noise) as the score Monte Carlo (same ``seed``); amounts are the continuous
    water-filling solution under the same floors and caps, whose feasibility :func:`factor_split` checked.
    Returns ``area_code, amount_p05, amount_p95`` in yuan rounded to 0.01.
    """
    codes = list(weights)
    table = factor_table(factors, weights, inverse)
    parts = table[[f"part_{c}" for c in codes]].to_numpy(float)
    w = np.array([float(weights[c]) for c in codes])
    rng = np.random.default_rng(seed)
    runs_w = w[None, :] * (rng.uniform(1 - noise, 1 + noise, (runs, len(codes))) if noise > 0 else 1.0)
    runs_w = runs_w / runs_w.sum(axis=1, keepdims=True)
    shares = runs_w @ parts.T
    lo, hi = fen_bounds(len(table), floor, cap)
    amounts = water_fill(shares, float(pot_to_fen(pot)), lo, hi) / 100.0
    p05, p95 = np.percentile(amounts, (5, 95), axis=0)
    return pd.DataFrame(
        {"area_code": table["area_code"], "amount_p05": p05.round(2), "amount_p95": p95.round(2)}
    )


def fen_bounds(n: int, floor: float | None, cap: float | None) -> tuple[np.ndarray, np.ndarray]:
    """One floor and one cap in yuan as ``n`` fen bounds: floors round up, caps down (0 / None = none)."""
    lo = np.full(n, np.ceil((floor or 0.0) * 100 - 1e-6))
    hi = np.full(n, np.inf if not cap else np.floor(cap * 100 + 1e-6))
    return lo, hi


def impute_mean(factors: pd.DataFrame, codes: Sequence[str]) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Fill a missing factor with the mean of the districts that have it; returns the filled table and the
    (area_code, code) cells filled, so a page can say so."""
    out = factors.copy()
    filled = [(str(a), c) for c in codes for a in out.loc[out[c].isna(), "area_code"]]
    for c in codes:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
        out[c] = out[c].fillna(out[c].mean())
    return out, filled
