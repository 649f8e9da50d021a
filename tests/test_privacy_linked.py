"""The linked suppression plan (privacy.linked): a hand-worked city, and random cities checked by exact linear
algebra (no small cell is a combination of the published points), plus ranks among shown rows."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import linked, protect, rerank

K = 10
CITY = "C"
# city C → districts D1, D2, D3; D1 → streets S1, S2; D2 → S3, S4; D3 → S5, S6
PARENT = {
    "D1": CITY,
    "D2": CITY,
    "D3": CITY,
    "S1": "D1",
    "S2": "D1",
    "S3": "D2",
    "S4": "D2",
    "S5": "D3",
    "S6": "D3",
}
STREETS = ["S1", "S2", "S3", "S4", "S5", "S6"]


def city_cube(
    street_months: dict[str, list[float]], indicator: str = "flow_a", group: str = "all"
) -> pd.DataFrame:
    """Street persons per month, rolled up to districts and the city (as the refresh does)."""
    rows = []
    months = len(next(iter(street_months.values())))
    totals: dict[str, np.ndarray] = {}
    for street, values in street_months.items():
        v = np.asarray(values, float)
        for area in (street, PARENT[street], CITY):
            totals[area] = totals.get(area, np.zeros(months)) + v
    for area, v in totals.items():
        for m in range(months):
            rows.append((indicator, group, area, PARENT.get(area), 2026, m + 1, v[m], "flow"))
    cols = ["indicator_code", "group_code", "area_code", "parent_code", "year", "month", "persons", "kind"]
    return pd.DataFrame(rows, columns=cols)


def test_hand_worked_city() -> None:
    """S1 has 3 persons in March only. By hand, with k = 10:
    - blocks: S1's January and February add nobody, so its points 1 and 2 are published; March adds 3 < 10,
      so point 3 is hidden (primary);
    - the line D1 = S1 + S2 at March has one hidden point: S2's is hidden too (the only other street);
    - D1's own point 3 is then the sum of two hidden streets: published (D1 adds 3 + 20 ≥ 10 in March);
    - nothing else: every other street adds ≥ 10 persons a month."""
    cube = city_cube(
        {
            "S1": [0, 0, 3],
            "S2": [20, 20, 20],
            "S3": [15, 15, 15],
            "S4": [12, 12, 12],
            "S5": [30, 30, 30],
            "S6": [11, 11, 11],
        }
    )
    plan = linked.plan(cube, K)
    assert set(plan.hidden) == {("flow_a", "all", "S1", 2026, 3), ("flow_a", "all", "S2", 2026, 3)}
    assert plan.stats == {"primary": 1, "secondary": 1}
    assert plan.published(("flow_a", "all", "D1", 2026, 3))
    assert not plan.published(("flow_a", "all", "S1", 2026, 3))
    assert plan.published(("flow_a", "all", "S1", 2026, 0))  # the start of the year is zero: always known
    # December of this year is "now": the latest month in the cube (March), hidden for S1
    assert not plan.published(("flow_a", "all", "S1", 2026, 12))
    assert plan.all_published(None)


def test_a_district_hidden_as_a_complement_is_hidden_in_every_view() -> None:
    """The gap of per-table suppression: D3 small in March forces a complement among the districts; the plan
    hides that complement's point, so its monthly curve (a view of the same point) hides it too."""
    cube = city_cube(
        {
            "S1": [20, 20, 20],
            "S2": [20, 20, 20],
            "S3": [15, 15, 12],
            "S4": [12, 12, 12],
            "S5": [30, 30, 2],
            "S6": [11, 11, 2],
        }
    )
    plan = linked.plan(cube, K)
    hidden_districts = {a for (_, _, a, _, m) in plan.hidden if a.startswith("D") and m == 3}
    assert "D3" in hidden_districts and len(hidden_districts) == 2, hidden_districts
    partner = (hidden_districts - {"D3"}).pop()
    assert partner == "D2"  # the smallest other district in March (D2: 27 + 27 + 24 = 78 < D1's 120)
    # the ranking at March and the curve's point at March both read this point
    ranking = pd.DataFrame(
        {
            "area_code": ["D1", "D2", "D3"],
            "persons": [120.0, 78.0, 86.0],
            "actual": [120.0, 78.0, 86.0],
            "_points": [(("flow_a", "all", d, 2026, 3),) for d in ("D1", "D2", "D3")],
        }
    )
    curve = pd.DataFrame(
        {
            "month": [1, 2, 3],
            "persons": [27.0, 27.0, 24.0],
            "cumulative": [27.0, 54.0, 78.0],
            "_points": [(("flow_a", "all", "D2", 2026, m),) for m in (1, 2, 3)],
        }
    )
    shown_ranking = protect(ranking, K, {"values": ("actual",), "count": "persons"}, plan)
    shown_curve = protect(curve, K, {"values": ("cumulative",), "count": "persons"}, plan)
    assert shown_ranking["actual"].isna().tolist() == [False, True, True]
    assert shown_curve["cumulative"].isna().iloc[2]  # D2's March, as in the ranking
    assert shown_curve["cumulative"].notna().iloc[1]
    assert "_points" not in shown_ranking.columns and "_points" not in shown_curve.columns


