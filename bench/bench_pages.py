"""Server-side run time of every page (AppTest), cold (caches cleared) and warm, on the configured database.

Run: .venv/bin/python bench/bench_pages.py [--url SQLALCHEMY_URL] [--repeat 3]
Default database: data/demo.sqlite (the small demo city; `make demo` builds it). Goals (issue #10): warm < 1 s,
cold < 3 s per page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["overview", "targets", "funds", "service_circle", "forecasts", "explore", "pack", "data"]


def measure(url: str, repeat: int) -> list[dict]:
    """Cold and warm run times per page."""
    os.environ["EMPLOYMENT_DB_URL"] = url
    os.environ.setdefault("EMPLOYMENT_AUTH", "open")
    os.environ.setdefault("EMPLOYMENT_LANG", "zh")
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    # Warm-up: a server has imported its libraries after its first request; "cold" here means empty caches.
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    rows = []
    for page in PAGES:
        colds, warms = [], []
        for _ in range(repeat):
            st.cache_data.clear()
            st.cache_resource.clear()
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
            at.switch_page(f"pages/{page}.py")
            started = time.perf_counter()
            at.run()
            colds.append(time.perf_counter() - started)
            errors = [e.value for e in at.exception]
            started = time.perf_counter()
            at.run()
            warms.append(time.perf_counter() - started)
        rows.append(
            {
                "page": page,
                "cold_s": statistics.median(colds),
                "warm_s": statistics.median(warms),
                "errors": errors,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=f"sqlite:///{ROOT / 'data' / 'demo.sqlite'}")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = measure(args.url, args.repeat)
    print("| page | cold (s) | goal | warm (s) | goal | errors |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['page']} | {r['cold_s']:.2f} | < 3 | {r['warm_s']:.2f} | < 1 | {len(r['errors'])} |")


if __name__ == "__main__":
    main()
