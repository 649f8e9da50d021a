"""Straight-line coverage, summaries, station load, rural rule and the incremental model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from service_circle import CoverageModel, LocalProjection, coverage, geodesic_m, station_load, summarise

WUHAN = (114.3055, 30.5928)


def random_frame(rng: np.random.Generator, n: int, lon=(113.7, 115.1), lat=(29.9, 31.4)) -> pd.DataFrame:
    return pd.DataFrame({"lon": rng.uniform(*lon, n), "lat": rng.uniform(*lat, n)})


def brute_force(pop: pd.DataFrame, pts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """All-pairs ellipsoidal geodesic distances: the ground truth the projection must reproduce."""
    d = geodesic_m(
        pop["lon"].to_numpy()[:, None],
        pop["lat"].to_numpy()[:, None],
        pts["lon"].to_numpy()[None, :],
        pts["lat"].to_numpy()[None, :],
    )
    return d, d.min(axis=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coverage_matches_geodesic_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # Dense enough that many cells are near the 15-minute edge, across the whole of Wuhan.
    pop = random_frame(rng, 500, lon=(114.0, 114.6), lat=(30.3, 30.9))
    pop["population"] = rng.integers(0, 100, len(pop))
    pts = random_frame(rng, 50, lon=(114.0, 114.6), lat=(30.3, 30.9))
    res = coverage(pop, pts, minutes=15, speed_kmh=4.0, circuity=1.3)
    d_all, d_min = brute_force(pop, pts)
    # Distance to the chosen point equals the true minimum within the projection tolerance.
    chosen = d_all[np.arange(len(pop)), res["nearest_point"].to_numpy()]
    np.testing.assert_allclose(res["distance_m"], d_min, rtol=5e-4)
    np.testing.assert_allclose(chosen, d_min, rtol=5e-4)
    minutes = d_min * 1.3 / (4000 / 60)
    np.testing.assert_allclose(res["minutes"], minutes, rtol=5e-4)
    away = np.abs(minutes - 15) > 0.05  # 0.3 % of the threshold
    assert away.sum() > 400
    np.testing.assert_array_equal(res["covered"].to_numpy()[away], (minutes <= 15)[away])
    assert 0 < res["covered"].sum() < len(pop)


def test_whole_city_extent_uses_a_long_range_brute_force() -> None:
    rng = np.random.default_rng(5)
    pop = random_frame(rng, 400)
    pts = random_frame(rng, 20)
    res = coverage(pop, pts)
    _, d_min = brute_force(pop, pts)
    np.testing.assert_allclose(res["distance_m"], d_min, rtol=1e-3)


def test_projection_error_below_half_percent_within_100_km() -> None:
    rng = np.random.default_rng(3)
    proj = LocalProjection(*WUHAN)
    # Pairs anywhere within 100 km of the centre, at separations from 100 m to 100 km.
    ang = rng.uniform(0, 2 * np.pi, 2000)
    rad = rng.uniform(0, 100_000, 2000)
    lon1, lat1 = proj.inverse(rad * np.cos(ang), rad * np.sin(ang))
    sep = np.exp(rng.uniform(np.log(100), np.log(100_000), 2000))
    b = rng.uniform(0, 2 * np.pi, 2000)
    xy1 = proj.forward(lon1, lat1)
    lon2, lat2 = proj.inverse(xy1[:, 0] + sep * np.cos(b), xy1[:, 1] + sep * np.sin(b))
    xy2 = proj.forward(lon2, lat2)
    planar = np.hypot(*(xy2 - xy1).T)
    geo = geodesic_m(lon1, lat1, lon2, lat2)
    rel = np.abs(planar - geo) / geo
    assert rel.max() < 0.005
    assert rel.max() < 0.0005  # the local transverse Mercator is in fact ~10x better than required


def test_no_points_means_nothing_covered() -> None:
    pop = pd.DataFrame({"lon": [114.3, 114.31], "lat": [30.5, 30.51], "population": [10, 20]})
    res = coverage(pop, pd.DataFrame({"lon": [], "lat": []}))
    assert list(res.columns) == ["nearest_point", "distance_m", "minutes", "covered"]
    assert (res["nearest_point"] == -1).all()
    assert np.isinf(res["distance_m"]).all()
    assert not res["covered"].any()
    assert summarise(pop, res).loc["all", "covered_people"] == 0


def test_empty_population() -> None:
    pop = pd.DataFrame({"lon": [], "lat": [], "population": []})
    res = coverage(pop, pd.DataFrame({"lon": [114.3], "lat": [30.5]}))
    assert len(res) == 0
    assert list(res.columns) == ["nearest_point", "distance_m", "minutes", "covered"]
    s = summarise(pop, res)
    assert s.loc["all", "people"] == 0 and np.isnan(s.loc["all", "covered_share"])


def test_zero_and_nan_population_rows_and_index_kept() -> None:
    pop = pd.DataFrame(
        {
            "lon": [114.30, 114.301, 114.5],
            "lat": [30.5, 30.5, 30.5],
            "population": [0, np.nan, 7],
            "district": ["a", "a", "b"],
            "note": ["x", "y", "z"],
        },
        index=[10, 20, 30],
    )
    pts = pd.DataFrame({"lon": [114.3005], "lat": [30.5]})
    res = coverage(pop, pts)
    assert list(res.index) == [10, 20, 30]
    assert res["covered"].tolist() == [True, True, False]
    s = summarise(pop, res, by="district")
    assert s.loc["a", "people"] == 0 and np.isnan(s.loc["a", "covered_share"])
    assert s.loc["b", "covered_share"] == 0


def test_minutes_formula_and_parameters() -> None:
    proj = LocalProjection(*WUHAN)
    lon, lat = proj.inverse(np.array([0.0, 700.0, 800.0, 1000.0]), np.zeros(4))
    pop = pd.DataFrame({"lon": lon, "lat": lat, "population": 1.0})
    pts = pop.iloc[[0]][["lon", "lat"]]
    res = coverage(pop, pts, minutes=15, speed_kmh=4.0, circuity=1.3)
    np.testing.assert_allclose(res["distance_m"], [0, 700, 800, 1000], atol=0.05)
    np.testing.assert_allclose(res["minutes"], res["distance_m"] * 1.3 / (4000 / 60))
    # Radius = 15 min * 66.67 m/min / 1.3 = 769 m.
    assert res["covered"].tolist() == [True, True, False, False]
    assert coverage(pop, pts, circuity=1.0)["covered"].tolist() == [True, True, True, True]
    assert coverage(pop, pts, speed_kmh=3.6, circuity=1.45)["covered"].tolist() == [True, False, False, False]
    with pytest.raises(ValueError):
        coverage(pop, pts, circuity=0.9)


def test_rural_five_km_rule() -> None:
    proj = LocalProjection(*WUHAN)
    lon, lat = proj.inverse(np.array([0.0, 3000.0, 3000.0, 6000.0]), np.zeros(4))
    pop = pd.DataFrame({"lon": lon, "lat": lat, "population": 1.0, "rural": [False, False, True, True]})
    pts = pop.iloc[[0]][["lon", "lat"]]
    assert coverage(pop, pts)["covered"].tolist() == [True, False, True, False]
    assert coverage(pop, pts, rural_distance_m=None)["covered"].tolist() == [True, False, False, False]
    assert coverage(pop, pts, rural_distance_m=7000)["covered"].tolist() == [True, False, True, True]


def test_summarise_with_working_age_and_groups() -> None:
    pop = pd.DataFrame(
        {
            "lon": [114.30, 114.30, 114.9, 114.9],
            "lat": [30.5, 30.5, 30.5, 30.5],
            "population": [100, 50, 30, 20],
            "working_age": [60, 30, 20, 10],
            "district": ["Jiang'an", "Hongshan", "Hongshan", "Jiang'an"],
        }
    )
    res = coverage(pop, pd.DataFrame({"lon": [114.3], "lat": [30.5]}))
    s = summarise(pop, res)
    assert s.loc["all", "covered_people"] == 150 and s.loc["all", "covered_share"] == 0.75
    assert s.loc["all", "covered_working_age"] == 90 and s.loc["all", "covered_working_age_share"] == 0.75
    g = summarise(pop, res, by="district")
    assert g.loc["Hongshan", "covered_people"] == 50 and g.loc["Hongshan", "people"] == 80
    assert g.loc["Jiang'an", "covered_share"] == pytest.approx(100 / 120)
    assert g["cells"].sum() == 4


def test_station_load_assigns_to_nearest_and_flags_capacity() -> None:
    proj = LocalProjection(*WUHAN)
    lon, lat = proj.inverse(np.array([0.0, 100.0, 2000.0, 2100.0, 5000.0]), np.zeros(5))
    pop = pd.DataFrame({"lon": lon, "lat": lat, "population": [10, 20, 30, 40, 1000]})
    pts = pd.DataFrame({"lon": lon[[0, 2]], "lat": lat[[0, 2]]})
    res = coverage(pop, pts)
    load = station_load(pop, res, capacity=50, n_points=3)
    assert load["people_assigned"].tolist() == [30, 1070, 0]
    assert load["people_covered"].tolist() == [30, 70, 0]
    assert load["over_capacity"].tolist() == [False, True, False]
    assert not station_load(pop, res)["over_capacity"].any()
    per = station_load(pop, res, capacity=[20, 100])
    assert per["over_capacity"].tolist() == [True, False]


def _points_inside(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return random_frame(rng, n, lon=(114.21, 114.39), lat=(30.51, 30.69))


def test_incremental_add_remove_equals_recomputation() -> None:
    rng = np.random.default_rng(11)
    pop = random_frame(rng, 4000, lon=(114.2, 114.4), lat=(30.5, 30.7))
    pop["population"] = rng.integers(0, 50, len(pop)).astype(float)
    pop["working_age"] = np.floor(pop["population"] * 0.6)
    pop["rural"] = rng.random(len(pop)) < 0.1
    pts = _points_inside(rng, 15)
    model = CoverageModel(pop, pts)
    current = {i: (lon, lat) for i, (lon, lat) in enumerate(pts[["lon", "lat"]].itertuples(index=False))}
    for step in range(40):
        if current and (step % 3 == 2 or len(current) > 25):
            victim = int(rng.choice(sorted(current)))
            head = model.remove_point(victim)
            del current[victim]
        else:
            lon, lat = _points_inside(rng, 1).iloc[0]
            head = model.add_point(lon, lat)
            current[int(head["point"])] = (lon, lat)
        ids = np.array(sorted(current), dtype=np.int64)
        now = pd.DataFrame([current[i] for i in ids], columns=["lon", "lat"])
        if not len(now):
            now = pd.DataFrame({"lon": [], "lat": []})
        ref = coverage(pop, now)
        ref_sum = summarise(pop, ref).loc["all"]
        assert head["covered_people"] == pytest.approx(ref_sum["covered_people"])
        assert head["covered_working_age"] == pytest.approx(ref_sum["covered_working_age"])
        assert head["stations"] == len(ids)
        if step % 5 == 0:
            got = model.result()
            np.testing.assert_array_equal(got["covered"], ref["covered"])
            np.testing.assert_allclose(got["distance_m"], ref["distance_m"], rtol=1e-9)
            ref_ids = np.where(ref["nearest_point"] >= 0, ids[ref["nearest_point"].clip(lower=0)], -1)
            np.testing.assert_array_equal(got["nearest_point"], ref_ids)


def test_incremental_remove_all_and_errors() -> None:
    pop = pd.DataFrame({"lon": [114.30, 114.31], "lat": [30.5, 30.5], "population": [5.0, 6.0]})
    model = CoverageModel(pop, pd.DataFrame({"lon": [114.3], "lat": [30.5]}))
    assert model.headline()["covered_people"] == 5
    assert model.remove_point(0)["covered_people"] == 0
    assert (model.result()["nearest_point"] == -1).all()
    with pytest.raises(KeyError):
        model.remove_point(0)
    head = model.add_point(114.31, 30.5)
    assert head["point"] == 1 and head["covered_people"] == 6
