"""``bureau refresh``: rebuild the monthly aggregates the pages read, entirely in SQL.

Street rows are computed from person-level records, then rolled up to districts and the city, so that every
level adds up by construction. Works on SQLite and PostgreSQL (window functions, INSERT … SELECT).
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import (
    Integer,
    and_,
    case,
    cast,
    delete,
    distinct,
    extract,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from bureau import schema as s
from bureau.indicators import GROUPS

AGG_COLS = [
    "year",
    "month",
    "area_code",
    "indicator_code",
    "group_code",
    "level",
    "district_code",
    "value",
    "persons",
]


def _ym(col):  # type: ignore[no-untyped-def]
    return cast(extract("year", col), Integer), cast(extract("month", col), Integer)


def refresh(conn: Connection) -> int:
    """Recompute ``agg_monthly`` and ``calendar_month`` inside the caller's transaction; returns rows written."""
    conn.execute(delete(s.agg_monthly))
    conn.execute(delete(s.calendar_month))
    cut_off = data_cut_off(conn)
    if cut_off is None:
        return 0
    _fill_calendar(conn, cut_off)
    for stmt in _street_flows():
        _insert(conn, stmt)
    _insert(conn, _street_stock())
    for child, parent in (("street", "district"), ("district", "city")):
        _insert(conn, _rollup(child, parent))
    for level in ("street", "district", "city"):
        _insert(conn, _rate(level))
    _insert(conn, _flags("street"))
    _insert(conn, _flags("district"))
    _insert(conn, _flags("city"))
    _insert(conn, _subsidies())
    _insert(conn, _rollup("district", "city", indicator="subsidy_spending"))
    rows = int(conn.execute(select(func.count()).select_from(s.agg_monthly)).scalar_one())
    conn.execute(
        insert(s.data_load).values(
            kind="refresh",
            started_at=datetime.now(),
            finished_at=datetime.now(),
            rows=rows,
            cut_off=cut_off,
            synthetic=False,
        )
    )
    return rows


def data_cut_off(conn: Connection) -> date | None:
    """The last day the data covers: the newest load's cut-off, else the newest employment record's month end."""
    latest = conn.execute(
        select(func.max(s.data_load.c.cut_off)).where(s.data_load.c.kind.in_(["demo", "import"]))
    )
    value = latest.scalar()
    if value is None:
        value = conn.execute(select(func.max(s.employment_event.c.event_date))).scalar()
        if value is None:
            return None
        value = pd.Period(value, freq="M").end_time.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _fill_calendar(conn: Connection, cut_off: date) -> None:
    first = conn.execute(select(func.min(s.unemployment_spell.c.registered_on))).scalar()
    first = first or conn.execute(select(func.min(s.employment_event.c.event_date))).scalar() or cut_off
    periods = pd.period_range(pd.Period(str(first)[:7], freq="M"), pd.Period(cut_off, freq="M"), freq="M")
    conn.execute(
        insert(s.calendar_month),
        [{"year": p.year, "month": p.month, "month_end": p.end_time.date()} for p in periods],
    )


def _insert(conn: Connection, stmt: Select) -> None:
    conn.execute(insert(s.agg_monthly).from_select(AGG_COLS, stmt))


# Indicators derived from the per-group street rows of urban new employment (one scan of the events).
DERIVED_FROM_GROUPS = {
    "urban_new_employment": GROUPS,
    "reemployment": ("registered_unemployed", "difficulty"),
    "difficulty_employment": ("difficulty",),
    "graduate_employment": ("graduate",),
}


def _street_events() -> Select:
    """Street × month × group rows of urban new employment, and street × month rural labour transfers."""
    e = s.employment_event
    y, m = _ym(e.c.event_date)
    urban = e.c.kind == "urban_new"
    code = case((urban, literal("urban_new_employment")), else_=literal("rural_labour_transfer"))
    group = case((urban, e.c.group_code), else_=literal("all"))
    return (
        select(
            y,
            m,
            e.c.street_code,
            code,
            group,
            literal("street"),
            e.c.district_code,
            cast(func.count(), s.agg_monthly.c.value.type),
            func.count(distinct(e.c.person_id)),
        )
        .where(e.c.kind.in_(["urban_new", "rural_transfer"]))
        .group_by(y, m, e.c.street_code, e.c.district_code, code, group)
    )


def _derived(indicator: str, groups: tuple[str, ...]) -> Select:
    a = s.agg_monthly
    return (
        select(
            a.c.year,
            a.c.month,
            a.c.area_code,
            literal(indicator),
            literal("all"),
            literal("street"),
            a.c.district_code,
            func.sum(a.c.value),
            func.sum(a.c.persons),
        )
        .where(
            a.c.level == "street", a.c.indicator_code == "urban_new_employment", a.c.group_code.in_(groups)
        )
        .group_by(a.c.year, a.c.month, a.c.area_code, a.c.district_code)
    )


