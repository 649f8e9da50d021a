"""``bureau roads FILE``: import a walkable road network (GeoJSON lines) for network-distance coverage.

The file holds LineString/MultiLineString features; vertices with equal coordinates become one node, so roads
join where they share a vertex (``service_circle.roads_from_geojson``). Lengths are geodesic metres measured in
WGS84; nodes are stored in the datum of the area boundaries (GCJ-02), converting WGS84 input when needed.
Everything is written in one transaction: a malformed file or a failure leaves the tables as they were.

Also: :func:`demo_network`, the demo city's synthetic road grid (used by ``bureau demo``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Engine, delete, func, insert, inspect, select

from jobs import geo
from store import schema
from store.db import bulk_insert

STORED_DATUM = "gcj02"  # the datum of the area boundaries and population cells
DEMO_SPACING_M = {"tiny": 500.0, "small": 250.0, "large": 250.0}
DEMO_BRIDGE_EVERY_KM = {"yangtze": 3.0, "han": 1.5}


class RoadFileError(ValueError):
    """The file is not a usable GeoJSON road network (the message says why)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bureau roads``."""
    parser.add_argument("file", help="GeoJSON FeatureCollection of LineString/MultiLineString roads")
    parser.add_argument(
        "--datum",
        choices=["wgs84", "gcj02"],
        default="wgs84",
        help="datum of the file's coordinates (default wgs84: GPS, OpenStreetMap); stored as GCJ-02",
    )
    parser.add_argument("--replace", action="store_true", help="replace a road network already loaded")


def _convert_coords(geometry: dict[str, Any]) -> dict[str, Any]:
    """A copy of a (Multi)LineString geometry with GCJ-02 coordinates turned into WGS84."""
    from service_circle import gcj02_to_wgs84

    def conv(line: list[list[float]]) -> list[list[float]]:
        arr = np.asarray(line, dtype=float)[:, :2]
        lon, lat = gcj02_to_wgs84(arr[:, 0], arr[:, 1])
        return np.column_stack([lon, lat]).tolist()

    kind = geometry.get("type")
    if kind == "LineString":
        return {"type": kind, "coordinates": conv(geometry["coordinates"])}
    if kind == "MultiLineString":
        return {"type": kind, "coordinates": [conv(line) for line in geometry["coordinates"]]}
    return geometry


def _check_line(line: Any, where: str) -> None:
    if not isinstance(line, list) or len(line) < 2:
        raise RoadFileError(f"{where}: a line needs at least two positions")
    for pos in line:
        if (
            not isinstance(pos, list | tuple)
            or len(pos) < 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos[:2])
        ):
            raise RoadFileError(f"{where}: a position must be [lon, lat] numbers, got {str(pos)[:60]}")
        lon, lat = float(pos[0]), float(pos[1])
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise RoadFileError(f"{where}: position out of range (lon {lon}, lat {lat}); degrees expected")


def road_geometries(data: Any) -> list[dict[str, Any]]:
    """The LineString/MultiLineString geometries of a GeoJSON object, validated (raises :class:`RoadFileError`)."""
    if not isinstance(data, dict) or "type" not in data:
        raise RoadFileError("not a GeoJSON object (expected a FeatureCollection)")
    if data["type"] == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise RoadFileError("FeatureCollection without a 'features' list")
        geoms = [f.get("geometry") if isinstance(f, dict) else None for f in features]
    elif data["type"] == "Feature":
        geoms = [data.get("geometry")]
    else:
        geoms = [data]
    lines = []
    for i, g in enumerate(geoms):
        if not isinstance(g, dict):
            continue
        where = f"feature {i + 1}"
        if g.get("type") == "LineString":
            _check_line(g.get("coordinates"), where)
            lines.append(g)
        elif g.get("type") == "MultiLineString":
            parts = g.get("coordinates")
            if not isinstance(parts, list) or not parts:
                raise RoadFileError(f"{where}: MultiLineString without lines")
            for part in parts:
                _check_line(part, where)
            lines.append(g)
    if not lines:
        raise RoadFileError("no LineString or MultiLineString roads in the file")
    return lines


def network_from_geojson(data: Any, datum: str = "wgs84") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows for ``road_node`` (``node_id, lon, lat`` in GCJ-02) and ``road_edge`` (``edge_id, u, v, length_m``).

    ``datum`` is the file's: ``"wgs84"`` or ``"gcj02"``. Lengths are geodesic metres between consecutive
    vertices, measured in WGS84 either way. Raises :class:`RoadFileError` for unusable input.
    """
    from service_circle import roads_from_geojson, wgs84_to_gcj02

    if datum not in ("wgs84", "gcj02"):
        raise RoadFileError(f"unknown datum {datum!r}: wgs84 or gcj02")
    lines = road_geometries(data)
    if datum == "gcj02":
        lines = [_convert_coords(g) for g in lines]
    nodes, edges = roads_from_geojson(
        {"type": "FeatureCollection", "features": [{"geometry": g} for g in lines]}
    )
    if edges.empty:
        raise RoadFileError("the roads have no segment of non-zero length")
    lon, lat = wgs84_to_gcj02(nodes["lon"].to_numpy(float), nodes["lat"].to_numpy(float))
    node_rows = pd.DataFrame({"node_id": nodes["node"].to_numpy(np.int64) + 1, "lon": lon, "lat": lat})
    edge_rows = pd.DataFrame(
        {
            "edge_id": np.arange(1, len(edges) + 1, dtype=np.int64),
            "u": edges["u"].to_numpy(np.int64) + 1,
            "v": edges["v"].to_numpy(np.int64) + 1,
            "length_m": edges["length_m"].to_numpy(float),
        }
    )
    return node_rows, edge_rows


