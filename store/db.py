"""Engines, schema creation (through Alembic) and fast bulk loading."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Table, create_engine, event, func, inspect, select
from sqlalchemy.engine import Connection

from store import schema

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def make_engine(
    url: str,
    statement_timeout_s: float | None = None,
    read_only: bool = False,
    busy_timeout_s: float = 30.0,
    connect_timeout_s: int = 5,
) -> Engine:
    """An engine for ``url``. SQLite gets foreign keys and WAL; PostgreSQL a statement time limit.

    ``busy_timeout_s``: how long an SQLite write waits for another writer's lock (a page's own writes use a short
    one, ``bureau.auditlog``); ``connect_timeout_s``: how long a PostgreSQL connection attempt may take."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_s})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    options = []
    if statement_timeout_s:
        options.append(f"-c statement_timeout={int(statement_timeout_s * 1000)}")
    if read_only:
        options.append("-c default_transaction_read_only=on")
    connect_args: dict[str, Any] = {"connect_timeout": connect_timeout_s}
    if options:
        connect_args["options"] = " ".join(options)
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at this package's migrations and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def drop_all(engine: Engine) -> None:
    """Remove every table of the schema and Alembic's version table (for tests and ``bureau demo --force``)."""
    schema.metadata.drop_all(engine)
    _alembic_version().drop(engine, checkfirst=True)


def _alembic_version() -> Table:
    from sqlalchemy import Column, MetaData, String

    return Table("alembic_version", MetaData(), Column("version_num", String(32), primary_key=True))


def missing_tables(engine: Engine) -> list[str]:
    """Names of schema tables the database does not have (empty when the schema is complete)."""
    present = set(inspect(engine).get_table_names())
    return sorted(name for name in schema.metadata.tables if name not in present)


def row_count(conn: Connection, table: Table) -> int:
    """Number of rows in ``table``."""
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert many rows fast: PostgreSQL COPY, otherwise the driver's executemany on a compiled INSERT.

    The statement is compiled from the Table object (never from strings) and values are always bound.
    Returns the number of rows written.
    """
    rows = list(rows)
    if not rows:
        return 0
    dbapi = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
        name = conn.dialect.identifier_preparer.format_table(table)
        with dbapi.cursor() as cur, cur.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return len(rows)
    # A plain compiled INSERT lists its bound columns in the order of ``column_keys``.
    stmt = table.insert().compile(dialect=conn.dialect, column_keys=list(columns))
    cur = dbapi.cursor()  # type: ignore[union-attr]
    cur.executemany(str(stmt), rows)
    cur.close()
    return len(rows)