def _street_flows() -> list[Select]:
    stmts = [_street_events()] + [_derived(k, v) for k, v in DERIVED_FROM_GROUPS.items()]
    t = s.training_record
    ty, tm = _ym(t.c.completed_on)
    stmts.append(
        select(
            ty,
            tm,
            t.c.street_code,
            literal("skills_training"),
            literal("all"),
            literal("street"),
            t.c.district_code,
            cast(func.count(), s.agg_monthly.c.value.type),
            func.count(distinct(t.c.person_id)),
        ).group_by(ty, tm, t.c.street_code, t.c.district_code)
    )
    ln = s.startup_loan
    ly, lm = _ym(ln.c.issued_on)
    stmts.append(
        select(
            ly,
            lm,
            ln.c.street_code,
            literal("startup_loans_issued"),
            literal("all"),
            literal("street"),
            ln.c.district_code,
            func.sum(ln.c.amount_yuan),
            func.count(distinct(ln.c.person_id)),
        ).group_by(ly, lm, ln.c.street_code, ln.c.district_code)
    )
    u = s.unemployment_spell
    uy, um = _ym(u.c.registered_on)
    stmts.append(
        select(
            uy,
            um,
            u.c.street_code,
            literal("unemployment_registrations"),
            literal("all"),
            literal("street"),
            u.c.district_code,
            cast(func.count(), s.agg_monthly.c.value.type),
            func.count(distinct(u.c.person_id)),
        ).group_by(uy, um, u.c.street_code, u.c.district_code)
    )
    return stmts


def _street_stock() -> Select:
    """Registered unemployed at each month end: running sum of registrations minus exits, per street."""
    u = s.unemployment_spell
    iy, im = _ym(u.c.registered_on)
    oy, om = _ym(u.c.ended_on)
    moves = union_all(
        select(
            u.c.street_code.label("street_code"), iy.label("year"), im.label("month"), literal(1).label("d")
        ),
        select(u.c.street_code, oy, om, literal(-1)).where(u.c.ended_on.is_not(None)),
    ).subquery()
    flows = (
        select(moves.c.street_code, moves.c.year, moves.c.month, func.sum(moves.c.d).label("delta"))
        .group_by(moves.c.street_code, moves.c.year, moves.c.month)
        .subquery()
    )
    streets = select(s.area.c.area_code, s.area.c.district_code).where(s.area.c.level == "street").subquery()
    cal = s.calendar_month
    grid = (
        select(
            streets.c.area_code,
            streets.c.district_code,
            cal.c.year,
            cal.c.month,
            func.coalesce(flows.c.delta, 0).label("delta"),
        )
        .select_from(
            streets.join(cal, literal(True)).outerjoin(
                flows,
                and_(
                    flows.c.street_code == streets.c.area_code,
                    flows.c.year == cal.c.year,
                    flows.c.month == cal.c.month,
                ),
            )
        )
        .subquery()
    )
    stock = func.sum(grid.c.delta).over(partition_by=grid.c.area_code, order_by=(grid.c.year, grid.c.month))
    running = select(
        grid.c.year, grid.c.month, grid.c.area_code, grid.c.district_code, stock.label("stock")
    ).subquery()
    return select(
        running.c.year,
        running.c.month,
        running.c.area_code,
        literal("registered_unemployed"),
        literal("all"),
        literal("street"),
        running.c.district_code,
        cast(running.c.stock, s.agg_monthly.c.value.type),
        cast(running.c.stock, Integer),
    )


def _rollup(child: str, parent: str, indicator: str | None = None) -> Select:
    """Sum ``child`` level rows into ``parent`` (district = the child's district; city = 420100)."""
    a = s.agg_monthly
    flows = a.c.indicator_code.not_in(
        ["registered_unemployment_rate", "zero_employment_cleared", "subsidy_spending"]
    )
    cond = a.c.indicator_code == indicator if indicator else flows
    code = a.c.district_code if parent == "district" else literal("420100")
    district = a.c.district_code if parent == "district" else literal("420100")
    return (
        select(
            a.c.year,
            a.c.month,
            code,
            a.c.indicator_code,
            a.c.group_code,
            literal(parent),
            district,
            func.sum(a.c.value),
            func.sum(a.c.persons),
        )
        .where(a.c.level == child, cond)
        .group_by(a.c.year, a.c.month, code, a.c.indicator_code, a.c.group_code, district)
    )


def _rate(level: str) -> Select:
    """Registered unemployment rate in % = month-end stock ÷ the year's labour force × 100."""
    a, ay = s.agg_monthly, s.area_year
    return (
        select(
            a.c.year,
            a.c.month,
            a.c.area_code,
            literal("registered_unemployment_rate"),
            literal("all"),
            literal(level),
            a.c.district_code,
            a.c.value * 100.0 / ay.c.labour_force,
            a.c.persons,
        )
        .join(ay, and_(ay.c.area_code == a.c.area_code, ay.c.year == a.c.year))
        .where(
            a.c.level == level,
            a.c.indicator_code == "registered_unemployed",
            a.c.group_code == "all",
            ay.c.labour_force > 0,
        )
    )


def _flags(level: str) -> Select:
    """Zero-employment households cleared (1) or not (0): every street of the area has cleared all it found."""
    z = s.zero_employment_household
    code = {"street": z.c.street_code, "district": z.c.district_code, "city": literal("420100")}[level]
    district = literal("420100") if level == "city" else z.c.district_code
    done = func.min(case((z.c.cleared >= z.c.identified, 1), else_=0))
    return select(
        z.c.year,
        z.c.month,
        code,
        literal("zero_employment_cleared"),
        literal("all"),
        literal(level),
        district,
        cast(done, s.agg_monthly.c.value.type),
        func.sum(z.c.identified),
    ).group_by(z.c.year, z.c.month, code, district)


def _subsidies() -> Select:
    p = s.subsidy_payment
    y, m = _ym(p.c.paid_on)
    return select(
        y,
        m,
        p.c.district_code,
        literal("subsidy_spending"),
        literal("all"),
        literal("district"),
        p.c.district_code,
        func.sum(p.c.amount_yuan),
        func.count(),
    ).group_by(y, m, p.c.district_code)
