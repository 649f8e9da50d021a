"""An exact linear-algebra audit of everything a leader sees about urban new employment (docs/privacy.md §7).

Secondary suppression chosen table by table leaves a gap: a cell hidden only as the complement in one view (a
district blanked in the Targets ranking because another district is small) may be shown in another view (that
district's monthly curve, Explore), and the small cell is then had by subtraction across views. This audit
takes every figure every leader view shows about the family and asks whether a hidden small cell is a linear
combination of them.

**Unknowns.** The base cells x[street, group, month] of urban new employment in YEAR (months 1 … the cut-off),
groups those of ``bureau.indicators.GROUPS``. Street rows add up to their district and districts to the city,
group "all" is the sum of the five groups, and re-employment, difficulty employment and graduate employment are
sums of groups (``DERIVED_FROM_GROUPS``); :func:`test_the_refresh_adds_up_the_way_the_audit_assumes` checks that
on the demo city and on the audit's database. So every figure (a ``value``: events) is a linear functional, a sum
over a set of streets × a set of groups × a set of months (:meth:`Geography.cell`). Which cells are *small* is
judged on the ``persons`` each row carries, as the code does.

**The database** is the crafted copy of tests/test_privacy_paths.py with its three small cells (Jiang'an's
September, its difficulty group, one street's year) made in the street × group rows and summed up again
(:func:`consistent`): the crafted copy edits aggregate rows without their sums, so one functional would carry two
person counts and the audit would report artefacts.

**Published** (every non-NaN figure after the query's own protection, through :meth:`Leader.shown`, which passes
the city-wide plan (:func:`city_wide_plan`) where the code has one, as the pages and the pack do):

- ``targets.attainment`` ``actual`` for the city, the districts and the streets of each district
  (``parent_code``), every month 1 … cut-off, for the family's indicators (all four have targets);
- ``targets.monthly_curve`` ``cumulative`` and the month's ``value`` for the city, every district and every street,
  for each family indicator (the page shows districts; the city is in the pack; streets are a superset);
- ``targets.group_breakdown`` for the city and every district, every month;
- ``explore.explore`` for each family measure: area (district and street level) × period (month, quarter, year),
  period alone (the city), area alone, with years (YEAR, YEAR); for urban new employment also group × period,
  group × area (both levels), group alone, and the filtered views: every district alone and all districts but one
  (period by month; urban new employment also by group), and each district's streets by month;
- ``checks.monthly_series``, ``checks.outlier_months`` (the value of a flagged month) and ``checks.unreconciled``
  (``records``), for the family's indicators;
- ``forecasts.series_history`` (urban new employment, city and districts);
- ``overview.city_series`` (the sparklines) ending at every month 1 … cut-off;
- ``adjustment.adjustment_panel`` at every month: the YEAR rows' ``ytd`` (January … that month) and ``full``
  (January … the cut-off, the year so far);
- ``funds.fund_indicators`` at every month: ``cost_per_placement_yuan`` is the district's spending (shown as
  spending progress × the allocation) ÷ its placements January … that month, so a shown cost gives the
  placements back: modelled as that year-to-date.

Not modelled: ranks, statuses and rank changes (not linear; a hidden row has none: docs/privacy.md §3);
``funds`` ``targets_met_share_pct`` (a count of thresholds); figures of other years (Explore ranges over several
years or without years, the panel's last-year completion: other years are not unknowns here); Explore subsets of
two or more districts other than all but one; the meeting pack and the downloads (built from the same queries
through the same protection). ``checks.monthly_series`` is read by the outlier check rather than shown on a page:
modelled all the same (more published figures only make the audit stricter), as are the street curves.

**Hidden cells to protect**: every figure some view shows as a blank while it rests on 1 … k−1 persons, and every
month of agg_monthly in the family with 1 … k−1 persons (street, district or city; a group, "all" or a derived
indicator). A cell is *recovered* when its functional lies in the row space of the published functionals
(:func:`audit`: its projection on the null space of the published matrix is ~0).

Dense rank over street × group × month (7,350 unknowns) is too slow for a test, so two exact audits cover it:

(a) **one district in full**: the focal district's streets × groups × months, every other district as one leaf ×
    groups × months. A published figure over part of another district's streets cannot be written in these
    unknowns and is dropped, which makes (a) weaker about the other districts (an attacker could combine those
    figures): every district takes its turn as the focal one, and (b) covers every street at once;
(b) **all streets, group "all"**: every street × month of urban new employment (all groups together); the
    figures of that series only (group-level figures dropped).

With per-table suppression only (the code before ``privacy.linked``) both audits fail: e.g. Hannan's January
(3 persons) is the city's January minus the other districts' in the Targets ranking at January, where Qingshan,
hidden there as the complement, is shown on its own monthly curve; Jiang'an's September (4 persons) is the fair
comparison panel's year to September minus the ranking's year to August.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import linprog
from sqlalchemy import Engine, and_, delete, func, insert, literal, or_, select
from threadpoolctl import threadpool_limits

from figures.disclosure import plan_for
from jobs.refresh import AGG_COLS
from privacy import protect
from queries import checks, explore, forecasts, frame, funds, overview, targets
from queries.adjustment import adjustment_panel
from store import schema as s
from store.db import make_engine
from store.indicators import DERIVED_FROM_GROUPS, GROUPS
from tests.test_privacy_paths import UNE, YEAR, K, X, Y, crafted  # noqa: F401  (crafted: the shared fixture)

FAMILY: dict[str, frozenset[str]] = {ind: frozenset(groups) for ind, groups in DERIVED_FROM_GROUPS.items()}
ALL = frozenset(GROUPS)
#: A figure as a linear functional: the sum over (streets) × (groups) × (months) of the base cells.
Cell = tuple[frozenset[str], frozenset[str], frozenset[int]]
TOL = 1e-8
#: The views modelled (each must publish some figure of the family, or the audit would be vacuous about it).
VIEWS = (
    "targets.attainment",
    "targets.monthly_curve",
    "targets.group_breakdown",
    "explore.explore",
    "checks.monthly_series",
    "checks.outlier_months",
    "checks.unreconciled",
    "forecasts.series_history",
    "overview.city_series",
    "adjustment.adjustment_panel",
    "funds.fund_indicators",
)
FLAGGED_ONLY = ("checks.outlier_months", "checks.unreconciled")  # list only the months they flag: may be none


# --- the audit itself (no database) -------------------------------------------------------------------------


@dataclass
class Recovery:
    """A hidden cell in the span of the published figures, with the figures of one combination giving it."""

    cell: Cell
    terms: list[tuple[float, Cell]]  # coefficient, published functional


def audit(
    published: Iterable[Cell],
    hidden: Iterable[Cell],
    area_leaf: Mapping[str, str],
    group_leaf: Mapping[str, str],
    months: int,
    explain: int = 8,
    order: Callable[[Cell], Any] | None = None,
) -> tuple[list[Recovery], int]:
    """Which ``hidden`` functionals lie in the row space of the ``published`` ones, in the unknowns
    (area leaf × group leaf × month): ``area_leaf`` maps every street to the leaf it is merged into,
    ``group_leaf`` every group. A functional over part of a leaf cannot be written in these unknowns: a
    published one is dropped, a hidden one is not checked. Returns the recovered cells and how many hidden
    cells were checked. The recovered cells come sorted by ``order`` (a sort key), and the first ``explain`` of
    them carry the published figures of one combination giving them.

    Exact up to rounding: integer 0/1 rows; columns that every row treats alike are merged first (atoms), and a
    functional is in the row space iff its projection on the null space (SVD) is below ``TOL`` of its norm.
    """
    area_ix = {leaf: i for i, leaf in enumerate(sorted(set(area_leaf.values())))}
    group_ix = {leaf: i for i, leaf in enumerate(sorted(set(group_leaf.values())))}
    area_size = pd.Series(list(area_leaf.values())).value_counts().to_dict()
    group_size = pd.Series(list(group_leaf.values())).value_counts().to_dict()
    shape = (len(area_ix), len(group_ix), months)

    def leaves(members: frozenset[str], leaf: Mapping[str, str], size: Mapping[str, int]) -> list[str] | None:
        got = {leaf.get(m) for m in members}
        if None in got or sum(size[str(g)] for g in got) != len(members):
            return None  # part of a leaf (or outside the model)
        return sorted(str(g) for g in got)

    def vector(cell: Cell) -> np.ndarray | None:
        areas, groups, span = cell
        a, g = leaves(areas, area_leaf, area_size), leaves(groups, group_leaf, group_size)
        if not a or not g or not span or max(span) > months:
            return None
        v = np.zeros(shape)
        v[np.ix_([area_ix[x] for x in a], [group_ix[x] for x in g], [m - 1 for m in sorted(span)])] = 1.0
        return v.ravel()

    rows, kept = [], []
    for cell in dict.fromkeys(published):
        v = vector(cell)
        if v is not None:
            rows.append(v)
            kept.append(cell)
    targets_, checked = [], []
    for cell in dict.fromkeys(hidden):
        v = vector(cell)
        if v is not None:
            targets_.append(v)
            checked.append(cell)
    if not checked:
        return [], 0
    if not rows:
        return [], len(checked)
    p, h = np.array(rows), np.array(targets_)
    # atoms: unknowns that every functional (published or hidden) treats alike only ever appear as their sum
    both = np.vstack([p, h])
    _, first = np.unique(both.T, axis=0, return_index=True)
    first = first[both[:, first].any(axis=0)]
    p, h = p[:, first], h[:, first]
    with threadpool_limits(limits=1):  # these sizes run several times faster on one BLAS thread
        _, sv, vt = np.linalg.svd(p, full_matrices=p.shape[0] < p.shape[1])
        rank = int((sv > sv[0] * max(p.shape) * np.finfo(float).eps).sum()) if sv.size else 0
        residual = np.linalg.norm(h @ vt[rank:].T, axis=1) / np.linalg.norm(h, axis=1)
    found = np.flatnonzero(residual <= TOL)
    if order is not None:
        found = np.array(sorted(found, key=lambda i: order(checked[i])), dtype=int)
    out = [Recovery(checked[i], []) for i in found]
    for r, i in zip(out[:explain], found, strict=False):
        r.terms = [(c, kept[j]) for c, j in _combination(p, h[i])]
    return out, len(checked)


def _combination(p: np.ndarray, h: np.ndarray) -> list[tuple[float, int]]:
    """A sparse combination of the rows of ``p`` giving ``h`` (coefficient, row), largest first: the least
    total |coefficient| (a linear programme, whose optimum is a vertex: few rows), else least squares."""
    n = len(p)
    lp = linprog(
        np.ones(2 * n),
        A_eq=sparse.csr_matrix(np.hstack([p.T, -p.T])),
        b_eq=h,
        bounds=(0, None),
        method="highs",
    )
    coef = lp.x[:n] - lp.x[n:] if lp.status == 0 else np.linalg.lstsq(p.T, h, rcond=None)[0]
    big = np.flatnonzero(np.abs(coef) > 1e-6 * np.abs(coef).max())
    return [(float(coef[j]), int(j)) for j in big[np.argsort(-np.abs(coef[big]))]]


def test_the_audit_finds_a_difference_and_not_a_half() -> None:
    """Four streets a, b, c, d of one district; shown: the total, a + b, and c. Then d = total − (a + b) − c is
    recovered (from all three figures) and a is not (only a + b is known). Merging a and b into one leaf drops a
    figure over a alone (it is not expressible) and leaves a unchecked."""
    g, m = frozenset({"g"}), frozenset({1})
    a, b, c, d = "a", "b", "c", "d"

    def cell(*areas: str) -> Cell:
        return (frozenset(areas), g, m)

    total, ab, only_c = cell(a, b, c, d), cell(a, b), cell(c)
    found, checked = audit([total, ab, only_c], [cell(d), cell(a)], {x: x for x in "abcd"}, {"g": "g"}, 1)
    assert checked == 2
    assert [r.cell for r in found] == [cell(d)]
    assert {t for _, t in found[0].terms} == {total, ab, only_c}
    assert sorted(round(k, 9) for k, _ in found[0].terms) == [-1.0, -1.0, 1.0]
    merged = {a: "ab", b: "ab", c: c, d: d}
    found, checked = audit([total, cell(a), only_c], [cell(a), cell(d)], merged, {"g": "g"}, 1)
    assert checked == 1 and found == []  # {a} is not expressible: the figure is dropped, the cell unchecked
    found, _ = audit([total, ab, only_c], [cell(d)], merged, {"g": "g"}, 1)
    assert [r.cell for r in found] == [cell(d)]


# --- the geography and the base cells -----------------------------------------------------------------------


@dataclass
class Geography:
    """Which streets each area covers, and the months of YEAR with data."""

    city: str
    districts: list[str]
    streets: list[str]
    covers: dict[str, frozenset[str]]  # any area code → its streets
    district_of: dict[str, str]
    names: dict[str, str]
    months: int

    def cell(self, areas: str | Iterable[str], groups: Iterable[str], first: int, last: int) -> Cell:
        """The functional of a figure summed over ``areas`` × ``groups`` × months ``first`` … ``last`` of YEAR
        (clipped to the months with data: a year or a quarter of the current year ends at the cut-off)."""
        codes = [areas] if isinstance(areas, str) else list(areas)
        streets = frozenset().union(*(self.covers[str(c)] for c in codes))
        return streets, frozenset(groups), frozenset(range(max(first, 1), min(last, self.months) + 1))

    def describe(self, cell: Cell) -> str:
        areas, groups, span = cell
        if areas == self.covers[self.city]:
            where = "city"
        else:
            whole = [d for d in self.districts if self.covers[d] <= areas]
            rest = areas - frozenset().union(*(self.covers[d] for d in whole))
            where = " + ".join(
                [*(f"{self.names[d]} ({d})" for d in whole), *(f"street {a}" for a in sorted(rest))]
            )
        what = "all groups" if groups == ALL else "+".join(sorted(groups))
        first, last = min(span), max(span)
        when = f"{YEAR}-{first:02d}" if first == last else f"{YEAR}-{first:02d}…{last:02d}"
        return f"{where} · {what} · {when}"


def geography(engine: Engine) -> Geography:
    ar, a = s.area, s.agg_monthly
    with engine.connect() as conn:
        areas = frame(conn, select(ar.c.area_code, ar.c.level, ar.c.parent_code, ar.c.name_en))
        months = conn.execute(select(func.max(a.c.month)).where(a.c.year == YEAR)).scalar()
    city = str(areas.loc[areas["level"] == "city", "area_code"].iloc[0])
    districts = sorted(areas.loc[areas["level"] == "district", "area_code"].astype(str))
    street_rows = areas[areas["level"] == "street"]
    district_of = dict(
        zip(street_rows["area_code"].astype(str), street_rows["parent_code"].astype(str), strict=True)
    )
    covers = {st: frozenset({st}) for st in district_of}
    for d in districts:
        covers[d] = frozenset(st for st, p in district_of.items() if p == d)
    covers[city] = frozenset(district_of)
    names = dict(zip(areas["area_code"].astype(str), areas["name_en"].astype(str), strict=True))
    return Geography(city, districts, sorted(district_of), covers, district_of, names, int(months or 0))


def family_rows(engine: Engine, year: int) -> pd.DataFrame:
    """agg_monthly's rows of the family in ``year`` (every level, indicator and group)."""
    a = s.agg_monthly
    stmt = select(
        a.c.area_code, a.c.level, a.c.indicator_code, a.c.group_code, a.c.month, a.c.value, a.c.persons
    ).where(a.c.year == year, a.c.indicator_code.in_(list(FAMILY)))
    with engine.connect() as conn:
        out = frame(conn, stmt)
    return out.assign(value=out["value"].astype(float), persons=out["persons"].astype(float))


