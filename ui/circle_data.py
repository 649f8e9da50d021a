"""The Service circle page's cached computations: cells, points, coverage under the chosen rule, summaries,
the trend, new sites and the map (keyed by the settings and the data cut-off; defaults are the official rule)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import streamlit as st

import service_circle as sc
from figures.rules import rules
from i18n import t
from queries import circle, meta
from store.config import settings
from ui import charts, charts_circle
from ui.common import query

OFFICIAL = rules().coverage  # the bureau's coverage rule (figures.rules): the page's defaults
MODES = {"walk": OFFICIAL.speed_kmh, "cycle": 12.0, "drive": 25.0}  # km/h defaults
SPEED_RANGE = {"walk": (3.0, 6.0, 0.1), "cycle": (8.0, 20.0, 0.5), "drive": (10.0, 50.0, 1.0)}
MINUTES = [5, 10, 15, 20, 30]
RURAL_M = float(OFFICIAL.rural_distance_m or 5000.0)
FIRST_YEAR = 2019
CIRCUITY = (1.2, 1.45, OFFICIAL.circuity)  # slider min, max, default
CELL_M = 250.0
# Every cache's source key: database URL, the role's district scope ("" city-wide), the station types counted.
Src = tuple[str, str, tuple[str, ...]]


# --- cached computation (keyed by the settings and the data cut-off) -------------------------------------


def wgs(frame: pd.DataFrame) -> pd.DataFrame:
    """Computation frame: WGS84 ``lon, lat`` (the stored GCJ-02 kept as ``lon_gcj, lat_gcj``)."""
    datum = str(frame["datum"].iloc[0]) if len(frame) else "wgs84"
    out = sc.to_wgs84(frame, datum)
    if out is frame:
        out = frame.copy()
    out["lon_gcj"], out["lat_gcj"] = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    return out


def cells_of(src: Src, cut_off: date | None) -> pd.DataFrame:
    return _cells(src[0], src[1], cut_off)  # the same cells whatever station types are counted


@st.cache_resource(show_spinner=False, max_entries=2)
def _cells(db_url: str, scope: str, cut_off: date | None) -> pd.DataFrame:
    cells = query(circle.cells)
    return wgs(cells).assign(rural=cells["is_rural"].to_numpy(bool))


@st.cache_resource(show_spinner=False, max_entries=24)
def points_of(src: Src, cut_off: date | None, as_of: date) -> pd.DataFrame:
    """The points open on ``as_of`` of the station types counted (``src[2]``)."""
    return wgs(query(circle.service_points, as_of, levels=src[2]))


def network_of(src: Src, cut_off: date | None) -> sc.RoadNetwork | None:
    return _network(src[0], src[1], cut_off)


@st.cache_resource(show_spinner=False, max_entries=2)
def _network(db_url: str, scope: str, cut_off: date | None) -> sc.RoadNetwork | None:
    nodes, edges = query(circle.road_network)
    if nodes.empty or edges.empty:
        return None
    return sc.RoadNetwork(sc.to_wgs84(nodes, "gcj02"), edges)


@st.cache_resource(show_spinner=False, max_entries=48)
def coverage_of(
    src: Src,
    cut_off: date | None,
    as_of: date,
    minutes: int,
    speed: float,
    circuity: float,
    rural: bool,
    model: str,
) -> pd.DataFrame:
    """Per cell (the order of ``cells_of``): nearest_point, distance_m, minutes, covered, straight_m.

    Urban cells by the minutes rule (straight line × detour factor, or along roads); rural cells, when the
    rural rule is on, by the straight-line 5 km rule in both models.
    """
    cells, points = cells_of(src, cut_off), points_of(src, cut_off, as_of)
    rural_m = RURAL_M if rural else None
    line = sc.coverage(cells, points, minutes, speed, circuity, rural_m)
    line["straight_m"] = line["distance_m"]
    net = network_of(src, cut_off) if model == "network" else None
    if net is None:
        return line
    thr = minutes * speed * 1000 / 60
    out = net.coverage(cells, points, minutes, speed, limit_m=2 * thr)
    out["straight_m"] = line["distance_m"].to_numpy()
    if rural_m is not None:
        r = cells["rural"].to_numpy(bool)
        out.loc[r, "covered"] = line["distance_m"].to_numpy()[r] <= rural_m
        # A rural cell covered by the 5 km rule counts for its straight-line nearest station.
        out.loc[r, "nearest_point"] = line["nearest_point"].to_numpy()[r]
    return out


@st.cache_resource(show_spinner=False, max_entries=48)
def summary_of(
    src: Src,
    cut_off: date | None,
    as_of: date,
    minutes: int,
    speed: float,
    circuity: float,
    rural: bool,
    model: str,
) -> dict[str, pd.DataFrame]:
    """City, per-district and per-street coverage and each station's load."""
    cells = cells_of(src, cut_off)
    res = coverage_of(src, cut_off, as_of, minutes, speed, circuity, rural, model)
    points = points_of(src, cut_off, as_of)
    load = sc.station_load(
        cells, res, capacity=points["capacity_people"].to_numpy(float), n_points=len(points)
    )
    return {
        "city": sc.summarise(cells, res),
        "district": sc.summarise(cells, res, by="district_code"),
        "street": sc.summarise(cells, res, by="street_code"),
        "load": load,
    }


