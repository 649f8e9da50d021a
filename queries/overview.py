"""What the leaders' overview needs beyond target attainment: spending progress, city series for sparklines,
the population cells and open service points for coverage, and the newest stored unemployment forecast.

All aggregation is in SQL (SQLAlchemy Core, bound parameters, SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
from sqlalchemy import Engine, and_, func, or_, select

from queries import frame, non_person, sensitive
from queries.disclosure import SPENDING, month_points, payees, with_points
from store import schema as s

CITY = "420100"


def _next_month(year: int, month: int) -> date:
    return date(year + (month == 12), month % 12 + 1, 1)


@sensitive(values=("spent_yuan", "progress"), count="payments")
def spending_progress(
    engine: Engine, year: int, month: int, district_code: str | None = None
) -> pd.DataFrame:
    """The city's (or one district's) fund spending progress at the end of ``month`` of ``year`` (one row).

    ``spent_yuan`` = all subsidy payments (``subsidy_payment``, every district and category) from 1 January to the
    end of ``month``; ``allocated_yuan`` = this year's fund allocation total (``fund_allocation``, every district and
    source); ``progress`` = spent ÷ allocated (a fraction; NaN when nothing is allocated); ``time_elapsed`` =
    month ÷ 12. Columns ``year, month, spent_yuan, allocated_yuan, progress, time_elapsed``, ``payments``
    (the payees the spending rests on, ``queries.disclosure.payees``: it is money paid to persons) and ``_points`` (the plan's points of
    the area's spending to the month, so the tile hides what Explore's months of it hide).
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1–12, got {month}")
    p, f = s.subsidy_payment, s.fund_allocation
    paid = (p.c.paid_on >= date(year, 1, 1), p.c.paid_on < _next_month(year, month))
    spent = select(func.coalesce(func.sum(p.c.amount_yuan), 0.0)).where(*paid)
    payments = select(payees()).where(*paid)
    alloc = select(func.sum(f.c.amount_yuan)).where(f.c.year == year)
    if district_code is not None:
        spent = spent.where(p.c.district_code == district_code)
        payments = payments.where(p.c.district_code == district_code)
        alloc = alloc.where(f.c.district_code == district_code)
    allocated = alloc.scalar_subquery()
    stmt = select(
        spent.scalar_subquery().label("spent_yuan"),
        allocated.label("allocated_yuan"),
        payments.scalar_subquery().label("payments"),
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).one()
    spent_v = float(row.spent_yuan or 0.0)
    alloc_v = float(row.allocated_yuan) if row.allocated_yuan is not None else float("nan")
    return pd.DataFrame(
        [
            {
                "year": year,
                "month": month,
                "spent_yuan": spent_v,
                "allocated_yuan": alloc_v,
                "progress": spent_v / alloc_v if alloc_v > 0 else float("nan"),
                "time_elapsed": month / 12,
                "payments": int(row.payments or 0),
                "_points": month_points(SPENDING, "all", district_code or CITY, year, 1, month),
            }
        ]
    )


@sensitive(values=("value",), groups=("indicator_code",))
def city_series(
    engine: Engine,
    indicator_codes: Sequence[str],
    end_year: int,
    end_month: int,
    months: int = 24,
    district_code: str | None = None,
) -> pd.DataFrame:
    """The city's (or, with ``district_code``, that district's) monthly values of ``indicator_codes`` for the
    ``months`` months ending at ``end_year-end_month``.

    Columns ``indicator_code, year, month, value`` (the indicator's unit; group ``all``), ``persons`` (behind
    the value), ordered by indicator and month. Months without a row are absent.
    """
    a = s.agg_monthly
    end = end_year * 100 + end_month
    first = pd.Period(year=end_year, month=end_month, freq="M") - (months - 1)
    start = first.year * 100 + first.month
    ym = a.c.year * 100 + a.c.month
    stmt = (
        select(a.c.indicator_code, a.c.area_code, a.c.year, a.c.month, a.c.value, a.c.persons)
        .where(
            a.c.level == ("city" if district_code is None else "district"),
            *([] if district_code is None else [a.c.area_code == district_code]),
            a.c.group_code == "all",
            a.c.indicator_code.in_(list(indicator_codes)),
            a.c.year.between(first.year, end_year),
            ym.between(start, end),
        )
        .order_by(a.c.indicator_code, a.c.year, a.c.month)
    )
    with engine.connect() as conn:
        return with_points(frame(conn, stmt))