def groups_of(indicator: str, group: str = "all") -> frozenset[str]:
    """The groups a figure of ``indicator`` (and ``group``) sums over."""
    return FAMILY[indicator] if group == "all" else frozenset({group})


@pytest.fixture(scope="module")
def consistent(crafted: dict, tmp_path_factory: pytest.TempPathFactory) -> Engine:  # noqa: F811
    """The crafted database with its small cells made at the base and summed up as the refresh does.

    tests/test_privacy_paths.py edits a few aggregate rows (Jiang'an's September, its difficulty group, one
    street's year) without their sums: the same figure then has two person counts (Jiang'an's difficulty group
    is 2 persons in Targets "by group" and its whole count as difficulty employment in the ranking), which an
    exact audit reports as recovered. Here the same three small cells are made in the street × group rows of
    urban new employment, and every other row of the family in YEAR (group "all", the derived indicators,
    districts, the city) is their sum again, as ``bureau.refresh`` builds them:

    - Jiang'an's September: 4 persons (one street, registered unemployed);
    - Jiang'an's difficulty group: 2 persons in February (one street), none in any other month;
    - the crafted street of Jiang'an: 3 persons in January (group "other"), none in the rest of the year.
    """
    path = tmp_path_factory.mktemp("audit") / "consistent.sqlite"
    src, dst = sqlite3.connect(crafted["url"].split("///", 1)[1]), sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    engine = make_engine(f"sqlite:///{path}")
    a, ar = s.agg_monthly, s.area
    quiet = str(crafted["street"])
    base = and_(a.c.year == YEAR, a.c.indicator_code == UNE, a.c.level == "street", a.c.group_code != "all")
    with engine.begin() as conn:
        streets = [str(r[0]) for r in conn.execute(select(ar.c.area_code).where(ar.c.parent_code == X))]
        city = str(conn.execute(select(ar.c.area_code).where(ar.c.level == "city")).scalar())
        other = min(st for st in streets if st != quiet)
        conn.execute(
            delete(a).where(
                base,
                a.c.area_code.in_(streets),
                or_(a.c.month == 9, a.c.group_code == "difficulty", a.c.area_code == quiet),
            )
        )
        row = {"year": YEAR, "indicator_code": UNE, "level": "street", "district_code": X}
        conn.execute(
            insert(a),
            [
                {
                    **row,
                    "area_code": other,
                    "month": 9,
                    "group_code": "registered_unemployed",
                    "value": 4.0,
                    "persons": 4,
                },
                {
                    **row,
                    "area_code": other,
                    "month": 2,
                    "group_code": "difficulty",
                    "value": 2.0,
                    "persons": 2,
                },
                {**row, "area_code": quiet, "month": 1, "group_code": "other", "value": 3.0, "persons": 3},
            ],
        )
        conn.execute(delete(a).where(a.c.year == YEAR, a.c.indicator_code.in_(list(FAMILY)), ~base))
        columns = AGG_COLS
        total = [func.sum(a.c.value), func.sum(a.c.persons)]
        for indicator, groups in DERIVED_FROM_GROUPS.items():
            keys = [a.c.year, a.c.month, a.c.area_code]
            pick = select(
                *keys, literal(indicator), literal("all"), literal("street"), a.c.district_code, *total
            )
            pick = pick.where(base, a.c.group_code.in_(list(groups))).group_by(*keys, a.c.district_code)
            conn.execute(insert(a).from_select(columns, pick))
        streets_of_family = and_(
            a.c.year == YEAR, a.c.indicator_code.in_(list(FAMILY)), a.c.level == "street"
        )
        keys = [a.c.year, a.c.month, a.c.indicator_code, a.c.group_code]
        up = [
            select(*keys[:2], a.c.district_code, *keys[2:], literal("district"), a.c.district_code, *total)
            .where(streets_of_family)
            .group_by(*keys, a.c.district_code),
            select(*keys[:2], literal(city), *keys[2:], literal("city"), literal(city), *total)
            .where(streets_of_family)
            .group_by(*keys),
        ]
        for pick in up:
            conn.execute(insert(a).from_select(columns, pick))
    return engine


