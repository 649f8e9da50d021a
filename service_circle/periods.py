"""Coverage for several sets of open service points at once (e.g. every year-end of a trend).

Instead of one nearest-point search per period, one fixed-radius search pairs every cell with every point that
could ever serve it, and a sparse product with the points × periods "open" matrix answers all periods together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .coverage import DEFAULT_RURAL_DISTANCE_M, prepare
from .siting import coverage_matrix


def covered_by_period(
    population: pd.DataFrame,
    points: pd.DataFrame,
    open_at: NDArray[np.bool_],
    minutes: float = 15,
    speed_kmh: float = 4.0,
    circuity: float = 1.3,
    rural_distance_m: float | None = DEFAULT_RURAL_DISTANCE_M,
) -> NDArray[np.bool_]:
    """Cells × periods: is the cell covered by a point open in that period?

    ``points`` holds every point open in any period (``lon, lat``, WGS84); ``open_at`` is points × periods
    (True where the point is open). The rule is :func:`service_circle.coverage`'s: covered when some open point
    lies within the cell's straight-line radius (the minutes rule, or the rural rule for ``rural`` cells), so
    column ``j`` equals ``coverage(population, points[open_at[:, j]], ...)["covered"]``.
    """
    open_at = np.asarray(open_at, dtype=bool)
    if open_at.shape[0] != len(points):
        raise ValueError(f"open_at has {open_at.shape[0]} rows for {len(points)} points")
    if len(points) == 0 or len(population) == 0:
        return np.zeros((len(population), open_at.shape[1]), dtype=bool)
    prep = prepare(population, points, minutes, speed_kmh, circuity, rural_distance_m)
    reach = coverage_matrix(prep.point_xy, prep.cell_xy, prep.cell_radius)  # points × cells, reachable pairs
    reach.data = np.ones_like(reach.data)
    counts = reach.T @ open_at.astype(np.float64)  # cells × periods: open points within reach
    return np.asarray(counts) > 0
