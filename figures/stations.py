"""Service stations against the bureau's rules (issue #17): staff and floor area against the standard of each
station type, staff per 10,000 residents, coverage of full-service stations beside any station, and coverage
under the population projected with the census trend. Station counts and staff are not person counts; residents
are modelled estimates (``docs/privacy.md``).

The standards, the counted types and the list of free services are the one list in ``store/stations.py``; the
growth rates are the data file of ``store/growth.py``. Seed clauses: docs/service-circle-page.md ("Stations").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from figures.coverage import covered
from figures.rules import CoverageRule
from figures.run import Run
from queries import circle, overview
from store import growth, stations

HORIZON_YEARS = 5  # seed 004 §(十三): plan for where people will live; the page's default horizon


def with_partners(rule: CoverageRule, partners: bool) -> CoverageRule:
    """The rule with partner points counted or not, the other types as the bureau configured them."""
    kept = tuple(code for code in rule.station_types if code != "partner")
    return replace(rule, station_types=(*kept, "partner") if partners else kept)


def standards(points: pd.DataFrame) -> pd.DataFrame:
    """Each station's staff and floor area beside its type's standard.

    ``points`` has ``level, staff, floor_area_m2`` (NaN: not recorded). Adds ``min_staff``, ``min_floor_m2``
    (NaN where the type has no standard), ``staff_short`` and ``floor_short`` (below a standard; a missing floor
    area is not judged short) and ``below_standard`` (either).
    """
    out = points.copy()
    types = [stations.BY_CODE.get(str(lv)) for lv in out["level"]]
    out["min_staff"] = [np.nan if t is None or t.min_staff is None else float(t.min_staff) for t in types]
    out["min_floor_m2"] = [np.nan if t is None or t.min_floor_m2 is None else t.min_floor_m2 for t in types]
    staff = pd.to_numeric(out["staff"], errors="coerce").to_numpy(float)
    floor = pd.to_numeric(out.get("floor_area_m2"), errors="coerce")
    floor_v = floor.to_numpy(float) if floor is not None else np.full(len(out), np.nan)
    with np.errstate(invalid="ignore"):
        out["staff_short"] = staff < out["min_staff"].to_numpy(float)
        out["floor_short"] = floor_v < out["min_floor_m2"].to_numpy(float)
    out["below_standard"] = out["staff_short"] | out["floor_short"]
    return out


def staff_per_10k(staff: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Staff per 10,000 residents per district and city-wide (``area_code`` "" for the city).

    ``staff``: ``district_code, stations, staff``; ``population``: ``area_code, population``. Columns
    ``area_code, stations, staff, population, staff_per_10k`` (NaN without residents).
    """
    pop = population.set_index("area_code")["population"].astype(float)
    by = staff.set_index("district_code")[["stations", "staff"]].reindex(pop.index, fill_value=0)
    out = by.assign(population=pop).reset_index(names="area_code")
    city = pd.DataFrame(
        [
            {
                "area_code": "",
                "stations": int(out["stations"].sum()),
                "staff": int(out["staff"].sum()),
                "population": float(out["population"].sum()),
            }
        ]
    )
    out = pd.concat([out, city], ignore_index=True)
    out["staff_per_10k"] = out["staff"] / out["population"].where(out["population"] > 0) * 10_000
    return out


def project(cells: pd.DataFrame, rates: pd.DataFrame, years: int) -> pd.DataFrame:
    """Cells with ``population`` (and ``working_age`` when present) grown ``years`` years at their district's
    ``annual_growth`` (compound); districts without a rate stay as they are."""
    g = rates.set_index("district_code")["annual_growth"].astype(float)
    factor = (1.0 + cells["district_code"].astype(str).map(g).fillna(0.0).to_numpy(float)) ** years
    out = cells.copy()
    out["population"] = cells["population"].to_numpy(float) * factor
    if "working_age" in out:
        out["working_age"] = cells["working_age"].to_numpy(float) * factor
    return out


def station_table(run: Run, rule: CoverageRule, on: date) -> pd.DataFrame:
    """Every station of the counted types open on ``on``: staff and floor area against the standard
    (:func:`standards`), how many of the free services it offers (``items_offered`` of ``items_required``) and
    ``full_service``. Ordered by ``point_id``."""
    points = run(circle.service_points, on, levels=tuple(rule.station_types))
    offered = run(circle.items_offered, on, stations.ITEM_CODES)
    out = standards(points)
    n = offered.set_index("point_id")["offered"] if not offered.empty else pd.Series(dtype="int64")
    out["items_offered"] = out["point_id"].map(n).fillna(0).astype(int)
    out["items_required"] = len(stations.ITEM_CODES)
    out["full_service"] = out["items_offered"] >= len(stations.ITEM_CODES)
    return out


def item_matrix(run: Run, rule: CoverageRule, on: date) -> pd.DataFrame:
    """Yes/no per station (rows: ``point_id`` of the counted types open on ``on``) and free service (columns:
    the item codes of ``store.stations.SERVICE_ITEMS``, in their order)."""
    points = run(circle.service_points, on, levels=tuple(rule.station_types))
    rows = run(circle.point_items, on)
    rows = rows[rows["item_code"].isin(stations.ITEM_CODES)]
    yes = pd.crosstab(rows["point_id"], rows["item_code"]).astype(bool) if len(rows) else pd.DataFrame()
    out = yes.reindex(index=points["point_id"], columns=list(stations.ITEM_CODES), fill_value=False)
    return out.fillna(False).astype(bool)


def staffing(run: Run, rule: CoverageRule, on: date) -> pd.DataFrame:
    """:func:`staff_per_10k` for the counted station types open on ``on`` (sums in the database)."""
    staff = run(circle.staff_by_district, on, tuple(rule.station_types))
    population = run(circle.population_by_area, "district")
    return staff_per_10k(staff, population)


def full_service_coverage(run: Run, rule: CoverageRule, on: date) -> dict[str, Any]:
    """Coverage by any counted station beside coverage by full-service stations only (all free services).

    Returns ``any`` and ``full`` (each :func:`figures.coverage.covered`'s dict) and ``full_points``.
    """
    cells = run(overview.population_cells)
    points = run(overview.open_points, on, levels=tuple(rule.station_types))
    offered = run(circle.items_offered, on, stations.ITEM_CODES)
    full_ids = set(offered.loc[offered["offered"] >= len(stations.ITEM_CODES), "point_id"])
    full = points[points["point_id"].isin(full_ids)]
    return {"any": covered(cells, points, rule), "full": covered(cells, full, rule), "full_points": len(full)}


def projected_coverage(run: Run, rule: CoverageRule, on: date, years: int = HORIZON_YEARS) -> dict[str, Any]:
    """Coverage by today's counted stations of today's residents and of the residents projected ``years`` ahead
    with each district's census growth rate (``store/growth.py``).

    Returns ``now`` and ``projected`` (each :func:`figures.coverage.covered`'s dict), ``years``, ``rates`` (the
    growth table) and ``source`` (the data file's stated source).
    """
    cells = run(overview.population_cells)
    points = run(overview.open_points, on, levels=tuple(rule.station_types))
    rates = growth.district_growth()
    return {
        "now": covered(cells, points, rule),
        "projected": covered(project(cells, rates, years), points, rule),
        "years": years,
        "rates": rates,
        "source": growth.source(),
    }
