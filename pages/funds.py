"""Funds: employment-fund performance scores, how robust they are, and the allocation they imply (就业补助资金绩效)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from figures import schemes as scheme_figures
from i18n import fmt_month, fmt_yuan
from jobs import schemes
from queries import funds, meta
from scoring import (
    AGGREGATIONS,
    DIRECTIONS,
    MISSING_RULES,
    NORMALISATIONS,
    Scheme,
    SchemeError,
    SchemeIndicator,
    allocate,
    allocation_uncertainty,
    effective_weights,
    factor_shares,
    rank_uncertainty,
    score,
    sensitivity,
)
from scoring.allocation import pot_to_fen, water_fill
from store.indicators import BY_CODE
from ui import charts_funds as charts
from ui.common import Ctx, district_choices, download_csv, fresh, query, run_page, url_widget

RUNS = 1000
DEFAULT_SCHEME = "grading_100"
ANONYMOUS = "anonymous (demo)"


def arrow(change: float | None) -> str:
    """▲n for a rise, ▼n for a fall, — for no change or no previous value."""
    if change is None or pd.isna(change) or round(float(change), 6) == 0:
        return "—"
    value = float(change)
    text = f"{abs(value):.0f}" if float(value).is_integer() else f"{abs(value):.1f}"
    return f"▲{text}" if value > 0 else f"▼{text}"


def current_user() -> str:
    """The logged-in user's e-mail or name when authentication is configured, else ``ANONYMOUS``."""
    try:
        if st.user.get("is_logged_in"):
            return str(st.user.get("email") or st.user.get("name") or st.user.get("sub") or ANONYMOUS)
    except Exception:  # st.user is unavailable outside a configured host
        pass
    return ANONYMOUS


def filters(ctx: Ctx) -> dict[str, Any] | None:
    """Year, month, scheme and highlighted district, all in the URL so that a link reproduces the view."""
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
        format_func=lambda n: f"🔒 {n}" if preset.get(n) else n,
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
    return dict(
        year=year,
        month=month,
        years=years,
        scheme_name=scheme_name,
        schemes=listed,
        district=district,
        d_names=d_names,
        ind_names=ind_names,
    )


# --- the what-if editor ---------------------------------------------------------------------------------------


def editor_rows(base: Scheme) -> pd.DataFrame:
    """The scheme's indicators (included) followed by every other available indicator (excluded, weight 0)."""
    rows = [
        dict(
            include=True,
            code=i.code,
            weight=i.weight,
            direction=i.direction,
            normalisation=i.normalisation,
            target=i.target,
            group=i.group or "",
        )
        for i in base.indicators
    ]
    for code in funds.INDICATOR_COLUMNS:
        if code not in base.codes:
            known = BY_CODE.get(code)
            direction = known.direction if known and known.direction in DIRECTIONS else "higher"
            rows.append(
                dict(
                    include=False,
                    code=code,
                    weight=0.0,
                    direction=direction,
                    normalisation="minmax",
                    target=None,
                    group="",
                )
            )
    return pd.DataFrame(rows)


def scheme_from_rows(base: Scheme, name: str, rows: pd.DataFrame, aggregation: str, missing: str) -> Scheme:
    """Build (and so validate) an unlocked scheme from the editor's rows."""
    inds = []
    for r in rows.to_dict("records"):
        if not bool(r.get("include")):
            continue
        target = r.get("target")
        weight = r.get("weight")
        inds.append(
            SchemeIndicator(
                code=str(r["code"]),
                direction=str(r["direction"]),
                normalisation=str(r["normalisation"]),
                weight=float(weight) if weight is not None and not pd.isna(weight) else 0.0,
                target=None if target is None or pd.isna(target) else float(target),
                group=str(r["group"]) if r.get("group") else None,
            )
        )
    return Scheme(
        name=name,
        indicators=tuple(inds),
        description=base.description,
        aggregation=aggregation,
        missing=missing,
        locked=False,
        grade_bands=base.grade_bands,
    )