@pytest.mark.parametrize("which", ["demo", "consistent"])
def test_the_refresh_adds_up_the_way_the_audit_assumes(request: pytest.FixtureRequest, which: str) -> None:
    """On the demo city and on the audit's database: streets add up to their district and districts to the
    city, group "all" is the sum of the groups, and each derived indicator the sum of its groups, month by
    month (the crafted copy of test_privacy_paths edits a few rows without their sums: see ``consistent``)."""
    engine = (
        make_engine(request.getfixturevalue("demo_url"))
        if which == "demo"
        else request.getfixturevalue(which)
    )
    geo = geography(engine)
    rows = family_rows(engine, YEAR)
    assert geo.months >= 9 and len(geo.streets) > 100
    une = rows[rows["indicator_code"] == UNE]
    by_group = une[une["group_code"] != "all"].groupby(["area_code", "month"])["value"].sum()
    total = une[une["group_code"] == "all"].set_index(["area_code", "month"])["value"]
    pd.testing.assert_series_equal(*_aligned(total, by_group), check_names=False)
    assert (rows["value"] == rows["persons"]).all()  # one event per person and month in this family
    for indicator, groups in DERIVED_FROM_GROUPS.items():
        mine = rows[(rows["indicator_code"] == indicator) & (rows["group_code"] == "all")]
        parts = une[une["group_code"].isin(groups)].groupby(["area_code", "month"])["value"].sum()
        pd.testing.assert_series_equal(
            *_aligned(mine.set_index(["area_code", "month"])["value"], parts), check_names=False
        )
        assert_rolls_up(mine, geo)


