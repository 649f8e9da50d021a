"""Service circle: who reaches an employment service point within 15 minutes, and where the next ones should go.

Methods in docs/service-circle.md (computation) and docs/service-circle-page.md (this page).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from i18n import fmt_date, fmt_int, fmt_pct
from queries import circle, meta
from store.config import settings
from ui import charts_circle
from ui import circle_data as cd
from ui.circle_data import CIRCUITY, FIRST_YEAR, MINUTES, MODES, SPEED_RANGE
from ui.circle_siting import siting
from ui.circle_stations import counted_types, rule_note, stations_section
from ui.common import Ctx, district_choices, download_csv, query, run_page, url_widget

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
        c = st.columns(4)
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
        types = counted_types(ctx, c[3])
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
        as_of=cd.as_of_date(int(year), cut_off),
        d_names=d_names,
        name_col=name_col,
        roads=roads,
        src=(settings().db_url, "" if ctx.user.city_wide else str(ctx.user.district_code), types),
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
    st.caption(f"{rule} {rural} {ctx.t('circle_datum_note')} {rule_note(ctx, f['src'][2])}")


def coverage_map(ctx: Ctx, f: dict[str, Any], sites: pd.DataFrame | None) -> None:
    sites_key = (
        tuple(
            (float(a), float(b), float(c))
            for a, b, c in zip(sites["lon_gcj"], sites["lat_gcj"], sites["people_added"], strict=True)
        )
        if sites is not None and not sites.empty
        else None
    )
    deck = cd.deck_of(_key(f), f["district"], ctx.lang, sites_key, settings().tile_url)
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
        int((cd.cells_of(f["src"], f["cut_off"])["district_code"] == f["district"]).sum())
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
    frame = cd.trend_of(
        f["src"], f["cut_off"], f["year"], f["minutes"], f["speed"], f["circuity"], f["rural"]
    )
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
        line = cd.summary_of(*_key(f, "line"))["district"]
        net = cd.summary_of(*_key(f, "network"))["district"]
        city_l, city_n = (
            cd.summary_of(*_key(f, "line"))["city"].iloc[0],
            cd.summary_of(*_key(f, "network"))["city"].iloc[0],
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


def body(ctx: Ctx) -> None:
    f = filters(ctx)
    cells = cd.cells_of(f["src"], f["cut_off"])
    if cells.empty:
        st.warning(ctx.t("circle_no_cells"))
        return
    points = cd.points_of(f["src"], f["cut_off"], f["as_of"])
    summ = cd.summary_of(*_key(f))
    headline(ctx, f, summ, points)
    map_slot = st.container()
    area_tables(ctx, f, summ, points)
    left, right = st.columns(2)
    with left:
        trend(ctx, f)
    with right:
        compare_models(ctx, f)
    station_load(ctx, f, summ, points)
    stations_section(ctx, f)
    sites = siting(ctx, f)
    with map_slot:
        coverage_map(ctx, f, sites)


run_page(body, "page_circle", "circle_caption")
