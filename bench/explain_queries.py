"""EXPLAIN ANALYZE of every SQL statement the main page queries run, on PostgreSQL: which index, which rows, how long.

Run: .venv/bin/python bench/explain_queries.py --url POSTGRES_URL [--year 2026 --month 9] [--full]

Each query function is called once with SQLAlchemy's ``before_cursor_execute`` hook recording the statements
and their bound parameters; each statement is then run again under ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)``
with the same parameters. Prints, per statement: execution time, the scan nodes (table, scan type, index) and
the rows read, so that every index in ``bureau/schema.py`` can be justified by a plan (docs/data-model.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event  # noqa: E402

from queries import checks, circle, explore, forecasts, funds, overview, targets  # noqa: E402
from store.db import make_engine  # noqa: E402


def calls(year: int, month: int) -> dict[str, Callable[[Engine], Any]]:
    """The queries behind the pages, as a leader and as a district planner (district forced in SQL)."""
    return {
        "targets.attainment (city)": lambda e: targets.attainment(e, year, month),
        "targets.attainment (planner)": lambda e: targets.attainment(e, year, month, district_code="420102"),
        "targets.attainment (streets)": lambda e: targets.attainment(e, year, month, "street", "420114"),
        "targets.monthly_curve": lambda e: targets.monthly_curve(e, year, "420106", "urban_new_employment"),
        "targets.group_breakdown": lambda e: targets.group_breakdown(e, year, month, "420106"),
        "funds.fund_indicators": lambda e: funds.fund_indicators(e, year, month),
        "overview.spending_progress": lambda e: overview.spending_progress(e, year, month),
        "explore (district x quarter)": lambda e: explore.explore(
            e, "urban_new_employment", "area", "period", grain="quarter"
        ),
        "explore (streets, stock)": lambda e: explore.explore(
            e, "registered_unemployed", "area", level="street"
        ),
        "checks.unreconciled": lambda e: checks.unreconciled(e, year, month),
        "checks.monthly_series": lambda e: checks.monthly_series(e),
        "forecasts.series_history": lambda e: forecasts.series_history(e),
        "circle.cells": lambda e: circle.cells(e),
    }


def _index_names(node: dict[str, Any]) -> list[str]:
    """Indexes a bitmap scan combines (its Bitmap Index Scan children, through BitmapAnd/Or)."""
    names = [node["Index Name"]] if "Index Name" in node else []
    for child in node.get("Plans", []):
        names += _index_names(child)
    return names


def _scans(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "Relation Name" in node:
        yield {
            "table": node["Relation Name"],
            "scan": node["Node Type"],
            "index": "+".join(_index_names(node)) or None,
            "rows": node.get("Actual Rows", 0) * node.get("Actual Loops", 1),
        }
    for child in node.get("Plans", []):
        if child.get("Node Type") not in ("Bitmap Index Scan", "BitmapAnd", "BitmapOr"):  # named above
            yield from _scans(child)


def explain(engine: Engine, name: str, fn: Callable[[Engine], Any]) -> list[dict[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        fn(engine)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    out = []
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for statement, parameters in seen:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
            row = cur.fetchone()
            assert row is not None
            plan = row[0][0]
            out.append(
                {
                    "query": name,
                    "ms": round(plan["Execution Time"], 1),
                    "scans": list(_scans(plan["Plan"])),
                    "sql": " ".join(statement.split())[:160],
                }
            )
        raw.rollback()
    finally:
        raw.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--month", type=int, default=9)
    parser.add_argument("--full", action="store_true", help="print the statements too")
    args = parser.parse_args()
    engine = make_engine(args.url)
    for name, fn in calls(args.year, args.month).items():
        for row in explain(engine, name, fn):
            scans = "; ".join(
                f"{s['table']} {s['scan']}{' ' + s['index'] if s['index'] else ''} ({s['rows']:,} rows)"
                for s in row["scans"]
            )
            print(f"{row['query']:<32} {row['ms']:>8.1f} ms  {scans}")
            if args.full:
                print("    " + row["sql"])


if __name__ == "__main__":
    main()
