"""SQL against the employment database, one module per subject; every function returns a DataFrame.

All statements are SQLAlchemy Core with bound parameters and aggregate in the database.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy.engine import Connection

F = TypeVar("F", bound=Callable[..., Any])


def reference_data(fn: F) -> F:
    """Mark a query that reveals no district's figures (geography, indicator definitions, calendars).

    Every other query must take ``district_code`` so that a district planner's view is filtered in SQL.
    """
    fn.reference_data = True  # type: ignore[attr-defined]
    return fn


def sensitive(
    values: tuple[str, ...], count: str = "persons", groups: tuple[str, ...] = ()
) -> Callable[[F], F]:
    """Mark a query whose ``values`` count persons (``count`` says how many stand behind each row).

    The UI's query runner blanks rows with fewer than k persons, with secondary suppression within ``groups``
    (the rows that add up to a total shown elsewhere); see ``privacy.suppress``.
    """

    def mark(fn: F) -> F:
        fn.sensitive = {"values": values, "count": count, "groups": groups}  # type: ignore[attr-defined]
        return fn

    return mark


def frame(conn: Connection, stmt: Any) -> pd.DataFrame:
    """Run a SELECT and return its rows as a DataFrame with the statement's column names.

    Plain tuples rather than row mappings: several times faster on large results (the 120,000 cells).
    """
    return pd.DataFrame.from_records(conn.execute(stmt).all(), columns=list(stmt.selected_columns.keys()))
