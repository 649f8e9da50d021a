"""The chance of meeting each annual flow target by December, as Targets, the Overview, the pack and the briefing
show it ("35 % chance of reaching 32,400 by December").

Read from the newest stored forecast of the indicator (``bureau forecast``): its months after the attainment month
are the months left; :func:`forecasting.chance.chance_of_target` ties them together and adds the year to date, and
the logistic recalibration of the backtest record (fitted on its development years only) is applied.
A row whose actual is hidden (small-count suppression) gets no chance: with the target and the forecast shown it
would bound the hidden figure. Where no stored forecast covers every month left (an indicator the job does not
forecast, a month older than the forecast's cut-off) the chance is missing, never made up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from figures.run import Run
from forecasting.chance import chance_of_target, recalibrate
from queries import forecasts

COLUMNS = ["area_code", "indicator_code", "chance", "target", "run_id"]
RECORD = Path(__file__).with_name("chance_record.json")


def _remaining(values: pd.DataFrame, area: str, year: int, month: int) -> pd.DataFrame | None:
    """The forecast months ``month + 1 … 12`` of ``year`` for ``area``, or None when one is missing."""
    rows = values[(values["area_code"] == area) & (values["year"] == year) & (values["month"] > month)]
    rows = rows.sort_values("month")
    if list(rows["month"].astype(int)) != list(range(month + 1, 13)):
        return None
    return rows[[c for c in rows.columns if c == "mean" or c[:3] in ("lo_", "hi_")]].astype(float)


def chances(run: Run, attainment: pd.DataFrame, year: int, month: int) -> pd.DataFrame:
    """One row per flow row of ``attainment`` (``figures.targets.attainment``'s frame): ``area_code,
    indicator_code, chance`` (0–1, NaN when unknown or withheld), ``target`` and the forecast ``run_id``."""
    if attainment.empty:
        return pd.DataFrame(columns=COLUMNS)
    flows = attainment[(attainment["direction"] == "higher") & (attainment["kind"] == "flow")]
    out: list[dict[str, Any]] = []
    for code, rows in flows.groupby("indicator_code", sort=False):
        values: pd.DataFrame | None = None
        run_id = None
        calibration = _calibration(str(code))
        if month < 12:
            newest = run(forecasts.newest_run, str(code), str(rows["area_code"].iloc[0]))
            if newest is not None:
                run_id = int(newest["run_id"])
                values = run(forecasts.run_values, run_id, str(code))
        for r in rows.itertuples():
            p = float("nan")
            shown = r.status is not None and not pd.isna(r.actual) and not pd.isna(r.target)
            if shown and month == 12:
                p = 1.0 if r.actual >= r.target else 0.0
            elif shown and r.actual >= r.target:
                p = 1.0
            elif shown and values is not None:
                rest = _remaining(values, str(r.area_code), year, month)
                if rest is not None:
                    p = recalibrate(chance_of_target(float(r.actual), float(r.target), rest), calibration)
            out.append(
                dict(area_code=r.area_code, indicator_code=code, chance=p, target=r.target, run_id=run_id)
            )
    return pd.DataFrame(out, columns=COLUMNS)


def _calibration(indicator_code: str) -> tuple[float, float] | None:
    """The recalibration the backtest fitted on its development years for this indicator (None without one)."""
    rec = record(indicator_code)
    if not rec or not rec.get("calibration"):
        return None
    a, b = rec["calibration"]
    return float(a), float(b)


def with_chance(run: Run, attainment: pd.DataFrame, year: int, month: int) -> pd.DataFrame:
    """``attainment`` with a ``chance`` column (NaN for control lines, yes/no targets and withheld rows)."""
    got = chances(run, attainment, year, month)[["area_code", "indicator_code", "chance"]]
    return attainment.merge(got, on=["area_code", "indicator_code"], how="left")


def percent(p: float) -> str:
    """The chance as leaders read it: a whole percent, '< 1 %' and '> 99 %' at the ends (never a false 0/100
    while the year is open)."""
    if p != p:
        return "—"
    if p >= 1.0:
        return "100%"
    if p <= 0.0:
        return "0%"
    if p < 0.01:
        return "<1%"
    if p > 0.99:
        return ">99%"
    return f"{int(np.floor(p * 100 + 0.5))}%"


def records() -> list[dict[str, Any]]:
    """Every backtest record written by ``bench/bench_chance.py --record`` (one per indicator)."""
    if not RECORD.exists():
        return []
    data = json.loads(RECORD.read_text(encoding="utf-8"))
    return list(data["records"]) if "records" in data else [data]


def record(indicator_code: str = "urban_new_employment") -> dict[str, Any] | None:
    """The chance's backtest record of one indicator: Brier score per month-end against the naive pace rule,
    the reliability table and the recalibration fitted on its development years; None when not written."""
    return next((r for r in records() if r.get("indicator") == indicator_code), None)
