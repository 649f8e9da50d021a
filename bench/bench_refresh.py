"""Benchmark: full rebuild of the monthly aggregates against the incremental refresh of the last month.

    .venv/bin/python bench/bench_refresh.py --url sqlite:////tmp/demo.sqlite [--repeat 3] [--district 420102]
    .venv/bin/python bench/bench_refresh.py --url postgresql+psycopg://user@host/db --repeat 1

Cases: ``full`` (``refresh(conn)``), ``last month`` (``refresh(conn, since=<last calendar month>)``), ``last month,
one district`` (the same for one district; by default the district with the most streets) and ``last 12 months``.
Every refresh runs inside a transaction that is rolled back, so the database is left exactly as it was (on
PostgreSQL the rows are still written and then discarded: WAL and dead tuples, cleaned by autovacuum). Nothing is
changed before the incremental runs: they recompute the same rows the full rebuild would, which is the work an
import of one month triggers. Each figure is printed with the 1-minute load average at that moment, since other
processes on a shared machine slow it down.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Collection
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobs import refresh  # noqa: E402
from store import schema as s  # noqa: E402
from store.config import safe_url  # noqa: E402
from store.db import make_engine  # noqa: E402


def timed(engine, since: date | None, districts: Collection[str] | None) -> tuple[float, int, str]:  # type: ignore[no-untyped-def]
    """Seconds of one refresh inside a transaction that is rolled back; rows written; the scope used."""
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            started = time.perf_counter()
            scope = refresh.scope(conn, since, districts)
            rows = refresh.run(conn, scope)
            seconds = time.perf_counter() - started
        finally:
            tx.rollback()
    return seconds, rows, scope.describe()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a database with refreshed aggregates")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case (default 3)")
    parser.add_argument("--district", help="district of the one-district case (default: the most streets)")
    parser.add_argument(
        "--skip-full", action="store_true", help="leave out the full rebuild (very large data)"
    )
    args = parser.parse_args(argv)
    engine = make_engine(args.url)
    with engine.connect() as conn:
        cal = s.calendar_month
        last = conn.execute(
            select(cal.c.year, cal.c.month).order_by(cal.c.year.desc(), cal.c.month.desc())
        ).first()
        if last is None:
            print("no calendar: run `bureau refresh` (or `bureau demo`) first", file=sys.stderr)
            return 2
        a = s.area
        district = (
            args.district
            or conn.execute(
                select(a.c.district_code)
                .where(a.c.level == "street")
                .group_by(a.c.district_code)
                .order_by(func.count().desc(), a.c.district_code)
                .limit(1)
            ).scalar_one()
        )
        rows = conn.execute(select(func.count()).select_from(s.agg_monthly)).scalar_one()
    month = date(last.year, last.month, 1)
    year_ago = (
        date(last.year - 1, last.month, 1) if last.month == 12 else date(last.year - 1, last.month + 1, 1)
    )
    cases: list[tuple[str, date | None, list[str] | None]] = [
        ("last month", month, None),
        ("last month, one district", month, [district]),
        ("last 12 months", year_ago, None),
    ]
    if not args.skip_full:
        cases.insert(0, ("full", None, None))
    print(
        f"database {safe_url(args.url)}: {rows:,} aggregate rows, last month {month:%Y-%m}, district {district}"
    )
    print(f"{'case':<26}{'scope':<52}{'rows':>10}  seconds (load average 1 min)")
    for name, since, districts in cases:
        runs = []
        for _ in range(args.repeat):
            seconds, written, scope = timed(engine, since, districts)
            runs.append(seconds)
            print(f"{name:<26}{scope:<52}{written:>10,}  {seconds:8.2f} (load {os.getloadavg()[0]:.2f})")
        if len(runs) > 1:
            print(f"{'':<26}{'median / min':<52}{'':>10}  {statistics.median(runs):8.2f} / {min(runs):.2f}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
