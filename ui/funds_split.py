"""The Funds page's money sections (seed 002 §二): funds by source with the 1.5 % rule, and next year's transfer
split by the five factors, with the bureau's official weights recorded here by leaders and admins."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from figures import funds as fund_figures
from figures import schemes as scheme_figures
from figures.rules import rules
from jobs import schemes
from queries import funds
from scoring import WUHAN_2009, Scheme
from scoring.allocation import pot_to_fen
from ui import charts_funds as charts
from ui.common import Ctx, download_csv, figure, fresh, query, url_widget
from ui.funds_whatif import current_user, scheme_label

WAN = 10_000.0
TRANSFER_METHODS = ("wuhan_2009", "factor_method")


def url_number(ctx: Ctx, box: Any, label: str, key: str, default: float, **kwargs: Any) -> float:
    """A number input whose value lives in the URL (``?key=value``); a bad value falls back to ``default``."""
    raw = st.query_params.get(key)
    if raw is not None and raw != st.session_state.get(f"_url_{key}"):
        try:
            st.session_state[key] = max(float(raw), 0.0)
        except ValueError:
            st.session_state[key] = default
            st.toast(ctx.t("bad_param", name=key, value=raw[:40]), icon=":material/link_off:")
    elif key not in st.session_state:
        st.session_state[key] = default
    value = float(box.number_input(label, min_value=0.0, key=key, **kwargs))
    st.query_params[key] = f"{value:g}"
    st.session_state[f"_url_{key}"] = f"{value:g}"
    return value


def wan(value: float | None) -> float:
    """Yuan as 万元 (the page's unit); downloads keep yuan."""
    return np.nan if value is None or pd.isna(value) else float(value) / WAN


def sources_section(ctx: Ctx, f: dict[str, Any]) -> pd.DataFrame:
    """Funds of the results year by source: the transfer pot the city splits, and the districts' own funds beside
    it against the 1.5 % rule (never split)."""
    year = f["year"]
    src = fund_figures.by_source(query, year)
    st.subheader(ctx.t("funds_sources", year=year))
    st.caption(ctx.t("funds_sources_help"))
    table = pd.DataFrame(
        {
            ctx.t("funds_col_district"): src["area_code"].map(f["d_names"]).fillna(src["area_code"]),
            **{ctx.t(f"funds_source_{s}"): src[s] / WAN for s in funds.TRANSFER_SOURCES},
            ctx.t("funds_col_transfer"): src["transfer_yuan"] / WAN,
            ctx.t("funds_source_district_own"): src[funds.OWN_SOURCE] / WAN,
            ctx.t("funds_col_required"): src["required_yuan"] / WAN,
            ctx.t("funds_col_own_ratio"): src["ratio_pct"],
            ctx.t("funds_col_rule"): src["met"].map(
                lambda m: (
                    "—" if m is None or pd.isna(m) else ctx.t("funds_rule_met" if m else "funds_rule_short")
                )
            ),
        }
    )
    money = st.column_config.NumberColumn(format="%,.2f")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="fu_sources",
        column_config={
            **{c: money for c in table.columns[1:-2]},
            ctx.t("funds_col_own_ratio"): st.column_config.NumberColumn(format="%.2f%%"),
        },
    )
    st.caption(ctx.t("funds_sources_total", pot=f"{src['transfer_yuan'].sum() / WAN:,.2f}", year=year))
    download_csv(src, f"funds-by-source-{year}", ctx.lang, key="fu_dl_sources")
    return src


def transfer_choices(ctx: Ctx, f: dict[str, Any]) -> tuple[list[str], str, dict[str, str]]:
    """The split methods offered: the bureau's recorded official weights (newest first), seed 002's preset and
    the Hunan-2014 alternative; the default is the official one."""
    listed = scheme_figures.list_schemes(fresh)
    recorded = listed[(listed["kind"] == "transfer") & (~listed["preset"])]
    labels = {
        str(r.name): ctx.t("funds_official_label", who=r.created_by, when=str(r.created_at)[:16])
        for r in recorded.itertuples()
    }
    labels.update({m: scheme_label(ctx, m) for m in TRANSFER_METHODS})
    options = [*labels]
    official = scheme_figures.official_transfer(fresh).name
    return options, official if official in options else "wuhan_2009", labels


