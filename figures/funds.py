"""The Funds figures, assembled once for the page and the pack: performance scores, funds by source with the
1.5 % rule, the yearly evaluation, the transfer split by seed 002's factors and the guarantee fund (docs/funds.md).

Years: the page's year Y is the *results* year; the split proposed is for Y + 1 ("2027 split from 2026 results"),
its default pot is Y's transfer pot (central + provincial + city, never ``district_own``) and each district's
amount is compared with what it received from that same pot in Y.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from figures.rules import Rules
from figures.run import Run
from figures.targets import attainment
from queries import funds as q
from scoring import Scheme, score
from scoring.funds_methods import (
    ASPECT_POINTS,
    INVERSE_FACTORS,
    WUHAN_FACTORS,
    evaluation,
    factor_band,
    factor_split,
    guarantee_split,
    impute_mean,
    own_funds_rule,
)

#: §二(三): "公益性岗位补贴、灵活就业人员社保补贴、商贸服务性企业社保补贴以及职业介绍补贴" — the categories of
#: ``subsidy_payment`` the seed asks districts to put their money into (policy delivery's measurable part).
PRIORITY_CATEGORIES: tuple[str, ...] = ("public_welfare_job", "social_insurance", "job_introduction")
RESULTS_INDICATOR = "urban_new_employment"


def scores(run: Run, scheme: Scheme, year: int, month: int, years: list[int]) -> tuple[pd.DataFrame, bool]:
    """Nominal scores of ``year`` with the change of score and rank against the same month a year before.

    Returns (``score``'s frame plus ``score_prev, rank_prev, score_change, rank_change``, whether a previous year
    was scored). Raises ``ValueError`` when the scheme cannot score the year.
    """
    now = score(run(q.fund_indicators, year, month), scheme)
    has_prev = False
    if year - 1 in years:
        prev_ind = run(q.fund_indicators, year - 1, month)
        if not prev_ind.empty and prev_ind[scheme.codes].notna().any().any():
            try:
                prev = score(prev_ind, scheme)[["area_code", "score", "rank"]]
                now = now.merge(
                    prev.add_suffix("_prev").rename(columns={"area_code_prev": "area_code"}), how="left"
                )
                has_prev = True
            except ValueError:
                has_prev = False
    if not has_prev:
        now["score_prev"] = np.nan
        now["rank_prev"] = pd.array([pd.NA] * len(now), dtype="Int64")
    now["score_change"] = now["score"] - now["score_prev"]
    now["rank_change"] = (now["rank_prev"] - now["rank"]).astype("Float64")  # positive = moved up
    return now, has_prev


def by_source(run: Run, year: int) -> pd.DataFrame:
    """Each district's money of ``year`` by source with the own-funds rule (§二(一)).

    Columns ``area_code, central, provincial, city, district_own, transfer_yuan`` (the three transfer sources),
    ``last_revenue_yuan, required_yuan`` (1.5 % of it), ``ratio_pct, met``.
    """
    long = run(q.funds_by_source, year)
    sources = [*q.TRANSFER_SOURCES, q.OWN_SOURCE]
    wide = (
        long.pivot_table(index="area_code", columns="source", values="amount_yuan", aggfunc="sum")
        .reindex(columns=sources)
        .reset_index()
        if not long.empty
        else pd.DataFrame(columns=["area_code", *sources])
    )
    wide.columns.name = None
    wide["transfer_yuan"] = wide[list(q.TRANSFER_SOURCES)].sum(axis=1, min_count=1)
    fin = run(q.district_finance, year)[["area_code", "last_revenue_yuan"]]
    wide = wide.merge(fin, on="area_code", how="left")
    rule = own_funds_rule(wide[q.OWN_SOURCE], wide["last_revenue_yuan"])
    return pd.concat([wide, rule], axis=1)


def transfer_pot(run: Run, year: int) -> float:
    """``year``'s transfer pot in yuan: central + provincial + city, never the districts' own money."""
    long = run(q.funds_by_source, year)
    return (
        float(long.loc[long["source"].isin(q.TRANSFER_SOURCES), "amount_yuan"].sum())
        if not long.empty
        else 0.0
    )


def measured(run: Run, year: int, month: int) -> pd.DataFrame:
    """The fund indicators with ``priority_share_pct`` (spending on §二(三)'s priorities ÷ all spending × 100)."""
    ind = run(q.fund_indicators, year, month)
    cats = run(q.subsidies_by_category, year, month)
    if cats.empty:
        return ind.assign(priority_share_pct=np.nan)
    share = (
        cats[cats["category"].isin(PRIORITY_CATEGORIES)].groupby("area_code")["share_pct"].sum(min_count=1)
    )
    return ind.assign(priority_share_pct=ind["area_code"].map(share).astype(float))


def fund_evaluation(run: Run, year: int, month: int, assessed: pd.Series | None = None) -> pd.DataFrame:
    """§二(五)'s yearly evaluation of ``year`` (``scoring.funds_methods.evaluation``): four aspects, total 0–100."""
    return evaluation(measured(run, year, month), assessed)


def transfer_factors(
    run: Run, rules: Rules, year: int, month: int, assessed: pd.Series | None = None
) -> pd.DataFrame:
    """§二(二)'s five factors of ``year`` per district (NaN where unknown or hidden).

    - ``funds_raised_yuan``: the district's own funds of the year (``district_own``);
    - ``target_workload``: its urban new employment target of the year;
    - ``last_year_results``: urban new employment achieved by the end of ``month`` (the Targets page's figure);
    - ``revenue_per_resident_yuan``: general budget revenue ÷ residents (inverted when split: fiscal difficulty);
    - ``performance_score``: the yearly evaluation (:func:`fund_evaluation`) without its "raising and use"
      aspect, rescaled to 0–100: the district's own money enters the split once, as ``funds_raised_yuan``
      (the aspect reads own funds and spending against an input that includes them), so changing a district's
      own funds moves the split through that factor alone.
    """
    src = by_source(run, year)[["area_code", q.OWN_SOURCE]]
    fin = run(q.district_finance, year)[["area_code", "revenue_per_resident_yuan"]]
    att = attainment(run, rules, year, month)
    att = att[att["indicator_code"] == RESULTS_INDICATOR][["area_code", "target", "actual"]]
    ev = fund_evaluation(run, year, month, assessed)
    ev = ev.assign(total=(ev["total"] - ev["raising_use"]) * 100 / (100 - ASPECT_POINTS))[
        ["area_code", "total"]
    ]
    out = (
        fin.merge(src, on="area_code", how="left")
        .merge(att, on="area_code", how="left")
        .merge(ev, on="area_code", how="left")
        .rename(
            columns={
                q.OWN_SOURCE: "funds_raised_yuan",
                "target": "target_workload",
                "actual": "last_year_results",
                "total": "performance_score",
            }
        )
    )
    return out[["area_code", *WUHAN_FACTORS]]


@dataclass
class Split:
    """A proposed split: the table, its pot, and notes (message key, arguments) the page and pack show."""

    table: pd.DataFrame
    pot_yuan: float
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def transfer_split(
    run: Run,
    rules: Rules,
    scheme: Scheme,
    year: int,
    month: int,
    pot: float,
    floor: float | None = None,
    cap: float | None = None,
    noise: float = 0.0,
    assessed: pd.Series | None = None,
) -> Split:
    """Split ``pot`` (yuan) for ``year`` + 1 by ``scheme``'s factors of ``year``, exact to the fen.

    A scheme of seed 002's five factors (the preset or the bureau's recorded weights) reads
    :func:`transfer_factors`; another (the Hunan-2014 alternative) reads its codes from the fund indicators and
    inverts its lower-is-better ones. A missing factor value is the city mean (a note says where); a factor
    missing everywhere is dropped (a note says which). ``table``: :func:`factor_split`'s columns plus
    ``last_year_yuan`` (the district's share of ``year``'s transfer pot), ``change_yuan, change_pct,
    own_yuan`` and, with ``noise`` > 0, ``amount_p05, amount_p95``. Raises ``ValueError`` when infeasible.
    """
    notes: list[tuple[str, dict[str, Any]]] = []
    if set(scheme.codes) <= set(WUHAN_FACTORS):
        factors, inverse = transfer_factors(run, rules, year, month, assessed), set(INVERSE_FACTORS)
    else:
        factors = run(q.fund_indicators, year, month)[["area_code", *scheme.codes]]
        inverse = {i.code for i in scheme.indicators if i.direction == "lower"}
    codes = [c for c in scheme.codes if factors[c].notna().any()]
    dropped = [c for c in scheme.codes if c not in codes]
    if dropped:
        notes.append(("funds_factor_dropped", {"codes": dropped}))
    factors, filled = impute_mean(factors, codes)
    if filled:
        notes.append(("funds_factor_imputed", {"cells": filled}))
    weights = {c: scheme.weights[c] for c in codes}
    inv = inverse & set(codes)
    table = factor_split(factors, weights, pot, floor or None, cap or None, inverse=inv)
    for c in codes:
        table[c] = factors[c].to_numpy()
    src = by_source(run, year)[["area_code", "transfer_yuan", q.OWN_SOURCE]]
    table = table.merge(
        src.rename(columns={"transfer_yuan": "last_year_yuan", q.OWN_SOURCE: "own_yuan"}),
        on="area_code",
        how="left",
    )
    table["change_yuan"] = table["amount_yuan"] - table["last_year_yuan"]
    table["change_pct"] = (
        table["change_yuan"] / table["last_year_yuan"].where(table["last_year_yuan"] > 0) * 100
    )
    if noise > 0:
        band = factor_band(factors, weights, pot, floor or None, cap or None, noise, inverse=inv)
        table = table.merge(band, on="area_code", how="left")
    else:
        table["amount_p05"] = np.nan
        table["amount_p95"] = np.nan
    return Split(table=table, pot_yuan=pot, notes=notes)


def guarantee(run: Run, scheme: Scheme, year: int, month: int, pot: float) -> Split:
    """§二(四): the city's guarantee-fund subsidy ``pot`` by ``scheme``'s five indicators of ``year``, each as
    the district's share of the city total, with the district's 50 % matching (:func:`guarantee_split`)."""
    ind = run(q.fund_indicators, year, month)[["area_code", *scheme.codes]]
    notes: list[tuple[str, dict[str, Any]]] = []
    codes = [c for c in scheme.codes if ind[c].notna().any()]
    dropped = [c for c in scheme.codes if c not in codes]
    if dropped:
        notes.append(("funds_factor_dropped", {"codes": dropped}))
    ind, filled = impute_mean(ind, codes)
    if filled:
        notes.append(("funds_factor_imputed", {"cells": filled}))
    used = (
        scheme
        if not dropped
        else scheme.with_name(scheme.name).replace(
            indicators=tuple(i for i in scheme.indicators if i.code in codes)
        )
    )
    table = guarantee_split(ind, used, pot)
    for c in codes:
        table[c] = ind[c].to_numpy()
    return Split(table=table, pot_yuan=pot, notes=notes)