def test_linked_groups_hide_a_complement_in_the_parent_series() -> None:
    """Two groups add up to the total: a small group in one district hides a second cell of its line in the
    group tree (the other group) and of its line in the area tree."""
    links = linked.Links(
        aliases={("flow_a", "g1"): ("flow_a", "g1"), ("flow_a", "g2"): ("flow_a", "g2")},
        children={"flow_a": {"all": ["g1", "g2"]}},
    )
    g1 = city_cube({s: [15.0, 15.0] for s in STREETS}, group="g1")
    g1.loc[(g1["area_code"] == "S1") & (g1["month"] == 2), "persons"] = 2.0  # S1's g1 small in February
    g2 = city_cube({s: [20.0, 20.0] for s in STREETS}, group="g2")
    total = city_cube({s: [35.0, 35.0] for s in STREETS})
    total.loc[(total["area_code"] == "S1") & (total["month"] == 2), "persons"] = 22.0
    plan = linked.plan(pd.concat([g1, g2, total]), K, links)
    hidden = {(n, a) for (_, n, a, _, m) in plan.hidden if m == 2}
    assert ("g1", "S1") in hidden
    assert sum(1 for n, a in hidden if a == "S1") >= 2  # the group line at S1
    assert sum(1 for n, a in hidden if n == "g1" and a in ("S1", "S2")) == 2  # the street line of g1 in D1
    assert plan.published(("flow_a", "g1", "D1", 2026, 1))


# --- random cities, exact linear algebra ------------------------------------------------------------------


def functional(area: str, first: int, last: int, months: int) -> np.ndarray:
    """The sum over ``area``'s streets of months first … last, over unknowns street × month."""
    v = np.zeros(len(STREETS) * months)
    for i, s in enumerate(STREETS):
        if s == area or PARENT[s] == area or area == CITY:
            v[i * months + first - 1 : i * months + last] = 1.0
    return v


def in_span(rows: list[np.ndarray], h: np.ndarray) -> bool:
    if not rows:
        return False
    a = np.array(rows)
    return bool(np.linalg.matrix_rank(np.vstack([a, h])) == np.linalg.matrix_rank(a))


def test_the_span_check_can_fail() -> None:
    """The audit's own check: a district total and one of its two streets give the other street."""
    rows = [functional("D1", 1, 1, 2), functional("S1", 1, 1, 2)]
    assert in_span(rows, functional("S2", 1, 1, 2))
    assert not in_span(rows, functional("S3", 1, 1, 2))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([0, 0, 1, 2, 3, 5, 8, 12, 20, 40]), min_size=4, max_size=4),
        min_size=6,
        max_size=6,
    )
)
def test_no_small_cell_is_a_combination_of_published_points(persons: list[list[int]]) -> None:
    """Every published point is shown somewhere (a ranking, a curve, Explore's months and quarters); no area's
    month, or run of months, counting 1 … k−1 persons may lie in the span of all of them."""
    months = 4
    cube = city_cube(dict(zip(STREETS, persons, strict=True)))
    plan = linked.plan(cube, K)
    areas = [CITY, "D1", "D2", "D3", *STREETS]
    rows = [
        functional(a, 1, j, months)
        for a in areas
        for j in range(1, months + 1)
        if plan.published(("flow_a", "all", a, 2026, j))
    ]
    counts = cube.pivot_table(index="area_code", columns="month", values="persons", aggfunc="sum")
    for a, (i, j) in itertools.product(areas, itertools.combinations(range(0, months + 1), 2)):
        n = float(counts.loc[a, i + 1 : j].sum())
        if 0 < n < K:
            assert not in_span(rows, functional(a, i + 1, j, months)), (a, i + 1, j, n, sorted(plan.hidden))


