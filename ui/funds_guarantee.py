"""The Funds page's guarantee fund (seed 002 §二(四), with the districts' 50 % matching) and the yearly
fund-performance evaluation (§二(五)), whose policy-delivery mark the assessors give in a template."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from figures import funds as fund_figures
from scoring import PRESETS
from scoring.allocation import pot_to_fen
from scoring.funds_methods import EVALUATION_ASPECTS
from ui.common import Ctx, download_csv, figure
from ui.funds_split import WAN, note_text, url_number

TEMPLATE_COLUMNS = ("area_code", "district", "policy_delivery_mark")


def guarantee_section(ctx: Ctx, f: dict[str, Any]) -> None:
    """The city's guarantee-fund subsidy by five indicators as shares of the city total, and each district's 50 %
    matching; the weights are an example, which the page says."""
    year = f["year"]
    scheme = PRESETS["guarantee_fund_5"]
    st.subheader(ctx.t("funds_guarantee", year=year))
    st.caption(ctx.t("funds_scheme_desc_guarantee_fund_5"))
    pot = url_number(ctx, st, ctx.t("funds_guarantee_pot_wan"), "gpot", 1_000.0, step=10.0, format="%.2f")
    try:
        split = figure(fund_figures.guarantee, scheme, year, f["month"], pot * WAN)
    except ValueError as exc:
        st.warning(ctx.t("funds_alloc_infeasible", error=str(exc)), icon=":material/warning:")
        return
    for key, args in split.notes:
        st.caption(note_text(ctx, f, key, args))
    out = split.table.assign(area=lambda d: d["area_code"].map(f["d_names"]).fillna(d["area_code"]))
    out = out.sort_values("amount_yuan", ascending=False)
    parts = {
        ctx.t("funds_gpart", indicator=f["ind_names"].get(c, c), weight=f"{w:.0%}"): out[f"part_{c}"] * 100
        for c, w in scheme.normalised_weights().items()
        if f"part_{c}" in out
    }
    table = pd.DataFrame(
        {
            ctx.t("funds_col_district"): out["area"],
            **parts,
            ctx.t("funds_col_share"): out["share"] * 100,
            ctx.t("funds_col_subsidy_wan"): out["amount_yuan"] / WAN,
            ctx.t("funds_col_matching_wan"): out["matching_yuan"] / WAN,
            ctx.t("funds_col_fund_wan"): out["fund_yuan"] / WAN,
        }
    )
    pct = st.column_config.NumberColumn(format="%.2f%%")
    money = st.column_config.NumberColumn(format="%,.2f")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="fu_guarantee",
        column_config={
            **{c: pct for c in [*parts, ctx.t("funds_col_share")]},
            **{c: money for c in table.columns[-3:]},
        },
    )
    total = int(out["amount_fen"].sum())
    st.caption(
        ctx.t(
            "funds_guarantee_check",
            total=f"{total / 100 / WAN:,.2f}",
            pot=f"{pot_to_fen(pot * WAN) / 100 / WAN:,.2f}",
            matching=f"{out['matching_fen'].sum() / 100 / WAN:,.2f}",
        )
    )
    download_csv(out.drop(columns=["area"]), f"guarantee-fund-{year}", ctx.lang, key="fu_dl_guarantee")


def assessed_marks(ctx: Ctx, f: dict[str, Any]) -> pd.Series | None:
    """The assessors' policy-delivery marks (0–100) from the uploaded template, by district code."""
    blank = pd.DataFrame(
        {
            "area_code": list(f["d_names"]),
            "district": list(f["d_names"].values()),
            "policy_delivery_mark": [None] * len(f["d_names"]),
        }
    )
    download_csv(blank, f"policy-delivery-template-{f['year']}", ctx.lang, key="fu_dl_template")
    upload = st.file_uploader(ctx.t("funds_assessed_upload"), type=["csv"], key="fu_assessed")
    if upload is None:
        return None
    try:
        got = pd.read_csv(upload, dtype={"area_code": str}, encoding="utf-8-sig")
        marks = pd.to_numeric(got["policy_delivery_mark"], errors="coerce")
    except (ValueError, KeyError) as exc:
        st.warning(ctx.t("funds_assessed_bad", error=str(exc)), icon=":material/warning:")
        return None
    bad = got.loc[(marks < 0) | (marks > 100), "area_code"].tolist()
    if bad:
        st.warning(ctx.t("funds_assessed_range", areas="、".join(f["d_names"].get(a, a) for a in bad)))
        return None
    return pd.Series(marks.to_numpy(), index=got["area_code"].astype(str))


def evaluation_section(ctx: Ctx, f: dict[str, Any]) -> pd.Series | None:
    """§二(五)'s yearly evaluation: four aspects of 25 points; policy delivery half measured, half assessed.
    Returns the assessors' marks (the split's performance factor uses the same evaluation)."""
    year = f["year"]
    st.subheader(ctx.t("funds_evaluation", year=year))
    st.caption(ctx.t("funds_evaluation_help"))
    assessed = assessed_marks(ctx, f)
    ev = figure(fund_figures.fund_evaluation, year, f["month"], assessed)
    ev = ev.assign(area=ev["area_code"].map(f["d_names"]).fillna(ev["area_code"])).sort_values(
        "total", ascending=False
    )
    table = pd.DataFrame(
        {
            ctx.t("funds_col_district"): ev["area"],
            **{ctx.t(f"funds_aspect_{a}"): ev[a] for a in EVALUATION_ASPECTS},
            ctx.t("funds_col_total"): ev["total"],
            ctx.t("funds_col_missing"): [
                "、".join(ctx.t(f"funds_measure_{c}") for c in str(m).split(", ") if c) or "—"
                for m in ev["missing"]
            ],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch", key="fu_evaluation")
    st.caption(ctx.t("funds_evaluation_feeds"))
    download_csv(ev.drop(columns=["area"]), f"fund-evaluation-{year}", ctx.lang, key="fu_dl_evaluation")
    return assessed
