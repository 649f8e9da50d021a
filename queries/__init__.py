"""SQL against the employment database, one module per subject; every function returns a DataFrame.

All statements are SQLAlchemy Core with bound parameters and aggregate in the database.
"""

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def reference_data(fn: F) -> F:
    """Mark a query that reveals no district's figures (geography, indicator definitions, calendars).

    Every other query must take ``district_code`` so that a district planner's view is filtered in SQL.
    """
    fn.reference_data = True  # type: ignore[attr-defined]
    return fn