def test_ranks_among_shown_rows_and_none_for_hidden() -> None:
    """A hidden row keeps no rank or status; the others are ranked 1, 2, 3 among themselves (a gap would say
    where the hidden row stood), and last period's rank only among rows shown now."""
    frame = pd.DataFrame(
        {
            "indicator_code": ["x"] * 4,
            "area_code": ["a", "b", "c", "d"],
            "rank": [1.0, 2.0, 3.0, 4.0],
            "rank_prev": [2.0, 1.0, 4.0, 3.0],
            "rank_change": [1.0, -1.0, 1.0, -1.0],
            "status": ["green", "green", "red", "red"],
            "suppressed": [False, True, False, False],
        }
    )
    out = rerank(
        frame,
        {
            "by": {"rank": ("indicator_code",)},
            "blank": ("status",),
            "prev": "rank_prev",
            "change": "rank_change",
        },
    )
    assert out["rank"].tolist()[0] == 1 and out["rank"].tolist()[2:] == [2, 3]
    assert pd.isna(out["rank"].iloc[1]) and out["status"].iloc[1] is None
    # last period among a, c, d: a was 2nd overall → 1st of them, d 3rd → 2nd, c 4th → 3rd
    assert out["rank_prev"].tolist()[0] == 1 and out["rank_prev"].tolist()[2:] == [3, 2]
    assert out["rank_change"].tolist()[0] == 0 and out["rank_change"].tolist()[2:] == [1, -1]


def test_a_planners_rank_from_the_database_is_kept_but_not_for_a_hidden_row() -> None:
    frame = pd.DataFrame(
        {
            "indicator_code": ["x", "y"],
            "rank": [7.0, 3.0],
            "status": ["red", "green"],
            "suppressed": [False, True],
        }
    )
    out = rerank(
        frame.assign(_complete=False),
        {"by": {"rank": ("indicator_code",)}, "blank": ("status",), "complete": "_complete"},
    )
    assert out["rank"].iloc[0] == 7 and out["rank"].iloc[1] is None and out["status"].iloc[1] is None
    assert "_complete" not in out.columns


@pytest.mark.parametrize("k", [5, 10, 20])
def test_every_line_has_zero_or_two_hidden_points(k: int) -> None:
    rng = np.random.default_rng(k)
    cube = city_cube({s: list(rng.choice([0, 1, 3, 9, 15, 30], size=6)) for s in STREETS})
    plan = linked.plan(cube, k)
    for m in range(1, 7):
        for parent, kids in (
            (CITY, ["D1", "D2", "D3"]),
            ("D1", ["S1", "S2"]),
            ("D2", ["S3", "S4"]),
            ("D3", ["S5", "S6"]),
        ):
            line = [parent, *kids]
            n = sum(not plan.published(("flow_a", "all", a, 2026, m)) for a in line)
            assert n != 1, (k, m, line)


GROUPS2 = ("g1", "g2")
LINKS2 = linked.Links(
    aliases={("flow_a", g): ("flow_a", g) for g in GROUPS2}, children={"flow_a": {"all": list(GROUPS2)}}
)


