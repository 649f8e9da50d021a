"""Network coverage on hand-made graphs, against networkx and against straight-line distance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from service_circle import (
    LocalProjection,
    RoadNetwork,
    coverage,
    network_coverage,
    roads_from_geojson,
    synthetic_road_grid,
)

PROJ = LocalProjection(114.3055, 30.5928)


def nodes_at(xy: list[tuple[float, float]], ids: list[object] | None = None) -> pd.DataFrame:
    arr = np.asarray(xy, dtype=float)
    lon, lat = PROJ.inverse(arr[:, 0], arr[:, 1])
    return pd.DataFrame({"node": ids if ids is not None else range(len(arr)), "lon": lon, "lat": lat})


def tiny() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A - B - C in a row (100 m apart); D north of B but only linked to C by a 1 km lane; E alone."""
    nodes = nodes_at([(0, 0), (100, 0), (200, 0), (100, 300), (5000, 5000)], ids=["A", "B", "C", "D", "E"])
    edges = pd.DataFrame(
        {"u": ["A", "B", "C", "B"], "v": ["B", "C", "D", "A"], "length_m": [100.0, 100.0, 1000.0, 150.0]}
    )  # the duplicate B-A edge (150 m) must lose to the 100 m one
    return nodes, edges


def test_tiny_graph_known_shortest_paths() -> None:
    nodes, edges = tiny()
    pop = nodes[["lon", "lat"]].assign(population=1.0)
    pts = nodes.iloc[[0]][["lon", "lat"]]
    res = network_coverage(nodes, edges, pop, pts, minutes=15, speed_kmh=4.0)
    # A=0, B=100, C=200, D=200+1000 (over the 1000 m limit of 15 min at 4 km/h), E unreachable.
    np.testing.assert_allclose(res["distance_m"][:3], [0, 100, 200], atol=0.01)
    assert np.isinf(res["distance_m"].iloc[3]) and np.isinf(res["distance_m"].iloc[4])
    assert res["covered"].tolist() == [True, True, True, False, False]
    assert res["nearest_point"].tolist() == [0, 0, 0, -1, -1]
    np.testing.assert_allclose(res["minutes"][:3], np.array([0, 100, 200]) / (4000 / 60), atol=1e-3)
    full = network_coverage(nodes, edges, pop, pts, limit_m=np.inf)
    assert full["distance_m"].iloc[3] == pytest.approx(1200, abs=0.01)
    assert full["nearest_point"].iloc[3] == 0 and not full["covered"].iloc[3]
    # A straight line to D is only 316 m: the network sees the detour the circuity factor guesses.
    assert coverage(pop, pts)["covered"].iloc[3]


def test_nearest_point_and_snap_distance() -> None:
    nodes, edges = tiny()
    pts_xy = np.array([[0.0, -30.0], [100.0, 340.0]])  # 30 m south of A; 40 m north of D
    lon, lat = PROJ.inverse(pts_xy[:, 0], pts_xy[:, 1])
    pts = pd.DataFrame({"lon": lon, "lat": lat})
    cell_xy = np.array([[200.0, 20.0], [100.0, 300.0]])  # 20 m off C; on D
    clon, clat = PROJ.inverse(cell_xy[:, 0], cell_xy[:, 1])
    pop = pd.DataFrame({"lon": clon, "lat": clat, "population": [1.0, 1.0]})
    net = RoadNetwork(nodes, edges)
    res = network_coverage(net, None, pop, pts, limit_m=np.inf)
    # C: 20 (snap) + 200 (C->A) + 30 (A->point 0) = 250 versus 1000 + 40 = 1040 via D's point.
    np.testing.assert_allclose(res["distance_m"], [250, 40], atol=0.05)
    assert res["nearest_point"].tolist() == [0, 1]


def test_no_points_and_empty_population() -> None:
    nodes, edges = tiny()
    pop = nodes[["lon", "lat"]].assign(population=1.0)
    res = network_coverage(nodes, edges, pop, pd.DataFrame({"lon": [], "lat": []}))
    assert (res["nearest_point"] == -1).all() and not res["covered"].any()
    res2 = network_coverage(nodes, edges, pop.iloc[:0], pop.iloc[:1])
    assert len(res2) == 0 and list(res2.columns) == ["nearest_point", "distance_m", "minutes", "covered"]