def read_file(path: str | Path) -> Any:
    """The parsed JSON of ``path`` (raises :class:`RoadFileError` with a plain reason)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise RoadFileError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RoadFileError(f"{path}: cannot read it as UTF-8 text ({exc})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RoadFileError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc


def store(
    engine: Engine, nodes: pd.DataFrame, edges: pd.DataFrame, replace: bool = False, source: str = ""
) -> dict[str, int]:
    """Write the network in one transaction; refuse (``RoadFileError``) when one is loaded and not ``replace``.

    Also records a ``data_load`` row (kind ``roads``). Returns rows written per table.
    """
    names = set(inspect(engine).get_table_names())
    if not {"road_node", "road_edge", "data_load"} <= names:
        raise RoadFileError("the database has no schema yet: run `bureau migrate` (or `bureau demo`) first")
    started = datetime.now()
    with engine.begin() as conn:
        present = conn.execute(select(func.count()).select_from(schema.road_node)).scalar_one()
        if present and not replace:
            raise RoadFileError(
                f"a road network of {present:,} nodes is already loaded; use --replace to replace it"
            )
        conn.execute(delete(schema.road_edge))
        conn.execute(delete(schema.road_node))
        n = bulk_insert(
            conn, schema.road_node, ["node_id", "lon", "lat"], _rows(nodes, ["node_id", "lon", "lat"])
        )
        m = bulk_insert(
            conn,
            schema.road_edge,
            ["edge_id", "u", "v", "length_m"],
            _rows(edges, ["edge_id", "u", "v", "length_m"]),
        )
        conn.execute(
            insert(schema.data_load).values(
                kind="roads",
                started_at=started,
                finished_at=datetime.now(),
                rows=n + m,
                synthetic=False,
                note=f"road network: {n} nodes, {m} edges",
                source=source[:500] or None,
            )
        )
    return {"road_node": n, "road_edge": m}


def _rows(frame: pd.DataFrame, cols: list[str]) -> list[tuple]:
    return list(zip(*(frame[c].tolist() for c in cols), strict=True))


def run_cli(args: argparse.Namespace, engine: Engine) -> int:
    """``bureau roads FILE [--datum wgs84|gcj02] [--replace]``: 0 when imported, 2 for a bad file or refusal."""
    try:
        nodes, edges = network_from_geojson(read_file(args.file), args.datum)
        rows = store(engine, nodes, edges, replace=args.replace, source=f"{args.file} (datum {args.datum})")
    except RoadFileError as exc:
        print(f"bureau roads: {exc}; nothing was written.", file=sys.stderr)
        return 2
    total_km = float(edges["length_m"].sum()) / 1000
    print(
        f"road network imported: {rows['road_node']:,} nodes, {rows['road_edge']:,} edges, "
        f"{total_km:,.1f} km of road (stored in GCJ-02, input {args.datum})"
    )
    return 0


# --- the demo city's synthetic roads ---------------------------------------------------------------------


def _along_km(lon: np.ndarray, lat: np.ndarray, line: list[tuple[float, float]]) -> np.ndarray:
    """Distance (km) along a polyline of the point nearest to each (lon, lat)."""
    kx, ky = geo.km_per_deg_lon(30.6), geo.KM_PER_DEG_LAT
    px, py = lon * kx, lat * ky
    best = np.full(lon.shape, np.inf)
    along = np.zeros(lon.shape)
    start = 0.0
    for (x0, y0), (x1, y1) in zip(line[:-1], line[1:], strict=True):
        ax, ay, bx, by = x0 * kx, y0 * ky, x1 * kx, y1 * ky
        dx, dy = bx - ax, by - ay
        seg = math.hypot(dx, dy)
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0, 1)
        d = np.hypot(px - (ax + t * dx), py - (ay + t * dy))
        closer = d < best
        best = np.where(closer, d, best)
        along = np.where(closer, start + t * seg, along)
        start += seg
    return along


def demo_network(scale: str = "small", seed: int = 20190101) -> dict[str, pd.DataFrame]:
    """A synthetic walkable road grid for the demo city: ``{"road_node": ..., "road_edge": ...}``.

    A jittered square grid (250 m; 500 m at the ``tiny`` test scale) over the city's land, about 140,000
    nodes. Water breaks it: no road on the Yangtze (within 0.8 km of its line), the Han (0.25 km) or East
    Lake, except bridges two blocks wide every 3 km along the Yangtze and every 1.5 km along the Han. About 4 % of
    links are dropped at random (dead ends). Coordinates GCJ-02 like the boundaries; lengths geodesic metres.
    Deterministic for a given seed and independent of the rest of the demo's random draws.
    """
    from service_circle import geodesic_m

    rng = np.random.default_rng(seed + 5)
    spacing = DEMO_SPACING_M.get(scale, 250.0)
    land = shapely.union_all([d.geometry for d in geo.load_districts()])
    minx, miny, maxx, maxy = land.bounds
    dlat = spacing / 1000 / geo.KM_PER_DEG_LAT
    dlon = spacing / 1000 / geo.km_per_deg_lon(30.6)
    cols = np.arange(minx, maxx + dlon, dlon)
    rows = np.arange(miny, maxy + dlat, dlat)
    lon, lat = (a.ravel() for a in np.meshgrid(cols, rows))
    keep = shapely.contains_xy(land, lon, lat)
    water = geo.density(lon, lat) == 0.0
    bridge = np.zeros(lon.shape, dtype=bool)
    for line, every in (
        (geo.YANGTZE, DEMO_BRIDGE_EVERY_KM["yangtze"]),
        (geo.HAN, DEMO_BRIDGE_EVERY_KM["han"]),
    ):
        s = _along_km(lon, lat, line)
        bridge |= np.abs(s - np.round(s / every) * every) * 1000 <= spacing  # 2 blocks wide
    lake = (
        np.hypot(
            (lon - geo.EAST_LAKE[0]) * geo.km_per_deg_lon(30.6), (lat - geo.EAST_LAKE[1]) * geo.KM_PER_DEG_LAT
        )
        < geo.EAST_LAKE[2]
    )
    keep &= ~water | (bridge & ~lake)
    flat_id = np.full(lon.size, -1, dtype=np.int64)
    flat_id[keep] = np.arange(int(keep.sum()))
    grid_id = flat_id.reshape(len(rows), len(cols))
    pairs = [(grid_id[:, :-1], grid_id[:, 1:]), (grid_id[:-1, :], grid_id[1:, :])]
    u = np.concatenate([a.ravel() for a, _ in pairs])
    v = np.concatenate([b.ravel() for _, b in pairs])
    ok = (u >= 0) & (v >= 0) & (rng.random(u.size) >= 0.04)
    u, v = u[ok], v[ok]
    jitter = spacing * 0.12
    n_lon = lon[keep] + rng.uniform(-jitter, jitter, int(keep.sum())) / 1000 / geo.km_per_deg_lon(30.6)
    n_lat = lat[keep] + rng.uniform(-jitter, jitter, int(keep.sum())) / 1000 / geo.KM_PER_DEG_LAT
    from service_circle import gcj02_to_wgs84  # lengths are measured in WGS84

    w_lon, w_lat = gcj02_to_wgs84(n_lon, n_lat)
    nodes = pd.DataFrame(
        {"node_id": np.arange(1, n_lon.size + 1, dtype=np.int64), "lon": n_lon, "lat": n_lat}
    )
    edges = pd.DataFrame(
        {
            "edge_id": np.arange(1, u.size + 1, dtype=np.int64),
            "u": u + 1,
            "v": v + 1,
            "length_m": geodesic_m(w_lon[u], w_lat[u], w_lon[v], w_lat[v]),
        }
    )
    return {"road_node": nodes, "road_edge": edges}
