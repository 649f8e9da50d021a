"""Datums of imported coordinates: recognise WGS84 / GCJ-02 and convert to GCJ-02, the datum the database stores.

The WGS84 → GCJ-02 shift is the public formula that ``service_circle.wgs84_to_gcj02`` implements. It is repeated
here because ``bureau`` sits below ``service_circle`` in the layers (nothing in ``bureau`` imports upwards);
tests/test_import_geo.py pins the two to agree to 1e-12 degrees.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

WGS84, GCJ02 = "WGS84", "GCJ-02"
STORED = GCJ02

_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323

_NAMES = {
    WGS84: (
        "wgs84",
        "wgs_84",
        "wgs-84",
        "wgs 84",
        "epsg:4326",
        "4326",
        "crs84",
        "gps",
        "cgcs2000",
        "epsg:4490",
    ),
    GCJ02: (
        "gcj02",
        "gcj-02",
        "gcj_02",
        "gcj",
        "火星坐标",
        "火星坐标系",
        "国测局坐标",
        "高德",
        "腾讯",
        "amap",
    ),
}


def parse_datum(text: object) -> str | None:
    """``"WGS84"`` or ``"GCJ-02"`` for the usual ways of writing them, ``None`` when unknown or empty.

    CGCS2000 (EPSG:4490) differs from WGS84 by centimetres and is treated as WGS84. Baidu's BD-09 is not accepted.
    """
    if text is None:
        return None
    raw = str(text).strip().lower()
    if not raw:
        return None
    for name, spellings in _NAMES.items():
        if raw in spellings or any(s in raw for s in spellings if len(s) > 4):
            return name
    if "ogc" in raw and "crs84" in raw:
        return WGS84
    return None


def _out_of_china(lo: NDArray[np.float64], la: NDArray[np.float64]) -> NDArray[np.bool_]:
    return np.asarray((lo < 72.004) | (lo > 137.8347) | (la < 0.8293) | (la > 55.8271))


def _delta(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, y, pi = lon - 105.0, lat - 35.0, np.pi
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    d_lat += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    d_lat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    d_lon += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    d_lon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * pi)
    d_lon = (d_lon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 (lon, lat) degrees → GCJ-02, vectorised; points outside China pass through unchanged."""
    lo = np.asarray(lon, dtype=float)
    la = np.asarray(lat, dtype=float)
    d_lon, d_lat = _delta(lo, la)
    outside = _out_of_china(lo, la)
    return np.where(outside, lo, lo + d_lon), np.where(outside, la, la + d_lat)


def convert_geometry(geometry: dict[str, Any], datum: str) -> dict[str, Any]:
    """A GeoJSON Polygon/MultiPolygon geometry with every vertex in GCJ-02 (a copy; input unchanged)."""
    if datum == GCJ02:
        return {"type": geometry["type"], "coordinates": geometry["coordinates"]}

    def ring(coords: list[list[float]]) -> list[list[float]]:
        arr = np.asarray(coords, dtype=float)
        lon, lat = wgs84_to_gcj02(arr[:, 0], arr[:, 1])
        return [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]

    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r) for r in geometry["coordinates"]]}
    return {
        "type": "MultiPolygon",
        "coordinates": [[ring(r) for r in poly] for poly in geometry["coordinates"]],
    }
