"""The exact linear-algebra audit of tests/test_privacy_audit.py for money paid to persons (issue #18 item 1).

**Subsidy spending.** Unknowns: the money paid per district × category × month of YEAR (a district's spending
is the sum of its categories, the city's of its districts). Published (through the city-wide plan, as the
pages and the pack apply it): Explore's subsidy spending by district × period (month, quarter, year), period
alone, district alone, every district alone and all districts but one by month; the Funds page's spending by
category at every month (``amount_yuan``; a shown ``share_pct`` is modelled as giving the district's spending
too); ``funds.fund_indicators`` at every month: ``spending_progress_pct`` and ``cost_per_placement_yuan``
(× the allocation, resp. the placements, they give the spending to date back) and ``year_end_balance_pct``
(the year's spending so far); the Overview spending tile (the city's, and each district's as a planner sees
it) at every month. Hidden: every blank figure resting on 1 … k−1 payees and every district or city month,
category or all, with 1 … k−1 payees.

**Loan stocks.** Unknowns: what moves each stock (loans issued and repaid for the balance, fallen due, settled)
per district and month over YEAR − 1 and YEAR, plus one unknown for everything before. A stock at a month is the
sum of its moves up to it. Published: ``fund_indicators`` at every month of both years: ``loan_balance_yuan``,
and the rates, modelled as giving their stocks back (overdue = (due − recovered) ÷ balance with the balance
shown; recovery = recovered ÷ due). Hidden: every month whose moves are 1 … k−1 loans, and every blank stock.

With the code before the money plan (categories counted by distinct person id, progress and balance outside
the plan, loan stocks outside the cube) the subsidy audit recovers hidden months and the loan audit recovers
single loans; with the plan, none.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from figures.disclosure import plan_for
from privacy import protect
from queries import checks, explore, frame, funds, overview
from store import schema as s
from tests.test_privacy_audit import Figures, Geography, Leader, audit, report
from tests.test_privacy_paths import YEAR, K

SPEND = "subsidy_spending"
CATS = frozenset(funds.SUBSIDY_CATEGORIES)


def money_geography(engine: Engine, months: int) -> Geography:
    """Districts as the leaves (subsidies and loans are kept per district), the city as their sum."""
    ar = s.area
    with engine.connect() as conn:
        areas = frame(conn, select(ar.c.area_code, ar.c.level, ar.c.name_en).where(ar.c.level != "street"))
    city = str(areas.loc[areas["level"] == "city", "area_code"].iloc[0])
    districts = sorted(areas.loc[areas["level"] == "district", "area_code"].astype(str))
    covers = {d: frozenset({d}) for d in districts}
    covers[city] = frozenset(districts)
    names = dict(zip(areas["area_code"].astype(str), areas["name_en"].astype(str), strict=True))
    return Geography(city, districts, districts, covers, {d: d for d in districts}, names, months)


def payees(engine: Engine) -> pd.DataFrame:
    """Payees per district, category and month of YEAR, read here from the payments themselves (not from the
    code under audit): distinct persons named, plus every payment naming none."""
    p = s.subsidy_payment
    with engine.connect() as conn:
        rows = frame(conn, select(p.c.district_code, p.c.category, p.c.paid_on, p.c.person_id))
    day = pd.to_datetime(rows["paid_on"])
    rows = rows.assign(year=day.dt.year, month=day.dt.month)[day.dt.year == YEAR]

    def count(part: pd.DataFrame) -> int:
        return int(part["person_id"].nunique() + part["person_id"].isna().sum())

    keys = ["district_code", "category", "month"]
    by_cat = rows.groupby(keys).apply(count, include_groups=False).rename("persons").reset_index()
    by_district = (
        rows.groupby(["district_code", "month"])
        .apply(count, include_groups=False)
        .rename("persons")
        .reset_index()
    )
    by_city = rows.groupby("month").apply(count, include_groups=False).rename("persons").reset_index()
    return pd.concat(
        [by_cat, by_district.assign(category="all"), by_city.assign(district_code="city", category="all")]
    )


def last_month(engine: Engine) -> int:
    a = s.agg_monthly
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(a.c.month)).where(a.c.year == YEAR)).scalar_one())


def column(frame_: pd.DataFrame, name: str) -> pd.Series | None:
    return frame_[name] if name in frame_.columns else None


def see(leader: Leader, fn: Any, *args: Any, **kwargs: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The raw frame and what a leader is shown (:meth:`Leader.shown`, also for a query with no rule)."""
    raw = fn(leader.engine, *args, **kwargs)
    return raw, protect(raw, K, getattr(fn, "sensitive", None), leader.plan)


