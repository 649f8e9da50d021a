"""Data-quality flags as the Targets page, the meeting pack and the briefing report them: missing, late and
unreconciled reports and outlying months of a year up to a month, one row each."""

from __future__ import annotations

from typing import Any

import pandas as pd

from figures.run import Run
from queries import checks

COLUMNS = ["check", "area_code", "year", "month", "indicator_code", "detail"]


def _g(value: float) -> str:
    """A figure of a data-quality line, or a dash where small-count suppression hid it."""
    return "—" if value != value else f"{value:g}"


def flags(run: Run, year: int, month: int) -> pd.DataFrame:
    """``check`` (missing, late, unreconciled, outlier), ``area_code, year, month, indicator_code`` and a short
    ``detail`` (days late; reported / records; value / expected and its z-score)."""
    rows: list[dict[str, Any]] = []
    for r in run(checks.missing_reports, year, month).itertuples():
        rows.append(dict(check="missing", area_code=r.area_code, year=r.year, month=r.month, detail=""))
    for r in run(checks.late_reports, year, month).itertuples():
        days = f"{int(r.days_late)}"
        rows.append(dict(check="late", area_code=r.area_code, year=r.year, month=r.month, detail=days))
    for r in run(checks.unreconciled, year, month).itertuples():
        detail = f"{_g(r.reported)} / {_g(r.records)}"
        rows.append(
            dict(
                check="unreconciled",
                area_code=r.area_code,
                year=r.year,
                month=r.month,
                indicator_code=r.indicator_code,
                detail=detail,
            )
        )
    found = run(checks.outlier_months)
    found = found[(found["year"] == year) & (found["month"] <= month)]
    for r in found.itertuples():
        z = f" (z {r.z:+.1f})" if r.z == r.z else ""
        rows.append(
            dict(
                check="outlier",
                area_code=r.area_code,
                year=r.year,
                month=r.month,
                indicator_code=getattr(r, "indicator_code", None),
                detail=f"{_g(r.value)} / {_g(r.expected)}{z}",
            )
        )
    return pd.DataFrame(rows, columns=COLUMNS)
