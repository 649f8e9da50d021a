"""One suppression plan for every view: linked secondary suppression across tables (docs/privacy.md §3).

Suppressing each table on its own is not enough: a district hidden as the complement in one table (the ranking
at September) can be shown in another (its own monthly curve), and a small cell is then recovered by
subtraction. The plan is decided once, city-wide, on the cube every monthly view is cut from, and every view
hides what the plan hides.

The cube: for each *series* (an indicator, or a group of urban new employment) and year, the persons per area
(street, district, city) and month. Every figure a view shows is a sum over areas and months of one series,
and every month set a view shows (a month, a quarter, the year, January … a month) is a difference of two
*points*: the year-to-date totals F(j) = persons of months 1 … j (F(0) = 0). A stock's point is its month's
level. So the plan decides which points (series, area, year, month) are **published**, and a view shows a
figure only when every point it is a difference of is published:

1. **Blocks** (time). A flow's points are published only at the ends of blocks of months that add up to at
   least k persons (or add nobody), so any two published points of one area differ by 0 or ≥ k persons
   (:func:`privacy.suppress.block_ends`). A stock's point is hidden when it is 1 … k−1 persons. A *running*
   series (a loan stock: a level kept over all years, whose ``persons`` are the loans moving it each month)
   is blocked like a flow over all its months at once, so its blocks do not restart in January.
2. **Lines** (areas and groups). At every point in time, the areas of a parent add up to the parent, and the
   groups of a series family add up to their parent series (urban new employment = its five groups;
   re-employment = the registered-unemployed and difficulty groups; subsidy spending = its categories). A line (a parent and its parts) never
   has exactly one hidden point: the smallest other non-zero member is hidden too, until every line has 0 or
   ≥ 2 hidden points. Hiding a point only merges two blocks of its area, so step 1 still holds.

Published points are the same in every view, so whatever one view hides no other view shows: the linked
tables of a hypercube method (τ-ARGUS's GHMITER uses the same "no line with a single suppression" rule).
``tests/test_privacy_audit.py`` checks the result with exact linear algebra over all views
(``tests/test_privacy_audit_money.py`` for money paid to persons).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from privacy.suppress import effective_k

Series = tuple[str, str]  # (indicator_code, group_code)
RUNNING_YEAR = 0  # the one "year" of a running family: its months are counted from January of its first year
Point = tuple[str, str, str, int, int]  # (indicator_code, group_code, area_code, year, month)


@dataclass(frozen=True)
class Links:
    """How series relate: ``aliases`` maps a series to the (family, node) it is the same figure as;
    ``children`` maps a family to its node tree (node → the nodes that add up to it). A series not listed is
    its own family with one node."""

    aliases: Mapping[Series, tuple[str, str]] = field(default_factory=dict)
    children: Mapping[str, Mapping[str, Sequence[str]]] = field(default_factory=dict)

    def node(self, series: Series) -> tuple[str, str]:
        if series in self.aliases:
            return self.aliases[series]
        indicator, group = series
        return (indicator, "all") if group == "all" else (f"{indicator}:{group}", "all")


@dataclass
class Plan:
    """The published points. ``hidden`` holds (family, node, area, year, month) of every hidden point; a point
    the cube does not hold (no data) is published: it reveals nobody."""

    k: int
    links: Links
    hidden: frozenset[tuple[str, str, str, int, int]]
    ends: Mapping[int, int] = field(default_factory=dict)  # year → its last month in the cube
    stats: dict[str, int] = field(default_factory=dict)
    running: Mapping[str, int] = field(default_factory=dict)  # family of kind "running" → its first year

    def published(self, point: Point) -> bool:
        indicator, group, area, year, month = point
        month = min(int(month), self.ends.get(int(year), int(month)))  # December of the current year = now
        if month <= 0:
            return True
        family, node = self.links.node((indicator, group))
        year = int(year)
        if family in self.running:  # one run of months over all years
            year, month = RUNNING_YEAR, (year - self.running[family]) * 12 + month
            if month <= 0:
                return True
        return (family, node, area, year, month) not in self.hidden

    def all_published(self, points: Iterable[Point] | None) -> bool:
        """Whether every point of a figure is published (``None``: the figure is not cut from the cube)."""
        if points is None or (isinstance(points, float) and points != points):
            return True
        return all(self.published(p) for p in points)


def plan(cube: pd.DataFrame, k: int, links: Links | None = None) -> Plan:
    """The plan for ``cube``: columns ``indicator_code, group_code, area_code, parent_code, year, month,
    persons, kind`` (kind ``flow``, ``stock`` or ``running``; one row per area, month and series with data).
    A ``running`` series is a level kept over all years whose ``persons`` are those moving it that month (the
    loans issued, repaid, fallen due): it is decided as one flow over all its months, so that any two of its
    published points, even in different years, differ by the moves of 0 or ≥ k persons."""
    k = effective_k(k)
    links = links or Links()
    if cube.empty:
        return Plan(k, links, frozenset())
    series = cube[["indicator_code", "group_code"]].drop_duplicates()
    nodes = [links.node((i, g)) for i, g in series.itertuples(index=False)]
    series = series.assign(family=[f for f, _ in nodes], node=[n for _, n in nodes])
    data = cube.merge(series, on=["indicator_code", "group_code"], how="left")
    data["year"], data["month"] = data["year"].astype(int), data["month"].astype(int)
    ends = {int(y): int(m) for y, m in data.groupby("year")["month"].max().items()}
    # a running stock (a level kept over all years, moved by the ``persons`` of each month): its points are
    # published like a flow's, in blocks of months that do not restart in January
    running: dict[str, int] = {}
    is_running = (data["kind"] == "running").to_numpy()
    if is_running.any():
        first = data[is_running].groupby("family")["year"].min()
        running = {str(f): int(y) for f, y in first.items()}
        y0 = data.loc[is_running, "family"].map(first).to_numpy(int)
        data.loc[is_running, "month"] = (data.loc[is_running, "year"].to_numpy(int) - y0) * 12 + data.loc[
            is_running, "month"
        ].to_numpy(int)
        data.loc[is_running, "year"] = RUNNING_YEAR
    data["persons"] = pd.to_numeric(data["persons"], errors="coerce").fillna(0.0)
    # an alias is the same figure as its node: one row per point
    data = data.drop_duplicates(["family", "node", "area_code", "year", "month"])
    parents = data.drop_duplicates("area_code").set_index("area_code")["parent_code"]
    hidden: set[tuple[str, str, str, int, int]] = set()
    stats = {"primary": 0, "secondary": 0}
    for (family, year), part in data.groupby(["family", "year"], sort=False):
        found, primary = _family_year(part, parents, links.children.get(str(family), {}), k)
        stats["primary"] += primary
        stats["secondary"] += len(found) - primary
        hidden.update((str(family), n, a, int(year), m) for n, a, m in found)
    return Plan(k, links, frozenset(hidden), ends, stats, running)


def _family_year(
    part: pd.DataFrame, parents: pd.Series, tree: Mapping[str, Sequence[str]], k: int
) -> tuple[list[tuple[str, str, int]], int]:
    """Hidden points (node, area, month) of one family and year, and how many of them are primary."""
    node_list = sorted(set(part["node"]) | set(tree) | {c for cs in tree.values() for c in cs})
    area_list = sorted(set(part["area_code"]))
    months = int(part["month"].max())
    n_ix = {n: i for i, n in enumerate(node_list)}
    a_ix = {a: i for i, a in enumerate(area_list)}
    x = np.zeros((len(node_list), len(area_list), months))
    x[
        part["node"].map(n_ix).to_numpy(),
        part["area_code"].map(a_ix).to_numpy(),
        part["month"].to_numpy(int) - 1,
    ] = part["persons"].to_numpy(float)
    stock = (part["kind"] == "stock").any()
    if stock:
        level = x
        hide = (level > 0) & (level < k)
    else:
        level = np.cumsum(x, axis=2)
        hide = ~_block_ends(x, k)
    primary = int(hide.sum())
    # the smallest member of a line that stands for somebody is hidden first (a hidden zero protects little)
    order = np.where(level == 0, np.inf, level)
    area_lines = _lines({a: parents.get(a) for a in area_list}, a_ix)
    node_lines = [[n_ix[p], *[n_ix[c] for c in cs]] for p, cs in tree.items()]
    changed = True
    while changed:
        changed = False
        for members in area_lines:
            changed |= _close(hide, order, members, axis=1)
        for members in node_lines:
            changed |= _close(hide, order, members, axis=0)
    found = np.argwhere(hide)
    return [(node_list[i], area_list[j], int(m) + 1) for i, j, m in found], primary


def _block_ends(x: np.ndarray, k: int) -> np.ndarray:
    """:func:`privacy.suppress.block_ends` for every series at once (months on the last axis)."""
    run = np.zeros(x.shape[:-1])
    out = np.zeros(x.shape, bool)
    for m in range(x.shape[-1]):
        run = run + x[..., m]
        run = np.where(run >= k, 0.0, run)
        out[..., m] = run == 0
    return out


def _lines(parent_of: Mapping[str, object], index: Mapping[str, int]) -> list[list[int]]:
    """Each parent with the areas under it (parent first), for parents present in the cube."""
    kids: dict[str, list[int]] = {}
    for area, parent in parent_of.items():
        if isinstance(parent, str) and parent in index:
            kids.setdefault(parent, []).append(index[area])
    return [[index[p], *cs] for p, cs in kids.items() if len(cs) > 0]


def _close(hide: np.ndarray, order: np.ndarray, members: list[int], axis: int) -> bool:
    """Hide one more member wherever this line (along ``axis``) has exactly one hidden; True if any changed."""
    sub = np.take(hide, members, axis=axis)
    need = sub.sum(axis=axis) == 1
    if not need.any():
        return False
    key = np.where(sub, np.inf, np.take(order, members, axis=axis))
    # when every other member is zero, a zero has to do
    fallback = np.where(sub, np.inf, 0.0)
    pick = np.where(np.isinf(key).all(axis=axis), np.argmin(fallback, axis=axis), np.argmin(key, axis=axis))
    where = np.argwhere(need)
    for idx in where:
        chosen = members[int(pick[tuple(idx)])]
        full = list(idx)
        full.insert(axis, chosen)
        hide[tuple(full)] = True
    return True
