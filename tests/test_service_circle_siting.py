"""Greedy (CELF) siting against known answers, brute force and the exact MIP."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from service_circle import LocalProjection, coverage, site_exact, site_new_points
from service_circle.siting import build_instance, greedy_on_instance

PROJ = LocalProjection(114.3055, 30.5928)
RADIUS = 15 * 4000 / 60 / 1.3  # 769 m straight line at the defaults


def frame(xy: np.ndarray, people: np.ndarray | None = None) -> pd.DataFrame:
    lon, lat = PROJ.inverse(xy[:, 0], xy[:, 1])
    out = pd.DataFrame({"lon": lon, "lat": lat})
    if people is not None:
        out["population"] = people
    return out


def clusters() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three separated clusters (1000, 500, 200 people), each reachable from one candidate only."""
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10_000.0, 0.0], [0.0, 10_000.0]])
    sizes = [1000, 500, 200]
    xy, w = [], []
    for c, s in zip(centres, sizes, strict=True):
        pts = c + rng.uniform(-300, 300, (20, 2))
        xy.append(pts)
        w.append(np.full(20, s / 20))
    pop = frame(np.vstack(xy), np.concatenate(w))
    # Candidates: decoys 3 km away from everything, then the three cluster centres (shuffled).
    cand_xy = np.array([[5000.0, 5000.0], [0.0, 10_000.0], [-5000, 0.0], [10_000.0, 0.0], [0.0, 0.0]])
    return pop, frame(cand_xy)


def test_greedy_known_answer_clusters() -> None:
    pop, cands = clusters()
    out = site_new_points(pop, cands, None, k=3)
    assert out["candidate"].tolist() == [4, 3, 1]
    np.testing.assert_allclose(out["people_added"], [1000, 500, 200])
    np.testing.assert_allclose(out["cumulative_covered"], [1000, 1500, 1700])
    assert list(out.columns) == [
        "candidate",
        "lon",
        "lat",
        "people_added",
        "cumulative_covered",
        "cumulative_share",
    ]
    np.testing.assert_allclose(out["lon"], cands["lon"].to_numpy()[[4, 3, 1]])
    ex = site_exact(pop, cands, None, k=2)
    assert sorted(ex["chosen"]["candidate"]) == [3, 4]
    assert ex["objective"] == pytest.approx(1500) and ex["status"] == 0
    assert ex["greedy_gap"] == pytest.approx(0.0)


def test_existing_points_stay_fixed() -> None:
    pop, cands = clusters()
    existing = cands.iloc[[4]]
    out = site_new_points(pop, cands, existing, k=5)
    # Nothing more to gain after the two uncovered clusters: fewer than k rows.
    assert out["candidate"].tolist() == [3, 1]
    np.testing.assert_allclose(out["cumulative_covered"], [1500, 1700])
    np.testing.assert_allclose(out["cumulative_share"].iloc[-1], 1.0)
    ex = site_exact(pop, cands, existing, k=1)
    assert ex["chosen"]["candidate"].tolist() == [3] and ex["covered_people"] == pytest.approx(1500)


def test_greedy_trap_exact_finds_better_answer() -> None:
    """The classic case where greedy's first pick (the middle) blocks the optimal pair."""
    cells = np.array([[-500.0, 0], [600.0, 0], [1800.0, 0], [2900.0, 0]])
    pop = frame(cells, np.array([4.0, 5.0, 5.0, 4.0]))
    cands = frame(np.array([[0.0, 0], [1200.0, 0], [2400.0, 0]]))  # P1, middle, P2
    out = site_new_points(pop, cands, None, k=2)
    assert out["candidate"].tolist()[0] == 1
    assert out["people_added"].sum() == pytest.approx(14)
    ex = site_exact(pop, cands, None, k=2)
    assert sorted(ex["chosen"]["candidate"]) == [0, 2] and ex["objective"] == pytest.approx(18)
    assert ex["greedy_gap"] == pytest.approx(4 / 18)
    assert (1 - 1 / np.e) * 18 <= 14


def brute_optimum(inst, k: int) -> float:  # type: ignore[no-untyped-def]
    reach = [
        set(inst.matrix.indices[inst.matrix.indptr[j] : inst.matrix.indptr[j + 1]])
        for j in range(inst.matrix.shape[0])
    ]
    best = 0.0
    for combo in itertools.combinations(range(len(reach)), min(k, len(reach))):
        cells = set().union(*(reach[j] for j in combo)) if combo else set()
        best = max(best, float(inst.weight[list(cells)].sum()) if cells else 0.0)
    return best


