"""Targets page section: the district cards, weighted by zone (seed 002 §四(一)), with their rule beside them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import figures.targets
from ui.common import Ctx, query

CARD_MD = {"green": ":green[●]", "yellow": ":orange[●]", "red": ":red[●]"}  # no emoji: fonts vary


def card_label(ctx: Ctx, card: str | None) -> str:
    """ "● name" of a card in the page's language; a card resting on hidden figures only has none."""
    return f"● {ctx.t('status_' + (card or 'withheld'))}"


def cards_table(ctx: Ctx, cards: pd.DataFrame, name_col: str) -> pd.DataFrame:
    """The cards as the page shows them: district, zone, weighted score, card, indicators by status."""
    ordered = cards.sort_values(["score", "area_code"], ascending=[False, True], na_position="last")
    return pd.DataFrame(
        {
            ctx.t("col_area"): ordered[name_col],
            ctx.t("col_zone"): ordered["zone"].map(lambda z: ctx.t(f"zone_{z}")),
            ctx.t("card_col_score"): ordered["score"],
            ctx.t("card_col_card"): [card_label(ctx, c) for c in ordered["card"]],
            ctx.t("card_col_counts"): [
                ctx.t("card_counts", green=g, yellow=y, red=r)
                for g, y, r in zip(ordered["n_green"], ordered["n_yellow"], ordered["n_red"], strict=True)
            ],
            ctx.t("card_col_withheld"): ordered["weight_withheld_pct"],
        }
    )


def weights_table(ctx: Ctx, weights: pd.DataFrame, ind_names: dict[str, str]) -> pd.DataFrame:
    """The bureau's weights: one row per indicator, a column of points per zone, the pace line, the core mark."""
    wide = weights.pivot_table(index="indicator_code", columns="zone", values="weight", aggfunc="first")
    first = weights.drop_duplicates("indicator_code").set_index("indicator_code")
    order = list(ind_names)
    wide = wide.reindex([c for c in order if c in wide.index])
    out = pd.DataFrame(
        {
            ctx.t("indicator"): [ind_names.get(c, c) for c in wide.index],
            ctx.t("pace_line"): [ctx.t(f"pace_{first.loc[c, 'pace']}") for c in wide.index],
        }
    )
    for zone in ("central", "outer"):
        if zone in wide.columns:
            out[ctx.t(f"zone_{zone}")] = wide[zone].to_numpy()
    out[ctx.t("card_col_core")] = [
        ctx.t("card_core_mark") if first.loc[c, "core"] else "" for c in wide.index
    ]
    return out


def section(ctx: Ctx, f: dict) -> None:
    """District cards at the filters' month: the table, the rule beside it, the weights behind an expander."""
    rules = f["rules"]
    got, _exceptions, _statuses = figures.targets.cards(query, rules, f["year"], f["month"])  # type: ignore[arg-type]
    st.subheader(ctx.t("cards_title"))
    if got.empty:
        st.info(ctx.t("no_rows"))
        return
    counts = got["card"].value_counts()
    cols = st.columns(3)
    for col, card in zip(cols, ("green", "yellow", "red"), strict=True):
        col.metric(f"{CARD_MD[card]} {ctx.t('card_metric_' + card)}", int(counts.get(card, 0)))
    left, right = st.columns([3, 2])
    left.dataframe(
        cards_table(ctx, got, f["name_col"]),
        hide_index=True,
        width="stretch",
        key="tg_cards",
        column_config={
            ctx.t("card_col_score"): st.column_config.ProgressColumn(
                format="%.0f", min_value=0, max_value=100
            ),
            ctx.t("card_col_withheld"): st.column_config.NumberColumn(
                format="%.0f%%", help=ctx.t("card_col_withheld_help")
            ),
        },
    )
    right.markdown(
        ctx.t("card_rule", green=f"{rules.card_green_score:g}", yellow=f"{rules.card_yellow_score:g}")
    )
    with right.expander(ctx.t("card_weights_title")):
        st.dataframe(
            weights_table(ctx, figures.targets.card_weights(query), f["ind_names"]),  # type: ignore[arg-type]
            hide_index=True,
            width="stretch",
        )
        st.caption(ctx.t("card_weights_note"))
