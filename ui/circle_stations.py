"""The Service circle page's station sections (issue #17): which station types count (partners in or out, and the
official rule beside it), staff and floor area against the standard, staff per 10,000 residents, the free
services per station with full-service coverage, and coverage of the population projected five years ahead.

Figures come from ``figures.stations`` (rules and standards: ``store/stations.py``; seed clauses quoted in
docs/service-circle-page.md, "Stations").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from figures import stations as fs
from figures.rules import CoverageRule
from i18n import fmt_int, fmt_pct
from store import stations
from ui.circle_data import OFFICIAL, RURAL_M
from ui.common import Ctx, download_csv, figure


def counted_types(ctx: Ctx, container: Any) -> tuple[str, ...]:
    """The partner toggle (default: the official rule) and the station types counted on the page."""
    partners = container.toggle(
        ctx.t("circle_partners"),
        value=OFFICIAL.partners_counted,
        key="cc_partners",
        help=ctx.t("circle_partners_help"),
    )
    return fs.with_partners(OFFICIAL, bool(partners)).station_types


def type_names(ctx: Ctx, types: tuple[str, ...]) -> str:
    sep = "、" if ctx.lang == "zh" else ", "
    return sep.join(ctx.t(f"circle_level_{code}") for code in types)


def rule_note(ctx: Ctx, types: tuple[str, ...]) -> str:
    """Which station types the page counts, and the official figure's (the Overview's) types."""
    note = ctx.t("circle_types_counted", types=type_names(ctx, types))
    if tuple(sorted(types)) == tuple(sorted(OFFICIAL.station_types)):
        return note + " " + ctx.t("circle_types_official_same")
    return note + " " + ctx.t("circle_types_official", types=type_names(ctx, OFFICIAL.station_types))


def page_rule(f: dict[str, Any]) -> CoverageRule:
    """The page's settings as a coverage rule (straight-line model)."""
    return CoverageRule(
        minutes=float(f["minutes"]),
        speed_kmh=float(f["speed"]),
        circuity=float(f["circuity"]),
        rural_distance_m=RURAL_M if f["rural"] else None,
        station_types=tuple(f["src"][2]),
    )


def _scope_row(by: pd.DataFrame, district: str) -> tuple[float, float]:
    """(covered people, people) of the district, or of all rows."""
    rows = by[by["area_code"] == district] if district else by
    return float(rows["covered_people"].sum()), float(rows["people"].sum())


def _share(covered: float, people: float) -> float:
    return covered / people if people > 0 else float("nan")


def stations_section(ctx: Ctx, f: dict[str, Any]) -> None:
    st.subheader(ctx.t("circle_stations"))
    rule = page_rule(f)
    table = figure(fs.station_table, rule, f["as_of"])
    staff = figure(fs.staffing, rule, f["as_of"]).set_index("area_code")
    full = figure(fs.full_service_coverage, rule, f["as_of"])
    code = f["district"]
    if code:
        table = table[table["district_code"] == code]
    any_c, people = _scope_row(full["any"]["by_district"], code)
    full_c, _ = _scope_row(full["full"]["by_district"], code)
    per = staff["staff_per_10k"].get(code or "", np.nan)
    c = st.columns(4)
    c[0].metric(
        ctx.t("circle_staff_per_10k"),
        "—" if pd.isna(per) else f"{per:.1f}",
        help=ctx.t("circle_staff_per_10k_help"),
    )
    c[1].metric(
        ctx.t("circle_below_standard"),
        f"{fmt_int(int(table['below_standard'].sum()), ctx.lang)} / {fmt_int(len(table), ctx.lang)}",
        help=ctx.t("circle_below_standard_help"),
    )
    c[2].metric(ctx.t("circle_any_coverage"), fmt_pct(_share(any_c, people)))
    c[3].metric(
        ctx.t("circle_full_coverage"),
        fmt_pct(_share(full_c, people)),
        help=ctx.t("circle_full_coverage_help", n=len(stations.ITEM_CODES)),
    )
    name_col = f["name_col"]
    shown = pd.DataFrame(
        {
            ctx.t("circle_station"): table[name_col],
            ctx.t("circle_district"): table["district_code"].map(f["d_names"]),
            ctx.t("circle_level"): [ctx.t("circle_level_" + lv) for lv in table["level"]],
            ctx.t("circle_staff"): table["staff"],
            ctx.t("circle_min_staff"): table["min_staff"],
            ctx.t("circle_floor"): table["floor_area_m2"],
            ctx.t("circle_min_floor"): table["min_floor_m2"],
            ctx.t("circle_items"): table["items_offered"],
            ctx.t("circle_full_service"): table["full_service"],
            ctx.t("circle_below"): table["below_standard"],
        }
    ).sort_values([ctx.t("circle_below"), ctx.t("circle_items")], ascending=[False, True])
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=320,
        key="cc_stations",
        column_config={
            ctx.t("circle_floor"): st.column_config.NumberColumn(format="%.0f"),
            ctx.t("circle_min_floor"): st.column_config.NumberColumn(format="%.0f"),
        },
    )
    st.caption(ctx.t("circle_standards_caption"))
    download_csv(shown, "service-circle-stations", ctx.lang, key="cc_dl_stations")
    with st.expander(ctx.t("circle_items_table")):
        items(ctx, f, rule, table)
    with st.expander(ctx.t("circle_staffing_table")):
        staffing(ctx, f, staff)
    projection(ctx, f, rule)