@st.cache_resource(show_spinner=False, max_entries=16)
def trend_of(
    src: Src,
    cut_off: date | None,
    year: int,
    minutes: int,
    speed: float,
    circuity: float,
    rural: bool,
) -> pd.DataFrame:
    """Covered share (straight-line model) at each year-end from 2019, with the stations open then.

    All year-ends at once (``sc.covered_by_period``: one radius search, one sparse product), not one coverage
    run per year.
    """
    rows = []
    cells = cells_of(src, cut_off)
    years = list(range(FIRST_YEAR, year + 1))
    open_lists = [points_of(src, cut_off, as_of_date(y, cut_off)) for y in years]
    every = pd.concat(open_lists, ignore_index=True).drop_duplicates("point_id").reset_index(drop=True)
    open_at = np.column_stack([every["point_id"].isin(p["point_id"]).to_numpy() for p in open_lists])
    covered = sc.covered_by_period(
        cells, every, open_at, minutes, speed, circuity, RURAL_M if rural else None
    )
    for j, (y, pts) in enumerate(zip(years, open_lists, strict=True)):
        res = pd.DataFrame({"covered": covered[:, j]})
        city = sc.summarise(cells, res).iloc[0]
        rows.append({"year": y, "area": "", "covered_share": city["covered_share"], "stations": len(pts)})
        by = sc.summarise(cells, res, by="district_code")
        n = pts.groupby("district_code").size()
        for code, r in by.iterrows():
            rows.append(
                {
                    "year": y,
                    "area": code,
                    "covered_share": r["covered_share"],
                    "stations": int(n.get(code, 0)),
                }
            )
    return pd.DataFrame(rows)


@st.cache_resource(show_spinner=False, max_entries=16)
def sites_of(
    src: Src,
    cut_off: date | None,
    as_of: date,
    district: str,
    k: int,
    minutes: int,
    speed: float,
    circuity: float,
    rural: bool,
    capacity: float | None,
    upload: tuple[tuple[float, float], ...] | None,
) -> pd.DataFrame:
    """Greedy new sites (straight-line model); columns of ``site_new_points`` plus GCJ-02 lon/lat."""
    pop, cand = siting_instance(src, cut_off, as_of, district, minutes, speed, circuity, rural, upload)
    points = points_of(src, cut_off, as_of)
    out = sc.site_new_points(
        pop,
        cand,
        points,
        k,
        minutes,
        speed,
        circuity,
        capacity=capacity,
        rural_distance_m=RURAL_M if rural else None,
    )
    out["lon_gcj"] = cand["lon_gcj"].to_numpy()[out["candidate"].to_numpy()]
    out["lat_gcj"] = cand["lat_gcj"].to_numpy()[out["candidate"].to_numpy()]
    out["district_code"] = cand["district_code"].to_numpy()[out["candidate"].to_numpy()]
    out["street_code"] = cand["street_code"].to_numpy()[out["candidate"].to_numpy()]
    return out


