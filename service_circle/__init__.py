"""15-minute employment service circles: coverage, what-if updates, siting and network distance.

Pure computation on pandas DataFrames (WGS84 lon/lat degrees); no UI, no database.
"""

from .coverage import coverage, station_load, summarise
from .exact import site_exact
from .geo import (
    LocalProjection,
    gcj02_to_wgs84,
    geodesic_m,
    haversine_m,
    out_of_china,
    to_wgs84,
    wgs84_to_gcj02,
)
from .incremental import CoverageModel
from .network import RoadNetwork, network_coverage, roads_from_geojson, synthetic_road_grid
from .periods import covered_by_period
from .siting import site_new_points

__all__ = [
    "CoverageModel",
    "LocalProjection",
    "RoadNetwork",
    "coverage",
    "covered_by_period",
    "gcj02_to_wgs84",
    "geodesic_m",
    "haversine_m",
    "network_coverage",
    "out_of_china",
    "roads_from_geojson",
    "site_exact",
    "site_new_points",
    "station_load",
    "summarise",
    "synthetic_road_grid",
    "to_wgs84",
    "wgs84_to_gcj02",
]
