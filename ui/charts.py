"""Pure chart and map builders: DataFrames in, Altair charts or pydeck decks out (no st.* calls)."""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pydeck as pdk

STATUS_RGB = {"green": [46, 125, 50], "yellow": [249, 168, 37], "red": [198, 40, 40], None: [189, 189, 189]}
STATUS_HEX = {"green": "#2E7D32", "yellow": "#F9A825", "red": "#C62828", "withheld": "#9E9E9E"}
WUHAN_VIEW = pdk.ViewState(longitude=114.35, latitude=30.62, zoom=8.4, pitch=0)


def polygons(boundaries: pd.DataFrame) -> pd.DataFrame:
    """One row per outer ring of each area's GeoJSON boundary (columns of ``boundaries`` kept, plus ``polygon``)."""
    rows = []
    for rec in boundaries.to_dict("records"):
        geom = json.loads(rec["boundary_geojson"])
        parts = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        for part in parts:
            rows.append({**{k: v for k, v in rec.items() if k != "boundary_geojson"}, "polygon": part[0]})
    columns = [c for c in boundaries.columns if c != "boundary_geojson"] + ["polygon"]
    return pd.DataFrame(rows, columns=columns)


def view_for(boundaries: pd.DataFrame) -> pdk.ViewState:
    """A view that frames the given areas (falls back to the whole city)."""
    if boundaries.empty:
        return WUHAN_VIEW
    pts = np.concatenate([np.asarray(p) for p in polygons(boundaries)["polygon"]])
    span = max(float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1])), 0.01)
    zoom = float(np.clip(np.log2(360 / span) - 1.0, 7, 14))  # the whole city fits a 1024 px tablet's column
    return pdk.ViewState(longitude=float(pts[:, 0].mean()), latitude=float(pts[:, 1].mean()), zoom=zoom)


def status_map(
    boundaries: pd.DataFrame,
    status: pd.DataFrame,
    tooltip_html: str,
    view: pdk.ViewState | None = None,
    tile_url: str | None = None,
) -> pdk.Deck:
    """Areas coloured by red/yellow/green status. ``status`` has ``area_code, status`` and tooltip columns.

    Nothing is loaded from the internet: no base map unless a tile server is configured.
    """
    data = polygons(boundaries).merge(status, on="area_code", how="left")
    data["fill"] = [
        STATUS_RGB.get(s if isinstance(s, str) else None, STATUS_RGB[None]) + [190]
        for s in data.get("status", pd.Series([None] * len(data)))
    ]
    layers: list[Any] = []
    if tile_url:
        layers.append(pdk.Layer("TileLayer", data=tile_url, id="tiles"))
    layers.append(
        pdk.Layer(
            "PolygonLayer",
            data=data,
            id="areas",
            get_polygon="polygon",
            get_fill_color="fill",
            get_line_color=[255, 255, 255],
            line_width_min_pixels=1,
            pickable=True,
            auto_highlight=True,
        )
    )
    if "name" in data.columns:  # every district named on the map (issue #19)
        layers.append(name_layer(data))
    return pdk.Deck(
        layers=layers,
        initial_view_state=view or view_for(boundaries),
        map_provider=None,  # and no map_style: None would make Streamlit fetch Carto tiles
        tooltip={"html": tooltip_html},
    )


def name_layer(data: pd.DataFrame) -> pdk.Layer:
    """Area names at the middle of each area's largest ring (deck.gl draws only the glyphs it is given)."""
    rows = []
    for name, group in data.groupby("name", sort=False):
        ring = max(group["polygon"], key=len)
        pts = np.asarray(ring, dtype=float)
        rows.append({"name": str(name), "position": [float(pts[:, 0].mean()), float(pts[:, 1].mean())]})
    return pdk.Layer(
        "TextLayer",
        data=pd.DataFrame(rows),
        id="names",
        get_position="position",
        get_text="name",
        get_size=13,
        get_color=[17, 24, 39],
        font_family='"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif',
        # Chinese glyphs must be listed; ASCII is in deck.gl's default set, and a quote in the list (Jiang'an)
        # breaks the JSON converter's parsing, so only the non-ASCII characters are given
        character_set=sorted({ch for row in rows for ch in str(row["name"]) if ord(ch) > 127})
        or [chr(c) for c in range(48, 58)],
        font_weight=600,
        pickable=False,
    )


def status_legend(labels: dict[str, str]) -> str:
    """The status map's legend as Streamlit markdown: a coloured square and the word for each status."""
    colours = {"green": "green", "yellow": "orange", "red": "red", "withheld": "gray"}
    return " · ".join(f":{colours[s]}[■] {labels[s]}" for s in STATUS_HEX if s in labels)


