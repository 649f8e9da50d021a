"""The Funds page's score sections: composite scores with their change, the indicators behind them, and how
robust the ranking is (Monte Carlo rank bands, effective weights, sensitivity)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from i18n import fmt_month
from queries import funds
from scoring import NORMALISATIONS, Scheme, effective_weights, rank_uncertainty, sensitivity
from ui import charts_funds as charts
from ui.common import Ctx, download_csv, query, url_widget
from ui.funds_whatif import arrow, scheme_label

RUNS = 1000


def scores_section(ctx: Ctx, f: dict[str, Any], sc: pd.DataFrame, has_prev: bool, scheme: Scheme) -> None:
    st.subheader(ctx.t("funds_scores", year=f["year"], scheme=scheme_label(ctx, scheme.name)))
    if f["district"] and f["district"] in set(sc["area_code"]):
        row = sc[sc["area_code"] == f["district"]].iloc[0]
        cols = st.columns(4)
        cols[0].metric(
            ctx.t("funds_col_score"),
            "—" if pd.isna(row["score"]) else f"{row['score']:.1f}",
            delta=None if pd.isna(row["score_change"]) else f"{row['score_change']:+.1f}",
        )
        cols[1].metric(
            ctx.t("funds_col_rank"),
            "—" if pd.isna(row["rank"]) else int(row["rank"]),
            delta=None if pd.isna(row["rank_change"]) else arrow(row["rank_change"]),
            delta_color="off",
        )
        if "grade" in sc.columns:
            grade = row["grade"]
            cols[2].metric(ctx.t("funds_col_grade"), ctx.t(f"funds_grade_{grade}") if grade else "—")
        cols[3].metric(ctx.t("funds_col_district"), f["d_names"].get(f["district"], f["district"]))
    ordered = sc.sort_values(["rank", "area_code"], na_position="last")
    table = pd.DataFrame(
        {
            ctx.t("funds_col_rank"): ordered["rank"],
            ctx.t("funds_col_district"): [
                f"★ {a}" if c == f["district"] else a
                for a, c in zip(ordered["area"], ordered["area_code"], strict=True)
            ],
            ctx.t("funds_col_score"): ordered["score"].round(2),
        }
    )
    if "grade" in ordered.columns:
        table[ctx.t("funds_col_grade")] = ordered["grade"].map(
            lambda g: ctx.t(f"funds_grade_{g}") if isinstance(g, str) and g else "—"
        )
    if has_prev:
        table[ctx.t("funds_col_score_change")] = [
            "—" if pd.isna(v) else f"{'▲' if v > 0 else ('▼' if v < 0 else '')}{abs(v):.1f}"
            for v in ordered["score_change"]
        ]
        table[ctx.t("funds_col_rank_change")] = [arrow(v) for v in ordered["rank_change"]]
    table[ctx.t("funds_col_missing")] = [missing_text(ctx, f, str(m), scheme) for m in ordered["missing"]]
    left, right = st.columns([3, 2])
    left.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="fu_scores",
        column_config={ctx.t("funds_col_score"): st.column_config.NumberColumn(format="%.1f")},
    )
    if has_prev:
        left.caption(
            ctx.t("funds_yoy_note", prev=f["year"] - 1, month=fmt_month(f["year"] - 1, f["month"], ctx.lang))
        )
    else:
        left.caption(ctx.t("funds_no_prev"))
    right.altair_chart(
        charts.score_bars(
            sc,
            {
                "score": ctx.t("funds_col_score"),
                "area": ctx.t("funds_col_district"),
                "rank": ctx.t("funds_col_rank"),
            },
            f["district"] or None,
        ),
        width="stretch",
    )
    download_csv(
        ordered.drop(columns=[c for c in ordered.columns if c.startswith("norm_")]),
        f"fund-scores-{scheme.name}-{f['year']}-{f['month']:02d}",
        ctx.lang,
        key="fu_dl_scores",
    )


def missing_text(ctx: Ctx, f: dict[str, Any], missing: str, scheme: Scheme) -> str:
    """The score's missing-indicator note in the page's language: indicator names and the rule applied."""
    codes = [part.split(" (")[0] for part in missing.split(", ") if part]
    if not codes:
        return "—"
    names = "、".join(f["ind_names"].get(c, c) for c in codes)
    return f"{names}（{ctx.t(f'funds_missing_{scheme.missing}')}）"


def indicators_section(ctx: Ctx, f: dict[str, Any], ind: pd.DataFrame, scheme: Scheme) -> None:
    with st.expander(ctx.t("funds_indicators_title", month=fmt_month(f["year"], f["month"], ctx.lang))):
        st.caption(ctx.t("funds_indicators_help"))
        # the indicators only: the n_* columns are the counts suppression reads, not figures to show
        ind = ind[["area_code", *funds.INDICATOR_COLUMNS]]
        shown = ind.assign(area_code=ind["area_code"].map(f["d_names"]).fillna(ind["area_code"]))
        shown = shown.rename(columns={"area_code": ctx.t("funds_col_district")})
        shown = shown.rename(columns={c: f["ind_names"].get(c, c) for c in funds.INDICATOR_COLUMNS})
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            key="fu_indicators",
            column_config={
                f["ind_names"].get(c, c): st.column_config.NumberColumn(
                    format="%.2f" if c.endswith("_pct") else "%,.0f"
                )
                for c in funds.INDICATOR_COLUMNS
            },
        )
        cats = query(funds.subsidies_by_category, f["year"], f["month"])
        if not cats.empty:
            st.markdown(f"**{ctx.t('funds_by_category')}**")
            cats = cats.assign(
                area=cats["area_code"].map(f["d_names"]).fillna(cats["area_code"]),
                category=cats["category"].map(lambda c: ctx.t(f"funds_cat_{c}")),
            )
            st.altair_chart(
                charts.category_bars(
                    cats,
                    {
                        "amount": ctx.t("funds_spending_yuan"),
                        "category": ctx.t("funds_category"),
                        "area": ctx.t("funds_col_district"),
                    },
                ),
                width="stretch",
            )


# --- robustness ----------------------------------------------------------------------------------------------


def driver_text(ctx: Ctx, row: dict[str, Any], names: dict[str, str]) -> str:
    kind, scenario = row["kind"], str(row["driver"])
    if row["driver"] == "unscored":
        return ctx.t("funds_driver_unscored")
    if kind == "weight":
        return ctx.t(
            "funds_driver_weight", indicator=names.get(row["code"], row["code"]), change=scenario.split()[-1]
        )
    if kind == "normalisation":
        return ctx.t("funds_driver_norm", method=ctx.t("funds_norm_" + scenario.split()[-1]))
    if kind == "aggregation":
        return ctx.t("funds_driver_agg", method=ctx.t("funds_agg_" + scenario.split()[-1]))
    return ctx.t("funds_driver_none")


def robustness_section(
    ctx: Ctx, f: dict[str, Any], ind: pd.DataFrame, scheme: Scheme, sc: pd.DataFrame
) -> tuple[float, list[str]]:
    st.subheader(ctx.t("funds_robustness"))
    c1, c2 = st.columns([1, 2])
    noise_pct = url_widget(  # in the URL: the split's band depends on it too
        c1.select_slider, ctx.t("funds_noise"), list(range(0, 55, 5)), "noise", default=25,
        format_func=lambda v: f"±{v}%",
    )  # fmt: skip
    alts = c2.multiselect(
        ctx.t("funds_alt_norms"),
        list(NORMALISATIONS),
        default=["minmax", "rank"],
        key="fu_alts",
        format_func=lambda m: ctx.t(f"funds_norm_{m}"),
    )
    noise = noise_pct / 100
    st.caption(ctx.t("funds_mc_help", runs=RUNS, noise=noise_pct))
    names = f["ind_names"]
    try:
        bands = rank_uncertainty(ind, scheme, runs=RUNS, noise=noise, normalisations=alts, seed=0)
    except ValueError as exc:
        st.warning(ctx.t("funds_mc_failed", error=str(exc)))
        return noise, alts
    bands["area"] = bands["area_code"].map(f["d_names"]).fillna(bands["area_code"])
    left, right = st.columns(2)
    left.markdown(f"**{ctx.t('funds_rank_bands')}**")
    left.altair_chart(
        charts.rank_bands(
            bands,
            {
                "area": ctx.t("funds_col_district"),
                "rank": ctx.t("funds_col_rank"),
                "rank_nominal": ctx.t("funds_rank_nominal"),
                "rank_median": ctx.t("funds_rank_median"),
                "rank_p05": ctx.t("funds_p05"),
                "rank_p95": ctx.t("funds_p95"),
            },
            f["district"] or None,
        ),
        width="stretch",
    )
    left.caption(ctx.t("funds_rank_bands_help"))
    eff = effective_weights(ind, scheme)
    long = pd.concat(
        [
            pd.DataFrame(
                {"code": eff["code"], "kind": ctx.t("funds_nominal_weight"), "weight": eff["nominal_weight"]}
            ),
            pd.DataFrame(
                {
                    "code": eff["code"],
                    "kind": ctx.t("funds_effective_weight"),
                    "weight": eff["effective_weight"],
                }
            ),
        ]
    )
    long["indicator"] = long["code"].map(names).fillna(long["code"])
    right.markdown(f"**{ctx.t('funds_weights')}**")
    right.altair_chart(
        charts.weight_bars(
            long, {"weight": ctx.t("funds_col_weight"), "indicator": ctx.t("funds_col_indicator")}
        ),
        width="stretch",
    )
    right.caption(ctx.t("funds_weights_help"))
    try:
        sens = sensitivity(
            ind, scheme, weight_change=noise, normalisations=alts or ("minmax", "zscore", "rank")
        )
    except ValueError as exc:
        st.caption(ctx.t("funds_mc_failed", error=str(exc)))
        return noise, alts
    sens = sens.merge(bands[["area_code", "rank_median", "rank_p05", "rank_p95"]], on="area_code", how="left")
    sens = sens.sort_values(["rank_nominal", "area_code"], na_position="last")
    st.markdown(f"**{ctx.t('funds_sensitivity')}**")
    st.dataframe(
        pd.DataFrame(
            {
                ctx.t("funds_col_district"): sens["area_code"].map(f["d_names"]).fillna(sens["area_code"]),
                ctx.t("funds_rank_nominal"): sens["rank_nominal"],
                ctx.t("funds_rank_band"): [
                    "—" if pd.isna(a) else f"{a:.0f}–{b:.0f}"
                    for a, b in zip(sens["rank_p05"], sens["rank_p95"], strict=True)
                ],
                ctx.t("funds_driver"): [driver_text(ctx, r, names) for r in sens.to_dict("records")],
                ctx.t("funds_shift"): [arrow(-v) if not pd.isna(v) else "—" for v in sens["rank_shift"]],
                ctx.t("funds_rank_at_max"): sens["rank_at_max"],
            }
        ),
        hide_index=True,
        width="stretch",
        key="fu_sensitivity",
    )
    st.caption(ctx.t("funds_sensitivity_help", change=noise_pct))
    return noise, alts
