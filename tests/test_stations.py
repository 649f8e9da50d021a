"""Service stations (issue #17): one list of station types with import aliases, the official coverage counting the
configured types (partners out by default) against a brute force, staff and floor area against the standard,
staff per 10,000 residents, full-service coverage and the five-year projection, by hand on small examples.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from figures import coverage as fc
from figures import stations as fs
from figures.rules import CoverageRule, rules
from figures.run import plain
from i18n import t
from queries import circle, explore
from store import schema as s
from store import stations
from store.db import make_engine, upgrade
from store.growth import district_growth
from tests.test_import import city_pg, city_sqlite, city_url, frame, run  # noqa: F401  (fixtures)

ON = date(2026, 6, 30)
LON0, LAT0 = 114.30, 30.60  # WGS84, in Wuhan
M_PER_DEG_LAT = 111_320.0


def east(m: float, lat: float = LAT0) -> float:
    """Degrees of longitude for ``m`` metres east at latitude ``lat`` (a spherical approximation: < 0.5 %)."""
    return m / (M_PER_DEG_LAT * math.cos(math.radians(lat)))


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance on a sphere of radius 6,371,008.8 m, written out here (not the package's)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


# --- the one list and the import's aliases -------------------------------------------------------------------


def test_every_label_names_one_type_and_the_doorstep_station_is_not_a_partner() -> None:
    labels = [label for s_ in stations.STATION_TYPES for label in (s_.code, s_.name_zh, *s_.aliases)]
    assert len(labels) == len(set(labels)), "a label names two types"
    assert stations.station_type("家门口就业服务站") == "community_point"
    assert stations.station_type(" 社区家门口就业服务站 ") == "community_point"
    assert stations.station_type("零工市场") == "gig_market"
    assert stations.station_type("合作机构") == "partner"
    assert stations.station_type("菜市场") is None
    assert stations.COUNTED == ("district_centre", "street_station", "community_point", "gig_market")


def test_import_maps_the_doorstep_station_aliases_to_its_type(city_url: str) -> None:  # noqa: F811
    csv = ("point_id,name_zh,level,street_code,lon,lat,opened_on,capacity_people\n"
           "1,大智家门口站,家门口就业服务站,420102001,114.29,30.59,2024-01-01,15000\n"
           "2,民族社区站,社区家门口就业服务站,420103001,114.27,30.57,2024-01-01,15000\n"
           "3,某合作点,合作机构,420103001,114.27,30.58,2024-01-01,10000\n")  # fmt: skip
    report = run(city_url, [("service_points.csv", csv.encode())])
    assert report.exit_code == 0, [p.message("en") for p in report.problems]
    got = frame(city_url, select(s.service_point).order_by(s.service_point.c.point_id))
    assert got["level"].tolist() == ["community_point", "community_point", "partner"]
    # floor area and the free services load too, by their Chinese names
    csv = ("网点编号,名称,网点类型,街道代码,经度,纬度,启用日期,服务能力,服务面积\n"
           "4,某街道站,街道劳动保障所,420102001,114.29,30.60,2024-01-01,60000,180\n")  # fmt: skip
    items = ("网点编号,服务事项,是否提供\n"
             "4,职业介绍、职业指导和创业开业指导,是\n"
             "4,流动人员人事档案管理服务,否\n")  # fmt: skip
    report = run(city_url, [("网点.csv", csv.encode()), ("网点服务事项.csv", items.encode())])
    assert report.exit_code == 0, [p.message("en") for p in report.problems]
    got = frame(city_url, select(s.service_point).where(s.service_point.c.point_id == 4))
    assert got["level"].tolist() == ["street_station"] and got["floor_area_m2"].tolist() == [180.0]
    rows = frame(city_url, select(s.service_point_item).order_by(s.service_point_item.c.item_code))
    assert rows[["item_code", "offered"]].astype(str).values.tolist() == [
        ["personnel_files", "False"],
        ["placement", "True"],
    ]


def test_the_page_labels_are_names_of_the_list() -> None:
    for st_ in stations.STATION_TYPES:
        for key in (f"circle_level_{st_.code}", f"explore_sp_{st_.code}"):
            zh = t(key, "zh")
            assert zh in (st_.name_zh, *st_.aliases), (key, zh)
    assert explore.SP_LEVELS == stations.CODES


def test_the_bureau_sets_the_counted_types(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rules().coverage.station_types == stations.COUNTED and not rules().coverage.partners_counted
    monkeypatch.setenv("EMPLOYMENT_COVERAGE_STATION_TYPES", "street_station, partner, nonsense")
    assert rules().coverage.station_types == ("street_station", "partner")
    monkeypatch.setenv("EMPLOYMENT_COVERAGE_STATION_TYPES", "nonsense")
    assert rules().coverage.station_types == stations.COUNTED
    rule = CoverageRule()
    assert fs.with_partners(rule, True).station_types == (*stations.COUNTED, "partner")
    assert fs.with_partners(fs.with_partners(rule, True), False) == rule


# --- a hand-built town on SQLite and PostgreSQL --------------------------------------------------------------

# Cells (district, metres east of LON0, metres north of LAT0, residents, rural) and points (type, metres east,
# metres north, opened, closed, staff, floor m², services offered). Urban reach: 15 min × 4 km/h / 1.3 = 769.2 m.
CELLS = [
    ("D1", 0, 0, 1000, False),  # 100 m from a partner only: covered only when partners count
    ("D1", 3000, 0, 2000, False),  # 600 m from the doorstep station: covered
    ("D1", 3000, 1500, 500, False),  # 900 m from it: not covered
    ("D2", 10000, 0, 800, True),  # rural, 4 km from the gig market: covered by the 5 km rule
    ("D2", 10000, 9600, 300, True),  # rural, 5.6 km from it (and 100 m from a closed office): not covered
    ("D2", 20000, 0, 400, False),  # 700 m from a partner and 760 m from a street office: covered either way
]
ALL = tuple(stations.ITEM_CODES)
POINTS = [
    ("partner", 100, 0, "2020-01-01", None, 2, 40.0, ALL[:3]),
    ("community_point", 3000, 600, "2021-01-01", None, 1, 60.0, ALL),
    ("gig_market", 10000, 4000, "2022-01-01", None, 1, 300.0, ALL[:9]),
    ("street_station", 10000, 9700, "2018-01-01", "2026-01-01", 4, 200.0, ALL),
    ("partner", 20700, 0, "2020-01-01", None, 2, 30.0, ()),
    ("street_station", 20000, 760, "2019-01-01", None, 3, 120.0, ALL),
]


def _town(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    cells = [
        dict(cell_id=i + 1, district_code=d, street_code=d + "01", lon=LON0 + east(x), lat=LAT0 + y / M_PER_DEG_LAT,
             population=p, working_age=p // 2, is_rural=r, datum="WGS84")
        for i, (d, x, y, p, r) in enumerate(CELLS)
    ]  # fmt: skip
    points, items = [], []
    for i, (lv, x, y, opened, closed, staff, floor, offers) in enumerate(POINTS):
        points.append(
            dict(point_id=i + 1, name_zh=f"点{i + 1}", name_en=f"P{i + 1}", level=lv,
                 district_code="D1" if x < 5000 else "D2", street_code=None, lon=LON0 + east(x),
                 lat=LAT0 + y / M_PER_DEG_LAT, opened_on=date.fromisoformat(opened),
                 closed_on=date.fromisoformat(closed) if closed else None, staff=staff, capacity_people=10_000,
                 datum="WGS84", floor_area_m2=floor)
        )  # fmt: skip
        items += [dict(point_id=i + 1, item_code=code, offered=code in offers) for code in ALL]
    with engine.begin() as conn:
        conn.execute(insert(s.population_cell), cells)
        conn.execute(insert(s.service_point), points)
        conn.execute(insert(s.service_point_item), items)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def town(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    sqlite = f"sqlite:///{tmp_path / 'town.sqlite'}"
    url = sqlite if request.param == "sqlite" else request.getfixturevalue("pg_url")
    _town(url)
    return url


def brute_force(partners: bool) -> tuple[float, dict[str, float]]:
    """Covered residents city-wide and per district, from distances computed here cell by point."""
    reach = 15 * 4000 / 60 / 1.3
    people = {"D1": 0.0, "D2": 0.0}
    covered = {"D1": 0.0, "D2": 0.0}
    for d, x, y, p, rural in CELLS:
        lon, lat = LON0 + east(x), LAT0 + y / M_PER_DEG_LAT
        near = min(
            haversine_m(lon, lat, LON0 + east(px), LAT0 + py / M_PER_DEG_LAT)
            for lv, px, py, opened, closed, *_ in POINTS
            if (partners or lv != "partner")
            and date.fromisoformat(opened) <= ON
            and (closed is None or date.fromisoformat(closed) > ON)
        )
        people[d] += p
        covered[d] += p if near <= (5000 if rural else reach) else 0
    return sum(covered.values()) / sum(people.values()), {d: covered[d] / people[d] for d in people}


@pytest.mark.parametrize("partners", [False, True])
def test_official_coverage_counts_the_configured_types_as_a_brute_force(town: str, partners: bool) -> None:
    rule = fs.with_partners(CoverageRule(), partners)
    got = fc.official(plain(make_engine(town), 10), rule, ON)
    share, by = brute_force(partners)
    assert got["share"] == pytest.approx(share, abs=1e-12)
    assert dict(zip(got["by_district"]["area_code"], got["by_district"]["covered_share"], strict=True)) == (
        pytest.approx(by, abs=1e-12)
    )
    # by hand: without partners 2000 + 800 + 400 of 5000 are covered; the partner beside cell 1 adds 1000
    assert got["covered_people"] == (4200 if partners else 3200)
    assert got["points"] == (5 if partners else 3)


def test_staff_floor_services_and_full_service_coverage_on_the_town(town: str) -> None:
    run_ = plain(make_engine(town), 10)
    rule = CoverageRule()
    table = fs.station_table(run_, rule, ON).set_index("point_id")
    assert table.index.tolist() == [2, 3, 6]  # counted types open on the day
    # doorstep: 1 staff of 1, no floor standard; gig market: 1 of 2; street office: 3 of 3, 120 m² of 150
    assert table["staff_short"].tolist() == [False, True, False]
    assert table["floor_short"].tolist() == [False, False, True]
    assert table["below_standard"].tolist() == [False, True, True]
    assert table["items_offered"].tolist() == [10, 9, 10]
    assert table["full_service"].tolist() == [True, False, True]
    matrix = fs.item_matrix(run_, rule, ON)
    assert matrix.shape == (3, 10) and matrix.loc[3].tolist() == [True] * 9 + [False]
    staff = fs.staffing(run_, rule, ON).set_index("area_code")
    # D1: 1 staff for 3,500 residents = 2.857 per 10,000; D2: 1 + 3 for 1,500 = 26.67; city 5 for 5,000 = 10
    assert staff.loc["D1", "staff_per_10k"] == pytest.approx(10_000 / 3500)
    assert staff.loc["D2", "staff_per_10k"] == pytest.approx(4 * 10_000 / 1500)
    assert staff.loc["", "staff_per_10k"] == pytest.approx(10.0) and staff.loc["", "stations"] == 3
    full = fs.full_service_coverage(run_, rule, ON)
    # full-service stations are the doorstep station and the street office: the gig market's rural cell drops out
    assert full["any"]["covered_people"] == 3200 and full["full"]["covered_people"] == 2400
    assert full["full_points"] == 2


def test_queries_count_in_the_database(town: str) -> None:
    engine = make_engine(town)
    offered = circle.items_offered(engine, ON, stations.ITEM_CODES)
    assert dict(zip(offered["point_id"], offered["offered"], strict=True)) == {1: 3, 2: 10, 3: 9, 6: 10}
    assert circle.items_offered(engine, ON, ("placement",), "D2")["point_id"].tolist() == [3, 6]
    staff = circle.staff_by_district(engine, ON, ("partner", "street_station"))
    assert staff.to_dict("list") == {"district_code": ["D1", "D2"], "stations": [1, 2], "staff": [2, 5]}
    pts = circle.service_points(engine, ON, levels=("partner",))
    assert pts["point_id"].tolist() == [1, 5] and pts["floor_area_m2"].tolist() == [40.0, 30.0]
    # mid-2025 the street office (point 4) was still open
    assert len(circle.point_items(engine, date(2025, 6, 30), "D2")) == 9 + 10 + 10
    engine.dispose()


# --- hand-worked rules ---------------------------------------------------------------------------------------


def test_standards_and_staff_per_10k_by_hand() -> None:
    points = pd.DataFrame(
        {
            "level": ["district_centre", "district_centre", "street_station", "community_point", "partner"],
            "staff": [12, 9, 3, 0, 1],
            "floor_area_m2": [500.0, 800.0, np.nan, 20.0, 5.0],
        }
    )
    got = fs.standards(points)
    assert got["min_staff"].tolist()[:4] == [10, 10, 3, 1] and math.isnan(got["min_staff"].iloc[4])
    assert got["staff_short"].tolist() == [False, True, False, True, False]
    assert got["floor_short"].tolist() == [True, False, False, False, False]  # no area recorded: not judged
    assert got["below_standard"].tolist() == [True, True, False, True, False]
    staff = pd.DataFrame({"district_code": ["A", "B"], "stations": [2, 1], "staff": [6, 3]})
    pop = pd.DataFrame({"area_code": ["A", "B", "C"], "population": [30_000, 15_000, 0]})
    per = fs.staff_per_10k(staff, pop).set_index("area_code")["staff_per_10k"]
    assert per["A"] == pytest.approx(2.0) and per["B"] == pytest.approx(2.0) and math.isnan(per["C"])
    assert per[""] == pytest.approx(9 / 45_000 * 10_000)


def test_projection_by_hand_and_the_growth_data() -> None:
    cells = pd.DataFrame(
        {"district_code": ["A", "B", "C"], "population": [1000, 1000, 1000], "working_age": [500, 500, 500]}
    )
    rates = pd.DataFrame({"district_code": ["A", "B"], "annual_growth": [0.10, -0.5]})
    got = fs.project(cells, rates, 2)
    assert got["population"].tolist() == pytest.approx([1210.0, 250.0, 1000.0])  # 1.1², 0.5², no rate: flat
    assert got["working_age"].tolist() == pytest.approx([605.0, 125.0, 500.0])
    g = district_growth().set_index("district_code")
    assert len(g) == 13 and g["population_2020"].sum() == 12_326_518
    hongshan = g.loc["420111"]  # (2,443,993 / 1,360,812) ** (1/10) − 1
    assert hongshan["annual_growth"] == pytest.approx(
        (hongshan["population_2020"] / hongshan["population_2010"]) ** 0.1 - 1, abs=1e-6
    )
    assert (
        g.loc["420104", "annual_growth"] < 0 < g.loc["420112", "annual_growth"]
    )  # Qiaokou shrank, Dongxihu grew


def test_projected_coverage_on_the_town(town: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        fs.growth, "district_growth", lambda: pd.DataFrame({"district_code": ["D1"], "annual_growth": [0.2]})
    )
    got = fs.projected_coverage(plain(make_engine(town), 10), CoverageRule(), ON, years=1)
    # D1 grows by 20 %: 1000 + 2000 + 500 → 4200 residents, 2400 covered; D2 stays 1500 with 1200 covered
    assert got["projected"]["people"] == pytest.approx(5700.0)
    assert got["projected"]["covered_people"] == pytest.approx(3600.0)
    assert got["now"]["covered_people"] == 3200 and got["years"] == 1


# --- the demo city ---------------------------------------------------------------------------------------------


def test_the_demo_city_has_station_facts(demo_url: str) -> None:
    engine = make_engine(demo_url)
    points = circle.service_points(engine, ON)
    assert points["floor_area_m2"].notna().all()
    judged = fs.standards(points)
    assert 0 < judged["below_standard"].sum() < len(points) / 2
    run_ = plain(engine, 10)
    full = fs.full_service_coverage(run_, rules().coverage, ON)
    assert 0 < full["full_points"] < len(points)
    assert full["full"]["covered_people"] <= full["any"]["covered_people"]
    projected = fs.projected_coverage(run_, rules().coverage, ON)
    assert projected["projected"]["people"] > projected["now"]["people"]  # Wuhan grew 2.3 % a year
    engine.dispose()