def what_if(ctx: Ctx, f: dict[str, Any], base: Scheme) -> Scheme:
    """Edit a what-if copy of the chosen scheme; returns the scheme the rest of the page uses."""
    flash = st.session_state.pop("fu_flash", None)
    if flash:
        st.success(flash, icon=":material/save:")
    with st.expander(ctx.t("funds_whatif"), expanded=False):
        st.caption(ctx.t("funds_whatif_help"))
        rows = editor_rows(base).assign(name=lambda d: d["code"].map(f["ind_names"]).fillna(d["code"]))
        rows = rows[["include", "code", "name", "weight", "direction", "normalisation", "target", "group"]]
        edited = st.data_editor(
            rows,
            key=f"fu_editor_{base.name}",
            hide_index=True,
            width="stretch",
            num_rows="fixed",
            disabled=["code", "name"],
            column_config={
                "include": st.column_config.CheckboxColumn(ctx.t("funds_col_include")),
                "code": st.column_config.TextColumn(ctx.t("funds_col_code")),
                "name": st.column_config.TextColumn(ctx.t("funds_col_indicator")),
                "weight": st.column_config.NumberColumn(ctx.t("funds_col_weight"), min_value=0.0, step=0.01),
                "direction": st.column_config.SelectboxColumn(
                    ctx.t("funds_col_direction"), options=list(DIRECTIONS), required=True
                ),
                "normalisation": st.column_config.SelectboxColumn(
                    ctx.t("funds_col_normalisation"), options=list(NORMALISATIONS), required=True
                ),
                "target": st.column_config.NumberColumn(ctx.t("funds_col_target")),
                "group": st.column_config.TextColumn(ctx.t("funds_col_group")),
            },
        )
        c1, c2 = st.columns(2)
        aggregation = c1.selectbox(
            ctx.t("funds_aggregation"),
            list(AGGREGATIONS),
            index=list(AGGREGATIONS).index(base.aggregation),
            key=f"fu_agg_{base.name}",
            format_func=lambda a: ctx.t(f"funds_agg_{a}"),
        )
        missing = c2.selectbox(
            ctx.t("funds_missing_rule"),
            list(MISSING_RULES),
            index=list(MISSING_RULES).index(base.missing),
            key=f"fu_missing_{base.name}",
            format_func=lambda m: ctx.t(f"funds_missing_{m}"),
        )
        try:
            work = scheme_from_rows(base, base.name, edited, aggregation, missing)
        except SchemeError as exc:
            st.warning(ctx.t("funds_invalid_scheme", error=str(exc)), icon=":material/warning:")
            return base
        changed = {**work.to_dict(), "locked": base.locked} != base.to_dict()
        if changed:
            st.info(ctx.t("funds_whatif_active", scheme=base.name), icon=":material/edit:")
        default_name = f"{base.name} what-if {datetime.now():%Y-%m-%d %H:%M}"
        may_save = schemes.may_save(ctx.user.role)  # analysts try what-ifs; leaders and admins keep them
        left, right = st.columns([3, 1])
        name = left.text_input(ctx.t("funds_save_name"), value=default_name, key="fu_save_name", max_chars=64,
                               disabled=not may_save)  # fmt: skip
        right.write("")
        if not may_save:
            st.caption(ctx.t("funds_save_not_for_role"))
        if right.button(ctx.t("funds_save"), key="fu_save", icon=":material/save:", disabled=not may_save):
            user = current_user()
            try:
                saved = scheme_from_rows(base, name, edited, aggregation, missing)
                schemes.save_to_configured_db(saved, user, role=ctx.user.role)
            except schemes.SchemeForbidden:
                st.warning(ctx.t("funds_save_not_for_role"), icon=":material/lock:")
            except ValueError as exc:  # SchemeRefused, SchemeError
                st.warning(ctx.t("funds_save_refused", error=str(exc)), icon=":material/block:")
            else:
                st.session_state["fu_flash"] = ctx.t(
                    "funds_saved", name=name, user=user, when=f"{datetime.now():%Y-%m-%d %H:%M}"
                )
                st.query_params["scheme"] = name
                st.rerun()
    return work