def cumulative_chart(curve: pd.DataFrame, pace: pd.DataFrame, labels: dict[str, str]) -> alt.Chart:
    """Cumulative actual by month against the annual target and both pace lines."""
    long = pd.concat(
        [
            curve[["month", "cumulative"]]
            .rename(columns={"cumulative": "value"})
            .assign(series=labels["actual"]),
            pace[["month", "linear"]].rename(columns={"linear": "value"}).assign(series=labels["linear"]),
            pace[["month", "seasonal"]]
            .rename(columns={"seasonal": "value"})
            .assign(series=labels["seasonal"]),
        ],
        ignore_index=True,
    )
    colors = alt.Scale(
        domain=[labels["actual"], labels["linear"], labels["seasonal"]],
        range=["#B7312C", "#6B7280", "#2563EB"],
    )
    lines = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title=labels["month"]),
            y=alt.Y("value:Q", title=labels["value"]),
            color=alt.Color("series:N", scale=colors, title=None),
            strokeDash=alt.condition(
                alt.datum.series == labels["actual"], alt.value([1, 0]), alt.value([5, 4])
            ),
            tooltip=["series:N", "month:O", alt.Tooltip("value:Q", format=",.0f")],
        )
    )
    if curve["target"].notna().any():
        rule = (
            alt.Chart(pd.DataFrame({"target": [float(curve["target"].dropna().iloc[0])]}))
            .mark_rule(color="#111827", strokeDash=[2, 2])
            .encode(y="target:Q")
        )
        return (lines + rule).properties(height=300)
    return lines.properties(height=300)


def heat_table(frame: pd.DataFrame, labels: dict[str, str]) -> alt.Chart:
    """District × indicator grid coloured by status, the figure written in each cell.

    Districts run down (13 rows, each name readable), indicators across with slanted headers, so that no
    header runs into the next and "未完成" fits its cell on a 1024 px tablet too (issue #19).
    ``frame`` has ``area, indicator, label, status, status_text``; ``labels["status"]`` titles the legend and
    ``labels[<status>]`` name the colours in the page's language.
    """
    domain = [labels[s] for s in STATUS_HEX]
    base = alt.Chart(frame).encode(
        x=alt.X(
            "indicator:N",
            title=None,
            sort=None,
            axis=alt.Axis(
                labelAngle=-35, labelAlign="left", labelOverlap=False, orient="top", labelLimit=140
            ),
        ),
        y=alt.Y("area:N", title=None, sort=None, axis=alt.Axis(labelLimit=120, labelOverlap=False)),
    )
    rect = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color(
            "status_text:N",
            scale=alt.Scale(domain=domain, range=list(STATUS_HEX.values())),
            legend=alt.Legend(title=labels["status"], orient="bottom"),
        ),
        tooltip=["area:N", "indicator:N", "label:N", "status_text:N"],
    )
    text = base.mark_text(fontSize=11, color="white").encode(text="label:N")
    return (rect + text).properties(height=alt.Step(28), width=alt.Step(46))  # "未完成" fits its cell


def bar_chart(
    frame: pd.DataFrame, x: str, y: str, labels: dict[str, str], color: str = "#B7312C"
) -> alt.Chart:
    """A horizontal bar chart, largest first."""
    return (
        alt.Chart(frame)
        .mark_bar(color=color)
        .encode(
            x=alt.X(f"{x}:Q", title=labels.get(x, x)),
            y=alt.Y(f"{y}:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=200)),
            tooltip=[f"{y}:N", alt.Tooltip(f"{x}:Q", format=",.0f")],
        )
        .properties(height=alt.Step(28))
    )


def actual_vs_expected(frame: pd.DataFrame, labels: dict[str, str]) -> alt.Chart:
    """Each district's actual completion against the completion expected from its conditions."""
    lo = float(min(frame["expected"].min(), frame["actual"].min())) - 0.05
    hi = float(max(frame["expected"].max(), frame["actual"].max())) + 0.05
    diag = (
        alt.Chart(pd.DataFrame({"v": [lo, hi]}))
        .mark_line(color="#9CA3AF", strokeDash=[4, 4])
        .encode(
            x=alt.X("v:Q", scale=alt.Scale(domain=[lo, hi], zero=False)),
            y=alt.Y("v:Q", scale=alt.Scale(domain=[lo, hi], zero=False)),
        )
    )
    pts = (
        alt.Chart(frame)
        .mark_circle(size=90)
        .encode(
            x=alt.X(
                "expected:Q",
                title=labels["expected"],
                scale=alt.Scale(domain=[lo, hi], zero=False),
                axis=alt.Axis(format="%"),
            ),
            y=alt.Y(
                "actual:Q",
                title=labels["actual"],
                scale=alt.Scale(domain=[lo, hi], zero=False),
                axis=alt.Axis(format="%"),
            ),
            color=alt.Color("zone:N", title=labels["zone"]),
            tooltip=[
                "area:N",
                alt.Tooltip("actual:Q", format=".1%"),
                alt.Tooltip("expected:Q", format=".1%"),
            ],
        )
    )
    names = pts.mark_text(dx=8, align="left", fontSize=10).encode(text="area:N")
    return (diag + pts + names).properties(height=320)
