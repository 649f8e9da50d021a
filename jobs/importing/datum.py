"""Datums of imported coordinates: recognise WGS84 / GCJ-02 and convert to GCJ-02, the datum the database stores.

The WGS84 → GCJ-02 shift itself is ``service_circle.wgs84_to_gcj02`` (one implementation, tested there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from service_circle.geo import wgs84_to_gcj02

WGS84, GCJ02 = "WGS84", "GCJ-02"
STORED = GCJ02


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
