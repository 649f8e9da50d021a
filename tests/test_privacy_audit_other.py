"""The exact linear-algebra audit of tests/test_privacy_audit.py for two more series families (docs/privacy.md §3).

tests/test_privacy_audit.py audits urban new employment; here the same machinery (:func:`audit`, :class:`Leader`
with the city-wide plan, :class:`Figures`, :func:`report`) audits, each with every street × month as unknowns
(its variant (b), the one group "all"):

**Skills training** (a flow with one node and no groups). A figure is a sum over a set of streets × a run of
months of the base cells x[street, month].

**Registered unemployed** (a *stock*) **with the registered unemployment rate**. A stock's month is the level
at that month, not a sum over months, so the unknowns are the levels y[street, month] and a figure for month m
is the sum over its streets of their level at m. The rate of an area is its stock ÷ its labour force × 100,
and the labour force per area and year is public (``area_year``), so a shown rate gives the stock back: a rate
of one area at m is modelled as that area's stock at m; a rate over several areas (Explore without the area
dimension, the city) is their labour-force-weighted mean = Σ stock ÷ Σ labour force, again the sum of their
stocks. The plan treats the rate as the same series (``queries.disclosure.links``).
:func:`test_the_series_add_up_the_way_the_audit_assumes` checks both assumptions on the demo city and on the
audit's database, and :func:`test_the_views_are_the_functionals_the_audit_assumes` checks how Explore and the
curve read a stock.

**Published** (every non-NaN figure after the query's own protection and the city-wide plan, through
:meth:`Leader.shown`), for each of the three series where the view offers it:

- ``targets.attainment`` ``actual`` of the city, the districts and each district's streets at every month
  1 … cut-off (skills training: January … the month; the rate, a control target: the month's rate);
- ``targets.monthly_curve`` of the city, every district and every street: the month's ``value``, and for
  skills training the ``cumulative`` (the page draws the curve of a flow only; see below for a stock's);
- ``explore.explore``: area (district and street level) × period (month, quarter, year), period alone,
  area alone, every district alone and all districts but one (period by month), and each district's streets by
  month, with years (YEAR, YEAR). A stock's or rate's cell is read at its period end: the last month with data
  of the period (the cut-off for the current quarter and year, and for a view without the period);
- ``checks.monthly_series``, ``checks.outlier_months`` (flagged months only) and ``checks.unreconciled``;
- ``overview.city_series`` ending at every month (the sparklines show skills training and the rate; the
  stock is added: more published figures only make the audit stricter);
- for the stock and the rate: ``forecasts.series_history`` (both are in its ``SERIES``) and
  ``funds.fund_indicators`` ``registered_unemployed`` (a district's stock at the month) at every month.

**Hidden cells to protect**: every figure a view blanks while it rests on 1 … k−1 persons, and every row of
the series in ``agg_monthly`` (street, district, city; a month of YEAR) with 1 … k−1 persons.

**The database** (:func:`stocked`) is the audit's database of tests/test_privacy_audit.py (``consistent``) with
two small district stocks made at the streets and summed up again (the demo has small street stocks but no
small district): the smallest district in September (6 persons: Q3's period end) and the smallest other
district at the cut-off (8 persons: the period end of Q4, the year and every view without the period). Skills
training needs no change: every street month and many district months of the demo are small.

**A stock's curve cumulative** (the sum of its levels January … the month, also a sum of unknowns) is shown by
no page (:func:`test_no_page_shows_a_stock_s_cumulative_curve`) and is audited apart. While ``monthly_curve``
gated it on the plan's point at the month only, 9 of the 363 hidden levels came back (a street's January = its
cumulative to February − its rate in February); ``monthly_curve`` now gives no cumulative for a stock or a rate
(:func:`test_a_stock_s_cumulative_curve_gives_no_hidden_level_back`).

With per-table suppression only (an empty plan) the audits recover 28 of 2,036 hidden skills-training cells
(a district's January … February = the ranking's January … March − the data check's March) and 20 of 363
levels (the crafted September district from Explore's rates of "all districts but one", a filtered total
whose per-table rule covers flows and stocks but not rates); with the plan, none.

Not modelled (as in tests/test_privacy_audit.py): ranks, statuses and rank changes; figures of other years;
Explore subsets of two or more districts other than all but one; ``funds`` ``targets_met_share_pct``; the
meeting pack and the downloads (built from the same queries). Also not modelled: the fair-comparison panel's
``unemployment_rate_pct`` (a regression driver, not a protected column; the page shows only its effect,
coefficient × (district − mean), which is not linear in the unknowns).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, and_, delete, func, insert, literal, select, update

from jobs.pack import snapshot
from jobs.refresh import AGG_COLS
from queries import checks, explore, forecasts, frame, funds, overview, targets
from queries.disclosure import kind_of
from store import schema as s
from store.db import make_engine
from tests.conftest import ROOT
from tests.test_privacy_audit import (  # noqa: F401  (consistent, crafted: the shared fixtures)
    YEAR,
    Cell,
    Figures,
    Geography,
    K,
    Leader,
    Recovery,
    _aligned,
    _inside,
    _months_of,
    assert_rolls_up,
    audit,
    city_wide_plan,
    consistent,
    crafted,
    explore_grid,
    geography,
    report,
)

SKILLS = "skills_training"
STOCK = "registered_unemployed"
RATE = "registered_unemployment_rate"
SERIES = (SKILLS, STOCK, RATE)
IS_STOCK = {SKILLS: False, STOCK: True, RATE: True}
ALL = frozenset({"all"})  # the one "group" of the unknowns: every series here is group "all" only
#: The crafted small district stocks: (rank of the district by its stock that month, month) → street levels.
SMALL_STOCKS = {(0, 9): (4, 2), (1, 10): (5, 3)}
#: The views modelled for each family (each must publish some figure of it, or the audit would be vacuous).
VIEWS = {
    "skills": (
        "targets.attainment",
        "targets.monthly_curve",
        "explore.explore",
        "checks.monthly_series",
        "overview.city_series",
    ),
    "stock": (
        "targets.attainment",
        "targets.monthly_curve",
        "explore.explore",
        "checks.monthly_series",
        "forecasts.series_history",
        "overview.city_series",
        "funds.fund_indicators",
    ),
}


# --- the database -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stocked(consistent: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:  # noqa: F811
    """The audit's database with two small district stocks made in the street rows and summed up again.

    For each entry of :data:`SMALL_STOCKS`: the district with the smallest registered unemployed that month
    (the second smallest for the second entry, so that two districts are small) gets the given levels in its
    first streets and none in the others; the district and the city rows of that month are the streets' sum
    again, and the rate rows of that month are stock × 100 ÷ labour force for every area, as ``bureau.refresh``
    builds them.
    """
    path = tmp_path_factory.mktemp("audit_other") / "stocked.sqlite"
    src, dst = sqlite3.connect(str(consistent.url.database)), sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    engine = make_engine(f"sqlite:///{path}")
    a, ar, ay = s.agg_monthly, s.area, s.area_year
    this = and_(a.c.year == YEAR, a.c.indicator_code == STOCK)
    with engine.begin() as conn:
        city = str(conn.execute(select(ar.c.area_code).where(ar.c.level == "city")).scalar())
        for (rank, month), levels in SMALL_STOCKS.items():
            at = and_(this, a.c.month == month)
            ranked = conn.execute(
                select(a.c.area_code).where(at, a.c.level == "district").order_by(a.c.value, a.c.area_code)
            ).all()
            district = str(ranked[rank][0])
            streets = sorted(
                str(r[0]) for r in conn.execute(select(ar.c.area_code).where(ar.c.parent_code == district))
            )
            conn.execute(delete(a).where(at, a.c.level == "street", a.c.district_code == district))
            row = {"year": YEAR, "month": month, "indicator_code": STOCK, "group_code": "all"}
            conn.execute(
                insert(a),
                [
                    {
                        **row,
                        "area_code": st,
                        "level": "street",
                        "district_code": district,
                        "value": v,
                        "persons": v,
                    }
                    for st, v in zip(streets, levels, strict=False)
                ],
            )
            total = sum(levels)
            conn.execute(
                update(a).where(at, a.c.area_code == district).values(value=float(total), persons=total)
            )
            districts = select(func.sum(a.c.value), func.sum(a.c.persons)).where(at, a.c.level == "district")
            value, persons = conn.execute(districts).one()
            conn.execute(update(a).where(at, a.c.area_code == city).values(value=value, persons=persons))
            rates = and_(a.c.year == YEAR, a.c.month == month, a.c.indicator_code == RATE)
            conn.execute(delete(a).where(rates))
            pick = (
                select(
                    a.c.year,
                    a.c.month,
                    a.c.area_code,
                    literal(RATE),
                    literal("all"),
                    a.c.level,
                    a.c.district_code,
                    a.c.value * 100.0 / ay.c.labour_force,
                    a.c.persons,
                )
                .join(ay, and_(ay.c.area_code == a.c.area_code, ay.c.year == a.c.year))
                .where(at)
            )
            conn.execute(insert(a).from_select(AGG_COLS, pick))
    return engine


def series_rows(engine: Engine, indicators: tuple[str, ...] = SERIES) -> pd.DataFrame:
    """agg_monthly's rows of ``indicators`` in YEAR (every level; group "all")."""
    a = s.agg_monthly
    stmt = select(a.c.area_code, a.c.level, a.c.indicator_code, a.c.month, a.c.value, a.c.persons).where(
        a.c.year == YEAR, a.c.indicator_code.in_(list(indicators)), a.c.group_code == "all"
    )
    with engine.connect() as conn:
        out = frame(conn, stmt)
    return out.assign(value=out["value"].astype(float), persons=out["persons"].astype(float))


