"""Forecasts: where unemployment and new employment will be at year end, with honest ranges and a record.

Reads the stored run only (``bureau forecast`` computes it); the one live computation is the planner's
re-run, on demand, cached and never written to the database.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st

import forecasting
from figures.forecasts import SHOCK_2020
from i18n import fmt_date, fmt_int, fmt_month, fmt_pct
from queries import forecasts as fq
from queries import meta
from ui import charts_forecasts as charts
from ui.chart_png import png_button
from ui.common import Ctx, query, run_page, url_widget
from ui.forecast_parts import (
    HISTORY_MONTHS,
    accuracy,
    by_area,
    coherence,
    fmt_prob,
    fmt_value,
    line_for,
    live_table,
    method_note,
    model_version,
    planner,
    reconciliation_methods,
    to_frame,
    year_end_points,
)

# --- filters and stored data --------------------------------------------------------------------------------


def filters(ctx: Ctx) -> tuple[str, str, dict[str, str], dict[str, str]]:
    inds = query(meta.indicators)
    name_col = "name_zh" if ctx.lang == "zh" else "name_en"
    names = dict(zip(inds["code"], inds[name_col], strict=True))
    ind_names = {c: names.get(c, c) for c in fq.SERIES}
    areas = pd.concat([query(meta.areas, "city"), query(meta.areas, "district")])
    if not ctx.user.city_wide:  # a district planner sees their own district only
        areas = areas[areas["area_code"] == ctx.user.district_code]
    area_names = dict(zip(areas["area_code"], areas[name_col], strict=True))
    city = str(areas["area_code"].iloc[0]) if not areas.empty else ""
    cols = st.columns([2, 2, 3])
    indicator = url_widget(
        cols[0].selectbox,
        ctx.t("forecasts_indicator"),
        list(ind_names),
        "indicator",
        default=fq.RATE,
        format_func=ind_names.get,
    )
    area = url_widget(
        cols[1].selectbox,
        ctx.t("forecasts_area"),
        list(area_names),
        "area",
        default=city,
        format_func=area_names.get,
    )
    return indicator, area, ind_names, area_names


# --- sections -----------------------------------------------------------------------------------------------


def run_caption(ctx: Ctx, run: dict[str, Any]) -> None:
    created = run["created_at"]
    created = created if isinstance(created, datetime) else datetime.fromisoformat(str(created))
    cut = run["cut_off"] if isinstance(run["cut_off"], date) else date.fromisoformat(str(run["cut_off"])[:10])
    st.caption(
        ctx.t(
            "forecasts_run_caption",
            run_id=run["run_id"],
            created=f"{fmt_date(created.date(), ctx.lang)} {created:%H:%M}",
            cut_off=fmt_date(cut, ctx.lang),
            version=model_version(run["model_version"]),
        )
    )
    if ctx.status.cut_off and cut < ctx.status.cut_off:
        st.warning(
            ctx.t(
                "forecasts_stale",
                run_cut_off=fmt_date(cut, ctx.lang),
                cut_off=fmt_date(ctx.status.cut_off, ctx.lang),
            )
        )


def headline(
    ctx: Ctx, indicator: str, fc: pd.DataFrame, lines: pd.DataFrame, horizon: int
) -> list[pd.Period]:
    """Year-end metrics (and for the rate the chance of ending above the control line)."""
    latest_year = ctx.status.latest_year or fc.index[0].year
    points = year_end_points(fc, latest_year)
    cols = st.columns(4)
    for i, p in enumerate(points):
        row = fc.loc[p]
        cols[2 * i].metric(
            ctx.t("forecasts_at", month=fmt_month(p.year, p.month, ctx.lang)),
            fmt_value(row["mean"], indicator, ctx.lang),
        )
        cols[2 * i].caption(
            ctx.t(
                "forecasts_range80",
                lo=fmt_value(row["lo_80"], indicator, ctx.lang),
                hi=fmt_value(row["hi_80"], indicator, ctx.lang),
            )
        )
        line, _ = line_for(lines, p.year)
        if indicator == fq.RATE and line is not None:
            prob = forecasting.prob_above(fc, line, at=p)
            cols[2 * i + 1].metric(
                ctx.t("forecasts_prob_above", month=fmt_month(p.year, p.month, ctx.lang)),
                fmt_prob(prob),
                help=ctx.t("forecasts_prob_help", line=f"{line:.2f}%"),
            )
    next_dec = pd.Period(year=latest_year + 1, month=12, freq="M")
    if next_dec not in fc.index and next_dec > fc.index[-1]:
        st.caption(
            ctx.t(
                "forecasts_beyond_horizon",
                month=fmt_month(next_dec.year, 12, ctx.lang),
                h=horizon,
                last=fmt_month(fc.index[-1].year, fc.index[-1].month, ctx.lang),
            )
        )
    return points


def in_words(
    ctx: Ctx,
    indicator: str,
    area_name: str,
    fc: pd.DataFrame,
    hist: pd.DataFrame,
    lines: pd.DataFrame,
    targets: pd.DataFrame,
    point: pd.Period,
) -> str:
    """ "Where we will be at year end", one sentence for a leader."""
    row = fc.loc[point]
    month = fmt_month(point.year, point.month, ctx.lang)
    lo, hi = fmt_value(row["lo_80"], indicator, ctx.lang), fmt_value(row["hi_80"], indicator, ctx.lang)
    mean = fmt_value(row["mean"], indicator, ctx.lang)
    if indicator == fq.RATE:
        line, line_year = line_for(lines, point.year)
        if line is None:
            return ""
        text = ctx.t(
            "forecasts_words_rate",
            month=month,
            area=area_name,
            mean=mean,
            lo=lo,
            hi=hi,
            position=ctx.t("forecasts_below" if row["mean"] <= line else "forecasts_above"),
            line=f"{line:.2f}%",
            prob=fmt_prob(forecasting.prob_above(fc, line, at=point)),
        )
        if line_year != point.year:
            text += " " + ctx.t(
                "forecasts_line_assumed", year=point.year, last_year=line_year, line=f"{line:.2f}%"
            )
        return text
    last = hist.iloc[-1]
    if indicator == fq.REGISTERED:
        change = float(row["mean"]) - float(last["value"])
        key = "forecasts_more" if change >= 0 else "forecasts_fewer"
        return ctx.t(
            "forecasts_words_stock",
            month=month,
            area=area_name,
            mean=mean,
            lo=lo,
            hi=hi,
            change=ctx.t(key, n=fmt_int(abs(change), ctx.lang)),
            last=fmt_int(float(last["value"]), ctx.lang),
            last_month=fmt_month(int(last["year"]), int(last["month"]), ctx.lang),
        )
    ytd = float(hist.loc[hist["year"] == point.year, "value"].sum())
    rest = float(fc.loc[(fc.index.year == point.year) & (fc.index <= point), "mean"].sum())
    total = ytd + rest
    target = targets.loc[targets["year"] == point.year, "target_value"]
    target_part = ""
    if not target.empty and float(target.iloc[0]) > 0:
        target_part = ctx.t(
            "forecasts_target_part",
            target=fmt_int(float(target.iloc[0]), ctx.lang),
            share=fmt_pct(total / float(target.iloc[0]), 0),
        )
    return ctx.t(
        "forecasts_words_flow",
        month=month,
        area=area_name,
        mean=mean,
        lo=lo,
        hi=hi,
        total=fmt_int(total, ctx.lang),
        ytd=fmt_int(ytd, ctx.lang),
        target_part=target_part,
    )


def chart_labels(ctx: Ctx, value_title: str) -> dict[str, str]:
    keys = {
        "actual": "forecasts_lbl_actual",
        "mean": "forecasts_lbl_mean",
        "lo_80": "forecasts_lbl_lo80",
        "hi_80": "forecasts_lbl_hi80",
        "lo_95": "forecasts_lbl_lo95",
        "hi_95": "forecasts_lbl_hi95",
        "line": "forecasts_lbl_line",
        "live": "forecasts_lbl_live",
        "event": "forecasts_lbl_event",
        "month": "forecasts_lbl_month",
    }
    return {"value": value_title, **{k: ctx.t(v) for k, v in keys.items()}}


def event_frame() -> pd.DataFrame:
    start, end, label, _ = SHOCK_2020
    return pd.DataFrame(
        {
            "start": [pd.Period(start, freq="M").start_time],
            "end": [pd.Period(end, freq="M").end_time.normalize()],
            "label": [label],
        }
    )


def line_frame(lines: pd.DataFrame, months: pd.PeriodIndex) -> pd.DataFrame:
    """The control line month by month (each year's line; the newest known for later years)."""
    rows = [(p.year, p.month, line_for(lines, p.year)[0]) for p in months]
    frame = pd.DataFrame(rows, columns=["year", "month", "line"])
    return frame.dropna()


def chart(
    ctx: Ctx,
    indicator: str,
    hist: pd.DataFrame,
    values: pd.DataFrame,
    lines: pd.DataFrame,
    value_title: str,
    live: pd.DataFrame | None = None,
) -> None:
    span = st.segmented_control(
        ctx.t("forecasts_history_span"),
        ["4y", "all"],
        default="4y",
        key="fc_span",
        format_func=lambda v: ctx.t("forecasts_span_4y" if v == "4y" else "forecasts_span_all"),
    )
    shown = hist.tail(HISTORY_MONTHS) if span != "all" else hist
    months = pd.PeriodIndex.from_fields(
        year=pd.concat([shown["year"], values["year"]]),
        month=pd.concat([shown["month"], values["month"]]),
        freq="M",
    )
    control = line_frame(lines, months) if indicator == fq.RATE else None
    drawn = charts.forecast_chart(
        shown,
        values,
        chart_labels(ctx, value_title),
        control_line=control,
        events=event_frame(),
        live=live,
        percent=indicator == fq.RATE,
    )
    st.altair_chart(drawn, width="stretch")
    st.caption(ctx.t("forecasts_chart_caption"))
    png_button(drawn, f"forecast-{indicator}", "fc_dl_png", ctx.lang)


# --- the page -----------------------------------------------------------------------------------------------


def body(ctx: Ctx) -> None:
    indicator, area, ind_names, area_names = filters(ctx)
    # The newest run is looked up on every rerun (one indexed query) so a fresh run shows at once; everything
    # read for it is cached by run id.
    run = fq.newest_run(ctx.engine, indicator, area)
    if run is None:
        st.info(ctx.t("forecasts_none"), icon=":material/hourglass_empty:")
        return
    run_id = int(run["run_id"])
    run_caption(ctx, run)
    values = query(fq.run_values, run_id, indicator)
    mine = values[values["area_code"] == area]
    if mine.empty:
        st.info(ctx.t("forecasts_none"), icon=":material/hourglass_empty:")
        return
    fc = to_frame(mine)
    history = query(fq.series_history, (indicator,))
    hist = history[history["area_code"] == area][["year", "month", "value"]].reset_index(drop=True)
    all_lines = query(fq.annual_targets, fq.RATE)
    lines = all_lines[all_lines["area_code"] == area]
    targets = query(fq.annual_targets, fq.NEW_EMPLOYMENT)
    targets = targets[targets["area_code"] == area]
    points = headline(ctx, indicator, fc, lines, len(fc))
    for p in points:
        st.markdown(in_words(ctx, indicator, area_names.get(area, area), fc, hist, lines, targets, p))
    live = planner(ctx, indicator, area, hist)
    st.subheader(ctx.t("forecasts_chart"))
    live_rows = None
    if live is not None:
        live_rows = live.assign(year=live.index.year, month=live.index.month).reset_index(drop=True)
    chart(ctx, indicator, hist, mine, lines, ind_names[indicator], live_rows)
    if live is not None:
        live_table(ctx, indicator, fc, live, line_for(lines, points[0].year)[0] if points else None)
    acc_all = query(fq.run_accuracy, run_id, indicator)
    accuracy(ctx, indicator, acc_all[acc_all["area_code"] == area])
    methods = reconciliation_methods(query(fq.run_note, run_id))
    city = next(
        (a for a in area_names if a not in set(history["area_code"][history["level"] == "district"])), ""
    )
    coherence(ctx, indicator, values, city, methods)
    lines_by_area = (
        {a: line_for(all_lines[all_lines["area_code"] == a], points[0].year)[0] for a in area_names}
        if indicator == fq.RATE and points
        else {}
    )
    if points:
        by_area(ctx, indicator, values, acc_all, area_names, points[0], lines_by_area)
    method_note(ctx, methods, str(mine["model"].iloc[0]) if not mine.empty else "—", ind_names)


run_page(body, "page_forecasts", "forecasts_caption")