@pytest.fixture(scope="module")
def leader(demo_engine: Engine) -> Leader:
    return Leader(demo_engine, plan_for(demo_engine, K))


@pytest.fixture(scope="module")
def spending(leader: Leader) -> Figures:
    engine = leader.engine
    n = last_month(engine)
    geo = money_geography(engine, n)
    figs = Figures(geo)

    def explore_view(rows: str, columns: str | None, grain: str, **kw: Any) -> None:
        dims = [rows] if columns is None else [rows, columns]
        raw, out = see(leader, explore.explore, SPEND, rows, columns, grain, (YEAR, YEAR), **kw)
        areas = raw["area"].astype(str) if "area" in dims else list(kw.get("districts") or [geo.city])
        first: Any = 1
        last: Any = 12
        if "period" in dims:
            label = raw["period"].astype(str)
            first = label.map(lambda p: 1 if len(p) == 4 else 3 * int(p[-1]) - 2 if "Q" in p else int(p[5:]))
            last = label.map(lambda p: 12 if len(p) == 4 else 3 * int(p[-1]) if "Q" in p else int(p[5:]))
        figs.take(
            f"explore({' × '.join(dims)}, {grain}, {kw})",
            out["value"],
            raw["persons"],
            areas,
            CATS,
            first,
            last,
        )

    for grain in ("month", "quarter", "year"):
        explore_view("area", "period", grain)
        explore_view("period", None, grain)
    explore_view("area", None, "year")
    for d in geo.districts:
        explore_view("period", None, "month", districts=(d,))
        explore_view("period", None, "month", districts=tuple(x for x in geo.districts if x != d))
    for m in range(1, n + 1):
        raw, out = see(leader, funds.subsidies_by_category, YEAR, m)
        view = f"funds.subsidies_by_category(month {m})"
        cats = raw["category"].map(lambda c: frozenset({c}))
        figs.take(view, out["amount_yuan"], raw["persons"], raw["area_code"], cats, 1, m)
        figs.take(view + " share", out["share_pct"], None, raw["area_code"], CATS, 1, m)
        raw, out = see(leader, funds.fund_indicators, YEAR, m)
        view = f"funds.fund_indicators(month {m})"
        figs.take(
            view + " progress",
            out["spending_progress_pct"],
            column(raw, "n_payees"),
            raw["area_code"],
            CATS,
            1,
            m,
        )
        figs.take(view + " cost", out["cost_per_placement_yuan"], None, raw["area_code"], CATS, 1, m)
        figs.take(
            view + " balance",
            out["year_end_balance_pct"],
            column(raw, "n_payees_year"),
            raw["area_code"],
            CATS,
            1,
            n,
        )
        for area in [None, *geo.districts]:
            raw, out = see(leader, overview.spending_progress, YEAR, m, district_code=area)
            where = area or geo.city
            figs.take(
                f"overview.spending_progress({where}, {m})",
                out["spent_yuan"],
                column(raw, "payments"),
                where,
                CATS,
                1,
                m,
            )
    # the Targets page's data checks of the series (a district's month, and the months flagged as outliers)
    for fn in (checks.monthly_series, checks.outlier_months):
        raw, out = see(leader, fn, SPEND)
        this = (raw["year"] == YEAR).to_numpy()
        raw, out = raw[this], out[this]
        month = raw["month"].astype(int)
        figs.take(f"checks.{fn.__name__}", out["value"], raw["persons"], raw["area_code"], CATS, month, month)
    # every small month: a district's or the city's, a category or all of them
    cells = payees(engine)
    for r in cells[(cells["persons"] > 0) & (cells["persons"] < K)].itertuples(index=False):
        groups = CATS if r.category == "all" else frozenset({str(r.category)})
        area = geo.city if r.district_code == "city" else str(r.district_code)
        c = geo.cell(area, groups, int(r.month), int(r.month))
        figs.hidden.setdefault(c, f"{geo.describe(c)} ({r.persons:g} payees)")
    return figs


