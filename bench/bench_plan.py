"""The linked suppression plan (privacy.linked, docs/privacy.md §3): how long deciding it takes.

Run: .venv/bin/python bench/bench_plan.py [--url URL] [--k 10] [--repeat 3]
Prints the time to read the cube (queries.disclosure.cube), the time to decide the plan, the cube's rows and the
hidden points (primary and secondary). The pages decide it once per data cut-off and k, shared by every session.
"""

from __future__ import annotations

import argparse
import json
import time

from privacy import linked
from queries import disclosure
from store.config import DEMO_DB_PATH
from store.db import make_engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"sqlite:///{DEMO_DB_PATH}")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    engine = make_engine(args.url)
    read, decide = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        cube = disclosure.cube(engine)
        t1 = time.perf_counter()
        plan = linked.plan(cube, args.k, linked.Links(**disclosure.links()))
        t2 = time.perf_counter()
        read.append(t1 - t0)
        decide.append(t2 - t1)
    print(
        json.dumps(
            {
                "cube_rows": len(cube),
                "hidden": len(plan.hidden),
                **plan.stats,
                "read_s": round(min(read), 3),
                "decide_s": round(min(decide), 3),
                "total_s": round(min(r + d for r, d in zip(read, decide, strict=True)), 3),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
