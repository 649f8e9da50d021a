"""Walking coverage along a road network: snap to nodes, one multi-source Dijkstra."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from .coverage import _lon_lat, speed_m_per_min
from .geo import FloatArray, LocalProjection, geodesic_m

# Zero-length arcs would vanish as structural zeros of the sparse matrix; 1 mm is harmless.
_MIN_EDGE_M = 1e-3


class RoadNetwork:
    """A walkable, undirected road graph prepared once (projection, node cKDTree, CSR arcs).

    Parameters: ``nodes`` with ``node`` (any hashable id; the index is used if the column is
    missing), ``lon``, ``lat`` (WGS84 degrees); ``edges`` with ``u``, ``v`` (node ids) and
    ``length_m`` (metres). Parallel edges keep the shortest; self-loops and edges naming unknown
    nodes are dropped.
    """

    def __init__(self, nodes: pd.DataFrame, edges: pd.DataFrame) -> None:
        lon, lat = _lon_lat(nodes, "nodes")
        self.proj = LocalProjection.for_points((lon, lat))
        self.node_xy = self.proj.forward(lon, lat)
        self.n = len(nodes)
        ids = pd.Index(nodes["node"] if "node" in nodes.columns else nodes.index)
        u = ids.get_indexer(edges["u"])
        v = ids.get_indexer(edges["v"])
        length = np.maximum(edges["length_m"].to_numpy(dtype=float), _MIN_EDGE_M)
        ok = (u >= 0) & (v >= 0) & (u != v) & np.isfinite(length)
        a, b = np.minimum(u[ok], v[ok]), np.maximum(u[ok], v[ok])
        length = length[ok]
        # Keep the shortest of parallel edges: sort by length, then unique keeps the first.
        order = np.lexsort((length, b, a))
        a, b, length = a[order], b[order], length[order]
        first = np.ones(len(a), dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        a, b, length = a[first], b[first], length[first]
        self.n_edges = len(a)
        # Directed arcs in both directions; extra rows for per-query virtual source nodes are
        # appended later, so CSR rows for real nodes are built once here.
        src = np.concatenate([a, b])
        dst = np.concatenate([b, a])
        w = np.concatenate([length, length])
        base = sparse.csr_matrix((w, (src, dst)), shape=(self.n, self.n))
        base.sort_indices()
        self._indptr = base.indptr.astype(np.int64)
        self._indices = base.indices.astype(np.int64)
        self._data = base.data
        self.tree = cKDTree(self.node_xy) if self.n else None

    def snap(self, lon: FloatArray, lat: FloatArray) -> tuple[np.ndarray, FloatArray]:
        """Nearest node position and straight snap distance (m) for WGS84 points."""
        if self.tree is None or len(lon) == 0:
            return np.full(len(lon), -1, dtype=np.int64), np.full(len(lon), np.inf)
        d, i = self.tree.query(self.proj.forward(lon, lat), workers=-1)
        return np.asarray(i, dtype=np.int64), np.asarray(d, dtype=float)

    def distances(
        self, point_lon: FloatArray, point_lat: FloatArray, limit_m: float = np.inf
    ) -> tuple[FloatArray, np.ndarray]:
        """Network metres from the nearest point to every node, and which point that is (-1 if none).

        Each point becomes a virtual source node with a one-way arc (its snap distance) to its
        snapped node, so a single multi-source ``dijkstra(min_only=True)`` both includes the point
        snap distance and reports the winning source.
        """
        m = len(point_lon)
        if m == 0 or self.n == 0:
            return np.full(self.n, np.inf), np.full(self.n, -1, dtype=np.int64)
        node, snap_d = self.snap(point_lon, point_lat)
        nnz = len(self._indices)
        indptr = np.concatenate([self._indptr, nnz + np.arange(1, m + 1)])
        graph = sparse.csr_matrix(
            (
                np.concatenate([self._data, np.maximum(snap_d, _MIN_EDGE_M)]),
                np.concatenate([self._indices, node]),
                indptr,
            ),
            shape=(self.n + m, self.n + m),
        )
        dist, _pred, sources = dijkstra(
            graph,
            directed=True,
            indices=np.arange(self.n, self.n + m),
            min_only=True,
            limit=limit_m,
            return_predecessors=True,
        )
        src = np.asarray(sources[: self.n], dtype=np.int64)
        which = np.where(src >= self.n, src - self.n, -1)
        return np.asarray(dist[: self.n], dtype=float), which

    def coverage(
        self,
        population: pd.DataFrame,
        points: pd.DataFrame,
        minutes: float = 15,
        speed_kmh: float = 4.0,
        limit_m: float | None = None,
    ) -> pd.DataFrame:
        """Network coverage on this graph; see :func:`network_coverage` for the meaning."""
        thr = minutes * speed_m_per_min(speed_kmh)
        limit = thr if limit_m is None else float(limit_m)
        s_lon, s_lat = _lon_lat(points, "points")
        node_d, which = self.distances(s_lon, s_lat, limit)
        p_lon, p_lat = _lon_lat(population, "population")
        cell_node, cell_snap = self.snap(p_lon, p_lat)
        if len(cell_node) and self.n:
            dist = cell_snap + node_d[cell_node]
            near = np.where(np.isfinite(dist), which[cell_node], -1)
        else:
            dist, near = np.full(len(p_lon), np.inf), np.full(len(p_lon), -1, dtype=np.int64)
        dist = np.where(near >= 0, dist, np.inf)
        mins = dist / speed_m_per_min(speed_kmh)
        return pd.DataFrame(
            {"nearest_point": near, "distance_m": dist, "minutes": mins, "covered": dist <= thr},
            index=population.index,
        )


def network_coverage(
    nodes: pd.DataFrame | RoadNetwork,
    edges: pd.DataFrame | None,
    population: pd.DataFrame,
    points: pd.DataFrame,
    minutes: float = 15,
    speed_kmh: float = 4.0,
    limit_m: float | None = None,
) -> pd.DataFrame:
    """15-minute coverage measured along roads instead of a circuity-scaled straight line.

    Cells and points are snapped to their nearest graph node (cKDTree, straight snap distance
    added to the path). One multi-source Dijkstra from all points, cut off at the threshold,
    gives every node its distance to the nearest point and (via ``sources``) which point that is.

    Parameters:
        nodes: node frame (``node``, ``lon``, ``lat``) or an already built :class:`RoadNetwork`
            (then ``edges`` is ignored; build once and reuse it for repeated queries).
        edges: ``u``, ``v``, ``length_m`` (metres; walkable in both directions).
        population: ``lon, lat`` (WGS84 degrees), ``population``.
        points: service points ``lon, lat``.
        minutes, speed_kmh: threshold (min) and walking speed (km/h); no circuity factor, the
            network supplies the detour.
        limit_m: Dijkstra cut-off in metres (default: the threshold distance). Nodes beyond it are
            not explored, so their cells get ``distance_m = inf``; pass ``np.inf`` for all distances.

    Returns:
        The columns of :func:`coverage`: ``nearest_point`` (row position in ``points`` of the
        network-nearest point, -1 if unreachable within ``limit_m`` or no points), ``distance_m``
        (cell snap + network + point snap metres, ``inf`` if unreached), ``minutes``, ``covered``.
    """
    net = (
        nodes
        if isinstance(nodes, RoadNetwork)
        else RoadNetwork(nodes, edges if edges is not None else _no_edges())
    )
    return net.coverage(population, points, minutes, speed_kmh, limit_m)


def _no_edges() -> pd.DataFrame:
    return pd.DataFrame({"u": [], "v": [], "length_m": []})


def _lines(geometry: dict[str, Any]) -> Iterator[list[list[float]]]:
    kind = geometry.get("type")
    if kind == "LineString":
        yield geometry["coordinates"]
    elif kind == "MultiLineString":
        yield from geometry["coordinates"]
    elif kind == "GeometryCollection":
        for g in geometry.get("geometries", []):
            yield from _lines(g)


def roads_from_geojson(geojson: dict[str, Any], decimals: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn GeoJSON LineString/MultiLineString roads into ``(nodes, edges)`` for the network model.

    Vertices with the same coordinates (rounded to ``decimals`` degrees, 7 ≈ 1 cm) become one node,
    so roads join where they share a vertex; crossings without a shared vertex (bridges) do not.
    Coordinates must be WGS84 — convert GCJ-02 data with :func:`gcj02_to_wgs84` first.

    Parameters: a FeatureCollection, Feature or bare geometry dict; other geometry types are skipped.
    Returns: ``nodes`` (``node``, ``lon``, ``lat``) and ``edges`` (``u``, ``v``, ``length_m``
    geodesic metres between consecutive vertices).
    """
    if geojson.get("type") == "FeatureCollection":
        geoms = [f.get("geometry") or {} for f in geojson.get("features", [])]
    elif geojson.get("type") == "Feature":
        geoms = [geojson.get("geometry") or {}]
    else:
        geoms = [geojson]
    starts, coords = [], []
    offset = 0
    for g in geoms:
        for line in _lines(g):
            arr = np.asarray(line, dtype=float).reshape(-1, len(line[0]) if line else 2)[:, :2]
            if len(arr) >= 2:
                coords.append(arr)
                starts.append(offset)
                offset += len(arr)
    if not coords:
        return pd.DataFrame({"node": [], "lon": [], "lat": []}), _no_edges()
    allc = np.round(np.concatenate(coords), decimals)
    uniq, inv = np.unique(allc, axis=0, return_inverse=True)
    inv = inv.ravel()
    # Consecutive vertices within a line form an edge; exclude the jump between two lines.
    seq = np.ones(len(allc), dtype=bool)
    seq[np.asarray(starts)] = False
    j = np.flatnonzero(seq)
    u, v = inv[j - 1], inv[j]
    keep = u != v
    u, v = u[keep], v[keep]
    length = geodesic_m(uniq[u, 0], uniq[u, 1], uniq[v, 0], uniq[v, 1])
    nodes = pd.DataFrame({"node": np.arange(len(uniq)), "lon": uniq[:, 0], "lat": uniq[:, 1]})
    return nodes, pd.DataFrame({"u": u, "v": v, "length_m": length})


