"""The suppression plan for a database: the cube read by ``queries.disclosure``, decided by ``privacy.linked``.

One function so that the pages (``ui.common``), the meeting pack and the tests decide it the same way.
"""

from __future__ import annotations

from sqlalchemy import Engine

from privacy import linked
from queries import disclosure


def plan_for(engine: Engine, k: int) -> linked.Plan:
    """The city-wide plan of published points for the data now in ``engine``, at threshold ``k``."""
    return linked.plan(disclosure.cube(engine), k, linked.Links(**disclosure.links()))
