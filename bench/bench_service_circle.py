"""Benchmark of service_circle on synthetic Wuhan-sized data; prints each figure beside its goal.

Run from the repository root:  .venv/bin/python bench/bench_service_circle.py [--quick]
Anchors: networkx multi_source_dijkstra (if installed) and PySAL spopt's MCLP (if importable from
the interpreter given by --spopt-python, e.g. a throwaway venv; skipped with the reason otherwise).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service_circle import (  # noqa: E402
    CoverageModel,
    RoadNetwork,
    coverage,
    network_coverage,
    site_exact,
    site_new_points,
    synthetic_road_grid,
)
from service_circle.geo import LocalProjection  # noqa: E402

CENTER = (114.3055, 30.5928)


def synthetic_city(n_side: int, n_points: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n_side² population cells on a 100 m grid around Wuhan; density falls off from the centre."""
    rng = np.random.default_rng(seed)
    proj = LocalProjection(*CENTER)
    g = (np.arange(n_side) - n_side / 2) * 100.0
    x, y = np.meshgrid(g, g)
    x, y = x.ravel(), y.ravel()
    r_km = np.hypot(x, y) / 1000
    pop = rng.poisson(np.maximum(60.0 * np.exp(-r_km / 12.0), 0.5)).astype(float)
    lon, lat = proj.inverse(x, y)
    population = pd.DataFrame(
        {"lon": lon, "lat": lat, "population": pop, "working_age": np.round(pop * 0.62), "rural": r_km > 35}
    )
    # Existing stations drawn in proportion to population (they are where people are).
    p = pop / pop.sum()
    pick = rng.choice(len(pop), size=n_points, replace=False, p=p)
    jitter = rng.uniform(-50, 50, (n_points, 2))
    plon, plat = proj.inverse(x[pick] + jitter[:, 0], y[pick] + jitter[:, 1])
    return population, pd.DataFrame({"lon": plon, "lat": plat})


def timed(fn, repeat: int = 1):  # type: ignore[no-untyped-def]
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def line(name: str, value: str, goal: str) -> None:
    print(f"{name:<58} {value:>14}   goal: {goal}", flush=True)


def bench_coverage(population: pd.DataFrame, points: pd.DataFrame) -> None:
    t, res = timed(lambda: coverage(population, points), repeat=3)
    line(f"coverage {len(population):,} cells x {len(points):,} points", f"{t:.3f} s", "< 1 s")
    tracemalloc.start()
    coverage(population, points)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    line("coverage peak memory (tracemalloc, numpy+pandas allocs)", f"{peak / 2**20:.0f} MB", "< 300 MB")
    share = float(population["population"][res["covered"]].sum() / population["population"].sum())
    line("  covered share (synthetic city)", f"{share:.1%}", "-")


def bench_incremental(population: pd.DataFrame, points: pd.DataFrame) -> None:
    t_build, model = timed(lambda: CoverageModel(population, points))
    line("CoverageModel build (projection + cell tree)", f"{t_build:.2f} s", "once")
    lon, lat = CENTER[0] + 0.21, CENTER[1] - 0.13
    adds, rems = [], []
    for i in range(10):
        t0 = time.perf_counter()
        out = model.add_point(lon + 0.01 * i, lat)
        adds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.remove_point(int(out["point"]))
        rems.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    model.remove_point(0)  # an existing, busy station
    rems.append(time.perf_counter() - t0)
    line("add one station (median of 10)", f"{np.median(adds) * 1e3:.1f} ms", "< 50 ms")
    line("remove one station (median of 11)", f"{np.median(rems) * 1e3:.1f} ms", "< 50 ms")


def bench_siting(population: pd.DataFrame, points: pd.DataFrame, n_cand: int, k: int) -> None:
    rng = np.random.default_rng(1)
    idx = rng.choice(len(population), n_cand, replace=False)
    cands = population.iloc[idx][["lon", "lat"]].reset_index(drop=True)
    t, res = timed(lambda: site_new_points(population, cands, points, k), repeat=2)
    line(f"site {k} of {n_cand:,} candidates ({len(population):,} cells)", f"{t:.3f} s", "< 1 s")
    line("  people added by greedy", f"{res['people_added'].sum():,.0f}", "-")


def bench_exact_check(seed: int = 3) -> dict[str, float]:
    population, points = synthetic_city(200, 40, seed=seed)  # 40,000 cells, 20 x 20 km
    rng = np.random.default_rng(seed)
    cands = population.iloc[rng.choice(len(population), 300, replace=False)][["lon", "lat"]]
    cands = cands.reset_index(drop=True)
    t, ex = timed(lambda: site_exact(population, cands, points, 10, time_limit_s=20))
    line("exact MCLP (HiGHS) 10 of 300 candidates, 40,000 cells", f"{t:.2f} s", "check")
    line("  greedy vs exact gap", f"{ex['greedy_gap']:.3%}", f"<= {1 / np.e:.1%} (bound)")
    line("  MIP status / gap", f"{ex['status']} / {ex['mip_gap']:.1e}", "0 = optimal")
    return {"exact": ex["objective"], "greedy": ex["greedy_objective"]}


