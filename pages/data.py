"""Data: what the database holds, when it was loaded, and the data cut-off."""

import streamlit as st

from i18n import fmt_date
from queries import meta
from ui.common import Ctx, download_csv, query, run_page


def body(ctx: Ctx) -> None:
    st.metric(ctx.t("data_cut_off"), fmt_date(ctx.status.cut_off, ctx.lang))
    st.subheader(ctx.t("data_tables"))
    counts = query(meta.table_counts)
    st.dataframe(
        counts.rename(columns={"table": ctx.t("col_table"), "rows": ctx.t("col_rows")}),
        hide_index=True,
        width="stretch",
    )
    st.subheader(ctx.t("data_loads"))
    loads = query(meta.loads)
    st.dataframe(loads, hide_index=True, width="stretch")
    download_csv(counts, "tables", ctx.lang, key="data_dl_tables")


run_page(body, "page_data", "data_caption")
