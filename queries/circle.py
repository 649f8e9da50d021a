"""15-minute employment service circle: population cells, service points open at a date, road network.

Coordinates are returned as stored, with their ``datum`` (GCJ-02 in the demo city, like the area boundaries);
convert with ``service_circle.to_wgs84`` before measuring distances. Counts are people (residents).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine, and_, case, func, literal, or_, select, union_all

from queries import frame, non_person, reference_data
from store import schema as s

CELL_COLUMNS = [
    "cell_id",
    "district_code",
    "street_code",
    "lon",
    "lat",
    "population",
    "working_age",
    "is_rural",
    "datum",
]
POINT_COLUMNS = [
    "point_id",
    "name_zh",
    "name_en",
    "level",
    "district_code",
    "street_code",
    "lon",
    "lat",
    "opened_on",
    "closed_on",
    "staff",
    "capacity_people",
    "datum",
    "floor_area_m2",
]


@non_person("modelled resident estimates per 250 m cell (census-style, no bureau record): docs/privacy.md")
def cells(engine: Engine, district_code: str | None = None) -> pd.DataFrame:
    """Population cells (about 250 m), optionally of one district, ordered by ``cell_id``.

    Columns ``cell_id, district_code, street_code, lon, lat`` (degrees, in ``datum``), ``population`` and
    ``working_age`` (people), ``is_rural`` (bool: judged by the 5 km rule), ``datum``.
    """
    c = s.population_cell
    stmt = select(*(c.c[name] for name in CELL_COLUMNS))
    if district_code:
        stmt = stmt.where(c.c.district_code == district_code)
    with engine.connect() as conn:
        out = frame(conn, stmt.order_by(c.c.cell_id))
    out["is_rural"] = out["is_rural"].astype(bool)
    for col in ("population", "working_age"):
        out[col] = out[col].astype("int64")
    return out


def _open_at(as_of: date):  # type: ignore[no-untyped-def]
    p = s.service_point
    return and_(p.c.opened_on <= as_of, or_(p.c.closed_on.is_(None), p.c.closed_on > as_of))


@non_person("facilities: service points, their places and capacities")
def service_points(
    engine: Engine,
    as_of: date | None = None,
    district_code: str | None = None,
    levels: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Service points, ordered by ``point_id``: all of them, or only those open on ``as_of``.

    Open on a day = opened on or before it and not closed on or before it (``closed_on`` is the first day
    closed). Columns: ``point_id, name_zh, name_en, level, district_code, street_code, lon, lat`` (degrees, in
    ``datum``), ``opened_on, closed_on`` (dates), ``staff``, ``capacity_people`` (residents one point can
    serve), ``datum``, ``floor_area_m2`` (NULL when not recorded). ``levels``: only these station types.
    """
    p = s.service_point
    stmt = select(*(p.c[name] for name in POINT_COLUMNS))
    if as_of is not None:
        stmt = stmt.where(_open_at(as_of))
    if district_code:
        stmt = stmt.where(p.c.district_code == district_code)
    if levels is not None:
        stmt = stmt.where(p.c.level.in_(levels))
    with engine.connect() as conn:
        return frame(conn, stmt.order_by(p.c.point_id))


@non_person("facilities: service points open per level and day")
def stations_open(engine: Engine, days: tuple[date, ...], district_code: str | None = None) -> pd.DataFrame:
    """How many service points were open on each of ``days``, per level (optionally in one district), counted in
    the database.

    Columns ``day`` (date), ``level``, ``stations``; levels with none open are left out.
    """
    if not days:
        return pd.DataFrame(columns=["day", "level", "stations"])
    p = s.service_point
    parts = [
        select(literal(d).label("day"), p.c.level, func.count().label("stations"))
        .where(_open_at(d), *([p.c.district_code == district_code] if district_code else []))
        .group_by(p.c.level)
        for d in days
    ]
    u = union_all(*parts).subquery()
    stmt = select(u.c.day, u.c.level, u.c.stations).order_by(u.c.day, u.c.level)
    with engine.connect() as conn:
        out = frame(conn, stmt)
    out["day"] = [date.fromisoformat(str(d)[:10]) for d in out["day"]]
    out["stations"] = out["stations"].astype(int)
    return out