def bench_network(n_side: int, n_cells: int) -> None:
    t_gen, (nodes, edges) = timed(lambda: synthetic_road_grid(n_side, n_side, river_every=150, seed=5))
    t_load, net = timed(lambda: RoadNetwork(nodes, edges))
    line(f"road grid {len(nodes):,} nodes / {len(edges):,} edges: build graph", f"{t_load:.2f} s", "loading")
    rng = np.random.default_rng(7)
    lon_r = (nodes["lon"].min(), nodes["lon"].max())
    lat_r = (nodes["lat"].min(), nodes["lat"].max())
    cells = pd.DataFrame(
        {"lon": rng.uniform(*lon_r, n_cells), "lat": rng.uniform(*lat_r, n_cells), "population": 10.0}
    )
    pts = nodes.sample(2000, random_state=1)[["lon", "lat"]].reset_index(drop=True)
    t, res = timed(lambda: network_coverage(net, None, cells, pts), repeat=3)
    line(f"network coverage: {n_cells:,} cells, {len(pts):,} points", f"{t:.3f} s", "< 1 s after loading")
    t_full, (ours, _) = timed(lambda: net.distances(pts["lon"].to_numpy(), pts["lat"].to_numpy()))
    line("  scipy multi-source dijkstra, no cut-off (all nodes)", f"{t_full:.3f} s", "-")
    try:
        import networkx as nx
    except ImportError:
        line("anchor networkx multi_source_dijkstra", "n/a", "networkx not installed")
        return
    g = nx.Graph()
    g.add_weighted_edges_from(zip(edges["u"], edges["v"], edges["length_m"], strict=True), weight="length_m")
    src, _ = net.snap(pts["lon"].to_numpy(), pts["lat"].to_numpy())
    t_nx, ref = timed(lambda: nx.multi_source_dijkstra_path_length(g, set(src.tolist()), weight="length_m"))
    line("anchor networkx multi_source_dijkstra (same graph, no cut-off)", f"{t_nx:.2f} s", "-")
    # Points sit on nodes (snap 0, clamped to 1 mm), so both must agree to within a few mm.
    keys = np.fromiter(ref.keys(), dtype=np.int64)
    diff = np.abs(ours[keys] - np.fromiter(ref.values(), dtype=float)).max()
    line("  max |scipy - networkx| node distance", f"{diff * 1000:.1f} mm", "~0 (agreement)")
    del res


def bench_spopt(python: str | None) -> None:
    if not python:
        line("anchor spopt MCLP", "skipped", "pass --spopt-python=<venv python>")
        return
    script = Path(__file__).with_name("_spopt_anchor.json")
    population, points = synthetic_city(60, 5, seed=11)  # 3,600 cells
    rng = np.random.default_rng(11)
    cands = population.iloc[rng.choice(len(population), 150, replace=False)][["lon", "lat"]]
    cands = cands.reset_index(drop=True)
    t_ours, ex = timed(lambda: site_exact(population, cands, None, 8, rural_distance_m=None))
    t_g, gr = timed(lambda: site_new_points(population, cands, None, 8, rural_distance_m=None))
    proj = LocalProjection.for_points(
        (population["lon"], population["lat"]), (cands["lon"], cands["lat"]), (points["lon"], points["lat"])
    )
    payload = {
        "cells": proj.forward(population["lon"], population["lat"]).tolist(),
        "weights": population["population"].tolist(),
        "cands": proj.forward(cands["lon"], cands["lat"]).tolist(),
        "radius": 15 * 4000 / 60 / 1.3,
        "k": 8,
    }
    code = (
        "import json,sys,time,numpy as np;from scipy.spatial import distance_matrix;"
        "import pulp;from spopt.locate import MCLP;"
        "d=json.load(open(sys.argv[1]));c=np.array(d['cells']);f=np.array(d['cands']);"
        "t=time.perf_counter();m=MCLP.from_cost_matrix(distance_matrix(c,f),np.array(d['weights']),"
        "d['radius'],p_facilities=d['k']);m.solve(pulp.PULP_CBC_CMD(msg=False));"
        "print(json.dumps({'t':time.perf_counter()-t,'obj':float(pulp.value(m.problem.objective))}))"
    )
    script.write_text(json.dumps(payload))
    try:
        proc = subprocess.run([python, "-c", code, str(script)], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            line("anchor spopt MCLP", "failed", proc.stderr.strip().splitlines()[-1][:60])
            return
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        line("anchor spopt MCLP (CBC) 8 of 150, 3,600 cells", f"{out['t']:.2f} s", f"obj {out['obj']:,.0f}")
        line("  ours site_exact (HiGHS) same instance", f"{t_ours:.2f} s", f"obj {ex['objective']:,.0f}")
        line(
            "  ours site_new_points (greedy) same instance",
            f"{t_g:.3f} s",
            f"obj {gr['people_added'].sum():,.0f}",
        )
    finally:
        script.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    ap.add_argument("--spopt-python", default=None, help="python of a venv with spopt installed")
    args = ap.parse_args()
    side, n_pts, n_cand, net_side = (1000, 5000, 10_000, 633) if not args.quick else (300, 500, 2000, 200)
    print(
        f"# service_circle bench  {time.strftime('%Y-%m-%d %H:%M')}  {platform.platform()}  "
        f"python {platform.python_version()}  cores={__import__('os').cpu_count()}"
    )
    t0 = time.perf_counter()
    population, points = synthetic_city(side, n_pts)
    bench_coverage(population, points)
    bench_incremental(population, points)
    bench_siting(population, points, n_cand, 20)
    bench_exact_check()
    bench_network(net_side, len(population))
    bench_spopt(args.spopt_python)
    print(f"# total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
