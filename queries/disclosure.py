"""The cube the suppression plan is decided on (privacy.linked): persons per series, area and month.

Read city-wide whoever is logged in, because the plan must be the same in every view (a planner's view of
their district hides what a leader's view of it hides); it is never shown. Aggregated in SQL: one row per
series, area and month of ``agg_monthly`` (streets, districts and the city).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, Integer, case, cast, distinct, extract, func, select

from queries import disclosure_control, frame
from store import schema as s
from store.indicators import BY_CODE, DERIVED_FROM_GROUPS, GROUPS

GROUPED = "urban_new_employment"  # the series stored per group
LEVELS = ("street", "district", "city")
SPENDING = "subsidy_spending"  # money paid to persons: its categories are groups of it (counted in payments)
#: The start-up loan portfolio kept by ``bureau refresh`` (its LOAN_STOCKS): running sums over all years,
#: decided on the loans that *move* them each month (``running``: blocks of months run across year ends).
RUNNING = ("loan_book", "loan_balance", "loan_due", "loan_recovered")
SUBSIDY_CATEGORIES: tuple[str, ...] = (
    "public_welfare_job",
    "social_insurance",
    "job_introduction",
    "training",
    "startup",
    "loan_interest",
)


@disclosure_control("persons per series, area and month, to decide the suppression plan; never shown")
def cube(engine: Engine) -> pd.DataFrame:
    """Columns ``indicator_code, group_code, area_code, parent_code, year, month, persons, kind`` for every
    flow and stock of ``agg_monthly`` (groups only for urban new employment; an indicator that is one group
    of it is read once, as the group); subsidy spending also per category (its groups, in payments, from
    ``subsidy_payment``: district rows and their city sums); and the loan stocks (kind ``running``), district
    and city, with the loans moving each stock that month as ``persons`` (:func:`_moves`)."""
    a, ar = s.agg_monthly, s.area
    kinds = {code: kind_of(code) for code in BY_CODE}
    one_group = {code for code, groups in DERIVED_FROM_GROUPS.items() if len(groups) == 1}
    codes = sorted(c for c, k in kinds.items() if k in ("flow", "stock") and c not in one_group)
    stmt = select(a.c.indicator_code, a.c.group_code, a.c.area_code, a.c.year, a.c.month, a.c.persons).where(
        a.c.indicator_code.in_(codes),
        a.c.level.in_(LEVELS),
        (a.c.group_code == "all") | (a.c.indicator_code == GROUPED),
    )
    areas = select(ar.c.area_code, ar.c.parent_code, ar.c.level).where(ar.c.level.in_(LEVELS))
    with engine.connect() as conn:
        out = frame(conn, stmt)
        area_rows = frame(conn, areas)
        loans = frame(conn, _loan_stocks())
        spending = frame(conn, _spending_by_category())
    out["kind"] = out["indicator_code"].map(kinds)
    cities = area_rows.loc[area_rows["level"] == "city", "area_code"].astype(str).tolist()
    out = pd.concat([out, _moves(loans), _with_city(spending, cities)], ignore_index=True)
    out.insert(3, "parent_code", out["area_code"].map(area_rows.set_index("area_code")["parent_code"]))
    return out


def _loan_stocks() -> Any:
    """The loan stocks' loan counts per district, city and month (the running sums of ``bureau refresh``)."""
    a = s.agg_monthly
    return select(a.c.indicator_code, a.c.area_code, a.c.year, a.c.month, a.c.persons).where(
        a.c.indicator_code.in_(RUNNING), a.c.level.in_(("district", "city")), a.c.group_code == "all"
    )


def _moves(stocks: pd.DataFrame) -> pd.DataFrame:
    """The loans moving each stock per area and month, from its running loan counts. The loans fallen due and
    the loans settled only grow: their moves are the change. The balance grows by a loan issued and shrinks
    by one repaid, and the loans issued are shown on their own (Explore, the loan target), so it is decided as
    two series, ``loan_balance`` groups ``issued`` (Δbook) and ``repaid`` (Δbook − Δbalance): a balance is
    published where both are, so two published balances differ by 0 or ≥ k loans issued *and* 0 or ≥ k
    repaid, and the loans issued between them, known, give no small repayment back."""
    cols = ["indicator_code", "group_code", "area_code", "year", "month", "persons", "kind"]
    if stocks.empty:
        return pd.DataFrame(columns=cols)
    wide = stocks.assign(persons=pd.to_numeric(stocks["persons"], errors="coerce").fillna(0.0)).pivot_table(
        index=["area_code", "year", "month"], columns="indicator_code", values="persons", aggfunc="sum"
    )
    wide = wide.reindex(columns=list(RUNNING)).fillna(0.0).sort_index()
    change = wide.groupby(level="area_code").diff().fillna(wide)
    series = {
        ("loan_balance", "issued"): change["loan_book"],
        ("loan_balance", "repaid"): change["loan_book"] - change["loan_balance"],
        ("loan_due", "all"): change["loan_due"],
        ("loan_recovered", "all"): change["loan_recovered"],
    }
    parts = [
        moved.abs().rename("persons").reset_index().assign(indicator_code=code, group_code=group)
        for (code, group), moved in series.items()
    ]
    return pd.concat(parts, ignore_index=True).assign(kind="running")[cols]


#: The series a loan stock's figure rests on (:func:`_moves`): (indicator, group) of the cube.
LOAN_SERIES: dict[str, tuple[tuple[str, str], ...]] = {
    "loan_balance": (("loan_balance", "issued"), ("loan_balance", "repaid")),
    "loan_due": (("loan_due", "all"),),
    "loan_recovered": (("loan_recovered", "all"),),
}