def items(ctx: Ctx, f: dict[str, Any], rule: CoverageRule, table: pd.DataFrame) -> None:
    """Yes/no per station and free service (seed 004's annex)."""
    matrix = figure(fs.item_matrix, rule, f["as_of"]).reindex(table["point_id"])
    name = "name_zh" if ctx.lang == "zh" else "name_en"
    labels = {i.code: getattr(i, name) for i in stations.SERVICE_ITEMS}
    shown = matrix.rename(columns=labels)
    shown.insert(0, ctx.t("circle_station"), table[f["name_col"]].to_numpy())
    st.dataframe(shown, hide_index=True, width="stretch", height=300, key="cc_items")
    st.caption(ctx.t("circle_items_caption"))
    download_csv(shown, "service-circle-services", ctx.lang, key="cc_dl_items")


def staffing(ctx: Ctx, f: dict[str, Any], staff: pd.DataFrame) -> None:
    frame = staff.reset_index()
    frame = frame[frame["area_code"] != ""]
    shown = pd.DataFrame(
        {
            ctx.t("col_area"): frame["area_code"].map(f["d_names"]),
            ctx.t("circle_stations_open"): frame["stations"],
            ctx.t("circle_staff"): frame["staff"],
            ctx.t("circle_people"): frame["population"],
            ctx.t("circle_staff_per_10k"): frame["staff_per_10k"],
        }
    ).sort_values(ctx.t("circle_staff_per_10k"))
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="cc_staffing",
        column_config={
            ctx.t("circle_people"): st.column_config.NumberColumn(format="localized"),
            ctx.t("circle_staff_per_10k"): st.column_config.NumberColumn(format="%.2f"),
        },
    )


def projection(ctx: Ctx, f: dict[str, Any], rule: CoverageRule) -> None:
    """Coverage of today's residents and of those projected five years ahead (census growth per district)."""
    st.subheader(ctx.t("circle_projection", years=fs.HORIZON_YEARS))
    got = figure(fs.projected_coverage, rule, f["as_of"])
    now, ahead = got["now"]["by_district"], got["projected"]["by_district"]
    rates = got["rates"].set_index("district_code")["annual_growth"]
    frame = pd.DataFrame(
        {
            ctx.t("col_area"): now["area_code"].map(f["d_names"]),
            ctx.t("circle_growth"): now["area_code"].map(rates),
            ctx.t("circle_people"): now["people"],
            ctx.t("circle_people_projected"): ahead["people"].round(0),
            ctx.t("circle_covered_share"): now["covered_share"],
            ctx.t("circle_share_projected"): ahead["covered_share"],
        }
    )
    if f["district"]:
        frame = frame[now["area_code"].to_numpy() == f["district"]]
    c = st.columns(2)
    covered_now, people_now = _scope_row(now, f["district"])
    covered_ahead, people_ahead = _scope_row(ahead, f["district"])
    c[0].metric(ctx.t("circle_covered_share"), fmt_pct(_share(covered_now, people_now)))
    c[1].metric(
        ctx.t("circle_share_projected"),
        fmt_pct(_share(covered_ahead, people_ahead)),
        help=ctx.t("circle_people_projected_help", people=fmt_int(people_ahead, ctx.lang)),
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        key="cc_projection",
        column_config={
            ctx.t("circle_growth"): st.column_config.NumberColumn(format="percent"),
            ctx.t("circle_people"): st.column_config.NumberColumn(format="localized"),
            ctx.t("circle_people_projected"): st.column_config.NumberColumn(format="localized"),
            ctx.t("circle_covered_share"): st.column_config.NumberColumn(format="percent"),
            ctx.t("circle_share_projected"): st.column_config.NumberColumn(format="percent"),
        },
    )
    st.caption(ctx.t("circle_projection_caption", years=fs.HORIZON_YEARS))
