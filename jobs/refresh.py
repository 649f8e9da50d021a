"""``bureau refresh``: the monthly aggregates the pages read, computed entirely in SQL, whole or incrementally.

Street rows are computed from person-level records, then rolled up to districts and the city, so that every
level adds up by construction. Works on SQLite and PostgreSQL (window functions, INSERT … SELECT).

Incremental refresh: a :class:`Scope` bounds every statement of the full rebuild with the same filters, so
there is one definition of each aggregate. ``since`` (a month start) recomputes the months from ``since`` on:
flows from the records dated on or after it, the registered-unemployed stock as the stored stock of the month
before plus the running sum of registrations and exits dated on or after it. ``districts`` recomputes only the
street and district rows of those districts; the city rows of the recomputed months are then re-rolled from
every district's rows. :func:`scope` falls back to the full rebuild when the stored aggregates cannot carry the
increment (no stored stock before ``since``, a calendar that would start elsewhere).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

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
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from store import schema as s
from store.indicators import DERIVED_FROM_GROUPS

log = logging.getLogger(__name__)

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
CITY = "420100"


def _ym(col):  # type: ignore[no-untyped-def]
    return cast(extract("year", col), Integer), cast(extract("month", col), Integer)


@dataclass(frozen=True)
class Scope:
    """The part of the aggregates a refresh recomputes.

    ``since``: the first month recomputed (its first day); None = every month.
    ``districts``: the districts whose street and district rows are recomputed; None = every district. The city
    rows of the recomputed months are always recomputed (from the district rows).
    """

    since: date | None = None
    districts: tuple[str, ...] | None = None

    @property
    def full(self) -> bool:
        return self.since is None and self.districts is None

    @property
    def city(self) -> Scope:
        """The same months, every district: for rows that add up or look across districts."""
        return replace(self, districts=None)

    def dated(self, day: Any, district: Any) -> list[ColumnElement[bool]]:
        """Filters for records dated by ``day`` (a date column: lets PostgreSQL prune monthly partitions)."""
        return ([day >= self.since] if self.since else []) + self.of(district)

    def monthly(self, year: Any, month: Any, district: Any = None) -> list[ColumnElement[bool]]:
        """Filters for rows keyed by year and month (and a district column unless None)."""
        out = []
        if self.since:
            y, m = self.since.year, self.since.month
            out.append(or_(year > y, and_(year == y, month >= m)))
        return out + (self.of(district) if district is not None else [])

    def of(self, district: Any) -> list[ColumnElement[bool]]:
        return [district.in_(self.districts)] if self.districts is not None else []

    def describe(self) -> str:
        if self.full:
            return "full rebuild"
        parts = [f"since {self.since:%Y-%m}" if self.since else "every month"]
        if self.districts is not None:
            parts.append("districts " + ",".join(self.districts))
        return "incremental: " + "; ".join(parts)


def refresh(conn: Connection, since: date | None = None, districts: Collection[str] | None = None) -> int:
    """Recompute ``agg_monthly`` and ``calendar_month`` inside the caller's transaction; returns rows written.

    Without arguments: every row. With ``since`` (any day of a month: the month is taken) and/or ``districts``:
    only that part (see :class:`Scope`), or the full rebuild when :func:`scope` says the increment is unsafe.
    """
    return run(conn, scope(conn, since, districts))


def scope(conn: Connection, since: date | None = None, districts: Collection[str] | None = None) -> Scope:
    """The scope a refresh with these bounds will actually use: the increment asked for, widened when needed.

    * no data cut-off, or ``since`` at or before the first stored month, or no stored street stock for the
      month before ``since``: the full rebuild (the running stock has nothing to start from);
    * the data cut-off moved to another month than the stored calendar ends with: every district, from the
      first month whose calendar row appears or disappears on (the other districts need the stock of new months);
    * only ``districts`` without ``since``: the full rebuild when the calendar would start or end elsewhere.
    """
    asked = Scope(
        since.replace(day=1) if since else None,
        tuple(sorted(set(districts))) if districts is not None else None,
    )
    if asked.full:
        return asked
    cut_off = data_cut_off(conn)
    cal = s.calendar_month
    first, last = conn.execute(select(func.min(cal.c.year * 12 + cal.c.month - 1),
                                      func.max(cal.c.year * 12 + cal.c.month - 1))).one()  # fmt: skip
    if cut_off is None or first is None:
        return Scope()
    end = cut_off.year * 12 + cut_off.month - 1  # months as year * 12 + month - 1
    if asked.since is None:
        start = _month_index(_first_day(conn, cut_off))
        return asked if (start, end) == (first, last) else Scope()
    since_index = _month_index(asked.since)
    if end != last:
        since_index = min(since_index, min(end, last) + 1)
        asked = Scope(date(since_index // 12, since_index % 12 + 1, 1), None)
    if since_index <= first:
        return Scope()
    if asked.districts == ():
        return asked  # only the city rows
    prev = since_index - 1
    a = s.agg_monthly
    stored = conn.execute(
        select(literal(1))
        .where(
            a.c.level == "street",
            a.c.indicator_code == "registered_unemployed",
            a.c.group_code == "all",
            a.c.year == prev // 12,
            a.c.month == prev % 12 + 1,
            *asked.of(a.c.district_code),
        )
        .limit(1)
    ).scalar()
    return asked if stored is not None else Scope()


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def run(conn: Connection, sc: Scope) -> int:
    """Delete the scope's rows and compute them again, exactly as :func:`refresh` does (no fallback here)."""
    started = datetime.now()
    a, cal = s.agg_monthly, s.calendar_month
    rows_in_scope = sc.monthly(a.c.year, a.c.month)
    if sc.districts is not None:
        rows_in_scope.append(or_(a.c.level == "city", a.c.district_code.in_(sc.districts)))
    conn.execute(delete(a).where(*rows_in_scope))
    conn.execute(delete(cal).where(*sc.monthly(cal.c.year, cal.c.month)))
    cut_off = data_cut_off(conn)
    if cut_off is None:
        return 0
    _fill_calendar(conn, sc.since or _first_day(conn, cut_off), cut_off)
    for stmt in [
        *_street_flows(sc),
        _street_stock(sc),
        *_loan_stocks(sc),
        _rollup("street", "district", sc),
        _rollup("district", "city", sc.city),
        *[_rate(level, sc if level != "city" else sc.city) for level in ("street", "district", "city")],
        *[_flags(level, sc if level != "city" else sc.city) for level in ("street", "district", "city")],
        _subsidies(sc),
        _rollup("district", "city", sc.city, indicator="subsidy_spending"),
    ]:
        conn.execute(insert(a).from_select(AGG_COLS, stmt))
    # counted, not summed from rowcount: the PostgreSQL driver reports -1 for INSERT … SELECT here
    written = int(conn.execute(select(func.count()).select_from(a).where(*rows_in_scope)).scalar_one())
    conn.execute(
        insert(s.data_load).values(
            kind="refresh",
            started_at=started,
            finished_at=datetime.now(),
            rows=written,
            cut_off=cut_off,
            synthetic=False,
            note=sc.describe(),
        )
    )
    log.info("aggregates refreshed (%s): %d rows", sc.describe(), written)
    return written


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


