"""``bureau roads``: a hand-made GeoJSON imports with the right nodes, edges and datum; a malformed file is
refused with a clear message and leaves the tables as they were."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from jobs.cli import main
from service_circle import wgs84_to_gcj02
from store import schema as s
from store.db import make_engine, upgrade

# A "T": A-B-C along a street, and D-B joining it at B (a shared vertex); lon/lat degrees.
A, B, C, D = (114.30, 30.60), (114.31, 30.60), (114.32, 30.60), (114.31, 30.61)
ROADS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "east"},
            "geometry": {"type": "LineString", "coordinates": [A, B, C]},
        },
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "MultiLineString", "coordinates": [[D, B]]},
        },
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": A}},
    ],
}


def tables(url: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    with make_engine(url).connect() as conn:
        nodes = pd.DataFrame(
            conn.execute(select(s.road_node).order_by(s.road_node.c.node_id)).mappings().all()
        )
        edges = pd.DataFrame(
            conn.execute(select(s.road_edge).order_by(s.road_edge.c.edge_id)).mappings().all()
        )
        loads = len(conn.execute(select(s.data_load.c.load_id)).all())
    return nodes, edges, loads


@pytest.fixture()
def schema_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'roads.sqlite'}"
    upgrade(make_engine(url))
    return url


def write(tmp_path: Path, name: str, content: object) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def test_import_builds_the_graph_and_stores_gcj02(schema_url: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["roads", write(tmp_path, "t.geojson", ROADS), "--url", schema_url]) == 0
    assert "4 nodes, 3 edges" in capsys.readouterr().out
    nodes, edges, loads = tables(schema_url)
    assert len(nodes) == 4 and len(edges) == 3 and loads == 1
    # Stored in GCJ-02: the WGS84 input shifted by the public formula (about +0.005° lon, -0.002° lat here).
    g_lon, g_lat = wgs84_to_gcj02(
        np.array([p[0] for p in (A, B, C, D)]), np.array([p[1] for p in (A, B, C, D)])
    )
    got = {(round(x, 7), round(y, 7)) for x, y in zip(nodes["lon"], nodes["lat"], strict=True)}
    assert got == {(round(x, 7), round(y, 7)) for x, y in zip(g_lon, g_lat, strict=True)}
    # 0.01° of longitude at 30.6° N is about 958 m; 0.01° of latitude about 1,109 m.
    lengths = sorted(edges["length_m"])
    assert lengths[0] == pytest.approx(958.5, abs=2) and lengths[1] == pytest.approx(958.5, abs=2)
    assert lengths[2] == pytest.approx(1108.9, abs=2)
    # B is shared: it is the one node with three edges.
    degree = pd.concat([edges["u"], edges["v"]]).value_counts()
    b = nodes.loc[degree.idxmax() == nodes["node_id"]].iloc[0]
    assert degree.max() == 3 and b["lon"] == pytest.approx(g_lon[1]) and b["lat"] == pytest.approx(g_lat[1])


def test_gcj02_input_is_stored_as_given(schema_url: str, tmp_path: Path) -> None:
    assert main(["roads", write(tmp_path, "g.geojson", ROADS), "--datum", "gcj02", "--url", schema_url]) == 0
    nodes, edges, _ = tables(schema_url)
    assert np.allclose(sorted(nodes["lon"]), sorted([A[0], B[0], C[0], D[0]]), atol=1e-7)
    assert sorted(edges["length_m"])[0] == pytest.approx(958.5, abs=2)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid JSON"),
        (
            {"type": "FeatureCollection", "features": [{"geometry": {"type": "Point", "coordinates": A}}]},
            "no LineString",
        ),
        ({"type": "LineString", "coordinates": [A]}, "at least two positions"),
        ({"type": "LineString", "coordinates": [A, ["114.3", "30.6"]]}, "[lon, lat] numbers"),
        ({"type": "LineString", "coordinates": [A, [3000.0, 30.6]]}, "out of range"),
        ([1, 2, 3], "not a GeoJSON object"),
    ],
)
def test_a_malformed_file_is_refused_and_nothing_changes(
    schema_url: str,
    tmp_path: Path,
    capsys,
    content: object,
    reason: str,  # type: ignore[no-untyped-def]
) -> None:
    assert main(["roads", write(tmp_path, "ok.geojson", ROADS), "--url", schema_url]) == 0
    before = tables(schema_url)
    capsys.readouterr()
    code = main(["roads", write(tmp_path, "bad.geojson", content), "--replace", "--url", schema_url])
    err = capsys.readouterr().err
    assert code == 2 and reason in err and "nothing was written" in err
    after = tables(schema_url)
    assert after[0].equals(before[0]) and after[1].equals(before[1]) and after[2] == before[2]


def test_a_second_import_needs_replace(schema_url: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "t.geojson", ROADS)
    assert main(["roads", path, "--url", schema_url]) == 0
    assert main(["roads", path, "--url", schema_url]) == 2
    assert "--replace" in capsys.readouterr().err
    smaller = {"type": "LineString", "coordinates": [A, B]}
    assert main(["roads", write(tmp_path, "s.geojson", smaller), "--replace", "--url", schema_url]) == 0
    nodes, edges, loads = tables(schema_url)
    assert len(nodes) == 2 and len(edges) == 1 and loads == 2


def test_missing_file_and_missing_schema_are_clear(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'none.sqlite'}"
    assert main(["roads", str(tmp_path / "nope.geojson"), "--url", url]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["roads", write(tmp_path, "t.geojson", ROADS), "--url", url]) == 2
    assert "bureau migrate" in capsys.readouterr().err
