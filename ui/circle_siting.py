"""The Service circle page's siting section: where k new stations would cover the most people, and the exact
check of the greedy answer."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

import service_circle as sc
from i18n import fmt_int, fmt_pct
from queries import meta
from ui.circle_data import RURAL_M, points_of, sites_of, siting_instance
from ui.common import Ctx, download_csv, query


def read_upload(ctx: Ctx, upload: Any, datum: str) -> tuple[tuple[float, float], ...] | None:
    """(lon, lat) pairs in GCJ-02 from an uploaded CSV; ``None`` (after a warning) when unusable."""
    try:
        frame = pd.read_csv(io.BytesIO(upload.getvalue()))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError):
        st.warning(ctx.t("circle_upload_bad"))
        return None
    cols = {c.strip().lower(): c for c in frame.columns}
    lon_c = next((cols[c] for c in ("lon", "lng", "longitude", "经度") if c in cols), None)
    lat_c = next((cols[c] for c in ("lat", "latitude", "纬度") if c in cols), None)
    if lon_c is None or lat_c is None:
        st.warning(ctx.t("circle_upload_bad"))
        return None
    lon = pd.to_numeric(frame[lon_c], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(frame[lat_c], errors="coerce").to_numpy(float)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    if not ok.any():
        st.warning(ctx.t("circle_upload_bad"))
        return None
    lon, lat = lon[ok], lat[ok]
    if datum == "wgs84":
        lon, lat = sc.wgs84_to_gcj02(lon, lat)
    return tuple(zip(lon.tolist(), lat.tolist(), strict=True))


def siting(ctx: Ctx, f: dict[str, Any]) -> pd.DataFrame | None:
    """Settings and results of the siting tool; returns the current ranked sites (or None)."""
    st.header(ctx.t("circle_siting"))
    scope = f["d_names"][f["district"]] if f["district"] else ctx.t("circle_city")
    st.caption(ctx.t("circle_siting_caption", scope=scope))
    c = st.columns([1.2, 1.6, 1.4, 1.2])
    k = c[0].number_input(ctx.t("circle_k"), 1, 50, 5, 1, key="cc_k")
    source = c[1].radio(
        ctx.t("circle_candidates"),
        ["grid", "upload"],
        key="cc_source",
        format_func=lambda v: ctx.t(f"circle_candidates_{v}"),
    )
    use_cap = c[2].toggle(ctx.t("circle_use_capacity"), value=False, key="cc_use_cap")
    cap = c[2].number_input(
        ctx.t("circle_capacity"), 1000, 300_000, 15_000, 1000, key="cc_cap", disabled=not use_cap
    )
    upload = None
    if source == "upload":
        u = st.file_uploader(ctx.t("circle_upload"), type=["csv"], key="cc_upload")
        datum = st.radio(
            ctx.t("circle_upload_datum"),
            ["gcj02", "wgs84"],
            horizontal=True,
            key="cc_upload_datum",
            format_func=lambda v: ctx.t(f"circle_datum_{v}"),
        )
        if u is None:
            st.info(ctx.t("circle_upload_hint"))
            return None
        upload = read_upload(ctx, u, datum)
        if upload is None:
            return None
    args = (
        f["src"],
        f["cut_off"],
        f["as_of"],
        f["district"],
        int(k),
        f["minutes"],
        f["speed"],
        f["circuity"],
        f["rural"],
        float(cap) if use_cap else None,
        upload,
    )
    if c[3].button(
        ctx.t("circle_site_button"), key="cc_site_go", type="primary", icon=":material/add_location_alt:"
    ):
        with st.spinner(ctx.t("circle_siting_running")):
            sites_of(*args)
        st.session_state["cc_sites_args"] = args
    if st.session_state.get("cc_sites_args") != args:
        st.caption(ctx.t("circle_siting_press"))
        return None
    sites = sites_of(*args)
    if sites.empty:
        st.info(ctx.t("circle_siting_none"))
        return None
    w_lon, w_lat = sc.gcj02_to_wgs84(sites["lon_gcj"].to_numpy(), sites["lat_gcj"].to_numpy())
    streets = query(meta.areas, "street")
    s_names = dict(zip(streets["area_code"], streets[f["name_col"]], strict=True))
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(sites) + 1),
            "district": sites["district_code"].map(f["d_names"]),
            "street": sites["street_code"].map(s_names),
            "people_added": sites["people_added"].round().astype(int),
            "cumulative_share": sites["cumulative_share"],
            "lon_gcj02": sites["lon_gcj"].round(6),
            "lat_gcj02": sites["lat_gcj"].round(6),
            "lon_wgs84": np.round(w_lon, 6),
            "lat_wgs84": np.round(w_lat, 6),
        }
    )
    shown = table.rename(
        columns={
            "rank": ctx.t("circle_rank"),
            "district": ctx.t("circle_district"),
            "street": ctx.t("circle_street"),
            "people_added": ctx.t("circle_people_added"),
            "cumulative_share": ctx.t("circle_cumulative_share"),
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="cc_sites_table",
        column_config={
            ctx.t("circle_people_added"): st.column_config.NumberColumn(format="localized"),
            ctx.t("circle_cumulative_share"): st.column_config.NumberColumn(format="percent"),
        },
    )
    added = float(sites["people_added"].sum())
    st.caption(
        ctx.t(
            "circle_sites_caption",
            n=len(sites),
            added=fmt_int(added, ctx.lang),
            share=fmt_pct(float(sites["cumulative_share"].iloc[-1])),
        )
        + " "
        + (ctx.t("circle_capacity_no_guarantee") if use_cap else ctx.t("circle_guarantee"))
    )
    download_csv(table, "service-circle-new-sites", ctx.lang, key="cc_dl_sites")
    exact_check(ctx, f, args)
    return sites


def exact_check(ctx: Ctx, f: dict[str, Any], args: tuple) -> None:
    with st.expander(ctx.t("circle_exact"), expanded="cc_exact" in st.session_state):
        st.caption(ctx.t("circle_exact_caption"))
        c = st.columns(3)
        limit = c[0].slider(ctx.t("circle_time_limit"), 5, 60, 10, 5, key="cc_exact_limit")
        agg = c[1].selectbox(ctx.t("circle_aggregate"), [500, 1000, 2000], index=1, key="cc_exact_agg")
        if c[2].button(ctx.t("circle_exact_button"), key="cc_exact_go", icon=":material/calculate:"):
            src, cut_off, as_of, district, k, minutes, speed, circuity, rural, _cap, upload = args
            pop, cand = siting_instance(
                src, cut_off, as_of, district, minutes, speed, circuity, rural, upload
            )
            with st.spinner(ctx.t("circle_exact_running")):
                try:
                    out = sc.site_exact(
                        pop,
                        cand,
                        points_of(src, cut_off, as_of),
                        k,
                        minutes,
                        speed,
                        circuity,
                        time_limit_s=float(limit),
                        aggregate_to_m=float(agg),
                        rural_distance_m=RURAL_M if rural else None,
                    )
                except TypeError:  # HiGHS stopped without any solution (no dual bound reported)
                    out = None
            st.session_state["cc_exact"] = (args, limit, agg, out)
        saved = st.session_state.get("cc_exact")
        if not saved or saved[0] != args:
            return
        _, limit, agg, out = saved
        if out is None or out["chosen"].empty and out["objective"] != 0:
            st.warning(ctx.t("circle_exact_none", limit=limit))
            return
        bound_gap = (
            (out["dual_bound"] - out["greedy_objective"]) / out["dual_bound"]
            if np.isfinite(out["dual_bound"]) and out["dual_bound"] > 0
            else 0.0
        )
        text = ctx.t(
            "circle_exact_result",
            status=ctx.t("circle_exact_optimal")
            if out["status"] == 0
            else ctx.t("circle_exact_limit", limit=limit),
            exact=fmt_int(out["objective"], ctx.lang),
            greedy=fmt_int(out["greedy_objective"], ctx.lang),
            gap=f"{out['greedy_gap'] * 100:.2f}",
            bound=fmt_int(out["dual_bound"], ctx.lang),
            bound_gap=f"{max(bound_gap, 0.0) * 100:.2f}",
            cells=fmt_int(out["cells"], ctx.lang),
            agg=agg,
            full=fmt_int(out["objective_full_resolution"], ctx.lang),
        )
        (st.success if out["status"] == 0 else st.info)(text)
