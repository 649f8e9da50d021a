"""A page under an import's SQLite write lock (issue #18, item 5): how long the overview takes to render while
another connection holds the write lock (``BEGIN IMMEDIATE``), and how soon its audit line arrives after the
lock is released.

    .venv/bin/python bench/bench_audit_lock.py [DEMO_SQLITE]   (default data/demo.sqlite; a private copy is used)

Measured here (tiny demo, 2 shared cores): 1.1-1.6 s; the audit line in the database 0.1-0.5 s after the release.
The code before (one 30 s busy timeout on the page's audit write, then the line dropped): 31.1 s, no line.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    src = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "data" / "demo.sqlite")
    tmp = Path(tempfile.mkdtemp(prefix="audit-lock-"))
    dst = tmp / "demo.sqlite"
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    os.environ.update(
        EMPLOYMENT_DB_URL=f"sqlite:///{dst}",
        EMPLOYMENT_AUTH="open",
        EMPLOYMENT_LANG="en",
        EMPLOYMENT_AUDIT_SPOOL_DIR=str(tmp / "spool"),
    )
    from streamlit.testing.v1 import AppTest

    warm = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    warm.run()  # caches warm, as on a running server
    count = "SELECT count(*) FROM audit_log"
    before = sqlite3.connect(dst).execute(count).fetchone()[0]
    lock = sqlite3.connect(dst, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # what an import holds while it loads
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    started = time.perf_counter()
    at.run()
    print(
        f"overview under a held write lock: {time.perf_counter() - started:.2f} s, exceptions: {len(at.exception)}"
    )
    lock.execute("COMMIT")
    released = time.perf_counter()
    while time.perf_counter() - released < 30:
        if sqlite3.connect(dst).execute(count).fetchone()[0] > before:
            print(f"its audit line arrived {time.perf_counter() - released:.1f} s after the release")
            return
        time.sleep(0.1)
    print("its audit line did not arrive within 30 s")


if __name__ == "__main__":
    main()
