"""Pure chart builders for the Funds page: DataFrames in, Altair charts out (no st.* calls).

``labels`` maps the internal field names to the axis titles in the page's language.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

HIGHLIGHT = "#C62828"
BASE = "#1565C0"
MUTED = "#90A4AE"
# Every bar named (issue #19): Vega drops labels it thinks overlap; with a step per district it never has to.
AREA_AXIS = alt.Axis(labelOverlap=False, labelLimit=200, labelFontSize=12)
ROW = 26  # pixels per district


def _colour(highlight: str | None) -> Any:
    if not highlight:
        return alt.value(BASE)
    return alt.condition(alt.datum.area_code == highlight, alt.value(HIGHLIGHT), alt.value(BASE))


def score_bars(scores: pd.DataFrame, labels: dict[str, str], highlight: str | None = None) -> alt.Chart:
    """Horizontal bars of the composite score, best first. ``scores``: ``area_code, area, score, rank``."""
    data = scores.dropna(subset=["score"]).sort_values("rank")
    order = data["area"].tolist()
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("score:Q", title=labels["score"]),
            y=alt.Y("area:N", sort=order, title=None, axis=AREA_AXIS),
            color=_colour(highlight),
            tooltip=[
                alt.Tooltip("area:N", title=labels["area"]),
                alt.Tooltip("score:Q", title=labels["score"], format=".1f"),
                alt.Tooltip("rank:Q", title=labels["rank"]),
            ],
        )
        .properties(height=max(180, ROW * len(data)))
    )


def rank_bands(bands: pd.DataFrame, labels: dict[str, str], highlight: str | None = None) -> alt.LayerChart:
    """Each district's 5th–95th percentile rank band (rule), median rank (point) and nominal rank (tick).

    ``bands``: ``area_code, area, rank_nominal, rank_median, rank_p05, rank_p95`` (rank 1 = best, drawn left).
    """
    data = bands.dropna(subset=["rank_nominal"]).sort_values(["rank_nominal", "rank_median"])
    order = data["area"].tolist()
    n = max(int(data["rank_p95"].max()) if len(data) else 1, 1)
    y = alt.Y("area:N", sort=order, title=None, axis=AREA_AXIS)
    x_scale = alt.Scale(domain=[0.5, n + 0.5])
    tooltip = [
        alt.Tooltip("area:N", title=labels["area"]),
        alt.Tooltip("rank_nominal:Q", title=labels["rank_nominal"]),
        alt.Tooltip("rank_median:Q", title=labels["rank_median"], format=".1f"),
        alt.Tooltip("rank_p05:Q", title=labels["rank_p05"], format=".1f"),
        alt.Tooltip("rank_p95:Q", title=labels["rank_p95"], format=".1f"),
    ]
    base = alt.Chart(data)
    band = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("rank_p05:Q", scale=x_scale, title=labels["rank"]),
        x2="rank_p95:Q",
        y=y,
        color=_colour(highlight),
        tooltip=tooltip,
    )
    median = base.mark_point(filled=True, size=70).encode(
        x="rank_median:Q", y=y, color=_colour(highlight), tooltip=tooltip
    )
    nominal = base.mark_tick(color="black", thickness=2, size=14).encode(
        x="rank_nominal:Q", y=y, tooltip=tooltip
    )
    return (band + median + nominal).properties(height=max(180, ROW * len(data)))


def weight_bars(weights: pd.DataFrame, labels: dict[str, str]) -> alt.Chart:
    """Nominal beside effective weights per indicator. ``weights``: ``indicator, kind, weight`` (long format,
    ``kind`` already translated)."""
    return (
        alt.Chart(weights)
        .mark_bar()
        .encode(
            y=alt.Y("indicator:N", title=None, sort=None, axis=AREA_AXIS),
            x=alt.X("weight:Q", title=labels["weight"], axis=alt.Axis(format="%")),
            yOffset=alt.YOffset("kind:N"),
            color=alt.Color(
                "kind:N", title=None, scale=alt.Scale(range=[MUTED, BASE]), legend=alt.Legend(orient="bottom")
            ),
            tooltip=[
                alt.Tooltip("indicator:N", title=labels["indicator"]),
                alt.Tooltip("kind:N", title=" "),
                alt.Tooltip("weight:Q", title=labels["weight"], format=".1%"),
            ],
        )
        .properties(height=max(180, 40 * weights["indicator"].nunique()))
    )


def category_bars(spending: pd.DataFrame, labels: dict[str, str]) -> alt.Chart:
    """Stacked subsidy spending by category per district. ``spending``: ``area, category, amount_yuan``."""
    return (
        alt.Chart(spending)
        .mark_bar()
        .encode(
            y=alt.Y("area:N", title=None, axis=AREA_AXIS),
            x=alt.X("amount_yuan:Q", title=labels["amount"], stack="normalize", axis=alt.Axis(format="%")),
            color=alt.Color("category:N", title=labels["category"], legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("area:N", title=labels["area"]),
                alt.Tooltip("category:N", title=labels["category"]),
                alt.Tooltip("amount_yuan:Q", title=labels["amount"], format=",.0f"),
                alt.Tooltip("share_pct:Q", title="%", format=".1f"),
            ],
        )
        .properties(height=max(180, ROW * spending["area"].nunique()))
    )


def allocation_bars(
    alloc: pd.DataFrame, labels: dict[str, str], highlight: str | None = None
) -> alt.LayerChart | alt.Chart:
    """What-if amount (bar), its 5th–95th percentile over the Monte Carlo runs (rule) and last year's actual
    (tick). ``alloc``: ``area_code, area, amount_yuan, amount_p05, amount_p95, last_year_yuan``."""
    data = alloc.sort_values("amount_yuan", ascending=False)
    y = alt.Y("area:N", sort=data["area"].tolist(), title=None, axis=AREA_AXIS)
    tooltip = [
        alt.Tooltip("area:N", title=labels["area"]),
        alt.Tooltip("amount_yuan:Q", title=labels["amount"], format=",.2f"),
        alt.Tooltip("last_year_yuan:Q", title=labels["last_year"], format=",.2f"),
    ]
    base = alt.Chart(data)
    bars = base.mark_bar(opacity=0.8).encode(
        x=alt.X("amount_yuan:Q", title=labels["amount"]), y=y, color=_colour(highlight), tooltip=tooltip
    )
    layers = [bars]
    if data["amount_p05"].notna().any():
        layers.append(
            base.mark_rule(color="black", strokeWidth=2).encode(x="amount_p05:Q", x2="amount_p95:Q", y=y)
        )
    if data["last_year_yuan"].notna().any():
        layers.append(base.mark_tick(color="#F9A825", thickness=3, size=16).encode(x="last_year_yuan:Q", y=y))
    return alt.layer(*layers).properties(height=max(180, ROW * len(data)))  # type: ignore[return-value]


def split_bars(
    alloc: pd.DataFrame, labels: dict[str, str], highlight: str | None = None
) -> alt.LayerChart | alt.Chart:
    """The proposed split in 万元 (bar, every district named), last year's amount from the same pot (tick), the
    Monte Carlo 5th–95th percentile (rule) and a floor/cap mark beside a bar held by its bound.

    ``alloc``: ``area_code, area, amount_wan, last_year_wan, p05_wan, p95_wan, bound_text``. The x scale is the
    chart's own (from zero to the largest of these figures), never another pot's.
    """
    data = alloc.sort_values("amount_wan", ascending=False)
    order = data["area"].tolist()
    y = alt.Y("area:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=200))
    top = float(
        pd.concat([data["amount_wan"], data["last_year_wan"], data["p95_wan"]]).max(skipna=True) or 1.0
    )
    x = alt.X("amount_wan:Q", title=labels["amount"], scale=alt.Scale(domain=[0, top * 1.15], nice=False))
    tooltip = [
        alt.Tooltip("area:N", title=labels["area"]),
        alt.Tooltip("amount_wan:Q", title=labels["amount"], format=",.2f"),
        alt.Tooltip("last_year_wan:Q", title=labels["last_year"], format=",.2f"),
        alt.Tooltip("bound_text:N", title=labels["bound"]),
    ]
    base = alt.Chart(data)
    layers: list[Any] = [
        base.mark_bar(opacity=0.8).encode(x=x, y=y, color=_colour(highlight), tooltip=tooltip),
        base.mark_text(align="left", dx=4, color="#37474F").encode(x=x, y=y, text="bound_text:N"),
    ]
    if data["p05_wan"].notna().any():
        layers.append(base.mark_rule(color="black", strokeWidth=2).encode(x="p05_wan:Q", x2="p95_wan:Q", y=y))
    if data["last_year_wan"].notna().any():
        layers.append(base.mark_tick(color="#F9A825", thickness=3, size=16).encode(x="last_year_wan:Q", y=y))
    return alt.layer(*layers).properties(height=max(200, 28 * len(data)))  # type: ignore[return-value]
