"""`make bench`: run every benchmark script and write their output into docs/benchmarks.md.

docs/benchmarks.md holds the curated table (goal beside each figure, with the command) at the top; this script
replaces the section between the ``newest-run`` markers at its end with the raw record of the newest run
(machine, date, each command with its time, exit status and output). Not part of `make test`.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = [
    ["bench/bench_scoring.py"],
    ["bench/bench_service_circle.py"],
    ["bench/bench_import.py"],
    ["bench/bench_plan.py"],
    ["bench/bench_pages.py", "--repeat", "3"],
    ["bench/load_test.py", "--sessions", "50", "--reruns", "4"],
    # Several app processes behind nginx (the shipped deploy/ configuration), sticky sessions checked.
    ["bench/load_test.py", "--sessions", "50", "--reruns", "4", "--processes", "1,2,3", "--via-nginx"],
    # A meeting's load (#19): 50 people clicking every 5-20 s for 5 minutes, two processes behind nginx.
    [
        "bench/load_test.py",
        "--sessions",
        "50",
        "--think",
        "5,20",
        "--duration",
        "300",
        "--processes",
        "2",
        "--via-nginx",
    ],
    # Clicks in Chromium, from a fresh server start, and the small demo build beside a reference workload (#19).
    ["bench/bench_browser.py", "--url", f"sqlite:///{ROOT / 'data' / 'demo.sqlite'}", "--passes", "2"],
    ["bench/bench_demo.py"],
    ["bench/bench_forecasting.py"],
    ["bench/bench_refresh.py", "--url", f"sqlite:///{ROOT / 'data' / 'demo.sqlite'}", "--repeat", "2"],
    # The large scale (41 M persons, 55 M events) in a throwaway PostgreSQL: build, main queries, pages.
    ["bench/bench_large.py", "--repeat", "2"],
]


def missing(script: list[str]) -> str | None:
    """Why ``script`` cannot run here (a program it needs is not installed), or None."""
    if "bench/bench_large.py" in script and not (
        shutil.which("initdb") or list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    ):
        return "skipped: PostgreSQL is not installed (Debian: apt-get install postgresql)"
    if "bench/bench_browser.py" in script and not Path("/usr/bin/chromium").exists():
        return "skipped: Chromium is not installed (Debian: apt-get install chromium)"
    if "--via-nginx" in script and not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        return "skipped: nginx is not installed (Debian: apt-get install nginx-light)"
    return None


def main() -> None:
    parts = [
        f"## Newest `make bench` run\n\n{datetime.now():%Y-%m-%d %H:%M}, {platform.platform()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}\n"
    ]
    for script in SCRIPTS:
        reason = missing(script)
        if reason:
            parts.append(f"### `{' '.join(script)}` (skipped)\n\n{reason}\n")
            print(parts[-1], flush=True)
            continue
        command = [sys.executable, *script]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
        took = time.perf_counter() - started
        out = (done.stdout + ("\n" + done.stderr[-2000:] if done.returncode else "")).strip()
        parts.append(f"### `{' '.join(script)}` ({took:.0f} s, exit {done.returncode})\n\n```\n{out}\n```\n")
        print(parts[-1], flush=True)
    write_section(ROOT / "docs" / "benchmarks.md", "\n".join(parts))


START, END = "<!-- newest-run:start -->", "<!-- newest-run:end -->"


def write_section(path: Path, body: str) -> None:
    """Replace what lies between the newest-run markers of ``path`` (appending them the first time)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
    else:
        head, tail = text.rstrip("\n") + "\n\n", "\n"
    document = "".join([head, START, "\n", body, "\n", END, tail])
    path.write_text(document, encoding="utf-8")


if __name__ == "__main__":
    main()
