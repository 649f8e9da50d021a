"""Backtest of the chance of meeting a flow target by December (forecasting/chance.py, issue #20).

    .venv/bin/python bench/bench_chance.py [--url sqlite:///data/demo.sqlite] [--indicator urban_new_employment]
        [--years 2022 2023 2024 2025] [--dev-years 2022] [--jobs 2]

For every area (the city and its districts), every past complete year and every month-end January–November, the
forecast procedure the job stores (``forecasting.forecast`` with the job's events and bounds, horizon = the months
left) is fitted on the history up to that month-end; the chance is read from it with each correlation ``rho``
tried; the outcome is whether the year's total reached the year's target. The naive rule "on track if completion ≥
time-elapsed progress" is scored the same way (as a 0/1 probability). ``rho`` is chosen on the development years
only (lowest Brier); the table is printed for the other years.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from multiprocessing import Pool  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RHOS = (0.0, 0.3, 0.6, 0.8, 1.0)


def _fit(history: pd.Series, horizon: int) -> pd.DataFrame:
    import forecasting
    from figures.forecasts import COUNT_BOUNDS, events

    return forecasting.forecast(history, horizon, levels=(80, 95), events=events(), bounds=COUNT_BOUNDS)


def _task(args: tuple[str, pd.Series, dict[int, float], list[int]]) -> pd.DataFrame:
    from forecasting.chance import backtest_chance

    area, y, targets, years = args
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = backtest_chance(y, targets, years, _fit, rhos=RHOS)
    return rows.assign(area_code=area)


def load(url: str, indicator: str) -> tuple[dict[str, pd.Series], dict[str, dict[int, float]]]:
    from queries.forecasts import annual_targets, series_history, to_wide
    from store.db import make_engine

    engine = make_engine(url)
    wide = to_wide(series_history(engine, (indicator,)))
    series = {str(area): wide[(indicator, area)].dropna() for area in wide[indicator].columns}
    tg = annual_targets(engine, indicator)
    targets = {
        str(a): dict(zip(g["year"].astype(int), g["target_value"].astype(float), strict=True))
        for a, g in tg.groupby("area_code")
    }
    return series, targets


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="sqlite:///data/demo.sqlite")
    parser.add_argument("--indicator", default="urban_new_employment")
    parser.add_argument("--years", type=int, nargs="+", default=[2022, 2023, 2024, 2025])
    parser.add_argument("--dev-years", type=int, nargs="+", default=[2022])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--areas", type=int, default=0, help="only the first N areas (smoke run)")
    parser.add_argument(
        "--from-csv", help="score the rows of an earlier run (its /tmp CSV) instead of fitting"
    )
    parser.add_argument(
        "--record", action="store_true", help="write figures/chance_record.json (the pages show it)"
    )
    args = parser.parse_args()
    from forecasting.chance import brier_by_month, fit_recalibration, recalibrate, reliability

    started = time.perf_counter()
    if args.from_csv:
        rows = pd.read_csv(args.from_csv)
        areas = sorted(set(rows["area_code"].astype(str)))
    else:
        series, targets = load(args.url, args.indicator)
        areas = sorted(series)[: args.areas or None]
        tasks = [(a, series[a], targets.get(a, {}), list(args.years)) for a in areas]
        with Pool(args.jobs) as pool:
            parts = pool.map(_task, tasks)
        rows = pd.concat(parts, ignore_index=True)
        rows.to_csv(Path("/tmp") / f"bench_chance_{args.indicator}.csv", index=False)
    dev = rows[rows["year"].isin(args.dev_years)]
    test = rows[~rows["year"].isin(args.dev_years)]
    pd.set_option("display.width", 160)
    print(f"{args.indicator}: {len(areas)} areas, years {args.years} (development: {args.dev_years})")
    by_rho = dev.groupby("rho").apply(lambda g: ((g["p"] - g["outcome"]) ** 2).mean(), include_groups=False)
    print("development Brier by rho:\n" + by_rho.round(4).to_string())
    rho = float(by_rho.idxmin())
    chosen = test[test["rho"] == rho]
    dev_chosen = dev[dev["rho"] == rho]
    calibration = fit_recalibration(dev_chosen["p"].to_numpy(), dev_chosen["outcome"].to_numpy())
    print(f"\nchosen rho = {rho}; test years {sorted(set(chosen['year']))}, {len(chosen)} cases")
    print(
        f"recalibration fitted on the development years: a = {calibration[0]:.3f}, b = {calibration[1]:.3f}"
    )
    raw_table = brier_by_month(chosen)
    shown = chosen.assign(p=[recalibrate(float(p), calibration) for p in chosen["p"]])
    table = brier_by_month(shown)
    table.insert(3, "brier_uncalibrated", raw_table["brier"])
    table["month"] = table["month"].astype(str)
    print("\nBrier score by month-end (lower is better)\n" + table.round(3).to_string(index=False))
    print("\nReliability of the chance (test years)\n" + reliability(shown).round(3).to_string(index=False))
    print("\nReliability before recalibration\n" + reliability(chosen).round(3).to_string(index=False))
    print(
        "\nBrier of every rho on the test years, before recalibration (for the record; not used to choose):"
    )
    print(
        test.groupby("rho")
        .apply(lambda g: ((g["p"] - g["outcome"]) ** 2).mean(), include_groups=False)
        .round(4)
        .to_string()
    )
    print(f"\n{time.perf_counter() - started:.0f} s")
    if args.record:
        from figures.chance import RECORD

        record: dict[str, Any] = {
            "indicator": args.indicator,
            "rho": rho,
            "calibration": list(calibration),
            "areas": len(areas),
            "years": sorted(int(y) for y in set(chosen["year"])),
            "development_years": list(args.dev_years),
            "cases": int(len(chosen)),
            "written": dt.date.today().isoformat(),
            "brier": table.round(4).to_dict(orient="records"),
            "reliability": reliability(shown).round(4).to_dict(orient="records"),
        }
        from figures.chance import records

        kept = [r for r in records() if r.get("indicator") != args.indicator]  # one record per indicator
        both = {"records": sorted([*kept, record], key=lambda r: str(r["indicator"]))}
        RECORD.write_text(json.dumps(both, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"record written to {RECORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