@pytest.mark.parametrize("seed", range(30))
def test_greedy_within_one_minus_one_over_e_of_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_cells, n_cand, k = int(rng.integers(30, 80)), int(rng.integers(6, 14)), int(rng.integers(1, 5))
    side = rng.uniform(1500, 4000)
    pop = frame(rng.uniform(0, side, (n_cells, 2)), rng.integers(0, 100, n_cells).astype(float))
    cands = frame(rng.uniform(0, side, (n_cand, 2)))
    existing = frame(rng.uniform(0, side, (int(rng.integers(0, 3)), 2)))
    greedy = site_new_points(pop, cands, existing, k)
    ex = site_exact(pop, cands, existing, k)
    assert ex["status"] == 0
    opt = brute_optimum(build_instance(pop, cands, existing), k)
    assert ex["objective"] == pytest.approx(opt)
    g = greedy["people_added"].sum()
    assert g <= opt + 1e-9
    assert g >= (1 - 1 / np.e) * opt - 1e-9
    assert ex["greedy_objective"] == pytest.approx(g)
    # Greedy's reported cumulative figure must agree with an independent coverage computation.
    chosen = cands.iloc[greedy["candidate"]]
    all_pts = pd.concat([existing, chosen], ignore_index=True)
    res = coverage(pop, all_pts)
    if len(greedy):
        want = pop["population"][res["covered"].to_numpy()].sum()
        assert greedy["cumulative_covered"].iloc[-1] == pytest.approx(want)


def test_lazy_greedy_matches_plain_greedy() -> None:
    rng = np.random.default_rng(42)
    pop = frame(rng.uniform(0, 20_000, (5000, 2)), rng.integers(0, 30, 5000).astype(float))
    cands = frame(rng.uniform(0, 20_000, (400, 2)))
    inst = build_instance(pop, cands, None)
    lazy = greedy_on_instance(inst, 15)
    residual = inst.weight.copy()
    a = (inst.matrix != 0).astype(float).tocsr()
    plain = []
    for _ in range(15):
        gains = a @ residual
        j = int(np.argmax(gains))  # lowest index among ties, as the heap does
        plain.append((j, float(gains[j])))
        residual[a.indices[a.indptr[j] : a.indptr[j + 1]]] = 0
    assert [j for j, _ in lazy] == [j for j, _ in plain]
    np.testing.assert_allclose([g for _, g in lazy], [g for _, g in plain])


def test_capacity_caps_gains_and_serves_nearest_first() -> None:
    rng = np.random.default_rng(1)
    pop = frame(rng.uniform(-200, 200, (50, 2)), np.full(50, 20.0))  # 1000 people in one spot
    cands = frame(np.array([[0.0, 0], [10.0, 0], [-10.0, 0], [5000.0, 0]]))
    out = site_new_points(pop, cands, None, k=4, capacity=300)
    np.testing.assert_allclose(out["people_added"], [300, 300, 300])
    np.testing.assert_allclose(out["cumulative_covered"], [300, 600, 900])
    out2 = site_new_points(pop, cands, None, k=4, capacity=600)
    np.testing.assert_allclose(out2["people_added"], [600, 400])


def test_siting_edge_cases() -> None:
    pop, cands = clusters()
    assert site_new_points(pop, cands, None, k=0).empty
    empty = pd.DataFrame({"lon": [], "lat": []})
    assert site_new_points(pop, empty, None, k=3).empty
    none = site_new_points(pop.iloc[:0], cands, None, k=3)
    assert none.empty and "people_added" in none.columns
    ex = site_exact(pop, empty, None, k=2)
    assert ex["objective"] == 0 and ex["chosen"].empty


def test_exact_with_aggregation_reports_full_resolution_score() -> None:
    rng = np.random.default_rng(9)
    pop = frame(rng.uniform(0, 6000, (3000, 2)), rng.integers(0, 20, 3000).astype(float))
    cands = frame(rng.uniform(0, 6000, (60, 2)))
    fine = site_exact(pop, cands, None, k=5)
    coarse = site_exact(pop, cands, None, k=5, aggregate_to_m=300)
    assert coarse["cells"] < fine["cells"]
    assert coarse["objective_full_resolution"] <= fine["objective"] + 1e-6
    assert coarse["objective_full_resolution"] >= 0.9 * fine["objective"]
    assert fine["objective_full_resolution"] == pytest.approx(fine["objective"])
