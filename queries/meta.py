"""What is in the database: tables and row counts, loads, the data cut-off, areas and indicators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection, Engine, func, inspect, select, text

from queries import frame, non_person, reference_data
from store import schema as s


@dataclass(frozen=True)
class DataStatus:
    """The state a page needs before it shows figures."""

    has_schema: bool
    has_data: bool
    cut_off: date | None
    last_load: datetime | None
    synthetic: bool
    latest_year: int | None
    latest_month: int | None
    missing_tables: tuple[str, ...]


def _as_date(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value  # type: ignore[return-value]
    return date.fromisoformat(str(value)[:10])


@reference_data
def data_version(engine: Engine) -> tuple[int, str]:
    """The newest load of any kind (demo, import, refresh, forecast, roads): its id and finish time.

    One indexed look-up, cheap enough for every rerun: every cache of figures is keyed on it, so an import or
    a forecast run shows on every page at the next rerun. ``(0, "")`` when nothing was ever loaded."""
    with engine.connect() as conn:
        row = conn.execute(
            select(s.data_load.c.load_id, s.data_load.c.finished_at)
            .order_by(s.data_load.c.load_id.desc())
            .limit(1)
        ).first()
    return (int(row[0]), str(row[1])) if row else (0, "")


@reference_data
def data_status(engine: Engine) -> DataStatus:
    """Schema present? data loaded? cut-off date, newest load, synthetic or real, latest aggregated month."""
    present = set(inspect(engine).get_table_names())
    missing = tuple(sorted(n for n in s.metadata.tables if n not in present))
    if missing:
        return DataStatus(
            bool(present & set(s.metadata.tables)), False, None, None, False, None, None, missing
        )
    with engine.connect() as conn:
        load = conn.execute(
            select(s.data_load.c.cut_off, s.data_load.c.finished_at, s.data_load.c.synthetic)
            .where(s.data_load.c.kind.in_(["demo", "import"]))
            .order_by(s.data_load.c.load_id.desc())
            .limit(1)
        ).first()
        latest = conn.execute(
            select(s.agg_monthly.c.year, func.max(s.agg_monthly.c.month))
            .where(s.agg_monthly.c.year == select(func.max(s.agg_monthly.c.year)).scalar_subquery())
            .group_by(s.agg_monthly.c.year)
        ).first()
    return DataStatus(
        has_schema=True,
        has_data=latest is not None,
        cut_off=_as_date(load.cut_off) if load else None,
        last_load=load.finished_at if load else None,
        synthetic=bool(load.synthetic) if load else False,
        latest_year=int(latest[0]) if latest else None,
        latest_month=int(latest[1]) if latest else None,
        missing_tables=(),
    )


ESTIMATE_ABOVE = 1_000_000  # rows: above this, PostgreSQL's statistics instead of a full count


@reference_data
def table_counts(engine: Engine) -> pd.DataFrame:
    """One row per schema table: ``table``, ``rows`` (None when the table is missing), ``estimated``.

    On PostgreSQL a table the planner's statistics put above :data:`ESTIMATE_ABOVE` rows is not counted (a
    full count of 50 million events takes tens of seconds); its ``rows`` is the statistics' estimate (summed
    over partitions) and ``estimated`` is True. Smaller tables, and every table on SQLite, are counted exactly.
    """
    present = set(inspect(engine).get_table_names())
    rows = []
    with engine.connect() as conn:
        estimates = _row_estimates(conn) if conn.dialect.name == "postgresql" else {}
        for name, table in s.metadata.tables.items():
            estimate = estimates.get(name, 0.0)
            if name not in present:
                n, estimated = None, False
            elif estimate >= ESTIMATE_ABOVE:
                n, estimated = int(round(estimate)), True
            else:
                n, estimated = conn.execute(select(func.count()).select_from(table)).scalar_one(), False
            rows.append({"table": name, "rows": n, "estimated": estimated})
    return pd.DataFrame(rows)


def _row_estimates(conn: Connection) -> dict[str, float]:
    """PostgreSQL's row estimates per table (``pg_class.reltuples``, partitions added to their parent)."""
    stmt = text(
        "SELECT coalesce(parent.relname, c.relname) AS name, sum(greatest(c.reltuples, 0)) AS n "
        "FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid "
        "LEFT JOIN pg_class parent ON parent.oid = i.inhparent "
        "WHERE c.relkind = :kind AND pg_table_is_visible(c.oid) GROUP BY 1"
    )
    return {name: float(n) for name, n in conn.execute(stmt, {"kind": "r"}).all()}


