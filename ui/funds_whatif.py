"""The Funds page's what-if editor: an editable copy of a scoring scheme, saved by leaders and admins only
(jobs.schemes checks the role again)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from i18n import catalogue
from jobs import schemes
from queries import funds
from scoring import (
    AGGREGATIONS,
    DIRECTIONS,
    MISSING_RULES,
    NORMALISATIONS,
    PRESETS,
    WUHAN_2009,
    Scheme,
    SchemeError,
    SchemeIndicator,
)
from store.indicators import BY_CODE
from ui.common import Ctx

ANONYMOUS = "anonymous (demo)"


def scheme_label(ctx: Ctx, name: str) -> str:
    """A scheme's name in the page's language: the catalogue's for a preset, the bureau's own name otherwise."""
    key = f"funds_scheme_name_{name}"
    return ctx.t(key) if key in catalogue() else name


def scheme_text(ctx: Ctx, scheme: Scheme) -> str:
    """A scheme's description: the catalogue's for a preset, the text saved with a stored scheme otherwise."""
    key = f"funds_scheme_desc_{scheme.name}"
    if key in catalogue():
        return ctx.t(key)
    for base in (*PRESETS.values(), WUHAN_2009):  # a stored copy carries its preset's English text: say whose
        if scheme.description == base.description or set(scheme.codes) == set(base.codes):
            return ctx.t("funds_scheme_desc_copy", base=scheme_label(ctx, base.name))
    return scheme.description


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
    groups = {i.code: i.group for i in base.indicators}
    inds = []
    for code, r in zip(rows.index, rows.to_dict("records"), strict=True):
        if not bool(r.get("include")):
            continue
        target = r.get("target")
        weight = r.get("weight")
        inds.append(
            SchemeIndicator(
                code=str(code),
                direction=str(r["direction"]),
                normalisation=str(r["normalisation"]),
                weight=float(weight) if weight is not None and not pd.isna(weight) else 0.0,
                target=None if target is None or pd.isna(target) else float(target),
                group=groups.get(str(code)),
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
        # codes stay out of sight: rows are keyed by the indicator code (hidden index), options shown translated
        dirs = {ctx.t(f"funds_dir_{d}"): d for d in DIRECTIONS}
        norms = {ctx.t(f"funds_norm_{n}"): n for n in NORMALISATIONS}
        rows = editor_rows(base).set_index("code", drop=False)
        rows["name"] = rows["code"].map(f["ind_names"]).fillna(rows["code"])
        rows["direction"] = rows["direction"].map({v: k for k, v in dirs.items()})
        rows["normalisation"] = rows["normalisation"].map({v: k for k, v in norms.items()})
        rows = rows[
            ["include", "name", "weight", "direction", "normalisation", "target"]
        ]  # groups: kept as is
        edited = st.data_editor(
            rows,
            key=f"fu_editor_{base.name}",
            hide_index=True,
            width="stretch",
            num_rows="fixed",
            disabled=["name"],
            column_config={
                "include": st.column_config.CheckboxColumn(ctx.t("funds_col_include")),
                "name": st.column_config.TextColumn(ctx.t("funds_col_indicator")),
                "weight": st.column_config.NumberColumn(ctx.t("funds_col_weight"), min_value=0.0, step=0.01),
                "direction": st.column_config.SelectboxColumn(
                    ctx.t("funds_col_direction"), options=list(dirs), required=True
                ),
                "normalisation": st.column_config.SelectboxColumn(
                    ctx.t("funds_col_normalisation"), options=list(norms), required=True
                ),
                "target": st.column_config.NumberColumn(ctx.t("funds_col_target")),
            },
        )
        edited = edited.assign(
            direction=edited["direction"].map(dirs).fillna("higher"),
            normalisation=edited["normalisation"].map(norms).fillna("minmax"),
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
        label = scheme_label(ctx, base.name)
        if changed:
            st.info(ctx.t("funds_whatif_active", scheme=label), icon=":material/edit:")
        default_name = ctx.t("funds_whatif_name", scheme=label, when=f"{datetime.now():%Y-%m-%d %H:%M}")
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
