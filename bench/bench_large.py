"""The large scale on PostgreSQL: build ``bureau demo --scale large`` in a throwaway server, then time the pages.

Run: .venv/bin/python bench/bench_large.py [--url POSTGRES_URL] [--keep] [--skip-build] [--repeat 2]

Without ``--url`` a throwaway PostgreSQL cluster is started on loopback (Debian's postgresql package; as root
through ``runuser -u postgres``), tuned for a bulk load (fsync off: it is thrown away afterwards). Prints the
build time, peak memory, row counts, table sizes and every page's cold and warm server-side run (AppTest).
Goals (issues #2, #10): at least 10 million persons and 50 million events; pages < 1 s warm, < 3 s cold.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from jobs import demo  # noqa: E402
from store.db import make_engine  # noqa: E402

EVENT_TABLES = ("employment_event", "unemployment_spell", "training_record", "startup_loan")
BULK_SETTINGS = {
    "shared_buffers": "2GB",
    "max_wal_size": "32GB",
    "checkpoint_timeout": "30min",
    "maintenance_work_mem": "1GB",
    "work_mem": "64MB",
    "synchronous_commit": "off",
    "max_parallel_workers_per_gather": "2",
}


def build(url: str, until: str | None) -> dict:
    engine = make_engine(url)
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"  {time.perf_counter() - started:7.1f} s  {message}", flush=True)

    import pandas as pd

    result = demo.build(
        engine,
        scale="large",
        until=pd.Period(until, freq="M") if until else None,
        force=True,
        progress=say,
    )
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    with engine.connect() as conn:
        sizes = {
            name: conn.execute(text("SELECT pg_total_relation_size(:t)"), {"t": name}).scalar_one() / 1024**3
            for name in ("person", *EVENT_TABLES, "agg_monthly")
        }
    return {
        "seconds": round(result.seconds, 1),
        "peak_rss_gib": round(peak_gib, 2),
        "persons": result.rows["person"],
        "events": sum(result.rows[t] for t in EVENT_TABLES),
        "rows": result.rows,
        "size_gib": {k: round(v, 2) for k, v in sizes.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="an existing PostgreSQL database (default: a throwaway cluster)")
    parser.add_argument("--until", help="last month of data, YYYY-MM (default: the last full month)")
    parser.add_argument(
        "--skip-build", action="store_true", help="time the pages on what --url already holds"
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="leave the throwaway server running")
    args = parser.parse_args()
    cluster = None
    url = args.url
    if url is None:
        from tests.conftest import PgCluster

        cluster = PgCluster(settings=BULK_SETTINGS)
        url = cluster.url
        print(f"throwaway PostgreSQL at {url} ({cluster.workdir})", flush=True)
    try:
        if not args.skip_build:
            print("building the large demo city", flush=True)
            print(json.dumps(build(url, args.until), indent=1), flush=True)
        import bench_pages
        import explain_queries

        print("main queries (first call, seconds):", flush=True)
        engine = make_engine(url)
        for name, fn in explain_queries.calls(2026, 9).items():
            started = time.perf_counter()
            fn(engine)
            print(f"  {name:<34} {time.perf_counter() - started:6.3f}", flush=True)
        from jobs import forecast as forecast_job  # stored forecasts first: the Forecasts page reads them

        started = time.perf_counter()
        forecast_job.run(make_engine(url))
        print(
            f"forecast job (bureau forecast): {time.perf_counter() - started:.1f} s (goal < 60 s)", flush=True
        )
        print("pages (AppTest, server side):", flush=True)
        for row in bench_pages.measure(url, args.repeat):
            print(json.dumps(row), flush=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        print(f"peak memory of this process: {peak:.2f} GiB", flush=True)
    finally:
        if cluster is not None and not args.keep:
            cluster.remove()
        elif cluster is not None:
            print(f"kept: {url}")


if __name__ == "__main__":
    main()