def labour_force(engine: Engine) -> pd.Series:
    """Each area's labour force in YEAR (public: ``area_year``)."""
    ay = s.area_year
    with engine.connect() as conn:
        got = frame(conn, select(ay.c.area_code, ay.c.labour_force).where(ay.c.year == YEAR))
    return got.set_index("area_code")["labour_force"].astype(float)


@pytest.mark.parametrize("which", ["demo", "stocked"])
def test_the_series_add_up_the_way_the_audit_assumes(request: pytest.FixtureRequest, which: str) -> None:
    """On the demo city and on the audit's database: skills training's and the stock's streets add up to their
    district and the districts to the city month by month, one person per unit (value = persons), and every
    area's rate is its stock × 100 ÷ its public labour force with the stock as its persons (so a shown rate
    gives the stock back, and a labour-force-weighted mean of rates gives the sum of the stocks)."""
    engine = (
        make_engine(request.getfixturevalue("demo_url"))
        if which == "demo"
        else request.getfixturevalue(which)
    )
    geo = geography(engine)
    rows = series_rows(engine)
    assert geo.months >= 10 and len(geo.streets) > 100
    for indicator in (SKILLS, STOCK):
        mine = rows[rows["indicator_code"] == indicator]
        assert (mine["value"] == mine["persons"]).all(), indicator
        assert_rolls_up(mine, geo)
    stock = rows[rows["indicator_code"] == STOCK].set_index(["area_code", "month"])
    rate = rows[rows["indicator_code"] == RATE].set_index(["area_code", "month"])
    assert rate.index.sort_values().equals(stock.index.sort_values())
    lf = labour_force(engine)
    expected = stock["value"] * 100.0 / stock.index.get_level_values("area_code").map(lf).to_numpy()
    np.testing.assert_allclose(rate["value"], expected.reindex(rate.index), rtol=1e-9)
    np.testing.assert_array_equal(rate["persons"], stock["persons"].reindex(rate.index))