# --- scores --------------------------------------------------------------------------------------------------


def scores_and_changes(
    ctx: Ctx, f: dict[str, Any], ind: pd.DataFrame, scheme: Scheme
) -> tuple[pd.DataFrame, bool]:
    """Nominal scores of the year with the change of score and rank against the same month of the year before."""
    now = score(ind, scheme)
    has_prev = False
    if f["year"] - 1 in f["years"]:
        prev_ind = query(funds.fund_indicators, f["year"] - 1, f["month"])
        if not prev_ind.empty and prev_ind[scheme.codes].notna().any().any():
            try:
                prev = score(prev_ind, scheme)[["area_code", "score", "rank"]]
                now = now.merge(
                    prev.add_suffix("_prev").rename(columns={"area_code_prev": "area_code"}), how="left"
                )
                has_prev = True
            except ValueError:
                has_prev = False
    if not has_prev:
        now["score_prev"] = np.nan
        now["rank_prev"] = pd.array([pd.NA] * len(now), dtype="Int64")
    now["score_change"] = now["score"] - now["score_prev"]
    now["rank_change"] = (now["rank_prev"] - now["rank"]).astype("Float64")  # positive = moved up
    now["area"] = now["area_code"].map(f["d_names"]).fillna(now["area_code"])
    return now, has_prev


def scores_section(ctx: Ctx, f: dict[str, Any], sc: pd.DataFrame, has_prev: bool, scheme: Scheme) -> None:
    st.subheader(ctx.t("funds_scores", year=f["year"], scheme=scheme.name))
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
    table[ctx.t("funds_col_missing")] = ordered["missing"].replace("", "—")
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
    noise_pct = c1.slider(ctx.t("funds_noise"), 0, 50, 25, 5, key="fu_noise", format="±%d%%")
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


# --- allocation ----------------------------------------------------------------------------------------------


def factor_band(
    factors: pd.DataFrame,
    scheme: Scheme,
    inverse: list[str],
    pot: float,
    floor: float | None,
    cap: float | None,
    noise: float,
) -> pd.DataFrame:
    """5th–95th percentile of each district's factor-method amount when every weight varies by ±``noise``.

    Same weight draws as the score Monte Carlo (U(1 − noise, 1 + noise), seed 0, ``RUNS`` runs); amounts are the
    continuous water-filling solution under the same floors and caps (feasibility was checked by ``allocate``).
    """
    codes = list(factors.columns)
    x = factors.to_numpy(float)
    x = np.where([c in inverse for c in codes], 1.0 / x, x)
    parts = x / x.sum(axis=0)  # (districts, factors): each factor's split of the city
    w = np.array([scheme.weights[c] for c in codes])
    rng = np.random.default_rng(0)
    runs_w = w[None, :] * (rng.uniform(1 - noise, 1 + noise, (RUNS, len(codes))) if noise > 0 else 1.0)
    runs_w = runs_w / runs_w.sum(axis=1, keepdims=True)
    shares = runs_w @ parts.T
    n = len(factors)
    lo = np.full(n, np.ceil((floor or 0.0) * 100 - 1e-6))
    hi = np.full(n, np.inf if not cap else np.floor(cap * 100 + 1e-6))
    amounts = water_fill(shares, float(pot_to_fen(pot)), lo, hi) / 100.0
    p05, p95 = np.percentile(amounts, (5, 95), axis=0)
    return pd.DataFrame({"area_code": factors.index, "amount_p05": p05.round(2), "amount_p95": p95.round(2)})


