"""Data: what the database holds, when it was loaded, the data cut-off, imports and replaced figures, and the
administrators' upload (``bureau import`` in the browser)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st
from sqlalchemy.exc import DBAPIError, OperationalError

from i18n import fmt_date
from jobs.importing import history
from jobs.importing.datum import GCJ02, WGS84
from jobs.importing.load import ImportReport, import_uploads
from jobs.importing.templates import BY_NAME, ENTITIES, write_template
from privacy import PERSON_LEVEL_TABLES
from queries import meta
from store.config import settings
from ui.auth import audit_log, current_user, record
from ui.common import Ctx, download_csv, engine, headed, lang, query, run_page
from ui.data_labels import audit_frame, loads_frame, table_name, tables_frame
from ui.downloads import download_button
from ui.forecast_refresh import section as forecast_refresh

UPLOAD_TYPES = ["csv", "txt", "xlsx", "xlsm", "geojson", "json", "zip"]


def _values(text: object) -> str:
    """``{"value": 5}`` → ``value: 5`` (a key or a set of changed values, readable)."""
    try:
        data = json.loads(str(text))
    except (TypeError, ValueError):
        return "" if text is None else str(text)
    if not isinstance(data, dict):
        return str(data)
    return " · ".join(f"{k}: {v}" for k, v in data.items())


def _history(ctx: Ctx) -> None:
    st.subheader(ctx.t("import_loads_title"))
    loads = query(history.imports)
    if not loads.empty:
        st.dataframe(
            loads.rename(
                columns={
                    "load_id": ctx.t("import_col_load"),
                    "finished_at": ctx.t("import_col_when"),
                    "rows": ctx.t("import_col_rows"),
                    "cut_off": ctx.t("import_col_cut_off"),
                    "loaded_by": ctx.t("import_col_by"),
                    "source": ctx.t("import_col_source"),
                }
            ),
            hide_index=True,
            width="stretch",
        )
    st.subheader(ctx.t("import_history"))
    st.caption(ctx.t("import_history_caption", cut_off=fmt_date(ctx.status.cut_off, ctx.lang)))
    changes = query(history.replacements)
    if ctx.user.role != "admin":  # replaced person-level rows are for the administrator checking an import
        changes = changes[~changes["table_name"].isin(PERSON_LEVEL_TABLES)]
    if changes.empty:
        st.info(ctx.t("import_no_changes"), icon=":material/history:")
        return
    shown = pd.DataFrame(
        {
            ctx.t("import_col_when"): changes["changed_at"],
            ctx.t("import_col_by"): changes["changed_by"],
            ctx.t("import_col_table"): changes["table_name"].map(lambda n: table_name(n, ctx.lang)),
            ctx.t("import_col_key"): changes["row_key"].map(_values),
            ctx.t("import_col_previous"): changes["previous_json"].map(_values),
            ctx.t("import_col_new"): changes["new_json"].map(_values),
            ctx.t("import_col_load"): changes["load_id"],
        }
    )
    st.dataframe(shown, hide_index=True, width="stretch")
    download_csv(shown, "replacements", ctx.lang, key="data_dl_changes")


def _show_report(ctx: Ctx, report: ImportReport) -> None:
    from jobs.importing.cli import format_report

    summary = format_report(report, ctx.lang)
    if report.exit_code == 0:
        st.success(summary.splitlines()[-1] if summary else "", icon=":material/check_circle:")
    else:
        st.error(summary.splitlines()[-1] if summary else "", icon=":material/error:")
    if report.problems:
        st.markdown(f"**{ctx.t('import_problems_title')}**")
        rows = [p.as_dict(ctx.lang) for p in report.problems]
        st.dataframe(
            pd.DataFrame(rows).rename(
                columns={
                    "file": ctx.t("import_col_file"),
                    "row": ctx.t("import_col_row"),
                    "column": ctx.t("import_col_column"),
                    "level": ctx.t("import_col_level"),
                    "message": ctx.t("import_col_message"),
                }
            ),
            hide_index=True,
            width="stretch",
        )
    st.code(summary, language=None)


def _upload(ctx: Ctx) -> None:
    st.subheader(ctx.t("import_section"))
    st.caption(ctx.t("import_section_caption"))
    uploads = st.file_uploader(
        ctx.t("import_uploader"), type=UPLOAD_TYPES, accept_multiple_files=True, key="import_files"
    )
    datum = st.selectbox(
        ctx.t("import_datum_label"),
        ["auto", WGS84, GCJ02],
        format_func=lambda d: ctx.t("import_datum_auto") if d == "auto" else d,
        key="import_datum",
    )
    buttons = st.columns(2)
    check = buttons[0].button(ctx.t("import_check_button"), key="import_check", icon=":material/fact_check:")
    load = buttons[1].button(
        ctx.t("import_load_button"), key="import_load", type="primary", icon=":material/upload:"
    )
    if check or load:
        if not uploads:
            st.warning(ctx.t("import_need_files"), icon=":material/upload_file:")
        else:
            files = [(f.name, f.getvalue()) for f in uploads]
            with st.spinner(ctx.t("import_check_button") if check else ctx.t("import_load_button")):
                report = import_uploads(
                    settings().db_url,
                    files,
                    ctx.user.username,
                    dry_run=bool(check),
                    datum=None if datum == "auto" else datum,
                )
            names = ", ".join(name for name, _ in files)[:500]
            record(ctx.user, "import_check" if check else "import", names, f"exit {report.exit_code}")
            if report.load_id is not None:
                st.cache_data.clear()  # new figures and cut-off for every page
            _show_report(ctx, report)
    with st.expander(ctx.t("import_templates_title"), icon=":material/table_view:"):
        entity_names = [e.name for e in ENTITIES if not e.table_only]
        name = st.selectbox(
            ctx.t("import_template_pick"),
            entity_names,
            format_func=lambda n: BY_NAME[n].zh if ctx.lang == "zh" else n,
            key="import_template",
        )
        st.caption(BY_NAME[name].zh_help if ctx.lang == "zh" else BY_NAME[name].en_help)
        download_button(
            ctx.t("import_template_download"),
            lambda: write_template(BY_NAME[name], "xlsx", ctx.lang),
            file_name=f"{name}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="import_template_dl",
            export=f"template:{name}",
            icon=":material/download:",
        )


def _audit_status(ctx: Ctx) -> None:
    """How many audit lines wait in the spool or could not be kept (bureau.auditlog), for the administrator."""
    log = audit_log()
    status = log.status()
    st.metric(ctx.t("audit_pending_metric"), status.pending)
    if status.pending:
        st.warning(
            ctx.t(
                "audit_pending",
                n=status.pending,
                when=status.last_error_at or "—",
                error=status.last_error or "—",
            ),
            icon=":material/pending:",
        )
    else:
        st.caption(ctx.t("audit_all_written"))
    if status.unreadable:
        st.error(
            ctx.t("audit_unreadable", n=status.unreadable, path=str(log.failed_file)), icon=":material/error:"
        )
    if status.lost_in_process:
        st.error(ctx.t("audit_lost", n=status.lost_in_process), icon=":material/error:")


def body(ctx: Ctx) -> None:
    st.metric(ctx.t("data_cut_off"), fmt_date(ctx.status.cut_off, ctx.lang))
    st.subheader(ctx.t("data_tables"))
    counts = query(meta.table_counts)
    st.dataframe(
        tables_frame(counts, ctx.lang).rename(
            columns={
                "table": ctx.t("col_table"),
                "rows": ctx.t("col_rows"),
                "estimated": ctx.t("scale_estimated"),
            }
        ),
        hide_index=True,
        width="stretch",
    )
    if counts["estimated"].any():
        st.caption(ctx.t("scale_estimated_note"))
    st.subheader(ctx.t("data_loads"))
    loads = query(meta.loads)
    st.dataframe(headed(loads_frame(loads, ctx.lang), ctx.lang), hide_index=True, width="stretch")
    download_csv(counts, "tables", ctx.lang, key="data_dl_tables")
    _history(ctx)
    if ctx.user.role == "admin":
        _upload(ctx)
        forecast_refresh(ctx)
        st.subheader(ctx.t("data_audit"))
        _audit_status(ctx)
        st.dataframe(
            headed(audit_frame(meta.audit_entries(ctx.engine), ctx.lang), ctx.lang),
            hide_index=True,
            width="stretch",
            key="data_audit",
        )
    else:
        st.caption(ctx.t("import_admin_only"))


def first_load() -> None:
    """A database with a schema but no data stops the frame before ``body``: still let an administrator upload
    the first batch (a database without a schema needs ``bureau migrate`` or ``bureau import`` first)."""
    try:
        status = meta.data_status(engine())
    except (OperationalError, DBAPIError):
        return  # the frame has already said that the database is down
    if status.has_schema and not status.missing_tables and not status.has_data:
        user = current_user(lang())
        if user is not None and user.role == "admin":
            _upload(Ctx(lang(), engine(), status, user))


run_page(body, "page_data", "data_caption")
first_load()
