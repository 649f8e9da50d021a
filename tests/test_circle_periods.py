"""Coverage of many periods at once equals one coverage() per period."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as hs

import service_circle as sc


def _city(seed: int, n_cells: int, n_points: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cells = pd.DataFrame(
        {
            "lon": 114.2 + rng.random(n_cells) * 0.3,
            "lat": 30.5 + rng.random(n_cells) * 0.2,
            "population": rng.integers(0, 500, n_cells),
            "rural": rng.random(n_cells) < 0.2,
        }
    )
    points = pd.DataFrame(
        {"lon": 114.2 + rng.random(n_points) * 0.3, "lat": 30.5 + rng.random(n_points) * 0.2}
    )
    return cells, points


@settings(max_examples=25, deadline=None)
@given(
    seed=hs.integers(0, 10_000),
    n_points=hs.integers(0, 40),
    periods=hs.integers(1, 6),
    rural=hs.sampled_from([None, 5000.0, 800.0]),
)
def test_every_period_equals_its_own_coverage(
    seed: int, n_points: int, periods: int, rural: float | None
) -> None:
    cells, points = _city(seed, 600, n_points)
    open_at = np.random.default_rng(seed + 1).random((n_points, periods)) < 0.5
    got = sc.covered_by_period(cells, points, open_at, 15, 4.5, 1.3, rural)
    assert got.shape == (len(cells), periods)
    for j in range(periods):
        subset = points[open_at[:, j]]
        if len(subset) == 0:
            assert not got[:, j].any()
            continue
        want = sc.coverage(cells, subset.reset_index(drop=True), 15, 4.5, 1.3, rural)["covered"].to_numpy()
        assert (got[:, j] == want).all()


def test_hand_worked_two_points_two_years() -> None:
    """Two cells 0 m and ~2 km east of point A; point B opens in year 2 next to the far cell."""
    cells = pd.DataFrame({"lon": [114.30, 114.3208], "lat": [30.60, 30.60], "population": [100, 50]})
    points = pd.DataFrame({"lon": [114.30, 114.3205], "lat": [30.60, 30.60]})
    open_at = np.array([[True, True], [False, True]])
    # 15 min at 4 km/h with a 1.3 detour factor reaches 769 m in a straight line.
    got = sc.covered_by_period(cells, points, open_at, 15, 4.0, 1.3, None)
    assert got.tolist() == [[True, True], [False, True]]
