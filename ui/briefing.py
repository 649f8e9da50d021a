"""The briefing box on the Overview and the chance's backtest record (figures.briefing, figures.chance)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import figures.briefing
import figures.chance
from figures.rules import rules
from i18n import fmt_int
from queries import meta
from ui.common import Ctx, figure, query


def briefing_box(ctx: Ctx, year: int, month: int) -> figures.briefing.Briefing:
    """The written briefing of ``month`` (a planner's covers their district only), each number a link."""
    scope = None if ctx.user.city_wide else str(ctx.user.district_code)
    brief = figure(figures.briefing.briefing, rules(), year, month, ctx.lang, scope)
    with st.container(border=True):
        st.markdown(f"**{ctx.t('brief_title')}**")
        st.markdown(brief.markdown())
        st.caption(ctx.t("brief_caption"))
    return brief  # type: ignore[no-any-return]


def chance_text(ctx: Ctx, chance: float | None, target: float) -> str | None:
    """'35 % chance of reaching 32,400 by December', or None when there is no chance to state."""
    if chance is None or chance != chance:
        return None
    return ctx.t("chance_sentence", p=figures.chance.percent(float(chance)), target=fmt_int(target, ctx.lang))


def record_expander(ctx: Ctx) -> None:
    """The chance's backtest record behind a click: Brier score per month-end against the simple pace rule,
    and the reliability table."""
    with st.expander(ctx.t("chance_record_title")):
        found = figures.chance.records()
        if not found:
            st.caption(ctx.t("chance_record_none"))
            return
        inds = query(meta.indicators, "target")
        names = dict(zip(inds["code"], inds["name_zh" if ctx.lang == "zh" else "name_en"], strict=True))
        for rec in found:
            st.markdown(f"**{names.get(rec['indicator'], rec['indicator'])}**")
            _record_tables(ctx, rec)


def _record_tables(ctx: Ctx, rec: dict) -> None:
    """One indicator's record: the Brier table and the reliability table."""
    st.caption(
        ctx.t(
            "chance_record_text",
            areas=rec["areas"],
            years=", ".join(str(y) for y in rec["years"]),
            cases=rec["cases"],
        )
    )
    brier = pd.DataFrame(rec["brier"])
    brier["month"] = brier["month"].map(lambda m: ctx.t("chance_all") if m == "all" else str(m))
    st.dataframe(
        brier.rename(
            columns={
                "month": ctx.t("chance_col_month"),
                "cases": ctx.t("chance_col_cases"),
                "brier": ctx.t("chance_col_brier"),
                "brier_naive": ctx.t("chance_col_naive"),
            }
        )[
            [
                ctx.t("chance_col_month"),
                ctx.t("chance_col_cases"),
                ctx.t("chance_col_brier"),
                ctx.t("chance_col_naive"),
            ]
        ],
        hide_index=True,
    )
    rel = pd.DataFrame(rec["reliability"])
    st.dataframe(
        rel.rename(
            columns={
                "decile": ctx.t("chance_col_decile"),
                "cases": ctx.t("chance_col_cases"),
                "stated": ctx.t("chance_col_stated"),
                "observed": ctx.t("chance_col_observed"),
            }
        )[
            [
                ctx.t("chance_col_decile"),
                ctx.t("chance_col_cases"),
                ctx.t("chance_col_stated"),
                ctx.t("chance_col_observed"),
            ]
        ],
        hide_index=True,
    )