@reference_data
def loads(engine: Engine, limit: int = 20) -> pd.DataFrame:
    """The newest data loads, refreshes and forecast runs."""
    d = s.data_load
    stmt = (
        select(
            d.c.load_id,
            d.c.kind,
            d.c.started_at,
            d.c.finished_at,
            d.c.rows,
            d.c.cut_off,
            d.c.synthetic,
            d.c.note,
        )
        .order_by(d.c.load_id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return frame(conn, stmt)


@reference_data
def areas(engine: Engine, level: str, parent_code: str | None = None) -> pd.DataFrame:
    """Areas of one level (optionally under one parent): code, names, zone, rural flag, centroid."""
    a = s.area
    stmt = select(
        a.c.area_code,
        a.c.name_zh,
        a.c.name_en,
        a.c.zone,
        a.c.is_rural,
        a.c.parent_code,
        a.c.district_code,
        a.c.centroid_lon,
        a.c.centroid_lat,
    ).where(a.c.level == level)
    if parent_code is not None:
        stmt = stmt.where(a.c.parent_code == parent_code)
    with engine.connect() as conn:
        return frame(conn, stmt.order_by(a.c.area_code))


@reference_data
def boundaries(engine: Engine, level: str, parent_code: str | None = None) -> pd.DataFrame:
    """Areas with their GeoJSON boundary text (GCJ-02), for maps."""
    a = s.area
    stmt = select(a.c.area_code, a.c.name_zh, a.c.name_en, a.c.zone, a.c.boundary_geojson).where(
        a.c.level == level, a.c.boundary_geojson.is_not(None)
    )
    if parent_code is not None:
        stmt = stmt.where(a.c.parent_code == parent_code)
    with engine.connect() as conn:
        return frame(conn, stmt.order_by(a.c.area_code))


@reference_data
def indicators(engine: Engine, category: str | None = None) -> pd.DataFrame:
    """The indicator table (the one definition of every measure), in display order."""
    i = s.indicator
    stmt = select(i.c.code, i.c.name_zh, i.c.name_en, i.c.unit, i.c.direction, i.c.kind, i.c.category)
    if category:
        stmt = stmt.where(i.c.category == category)
    with engine.connect() as conn:
        return frame(conn, stmt.order_by(i.c.sort_order))


@reference_data
def years_available(engine: Engine) -> list[int]:
    """Years that have aggregated data, newest first."""
    a = s.agg_monthly
    with engine.connect() as conn:
        return [int(r[0]) for r in conn.execute(select(a.c.year).distinct().order_by(a.c.year.desc()))]


@reference_data
def months_available(engine: Engine, year: int) -> list[int]:
    """Months of ``year`` that have aggregated data."""
    a = s.agg_monthly
    with engine.connect() as conn:
        return [
            int(r[0])
            for r in conn.execute(select(a.c.month).where(a.c.year == year).distinct().order_by(a.c.month))
        ]


@non_person("staff actions (who looked at what), for administrators only")
def audit_entries(engine: Engine, limit: int = 500) -> pd.DataFrame:
    """The newest audit-log lines (who, when, what view or export); for administrators only."""
    a = s.audit_log
    stmt = (
        select(a.c.at, a.c.username, a.c.role, a.c.action, a.c.target, a.c.detail)
        .order_by(a.c.audit_id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return frame(conn, stmt)
