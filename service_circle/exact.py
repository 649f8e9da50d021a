"""Exact maximal covering location problem (MCLP) as a MIP, to check the greedy answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from .coverage import DEFAULT_RURAL_DISTANCE_M
from .siting import SitingInstance, build_instance, coverage_matrix, greedy_on_instance


def _merge_identical_columns(a: sparse.csr_matrix, w: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Merge cells reached by exactly the same candidate set (a lossless MIP reduction).

    Columns are fingerprinted by two random-weighted sums of their row indices; distinct sets
    collide with probability ~2^-100, so in practice the merge is exact.
    """
    pattern = sparse.csr_matrix((np.ones_like(a.data), a.indices, a.indptr), shape=a.shape).tocsc()
    keep = np.flatnonzero(np.diff(pattern.indptr) > 0)  # unreachable cells cannot enter the objective
    pattern = pattern[:, keep]
    rng = np.random.default_rng(12345)
    prints = np.column_stack(
        [pattern.T @ rng.random(a.shape[0]), pattern.T @ rng.random(a.shape[0]), np.diff(pattern.indptr)]
    )
    _, first, inv = np.unique(prints, axis=0, return_index=True, return_inverse=True)
    merged_w = np.bincount(inv.ravel(), weights=w[keep])
    return sparse.csr_matrix(pattern[:, first]), merged_w


def solve_mclp(
    a: sparse.csr_matrix, w: np.ndarray, k: int, time_limit_s: float = 10.0, mip_rel_gap: float = 1e-6
) -> dict[str, Any]:
    """Solve max Σ w_i y_i s.t. y_i ≤ Σ_{j reaches i} x_j, Σ x_j ≤ k, x binary, 0 ≤ y ≤ 1.

    ``a`` is candidates x cells (any non-zero = reachable). y may stay continuous: for binary x the
    optimum sets y_i = min(1, Σ x_j), which is already integral. Returns a dict with ``chosen``
    (candidate positions), ``objective`` (people), ``status``, ``message``, ``mip_gap``, ``dual_bound``.
    """
    a_m, w_m = _merge_identical_columns(sparse.csr_matrix(a), np.asarray(w, dtype=float))
    n_c, n_g = a_m.shape
    if n_g == 0 or k <= 0:
        return {
            "chosen": [],
            "objective": 0.0,
            "status": 0,
            "message": "trivial",
            "mip_gap": 0.0,
            "dual_bound": 0.0,
            "cells": n_g,
        }
    c = np.concatenate([np.zeros(n_c), -w_m])  # milp minimises
    link = sparse.hstack([-a_m.T, sparse.identity(n_g)], format="csr")  # y_i - Σ x_j ≤ 0
    budget = sparse.csr_matrix(np.concatenate([np.ones(n_c), np.zeros(n_g)])[None, :])
    res = milp(
        c,
        constraints=[
            LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(budget, -np.inf, float(k)),
        ],
        integrality=np.concatenate([np.ones(n_c), np.zeros(n_g)]),
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap)},
    )
    chosen: list[int] = []
    objective = float("nan")
    if res.x is not None:
        x = res.x[:n_c]
        chosen = np.flatnonzero(x > 0.5).tolist()
        # Re-score the rounded selection directly instead of trusting the LP value of y.
        reached = np.asarray(a_m[chosen].sum(axis=0)).ravel() > 0 if chosen else np.zeros(n_g, bool)
        objective = float(w_m[reached].sum())
    return {
        "chosen": chosen,
        "objective": objective,
        "status": int(res.status),
        "message": str(res.message),
        "mip_gap": float(getattr(res, "mip_gap", np.nan) or 0.0) if res.x is not None else float("nan"),
        # HiGHS gives no dual bound when it stops at the time limit before its first solution.
        "dual_bound": -float(bound)
        if (bound := getattr(res, "mip_dual_bound", None)) is not None
        else float("nan"),
        "cells": n_g,
    }


def _added_at_full_resolution(full: SitingInstance, cand_idx: list[int]) -> float:
    """People the given candidates newly cover on the un-aggregated cells."""
    if not cand_idx:
        return 0.0
    cand_xy = full.proj.forward(full.cand_lon[cand_idx], full.cand_lat[cand_idx])
    m = coverage_matrix(cand_xy, full.cell_xy, full.cell_radius)
    reached = np.asarray((m != 0).sum(axis=0)).ravel() > 0
    return float(full.weight[reached].sum())


def site_exact(
    population: pd.DataFrame,
    candidates: pd.DataFrame,
    existing: pd.DataFrame | None,
    k: int,
    minutes: float = 15,
    speed_kmh: float = 4.0,
    circuity: float = 1.3,
    time_limit_s: float = 10.0,
    aggregate_to_m: float | None = None,
    rural_distance_m: float | None = DEFAULT_RURAL_DISTANCE_M,
    mip_rel_gap: float = 1e-6,
) -> dict[str, Any]:
    """Solve the maximal covering location problem exactly (HiGHS via ``scipy.optimize.milp``).

    Same model as :func:`site_new_points` without capacity: choose at most ``k`` candidates to
    maximise people newly covered, existing stations fixed. Cells reached by the same candidate
    set are merged first (lossless). Greedy is run on the identical instance for comparison.

    Parameters:
        population, candidates, existing, k, minutes, speed_kmh, circuity, rural_distance_m: as
            for :func:`site_new_points`.
        time_limit_s: HiGHS wall-clock limit (s); on hitting it the best incumbent is returned
            with its MIP gap.
        aggregate_to_m: optionally sum uncovered cells into squares of this size (m) before solving
            (approximate, for large instances); the chosen sites are then re-scored on full cells.
        mip_rel_gap: relative optimality gap at which HiGHS may stop (default 1e-6).

    Returns:
        dict with ``chosen`` (DataFrame ``candidate, lon, lat``), ``objective`` (people newly
        covered on the solved instance), ``covered_people`` (existing + objective),
        ``objective_full_resolution`` (re-scored on un-aggregated cells), ``status`` (0 optimal,
        1 time/iteration limit, others: infeasible/unbounded/error), ``message``, ``mip_gap``
        (relative), ``dual_bound`` (people), ``greedy_objective``, ``greedy_gap``
        ((exact − greedy)/exact, 0 when both are 0), ``cells`` (cell groups in the MIP).
    """
    inst = build_instance(
        population, candidates, existing, minutes, speed_kmh, circuity, rural_distance_m, aggregate_to_m
    )
    sol = solve_mclp(inst.matrix, inst.weight, k, time_limit_s, mip_rel_gap)
    greedy = greedy_on_instance(inst, k)
    g_obj = float(sum(g for _, g in greedy))
    chosen = sol["chosen"]
    full_obj = sol["objective"]
    if aggregate_to_m:
        full = build_instance(
            population, candidates, existing, minutes, speed_kmh, circuity, rural_distance_m
        )
        full_obj = _added_at_full_resolution(full, chosen)
    exact = sol["objective"]
    return {
        "chosen": pd.DataFrame(
            {"candidate": chosen, "lon": inst.cand_lon[chosen], "lat": inst.cand_lat[chosen]}
        ),
        "objective": exact,
        "covered_people": inst.base_covered + exact,
        "objective_full_resolution": full_obj,
        "status": sol["status"],
        "message": sol["message"],
        "mip_gap": sol["mip_gap"],
        "dual_bound": sol["dual_bound"],
        "greedy_objective": g_obj,
        "greedy_gap": (exact - g_obj) / exact if exact > 0 else 0.0,
        "cells": sol["cells"],
    }
