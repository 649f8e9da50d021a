"""Benchmark: import a 1,000,000-row employment events CSV (goal: under 60 s) on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--no-pg]

A small city (tests/data/import: 3 streets in 2 districts) is imported first; then the events file is generated,
imported (read, validate, insert, refresh the aggregates, data_load row) and re-imported (nothing changes). The
timing covers ``import_batch`` end to end, forecasts excluded (``refresh_forecasts=False``). PostgreSQL runs on a
throwaway cluster started like the test fixtures (``initdb``/``pg_ctl`` on a free loopback port, fsync off).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobs.importing.load import import_batch  # noqa: E402
from store.db import make_engine  # noqa: E402

DATA = ROOT / "tests" / "data" / "import"
CITY = ["areas.csv", "area_year.csv"]


def events_csv(rows: int, seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    streets = np.array(["420102001", "420102002", "420103001"])
    days = pd.date_range("2024-01-01", "2026-09-30", freq="D").strftime("%Y-%m-%d").to_numpy()
    frame = pd.DataFrame(
        {
            "event_id": np.arange(1, rows + 1),
            "person_id": rng.integers(1, rows // 2 + 2, rows),
            "street_code": streets[rng.integers(0, 3, rows)],
            "event_date": days[rng.integers(0, len(days), rows)],
            "kind": np.where(rng.random(rows) < 0.9, "urban_new", "rural_transfer"),
            "group_code": np.array(
                ["registered_unemployed", "difficulty", "graduate", "rural_labour", "other"]
            )[rng.integers(0, 5, rows)],
            "employment_type": np.array(["enterprise", "self_employed", "flexible", "public_welfare"])[
                rng.integers(0, 4, rows)
            ],
        }
    )
    return frame.to_csv(index=False).encode()


def run(url: str, payload: bytes, label: str) -> None:
    engine = make_engine(url)
    city = [(n, (DATA / n).read_bytes()) for n in CITY]
    assert import_batch(engine, city, "bench", refresh_forecasts=False).exit_code == 0
    rows = payload.count(b"\n") - 1
    for attempt in ("first import", "re-import"):
        started = time.perf_counter()
        report = import_batch(engine, [("employment_events.csv", payload)], "bench", refresh_forecasts=False)
        seconds = time.perf_counter() - started
        assert report.exit_code == 0, [p.message("en") for p in report.problems[:5]]
        print(
            f"{label:<11} {attempt:<13} {rows:>10,} rows  {seconds:6.1f} s  {rows / seconds:>10,.0f} rows/s"
            f"  written {report.written:,}, aggregates {report.refreshed_rows or 0:,}"
        )
    engine.dispose()


def pg_cluster() -> tuple[str, object] | None:
    """Start a throwaway PostgreSQL cluster; returns (url, stop function) or None when PostgreSQL is missing."""
    import glob
    import os
    import socket

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        return None
    bindir = Path(found[-1]).parent
    work = Path(tempfile.mkdtemp(prefix="pgbench-"))
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if prefix:
        shutil.chown(work, "postgres", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(work / "data"), "-A", "trust", "-U", "postgres",
                    "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)  # fmt: skip
    opts = f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(work / "data"), "-o", opts, "-l",
                    str(work / "log"), "-w", "start"], check=True, capture_output=True)  # fmt: skip

    def stop() -> None:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(work / "data"), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)

    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE bench"))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/bench", stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    payload = events_csv(args.rows)
    print(
        f"bench_import {date.today()}: generated {len(payload) / 1e6:.0f} MB CSV in {time.perf_counter() - started:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.sqlite", payload, "SQLite")
    if not args.no_pg:
        cluster = pg_cluster()
        if cluster is None:
            print("PostgreSQL    not installed: skipped")
            return
        url, stop = cluster
        try:
            run(url, payload, "PostgreSQL")
        finally:
            stop()  # type: ignore[operator]


if __name__ == "__main__":
    main()
