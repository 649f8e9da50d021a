"""The cube the suppression plan is decided on (privacy.linked): persons per series, area and month.

Read city-wide whoever is logged in, because the plan must be the same in every view (a planner's view of
their district hides what a leader's view of it hides); it is never shown. Aggregated in SQL: one row per
series, area and month of ``agg_monthly`` (streets, districts and the city).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from bureau import schema as s
from bureau.indicators import BY_CODE, DERIVED_FROM_GROUPS, GROUPS
from queries import disclosure_control, frame

GROUPED = "urban_new_employment"  # the series stored per group
LEVELS = ("street", "district", "city")


@disclosure_control("persons per series, area and month, to decide the suppression plan; never shown")
def cube(engine: Engine) -> pd.DataFrame:
    """Columns ``indicator_code, group_code, area_code, parent_code, year, month, persons, kind`` for every
    flow and stock of ``agg_monthly`` (groups only for urban new employment; an indicator that is one group
    of it is read once, as the group)."""
    a, ar = s.agg_monthly, s.area
    kinds = {code: kind_of(code) for code in BY_CODE}
    one_group = {code for code, groups in DERIVED_FROM_GROUPS.items() if len(groups) == 1}
    codes = sorted(c for c, k in kinds.items() if k in ("flow", "stock") and c not in one_group)
    stmt = select(a.c.indicator_code, a.c.group_code, a.c.area_code, a.c.year, a.c.month, a.c.persons).where(
        a.c.indicator_code.in_(codes),
        a.c.level.in_(LEVELS),
        (a.c.group_code == "all") | (a.c.indicator_code == GROUPED),
    )
    areas = select(ar.c.area_code, ar.c.parent_code).where(ar.c.level.in_(LEVELS))
    with engine.connect() as conn:
        out = frame(conn, stmt)
        parent = frame(conn, areas).set_index("area_code")["parent_code"]
    out.insert(3, "parent_code", out["area_code"].map(parent))
    out["kind"] = out["indicator_code"].map(kinds)
    return out


def links() -> dict[str, Any]:
    """How the series relate, as keyword arguments of ``privacy.linked.Links``: urban new employment is the
    sum of its groups, re-employment of two of them, and the one-group indicators are those groups; the
    registered unemployment rate rests on the registered unemployed (the labour force behind it is shown)."""
    aliases: dict[tuple[str, str], tuple[str, str]] = {(GROUPED, g): (GROUPED, g) for g in GROUPS}
    tree: dict[str, list[str]] = {"all": []}
    inside: set[str] = set()
    for indicator, groups in DERIVED_FROM_GROUPS.items():
        if indicator == GROUPED:
            continue
        if len(groups) == 1:
            aliases[(indicator, "all")] = (GROUPED, groups[0])
        else:
            aliases[(indicator, "all")] = (GROUPED, indicator)
            tree[indicator] = list(groups)
            tree["all"].append(indicator)
            inside |= set(groups)
    tree["all"] += [g for g in GROUPS if g not in inside]
    aliases[("registered_unemployment_rate", "all")] = ("registered_unemployed", "all")
    return {"aliases": aliases, "children": {GROUPED: tree}}


Point = tuple[str, str, str, int, int]


def kind_of(indicator_code: str) -> str | None:
    """``flow``, ``stock`` or ``rate`` for a series cut from the cube; None for others (flags, fund figures)."""
    ind = BY_CODE.get(indicator_code)
    kind = getattr(ind, "kind", None)
    return kind if kind in ("flow", "stock", "rate") else None


def month_points(
    indicator: str,
    group: str,
    areas: str | list[str],
    year: int,
    first: int,
    last: int,
    end: tuple[int, int] | None = None,
) -> tuple[Point, ...] | None:
    """The points a figure of ``indicator`` over ``areas`` from ``first`` to ``last`` month of ``year`` is a
    difference of: a flow's points before ``first`` and at ``last`` (``end``: a later (year, month) the flow
    runs to, over year ends), a stock's or rate's point at the end; None when the series is not in the cube."""
    kind = kind_of(indicator)
    codes = [areas] if isinstance(areas, str) else list(areas)
    y1, m1 = end or (year, last)
    if kind is None:
        return None
    if kind != "flow":
        return tuple((indicator, group, c, y1, m1) for c in codes)
    out: list[Point] = []
    for c in codes:
        if first > 1:
            out.append((indicator, group, c, year, first - 1))
        out += [(indicator, group, c, y, 12) for y in range(year, y1)]
        out.append((indicator, group, c, y1, m1))
    return tuple(out)


def with_points(frame: pd.DataFrame, indicator: str | None = None, group: str = "all") -> pd.DataFrame:
    """``frame`` (one month's figure per row: ``area_code, year, month``, and ``indicator_code`` unless
    ``indicator`` is given) with the ``_points`` of each row's month."""
    codes = frame["indicator_code"] if indicator is None else [indicator] * len(frame)
    points = [
        month_points(str(i), group, str(a), int(y), int(m), int(m))
        for i, a, y, m in zip(codes, frame["area_code"], frame["year"], frame["month"], strict=True)
    ]
    return frame.assign(_points=points)