def _first_day(conn: Connection, cut_off: date) -> date:
    """The first day of the calendar of a full rebuild: the first registration's month, else the first event's."""
    first = conn.execute(select(func.min(s.unemployment_spell.c.registered_on))).scalar()
    first = first or conn.execute(select(func.min(s.employment_event.c.event_date))).scalar() or cut_off
    return date.fromisoformat(str(first)[:7] + "-01")


def _fill_calendar(conn: Connection, first: date, cut_off: date) -> None:
    periods = pd.period_range(pd.Period(first, freq="M"), pd.Period(cut_off, freq="M"), freq="M")
    if len(periods):
        conn.execute(
            insert(s.calendar_month),
            [{"year": p.year, "month": p.month, "month_end": p.end_time.date()} for p in periods],
        )


def _street_events(sc: Scope) -> Select:
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
        .where(e.c.kind.in_(["urban_new", "rural_transfer"]), *sc.dated(e.c.event_date, e.c.district_code))
        .group_by(y, m, e.c.street_code, e.c.district_code, code, group)
    )


def _derived(indicator: str, groups: tuple[str, ...], sc: Scope) -> Select:
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
            a.c.level == "street",
            a.c.indicator_code == "urban_new_employment",
            a.c.group_code.in_(groups),
            *sc.monthly(a.c.year, a.c.month, a.c.district_code),
        )
        .group_by(a.c.year, a.c.month, a.c.area_code, a.c.district_code)
    )


