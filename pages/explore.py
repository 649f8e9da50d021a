"""Explore (自助分析): a planner picks a measure, up to two dimensions, a time grain and filters, and gets a chart,
a pivot table and CSV / Excel downloads. The whole view lives in the URL so that it can be sent to a colleague:
``?measure=…&rows=…&cols=…&grain=…&area_level=…&from=…&to=…&districts=420102,420103``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from i18n import t
from queries import explore, meta
from ui import charts_overview as charts
from ui.common import Ctx, district_choices, download_csv, lang, query, run_page, url_widget
from ui.downloads import download_button
from ui.periods import is_partial, latest_of, period_label, pivot_workbook, with_totals

DEFAULT_MEASURE = "urban_new_employment"


def url_multiselect(box: Any, label: str, options: list[str], key: str, **kwargs: Any) -> list[str]:
    """A multi-select whose value lives in the URL as a comma-separated list of codes.

    Every code from the URL is checked against ``options``; unknown ones are dropped (and reported), never passed
    on. A link that changes the URL wins over the selection remembered in the session.
    """
    raw = st.query_params.get(key)
    synced = st.session_state.get(f"_url_{key}")
    if raw is not None and raw != synced:
        codes = [c.strip() for c in raw.split(",") if c.strip()]
        good = list(dict.fromkeys(c for c in codes if c in options))
        if len(good) != len(codes):
            st.toast(t("explore_bad_codes", lang(), name=key, value=raw[:40]), icon=":material/link_off:")
        st.session_state[key] = good
    else:
        current = st.session_state.get(key) or []
        st.session_state[key] = [c for c in current if c in options]
    value = list(box.multiselect(label, options, key=key, **kwargs))
    if value:
        st.query_params[key] = ",".join(value)
    elif key in st.query_params:
        del st.query_params[key]
    st.session_state[f"_url_{key}"] = ",".join(value) if value else None
    return value


def filters(ctx: Ctx) -> dict[str, Any]:
    """Measure, dimensions, grain, area level, years and districts, all in the URL (by code)."""
    name_col = "name_zh" if ctx.lang == "zh" else "name_en"
    measures = query(explore.measures)
    m_names = dict(zip(measures["code"], measures[name_col], strict=True))
    m_names[explore.SERVICE_POINTS] = ctx.t("explore_measure_service_points")
    kinds = dict(zip(measures["code"], measures["kind"], strict=True))
    units = dict(zip(measures["code"], measures["unit"], strict=True))
    top = st.columns([2.4, 1.3, 1.3, 2.0])
    low = st.columns([1.6, 1, 1, 4])
    measure = url_widget(
        top[0].selectbox,
        ctx.t("explore_measure"),
        list(m_names),
        "measure",
        default=DEFAULT_MEASURE,
        format_func=m_names.get,
    )
    dims = explore.dimensions_for(measure)

    def dim_name(d: str) -> str:
        return ctx.t("explore_dim_" + d) if d else ctx.t("explore_dim_none")

    rows = url_widget(
        top[1].selectbox, ctx.t("explore_rows"), dims, "rows", default="area", format_func=dim_name
    )
    col_options = ["", *[d for d in dims if d != rows]]
    columns = url_widget(
        top[2].selectbox,
        ctx.t("explore_columns"),
        col_options,
        "cols",
        default="period" if rows != "period" else "",
        format_func=dim_name,
    )
    grain = url_widget(
        top[3].segmented_control,
        ctx.t("explore_grain"),
        list(explore.GRAINS),
        "grain",
        default="year",
        format_func=lambda g: ctx.t("explore_grain_" + g),
    )
    level = url_widget(
        low[0].segmented_control,
        ctx.t("explore_level"),
        list(explore.LEVELS),
        "area_level",
        default="district",
        format_func=lambda v: ctx.t("explore_level_" + v),
    )
    years = sorted(query(meta.years_available))
    districts = query(meta.areas, "district")
    d_names = dict(zip(districts["area_code"], districts[name_col], strict=True))
    first = url_widget(
        low[1].selectbox, ctx.t("explore_from"), years, "from", default=years[max(len(years) - 3, 0)]
    )
    last = url_widget(low[2].selectbox, ctx.t("explore_to"), years, "to", default=years[-1])
    if first > last:
        first, last = last, first
    chosen = url_multiselect(
        low[3],
        ctx.t("explore_districts"),
        district_choices(ctx, list(d_names), allow_all=False),
        "districts",
        format_func=lambda c: d_names.get(c, c),
        placeholder=ctx.t("all_districts"),
    )
    return dict(
        measure=measure,
        rows=rows,
        columns=columns or None,
        grain=grain,
        level=level,
        years=(int(first), int(last)),
        districts=tuple(chosen),
        kind=kinds.get(measure, "flow"),
        unit=units.get(measure, ""),
        m_name=m_names[measure],
        dim_name=dim_name,
        name_col=name_col,
    )


def labeller(ctx: Ctx, f: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Code → display name for each dimension's values (periods are shown as they are)."""
    areas = query(meta.areas, f["level"])
    return {
        "area": dict(zip(areas["area_code"], areas[f["name_col"]], strict=True))
        | {"None": ctx.t("explore_no_street")},
        "group": {
            g: ctx.t("group_" + g)
            for g in ("registered_unemployed", "difficulty", "graduate", "rural_labour", "other")
        },
        "sp_level": {v: ctx.t("explore_sp_" + v) for v in explore.SP_LEVELS},
    }


