"""Funds (seed 002 §二): fund-performance scores and how robust they are, the money by source with the 1.5 % rule,
the yearly evaluation, next year's transfer split by the five factors and the guarantee fund (docs/funds.md)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from figures import funds as fund_figures
from figures import schemes as scheme_figures
from queries import funds, meta
from scoring import WUHAN_2009
from ui.common import Ctx, district_choices, figure, fresh, query, run_page, url_widget
from ui.funds_guarantee import evaluation_section, guarantee_section
from ui.funds_scores import indicators_section, robustness_section, scores_section
from ui.funds_split import sources_section, split_section
from ui.funds_whatif import scheme_label, scheme_text, what_if

DEFAULT_SCHEME = "grading_100"


def filters(ctx: Ctx) -> dict[str, Any] | None:
    """Year (of the results), month, scoring scheme and highlighted district, all in the URL."""
    years_df = query(funds.fund_years)
    if years_df.empty:
        st.info(ctx.t("funds_no_allocation"))
        return None
    years = [int(y) for y in years_df["year"]]
    complete = [int(y) for y in years_df.loc[years_df["months"] >= 12, "year"]]
    districts = query(meta.areas, "district")
    name_col = "name_zh" if ctx.lang == "zh" else "name_en"
    d_names = dict(zip(districts["area_code"], districts[name_col], strict=True))
    listed = scheme_figures.list_schemes(fresh)  # not cached: a scheme saved a moment ago must appear
    listed = listed[listed["kind"] == "score"]
    preset = dict(zip(listed["name"], listed["preset"], strict=True))
    cols = st.columns([1, 1, 2, 2])
    year = url_widget(
        cols[0].selectbox, ctx.t("year"), years, "year", default=complete[0] if complete else years[0]
    )
    months = query(meta.months_available, year) or [12]
    month = url_widget(
        cols[1].selectbox, ctx.t("month"), months, "month", default=12 if 12 in months else months[-1]
    )
    scheme_name = url_widget(
        cols[2].selectbox,
        ctx.t("funds_scheme"),
        list(listed["name"]),
        "scheme",
        default=DEFAULT_SCHEME,
        format_func=lambda n: f"🔒 {scheme_label(ctx, n)}" if preset.get(n) else n,
    )
    district = url_widget(
        cols[3].selectbox,
        ctx.t("funds_highlight"),
        district_choices(ctx, list(d_names)),
        "district",
        format_func=lambda c: d_names.get(c, ctx.t("funds_no_highlight")),
    )
    ind_meta = query(meta.indicators)
    ind_names = dict(zip(ind_meta["code"], ind_meta[name_col], strict=True))

    def factor_name(code: str) -> str:
        return ctx.t(f"funds_factor_{code}") if code in WUHAN_2009.codes else ind_names.get(code, code)

    return dict(
        year=year,
        month=month,
        years=years,
        scheme_name=scheme_name,
        district=district,
        d_names=d_names,
        ind_names=ind_names,
        factor_name=factor_name,
    )


def body(ctx: Ctx) -> None:
    f = filters(ctx)
    if f is None:
        return
    try:
        base = scheme_figures.load_scheme(fresh, f["scheme_name"])
    except (KeyError, ValueError) as exc:
        st.warning(ctx.t("funds_scheme_unreadable", name=f["scheme_name"], error=str(exc)))
        base = scheme_figures.load_scheme(fresh, DEFAULT_SCHEME)
    st.caption(scheme_text(ctx, base))
    scheme = what_if(ctx, f, base)
    ind = query(funds.fund_indicators, f["year"], f["month"])
    if ind.empty:
        st.info(ctx.t("funds_no_districts"))
        return
    try:
        sc, has_prev = figure(fund_figures.scores, scheme, f["year"], f["month"], f["years"])
    except ValueError as exc:
        st.warning(ctx.t("funds_score_failed", error=str(exc)))
        return
    sc = sc.assign(area=sc["area_code"].map(f["d_names"]).fillna(sc["area_code"]))
    scores_section(ctx, f, sc, has_prev, scheme)
    indicators_section(ctx, f, ind, scheme)
    noise, _ = robustness_section(ctx, f, ind, scheme, sc)
    src = sources_section(ctx, f)
    assessed = evaluation_section(ctx, f)
    split_section(ctx, f, src, noise, assessed)
    guarantee_section(ctx, f)


run_page(body, "page_funds", "funds_caption")