def test_network_distance_not_below_straight_line_and_matches_networkx() -> None:
    nx = pytest.importorskip("networkx")
    nodes, edges = synthetic_road_grid(40, 40, spacing_m=120, river_every=13, bridge_every=9, seed=3)
    rng = np.random.default_rng(4)
    lo, hi = nodes[["lon", "lat"]].min(), nodes[["lon", "lat"]].max()
    pop = pd.DataFrame(
        {"lon": rng.uniform(lo["lon"], hi["lon"], 3000), "lat": rng.uniform(lo["lat"], hi["lat"], 3000)}
    ).assign(population=1.0)
    pts = nodes.sample(12, random_state=2)[["lon", "lat"]].reset_index(drop=True)
    net = RoadNetwork(nodes, edges)
    res = network_coverage(net, None, pop, pts, limit_m=np.inf)
    straight = coverage(pop, pts, circuity=1.0)
    reached = np.isfinite(res["distance_m"].to_numpy())
    assert reached.mean() > 0.9
    assert (res["distance_m"][reached] >= straight["distance_m"][reached] * (1 - 1e-6)).all()
    # Detours on a jittered grid with dropped links: well above 1 on average, like the 1.3 default.
    ratio = (res["distance_m"][reached] / straight["distance_m"][reached]).median()
    assert 1.05 < ratio < 1.8
    # Node distances equal networkx's multi-source Dijkstra (points sit on nodes).
    g = nx.Graph()
    g.add_weighted_edges_from(zip(edges["u"], edges["v"], edges["length_m"], strict=True))
    src, _ = net.snap(pts["lon"].to_numpy(), pts["lat"].to_numpy())
    ref = nx.multi_source_dijkstra_path_length(g, set(src.tolist()))
    ours, which = net.distances(pts["lon"].to_numpy(), pts["lat"].to_numpy())
    keys = np.fromiter(ref.keys(), dtype=np.int64)
    np.testing.assert_allclose(ours[keys], np.fromiter(ref.values(), dtype=float), atol=0.01)
    assert (which[keys] >= 0).all()
    # With the cut-off, covered cells are identical to the full run's.
    cut = network_coverage(net, None, pop, pts)
    np.testing.assert_array_equal(cut["covered"], res["covered"])


def test_synthetic_grid_river_only_bridges_cross() -> None:
    nodes, edges = synthetic_road_grid(10, 12, river_every=5, bridge_every=4, drop_fraction=0.3, seed=1)
    assert len(nodes) == 120
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    crossing = (v - u == 12) & (((u // 12) + 1) % 5 == 0)
    assert set((u[crossing] % 12).tolist()) == {0, 4, 8}
    assert (edges["length_m"] > 50).all() and (edges["length_m"] < 150).all()


def test_roads_from_geojson_merges_shared_vertices() -> None:
    a, b, c, d = [114.30, 30.50], [114.31, 30.50], [114.31, 30.51], [114.32, 30.51]
    gj = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [a, b]}},
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "MultiLineString", "coordinates": [[b, c], [c, d, d]]},
            },
            {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": a}},
            {"type": "Feature", "properties": {}, "geometry": None},
        ],
    }
    nodes, edges = roads_from_geojson(gj)
    assert len(nodes) == 4 and len(edges) == 3
    pts = pd.DataFrame({"lon": [a[0]], "lat": [a[1]]})
    pop = pd.DataFrame({"lon": [d[0]], "lat": [d[1]], "population": [1.0]})
    res = network_coverage(nodes, edges, pop, pts, limit_m=np.inf)
    assert res["distance_m"].iloc[0] == pytest.approx(edges["length_m"].sum(), abs=0.01)
    assert 955 < edges["length_m"].iloc[0] < 965  # 0.01° of longitude at 30.5° N ≈ 960 m
    empty_nodes, empty_edges = roads_from_geojson({"type": "FeatureCollection", "features": []})
    assert empty_nodes.empty and empty_edges.empty