def display_pivot(long: pd.DataFrame, f: dict[str, Any], names: dict[str, dict[str, str]]) -> pd.DataFrame:
    """The pivot with display names, its row dimension as the first column.

    A cell with no record is 0 for flows and counts (nothing happened); a cell hidden by small-count suppression
    stays empty.
    """
    wide = explore.pivot(long, f["rows"], f["columns"])
    if f["kind"] in ("flow", "stock"):
        wide = wide.fillna(0.0)
        if "suppressed" in long.columns:
            hidden = explore.pivot(
                long.assign(h=long["suppressed"].astype(float)), f["rows"], f["columns"], "h"
            )
            wide = wide.mask(hidden.fillna(0.0).to_numpy() > 0)  # same rows and columns as ``wide``
    wide.index = [names.get(f["rows"], {}).get(str(v), str(v)) for v in wide.index]
    if f["columns"] is None:
        wide.columns = [f["m_name"]]
    else:
        wide.columns = [names.get(f["columns"], {}).get(str(v), str(v)) for v in wide.columns]
    wide.index.name = f["dim_name"](f["rows"])
    return with_totals(wide.reset_index(), f["kind"], t("explore_total", lang()))


def number_format(unit: str) -> str:
    return {"pct": "%.2f", "yes_no": "%.0f"}.get(unit, "localized")


def body(ctx: Ctx) -> None:
    f = filters(ctx)
    long = query(
        explore.explore,
        f["measure"],
        f["rows"],
        f["columns"],
        f["grain"],
        f["years"],
        f["districts"] or None,
        f["level"],
    )
    st.caption(ctx.t("explore_rule_" + f["kind"]) + " " + ctx.t("explore_share_hint"))
    if long.empty:
        st.info(ctx.t("no_rows"))
        return
    names = labeller(ctx, f)
    latest = latest_of(ctx.status)
    if "period" in long.columns:  # 2026年第3季度; the quarter the data stop in is marked partial
        names["period"] = {p: period_label(p, ctx.lang, latest) for p in long["period"].astype(str).unique()}
        if any(is_partial(p, latest) for p in names["period"]):
            st.caption(ctx.t("explore_partial_note"))
    dims = [d for d in (f["rows"], f["columns"]) if d]
    shown = long.copy()
    for d in dims:
        shown[d] = [names.get(d, {}).get(str(v), str(v)) for v in shown[d]]
    x = "period" if "period" in dims else f["rows"]
    color = next((d for d in dims if d != x), None)
    labels = {d: f["dim_name"](d) for d in dims} | {"value": f["m_name"]}
    st.altair_chart(charts.explore_chart(shown, x, color, labels, line=(x == "period")), width="stretch")
    table = display_pivot(long, f, names)
    if "suppressed" in long.columns and long["suppressed"].any():
        st.caption(ctx.t("explore_suppressed", n=int(long["suppressed"].sum())))
    fmt = number_format(f["unit"])
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="ex_pivot",
        column_config={c: st.column_config.NumberColumn(format=fmt) for c in table.columns[1:]},
    )
    name = f"explore-{f['measure']}-{f['grain']}-{f['years'][0]}-{f['years'][1]}"
    about = [
        (ctx.t("explore_measure"), f["m_name"]),
        (ctx.t("explore_rows"), f["dim_name"](f["rows"])),
        (ctx.t("explore_columns"), f["dim_name"](f["columns"] or "")),
        (ctx.t("explore_grain"), ctx.t("explore_grain_" + f["grain"])),
        (ctx.t("explore_level"), ctx.t("explore_level_" + f["level"])),
        (ctx.t("explore_from"), str(f["years"][0])),
        (ctx.t("explore_to"), str(f["years"][1])),
        (ctx.t("explore_districts"), ",".join(f["districts"]) or ctx.t("all_districts")),
        (ctx.t("explore_rule"), ctx.t("explore_rule_" + f["kind"])),
        (ctx.t("explore_cut_off"), str(ctx.status.cut_off)),
    ]
    left, right = st.columns(2)
    with left:
        download_csv(table, name, ctx.lang, key="ex_dl_csv")
    download_button(
        ctx.t("explore_download_xlsx"),
        lambda: pivot_workbook(table, about, f["unit"], ctx.lang),
        file_name=f"{name}-{datetime.now():%Y%m%d}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="ex_dl_xlsx",
        export=f"xlsx:{name}",
        icon=":material/table_view:",
        container=right,
    )


run_page(body, "page_explore", "explore_caption")
