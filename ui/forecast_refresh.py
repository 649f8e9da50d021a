"""The Data page's forecast refresh (administrators only): a button, then progress while the job runs in a
background thread of this process (``jobs.forecast_refresh``), then the outcome."""

from __future__ import annotations

import streamlit as st

from jobs import forecast_refresh as job
from store.config import settings
from ui.auth import record
from ui.common import Ctx

POLL_S = 1.0


def section(ctx: Ctx) -> None:
    """The refresh section; the caller shows it to administrators only."""
    if ctx.user.role != "admin":
        return
    url = settings().db_url
    st.subheader(ctx.t("forecasts_refresh_title"))
    latest = job.current(url)
    expected = latest.expected_s if latest is not None else job.expected_seconds(ctx.engine)
    st.caption(ctx.t("forecasts_refresh_caption", seconds=f"{expected:.0f}"))
    running = latest is not None and latest.running
    if st.button(
        ctx.t("forecasts_refresh_button"),
        key="data_forecast_refresh",
        disabled=running,
        icon=":material/refresh:",
    ):
        latest = job.start(url, ctx.user.username)
        record(ctx.user, "forecast_refresh", "forecast", f"started {latest.started_at:%Y-%m-%d %H:%M:%S}")
    if latest is not None and latest.running:
        _progress(ctx, url)
    elif latest is not None:
        _outcome(ctx, latest)


@st.fragment(run_every=POLL_S)
def _progress(ctx: Ctx, url: str) -> None:
    """Redrawn every second while the refresh runs; a full rerun when it ends (fresh figures on the page)."""
    current = job.current(url)
    if current is None:
        return
    if not current.running:
        st.cache_data.clear()  # the next rerun of every page reads the new run
        st.rerun()
    label = ctx.t("forecasts_refresh_running", user=current.user, time=f"{current.started_at:%H:%M:%S}")
    with st.status(label, state="running", expanded=True):
        st.progress(
            current.fraction,
            text=ctx.t(
                "forecasts_refresh_progress",
                elapsed=f"{current.elapsed_s:.0f}",
                expected=f"{current.expected_s:.0f}",
            ),
        )


def _outcome(ctx: Ctx, done: job.Refresh) -> None:
    if done.error:
        st.error(ctx.t("forecasts_refresh_failed", error=done.error), icon=":material/error:")
        return
    st.success(
        ctx.t(
            "forecasts_refresh_done",
            run=done.run_id,
            series=done.series,
            seconds=f"{done.elapsed_s:.0f}",
        ),
        icon=":material/check_circle:",
    )