# --- what a leader sees -------------------------------------------------------------------------------------


def collect(leader: Leader, geo: Geography) -> dict[str, Figures]:
    """Every figure of skills training (``"skills"``) and of the registered unemployed with its rate
    (``"stock"``) the leader views show, and the blank small ones, each family in its own unknowns; and the
    stock's and the rate's curve cumulatives, which no view shows and the query now blanks
    (``"stock cumulative"``)."""
    figs = {name: Figures(geo) for name in ("skills", "stock", "stock cumulative")}
    n = geo.months

    def family(indicator: str) -> Figures:
        return figs["stock" if IS_STOCK[indicator] else "skills"]

    def ours(raw: pd.DataFrame, out: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The rows of the three series and of YEAR."""
        keep = raw["indicator_code"].isin(list(SERIES)).to_numpy()
        if "year" in raw.columns:
            keep &= (raw["year"] == YEAR).to_numpy()
        return raw[keep], out[keep]

    def by_series(
        view: str, raw: pd.DataFrame, out: pd.DataFrame, column: str, areas: Any, first: Any, last: Any
    ) -> None:
        """Rows of several series: each series' rows into its family (``first``, ``last``: Series or one value)."""
        for indicator, part in raw.groupby("indicator_code"):
            rows = part.index
            pick = [x.loc[rows] if isinstance(x, pd.Series) else x for x in (areas, first, last)]
            family(str(indicator)).take(view, out.loc[rows, column], part["persons"], pick[0], ALL, *pick[1:])

    # Targets: the ranking (city, districts) and each district's streets, at every month (the rate is a
    # control target: its actual is the month's rate; skills training's is January … the month)
    for m in range(1, n + 1):
        levels: list[tuple[str, dict[str, Any]]] = [("city", {"level": "city"}), ("districts", {})]
        levels += [(f"streets of {d}", {"level": "street", "parent_code": d}) for d in geo.districts]
        for name, kw in levels:
            raw, out = ours(*leader.shown(targets.attainment, YEAR, m, **kw))
            first = raw["indicator_code"].map(lambda i, m=m: m if IS_STOCK[str(i)] else 1)
            by_series(
                f"targets.attainment({name}, month {m})", raw, out, "actual", raw["area_code"], first, m
            )
    # Targets: the monthly curve of every area. A stock's cumulative (the sum of its levels January … m) is
    # shown nowhere (the page draws curves of flows only): kept apart, in "stock cumulative"
    for area in [geo.city, *geo.districts, *geo.streets]:
        for indicator in SERIES:
            raw, out = leader.shown(targets.monthly_curve, YEAR, area, indicator)
            view = f"targets.monthly_curve({area}, {indicator})"
            month = raw["month"].astype(int)
            cumulative = figs["stock cumulative"] if IS_STOCK[indicator] else family(indicator)
            cumulative.take(view, out["cumulative"], raw["cum_persons"], area, ALL, 1, month)
            family(indicator).take(view, out["value"], raw["persons"], area, ALL, month, month)

    # Explore (a stock's or rate's cell is read at its period end: the last month with data of the period)
    def explore_view(measure: str, rows: str, columns: str | None, grain: str, **kw: Any) -> None:
        dims = [rows] if columns is None else [rows, columns]
        raw, out = leader.shown(explore.explore, measure, rows, columns, grain, (YEAR, YEAR), **kw)
        view = f"explore.explore({measure}, {' × '.join(dims)}, {grain}{''.join(f', {k}={v}' for k, v in kw.items())})"
        areas = raw["area"].astype(str) if "area" in dims else list(kw.get("districts") or [geo.city])
        first: Any = 1
        last: Any = 12
        if "period" in dims:
            span = raw["period"].astype(str).map(_months_of)
            first, last = span.str[0], span.str[1].clip(upper=n)
        if IS_STOCK[measure]:
            first = last = last if "period" in dims else n
        family(measure).take(view, out["value"], raw["persons"], areas, ALL, first, last)

    explore_grid(explore_view, SERIES)
    for measure in SERIES:
        for d in geo.districts:
            rest = tuple(x for x in geo.districts if x != d)
            explore_view(measure, "period", None, "month", districts=(d,))
            explore_view(measure, "period", None, "month", districts=rest)
            explore_view(measure, "area", "period", "month", districts=(d,), level="street")

    # Data checks, forecasts, overview, funds: one month's figure per row
    def months(view: str, raw: pd.DataFrame, out: pd.DataFrame, column: str, areas: Any = None) -> None:
        month = raw["month"].astype(int)
        by_series(view, raw, out, column, raw["area_code"] if areas is None else areas, month, month)

    for indicator in SERIES:
        raw, out = leader.shown(checks.monthly_series, indicator)
        months(
            f"checks.monthly_series({indicator})", *ours(raw.assign(indicator_code=indicator), out), "value"
        )
        raw, out = leader.shown(checks.outlier_months, indicator)
        months(
            f"checks.outlier_months({indicator})", *ours(raw.assign(indicator_code=indicator), out), "value"
        )
    months(f"checks.unreconciled(month {n})", *ours(*leader.shown(checks.unreconciled, YEAR, n)), "records")
    months("forecasts.series_history", *ours(*leader.shown(forecasts.series_history)), "value")
    for m in range(1, n + 1):
        raw, out = ours(*leader.shown(overview.city_series, SERIES, YEAR, m, 24))
        months(f"overview.city_series(to month {m})", raw, out, "value", geo.city)
        raw, out = leader.shown(funds.fund_indicators, YEAR, m)
        view = f"funds.fund_indicators(month {m}) registered unemployed"
        figs["stock"].take(view, out[STOCK], raw["n_registered"], raw["area_code"], ALL, m, m)

    # every small month of agg_monthly (a base cell or a sum of them)
    rows = series_rows(leader.engine)
    small = rows[(rows["persons"] > 0) & (rows["persons"] < K)]
    for r in small.itertuples(index=False):
        c = geo.cell(str(r.area_code), ALL, int(r.month), int(r.month))
        family(str(r.indicator_code)).hidden.setdefault(
            c, f"{geo.describe(c)} ({r.persons:g} persons in agg_monthly {r.indicator_code})"
        )
    return figs


@pytest.fixture(scope="module")
def figures(stocked: Engine) -> dict[str, Figures]:
    return collect(Leader(stocked, city_wide_plan(stocked)), geography(stocked))


def _crafted_districts(engine: Engine) -> dict[int, str]:
    """The districts :func:`stocked` made small: month → district."""
    rows = series_rows(engine, (STOCK,))
    small = rows[(rows["level"] == "district") & (rows["persons"] < K)]
    return {int(m): str(a) for a, m in zip(small["area_code"], small["month"], strict=True)}


def test_the_small_cells_are_hidden_and_their_neighbours_shown(
    stocked: Engine, figures: dict[str, Figures]
) -> None:
    """The audits are not vacuous: small cells of both families are among the hidden ones (street months,
    district months, the crafted district stocks), the figures around them are published, and every view
    modelled publishes something about each family."""
    skills, stock = figures["skills"], figures["stock"]
    geo = skills.geo
    crafted_ = _crafted_districts(stocked)
    assert set(crafted_) == {m for _, m in SMALL_STOCKS} and len(set(crafted_.values())) == 2
    for month, district in crafted_.items():
        assert geo.cell(district, ALL, month, month) in stock.hidden  # 6 and 8 persons
        before = [geo.cell(district, ALL, m, m) in stock.published for m in range(1, month)]
        assert any(before), (district, before)  # its earlier months are shown
        assert geo.cell(geo.city, ALL, month, month) in stock.published  # the city that month
    for figs in (skills, stock):
        levels = {
            "street" if len(c[0]) == 1 else "city" if c[0] == geo.covers[geo.city] else "district"
            for c in figs.hidden
        }
        assert {"street", "district"} <= levels, levels
    assert len(skills.hidden) > 500 and len(stock.hidden) > 300
    assert geo.cell(geo.city, ALL, 1, geo.months) in skills.published  # the city's skills training so far
    for name in VIEWS:
        figs = figures[name]
        views = {v.split("(")[0] for shown_in in figs.published.values() for v in shown_in}
        silent = sorted(set(VIEWS[name]) - views)
        assert not silent, f"views that show nothing about {name}: {silent}"


def test_the_views_are_the_functionals_the_audit_assumes(stocked: Engine) -> None:
    """How a stock is read: Explore's quarter of a district is its level at the quarter's last month with data
    (the cut-off for the current quarter), the year of the city rate is Σ stock ÷ Σ labour force at the
    cut-off, and the curve's cumulative is the sum of the levels January … the month."""
    geo = geography(stocked)
    n = geo.months
    rows = series_rows(stocked, (STOCK,)).set_index(["area_code", "month"])["value"]
    quarters = explore.explore(stocked, STOCK, "area", "period", "quarter", (YEAR, YEAR))
    for r in quarters.itertuples(index=False):
        end = min(3 * int(str(r.period)[-1]), n)
        assert r.value == rows[(str(r.area), end)], (r.area, r.period)
    lf = labour_force(stocked)
    year = explore.explore(stocked, RATE, "period", None, "year", (YEAR, YEAR))
    stocks = sum(rows[(d, n)] for d in geo.districts)
    assert year["value"].iloc[0] == pytest.approx(stocks * 100 / lf[geo.districts].sum(), rel=1e-9)
    curve = targets.monthly_curve(stocked, YEAR, geo.districts[0], STOCK)
    levels = [rows[(geo.districts[0], m)] for m in range(1, n + 1)]
    assert curve["cumulative"].isna().all()  # a sum of a stock's levels is never given (it gave levels back)
    np.testing.assert_allclose(curve["value"].astype(float), levels)


def _audit(figs: Figures, focus: str | None = None) -> tuple[list[Recovery], int]:
    """Audit (b): every street × month as unknowns, the one group "all"."""
    geo = figs.geo
    order: Callable[[Cell], Any] | None = _inside(geo.covers[focus]) if focus else None
    return audit(
        figs.published, figs.hidden, {st: st for st in geo.streets}, {"all": "all"}, geo.months, order=order
    )


def test_no_hidden_skills_training_cell_is_recovered(figures: dict[str, Figures]) -> None:
    """Every street × month of skills training, every published figure of it: no hidden small cell (every
    street month of the demo, many district months) is a combination of them."""
    figs = figures["skills"]
    found, checked = _audit(figs)
    assert checked == len(figs.hidden) > 0
    assert not found, f"{len(found)} of {checked} hidden cells recovered:\n" + report(figs, found)


def test_no_hidden_registered_unemployed_cell_is_recovered(
    stocked: Engine, figures: dict[str, Figures]
) -> None:
    """Every street × month level of the registered unemployed, every published figure of the stock and of the
    rate: no hidden small level (street months, the two crafted district months) is a combination of them."""
    figs = figures["stock"]
    found, checked = _audit(figs, _crafted_districts(stocked)[9])
    assert checked == len(figs.hidden) > 0
    assert not found, f"{len(found)} of {checked} hidden cells recovered:\n" + report(figs, found)


def test_no_page_shows_a_stock_s_cumulative_curve() -> None:
    """Why the audit leaves the curve cumulatives of the stock and the rate out: the Targets page draws the
    curve of a flow only (a stock or a rate gets a note instead), and the pack's city curve is a flow."""
    source = (ROOT / "pages" / "targets.py").read_text(encoding="utf-8")
    guard = source.index('if kind == "flow" and not curve.empty')
    assert guard < source.index("charts.cumulative_chart(") < source.index('ctx.t("curve_flows_only")')
    assert kind_of(snapshot.CURVE_INDICATOR) == "flow"


def test_a_stock_s_cumulative_curve_gives_no_hidden_level_back(figures: dict[str, Figures]) -> None:
    """A stock's curve cumulative (the sum of its levels January … m) gave hidden levels back (9 of 363: a
    street's January = its cumulative to February − its rate in February) while it was gated on the point at m
    only. ``monthly_curve`` now blanks a stock's or a rate's cumulative: none is published, and with whatever
    the curves do publish the audit recovers nothing."""
    figs = figures["stock"]
    assert not figures["stock cumulative"].published
    both = Figures(figs.geo, {**figures["stock cumulative"].published, **figs.published}, figs.hidden)
    found, checked = _audit(both)
    assert checked == len(figs.hidden) > 0
    assert not found, f"{len(found)} of {checked} hidden cells recovered:\n" + report(both, found)
