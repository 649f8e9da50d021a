"""Service circle: queries on SQLite and PostgreSQL against direct counts, the page's district share against a
brute-force haversine computation, the page under AppTest (URL filters, siting, exact check), the demo roads."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select, update
from streamlit.testing.v1 import AppTest

from jobs import geo, roads
from queries import circle
from service_circle import gcj02_to_wgs84
from store import schema as s
from store.db import make_engine
from tests.conftest import ROOT

AS_OF = date(2022, 12, 31)
SMALL = "420103"  # Jianghan: the smallest central district by area (about 400 cells)


def raw(url: str, table) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    with make_engine(url).connect() as conn:
        return pd.DataFrame(conn.execute(select(table)).mappings().all())


def test_cells_sum_to_the_census_and_match_a_direct_count(both_demo_urls: str) -> None:
    engine = make_engine(both_demo_urls)
    cells = circle.cells(engine)
    census = sum(geo.CENSUS_2020.values())
    assert census == 12_326_518
    # The population grid is built at full size at every demo scale (only person records are scaled).
    assert int(cells["population"].sum()) == census
    with engine.connect() as conn:
        n, people = conn.execute(
            select(func.count(), func.sum(s.population_cell.c.population)).select_from(s.population_cell)
        ).one()
    assert len(cells) == n and int(people) == census
    assert cells["cell_id"].is_monotonic_increasing and cells["is_rural"].dtype == bool
    by_district = cells.groupby("district_code")["population"].sum()
    assert by_district.to_dict() == geo.CENSUS_2020
    one = circle.cells(engine, SMALL)
    assert set(one["district_code"]) == {SMALL} and int(one["population"].sum()) == geo.CENSUS_2020[SMALL]
    sql = circle.population_by_area(engine, "street").set_index("area_code")
    pandas = cells.groupby("street_code").agg(
        cells=("cell_id", "size"), population=("population", "sum"), working_age=("working_age", "sum")
    )
    rural = cells[cells["is_rural"]].groupby("street_code")["population"].sum()
    assert (sql[["cells", "population", "working_age"]] == pandas.loc[sql.index]).all().all()
    assert (sql["rural_population"] == rural.reindex(sql.index).fillna(0).astype(int)).all()


def test_only_points_open_on_the_day_are_returned(both_demo_urls: str) -> None:
    engine = make_engine(both_demo_urls)
    every = raw(both_demo_urls, s.service_point)
    opened = pd.to_datetime(every["opened_on"])
    closed = pd.to_datetime(every["closed_on"])
    day = pd.Timestamp(AS_OF)
    expected = every[(opened <= day) & (closed.isna() | (closed > day))]["point_id"]
    got = circle.service_points(engine, AS_OF)
    assert list(got["point_id"]) == sorted(expected)
    assert 0 < len(got) < len(every)  # community points keep opening after 2022
    assert len(circle.service_points(engine)) == len(every)
    counts = circle.stations_open(engine, (AS_OF, date(2026, 10, 31)))
    assert counts[counts["day"] == AS_OF]["stations"].sum() == len(got)
    lv = got.groupby("level").size()
    assert counts[counts["day"] == AS_OF].set_index("level")["stations"].to_dict() == lv.to_dict()


def test_a_closed_point_drops_out_from_its_closing_day(demo_url: str, tmp_path: Path) -> None:
    path = tmp_path / "closed.sqlite"
    shutil.copy(demo_url.removeprefix("sqlite:///"), path)
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(update(s.service_point).where(s.service_point.c.point_id == 1).values(closed_on=AS_OF))
    assert 1 not in set(circle.service_points(engine, AS_OF)["point_id"])
    assert 1 in set(circle.service_points(engine, date(2022, 12, 30))["point_id"])


def test_road_network_query_is_consistent(both_demo_urls: str) -> None:
    engine = make_engine(both_demo_urls)
    size = circle.road_size(engine)
    nodes, edges = circle.road_network(engine)
    assert size == {"nodes": len(nodes), "edges": len(edges)} and size["nodes"] > 10_000
    assert set(edges["u"]).union(edges["v"]) <= set(nodes["node"])
    assert (edges["length_m"] > 0).all()


# --- the page -------------------------------------------------------------------------------------------------


def page(monkeypatch: pytest.MonkeyPatch, url: str, params: dict[str, str]) -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/service_circle.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    found = [df.value for df in at.dataframe if column in df.value.columns]
    assert found, f"no table with a {column!r} column"
    return found[0]


def haversine_m(lon1, lat1, lon2, lat2):  # type: ignore[no-untyped-def]
    r = 6_371_008.8
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


def test_page_district_share_equals_brute_force(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    """URL filters reach the page, and the share it shows for a district equals an all-pairs computation."""
    at = page(monkeypatch, demo_url, {"district": SMALL, "minutes": "10", "year": "2024"})
    assert at.selectbox(key="district").value == SMALL and at.selectbox(key="minutes").value == 10
    assert at.query_params["minutes"] == ["10"] or at.query_params["minutes"] == "10"
    assert any("Jianghan District" in h.value for h in at.subheader)
    # Brute force: every cell of the district against every point open at the end of 2024, in WGS84.
    cells = raw(demo_url, s.population_cell)
    cells = cells[cells["district_code"] == SMALL]
    every = raw(demo_url, s.service_point)
    every = every[pd.to_datetime(every["opened_on"]) <= pd.Timestamp(2024, 12, 31)]
    c_lon, c_lat = gcj02_to_wgs84(cells["lon"].to_numpy(float), cells["lat"].to_numpy(float))
    pop = cells["population"].to_numpy(float)
    for partners in (False, True):  # the official rule leaves partner points out; the toggle counts them
        points = every if partners else every[every["level"] != "partner"]
        p_lon, p_lat = gcj02_to_wgs84(points["lon"].to_numpy(float), points["lat"].to_numpy(float))
        d = haversine_m(c_lon[:, None], c_lat[:, None], p_lon[None, :], p_lat[None, :]).min(axis=1)
        radius = np.where(
            cells["is_rural"].astype(bool), 5000.0, 10 * 4000 / 60 / 1.3
        )  # 10 min, 4 km/h, ×1.3
        assert np.all(np.abs(d / radius - 1) > 1e-3), "a cell sits on the threshold; pick another case"
        share = pop[d <= radius].sum() / pop.sum()
        assert 0.2 < share < 1.0
        if partners:
            at.toggle(key="cc_partners").set_value(True).run()
            assert not at.exception, [e.value for e in at.exception]
        districts = table_with(at, "Covered share")
        row = districts[districts["Area"] == "Jianghan District"].iloc[0]
        assert row["Covered share"] == pytest.approx(share, abs=1e-12)
        assert row["Residents covered"] == pytest.approx(pop[d <= radius].sum())
        assert row["Residents"] == pytest.approx(pop.sum())
        assert len(districts) == 13
        metric = next(m for m in at.metric if m.label == "Residents covered")
        assert metric.value == f"{share * 100:.1f}%"
        assert any(("Partner point" in c.value) == partners for c in at.caption if "Counted here" in c.value)


def test_models_compared_on_the_demo_city(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    at = page(monkeypatch, demo_url, {"model": "network"})
    assert at.segmented_control(key="model").value == "network"
    compare = table_with(at, "Road network")
    assert len(compare) == 14 and compare["Straight line × detour"].between(0, 1).all()
    assert (compare["Road network"] != compare["Straight line × detour"]).any()
    diff = (compare["Road network"] - compare["Straight line × detour"]) * 100
    assert np.allclose(compare["Difference (pp)"], diff)


def test_siting_flow_gives_a_ranked_list_and_an_exact_check(
    monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    at = page(monkeypatch, demo_url, {"district": SMALL})
    assert not [df for df in at.dataframe if "People added" in df.value.columns]
    at.number_input(key="cc_k").set_value(4)
    at.button(key="cc_site_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    sites = table_with(at, "People added")
    assert 1 <= len(sites) <= 4 and list(sites["Rank"]) == list(range(1, len(sites) + 1))
    added = sites["People added"].to_numpy()
    assert (added > 0).all() and (np.diff(added) <= 0).all()
    assert (np.diff(sites["Cumulative share"].to_numpy()) > 0).all()
    assert set(sites["District"]) == {"Jianghan District"}
    assert any("63.2" in c.value for c in at.caption)
    at.button(key="cc_exact_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    report = [m.value for m in list(at.success) + list(at.info) if "greedy" in m.value]
    assert report and "gap" in report[0]


# --- the demo road network ------------------------------------------------------------------------------------


def test_demo_roads_are_a_grid_broken_by_water_with_bridges() -> None:
    out = roads.demo_network("tiny")
    nodes, edges = out["road_node"], out["road_edge"]
    assert 20_000 < len(nodes) < 150_000 and list(nodes.columns) == ["node_id", "lon", "lat"]
    assert list(edges.columns) == ["edge_id", "u", "v", "length_m"]
    assert edges["length_m"].between(300, 700).all()  # neighbours of a jittered 500 m grid
    # No node in East Lake; the Yangtze is crossed only on bridges, and the two banks are connected.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    km_lon = geo.km_per_deg_lon(30.6)
    lake = np.hypot(
        (nodes["lon"] - geo.EAST_LAKE[0]) * km_lon, (nodes["lat"] - geo.EAST_LAKE[1]) * geo.KM_PER_DEG_LAT
    )
    assert (lake > geo.EAST_LAKE[2] - 0.5).all()
    water = geo.density(nodes["lon"].to_numpy(), nodes["lat"].to_numpy()) == 0
    assert 0 < water.sum() < 0.03 * len(nodes)  # bridge decks only
    n = len(nodes)
    graph = coo_matrix((np.ones(len(edges)), (edges["u"] - 1, edges["v"] - 1)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    hankou = np.argmin(np.hypot(nodes["lon"] - 114.27, nodes["lat"] - 30.62))
    wuchang = np.argmin(np.hypot(nodes["lon"] - 114.31, nodes["lat"] - 30.54))
    assert label[hankou] == label[wuchang]
    assert roads.demo_network("tiny")["road_edge"].equals(edges)  # deterministic