def synthetic_road_grid(
    n_rows: int = 50,
    n_cols: int = 50,
    spacing_m: float = 100.0,
    jitter_m: float = 15.0,
    drop_fraction: float = 0.05,
    river_every: int = 0,
    bridge_every: int = 8,
    center_lon: float = 114.3055,
    center_lat: float = 30.5928,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A jittered street grid around a centre (default Wuhan), for tests, benchmarks and demos.

    Parameters:
        n_rows, n_cols: grid size (nodes = n_rows × n_cols); spacing_m: block size (m).
        jitter_m: uniform random displacement of each node (m) so streets are not straight.
        drop_fraction: share of edges removed at random (dead ends, missing links).
        river_every: if > 0, every ``river_every``-th row gap is a river: north–south edges across
            it are removed except one bridge every ``bridge_every`` columns.
        center_lon, center_lat: WGS84 centre (degrees); seed: random seed.

    Returns: ``nodes`` (``node``, ``lon``, ``lat``) and ``edges`` (``u``, ``v``, ``length_m``
    geodesic metres along the straight segment).
    """
    rng = np.random.default_rng(seed)
    proj = LocalProjection(center_lon, center_lat)
    r, c = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    x = (c.ravel() - (n_cols - 1) / 2) * spacing_m + rng.uniform(-jitter_m, jitter_m, r.size)
    y = (r.ravel() - (n_rows - 1) / 2) * spacing_m + rng.uniform(-jitter_m, jitter_m, r.size)
    lon, lat = proj.inverse(x, y)
    ids = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
    eu = [ids[:, :-1].ravel(), ids[:-1, :].ravel()]  # east-west, then north-south
    ev = [ids[:, 1:].ravel(), ids[1:, :].ravel()]
    u, v = np.concatenate(eu), np.concatenate(ev)
    keep = rng.random(len(u)) >= drop_fraction
    if river_every > 0:
        ns = np.zeros(len(u), dtype=bool)
        ns[len(eu[0]) :] = True
        row_below = u // n_cols
        col = u % n_cols
        crossing = ns & ((row_below + 1) % river_every == 0)
        keep &= ~(crossing & (col % max(bridge_every, 1) != 0))
        keep |= crossing & (col % max(bridge_every, 1) == 0)  # bridges are never dropped
    u, v = u[keep], v[keep]
    length = geodesic_m(lon[u], lat[u], lon[v], lat[v])
    nodes = pd.DataFrame({"node": np.arange(len(lon)), "lon": lon, "lat": lat})
    return nodes, pd.DataFrame({"u": u, "v": v, "length_m": length})