def test_no_hidden_subsidy_cell_is_recovered(spending: Figures) -> None:
    """Every money view of subsidy spending publishes something (the audit is not vacuous), and no hidden
    small cell is a combination of what they publish."""
    views = {v.split("(")[0] for shown_in in spending.published.values() for v in shown_in}
    assert {
        "explore",
        "funds.subsidies_by_category",
        "funds.fund_indicators",
        "overview.spending_progress",
        "checks.monthly_series",
    } <= views
    assert len(spending.hidden) > 20
    geo = spending.geo
    found, checked = audit(
        spending.published, spending.hidden, {d: d for d in geo.districts}, {c: c for c in CATS}, geo.months
    )
    assert checked > 0
    assert not found, f"{len(found)} of {checked} hidden cells recovered:\n" + report(spending, found)


# --- loan stocks -------------------------------------------------------------------------------------------

#: The unknowns' groups: amounts issued, repaid (entered negated, so that a balance is a plain sum), fallen due,
#: settled (recovered), per district and month.
MOVES = ("issued", "repaid", "due", "settled")
#: stock → the moves adding up to it
STOCK = {"loan_balance": {"issued", "repaid"}, "loan_due": {"due"}, "loan_recovered": {"settled"}}
#: fund indicator → the stocks a shown value gives back, and the count it rests on (the rates: their stocks')
GIVES = {
    "loan_balance_yuan": (("loan_balance",), "n_loans_outstanding"),
    "loan_overdue_rate_pct": (("loan_due", "loan_recovered", "loan_balance"), None),
    "loan_recovery_rate_pct": (("loan_due", "loan_recovered"), None),
}


class LoanGeography(Geography):
    """Months named by their unknown's index (:func:`_index`)."""

    def describe(self, cell: Any) -> str:
        areas, groups, span = cell
        where = "city" if areas == self.covers[self.city] else "+".join(self.names[a] for a in sorted(areas))

        def label(i: int) -> str:
            return "before" if i == 1 else f"{YEAR - 1 + (i - 2) // 12}-{(i - 2) % 12 + 1:02d}"

        first, last = min(span), max(span)
        when = label(first) if first == last else f"{label(first)}…{label(last)}"
        return f"{where} · {'+'.join(sorted(groups))} · {when}"


def _index(year: int, month: int) -> int:
    """Unknown index of a month: 1 = everything before YEAR − 1, then the months of YEAR − 1 and YEAR."""
    return 1 + (year - (YEAR - 1)) * 12 + month


def loan_moves(engine: Engine) -> pd.DataFrame:
    """Loans per move (:data:`MOVES`), district and month (YEAR − 1 and YEAR), read from the loans themselves:
    settled = repaid, at the later of its due and repaid dates (as ``bureau refresh`` counts it)."""
    ln = s.startup_loan
    with engine.connect() as conn:
        loans = frame(conn, select(ln.c.district_code, ln.c.issued_on, ln.c.due_on, ln.c.repaid_on))
    issued, due, repaid = (pd.to_datetime(loans[c]) for c in ("issued_on", "due_on", "repaid_on"))
    settled = due.where(due >= repaid, repaid).where(repaid.notna())
    parts = []
    for move, days in (("issued", issued), ("repaid", repaid), ("due", due), ("settled", settled)):
        ok = days.notna()
        parts.append(
            pd.DataFrame(
                {
                    "district_code": loans.loc[ok, "district_code"].astype(str),
                    "year": days[ok].dt.year,
                    "month": days[ok].dt.month,
                    "move": move,
                }
            )
        )
    moves = pd.concat(parts)
    moves = moves[moves["year"] >= YEAR - 1]
    return moves.groupby(["district_code", "move", "year", "month"]).size().rename("persons").reset_index()