def assert_rolls_up(mine: pd.DataFrame, geo: Geography) -> None:
    """One series' agg_monthly rows: its streets add up to their districts, and to the city, month by month."""
    streets = mine[mine["level"] == "street"]
    up = streets.assign(d=streets["area_code"].map(geo.district_of)).groupby(["d", "month"])["value"].sum()
    districts = mine[mine["level"] == "district"].set_index(["area_code", "month"])["value"]
    pd.testing.assert_series_equal(*_aligned(districts, up), check_names=False)
    city = mine[mine["level"] == "city"].set_index("month")["value"]
    all_streets = streets.groupby("month")["value"].sum()
    pd.testing.assert_series_equal(*_aligned(city, all_streets), check_names=False)


def _aligned(left: pd.Series, right: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Both series on the union of their keys, a missing row being 0 (agg_monthly holds no zero rows)."""
    index = left.index.union(right.index)
    return left.reindex(index, fill_value=0.0).astype(float), right.reindex(index, fill_value=0.0).astype(
        float
    )


# --- what a leader sees ---------------------------------------------------------------------------------------


def city_wide_plan(engine: Engine) -> Any:
    """The city-wide suppression plan the pages and the pack apply (``bureau.disclosure.plan_for``)."""
    return plan_for(engine, K)


@dataclass
class Leader:
    """Runs a query as the UI runner and the pack do, returning the raw frame and what is shown."""

    engine: Engine
    plan: Any

    def shown(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        raw = fn(self.engine, *args, **kwargs)
        rule = fn.sensitive  # type: ignore[attr-defined]
        out = protect(raw, K, rule, plan=self.plan)
        assert len(out) == len(raw) and out.index.equals(raw.index), fn.__name__
        return raw, out


@dataclass
class Figures:
    """Every figure the views show (functional → the views showing it), and the hidden small cells."""

    geo: Geography
    published: dict[Cell, list[str]] = field(default_factory=dict)
    hidden: dict[Cell, str] = field(default_factory=dict)

    def add(self, view: str, cell: Cell, shown: bool, persons: float) -> None:
        if not cell[0] or not cell[2]:
            return
        if shown:
            self.published.setdefault(cell, []).append(view)
        elif 0 < persons < K:
            self.hidden.setdefault(cell, f"{self.geo.describe(cell)} ({persons:g} persons), blank in {view}")

    def take(
        self,
        view: str,
        shown: pd.Series,
        persons: pd.Series | None,
        areas: Any,
        groups: Any,
        first: Any,
        last: Any,
    ) -> None:
        """One figure per row: shown where ``shown`` is not NaN, over ``areas`` × ``groups`` × months ``first`` …
        ``last``. Each of these is a Series (one per row) or one value for every row (an area code or a list of
        them, a set of groups, a month); ``persons`` None: the row's count is not this figure's."""
        n = len(shown)

        def each(x: Any) -> list[Any]:
            return list(x) if isinstance(x, pd.Series) else [x] * n

        counts = each(pd.Series(np.zeros(n)) if persons is None else pd.to_numeric(persons, errors="coerce"))
        for ok, p, a, g, f, la in zip(
            shown.notna(), counts, each(areas), each(groups), each(first), each(last), strict=True
        ):
            self.add(view, self.geo.cell(a, g, int(f), int(la)), bool(ok), 0.0 if p != p else float(p))


def explore_grid(view: Callable[..., None], measures: Iterable[str]) -> None:
    """Explore's tables of each measure: area × period at every grain and both levels, area alone, period
    alone (``view(measure, rows, columns, grain, **filters)`` records one table)."""
    for measure in measures:
        for level in ("district", "street"):
            for grain in ("month", "quarter", "year"):
                view(measure, "area", "period", grain, level=level)
            view(measure, "area", None, "year", level=level)
        for grain in ("month", "quarter", "year"):
            view(measure, "period", None, grain)


def _months_of(label: str) -> tuple[int, int]:
    """An Explore period label's months: ``2026`` → 1–12, ``2026-Q3`` → 7–9, ``2026-07`` → 7–7."""
    if len(label) == 4:
        return 1, 12
    if "Q" in label:
        return 3 * int(label[-1]) - 2, 3 * int(label[-1])
    return int(label[5:]), int(label[5:])


def collect(leader: Leader, geo: Geography) -> Figures:
    """Every figure of the family every leader view shows, and the blank small ones."""
    figs = Figures(geo)
    n = geo.months

    def family(raw: pd.DataFrame, out: pd.DataFrame, year: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The rows about the family (and of YEAR)."""
        keep = np.ones(len(raw), bool)
        if "indicator_code" in raw.columns:
            keep &= raw["indicator_code"].isin(list(FAMILY)).to_numpy()
        if year:
            keep &= (raw["year"] == YEAR).to_numpy()
        return raw[keep], out[keep]

    def groups(raw: pd.DataFrame) -> pd.Series:
        return raw["indicator_code"].map(FAMILY)

    # Targets: the ranking (city, districts) and each district's streets, at every month
    for m in range(1, n + 1):
        levels: list[tuple[str, dict[str, Any]]] = [("city", {"level": "city"}), ("districts", {})]
        levels += [(f"streets of {d}", {"level": "street", "parent_code": d}) for d in geo.districts]
        for name, kw in levels:
            raw, out = family(*leader.shown(targets.attainment, YEAR, m, **kw))
            view = f"targets.attainment({name}, month {m})"
            figs.take(view, out["actual"], raw["persons"], raw["area_code"], groups(raw), 1, m)
    # Targets: the monthly curve of every area; the groups of the city and of each district
    for area in [geo.city, *geo.districts, *geo.streets]:
        for ind, members in FAMILY.items():
            raw, out = leader.shown(targets.monthly_curve, YEAR, area, ind)
            view = f"targets.monthly_curve({area}, {ind})"
            month = raw["month"].astype(int)
            figs.take(view, out["cumulative"], raw["cum_persons"], area, members, 1, month)
            figs.take(view, out["value"], raw["persons"], area, members, month, month)
    for area in [geo.city, *geo.districts]:
        for m in range(1, n + 1):
            raw, out = leader.shown(targets.group_breakdown, YEAR, m, area)
            view = f"targets.group_breakdown({area}, month {m})"
            figs.take(view, out["value"], raw["persons"], area, raw["group_code"].map(lambda g: {g}), 1, m)

    # Explore
    def explore_view(measure: str, rows: str, columns: str | None, grain: str, **kw: Any) -> None:
        dims = [rows] if columns is None else [rows, columns]
        raw, out = leader.shown(explore.explore, measure, rows, columns, grain, (YEAR, YEAR), **kw)
        view = f"explore.explore({measure}, {' × '.join(dims)}, {grain}{''.join(f', {k}={v}' for k, v in kw.items())})"
        areas = raw["area"].astype(str) if "area" in dims else list(kw.get("districts") or [geo.city])
        members = raw["group"].map(lambda g: {g}) if "group" in dims else FAMILY[measure]
        first, last = 1, 12
        if "period" in dims:
            span = raw["period"].astype(str).map(_months_of)
            first, last = span.str[0], span.str[1]
        figs.take(view, out["value"], raw["persons"], areas, members, first, last)

    explore_grid(explore_view, FAMILY)
    for grain in ("month", "quarter", "year"):
        explore_view(UNE, "group", "period", grain)
    for level in ("district", "street"):
        explore_view(UNE, "group", "area", "year", level=level)
    explore_view(UNE, "group", None, "year")
    for d in geo.districts:
        rest = tuple(x for x in geo.districts if x != d)
        for measure in FAMILY:
            explore_view(measure, "period", None, "month", districts=(d,))
            explore_view(measure, "period", None, "month", districts=rest)
        explore_view(UNE, "group", "period", "month", districts=rest)
        explore_view(UNE, "area", "period", "month", districts=(d,), level="street")

    # Data checks, forecasts, overview, fair comparison, funds: one month's figure per row
    def months(view: str, raw: pd.DataFrame, out: pd.DataFrame, column: str, members: Any) -> None:
        month = raw["month"].astype(int)
        figs.take(view, out[column], raw["persons"], raw["area_code"], members, month, month)

    for ind, members in FAMILY.items():
        months(
            f"checks.monthly_series({ind})",
            *family(*leader.shown(checks.monthly_series, ind), True),
            "value",
            members,
        )
        raw, out = family(*leader.shown(checks.outlier_months, ind), True)
        months(f"checks.outlier_months({ind})", raw, out, "value", members)
    raw, out = family(*leader.shown(checks.unreconciled, YEAR, n), True)
    months(f"checks.unreconciled(month {n})", raw, out, "records", groups(raw))
    raw, out = family(*leader.shown(forecasts.series_history), True)
    months("forecasts.series_history", raw, out, "value", groups(raw))
    for m in range(1, n + 1):
        raw, out = family(*leader.shown(overview.city_series, tuple(FAMILY), YEAR, m, 24), True)
        month = raw["month"].astype(int)
        view = f"overview.city_series(to month {m})"
        figs.take(view, out["value"], raw["persons"], geo.city, groups(raw), month, month)
        raw, out = family(*leader.shown(adjustment_panel, m), True)
        view = f"adjustment.adjustment_panel(month {m})"
        figs.take(view, out["ytd"], raw["persons"], raw["area_code"], ALL, 1, m)
        figs.take(view, out["full"], None, raw["area_code"], ALL, 1, 12)
        raw, out = leader.shown(funds.fund_indicators, YEAR, m)
        view = f"funds.fund_indicators(month {m}) cost per placement"
        figs.take(view, out["cost_per_placement_yuan"], raw["n_placed"], raw["area_code"], ALL, 1, m)

    # every small month of agg_monthly (a base cell or a sum of them)
    rows = family_rows(leader.engine, YEAR)
    small = rows[(rows["persons"] > 0) & (rows["persons"] < K)]
    for r in small.itertuples(index=False):
        c = geo.cell(
            str(r.area_code), groups_of(str(r.indicator_code), str(r.group_code)), int(r.month), int(r.month)
        )
        figs.hidden.setdefault(
            c, f"{geo.describe(c)} ({r.persons:g} persons in agg_monthly {r.indicator_code}/{r.group_code})"
        )
    return figs


@pytest.fixture(scope="module")
def figures(consistent: Engine) -> Figures:
    engine = consistent
    return collect(Leader(engine, city_wide_plan(engine)), geography(engine))


def report(figs: Figures, found: list[Recovery], limit: int = 8) -> str:
    lines = []
    for r in found[:limit]:
        views = sorted({figs.published[c][0].split("(")[0] for _, c in r.terms})
        lines.append(f"RECOVERED {figs.hidden[r.cell]}\n    through {', '.join(views)}:")
        for coef, c in r.terms[:6]:
            lines.append(f"      {coef:+.3g} × {figs.geo.describe(c)}  [{figs.published[c][0]}]")
        if len(r.terms) > 6:
            lines.append(f"      … and {len(r.terms) - 6} more figures")
    if len(found) > limit:
        lines.append(f"… and {len(found) - limit} more recovered cells")
    return "\n".join(lines)


def test_the_crafted_small_cells_are_hidden_and_their_neighbours_shown(figures: Figures) -> None:
    """The audit is not vacuous: the crafted small cells are among the hidden ones, and the figures around them
    (Jiang'an's August year to date, the city's September) are published."""
    geo = figures.geo
    assert geo.cell(X, ALL, 9, 9) in figures.hidden  # Jiang'an's September: 4 persons
    assert geo.cell(X, {"difficulty"}, 2, 2) in figures.hidden  # its difficulty group in February: 2
    assert geo.cell(X, ALL, 1, 8) in figures.published
    assert geo.cell(geo.city, ALL, 9, 9) in figures.published
    views = {v.split("(")[0] for shown_in in figures.published.values() for v in shown_in}
    silent = sorted(set(VIEWS) - set(FLAGGED_ONLY) - views)
    assert views <= set(VIEWS) and not silent, f"views that show nothing about the family: {silent}"


CRAFTED = [X, Y]  # Jiang'an and Jianghan, where the crafted small cells are


@pytest.mark.parametrize("focal", CRAFTED)
def test_no_hidden_cell_is_recovered_with_one_district_in_full(figures: Figures, focal: str) -> None:
    """(a) The focal district's streets × groups × months, every other district one leaf: no hidden small cell
    expressible in these unknowns is a combination of the published figures."""
    found, checked = _one_district(figures, focal)
    assert checked > 0
    assert not found, f"{len(found)} of {checked} hidden cells recovered:\n" + report(figures, found)


def test_no_hidden_cell_is_recovered_with_any_other_district_in_full(figures: Figures) -> None:
    """(a) for every other district; with Jiang'an and Jianghan every district is focal once, so every hidden
    cell (whatever its streets and groups) is checked in full detail at least once."""
    geo = figures.geo
    checked_somewhere = {
        c for c in figures.hidden for focal in geo.districts if _expressible(c, _leaves(geo, focal), geo)
    }
    assert checked_somewhere == set(figures.hidden), "every hidden cell is checked in some audit"
    failures = []
    for focal in [d for d in geo.districts if d not in CRAFTED]:
        found, checked = _one_district(figures, focal)
        assert checked > 0, focal
        if found:
            failures.append(
                f"focal {focal}: {len(found)} of {checked} recovered\n" + report(figures, found, 3)
            )
    assert not failures, "\n".join(failures)


def _leaves(geo: Geography, focal: str) -> dict[str, str]:
    """Each street as its own leaf in the focal district, merged into its district elsewhere."""
    return {st: (st if geo.district_of[st] == focal else geo.district_of[st]) for st in geo.streets}


def _one_district(figs: Figures, focal: str) -> tuple[list[Recovery], int]:
    geo = figs.geo
    leaves, groups = _leaves(geo, focal), {g: g for g in GROUPS}
    return audit(figs.published, figs.hidden, leaves, groups, geo.months, order=_inside(geo.covers[focal]))


def _inside(streets: frozenset[str]) -> Callable[[Cell], tuple[int, int, int]]:
    """A sort key putting first the cells within ``streets`` (the largest areas, then the earliest months)."""

    def key(cell: Cell) -> tuple[int, int, int]:
        return (0 if cell[0] <= streets else 1, -len(cell[0]), min(cell[2]))

    return key


def _expressible(cell: Cell, area_leaf: Mapping[str, str], geo: Geography) -> bool:
    leaves = {area_leaf[a] for a in cell[0]}
    return sum(len(geo.covers[x]) for x in leaves) == len(cell[0])


def test_no_hidden_cell_is_recovered_from_every_street_s_total(figures: Figures) -> None:
    """(b) Every street × month of urban new employment (all groups together), every published figure of
    that series: no hidden small cell of it is a combination of them."""
    geo = figures.geo
    found, checked = audit(
        figures.published,
        figures.hidden,
        {st: st for st in geo.streets},
        {g: "all" for g in GROUPS},
        geo.months,
        order=_inside(geo.covers[X]),
    )
    assert checked > 0
    assert not found, f"{len(found)} of {checked} hidden cells recovered:\n" + report(figures, found)
