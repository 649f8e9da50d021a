"""Overview: how are we doing, on one screen."""

from __future__ import annotations

import streamlit as st

from i18n import fmt_int, fmt_month, fmt_pct
from queries import targets
from ui.common import Ctx, run_page


def body(ctx: Ctx) -> None:
    year, month = ctx.status.latest_year, ctx.status.latest_month
    assert year is not None and month is not None
    st.caption(ctx.t("as_of", month=fmt_month(year, month, ctx.lang), pace=ctx.t("pace_linear")))
    city = targets.attainment(ctx.engine, year, month, level="city")
    districts = targets.attainment(ctx.engine, year, month)
    cols = st.columns(3)
    new = city[city["indicator_code"] == "urban_new_employment"]
    if not new.empty:
        r = new.iloc[0]
        cols[0].metric(
            ctx.t("tile_new_employment"),
            fmt_int(r["actual"], ctx.lang),
            delta=f"{(r['completion_rate'] - r['time_elapsed_progress']) * 100:+.1f} pp",
            help=ctx.t(
                "tile_new_employment_help",
                target=fmt_int(r["target"], ctx.lang),
                completion=fmt_pct(r["completion_rate"]),
            ),
        )
    rate = city[city["indicator_code"] == "registered_unemployment_rate"]
    if not rate.empty:
        r = rate.iloc[0]
        cols[1].metric(
            ctx.t("tile_rate"),
            f"{r['actual']:.2f}%",
            delta=f"{-r['margin_pp']:+.2f} pp",
            delta_color="inverse",
            help=ctx.t("tile_rate_help", line=f"{r['target']:.1f}%"),
        )
    behind = districts[
        (districts["indicator_code"] == "urban_new_employment") & (districts["status"] == "red")
    ]
    cols[2].metric(ctx.t("tile_behind"), len(behind))
    if not behind.empty:
        names = behind["name_zh" if ctx.lang == "zh" else "name_en"]
        cols[2].caption("、".join(names) if ctx.lang == "zh" else ", ".join(names))
    st.page_link(
        "pages/targets.py",
        label=ctx.t("open_targets"),
        icon=":material/flag:",
        query_params={"year": year, "month": month},
    )


run_page(body, "page_overview")
