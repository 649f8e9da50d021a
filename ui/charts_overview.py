"""Pure chart builders for the overview tiles and the explore page (DataFrames in, Altair charts out)."""

from __future__ import annotations

import altair as alt
import pandas as pd

LINE = "#1565C0"
CONTROL = "#C62828"
BAND = "#90CAF9"
SPARK_HEIGHT = 60


def _dates(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(dict(year=frame["year"], month=frame["month"], day=1))


def sparkline(series: pd.DataFrame, value_title: str, control_line: float | None = None) -> alt.Chart:
    """A small line of monthly values (``year, month, value``), no axes; an optional red control line."""
    data = series.assign(date=_dates(series))
    base = alt.Chart(data).encode(
        x=alt.X("date:T", axis=None),
        tooltip=[
            alt.Tooltip("date:T", format="%Y-%m"),
            alt.Tooltip("value:Q", title=value_title, format=",.2f"),
        ],
    )
    line = base.mark_line(color=LINE, strokeWidth=1.6).encode(
        y=alt.Y("value:Q", axis=None, scale=alt.Scale(zero=False))
    )
    last = base.transform_window(
        rank="rank()", sort=[alt.SortField("date", order="descending")]
    ).transform_filter("datum.rank == 1")
    layers: list[alt.Chart] = [line, last.mark_point(color=LINE, filled=True, size=25).encode(y="value:Q")]
    if control_line is not None:
        rule = alt.Chart(pd.DataFrame({"line": [control_line]})).mark_rule(color=CONTROL, strokeDash=[3, 2])
        layers.append(rule.encode(y="line:Q"))
    return alt.layer(*layers).properties(height=SPARK_HEIGHT).configure_view(strokeWidth=0)


def forecast_spark(
    actual: pd.DataFrame, forecast: pd.DataFrame, control_line: float | None, labels: dict[str, str]
) -> alt.Chart:
    """Actual monthly values (``year, month, value``), then the forecast mean with its 80 % band and the line."""
    act = actual.assign(date=_dates(actual))
    fc = forecast.assign(date=_dates(forecast))
    y = alt.Y("value:Q", axis=None, scale=alt.Scale(zero=False))
    band = (
        alt.Chart(fc)
        .mark_area(color=BAND, opacity=0.5)
        .encode(
            x=alt.X("date:T", axis=None),
            y=alt.Y("lo_80:Q", axis=None, scale=alt.Scale(zero=False)),
            y2="hi_80:Q",
        )
    )
    past = alt.Chart(act).mark_line(color=LINE).encode(x="date:T", y=y)
    ahead = (
        alt.Chart(fc.rename(columns={"mean": "value"}))
        .mark_line(color=LINE, strokeDash=[4, 2])
        .encode(
            x="date:T",
            y=y,
            tooltip=[
                alt.Tooltip("date:T", format="%Y-%m"),
                alt.Tooltip("value:Q", title=labels["mean"], format=".2f"),
                alt.Tooltip("lo_80:Q", title=labels["lo"], format=".2f"),
                alt.Tooltip("hi_80:Q", title=labels["hi"], format=".2f"),
            ],
        )
    )
    layers: list[alt.Chart] = [band, past, ahead]
    if control_line is not None:
        rule = alt.Chart(pd.DataFrame({"line": [control_line]})).mark_rule(color=CONTROL, strokeDash=[3, 2])
        layers.append(rule.encode(y="line:Q"))
    return alt.layer(*layers).properties(height=SPARK_HEIGHT).configure_view(strokeWidth=0)


def explore_chart(
    frame: pd.DataFrame, x: str, color: str | None, labels: dict[str, str], line: bool
) -> alt.Chart:
    """The explore view: ``frame`` has columns ``x`` (labels), optionally ``color`` (labels) and ``value``.

    A line over time when ``line`` (the x dimension is the period), else grouped bars (never stacked, so that
    rates and stocks are not added up visually).
    """
    enc_x = alt.X(f"{x}:N", title=labels.get(x, x), sort=None)
    enc_y = alt.Y("value:Q", title=labels.get("value", "value"))
    tooltip = [alt.Tooltip(f"{x}:N", title=labels.get(x, x))]
    if color:
        tooltip.append(alt.Tooltip(f"{color}:N", title=labels.get(color, color)))
    tooltip.append(alt.Tooltip("value:Q", title=labels.get("value", "value"), format=",.2f"))
    chart = alt.Chart(frame)
    mark = chart.mark_line(point=True) if line else chart.mark_bar()
    enc = {"x": enc_x, "y": enc_y, "tooltip": tooltip}
    if color:
        enc["color"] = alt.Color(f"{color}:N", title=labels.get(color, color), sort=None)
        if not line:
            enc["xOffset"] = alt.XOffset(f"{color}:N", sort=None)
    return mark.encode(**enc).properties(height=380)
