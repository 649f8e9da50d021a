"""Service circle: who reaches an employment service point within 15 minutes, and where the next ones should go.

Methods in docs/service-circle.md (computation) and docs/service-circle-page.md (this page).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

import service_circle as sc
from bureau.config import settings
from i18n import fmt_date, fmt_int, fmt_pct, t
from queries import circle, meta
from ui import charts, charts_circle
from ui.common import Ctx, district_choices, download_csv, query, run_page, url_widget

MODES = {"walk": 4.0, "cycle": 12.0, "drive": 25.0}  # km/h defaults
SPEED_RANGE = {"walk": (3.0, 6.0, 0.1), "cycle": (8.0, 20.0, 0.5), "drive": (10.0, 50.0, 1.0)}
MINUTES = [5, 10, 15, 20, 30]
RURAL_M = 5000.0
FIRST_YEAR = 2019
CIRCUITY = (1.2, 1.45, 1.3)  # slider min, max, default
CELL_M = 250.0


# --- cached computation (keyed by the settings and the data cut-off) -------------------------------------


def _wgs(frame: pd.DataFrame) -> pd.DataFrame:
    """Computation frame: WGS84 ``lon, lat`` (the stored GCJ-02 kept as ``lon_gcj, lat_gcj``)."""
    datum = str(frame["datum"].iloc[0]) if len(frame) else "wgs84"
    out = sc.to_wgs84(frame, datum)
    if out is frame:
        out = frame.copy()
    out["lon_gcj"], out["lat_gcj"] = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    return out


@st.cache_resource(show_spinner=False, max_entries=2)
def _cells(src: tuple[str, str], cut_off: date | None) -> pd.DataFrame:
    cells = query(circle.cells)
    return _wgs(cells).assign(rural=cells["is_rural"].to_numpy(bool))


@st.cache_resource(show_spinner=False, max_entries=24)
def _points(src: tuple[str, str], cut_off: date | None, as_of: date) -> pd.DataFrame:
    return _wgs(query(circle.service_points, as_of))


@st.cache_resource(show_spinner=False, max_entries=2)
def _network(src: tuple[str, str], cut_off: date | None) -> sc.RoadNetwork | None:
    nodes, edges = query(circle.road_network)
    if nodes.empty or edges.empty:
        return None
    return sc.RoadNetwork(sc.to_wgs84(nodes, "gcj02"), edges)


@st.cache_resource(show_spinner=False, max_entries=48)
def _coverage(
    src: tuple[str, str],
    cut_off: date | None,
    as_of: date,
    minutes: int,
    speed: float,
    circuity: float,
    rural: bool,
    model: str,
) -> pd.DataFrame:
    """Per cell (the order of ``_cells``): nearest_point, distance_m, minutes, covered, straight_m.

    Urban cells by the minutes rule (straight line × detour factor, or along roads); rural cells, when the
    rural rule is on, by the straight-line 5 km rule in both models.
    """
    cells, points = _cells(src, cut_off), _points(src, cut_off, as_of)
    rural_m = RURAL_M if rural else None
    line = sc.coverage(cells, points, minutes, speed, circuity, rural_m)
    line["straight_m"] = line["distance_m"]
    net = _network(src, cut_off) if model == "network" else None
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
def _summary(
    src: tuple[str, str],
    cut_off: date | None,
    as_of: date,
    minutes: int,
    speed: float,
    circuity: float,
    rural: bool,
    model: str,
) -> dict[str, pd.DataFrame]:
    """City, per-district and per-street coverage and each station's load."""
    cells = _cells(src, cut_off)
    res = _coverage(src, cut_off, as_of, minutes, speed, circuity, rural, model)
    points = _points(src, cut_off, as_of)
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
def _trend(
    src: tuple[str, str],
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
    cells = _cells(src, cut_off)
    years = list(range(FIRST_YEAR, year + 1))
    open_lists = [_points(src, cut_off, _as_of(y, cut_off)) for y in years]
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
def _sites(
    src: tuple[str, str],
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
    pop, cand = _siting_instance(src, cut_off, as_of, district, minutes, speed, circuity, rural, upload)
    points = _points(src, cut_off, as_of)
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


def _siting_instance(
    src: tuple[str, str],
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
    cells = _cells(src, cut_off)
    res = _coverage(src, cut_off, as_of, minutes, speed, circuity, rural, "line")
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


def _as_of(year: int, cut_off: date | None) -> date:
    end = date(year, 12, 31)
    return min(end, cut_off) if cut_off else end


# --- page sections -------------------------------------------------------------------------------------------


def select_district(key: str) -> None:
    """Map click: make the clicked district (a cell, a point or a boundary) the page's district."""
    state = st.session_state.get(key)
    if state is None:
        return
    objects = getattr(state.selection, "objects", {}) or {}
    for layer in ("cells", "points", "districts", "sites"):
        for obj in objects.get(layer) or []:
            code = obj.get("d") if isinstance(obj, dict) else None
            if code:
                st.session_state["district"] = code
                return


def filters(ctx: Ctx) -> dict[str, Any]:
    districts = query(meta.areas, "district")
    name_col = "name_zh" if ctx.lang == "zh" else "name_en"
    d_names = dict(zip(districts["area_code"], districts[name_col], strict=True))
    cut_off = ctx.status.cut_off
    last = cut_off.year if cut_off else (ctx.status.latest_year or date.today().year)
    years = list(range(last, FIRST_YEAR - 1, -1))
    roads = query(circle.road_size)
    models = ["line", "network"] if roads["edges"] > 0 else ["line"]
    cols = st.columns([2, 1.8, 1, 1.6, 1])
    district = url_widget(
        cols[0].selectbox,
        ctx.t("circle_district"),
        district_choices(ctx, list(d_names)),
        "district",
        format_func=lambda c: d_names.get(c, ctx.t("all_districts")),
    )
    mode = url_widget(
        cols[1].segmented_control,
        ctx.t("circle_mode"),
        list(MODES),
        "mode",
        default="walk",
        format_func=lambda m: ctx.t(f"circle_mode_{m}"),
    )
    minutes = url_widget(cols[2].selectbox, ctx.t("circle_minutes"), MINUTES, "minutes", default=15)
    model = url_widget(
        cols[3].segmented_control,
        ctx.t("circle_model"),
        models,
        "model",
        default="line",
        format_func=lambda m: ctx.t(f"circle_model_{m}"),
    )
    year = url_widget(cols[4].selectbox, ctx.t("circle_as_of"), years, "year", default=years[0])
    with st.expander(ctx.t("circle_settings")):
        c = st.columns(3)
        lo, hi, step = SPEED_RANGE[mode]
        speed = c[0].slider(
            ctx.t("circle_speed"),
            lo,
            hi,
            MODES[mode],
            step,
            key=f"cc_speed_{mode}",
            help=ctx.t("circle_speed_help"),
        )
        circuity = c[1].slider(
            ctx.t("circle_detour"),
            CIRCUITY[0],
            CIRCUITY[1],
            CIRCUITY[2],
            0.01,
            key="cc_detour",
            help=ctx.t("circle_detour_help"),
        )
        rural = c[2].toggle(
            ctx.t("circle_rural_rule"), value=True, key="cc_rural", help=ctx.t("circle_rural_help")
        )
    if roads["edges"] == 0:
        st.caption(ctx.t("circle_no_roads"))
    return dict(
        district=district,
        mode=mode,
        minutes=int(minutes),
        model=model,
        year=int(year),
        speed=float(speed),
        circuity=float(circuity),
        rural=bool(rural),
        as_of=_as_of(int(year), cut_off),
        d_names=d_names,
        name_col=name_col,
        roads=roads,
        src=(settings().db_url, "" if ctx.user.city_wide else str(ctx.user.district_code)),
        cut_off=cut_off,
    )


def _key(f: dict[str, Any], model: str | None = None) -> tuple:
    return (
        f["src"],
        f["cut_off"],
        f["as_of"],
        f["minutes"],
        f["speed"],
        f["circuity"],
        f["rural"],
        model or f["model"],
    )


def reach_m(f: dict[str, Any]) -> float:
    """Straight-line radius of the urban rule (m)."""
    return f["minutes"] * f["speed"] * 1000 / 60 / f["circuity"]


def headline(ctx: Ctx, f: dict[str, Any], summ: dict[str, pd.DataFrame], points: pd.DataFrame) -> None:
    code = f["district"]
    row = summ["district"].loc[code] if code else summ["city"].iloc[0]
    load = summ["load"]
    in_scope = (points["district_code"] == code).to_numpy() if code else np.ones(len(points), bool)
    over = int(load["over_capacity"].to_numpy()[in_scope].sum())
    scope = f["d_names"][code] if code else ctx.t("circle_city")
    st.subheader(ctx.t("circle_headline", scope=scope, date=fmt_date(f["as_of"], ctx.lang)))
    c = st.columns(4)
    city = summ["city"].iloc[0]
    delta = (
        f"{(row['covered_share'] - city['covered_share']) * 100:+.1f} pp {ctx.t('circle_vs_city')}"
        if code
        else None
    )
    c[0].metric(
        ctx.t("circle_residents_covered"),
        fmt_pct(row["covered_share"]),
        delta=delta,
        help=ctx.t(
            "circle_of_people",
            covered=fmt_int(row["covered_people"], ctx.lang),
            people=fmt_int(row["people"], ctx.lang),
        ),
    )
    c[1].metric(
        ctx.t("circle_working_covered"),
        fmt_pct(row["covered_working_age_share"]),
        help=ctx.t(
            "circle_of_people",
            covered=fmt_int(row["covered_working_age"], ctx.lang),
            people=fmt_int(row["working_age"], ctx.lang),
        ),
    )
    c[2].metric(ctx.t("circle_stations_open"), fmt_int(int(in_scope.sum()), ctx.lang))
    c[3].metric(
        ctx.t("circle_over_capacity"), fmt_int(over, ctx.lang), help=ctx.t("circle_over_capacity_help")
    )
    rule = ctx.t(
        "circle_rule_text",
        minutes=f["minutes"],
        speed=f"{f['speed']:g}",
        mode=ctx.t(f"circle_mode_{f['mode']}"),
        detour=f"{f['circuity']:.2f}",
        radius=f"{reach_m(f):,.0f}",
    )
    if f["model"] == "network":
        rule = ctx.t("circle_rule_network", minutes=f["minutes"], speed=f"{f['speed']:g}")
    rural = ctx.t("circle_rule_rural") if f["rural"] else ctx.t("circle_rule_rural_off")
    st.caption(f"{rule} {rural} {ctx.t('circle_datum_note')}")


@st.cache_resource(show_spinner=False, max_entries=12)
def _deck(
    key: tuple, district: str, lang: str, sites_key: tuple | None, tile_url: str | None
) -> charts_circle.CompactDeck:
    """The coverage map, built once per settings (its JSON is memoised inside the deck)."""
    src, cut_off, as_of, minutes, speed, circuity, rural, model = key
    cells = _cells(src, cut_off)
    res = _coverage(*key)
    points = _points(src, cut_off, as_of)
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


def coverage_map(ctx: Ctx, f: dict[str, Any], sites: pd.DataFrame | None) -> None:
    sites_key = (
        tuple(
            (float(a), float(b), float(c))
            for a, b, c in zip(sites["lon_gcj"], sites["lat_gcj"], sites["people_added"], strict=True)
        )
        if sites is not None and not sites.empty
        else None
    )
    deck = _deck(_key(f), f["district"], ctx.lang, sites_key, settings().tile_url)
    key = f"cc_map_{f['district'] or 'city'}"
    st.pydeck_chart(
        deck,
        on_select=lambda: select_district(key),
        selection_mode="single-object",
        key=key,
        height=560,
    )
    legend = " · ".join(
        f"<span style='color:rgb({','.join(map(str, charts_circle.CLASS_RGB[k]))})'>■</span> "
        + ctx.t(f"circle_class_{k}_legend", minutes=f["minutes"], twice=2 * f["minutes"])
        for k in charts_circle.CLASS_ORDER
    )
    levels = " · ".join(
        f"<span style='color:rgb({','.join(map(str, rgb))})'>●</span> {ctx.t('circle_level_' + lv)}"
        for lv, rgb in charts_circle.LEVEL_RGB.items()
    )
    st.markdown(f"<small>{legend}<br/>{levels}</small>", unsafe_allow_html=True)
    n_cells = (
        int((_cells(f["src"], f["cut_off"])["district_code"] == f["district"]).sum())
        if f["district"]
        else None
    )
    st.caption(
        ctx.t("circle_map_hint", radius=f"{reach_m(f):,.0f}")
        + " "
        + (
            ctx.t("circle_map_cells", n=fmt_int(n_cells, ctx.lang))
            if n_cells is not None and n_cells <= charts_circle.MAX_MAP_CELLS
            else ctx.t("circle_map_blocks")
        )
    )


def area_tables(ctx: Ctx, f: dict[str, Any], summ: dict[str, pd.DataFrame], points: pd.DataFrame) -> None:
    st.subheader(ctx.t("circle_by_area"))
    tab_d, tab_s = st.tabs([ctx.t("circle_tab_districts"), ctx.t("circle_tab_streets")])
    n_pts = points.groupby("district_code").size()
    d = summ["district"].reset_index()
    dtable = pd.DataFrame(
        {
            ctx.t("col_area"): d["district_code"].map(f["d_names"]),
            ctx.t("circle_people"): d["people"],
            ctx.t("circle_covered_people"): d["covered_people"],
            ctx.t("circle_covered_share"): d["covered_share"],
            ctx.t("circle_working_age"): d["working_age"],
            ctx.t("circle_working_share"): d["covered_working_age_share"],
            ctx.t("circle_stations_open"): d["district_code"].map(n_pts).fillna(0).astype(int),
            ctx.t("circle_people_per_station"): d["people"]
            / d["district_code"].map(n_pts).replace(0, np.nan),
        }
    ).sort_values(ctx.t("circle_covered_share"))
    fmt = {
        ctx.t("circle_people"): st.column_config.NumberColumn(format="localized"),
        ctx.t("circle_covered_people"): st.column_config.NumberColumn(format="localized"),
        ctx.t("circle_working_age"): st.column_config.NumberColumn(format="localized"),
        ctx.t("circle_covered_share"): st.column_config.ProgressColumn(
            format="percent", min_value=0, max_value=1
        ),
        ctx.t("circle_working_share"): st.column_config.NumberColumn(format="percent"),
        ctx.t("circle_people_per_station"): st.column_config.NumberColumn(format="%.0f"),
    }
    with tab_d:
        st.dataframe(dtable, hide_index=True, width="stretch", column_config=fmt, key="cc_districts")
        download_csv(dtable, "service-circle-districts", ctx.lang, key="cc_dl_districts")
    streets = query(meta.areas, "street", f["district"] or None)
    s = summ["street"].reset_index()
    s = s[s["street_code"].isin(streets["area_code"])]
    names = dict(zip(streets["area_code"], streets[f["name_col"]], strict=True))
    rural = dict(zip(streets["area_code"], streets["is_rural"], strict=True))
    stable = pd.DataFrame(
        {
            ctx.t("col_area"): s["street_code"].map(names),
            ctx.t("circle_district"): s["street_code"].str[:6].map(f["d_names"]),
            ctx.t("circle_rule"): s["street_code"].map(
                lambda c: ctx.t("circle_rule_5km" if rural.get(c) else "circle_rule_15min")
            ),
            ctx.t("circle_people"): s["people"],
            ctx.t("circle_covered_people"): s["covered_people"],
            ctx.t("circle_covered_share"): s["covered_share"],
            ctx.t("circle_working_age"): s["working_age"],
            ctx.t("circle_working_share"): s["covered_working_age_share"],
        }
    ).sort_values(ctx.t("circle_covered_share"))
    with tab_s:
        st.dataframe(stable, hide_index=True, width="stretch", column_config=fmt, key="cc_streets")
        st.caption(ctx.t("circle_streets_caption"))
        download_csv(
            stable, f"service-circle-streets-{f['district'] or 'city'}", ctx.lang, key="cc_dl_streets"
        )


def trend(ctx: Ctx, f: dict[str, Any]) -> None:
    st.subheader(ctx.t("circle_trend"))
    frame = _trend(f["src"], f["cut_off"], f["year"], f["minutes"], f["speed"], f["circuity"], f["rural"])
    keep = frame["area"].isin(["", f["district"]])
    shown = frame[keep].assign(
        scope=lambda x: x["area"].map(
            lambda a: f["d_names"].get(a, ctx.t("circle_city")) if a else ctx.t("circle_city")
        )
    )
    st.altair_chart(
        charts_circle.trend_chart(
            shown,
            {
                "year": ctx.t("circle_year_end"),
                "covered_share": ctx.t("circle_covered_share"),
                "stations": ctx.t("circle_stations_open"),
            },
        ),
        width="stretch",
    )
    st.caption(ctx.t("circle_trend_caption"))


def station_load(ctx: Ctx, f: dict[str, Any], summ: dict[str, pd.DataFrame], points: pd.DataFrame) -> None:
    st.subheader(ctx.t("circle_load"))
    load = summ["load"]
    frame = pd.DataFrame(
        {
            "name": points[f["name_col"]].to_numpy(),
            "district_code": points["district_code"].to_numpy(),
            "level": [ctx.t("circle_level_" + lv) for lv in points["level"]],
            "people_assigned": load["people_assigned"].to_numpy(),
            "people_covered": load["people_covered"].to_numpy(),
            "capacity": points["capacity_people"].to_numpy(float),
            "over_capacity": load["over_capacity"].to_numpy(bool),
        }
    )
    if f["district"]:
        frame = frame[frame["district_code"] == f["district"]]
    frame["load"] = frame["people_covered"] / frame["capacity"]
    frame["over"] = np.where(frame["over_capacity"], ctx.t("circle_over"), ctx.t("circle_within"))
    left, right = st.columns([2, 3])
    if frame.empty:
        left.info(ctx.t("no_rows"))
        return
    left.altair_chart(
        charts_circle.load_chart(
            frame,
            {
                "capacity": ctx.t("circle_capacity"),
                "people_covered": ctx.t("circle_people_covered"),
                "over": ctx.t("circle_over"),
                "within": ctx.t("circle_within"),
            },
        ),
        width="stretch",
    )
    table = pd.DataFrame(
        {
            ctx.t("circle_station"): frame["name"],
            ctx.t("circle_district"): frame["district_code"].map(f["d_names"]),
            ctx.t("circle_level"): frame["level"],
            ctx.t("circle_people_covered"): frame["people_covered"],
            ctx.t("circle_people_assigned"): frame["people_assigned"],
            ctx.t("circle_capacity"): frame["capacity"],
            ctx.t("circle_load_ratio"): frame["load"],
        }
    ).sort_values(ctx.t("circle_load_ratio"), ascending=False)
    right.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=300,
        key="cc_load",
        column_config={
            ctx.t("circle_people_covered"): st.column_config.NumberColumn(format="localized"),
            ctx.t("circle_people_assigned"): st.column_config.NumberColumn(format="localized"),
            ctx.t("circle_capacity"): st.column_config.NumberColumn(format="localized"),
            ctx.t("circle_load_ratio"): st.column_config.NumberColumn(format="percent"),
        },
    )
    right.caption(
        ctx.t(
            "circle_load_caption",
            over=int(frame["over_capacity"].sum()),
            n=len(frame),
            per=fmt_int(frame["people_covered"].sum() / max(len(frame), 1), ctx.lang),
        )
    )
    download_csv(table, "service-circle-station-load", ctx.lang, key="cc_dl_load")


def compare_models(ctx: Ctx, f: dict[str, Any]) -> None:
    if f["roads"]["edges"] == 0:
        return
    with st.expander(ctx.t("circle_compare"), expanded=f["model"] == "network"):
        # The road graph is large: read and route it only when asked (or when it is the chosen model).
        if f["model"] != "network" and not st.toggle(ctx.t("circle_compare_run"), key="cc_compare_on"):
            st.caption(ctx.t("circle_compare_off"))
            return
        line = _summary(*_key(f, "line"))["district"]
        net = _summary(*_key(f, "network"))["district"]
        city_l, city_n = (
            _summary(*_key(f, "line"))["city"].iloc[0],
            _summary(*_key(f, "network"))["city"].iloc[0],
        )
        table = pd.DataFrame(
            {
                ctx.t("col_area"): [f["d_names"].get(c, c) for c in line.index] + [ctx.t("circle_city")],
                ctx.t("circle_model_line"): [*line["covered_share"], city_l["covered_share"]],
                ctx.t("circle_model_network"): [
                    *net["covered_share"].reindex(line.index),
                    city_n["covered_share"],
                ],
            }
        )
        table[ctx.t("circle_difference_pp")] = (
            table[ctx.t("circle_model_network")] - table[ctx.t("circle_model_line")]
        ) * 100
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            key="cc_compare",
            column_config={
                ctx.t("circle_model_line"): st.column_config.NumberColumn(format="percent"),
                ctx.t("circle_model_network"): st.column_config.NumberColumn(format="percent"),
                ctx.t("circle_difference_pp"): st.column_config.NumberColumn(format="%+.1f"),
            },
        )
        st.caption(
            ctx.t(
                "circle_compare_caption",
                nodes=fmt_int(f["roads"]["nodes"], ctx.lang),
                edges=fmt_int(f["roads"]["edges"], ctx.lang),
                detour=f"{f['circuity']:.2f}",
            )
        )


def _read_upload(ctx: Ctx, upload: Any, datum: str) -> tuple[tuple[float, float], ...] | None:
    """(lon, lat) pairs in GCJ-02 from an uploaded CSV; ``None`` (after a warning) when unusable."""
    try:
        frame = pd.read_csv(io.BytesIO(upload.getvalue()))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError):
        st.warning(ctx.t("circle_upload_bad"))
        return None
    cols = {c.strip().lower(): c for c in frame.columns}
    lon_c = next((cols[c] for c in ("lon", "lng", "longitude", "经度") if c in cols), None)
    lat_c = next((cols[c] for c in ("lat", "latitude", "纬度") if c in cols), None)
    if lon_c is None or lat_c is None:
        st.warning(ctx.t("circle_upload_bad"))
        return None
    lon = pd.to_numeric(frame[lon_c], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(frame[lat_c], errors="coerce").to_numpy(float)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    if not ok.any():
        st.warning(ctx.t("circle_upload_bad"))
        return None
    lon, lat = lon[ok], lat[ok]
    if datum == "wgs84":
        lon, lat = sc.wgs84_to_gcj02(lon, lat)
    return tuple(zip(lon.tolist(), lat.tolist(), strict=True))


def siting(ctx: Ctx, f: dict[str, Any]) -> pd.DataFrame | None:
    """Settings and results of the siting tool; returns the current ranked sites (or None)."""
    st.header(ctx.t("circle_siting"))
    scope = f["d_names"][f["district"]] if f["district"] else ctx.t("circle_city")
    st.caption(ctx.t("circle_siting_caption", scope=scope))
    c = st.columns([1.2, 1.6, 1.4, 1.2])
    k = c[0].number_input(ctx.t("circle_k"), 1, 50, 5, 1, key="cc_k")
    source = c[1].radio(
        ctx.t("circle_candidates"),
        ["grid", "upload"],
        key="cc_source",
        format_func=lambda v: ctx.t(f"circle_candidates_{v}"),
    )
    use_cap = c[2].toggle(ctx.t("circle_use_capacity"), value=False, key="cc_use_cap")
    cap = c[2].number_input(
        ctx.t("circle_capacity"), 1000, 300_000, 15_000, 1000, key="cc_cap", disabled=not use_cap
    )
    upload = None
    if source == "upload":
        u = st.file_uploader(ctx.t("circle_upload"), type=["csv"], key="cc_upload")
        datum = st.radio(
            ctx.t("circle_upload_datum"),
            ["gcj02", "wgs84"],
            horizontal=True,
            key="cc_upload_datum",
            format_func=lambda v: ctx.t(f"circle_datum_{v}"),
        )
        if u is None:
            st.info(ctx.t("circle_upload_hint"))
            return None
        upload = _read_upload(ctx, u, datum)
        if upload is None:
            return None
    args = (
        f["src"],
        f["cut_off"],
        f["as_of"],
        f["district"],
        int(k),
        f["minutes"],
        f["speed"],
        f["circuity"],
        f["rural"],
        float(cap) if use_cap else None,
        upload,
    )
    if c[3].button(
        ctx.t("circle_site_button"), key="cc_site_go", type="primary", icon=":material/add_location_alt:"
    ):
        with st.spinner(ctx.t("circle_siting_running")):
            _sites(*args)
        st.session_state["cc_sites_args"] = args
    if st.session_state.get("cc_sites_args") != args:
        st.caption(ctx.t("circle_siting_press"))
        return None
    sites = _sites(*args)
    if sites.empty:
        st.info(ctx.t("circle_siting_none"))
        return None
    w_lon, w_lat = sc.gcj02_to_wgs84(sites["lon_gcj"].to_numpy(), sites["lat_gcj"].to_numpy())
    streets = query(meta.areas, "street")
    s_names = dict(zip(streets["area_code"], streets[f["name_col"]], strict=True))
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(sites) + 1),
            "district": sites["district_code"].map(f["d_names"]),
            "street": sites["street_code"].map(s_names),
            "people_added": sites["people_added"].round().astype(int),
            "cumulative_share": sites["cumulative_share"],
            "lon_gcj02": sites["lon_gcj"].round(6),
            "lat_gcj02": sites["lat_gcj"].round(6),
            "lon_wgs84": np.round(w_lon, 6),
            "lat_wgs84": np.round(w_lat, 6),
        }
    )
    shown = table.rename(
        columns={
            "rank": ctx.t("circle_rank"),
            "district": ctx.t("circle_district"),
            "street": ctx.t("circle_street"),
            "people_added": ctx.t("circle_people_added"),
            "cumulative_share": ctx.t("circle_cumulative_share"),
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="cc_sites_table",
        column_config={
            ctx.t("circle_people_added"): st.column_config.NumberColumn(format="localized"),
            ctx.t("circle_cumulative_share"): st.column_config.NumberColumn(format="percent"),
        },
    )
    added = float(sites["people_added"].sum())
    st.caption(
        ctx.t(
            "circle_sites_caption",
            n=len(sites),
            added=fmt_int(added, ctx.lang),
            share=fmt_pct(float(sites["cumulative_share"].iloc[-1])),
        )
        + " "
        + (ctx.t("circle_capacity_no_guarantee") if use_cap else ctx.t("circle_guarantee"))
    )
    download_csv(table, "service-circle-new-sites", ctx.lang, key="cc_dl_sites")
    exact_check(ctx, f, args)
    return sites


def exact_check(ctx: Ctx, f: dict[str, Any], args: tuple) -> None:
    with st.expander(ctx.t("circle_exact"), expanded="cc_exact" in st.session_state):
        st.caption(ctx.t("circle_exact_caption"))
        c = st.columns(3)
        limit = c[0].slider(ctx.t("circle_time_limit"), 5, 60, 10, 5, key="cc_exact_limit")
        agg = c[1].selectbox(ctx.t("circle_aggregate"), [500, 1000, 2000], index=1, key="cc_exact_agg")
        if c[2].button(ctx.t("circle_exact_button"), key="cc_exact_go", icon=":material/calculate:"):
            src, cut_off, as_of, district, k, minutes, speed, circuity, rural, _cap, upload = args
            pop, cand = _siting_instance(
                src, cut_off, as_of, district, minutes, speed, circuity, rural, upload
            )
            with st.spinner(ctx.t("circle_exact_running")):
                try:
                    out = sc.site_exact(
                        pop,
                        cand,
                        _points(src, cut_off, as_of),
                        k,
                        minutes,
                        speed,
                        circuity,
                        time_limit_s=float(limit),
                        aggregate_to_m=float(agg),
                        rural_distance_m=RURAL_M if rural else None,
                    )
                except TypeError:  # HiGHS stopped without any solution (no dual bound reported)
                    out = None
            st.session_state["cc_exact"] = (args, limit, agg, out)
        saved = st.session_state.get("cc_exact")
        if not saved or saved[0] != args:
            return
        _, limit, agg, out = saved
        if out is None or out["chosen"].empty and out["objective"] != 0:
            st.warning(ctx.t("circle_exact_none", limit=limit))
            return
        bound_gap = (
            (out["dual_bound"] - out["greedy_objective"]) / out["dual_bound"]
            if np.isfinite(out["dual_bound"]) and out["dual_bound"] > 0
            else 0.0
        )
        text = ctx.t(
            "circle_exact_result",
            status=ctx.t("circle_exact_optimal")
            if out["status"] == 0
            else ctx.t("circle_exact_limit", limit=limit),
            exact=fmt_int(out["objective"], ctx.lang),
            greedy=fmt_int(out["greedy_objective"], ctx.lang),
            gap=f"{out['greedy_gap'] * 100:.2f}",
            bound=fmt_int(out["dual_bound"], ctx.lang),
            bound_gap=f"{max(bound_gap, 0.0) * 100:.2f}",
            cells=fmt_int(out["cells"], ctx.lang),
            agg=agg,
            full=fmt_int(out["objective_full_resolution"], ctx.lang),
        )
        (st.success if out["status"] == 0 else st.info)(text)


def body(ctx: Ctx) -> None:
    f = filters(ctx)
    cells = _cells(f["src"], f["cut_off"])
    if cells.empty:
        st.warning(ctx.t("circle_no_cells"))
        return
    points = _points(f["src"], f["cut_off"], f["as_of"])
    summ = _summary(*_key(f))
    headline(ctx, f, summ, points)
    map_slot = st.container()
    area_tables(ctx, f, summ, points)
    left, right = st.columns(2)
    with left:
        trend(ctx, f)
    with right:
        compare_models(ctx, f)
    station_load(ctx, f, summ, points)
    sites = siting(ctx, f)
    with map_slot:
        coverage_map(ctx, f, sites)


run_page(body, "page_circle", "circle_caption")