def allocation_section(
    ctx: Ctx,
    f: dict[str, Any],
    ind: pd.DataFrame,
    scheme: Scheme,
    sc: pd.DataFrame,
    noise: float,
    alts: list[str],
) -> None:
    st.subheader(ctx.t("funds_allocation"))
    prev_year = f["year"] - 1
    last = query(funds.allocation_totals, prev_year)
    default_pot = float(round(last["amount_yuan"].sum(), -4)) if not last.empty else 10_000_000.0
    mode = (
        st.segmented_control(
            ctx.t("funds_alloc_mode"),
            ["score", "factor"],
            default="score",
            key="fu_alloc_mode",
            format_func=lambda m: ctx.t(f"funds_mode_{m}"),
        )
        or "score"
    )
    c1, c2, c3 = st.columns(3)
    pot = c1.number_input(
        ctx.t("funds_pot"), min_value=0.0, value=default_pot, step=100_000.0, format="%.2f", key="fu_pot"
    )
    floor = c2.number_input(
        ctx.t("funds_floor"), min_value=0.0, value=0.0, step=10_000.0, format="%.2f", key="fu_floor"
    )
    cap = c3.number_input(
        ctx.t("funds_cap"), min_value=0.0, value=0.0, step=10_000.0, format="%.2f", key="fu_cap"
    )
    st.caption(ctx.t("funds_alloc_help_" + mode, prev=prev_year))
    floor_v, cap_v = (floor or None), (cap or None)
    band: pd.DataFrame | None = None
    notes: list[str] = []
    try:
        if mode == "score":
            scored = sc.loc[sc["score"].notna(), ["area_code", "score"]]
            unscored = sc.loc[sc["score"].isna(), "area"].tolist()
            if unscored:
                notes.append(ctx.t("funds_unscored", areas=", ".join(unscored)))
            alloc = allocate(scored, pot, floor_v, cap_v)
            if not unscored:
                try:
                    band = allocation_uncertainty(
                        ind,
                        scheme,
                        pot,
                        runs=RUNS,
                        noise=noise,
                        floor=floor_v,
                        cap=cap_v,
                        seed=0,
                        normalisations=[a for a in alts if a != "zscore"],
                    )
                except ValueError as exc:
                    notes.append(ctx.t("funds_band_failed", error=str(exc)))
        else:
            factors = ind.set_index("area_code")[scheme.codes].astype(float)
            empty = [c for c in factors.columns if factors[c].isna().all()]
            factors = factors.drop(columns=empty)
            if empty:
                notes.append(
                    ctx.t("funds_factor_dropped", codes=", ".join(f["ind_names"].get(c, c) for c in empty))
                )
            gaps = [
                f"{f['d_names'].get(a, a)} · {f['ind_names'].get(c, c)}"
                for c in factors.columns
                for a in factors.index[factors[c].isna()]
            ]
            if gaps:
                notes.append(ctx.t("funds_factor_imputed", cells="; ".join(gaps)))
            factors = factors.fillna(factors.mean())
            inverse = [
                i.code for i in scheme.indicators if i.direction == "lower" and i.code in factors.columns
            ]
            weights = {c: scheme.weights[c] for c in factors.columns}
            shares = factor_shares(factors, weights, inverse=inverse)
            alloc = allocate(shares, pot, floor_v, cap_v)
            band = factor_band(factors, scheme, inverse, pot, floor_v, cap_v, noise)
    except ValueError as exc:
        st.warning(ctx.t("funds_alloc_infeasible", error=str(exc)), icon=":material/warning:")
        return
    for note in notes:
        st.caption(note)
    out = alloc.merge(
        last.rename(columns={"amount_yuan": "last_year_yuan"})[["area_code", "last_year_yuan"]], how="left"
    )
    if band is not None:
        out = out.merge(band[["area_code", "amount_p05", "amount_p95"]], how="left")
    else:
        out["amount_p05"] = np.nan
        out["amount_p95"] = np.nan
    out["change_yuan"] = out["amount_yuan"] - out["last_year_yuan"]
    out["change_pct"] = out["change_yuan"] / out["last_year_yuan"].where(out["last_year_yuan"] > 0) * 100
    out["area"] = out["area_code"].map(f["d_names"]).fillna(out["area_code"])
    out = out.sort_values("amount_yuan", ascending=False).reset_index(drop=True)
    total_fen = int(out["amount_fen"].sum())
    pot_fen = pot_to_fen(pot)
    if total_fen == pot_fen:
        st.success(
            ctx.t("funds_alloc_check_ok", total=f"{total_fen / 100:,.2f}", pot=f"{pot_fen / 100:,.2f}"),
            icon=":material/check_circle:",
        )
    else:
        st.error(ctx.t("funds_alloc_check_bad", total=f"{total_fen / 100:,.2f}", pot=f"{pot_fen / 100:,.2f}"))
    table = pd.DataFrame(
        {
            ctx.t("funds_col_district"): [
                f"★ {a}" if c == f["district"] else a
                for a, c in zip(out["area"], out["area_code"], strict=True)
            ],
            ctx.t("funds_col_share"): out["share_of_pot"] * 100,
            ctx.t("funds_col_amount"): out["amount_yuan"],
            ctx.t("funds_col_last_year", year=prev_year): out["last_year_yuan"],
            ctx.t("funds_col_change"): out["change_yuan"],
            ctx.t("funds_col_change_pct"): out["change_pct"],
            ctx.t("funds_p05"): out["amount_p05"],
            ctx.t("funds_p95"): out["amount_p95"],
            ctx.t("funds_col_bound"): out["bound"].map(lambda b: ctx.t(f"funds_bound_{b}") if b else "—"),
        }
    )
    money = st.column_config.NumberColumn(format="%,.2f")
    left, right = st.columns([3, 2])
    left.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="fu_allocation",
        column_config={
            ctx.t("funds_col_share"): st.column_config.NumberColumn(format="%.2f%%"),
            ctx.t("funds_col_amount"): money,
            ctx.t("funds_col_last_year", year=prev_year): money,
            ctx.t("funds_col_change"): st.column_config.NumberColumn(format="%+,.2f"),
            ctx.t("funds_col_change_pct"): st.column_config.NumberColumn(format="%+.1f%%"),
            ctx.t("funds_p05"): money,
            ctx.t("funds_p95"): money,
        },
    )
    left.caption(ctx.t("funds_alloc_total", pot=fmt_yuan(pot, ctx.lang)))
    right.altair_chart(
        charts.allocation_bars(
            out,
            {
                "area": ctx.t("funds_col_district"),
                "amount": ctx.t("funds_col_amount"),
                "last_year": ctx.t("funds_col_last_year", year=prev_year),
            },
            f["district"] or None,
        ),
        width="stretch",
    )
    right.caption(ctx.t("funds_alloc_chart_help"))
    download_csv(
        out.drop(columns=["area"]),
        f"fund-allocation-{scheme.name}-{f['year']}-{mode}",
        ctx.lang,
        key="fu_dl_allocation",
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
    st.caption(base.description)
    scheme = what_if(ctx, f, base)
    ind = query(funds.fund_indicators, f["year"], f["month"])
    if ind.empty:
        st.info(ctx.t("funds_no_districts"))
        return
    try:
        sc, has_prev = scores_and_changes(ctx, f, ind, scheme)
    except ValueError as exc:
        st.warning(ctx.t("funds_score_failed", error=str(exc)))
        return
    scores_section(ctx, f, sc, has_prev, scheme)
    indicators_section(ctx, f, ind, scheme)
    noise, alts = robustness_section(ctx, f, ind, scheme, sc)
    allocation_section(ctx, f, ind, scheme, sc, noise, alts)


run_page(body, "page_funds", "funds_caption")