@non_person("sums of modelled resident estimates per district or street")
def population_by_area(
    engine: Engine, level: str = "district", district_code: str | None = None
) -> pd.DataFrame:
    """Cells and people per district or per street, summed in the database.

    Columns ``area_code``, ``cells``, ``population``, ``working_age``, ``rural_population`` (people in cells
    judged by the 5 km rule). ``level`` is ``"district"`` or ``"street"``.
    """
    c = s.population_cell
    key = (c.c.street_code if level == "street" else c.c.district_code).label("area_code")
    stmt = select(
        key,
        func.count().label("cells"),
        func.sum(c.c.population).label("population"),
        func.sum(c.c.working_age).label("working_age"),
        func.sum(case((c.c.is_rural.is_(True), c.c.population), else_=0)).label("rural_population"),
    )
    if district_code:
        stmt = stmt.where(c.c.district_code == district_code)
    stmt = stmt.group_by(key).order_by(key)
    with engine.connect() as conn:
        out = frame(conn, stmt)
    for col in ("cells", "population", "working_age", "rural_population"):
        out[col] = out[col].astype("int64")
    return out


@reference_data
def road_size(engine: Engine, district_code: str | None = None) -> dict[str, int]:
    """Rows in the road tables: ``{"nodes": n, "edges": m}`` (both 0 when no network is loaded).

    Roads are public infrastructure, not split by district: ``district_code`` is accepted (so a district-scoped
    role can use the page) and ignored. The same holds for :func:`road_network`.
    """
    with engine.connect() as conn:
        nodes = conn.execute(select(func.count()).select_from(s.road_node)).scalar_one()
        edges = conn.execute(select(func.count()).select_from(s.road_edge)).scalar_one()
    return {"nodes": int(nodes), "edges": int(edges)}


@reference_data
def road_network(engine: Engine, district_code: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The road graph: ``nodes`` (``node, lon, lat``: degrees in the boundaries' datum, GCJ-02 in the demo)
    and ``edges`` (``u, v`` node ids, ``length_m`` metres along the road)."""
    n, e = s.road_node, s.road_edge
    with engine.connect() as conn:
        nodes = frame(conn, select(n.c.node_id.label("node"), n.c.lon, n.c.lat).order_by(n.c.node_id))
        edges = frame(conn, select(e.c.u, e.c.v, e.c.length_m).order_by(e.c.edge_id))
    return nodes, edges


@non_person("facilities: the free services each service point offers")
def point_items(engine: Engine, as_of: date, district_code: str | None = None) -> pd.DataFrame:
    """The free services (seed 004's annex; codes in store/stations.py) each point open on ``as_of`` offers.

    Columns ``point_id, item_code``, one row per point and service offered, ordered by both.
    """
    p, i = s.service_point, s.service_point_item
    stmt = (
        select(i.c.point_id, i.c.item_code)
        .select_from(i.join(p, p.c.point_id == i.c.point_id))
        .where(_open_at(as_of), i.c.offered.is_(True))
    )
    if district_code:
        stmt = stmt.where(p.c.district_code == district_code)
    with engine.connect() as conn:
        return frame(conn, stmt.order_by(i.c.point_id, i.c.item_code))


@non_person("facilities: how many of the listed services each service point offers")
def items_offered(
    engine: Engine, as_of: date, items: tuple[str, ...], district_code: str | None = None
) -> pd.DataFrame:
    """Per point open on ``as_of``: how many of ``items`` it offers, counted in the database.

    Columns ``point_id, offered`` (points offering none of them are left out), ordered by ``point_id``.
    """
    p, i = s.service_point, s.service_point_item
    stmt = (
        select(i.c.point_id, func.count(func.distinct(i.c.item_code)).label("offered"))
        .select_from(i.join(p, p.c.point_id == i.c.point_id))
        .where(_open_at(as_of), i.c.item_code.in_(items), i.c.offered.is_(True))
        .group_by(i.c.point_id)
    )
    if district_code:
        stmt = stmt.where(p.c.district_code == district_code)
    with engine.connect() as conn:
        out = frame(conn, stmt.order_by(i.c.point_id))
    out["offered"] = out["offered"].astype("int64")
    return out


@non_person("facilities: staff of the service points open on a day, per district")
def staff_by_district(
    engine: Engine, as_of: date, levels: tuple[str, ...], district_code: str | None = None
) -> pd.DataFrame:
    """Per district: the service points of ``levels`` open on ``as_of`` and their staff, summed in the database.

    Columns ``district_code, stations, staff``, ordered by district.
    """
    p = s.service_point
    stmt = (
        select(
            p.c.district_code,
            func.count().label("stations"),
            func.coalesce(func.sum(p.c.staff), 0).label("staff"),
        )
        .where(_open_at(as_of), p.c.level.in_(levels))
        .group_by(p.c.district_code)
    )
    if district_code:
        stmt = stmt.where(p.c.district_code == district_code)
    with engine.connect() as conn:
        out = frame(conn, stmt.order_by(p.c.district_code))
    for col in ("stations", "staff"):
        out[col] = out[col].astype("int64")
    return out