def _street_counts(table: Any, day: Any, indicator: str, sc: Scope, value: Any = None) -> Select:
    """Street × month count of a record table's rows (or sum of ``value``), and the distinct persons."""
    y, m = _ym(day)
    return (
        select(
            y,
            m,
            table.c.street_code,
            literal(indicator),
            literal("all"),
            literal("street"),
            table.c.district_code,
            cast(func.count(), s.agg_monthly.c.value.type) if value is None else func.sum(value),
            func.count(distinct(table.c.person_id)),
        )
        .where(*sc.dated(day, table.c.district_code))
        .group_by(y, m, table.c.street_code, table.c.district_code)
    )


def _street_flows(sc: Scope) -> list[Select]:
    t, ln, u = s.training_record, s.startup_loan, s.unemployment_spell
    return [
        _street_events(sc),
        *[_derived(k, v, sc) for k, v in DERIVED_FROM_GROUPS.items()],
        _street_counts(t, t.c.completed_on, "skills_training", sc),
        _street_counts(ln, ln.c.issued_on, "startup_loans_issued", sc, value=ln.c.amount_yuan),
        _street_counts(u, u.c.registered_on, "unemployment_registrations", sc),
    ]


def _move(table: Any, day: Any, sc: Scope, value: Any, count: Any = None, *where: Any) -> Select:
    """One kind of change to a running stock: (street, year, month of ``day``, value change, count change)."""
    y, m = _ym(day)
    return select(
        table.c.street_code.label("street_code"),
        y.label("year"),
        m.label("month"),
        value.label("dv"),
        (literal(1) if count is None else count).label("dn"),
    ).where(*where, *sc.dated(day, table.c.district_code))


def _running(indicator: str, moves: list[Select], sc: Scope) -> Select:
    """A month-end stock per street: the running sums of the ``moves`` (value, count) over the calendar.

    Every street gets a row for every month (zero when nothing happened). Incrementally: the stored value and
    count of the month before ``since`` plus the running sums of the moves dated from ``since`` on. Moves dated
    after the cut-off (loans falling due later) match no calendar month and are left out.
    """
    mv = union_all(*moves).subquery()
    flows = (
        select(
            mv.c.street_code,
            mv.c.year,
            mv.c.month,
            func.sum(mv.c.dv).label("dv"),
            func.sum(mv.c.dn).label("dn"),
        )
        .group_by(mv.c.street_code, mv.c.year, mv.c.month)
        .subquery()
    )
    ar = s.area
    streets = (
        select(ar.c.area_code, ar.c.district_code)
        .where(ar.c.level == "street", *sc.of(ar.c.district_code))
        .subquery()
    )
    cal = s.calendar_month
    months = select(cal.c.year, cal.c.month).where(*sc.monthly(cal.c.year, cal.c.month)).subquery()
    grid = (
        select(
            streets.c.area_code,
            streets.c.district_code,
            months.c.year,
            months.c.month,
            func.coalesce(flows.c.dv, 0).label("dv"),
            func.coalesce(flows.c.dn, 0).label("dn"),
        )
        .select_from(
            streets.join(months, literal(True)).outerjoin(
                flows,
                and_(
                    flows.c.street_code == streets.c.area_code,
                    flows.c.year == months.c.year,
                    flows.c.month == months.c.month,
                ),
            )
        )
        .subquery()
    )
    order = (grid.c.year, grid.c.month)
    running = select(
        grid.c.year,
        grid.c.month,
        grid.c.area_code,
        grid.c.district_code,
        func.sum(grid.c.dv).over(partition_by=grid.c.area_code, order_by=order).label("value"),
        func.sum(grid.c.dn).over(partition_by=grid.c.area_code, order_by=order).label("n"),
    ).subquery()
    value: Any = running.c.value
    count: Any = running.c.n
    source: Any = running
    if sc.since is not None:  # start from the stored stock of the month before
        a = s.agg_monthly
        prev = _month_index(sc.since) - 1
        before = (
            select(a.c.area_code, a.c.value, a.c.persons)
            .where(
                a.c.level == "street",
                a.c.indicator_code == indicator,
                a.c.group_code == "all",
                a.c.year == prev // 12,
                a.c.month == prev % 12 + 1,
                *sc.of(a.c.district_code),
            )
            .subquery()
        )
        value = running.c.value + func.coalesce(before.c.value, 0)
        count = running.c.n + func.coalesce(before.c.persons, 0)
        source = running.outerjoin(before, before.c.area_code == running.c.area_code)
    return select(
        running.c.year,
        running.c.month,
        running.c.area_code,
        literal(indicator),
        literal("all"),
        literal("street"),
        running.c.district_code,
        cast(value, s.agg_monthly.c.value.type),
        cast(count, Integer),
    ).select_from(source)