def siting_instance(
    src: Src,
    cut_off: date | None,
    as_of: date,
    district: str,
    minutes: int,
    speed: float,
    circuity: float,
    rural: bool,
    upload: tuple[tuple[float, float], ...] | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """People to cover (the district's cells, or the city's) and candidate sites (WGS84, with GCJ-02 kept).

    Default candidates: populated cells not already within the urban reach of a station, thinned to the most
    populous cell of each 500 m square (1 km city-wide) so the search stays interactive.
    """
    cells = cells_of(src, cut_off)
    res = coverage_of(src, cut_off, as_of, minutes, speed, circuity, rural, "line")
    scope = cells["district_code"].to_numpy() == district if district else np.ones(len(cells), bool)
    pop = cells[scope]
    if upload:
        arr = np.asarray(upload, dtype=float)
        lon, lat = sc.gcj02_to_wgs84(arr[:, 0], arr[:, 1])
        cand = pd.DataFrame({"lon": lon, "lat": lat, "lon_gcj": arr[:, 0], "lat_gcj": arr[:, 1]})
        near = sc.coverage(cand, cells, minutes=1e9, rural_distance_m=None)["nearest_point"].to_numpy()
        cand["district_code"] = cells["district_code"].to_numpy()[near]
        cand["street_code"] = cells["street_code"].to_numpy()[near]
        return pop, cand
    urban_reach = minutes * speed * 1000 / 60 / circuity
    open_ = scope & (res["straight_m"].to_numpy() > urban_reach) & (cells["population"].to_numpy() > 0)
    cand = cells[open_]
    block = 500.0 if district else 1000.0
    proj = sc.LocalProjection.for_points((cand["lon"].to_numpy(), cand["lat"].to_numpy()))
    xy = proj.forward(cand["lon"].to_numpy(), cand["lat"].to_numpy()) if len(cand) else np.zeros((0, 2))
    key = pd.DataFrame({"bx": np.floor(xy[:, 0] / block), "by": np.floor(xy[:, 1] / block)}, index=cand.index)
    best = cand.assign(bx=key["bx"], by=key["by"]).sort_values("population", ascending=False, kind="stable")
    best = best.drop_duplicates(["bx", "by"]).sort_index()
    return pop, best[["lon", "lat", "lon_gcj", "lat_gcj", "district_code", "street_code", "population"]]


def as_of_date(year: int, cut_off: date | None) -> date:
    end = date(year, 12, 31)
    return min(end, cut_off) if cut_off else end


@st.cache_resource(show_spinner=False, max_entries=12)
def deck_of(
    key: tuple, district: str, lang: str, sites_key: tuple | None, tile_url: str | None
) -> charts_circle.CompactDeck:
    """The coverage map, built once per settings (its JSON is memoised inside the deck)."""
    src, cut_off, as_of, minutes, speed, circuity, rural, model = key
    cells = cells_of(src, cut_off)
    res = coverage_of(*key)
    points = points_of(src, cut_off, as_of)
    name_col = "name_zh" if lang == "zh" else "name_en"
    labels = {
        "people": t("circle_people", lang),
        "working_age": t("circle_working_age", lang),
        "minutes": t("circle_minutes_to_point", lang),
        "block": t("circle_block", lang),
        "covered_share": t("circle_covered_share", lang),
        **{k: t(f"circle_class_{k}", lang) for k in charts_circle.CLASS_ORDER},
    }
    cls = charts_circle.classify(res, cells["rural"].to_numpy(bool), minutes, RURAL_M if rural else None)
    mask = cells["district_code"].to_numpy() == district if district else np.ones(len(cells), bool)
    shown = cells[mask].assign(lon=lambda f: f["lon_gcj"], lat=lambda f: f["lat_gcj"])
    rows, size = charts_circle.map_cells(
        shown, res[mask], cls[mask], labels, cell_m=CELL_M, min_people=settings().min_cell_persons
    )
    districts = query(meta.boundaries, "district")
    if src[1]:  # a district planner's map: their own district only, not its neighbours' names
        districts = districts[districts["area_code"] == src[1]]
    districts = districts.assign(tip=districts[name_col])
    streets = query(meta.boundaries, "street", district) if district else districts.iloc[0:0]
    streets = streets.assign(tip="")
    view = charts.view_for(districts[districts["area_code"] == district] if district else districts)
    load = sc.station_load(
        cells, res, capacity=points["capacity_people"].to_numpy(float), n_points=len(points)
    )
    pts = points.assign(
        lon=points["lon_gcj"],
        lat=points["lat_gcj"],
        tip=[
            f"<b>{n}</b><br/>{t('circle_level_' + lv, lang)}<br/>"
            f"{t('circle_people_covered', lang)}: {pc:,.0f} / {t('circle_capacity', lang)} {cap:,.0f}"
            for n, lv, pc, cap in zip(
                points[name_col],
                points["level"],
                load["people_covered"],
                points["capacity_people"],
                strict=True,
            )
        ],
    )
    sites = None
    if sites_key:
        sites = pd.DataFrame(
            [
                {
                    "lon": lon,
                    "lat": lat,
                    "rank": i + 1,
                    "tip": f"<b>{t('circle_new_site', lang)} {i + 1}</b><br/>+{n:,.0f} {t('circle_people', lang)}",
                }
                for i, (lon, lat, n) in enumerate(sites_key)
            ]
        )
    radius = minutes * speed * 1000 / 60 / circuity
    deck = charts_circle.coverage_map(districts, streets, rows, size, pts, radius, view, sites, tile_url)
    deck.to_json()  # build the JSON now, once
    return deck
