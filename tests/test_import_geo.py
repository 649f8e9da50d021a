"""Boundaries from GeoJSON and zipped Shapefiles: datum detection and conversion to GCJ-02, unknown areas refused."""

from __future__ import annotations

import io
import json
import shutil
import struct
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from service_circle import wgs84_to_gcj02
from store import schema as s
from tests.test_import import city_sqlite, frame, run  # noqa: F401  (fixture)

WGS84_PRJ = 'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]]]'


def shapefile_zip(rings: dict[str, list[tuple[float, float]]], prj: str | None = WGS84_PRJ) -> bytes:
    """A minimal polygon Shapefile (.shp, .shx, .dbf, .prj) with one ring per feature and an ADCODE field."""
    records = []
    for ring in rings.values():
        pts = b"".join(struct.pack("<2d", x, y) for x, y in ring)
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        body = (
            struct.pack("<i4d2i", 5, min(xs), min(ys), max(xs), max(ys), 1, len(ring))
            + struct.pack("<i", 0)
            + pts
        )
        records.append(body)
    shp = b""
    for n, body in enumerate(records, start=1):
        shp += struct.pack(">2i", n, len(body) // 2) + body
    header = struct.pack(">7i", 9994, 0, 0, 0, 0, 0, (100 + len(shp)) // 2) + struct.pack("<2i4d4d", 1000, 5,
                                                                                             *(0.0,) * 8)  # fmt: skip
    codes = list(rings)
    field = b"ADCODE".ljust(11, b"\x00") + b"C" + b"\x00" * 4 + bytes([12, 0]) + b"\x00" * 14
    dbf_header = struct.pack("<4BIHH", 3, 126, 1, 1, len(codes), 32 + 32 + 1, 1 + 12) + b"\x00" * 20
    dbf = dbf_header + field + b"\x0d" + b"".join(b" " + c.encode().ljust(12) for c in codes) + b"\x1a"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("districts.shp", header + shp)
        zf.writestr("districts.dbf", dbf)
        if prj:
            zf.writestr("districts.prj", prj)
    return buf.getvalue()


def square(x: float, y: float, d: float) -> list[tuple[float, float]]:
    return [(x, y), (x, y + d), (x + d, y + d), (x + d, y), (x, y)]  # clockwise: a shell in Shapefile order


@pytest.fixture()
def url(tmp_path: Path, city_sqlite: Path) -> str:  # noqa: F811
    return f"sqlite:///{shutil.copy(city_sqlite, tmp_path / 'c.sqlite')}"


def boundary(url: str, code: str) -> dict:
    a = s.area
    row = frame(url, select(a.c.boundary_geojson, a.c.datum).where(a.c.area_code == code)).iloc[0]
    assert row["datum"] == "GCJ-02"
    return json.loads(row["boundary_geojson"])


def test_zipped_shapefile_in_wgs84_is_converted(url: str) -> None:
    report = run(url, [("boundaries.zip", shapefile_zip({"420103": square(114.20, 30.55, 0.04)}))])
    assert report.exit_code == 0, [p.message("en") for p in report.problems]
    assert report.files[0].datums == ["WGS84"]
    ring = boundary(url, "420103")["coordinates"][0]
    expected = {
        tuple(round(float(v), 6) for v in wgs84_to_gcj02(x, y)) for x, y in square(114.20, 30.55, 0.04)
    }
    assert {(round(x, 6), round(y, 6)) for x, y in ring} == expected


def test_geojson_with_datum_override_is_stored_as_given(url: str) -> None:
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"区划代码": "420103"},
          "geometry": {"type": "Polygon", "coordinates": [[[114.2, 30.5], [114.3, 30.5], [114.3, 30.6],
                                                           [114.2, 30.5]]]}}]}  # fmt: skip
    report = run(url, [("b.geojson", json.dumps(fc).encode())], datum="GCJ-02")
    assert report.exit_code == 0, [p.message("en") for p in report.problems]
    assert boundary(url, "420103")["coordinates"][0][1] == [114.3, 30.5]


def test_geojson_without_datum_is_assumed_wgs84_with_a_warning(url: str) -> None:
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"adcode": 420103},
          "geometry": {"type": "Polygon", "coordinates": [[[114.2, 30.5], [114.3, 30.5], [114.3, 30.6],
                                                           [114.2, 30.5]]]}}]}  # fmt: skip
    report = run(url, [("b.geojson", json.dumps(fc).encode())])
    assert report.exit_code == 0
    assert any(p.key == "import_datum_assumed" and p.level == "warning" for p in report.problems)
    lon, lat = wgs84_to_gcj02(114.3, 30.5)
    assert boundary(url, "420103")["coordinates"][0][1] == pytest.approx([float(lon), float(lat)], abs=1e-6)


def test_boundary_of_an_unknown_area_is_refused(url: str) -> None:
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"区划代码": "420199"},
          "geometry": {"type": "Polygon", "coordinates": [[[114.2, 30.5], [114.3, 30.5], [114.3, 30.6],
                                                           [114.2, 30.5]]]}}]}  # fmt: skip
    report = run(url, [("b.geojson", json.dumps(fc).encode())])
    assert report.exit_code == 1
    p = next(p for p in report.problems if p.key == "import_boundary_unknown_area")
    assert (p.file, p.row, p.column) == ("b.geojson", 1, "area_code") and "420199" in p.message("en")


def test_projected_shapefile_is_refused(url: str) -> None:
    data = shapefile_zip({"420103": square(500000, 3380000, 4000)}, prj='PROJCS["WGS_1984_UTM_Zone_50N"]')
    report = run(url, [("utm.zip", data)])
    assert report.exit_code == 2 and "projected coordinates" in report.problems[0].message("en")