@pytest.fixture(scope="module")
def loans(leader: Leader) -> Figures:
    n = last_month(leader.engine)
    last = _index(YEAR, n)
    geo = LoanGeography(**vars(money_geography(leader.engine, last)))
    figs = Figures(geo)
    ends = ((YEAR - 1, 12), (YEAR, n))
    for year, months in ends:
        for m in range(1, months + 1):
            raw, out = see(leader, funds.fund_indicators, year, m)
            view = f"funds.fund_indicators({year}-{m:02d})"
            for col, (stocks, count) in GIVES.items():
                persons = raw[count] if count else None
                for stock in stocks:
                    cell_of = (raw["area_code"], STOCK[stock], 1, _index(year, m))
                    figs.take(f"{view} {col}", out[col], persons, *cell_of)
            # loans issued January … m against the target (shown): the year's issued amounts so far
            ytd = (raw["area_code"], {"issued"}, _index(year, 1), _index(year, m))
            figs.take(f"{view} loans issued vs target", out["loans_issued_vs_target_pct"], None, *ytd)
        # Explore's loans issued by district × period and for the city, every grain
        for grain in ("month", "quarter", "year"):
            for rows in ("area", "period"):
                columns = "period" if rows == "area" else None
                raw, out = see(
                    leader, explore.explore, "startup_loans_issued", rows, columns, grain, (year, year)
                )
                areas = raw["area"].astype(str) if rows == "area" else geo.city
                label = raw["period"].astype(str)
                first = label.map(
                    lambda p: 1 if len(p) == 4 else 3 * int(p[-1]) - 2 if "Q" in p else int(p[5:])
                )
                last_m = label.map(
                    lambda p, n_m=months: (
                        n_m if len(p) == 4 else min(3 * int(p[-1]), n_m) if "Q" in p else int(p[5:])
                    )
                )
                view = f"explore(startup_loans_issued, {rows}, {grain}, {year})"
                figs.take(
                    view,
                    out["value"],
                    raw["persons"],
                    areas,
                    {"issued"},
                    first + _index(year, 0),
                    last_m + _index(year, 0),
                )
    for fn in (checks.monthly_series, checks.outlier_months):
        raw, out = see(leader, fn, "startup_loans_issued")
        these = (raw["year"] >= YEAR - 1).to_numpy() & ((raw["year"] < YEAR) | (raw["month"] <= n)).to_numpy()
        raw, out = raw[these], out[these]
        i = pd.Series([_index(int(y), int(m)) for y, m in zip(raw["year"], raw["month"], strict=True)])
        figs.take(f"checks.{fn.__name__}", out["value"], raw["persons"], raw["area_code"], {"issued"}, i, i)
    moves = loan_moves(leader.engine)
    moves = moves[(moves["year"] < YEAR) | ((moves["year"] == YEAR) & (moves["month"] <= n))]
    for r in moves[(moves["persons"] > 0) & (moves["persons"] < K)].itertuples(index=False):
        i = _index(int(r.year), int(r.month))
        c = geo.cell(str(r.district_code), {str(r.move)}, i, i)
        figs.hidden.setdefault(c, f"{geo.describe(c)} ({r.persons:g} loans {r.move})")
    both = (
        moves[moves["move"].isin(["issued", "repaid"])]
        .groupby(["district_code", "year", "month"])["persons"]
        .sum()
    )
    for (d, y, m), p in both[(both > 0) & (both < K)].items():
        i = _index(int(y), int(m))
        c = geo.cell(str(d), STOCK["loan_balance"], i, i)
        figs.hidden.setdefault(c, f"{geo.describe(c)} ({p:g} loans move the balance)")
    return figs


def test_no_hidden_loan_move_is_recovered(loans: Figures) -> None:
    """The loan views publish something (the data checks are modelled too, but every district month of loans
    issued is small on the tiny demo), and no hidden move is a combination of what they publish."""
    views = {v.split("(")[0] for shown_in in loans.published.values() for v in shown_in}
    assert {"explore", "funds.fund_indicators"} <= views
    assert len(loans.hidden) > 20
    geo = loans.geo
    found, checked = audit(
        loans.published, loans.hidden, {d: d for d in geo.districts}, {m: m for m in MOVES}, geo.months
    )
    assert checked > 0
    assert not found, f"{len(found)} of {checked} hidden cells recovered:\n" + report(loans, found)
