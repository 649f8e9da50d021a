"""Benchmark: rank_uncertainty with 10,000 Monte Carlo runs for 20 districts × 12 indicators.

Run from the repository root:  .venv/bin/python bench/bench_scoring.py
Prints the best of 3 wall-clock times and the peak memory (tracemalloc, measured in a separate run
because tracing slows numpy down; plus the process's peak RSS).  Goal: < 1 s.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring import Scheme, SchemeIndicator, allocation_uncertainty, rank_uncertainty  # noqa: E402

DISTRICTS, INDICATORS, RUNS = 20, 12, 10_000


def make_case(seed: int = 0) -> tuple[pd.DataFrame, Scheme]:
    """Random indicator table (with 5 % missing cells) and a scheme mixing methods and directions."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 100, size=(DISTRICTS, INDICATORS))
    values[rng.random(values.shape) < 0.05] = np.nan
    codes = [f"ind_{j:02d}" for j in range(INDICATORS)]
    df = pd.DataFrame(values, columns=codes)
    df.insert(0, "area_code", [f"4201{i:02d}" for i in range(DISTRICTS)])
    methods = ["minmax", "rank", "target", "fracmax"]
    inds = [
        SchemeIndicator(
            code=c,
            direction="higher" if j % 3 else "lower",
            normalisation=methods[j % 4],
            target=60.0 if methods[j % 4] == "target" else None,
            weight=float(1 + j % 5),
        )
        for j, c in enumerate(codes)
    ]
    return df, Scheme(name="bench", indicators=inds, missing="reweight")


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall-clock time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_traced_mib(fn: Callable[[], object]) -> float:
    """Peak memory allocated by Python/numpy during one call, MiB (tracemalloc)."""
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    """Run the benchmark and print the figures."""
    df, scheme = make_case()
    cases: dict[str, Callable[[], object]] = {
        "weights only": lambda: rank_uncertainty(df, scheme, runs=RUNS, noise=0.25),
        "weights + normalisations [minmax, rank, zscore]": lambda: rank_uncertainty(
            df, scheme, runs=RUNS, noise=0.25, normalisations=["minmax", "rank", "zscore"]
        ),
    }
    geo = scheme.replace(aggregation="geometric")
    cases["geometric, weights + normalisations"] = lambda: rank_uncertainty(
        df, geo, runs=RUNS, noise=0.25, normalisations=["minmax", "rank"]
    )
    cases["allocation_uncertainty (floors 2 %, caps 10 %)"] = lambda: allocation_uncertainty(
        df.fillna(50.0), scheme, pot=10_000_000, runs=RUNS, noise=0.25, floor=200_000, cap=1_000_000
    )
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")
    print(f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores")
    print(f"{DISTRICTS} districts x {INDICATORS} indicators, {RUNS:,} runs, best of 3")
    for label, fn in cases.items():
        fn()  # warm-up (imports, first-call allocations)
        seconds = best_of(fn)
        peak = peak_traced_mib(fn)
        print(f"  {label:<50} {seconds:7.3f} s   peak traced {peak:6.1f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
