"""Pure chart builders for the forecasts page (DataFrames in, Altair charts out; no Streamlit)."""

from __future__ import annotations

import altair as alt
import pandas as pd

HISTORY = "#37474F"
FORECAST = "#1565C0"
LIVE = "#EF6C00"
CONTROL = "#C62828"
BAND_95 = "#BBDEFB"
BAND_80 = "#64B5F6"
EVENT = "#9E9E9E"
HEIGHT = 380
# Vega names months in English ("April"); this axis writes "2026年" at each January and "4月" elsewhere.
MONTH_AXIS = alt.Axis(
    labelExpr="month(datum.value) == 0 ? timeFormat(datum.value, '%Y年') : timeFormat(datum.value, '%-m月')",
    format="%Y年%-m月",
    labelOverlap=True,
)


def month_start(frame: pd.DataFrame) -> pd.Series:
    """``year, month`` columns → the month's first day (what Altair puts on a time axis)."""
    return pd.to_datetime(dict(year=frame["year"], month=frame["month"], day=1))


def _bands(fc: pd.DataFrame, labels: dict[str, str], fmt: str) -> list[alt.Chart]:
    base = alt.Chart(fc).encode(x=alt.X("date:T", title=None, axis=MONTH_AXIS))
    y_title = labels["value"]
    band95 = base.mark_area(color=BAND_95, opacity=0.6).encode(
        y=alt.Y("lo_95:Q", title=y_title, scale=alt.Scale(zero=False)), y2="hi_95:Q"
    )
    band80 = base.mark_area(color=BAND_80, opacity=0.55).encode(y="lo_80:Q", y2="hi_80:Q")
    mean = base.mark_line(color=FORECAST, strokeDash=[5, 3], point=True).encode(
        y="mean:Q",
        tooltip=[
            alt.Tooltip("date:T", title=labels["month"], format="%Y-%m"),
            alt.Tooltip("mean:Q", title=labels["mean"], format=fmt),
            alt.Tooltip("lo_80:Q", title=labels["lo_80"], format=fmt),
            alt.Tooltip("hi_80:Q", title=labels["hi_80"], format=fmt),
            alt.Tooltip("lo_95:Q", title=labels["lo_95"], format=fmt),
            alt.Tooltip("hi_95:Q", title=labels["hi_95"], format=fmt),
        ],
    )
    return [band95, band80, mean]


def forecast_chart(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    labels: dict[str, str],
    control_line: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    live: pd.DataFrame | None = None,
    percent: bool = False,
) -> alt.LayerChart:
    """History, the stored forecast with its 95 % and 80 % bands, optional control line, events, live re-run.

    ``history``: ``year, month, value``; ``forecast`` (and ``live``): ``year, month, mean, lo_80, hi_80,
    lo_95, hi_95``; ``control_line``: ``year, month, line`` (a step per year); ``events``: ``start, end,
    label`` (timestamps), drawn as grey shading only where they overlap the months shown. ``labels`` has
    keys value, month, actual, mean, lo_80, hi_80, lo_95, hi_95, line, live.
    """
    fmt = ".2f" if percent else ",.0f"
    hist = history.assign(date=month_start(history))
    fc = forecast.assign(date=month_start(forecast))
    x = alt.X("date:T", title=None, axis=MONTH_AXIS)
    layers: list[alt.Chart] = []
    first, last = hist["date"].min(), fc["date"].max()
    if events is not None and not events.empty and pd.notna(first):
        shown = events[(events["end"] >= first) & (events["start"] <= last)]
        if not shown.empty:
            shown = shown.assign(start=shown["start"].clip(lower=first), end=shown["end"].clip(upper=last))
            layers.append(
                alt.Chart(shown)
                .mark_rect(color=EVENT, opacity=0.18)
                .encode(
                    x=alt.X("start:T", axis=MONTH_AXIS),
                    x2="end:T",
                    tooltip=alt.Tooltip("label:N", title=labels["event"]),
                )
            )
    layers += _bands(fc, labels, fmt)
    layers.append(
        alt.Chart(hist)
        .mark_line(color=HISTORY, strokeWidth=1.8)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=labels["value"], scale=alt.Scale(zero=False)),
            tooltip=[
                alt.Tooltip("date:T", title=labels["month"], format="%Y-%m"),
                alt.Tooltip("value:Q", title=labels["actual"], format=fmt),
            ],
        )
    )
    if live is not None and not live.empty:
        lv = live.assign(date=month_start(live))
        layers.append(
            alt.Chart(lv)
            .mark_line(color=LIVE, strokeWidth=2)
            .encode(
                x=x,
                y="mean:Q",
                tooltip=[
                    alt.Tooltip("date:T", title=labels["month"], format="%Y-%m"),
                    alt.Tooltip("mean:Q", title=labels["live"], format=fmt),
                ],
            )
        )
    if control_line is not None and not control_line.empty:
        cl = control_line.assign(date=month_start(control_line))
        cl = cl[(cl["date"] >= first) & (cl["date"] <= last)]
        layers.append(
            alt.Chart(cl)
            .mark_line(color=CONTROL, strokeDash=[3, 2], interpolate="step-after")
            .encode(
                x=x,
                y="line:Q",
                tooltip=[alt.Tooltip("line:Q", title=labels["line"], format=".2f")],
            )
        )
    return alt.LayerChart(layer=layers).properties(height=HEIGHT)


def coherence_chart(frame: pd.DataFrame, labels: dict[str, str]) -> alt.LayerChart:
    """City forecast mean (line) against the sum of the district means (points): ``year, month, city, sum``."""
    data = frame.assign(date=month_start(frame))
    base = alt.Chart(data).encode(x=alt.X("date:T", title=None, axis=MONTH_AXIS))
    city = base.mark_line(color=FORECAST).encode(
        y=alt.Y("city:Q", title=labels["value"], scale=alt.Scale(zero=False)),
        tooltip=[
            alt.Tooltip("date:T", title=labels["month"], format="%Y-%m"),
            alt.Tooltip("city:Q", title=labels["city"], format=",.0f"),
            alt.Tooltip("sum:Q", title=labels["sum"], format=",.0f"),
        ],
    )
    total = base.mark_point(color=LIVE, size=40).encode(y="sum:Q")
    return alt.LayerChart(layer=[city, total]).properties(height=200)
