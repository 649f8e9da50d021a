"""PostgreSQL partitioning of the large tables: by month in production, or by district the way Citus shards.

Two layouts, both on one PostgreSQL server and invisible to the queries (same table names, same SQL):

* ``month`` (installed by migration 0002): the person-level event tables are ``PARTITION BY RANGE`` of their
  date, one partition per month plus a default partition, so a refresh or an import that touches recent months
  reads and writes only their partitions (partition pruning), and old years can be detached and archived.
  ``ensure_months`` creates the partitions a load needs before it writes.
* ``district`` (the Citus design, proven by the test suite): every table that has a ``district_code`` and
  grows with the data is ``PARTITION BY HASH (district_code)`` into ``SHARDS`` parts, the way
  ``create_distributed_table(table, 'district_code')`` would shard it across nodes; geography, indicators and the
  calendar stay whole (Citus reference tables). Primary keys gain ``district_code``, as Citus requires of
  unique constraints on distributed tables.

On SQLite every function is a no-op. Identifiers come only from the fixed tables below, quoted by the dialect;
no value is ever formatted into SQL.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Table, func, literal, select, text
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.engine import Connection

from store import schema

MONTHLY: dict[str, str] = {
    "employment_event": "event_date",
    "unemployment_spell": "registered_on",
    "training_record": "completed_on",
}
SHARDS = 4
# Distributed by district (Citus ``create_distributed_table(t, 'district_code')``): the tables that grow with the
# data. They are only ever joined to each other on district_code (or aggregated first), which Citus pushes down
# to the node holding the district.
DISTRIBUTED = (*schema.PERSON_LEVEL_TABLES, "agg_monthly")
# Whole on every node (Citus ``create_reference_table``): small, joined from everywhere on other keys
# (area_code, indicator), or crossing districts (coverage of a point near a district boundary).
REFERENCE = (
    "area",
    "indicator",
    "calendar_month",
    "target",
    "target_weight",
    "area_year",
    "reported_monthly",
    "fund_allocation",
    "guarantee_fund",
    "zero_employment_household",
    "population_cell",
    "service_point",
    "service_point_item",
    "road_node",
    "road_edge",
)
# On the coordinator only (Citus local tables): users, audit, job bookkeeping and stored results, all small.
LOCAL = (
    "app_user",
    "audit_log",
    "login_failure",
    "data_change",
    "data_load",
    "forecast_accuracy",
    "forecast_run",
    "forecast_value",
    "pack_snapshot",
    "scoring_scheme",
)


def layout(conn: Connection, table: str) -> str | None:
    """How ``table`` is partitioned: ``range``, ``hash``, or None (a plain table, or not PostgreSQL)."""
    if conn.dialect.name != "postgresql":
        return None
    strategy = conn.execute(
        text(
            "SELECT p.partstrat FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = :name AND pg_table_is_visible(c.oid)"
        ),
        {"name": table},
    ).scalar()
    return {"r": "range", "h": "hash", "l": "list"}.get(strategy) if strategy else None


def apply(conn: Connection, kind: str) -> None:
    """Rebuild the tables of layout ``kind`` (``month``, ``district`` or ``none``), keeping every row."""
    if conn.dialect.name != "postgresql":
        return
    if kind == "month":
        for name, column in MONTHLY.items():
            _rebuild(conn, schema.metadata.tables[name], "RANGE", column)
        first, last = _date_range(conn)
        ensure_months(conn, first, last)
    elif kind == "district":
        for name in DISTRIBUTED:
            _rebuild(conn, schema.metadata.tables[name], "HASH", "district_code")
    elif kind == "none":
        for name in {*MONTHLY, *DISTRIBUTED}:
            if layout(conn, name):
                _rebuild(conn, schema.metadata.tables[name], None, None)
    else:
        raise ValueError(f"unknown partition layout {kind!r}")


def ensure_months(conn: Connection, first: date, last: date) -> int:
    """Create the missing month partitions from ``first``'s month through ``last``'s; returns how many were made.

    A month whose rows already sit in the default partition is left there (PostgreSQL would refuse the new
    partition); queries still see them, only without pruning.
    """
    made = 0
    q = conn.dialect.identifier_preparer.quote
    for name in MONTHLY:
        if layout(conn, name) != "range":
            continue
        existing = set(_partitions(conn, name))
        for period in pd.period_range(pd.Period(first, freq="M"), pd.Period(last, freq="M"), freq="M"):
            part = f"{name}_y{period.year}m{period.month:02d}"
            if part in existing:
                continue
            lower, upper = period.start_time.date(), (period + 1).start_time.date()
            default = sa_table(name + "_default", sa_column(MONTHLY[name]))
            day = default.c[MONTHLY[name]]
            stray = conn.execute(
                select(literal(1)).select_from(default).where(day >= lower, day < upper).limit(1)
            ).first()
            if stray is not None:
                continue  # PostgreSQL would refuse the partition while the default one holds that month
            # Partition bounds must be literals in DDL: dates generated here, never user input.
            conn.exec_driver_sql(
                f"CREATE TABLE {q(part)} PARTITION OF {q(name)} "
                f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
            )
            made += 1
    return made


def _date_range(conn: Connection) -> tuple[date, date]:
    """The months the event tables cover now, widened to at least this year and the next (for new loads)."""
    today = date.today()
    first, last = date(today.year, 1, 1), date(today.year + 1, 12, 31)
    for name, column in MONTHLY.items():
        low, high = _span(conn, name, column)
        if low is not None and high is not None:
            first, last = min(first, low), max(last, high)
    return first, last


def _partitions(conn: Connection, name: str) -> list[str]:
    """The names of the partitions attached to table ``name`` (none for a plain table)."""
    stmt = text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :name"
    )
    return list(conn.execute(stmt, {"name": name}).scalars())


def _span(conn: Connection, name: str, column: str) -> tuple[date | None, date | None]:
    """The smallest and largest value of ``column`` in table ``name``."""
    t = sa_table(name, sa_column(column))
    low, high = conn.execute(select(func.min(t.c[column]), func.max(t.c[column]))).one()
    return low, high


def _rebuild(conn: Connection, table: Table, strategy: str | None, column: str | None) -> None:
    """Recreate ``table`` partitioned by ``strategy`` (RANGE/HASH) of ``column``, or plain when None."""
    q = conn.dialect.identifier_preparer.quote
    name = table.name
    old = f"{name}__old"
    children = _partitions(conn, name)
    # The secondary indexes the table has now (not the schema module's: a migration must see the database as
    # that revision left it), recreated on the new table from PostgreSQL's own definitions.
    indexes = conn.execute(
        text(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = :name AND pg_table_is_visible(t.oid) AND NOT x.indisprimary"
        ),
        {"name": name},
    ).all()
    for child in list(children):
        conn.exec_driver_sql(f"ALTER TABLE {q(child)} RENAME TO {q(child + '__old')}")
    conn.exec_driver_sql(f"ALTER TABLE {q(name)} RENAME TO {q(old)}")
    for index_name, _definition in indexes:
        conn.exec_driver_sql(f"DROP INDEX {q(index_name)}")
    partition = f" PARTITION BY {strategy} ({q(column)})" if strategy and column else ""
    conn.exec_driver_sql(f"CREATE TABLE {q(name)} (LIKE {q(old)} INCLUDING DEFAULTS){partition}")
    if strategy == "HASH":
        for r in range(SHARDS):
            conn.exec_driver_sql(
                f"CREATE TABLE {q(f'{name}_shard{r}')} PARTITION OF {q(name)} "
                f"FOR VALUES WITH (MODULUS {SHARDS}, REMAINDER {r})"
            )
    elif strategy == "RANGE":
        conn.exec_driver_sql(f"CREATE TABLE {q(name + '_default')} PARTITION OF {q(name)} DEFAULT")
        assert column is not None
        low, high = _span(conn, old, column)
        if low is not None and high is not None:
            ensure_months(conn, low, high)
    cols = ", ".join(q(c.name) for c in table.columns)
    conn.exec_driver_sql(f"INSERT INTO {q(name)} ({cols}) SELECT {cols} FROM {q(old)}")
    conn.exec_driver_sql(f"DROP TABLE {q(old)} CASCADE")
    key = [c.name for c in table.primary_key.columns]
    if column and column not in key:
        key.append(column)  # a partitioned table's unique keys must contain the partition key
    if key:
        conn.exec_driver_sql(f"ALTER TABLE {q(name)} ADD PRIMARY KEY ({', '.join(q(k) for k in key)})")
    for _index_name, definition in indexes:
        conn.exec_driver_sql(definition)  # "CREATE INDEX … ON <name> …": the name now means the new table