def functional2(area: str, node: str, first: int, last: int, months: int) -> np.ndarray:
    """The sum over ``area``'s streets and ``node``'s groups of months first … last (street × group × month)."""
    v = np.zeros(len(STREETS) * 2 * months)
    for i, s in enumerate(STREETS):
        if not (s == area or PARENT[s] == area or area == CITY):
            continue
        for g, name in enumerate(GROUPS2):
            if node in ("all", name):
                start = (i * 2 + g) * months
                v[start + first - 1 : start + last] = 1.0
    return v


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([0, 0, 1, 2, 4, 7, 12, 25]), min_size=3, max_size=3),
        min_size=12,
        max_size=12,
    )
)
def test_two_linked_dimensions_areas_and_groups(persons: list[list[int]]) -> None:
    """Areas × groups (the hypercube of urban new employment and its groups): no small cell of any area and
    group (or the total) over any run of months is a combination of the published points."""
    months = 3
    per_group = {
        g: dict(zip(STREETS, persons[i * 6 : i * 6 + 6], strict=True)) for i, g in enumerate(GROUPS2)
    }
    total = {s: [a + b for a, b in zip(per_group["g1"][s], per_group["g2"][s], strict=True)] for s in STREETS}
    cube = pd.concat(
        [city_cube(per_group[g], group=g) for g in GROUPS2] + [city_cube(total)], ignore_index=True
    )
    plan = linked.plan(cube, K, LINKS2)
    areas = [CITY, "D1", "D2", "D3", *STREETS]
    nodes = ("all", *GROUPS2)
    rows = [
        functional2(a, n, 1, j, months)
        for a in areas
        for n in nodes
        for j in range(1, months + 1)
        if plan.published(("flow_a", n, a, 2026, j))
    ]
    counts = cube.pivot_table(
        index=["group_code", "area_code"], columns="month", values="persons", aggfunc="sum"
    )
    for a, n, (i, j) in itertools.product(areas, nodes, itertools.combinations(range(0, months + 1), 2)):
        c = float(counts.loc[(n, a), i + 1 : j].sum())
        if 0 < c < K:
            assert not in_span(rows, functional2(a, n, i + 1, j, months)), (a, n, i + 1, j, c)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 25), min_size=12, max_size=12), min_size=1, max_size=5))
def test_vectorised_blocks_equal_the_rule(series: list[list[int]]) -> None:
    """The plan's blocks, computed for every series at once, are the year-to-date rule's blocks."""
    from privacy import block_ends

    got = linked._block_ends(np.array(series, float), K)
    assert got.tolist() == [block_ends(s, K) for s in series]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([0, 1, 3, 6, 9, 10, 15, 40]), min_size=3, max_size=3),
        min_size=6,
        max_size=6,
    )
)
def test_a_stock_and_the_rate_resting_on_it(levels: list[list[int]]) -> None:
    """A stock (the registered unemployed) is a level each month, not a sum of months: no small level of any
    area is a combination of the published ones, and the rate resting on it follows its points."""
    months = 3
    cube = city_cube(dict(zip(STREETS, levels, strict=True)), indicator="stock_a")
    cube["kind"] = "stock"
    links = linked.Links(aliases={("rate_a", "all"): ("stock_a", "all")})
    plan = linked.plan(cube, K, links)
    areas = [CITY, "D1", "D2", "D3", *STREETS]
    rows = [
        functional(a, j, j, months)
        for a in areas
        for j in range(1, months + 1)
        if plan.published(("stock_a", "all", a, 2026, j))
    ]
    counts = cube.pivot_table(index="area_code", columns="month", values="persons", aggfunc="sum")
    for a, j in itertools.product(areas, range(1, months + 1)):
        n = float(counts.loc[a, j])
        if 0 < n < K:
            assert not plan.published(("stock_a", "all", a, 2026, j))
            assert not plan.published(("rate_a", "all", a, 2026, j))  # the rate shows the stock again
            assert not in_span(rows, functional(a, j, j, months)), (a, j, n)


def test_the_cube_and_the_plan_are_the_same_on_every_database(both_demo_urls: str, demo_url: str) -> None:
    """The cube is one SQL statement for SQLite, PostgreSQL and the sharded layout: the same rows, the same
    plan. Its rows equal the agg_monthly rows they come from (the one-group indicators read as their group)."""
    from pandas.testing import assert_frame_equal

    from figures.disclosure import plan_for
    from queries import disclosure
    from store.db import make_engine

    keys = ["indicator_code", "group_code", "area_code", "year", "month"]

    def read(url: str) -> pd.DataFrame:
        got = disclosure.cube(make_engine(url)).astype({"year": int, "month": int, "persons": float})
        return got.sort_values(keys).reset_index(drop=True)

    want, got = read(demo_url), read(both_demo_urls)
    assert len(want) > 10_000 and set(want["kind"]) == {"flow", "stock", "running"}
    assert_frame_equal(got, want, check_dtype=False)
    assert plan_for(make_engine(both_demo_urls), K).hidden == plan_for(make_engine(demo_url), K).hidden
    assert not {"difficulty_employment", "graduate_employment"} & set(want["indicator_code"])