def record_weights(ctx: Ctx, base: Scheme) -> None:
    """Leaders and admins record the bureau's own weights of the five factors: a locked scheme with who and when."""
    with st.expander(ctx.t("funds_record_weights")):
        st.caption(ctx.t("funds_record_weights_help"))
        cols = st.columns(len(WUHAN_2009.codes))
        start = base if set(base.codes) == set(WUHAN_2009.codes) else WUHAN_2009
        weights = {
            code: float(
                col.number_input(
                    ctx.t(f"funds_factor_{code}"),
                    min_value=0.0,
                    max_value=100.0,
                    value=round(start.normalised_weights()[code] * 100, 1),
                    step=5.0,
                    key=f"fu_w_{code}",
                )
            )
            for col, code in zip(cols, WUHAN_2009.codes, strict=True)
        }
        allowed = schemes.may_save(ctx.user.role)
        if not allowed:
            st.caption(ctx.t("funds_save_not_for_role"))
        if st.button(ctx.t("funds_record"), key="fu_record", disabled=not allowed, icon=":material/lock:"):
            try:
                saved = schemes.record_official_in_configured_db(weights, current_user(), role=ctx.user.role)
            except schemes.SchemeForbidden:
                st.warning(ctx.t("funds_save_not_for_role"), icon=":material/lock:")
            except ValueError as exc:
                st.warning(ctx.t("funds_save_refused", error=str(exc)), icon=":material/block:")
            else:
                st.session_state["fu_flash_weights"] = ctx.t(
                    "funds_recorded", user=current_user(), when=saved.name[-19:]
                )
                st.query_params["method"] = saved.name
                st.rerun()


def split_inputs(ctx: Ctx, f: dict[str, Any], src: pd.DataFrame) -> dict[str, Any]:
    """Method, pot, floor, cap and the weight noise, all in the URL; amounts in 万元."""
    options, official, labels = transfer_choices(ctx, f)
    c0, c1, c2, c3 = st.columns([2, 1, 1, 1])
    method = url_widget(
        c0.selectbox, ctx.t("funds_method"), options, "method", default=official, format_func=labels.get
    )
    default_pot = round(float(src["transfer_yuan"].sum()) / WAN, 2) if not src.empty else 1_000.0
    pot = url_number(ctx, c1, ctx.t("funds_pot_wan"), "pot", default_pot, step=10.0, format="%.2f")
    floor = url_number(ctx, c2, ctx.t("funds_floor_wan"), "floor", 0.0, step=1.0, format="%.2f")
    cap = url_number(ctx, c3, ctx.t("funds_cap_wan"), "cap", 0.0, step=1.0, format="%.2f")
    return dict(method=method, label=labels[method], pot=pot, floor=floor, cap=cap, default_pot=default_pot)


