"""Straight-line (circuity-corrected) 15-minute coverage, summaries and station load."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from .geo import FloatArray, LocalProjection

RESULT_COLUMNS = ["nearest_point", "distance_m", "minutes", "covered"]
DEFAULT_RURAL_DISTANCE_M = 5000.0


def speed_m_per_min(speed_kmh: float) -> float:
    """Walking speed in metres per minute from km/h."""
    if speed_kmh <= 0:
        raise ValueError("speed_kmh must be positive")
    return speed_kmh * 1000.0 / 60.0


def radius_m(minutes: float, speed_kmh: float, circuity: float) -> float:
    """Straight-line radius (m) reachable in ``minutes`` at ``speed_kmh`` given a detour factor."""
    if circuity < 1.0:
        raise ValueError("circuity must be >= 1 (a walk is never shorter than the straight line)")
    return minutes * speed_m_per_min(speed_kmh) / circuity


@dataclass
class Prepared:
    """Population and points projected once into the same local metric CRS."""

    proj: LocalProjection
    cell_xy: FloatArray  # (n, 2) metres
    weight: FloatArray  # people per cell, NaN -> 0
    cell_radius: FloatArray  # per-cell straight-line coverage radius (m): urban or rural rule
    point_xy: FloatArray  # (m, 2) metres


def _lon_lat(frame: pd.DataFrame, what: str) -> tuple[FloatArray, FloatArray]:
    missing = {"lon", "lat"} - set(frame.columns)
    if missing:
        raise KeyError(f"{what} is missing column(s): {sorted(missing)}")
    return frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float)


def cell_radii(population: pd.DataFrame, urban_radius_m: float, rural_distance_m: float | None) -> FloatArray:
    """Per-cell straight-line radius: ``urban_radius_m``, or ``rural_distance_m`` where ``rural``."""
    radius = np.full(len(population), float(urban_radius_m))
    if rural_distance_m is not None and "rural" in population.columns:
        rural = population["rural"].fillna(False).to_numpy(dtype=bool)
        radius[rural] = float(rural_distance_m)
    return radius


def prepare(
    population: pd.DataFrame,
    points: pd.DataFrame,
    minutes: float = 15,
    speed_kmh: float = 4.0,
    circuity: float = 1.3,
    rural_distance_m: float | None = DEFAULT_RURAL_DISTANCE_M,
    proj: LocalProjection | None = None,
    extra: Sequence[pd.DataFrame] = (),
) -> Prepared:
    """Project population cells and points (and any ``extra`` frames, for centring) once.

    Parameters: see :func:`coverage`; ``proj`` forces a projection; ``extra`` frames with lon/lat
    only influence the projection centre (e.g. siting candidates). Returns: :class:`Prepared`.
    """
    p_lon, p_lat = _lon_lat(population, "population")
    s_lon, s_lat = _lon_lat(points, "points")
    if proj is None:
        proj = LocalProjection.for_points(
            (p_lon, p_lat), (s_lon, s_lat), *(_lon_lat(e, "extra") for e in extra)
        )
    if "population" in population.columns:
        weight = np.nan_to_num(population["population"].to_numpy(dtype=float), nan=0.0)
    else:
        weight = np.ones(len(population))
    return Prepared(
        proj=proj,
        cell_xy=proj.forward(p_lon, p_lat),
        weight=weight,
        cell_radius=cell_radii(population, radius_m(minutes, speed_kmh, circuity), rural_distance_m),
        point_xy=proj.forward(s_lon, s_lat),
    )


def nearest(cell_xy: FloatArray, point_xy: FloatArray) -> tuple[NDArray[np.int64], FloatArray]:
    """Nearest point index and straight-line distance (m) per cell; (-1, inf) if there are no points."""
    n = len(cell_xy)
    if len(point_xy) == 0 or n == 0:
        return np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    # A tree over the (few) points and a parallel query over the (many) cells is the cheap way round.
    dist, idx = cKDTree(point_xy).query(cell_xy, k=1, workers=-1)
    return np.asarray(idx, dtype=np.int64), np.asarray(dist, dtype=float)


def result_frame(
    index: pd.Index,
    idx: NDArray[np.int64],
    dist: FloatArray,
    cell_radius: FloatArray,
    speed_kmh: float,
    circuity: float,
) -> pd.DataFrame:
    """Assemble the coverage result columns; ``covered`` compares straight distance to the radius.

    Comparing ``distance_m <= cell_radius`` (rather than minutes) lets the rural 5 km rule and the
    minutes rule share one test: for urban cells the two are algebraically identical.
    """
    minutes = dist * circuity / speed_m_per_min(speed_kmh)
    return pd.DataFrame(
        {
            "nearest_point": idx,
            "distance_m": dist,
            "minutes": minutes,
            "covered": dist <= cell_radius,
        },
        index=index,
    )


def coverage(
    population: pd.DataFrame,
    points: pd.DataFrame,
    minutes: float = 15,
    speed_kmh: float = 4.0,
    circuity: float = 1.3,
    rural_distance_m: float | None = DEFAULT_RURAL_DISTANCE_M,
) -> pd.DataFrame:
    """Which population cells reach an employment service point within ``minutes`` on foot.

    Parameters:
        population: columns ``lon, lat`` (WGS84 degrees) and ``population`` (people; NaN counts as
            0); optional boolean ``rural``; other columns are ignored.
        points: service points, columns ``lon, lat`` (WGS84 degrees).
        minutes: walking-time threshold (min), default 15.
        speed_kmh: walking speed (km/h), default 4.0 (GB 50180-2018 implies 3.6–4.5).
        circuity: detour factor applied to the straight line (≥ 1; default 1.3, typical 1.2–1.45).
        rural_distance_m: cells with ``rural == True`` are covered when the *straight-line*
            distance is at most this many metres (the "5 km" rule, default 5000), instead of by
            minutes. ``None`` applies the minutes rule everywhere. Ignored without a ``rural`` column.

    Returns:
        DataFrame with the population's index and order and columns ``nearest_point`` (row
        position in ``points``, -1 if there are none), ``distance_m`` (straight-line metres to it,
        ``inf`` if none), ``minutes`` (``distance_m * circuity / (speed_kmh * 1000 / 60)``) and
        ``covered`` (bool).
    """
    prep = prepare(population, points, minutes, speed_kmh, circuity, rural_distance_m)
    idx, dist = nearest(prep.cell_xy, prep.point_xy)
    return result_frame(population.index, idx, dist, prep.cell_radius, speed_kmh, circuity)


def _headline(people: FloatArray, covered: NDArray[np.bool_]) -> dict[str, float]:
    total = float(people.sum())
    got = float(people[covered].sum())
    return {"people": total, "covered_people": got, "covered_share": got / total if total > 0 else np.nan}


def summarise(population: pd.DataFrame, result: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Covered people and coverage share, overall or per group (district, street, ...).

    Parameters:
        population: the frame passed to :func:`coverage` (needs ``population``; an optional
            ``working_age`` column is summarised the same way).
        result: the output of :func:`coverage` / :func:`network_coverage` (aligned by position).
        by: optional column of ``population`` to group by.

    Returns:
        DataFrame with ``cells, people, covered_people, covered_share`` (share in 0..1, NaN when
        a group has no people), plus ``working_age, covered_working_age, covered_working_age_share``
        when ``working_age`` exists. One row (index ``"all"``) without ``by``; else one per group.
    """
    if len(population) != len(result):
        raise ValueError("population and result must have the same length")
    covered = result["covered"].to_numpy(dtype=bool)
    frame = pd.DataFrame(
        {
            "cells": 1,
            "people": np.nan_to_num(population["population"].to_numpy(dtype=float)),
        }
    )
    frame["covered_people"] = np.where(covered, frame["people"], 0.0)
    has_wa = "working_age" in population.columns
    if has_wa:
        frame["working_age"] = np.nan_to_num(population["working_age"].to_numpy(dtype=float))
        frame["covered_working_age"] = np.where(covered, frame["working_age"], 0.0)
    if by is None:
        out = frame.sum().to_frame("all").T
    else:
        frame[by] = population[by].to_numpy()
        out = frame.groupby(by, sort=True, dropna=False).sum()
    out["cells"] = out["cells"].astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["covered_share"] = np.where(out["people"] > 0, out["covered_people"] / out["people"], np.nan)
        if has_wa:
            share = out["covered_working_age"] / out["working_age"]
            out["covered_working_age_share"] = np.where(out["working_age"] > 0, share, np.nan)
    cols = ["cells", "people", "covered_people", "covered_share"]
    if has_wa:
        cols += ["working_age", "covered_working_age", "covered_working_age_share"]
    return out[cols]