def _street_stock(sc: Scope) -> Select:
    """Registered unemployed at each month end: registrations minus exits, per street (a running sum)."""
    u = s.unemployment_spell
    return _running(
        "registered_unemployed",
        [
            _move(u, u.c.registered_on, sc, literal(1)),
            _move(u, u.c.ended_on, sc, literal(-1), literal(-1), u.c.ended_on.is_not(None)),
        ],
        sc,
    )


# The start-up loan portfolio at each month end, per street (running sums; ``persons`` counts loans, and a
# person holds at most one guaranteed start-up loan at a time). Read by the Funds page instead of the loans.
LOAN_STOCKS = ("loan_book", "loan_balance", "loan_due", "loan_recovered")


def _loan_stocks(sc: Scope) -> list[Select]:
    """loan_book: issued so far; loan_balance: issued and not yet repaid; loan_due: fallen due so far;
    loan_recovered: fallen due and repaid (counted at the later of the two dates). Amounts in yuan."""
    ln = s.startup_loan
    amount = ln.c.amount_yuan
    repaid = ln.c.repaid_on.is_not(None)
    settled = case((ln.c.due_on >= ln.c.repaid_on, ln.c.due_on), else_=ln.c.repaid_on)
    moves = {
        "loan_book": [_move(ln, ln.c.issued_on, sc, amount)],
        "loan_balance": [
            _move(ln, ln.c.issued_on, sc, amount),
            _move(ln, ln.c.repaid_on, sc, -amount, literal(-1), repaid),
        ],
        "loan_due": [_move(ln, ln.c.due_on, sc, amount)],
        "loan_recovered": [_move(ln, settled, sc, amount, None, repaid)],
    }
    return [_running(code, moves[code], sc) for code in LOAN_STOCKS]


def _rollup(child: str, parent: str, sc: Scope, indicator: str | None = None) -> Select:
    """Sum ``child`` level rows into ``parent`` (district = the child's district; city = 420100)."""
    a = s.agg_monthly
    flows = a.c.indicator_code.not_in(
        ["registered_unemployment_rate", "zero_employment_cleared", "subsidy_spending"]
    )
    cond = a.c.indicator_code == indicator if indicator else flows
    code = a.c.district_code if parent == "district" else literal(CITY)
    district = a.c.district_code if parent == "district" else literal(CITY)
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
        .where(a.c.level == child, cond, *sc.monthly(a.c.year, a.c.month, a.c.district_code))
        .group_by(a.c.year, a.c.month, code, a.c.indicator_code, a.c.group_code, district)
    )


def _rate(level: str, sc: Scope) -> Select:
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
            *sc.monthly(a.c.year, a.c.month, a.c.district_code),
        )
    )


def _flags(level: str, sc: Scope) -> Select:
    """Zero-employment households cleared (1) or not (0): every street of the area has cleared all it found."""
    z = s.zero_employment_household
    code = {"street": z.c.street_code, "district": z.c.district_code, "city": literal(CITY)}[level]
    district = literal(CITY) if level == "city" else z.c.district_code
    done = func.min(case((z.c.cleared >= z.c.identified, 1), else_=0))
    return (
        select(
            z.c.year,
            z.c.month,
            code,
            literal("zero_employment_cleared"),
            literal("all"),
            literal(level),
            district,
            cast(done, s.agg_monthly.c.value.type),
            func.sum(z.c.identified),
        )
        .where(*sc.monthly(z.c.year, z.c.month, z.c.district_code))
        .group_by(z.c.year, z.c.month, code, district)
    )


def _subsidies(sc: Scope) -> Select:
    p = s.subsidy_payment
    y, m = _ym(p.c.paid_on)
    return (
        select(
            y,
            m,
            p.c.district_code,
            literal("subsidy_spending"),
            literal("all"),
            literal("district"),
            p.c.district_code,
            func.sum(p.c.amount_yuan),
            func.count(),
        )
        .where(*sc.dated(p.c.paid_on, p.c.district_code))
        .group_by(y, m, p.c.district_code)
    )