def payees(when: Any = None) -> Any:
    """The payees behind subsidy payments (rows matching ``when``, all if None): the distinct persons paid
    where the payment names one, plus every payment that names none (an employer's, or a person's without an
    id); an SQL expression for an aggregate select over ``subsidy_payment``."""
    p = s.subsidy_payment
    if when is None:
        return func.count(distinct(p.c.person_id)) + func.count() - func.count(p.c.person_id)
    person = case((when, p.c.person_id), else_=None)
    return func.count(distinct(person)) + func.sum(case((when & p.c.person_id.is_(None), 1), else_=0))


def _spending_by_category() -> Any:
    """Subsidy payees (:func:`payees`) per district, category and month (all years), aggregated in SQL."""
    p = s.subsidy_payment
    year = cast(extract("year", p.c.paid_on), Integer)
    month = cast(extract("month", p.c.paid_on), Integer)
    return (
        select(
            p.c.category.label("group_code"),
            p.c.district_code.label("area_code"),
            year.label("year"),
            month.label("month"),
            payees().label("persons"),
        )
        .group_by(p.c.category, p.c.district_code, year, month)
        .order_by(p.c.district_code, p.c.category, year, month)
    )


def _with_city(spending: pd.DataFrame, cities: list[str]) -> pd.DataFrame:
    """The district rows of :func:`_spending_by_category` and their city sums, as cube rows."""
    if spending.empty:
        return spending.assign(indicator_code=SPENDING, kind="flow")
    spending = spending.astype({"year": int, "month": int, "persons": float})
    city = spending.groupby(["group_code", "year", "month"], as_index=False)["persons"].sum()
    parts = [spending, *(city.assign(area_code=c) for c in cities[:1])]
    both = pd.concat(parts, ignore_index=True)
    return both.assign(indicator_code=SPENDING, kind="flow")


def links() -> dict[str, Any]:
    """How the series relate, as keyword arguments of ``privacy.linked.Links``: urban new employment is the
    sum of its groups, re-employment of two of them, and the one-group indicators are those groups; the
    registered unemployment rate rests on the registered unemployed (the labour force behind it is shown)."""
    aliases: dict[tuple[str, str], tuple[str, str]] = {(GROUPED, g): (GROUPED, g) for g in GROUPS}
    tree: dict[str, list[str]] = {"all": []}
    inside: set[str] = set()
    for indicator, groups in DERIVED_FROM_GROUPS.items():
        if indicator == GROUPED:
            continue
        if len(groups) == 1:
            aliases[(indicator, "all")] = (GROUPED, groups[0])
        else:
            aliases[(indicator, "all")] = (GROUPED, indicator)
            tree[indicator] = list(groups)
            tree["all"].append(indicator)
            inside |= set(groups)
    tree["all"] += [g for g in GROUPS if g not in inside]
    aliases[("registered_unemployment_rate", "all")] = ("registered_unemployed", "all")
    # a district's subsidy spending is the sum of its categories (the Funds page shows both)
    aliases.update({(SPENDING, c): (SPENDING, c) for c in SUBSIDY_CATEGORIES})
    return {"aliases": aliases, "children": {GROUPED: tree, SPENDING: {"all": list(SUBSIDY_CATEGORIES)}}}


Point = tuple[str, str, str, int, int]


def kind_of(indicator_code: str) -> str | None:
    """``flow``, ``stock`` or ``rate`` for a series cut from the cube, ``running`` for a loan stock (a level
    whose points are published like a flow's, over all years); None for others (flags, fund figures)."""
    if indicator_code in RUNNING:
        return "running"
    ind = BY_CODE.get(indicator_code)
    kind = getattr(ind, "kind", None)
    return kind if kind in ("flow", "stock", "rate") else None


def month_points(
    indicator: str,
    group: str,
    areas: str | list[str],
    year: int,
    first: int,
    last: int,
    end: tuple[int, int] | None = None,
) -> tuple[Point, ...] | None:
    """The points a figure of ``indicator`` over ``areas`` from ``first`` to ``last`` month of ``year`` is a
    difference of: a flow's points before ``first`` and at ``last`` (``end``: a later (year, month) the flow
    runs to, over year ends), a stock's, rate's or loan stock's point at the end; None when the series is not
    in the cube."""
    kind = kind_of(indicator)
    codes = [areas] if isinstance(areas, str) else list(areas)
    y1, m1 = end or (year, last)
    if kind is None:
        return None
    if kind != "flow":
        return tuple((indicator, group, c, y1, m1) for c in codes)
    out: list[Point] = []
    for c in codes:
        if first > 1:
            out.append((indicator, group, c, year, first - 1))
        out += [(indicator, group, c, y, 12) for y in range(year, y1)]
        out.append((indicator, group, c, y1, m1))
    return tuple(out)


def with_points(frame: pd.DataFrame, indicator: str | None = None, group: str = "all") -> pd.DataFrame:
    """``frame`` (one month's figure per row: ``area_code, year, month``, and ``indicator_code`` unless
    ``indicator`` is given) with the ``_points`` of each row's month."""
    codes = frame["indicator_code"] if indicator is None else [indicator] * len(frame)
    points = [
        month_points(str(i), group, str(a), int(y), int(m), int(m))
        for i, a, y, m in zip(codes, frame["area_code"], frame["year"], frame["month"], strict=True)
    ]
    return frame.assign(_points=points)
