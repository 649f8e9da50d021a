"""15-minute service-circle coverage under the bureau's official rule, as the Overview, the meeting pack and the
briefing show it (the Service circle page lets a planner vary the rule; its default is this one)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from figures.rules import CoverageRule
from figures.run import Run
from queries import overview
from service_circle import coverage, summarise, to_wgs84


def month_end(year: int, month: int) -> date:
    """The last day of ``month`` of ``year``."""
    return pd.Period(year=year, month=month, freq="M").end_time.date()


def wgs84(frame: pd.DataFrame) -> pd.DataFrame:
    """Coordinates in WGS84 whatever datum each row was stored in (the coverage package expects WGS84)."""
    if frame.empty:
        return frame
    parts = [to_wgs84(part, str(datum)) for datum, part in frame.groupby("datum", sort=False)]
    return pd.concat(parts).loc[frame.index]


def official(run: Run, rule: CoverageRule, on: date) -> dict[str, Any]:
    """Share of residents within the official circle of a service point open on ``on`` whose type the rule
    counts (``rule.station_types``: by default all but partner points).

    Returns ``share`` (fraction; NaN without residents), ``people``, ``covered_people``, ``points`` and
    ``by_district``: one row per district with ``area_code, cells, people, covered_people, covered_share,
    points``.
    """
    cells = run(overview.population_cells)
    points = run(overview.open_points, on, levels=tuple(rule.station_types))
    return covered(cells, points, rule)


def covered(cells: pd.DataFrame, points: pd.DataFrame, rule: CoverageRule) -> dict[str, Any]:
    """:func:`official`'s figures for given cells (``district_code, lon, lat, population, rural, datum``) and
    points (``district_code, lon, lat, datum``): whichever points the caller chose."""
    if cells.empty:
        empty = pd.DataFrame(
            columns=["area_code", "cells", "people", "covered_people", "covered_share", "points"]
        )
        return {
            "share": float("nan"),
            "people": 0.0,
            "covered_people": 0.0,
            "points": len(points),
            "by_district": empty,
        }
    located = wgs84(points) if not points.empty else points.assign(lon=[], lat=[])
    result = coverage(wgs84(cells), located, **rule.kwargs())  # type: ignore[arg-type]
    total = summarise(cells, result)
    by = (
        summarise(cells, result, by="district_code")
        .reset_index()
        .rename(columns={"district_code": "area_code"})
    )
    n_points = points.groupby("district_code").size() if not points.empty else pd.Series(dtype=int)
    by["points"] = by["area_code"].map(n_points).fillna(0).astype(int)
    keep = ["area_code", "cells", "people", "covered_people", "covered_share", "points"]
    return {
        "share": float(total["covered_share"].iloc[0]),
        "people": float(total["people"].iloc[0]),
        "covered_people": float(total["covered_people"].iloc[0]),
        "points": len(points),
        "by_district": by[keep].sort_values("area_code").reset_index(drop=True),
    }