def station_load(
    population: pd.DataFrame,
    result: pd.DataFrame,
    capacity: float | Sequence[float] | NDArray[np.float64] | None = None,
    n_points: int | None = None,
) -> pd.DataFrame:
    """People per station, each cell assigned to its nearest station.

    Parameters:
        population: the frame passed to :func:`coverage` (``population`` column, people).
        result: output of :func:`coverage` (uses ``nearest_point`` and ``covered``).
        capacity: people a station can serve; a scalar for all or one value per station. ``None``
            means no capacity check (``over_capacity`` is all False).
        n_points: number of stations; defaults to ``max(nearest_point) + 1`` (pass it so stations
            with nobody assigned still get a row).

    Returns:
        DataFrame indexed by station position (``point``) with ``people_assigned`` (all people
        whose nearest station it is, covered or not), ``people_covered`` (those also within the
        threshold: the station's catchment), ``capacity`` and ``over_capacity``
        (``people_covered > capacity``; uncovered residents are not expected to walk there).
    """
    near = result["nearest_point"].to_numpy(dtype=np.int64)
    covered = result["covered"].to_numpy(dtype=bool)
    people = np.nan_to_num(population["population"].to_numpy(dtype=float))
    m = int(n_points) if n_points is not None else (int(near.max()) + 1 if len(near) else 0)
    ok = near >= 0
    assigned = np.bincount(near[ok], weights=people[ok], minlength=m)[:m]
    served = np.bincount(near[ok & covered], weights=people[ok & covered], minlength=m)[:m]
    cap = np.full(m, np.nan) if capacity is None else np.broadcast_to(np.asarray(capacity, float), (m,))
    out = pd.DataFrame(
        {"people_assigned": assigned, "people_covered": served, "capacity": cap},
        index=pd.RangeIndex(m, name="point"),
    )
    out["over_capacity"] = np.where(np.isnan(cap), False, served > np.nan_to_num(cap, nan=np.inf))
    return out
