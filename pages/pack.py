"""Meeting pack: freeze a quarter as a snapshot, reopen and compare snapshots, download PDF and Excel (issue #7).

The pack shows every district's figures, so it is for city-wide roles only: leaders and administrators freeze;
leaders, analysts and administrators download (each download is audited); a district planner sees neither.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from i18n import fmt_date, fmt_pct
from jobs.pack import excel, fonts, pdf, word
from jobs.pack import snapshot as snap
from queries import meta
from ui.auth import record
from ui.common import Ctx, query, run_page, url_widget
from ui.downloads import download_button
from ui.periods import latest_of, period_label

FREEZERS = ("leader", "admin")


def quarter_options() -> tuple[list[str], str | None]:
    """Quarters with data (newest first) and the default: the newest quarter whose last month has data."""
    years = query(meta.years_available)
    months = {int(y): list(query(meta.months_available, y)) for y in years}
    options = snap.quarters_from_months(months)
    complete = [q for q in options if 3 * int(q[-1]) in months.get(int(q[:4]), [])]
    options = complete + [q for q in options if q not in complete]  # a quarter still running is listed last
    return options, (complete[0] if complete else (options[0] if options else None))


def snapshot_label(ctx: Ctx, row: Any) -> str:
    return ctx.t(
        "pack_snapshot_label",
        snapshot=int(row.snapshot_id),
        when=f"{pd.Timestamp(row.created_at):%Y-%m-%d %H:%M}",
        who=row.created_by,
        cut_off=fmt_date(pd.Timestamp(row.cut_off).date(), ctx.lang),
    )


def freeze_controls(ctx: Ctx, quarter: str, listed: pd.DataFrame) -> None:
    flash = st.session_state.pop("pack_flash", None)
    if flash:
        st.success(flash, icon=":material/ac_unit:")
    if listed.empty:
        st.info(ctx.t("pack_not_frozen", quarter=period_label(quarter, ctx.lang)), icon=":material/info:")
    if ctx.user.role not in FREEZERS:
        st.caption(ctx.t("pack_freeze_role"))
        return
    label = ctx.t("pack_freeze" if listed.empty else "pack_refreeze")
    if st.button(label, key="pack_freeze", help=ctx.t("pack_freeze_help"), icon=":material/ac_unit:"):
        try:
            with st.spinner(label):
                pack = snap.freeze(snap.writable_engine(), quarter, ctx.user.username)
        except snap.WriteRefused as exc:  # reachable but read-only: say so, not "cannot be reached"
            st.error(ctx.t("pack_freeze_refused", reason=str(exc)), icon=":material/lock:")
            record(ctx.user, "denied", "pack freeze", str(exc))
            return
        except snap.PackError as exc:
            st.error(ctx.t("pack_freeze_failed", error=str(exc)))
            return
        record(ctx.user, "freeze", "pack", f"{quarter} snapshot {pack.snapshot_id}")
        st.session_state["pack_flash"] = ctx.t("pack_frozen_ok", snapshot=pack.snapshot_id)
        st.rerun()


def snapshot_table(ctx: Ctx, listed: pd.DataFrame) -> None:
    st.subheader(ctx.t("pack_snapshots"))
    shown = pd.DataFrame(
        {
            ctx.t("pack_col_snapshot"): listed["snapshot_id"].astype(int),
            ctx.t("pack_col_created_at"): pd.to_datetime(listed["created_at"]).dt.strftime("%Y-%m-%d %H:%M"),
            ctx.t("pack_col_created_by"): listed["created_by"],
            ctx.t("pack_col_cut_off"): [
                fmt_date(pd.Timestamp(d).date(), ctx.lang) for d in listed["cut_off"]
            ],
            ctx.t("pack_col_scheme"): listed["scheme_name"].fillna("—"),
            ctx.t("pack_col_model_version"): listed["model_version"].fillna("—"),
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch", key="pack_snapshot_table")


def preview(ctx: Ctx, pack: snap.Pack) -> None:
    st.subheader(ctx.t("pack_preview", snapshot=pack.snapshot_id))
    cards = pack.table("district_cards")
    cov = (pack.meta.get("coverage") or {}).get("share")
    cols = st.columns(4)
    for col, status in zip(cols[:3], ("red", "yellow", "green"), strict=True):
        col.metric(
            ctx.t(f"pack_status_{status}"), int((cards["card"] == status).sum()) if not cards.empty else 0
        )
    cols[3].metric(ctx.t("pack_map_legend"), fmt_pct(cov))


def downloads(ctx: Ctx, quarter: str, pack: snap.Pack, lang: str) -> None:
    """PDF and Excel buttons; the files are built from the stored snapshot only when clicked, and audited."""
    engine, sid = ctx.engine, int(pack.snapshot_id or 0)
    stem = f"pack-{quarter}-{sid}-{lang}"

    def pdf_bytes() -> bytes:
        return pdf.render(snap.load(engine, sid), lang)

    def xlsx_bytes() -> bytes:
        return excel.render(snap.load(engine, sid), lang)

    def docx_bytes() -> bytes:
        return word.render(snap.load(engine, sid), lang)

    about = {"snapshot": sid, "pack_lang": lang}

    cols = st.columns(3)
    try:
        fonts.check()
        font_ok = True
    except fonts.FontMissing as exc:
        font_ok = False
        cols[0].error(ctx.t("pack_font_missing", error=str(exc)))
    if font_ok:
        download_button(
            ctx.t("pack_download_pdf"),
            pdf_bytes,
            file_name=f"{stem}.pdf",
            mime="application/pdf",
            key="pack_dl_pdf",
            export="pack-pdf",
            filters=about,
            icon=":material/picture_as_pdf:",
            container=cols[0],
        )
    download_button(
        ctx.t("pack_download_xlsx"),
        xlsx_bytes,
        file_name=f"{stem}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="pack_dl_xlsx",
        export="pack-xlsx",
        filters=about,
        icon=":material/table_view:",
        container=cols[1],
    )
    download_button(
        ctx.t("pack_download_docx"),
        docx_bytes,
        file_name=f"{stem}.docx",
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        key="pack_dl_docx",
        export="pack-docx",
        filters=about,
        icon=":material/description:",
        container=cols[2],
    )


def comparison(ctx: Ctx, listed: pd.DataFrame, labels: dict[int, str]) -> None:
    st.subheader(ctx.t("pack_compare"))
    ids = [int(i) for i in listed["snapshot_id"]]
    if len(ids) < 2:
        st.caption(ctx.t("pack_compare_need_two"))
        return
    cols = st.columns([2, 2, 2, 1])
    a = cols[0].selectbox(
        ctx.t("pack_compare_a"), ids, index=1, format_func=lambda i: labels.get(i, str(i)), key="pack_cmp_a"
    )
    b = cols[1].selectbox(
        ctx.t("pack_compare_b"), ids, index=0, format_func=lambda i: labels.get(i, str(i)), key="pack_cmp_b"
    )
    pa, pb = (
        snap.load(ctx.engine, int(a if a is not None else ids[1])),
        snap.load(ctx.engine, int(b or ids[0])),
    )
    both = snap.compare(pa, pb)
    name_col = "name_zh" if ctx.lang == "zh" else "name_en"
    inds = pb.table("indicators")
    ind_names = dict(zip(inds["code"], inds[name_col], strict=True))
    codes = list(dict.fromkeys(both["indicator_code"]))
    code = cols[2].selectbox(
        ctx.t("pack_compare_indicator"), codes, format_func=lambda c: ind_names.get(c, c), key="pack_cmp_ind"
    )
    only = cols[3].checkbox(ctx.t("pack_compare_only_changed"), value=False, key="pack_cmp_only")
    part = both[both["indicator_code"] == code]
    st.caption(ctx.t("pack_compare_summary", n=int(both["changed"].sum()), total=len(both)))
    if only:
        part = part[part["changed"]]
    status = {s: ctx.t(f"pack_status_{s}") for s in ("red", "yellow", "green")}
    shown = pd.DataFrame(
        {
            ctx.t("pack_col_area"): part[name_col],
            ctx.t("pack_col_rank_a"): part["rank_a"],
            ctx.t("pack_col_rank_b"): part["rank_b"],
            ctx.t("pack_col_d_rank"): part["d_rank"],
            ctx.t("pack_col_actual_a"): part["actual_a"],
            ctx.t("pack_col_actual_b"): part["actual_b"],
            ctx.t("pack_col_d_actual"): part["d_actual"],
            ctx.t("pack_col_completion_a"): part["completion_rate_a"] * 100,
            ctx.t("pack_col_completion_b"): part["completion_rate_b"] * 100,
            ctx.t("pack_col_status_a"): part["status_a"].map(status),
            ctx.t("pack_col_status_b"): part["status_b"].map(status),
        }
    )
    pct = st.column_config.NumberColumn(format="%.1f%%")
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="pack_cmp_table",
        column_config={ctx.t("pack_col_completion_a"): pct, ctx.t("pack_col_completion_b"): pct},
    )


def body(ctx: Ctx) -> None:
    if not ctx.user.city_wide:
        st.info(ctx.t("pack_city_wide_only"), icon=":material/lock:")
        return
    options, default = quarter_options()
    if not options:
        st.info(ctx.t("pack_no_quarters"))
        return
    cols = st.columns([2, 2, 4])
    latest = latest_of(ctx.status)
    quarter = url_widget(
        cols[0].selectbox,
        ctx.t("pack_quarter"),
        options,
        "quarter",
        default=default,
        format_func=lambda q: period_label(q, ctx.lang, latest),
    )
    lang = (
        cols[1].segmented_control(
            ctx.t("pack_language"),
            ["zh", "en"],
            default=ctx.lang,
            format_func=lambda v: ctx.t(f"pack_lang_{v}"),
            key="pack_lang",
        )
        or ctx.lang
    )
    listed = snap.list_snapshots(ctx.engine, quarter)  # not cached: a snapshot frozen a moment ago must show
    freeze_controls(ctx, quarter, listed)
    if listed.empty:
        return
    snapshot_table(ctx, listed)
    labels = {int(r.snapshot_id): snapshot_label(ctx, r) for r in listed.itertuples()}
    chosen = st.selectbox(
        ctx.t("pack_choose_snapshot"),
        list(labels),
        format_func=lambda i: labels.get(i, str(i)),
        key="pack_snapshot",
    )
    pack = snap.load(ctx.engine, int(chosen if chosen is not None else next(iter(labels))))
    preview(ctx, pack)
    downloads(ctx, quarter, pack, lang)
    comparison(ctx, listed, labels)


run_page(body, "page_pack", "pack_caption")
