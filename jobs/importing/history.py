"""What the Data page shows about imports: the import loads (who, which files) and the replaced figures."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from store import schema as s


def _frame(engine: Engine, stmt) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).mappings().all(), columns=list(stmt.selected_columns.keys()))


def imports(engine: Engine, limit: int = 50) -> pd.DataFrame:
    """The newest imports: load_id, finished_at, rows, cut_off, loaded_by, source (files, encodings, datums)."""
    d = s.data_load
    stmt = (
        select(d.c.load_id, d.c.finished_at, d.c.rows, d.c.cut_off, d.c.loaded_by, d.c.source)
        .where(d.c.kind == "import")
        .order_by(d.c.load_id.desc())
        .limit(limit)
    )
    return _frame(engine, stmt)


def replacements(engine: Engine, limit: int = 500) -> pd.DataFrame:
    """Figures replaced by imports, newest first: load_id, changed_at, changed_by, table_name, row_key (JSON),
    previous_json and new_json (the changed columns' values before and after)."""
    c = s.data_change
    stmt = (
        select(
            c.c.load_id,
            c.c.changed_at,
            c.c.changed_by,
            c.c.table_name,
            c.c.row_key,
            c.c.previous_json,
            c.c.new_json,
        )  # fmt: skip
        .order_by(c.c.change_id.desc())
        .limit(limit)
    )
    return _frame(engine, stmt)