def split_section(
    ctx: Ctx, f: dict[str, Any], src: pd.DataFrame, noise: float, assessed: pd.Series | None = None
) -> None:
    """Next year's transfer split from this year's results, compared with this year's amounts from the same pot."""
    year = f["year"]
    st.subheader(ctx.t("funds_split", next=year + 1, year=year))
    flash = st.session_state.pop("fu_flash_weights", None)
    if flash:
        st.success(flash, icon=":material/lock:")
    inp = split_inputs(ctx, f, src)
    scheme = scheme_figures.load_scheme(fresh, inp["method"])
    weights = scheme.normalised_weights()
    st.caption(
        ctx.t("funds_split_help", year=year, next=year + 1, pot=f"{inp['default_pot']:,.2f}")
        + " "
        + ctx.t(
            "funds_weights_now",
            weights="；".join(f"{f['factor_name'](c)} {w:.0%}" for c, w in weights.items()),
        )
    )
    if inp["method"] == "factor_method":
        st.caption(ctx.t("funds_scheme_desc_factor_method"))
    else:
        st.caption(ctx.t("funds_weights_source"))
    try:
        split = figure(
            fund_figures.transfer_split,
            rules(),
            scheme,
            year,
            f["month"],
            inp["pot"] * WAN,
            inp["floor"] * WAN or None,
            inp["cap"] * WAN or None,
            noise,
            assessed,
        )
    except ValueError as exc:
        st.warning(ctx.t("funds_alloc_infeasible", error=str(exc)), icon=":material/warning:")
        return
    for key, args in split.notes:
        st.caption(note_text(ctx, f, key, args))
    out = split.table.assign(area=lambda d: d["area_code"].map(f["d_names"]).fillna(d["area_code"]))
    out = out.sort_values("amount_yuan", ascending=False).reset_index(drop=True)
    total_fen, pot_fen = int(out["amount_fen"].sum()), pot_to_fen(inp["pot"] * WAN)
    check = "funds_split_check_ok" if total_fen == pot_fen else "funds_split_check_bad"
    (st.success if total_fen == pot_fen else st.error)(
        ctx.t(check, total=f"{total_fen / 100 / WAN:,.2f}", pot=f"{pot_fen / 100 / WAN:,.2f}")
    )
    bound_text = out["bound"].map(lambda b: ctx.t(f"funds_bound_{b}") if b else "")
    parts = {
        ctx.t("funds_part", factor=f["factor_name"](c)): out[f"part_{c}"] * 100
        for c in scheme.codes
        if f"part_{c}" in out
    }
    table = pd.DataFrame(
        {
            ctx.t("funds_col_district"): [
                f"★ {a}" if c == f["district"] else a
                for a, c in zip(out["area"], out["area_code"], strict=True)
            ],
            **parts,
            ctx.t("funds_col_share"): out["share_of_pot"] * 100,
            ctx.t("funds_col_amount_wan", next=year + 1): out["amount_yuan"] / WAN,
            ctx.t("funds_col_same_pot_wan", year=year): out["last_year_yuan"] / WAN,
            ctx.t("funds_col_change_wan"): out["change_yuan"] / WAN,
            ctx.t("funds_col_change_pct"): out["change_pct"],
            ctx.t("funds_p05"): out["amount_p05"] / WAN,
            ctx.t("funds_p95"): out["amount_p95"] / WAN,
            ctx.t("funds_col_bound"): bound_text.replace("", "—"),
        }
    )
    pct = st.column_config.NumberColumn(format="%.2f%%")
    money = st.column_config.NumberColumn(format="%,.2f")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="fu_allocation",
        column_config={
            **{c: pct for c in [*parts, ctx.t("funds_col_share")]},
            **{c: money for c in table.columns if c.endswith(("万元）", "(10k yuan)"))},
            ctx.t("funds_p05"): money,
            ctx.t("funds_p95"): money,
            ctx.t("funds_col_change_pct"): st.column_config.NumberColumn(format="%+.1f%%"),
        },
    )
    hits = int((out["bound"] != "").sum())
    if hits:
        st.caption(ctx.t("funds_bound_hits", n=hits))
    chart_data = pd.DataFrame(
        {
            "area_code": out["area_code"],
            "area": out["area"],
            "amount_wan": out["amount_yuan"] / WAN,
            "last_year_wan": out["last_year_yuan"] / WAN,
            "p05_wan": out["amount_p05"] / WAN,
            "p95_wan": out["amount_p95"] / WAN,
            "bound_text": bound_text,
        }
    )
    labels = {
        "area": ctx.t("funds_col_district"),
        "amount": ctx.t("funds_col_amount_wan", next=year + 1),
        "last_year": ctx.t("funds_col_same_pot_wan", year=year),
        "bound": ctx.t("funds_col_bound"),
    }
    st.altair_chart(charts.split_bars(chart_data, labels, f["district"] or None), width="stretch")
    st.caption(ctx.t("funds_split_chart_help", year=year))
    download_csv(
        out.drop(columns=["area"]), f"fund-split-{year + 1}-from-{year}", ctx.lang, key="fu_dl_allocation"
    )
    record_weights(ctx, scheme)


def note_text(ctx: Ctx, f: dict[str, Any], key: str, args: dict[str, Any]) -> str:
    """A figures note in the page's language: factor names, district names."""
    if key == "funds_factor_dropped":
        return ctx.t(key, codes="、".join(f["factor_name"](c) for c in args["codes"]))
    cells = "；".join(f"{f['d_names'].get(a, a)} · {f['factor_name'](c)}" for a, c in args["cells"])
    return ctx.t(key, cells=cells)
