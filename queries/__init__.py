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
    values: tuple[str, ...],
    count: str = "persons",
    groups: tuple[str, ...] = (),
    dims: tuple[str, ...] = (),
    ytd: str | None = None,
    monthly: tuple[str, ...] = (),
    parts: str | None = None,
    counts: dict[str, str] | None = None,
    span: str | None = None,
    ranks: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    """Mark a query whose ``values`` count persons or rest on them (``count`` says how many stand behind each row).

    Every caller (the UI's query runner, the meeting pack, exports) blanks rows that could reveal fewer than k
    persons, with secondary suppression within ``groups`` and along ``dims``, the year-to-date rule for ``ytd``
    and ``monthly``, the filtered-total rule for ``parts``, and ``counts`` for a table whose columns rest on
    different persons (value column → its count column), and ``ranks`` (ranks recomputed among the shown rows,
    none on a hidden row); see ``privacy.suppress``. A query whose figures are cut from ``agg_monthly`` also
    returns the points each row is a difference of (``_points``, ``_mpoints``, ``_points_<column>``; see
    ``privacy.linked``), so that every view hides what the city-wide plan hides.
    """

    def mark(fn: F) -> F:
        fn.sensitive = {  # type: ignore[attr-defined]
            "values": values,
            "count": count,
            "groups": groups,
            "dims": dims,
            "ytd": ytd,
            "monthly": monthly,
            "parts": parts,
            **({"counts": counts} if counts else {}),
            **({"span": span} if span else {}),
            **({"ranks": ranks} if ranks else {}),
        }
        return fn

    return mark


def non_person(reason: str) -> Callable[[F], F]:
    """Mark a query whose figures are not counts of persons (money, targets, facilities, model output, modelled
    population estimates) and say why; it is still filtered by district for a planner."""

    def mark(fn: F) -> F:
        fn.non_person = reason  # type: ignore[attr-defined]
        return fn

    return mark


def disclosure_control(reason: str) -> Callable[[F], F]:
    """Mark a query read only to decide what the others may show (the suppression plan), never shown itself:
    it reads every district, whoever is logged in, and no page may run it through the query runner."""

    def mark(fn: F) -> F:
        fn.disclosure_control = reason  # type: ignore[attr-defined]
        return fn

    return mark


def classification(fn: Callable[..., Any]) -> str | None:
    """``"sensitive"``, ``"reference"``, ``"non_person"``, ``"disclosure_control"`` or None (unclassified: a
    test fails on it)."""
    found = [
        name
        for name, attr in (
            ("sensitive", "sensitive"),
            ("reference", "reference_data"),
            ("non_person", "non_person"),
            ("disclosure_control", "disclosure_control"),
        )
        if getattr(fn, attr, None)
    ]
    return found[0] if len(found) == 1 else None


def frame(conn: Connection, stmt: Any) -> pd.DataFrame:
    """Run a SELECT and return its rows as a DataFrame with the statement's column names.

    Plain tuples rather than row mappings: several times faster on large results (the 120,000 cells).
    """
    return pd.DataFrame.from_records(conn.execute(stmt).all(), columns=list(stmt.selected_columns.keys()))
