"""The small demo build (`bureau demo --scale small`, with its forecasts), timed beside a fixed CPU workload.

Run: .venv/bin/python bench/bench_demo.py [--scale small] [--no-forecasts] [--keep PATH]
Goal (issues #2, #19): the small demo city, forecasts included, in under 60 s.

Machines differ and this one is shared, so the same run also times a fixed reference workload (pure Python,
NumPy and SQLite inserts, the build's three kinds of work; single-threaded) before and after the build, and
states the build as a multiple of it. The build's phases come from its own progress messages. A build that
takes 60 s where the reference takes R seconds is "60 / R references": compare ratios across machines.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def reference() -> float:
    """Seconds for a fixed single-threaded workload (1.16 s on the development machine at load 1.3)."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):  # interpreter
        total += i * i % 7
    rng = np.random.default_rng(1)
    for _ in range(3):  # NumPy
        a = rng.random(3_000_000)
        a.sort()
        total += int(np.searchsorted(a, 0.5))
    with tempfile.TemporaryDirectory() as tmp:  # SQLite bulk insert and an index, as the build writes
        con = sqlite3.connect(Path(tmp) / "ref.sqlite")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("CREATE TABLE t (a INTEGER, b TEXT, c REAL, d INTEGER)")
        rows = [(i, f"2024-{i % 12 + 1:02d}-01", i * 0.5, i % 97) for i in range(600_000)]
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
        con.execute("CREATE INDEX ix ON t (d, b)")
        con.commit()
        con.close()
    assert total >= 0
    return time.perf_counter() - started


def build(scale: str, url: str, forecasts: bool) -> tuple[float, str]:
    """Wall seconds of ``bureau demo`` in its own process, and its output."""
    command = [str(ROOT / ".venv" / "bin" / "bureau"), "demo", "--scale", scale, "--url", url, "--force"]
    if not forecasts:
        command.append("--no-forecasts")
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    took = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"bureau demo failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    return took, done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", default="small")
    parser.add_argument("--no-forecasts", action="store_true")
    parser.add_argument("--keep", help="build into this SQLite file (kept) instead of a temporary one")
    args = parser.parse_args()
    load = [os.getloadavg()[0]]
    ref_before = reference()
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "demo.sqlite"
        load.append(os.getloadavg()[0])
        took, out = build(args.scale, f"sqlite:///{path}", not args.no_forecasts)
        load.append(os.getloadavg()[0])
    ref_after = reference()
    ref = (ref_before + ref_after) / 2
    inside = re.search(r"rows, data cut-off [0-9-]+, ([0-9.]+) s", out)
    fc = re.search(r"forecast run \d+ stored \(([0-9.]+) s\)", out)
    print(out.strip())
    print()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average {' → '.join(f'{x:.1f}' for x in load)}"
    )
    print(f"reference workload: {ref_before:.2f} s before, {ref_after:.2f} s after (mean {ref:.2f} s)")
    print(
        f"small demo build ({'with' if not args.no_forecasts else 'without'} forecasts): {took:.1f} s wall"
        + (f" ({inside.group(1)} s inside the job" if inside else "")
        + (f", forecasts {fc.group(1)} s)" if fc else (")" if inside else ""))
    )
    print(f"build / reference = {took / ref:.1f} (goal: 60 s, i.e. {60 / ref:.1f} references on this run)")


if __name__ == "__main__":
    main()
