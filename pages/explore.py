"""Page under construction in this session."""

import streamlit as st

from ui.common import Ctx, run_page


def body(ctx: Ctx) -> None:
    st.info(ctx.t("coming_soon"))


run_page(body, "page_explore")