@non_person("modelled resident estimates per 250 m cell (census-style, no bureau record): docs/privacy.md")
def population_cells(engine: Engine, district_code: str | None = None) -> pd.DataFrame:
    """Population cells for coverage: ``district_code, lon, lat`` (in the datum named by ``datum``),
    ``population`` (people) and ``rural`` (judged by the 5 km rule), one row per cell in ``cell_id`` order.

    Only the columns coverage needs, fetched as plain tuples: this is the one large read of the overview.
    """
    c = s.population_cell
    stmt = select(
        c.c.district_code,
        c.c.lon,
        c.c.lat,
        c.c.population,
        c.c.is_rural.label("rural"),
        c.c.datum,
    ).order_by(c.c.cell_id)
    if district_code is not None:
        stmt = stmt.where(c.c.district_code == district_code)
    with engine.connect() as conn:
        out = pd.DataFrame(conn.execute(stmt).all(), columns=list(stmt.selected_columns.keys()))
    out["rural"] = out["rural"].astype(bool)
    return out


@non_person("facilities: service points open on a date")
def open_points(
    engine: Engine, on: date, district_code: str | None = None, levels: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Service points open on date ``on`` (opened on or before it, not closed by then), of the station types
    ``levels`` when given (store/stations.py codes).

    Columns ``point_id, level, district_code, street_code, lon, lat, datum, capacity_people``.
    """
    sp = s.service_point
    stmt = (
        select(
            sp.c.point_id,
            sp.c.level,
            sp.c.district_code,
            sp.c.street_code,
            sp.c.lon,
            sp.c.lat,
            sp.c.datum,
            sp.c.capacity_people,
        )
        .where(sp.c.opened_on <= on, or_(sp.c.closed_on.is_(None), sp.c.closed_on > on))
        .order_by(sp.c.point_id)
    )
    if district_code is not None:
        stmt = stmt.where(sp.c.district_code == district_code)
    if levels is not None:
        stmt = stmt.where(sp.c.level.in_(levels))
    with engine.connect() as conn:
        return frame(conn, stmt)


@non_person("model output: forecast means and intervals of city-wide series")
def latest_forecast(
    engine: Engine,
    area_code: str = CITY,
    indicator_code: str = "registered_unemployment_rate",
    district_code: str | None = None,
) -> pd.DataFrame:
    """The newest stored forecast run for one area and indicator, month by month (empty when none is stored).

    Columns ``run_id, created_at, cut_off, model_version, year, month, mean, lo_80, hi_80, lo_95, hi_95, model``
    (values in the indicator's unit).
    """
    r, v = s.forecast_run, s.forecast_value
    newest = (
        select(r.c.run_id)
        .join(v, v.c.run_id == r.c.run_id)
        .where(v.c.area_code == area_code, v.c.indicator_code == indicator_code)
        .order_by(r.c.created_at.desc(), r.c.run_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(
            r.c.run_id,
            r.c.created_at,
            r.c.cut_off,
            r.c.model_version,
            v.c.year,
            v.c.month,
            v.c.mean,
            v.c.lo_80,
            v.c.hi_80,
            v.c.lo_95,
            v.c.hi_95,
            v.c.model,
        )
        .join(v, v.c.run_id == r.c.run_id)
        .where(r.c.run_id == newest, and_(v.c.area_code == area_code, v.c.indicator_code == indicator_code))
        .order_by(v.c.year, v.c.month)
    )
    if district_code is not None:
        stmt = stmt.where(v.c.district_code == district_code)
    with engine.connect() as conn:
        return frame(conn, stmt)
