"""Pure builders for the service-circle page: map rows, the coverage map and the charts (no st.* calls).

Nothing here loads anything from the internet: the deck has no base map (``map_provider=None`` and no
``map_style``) unless a tile server of the bureau's own is configured.
"""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from ui import map_raster
from ui.charts import polygons

CLASS_RGB = {"covered": [46, 125, 50], "near": [249, 168, 37], "far": [198, 40, 40]}
CLASS_ORDER = ("covered", "near", "far")
LEVEL_RGB = {
    "district_centre": [88, 28, 135],
    "street_station": [29, 78, 216],
    "community_point": [8, 145, 178],
    "gig_market": [194, 65, 12],
    "partner": [75, 85, 99],
}
SITE_RGB = [219, 39, 119]
MAX_MAP_CELLS = (
    10**9
)  # the one-picture mode (ui.map_raster) is off: deck.gl's JSON converter parsed its data: URL as an expression (browser error)
HOVER_MAX = 2_500  # at most this many squares to hover over: 500 m, 1 km, 2 km... whichever fits
M_PER_DEG_LAT = 110_574.0


class CompactDeck(pdk.Deck):
    """A deck whose JSON is compact (no indentation, C encoder) and built once.

    pydeck's own ``to_json`` indents and sorts keys with the pure-Python encoder: about 0.9 s for 60,000
    cells. This is the same JSON, minified, ~10x faster, and memoised so a cached deck costs nothing later.
    """

    _spec: str | None = None

    def to_json(self) -> str:
        if self._spec is None:
            self._spec = json.dumps(self, default=default_serialize, separators=(",", ":"))
        return self._spec


def classify(result: pd.DataFrame, rural: np.ndarray, minutes: float, rural_m: float | None) -> np.ndarray:
    """Map class per cell: ``covered``; ``near`` (up to twice the threshold: 2 × minutes, or 2 × 5 km for
    rural cells under the 5 km rule); ``far`` beyond. ``result`` needs ``covered, minutes, straight_m``."""
    covered = result["covered"].to_numpy(bool)
    mins = result["minutes"].to_numpy(float)
    near = mins <= 2 * minutes
    if rural_m is not None:
        rural_near = result["straight_m"].to_numpy(float) <= 2 * rural_m
        near = np.where(rural, rural_near, near)
    return np.where(covered, "covered", np.where(near, "near", "far"))


def map_cells(
    cells: pd.DataFrame,
    result: pd.DataFrame,
    cls: np.ndarray,
    labels: dict[str, str],
    max_cells: int = MAX_MAP_CELLS,
    cell_m: float = 250.0,
    min_people: int = 0,
) -> tuple[pd.DataFrame, float]:
    """Rows for the cell layer and the square size drawn (m).

    ``cells`` has GCJ-02 ``lon, lat`` (as drawn), ``population``, ``working_age``, ``district_code``.
    Up to ``max_cells`` cells are drawn as they are, each with its tooltip. More (a whole city: 120,000) are
    drawn as one picture of every cell (``rows.attrs["raster"]``: a PNG ``data:`` URL and its bounds, for a
    ``BitmapLayer``), and the rows are then squares of 500 m, 1 km, 2 km... (the smallest giving at most
    ``HOVER_MAX``), nearly transparent, whose tooltips sum their cells: a few hundred kilobytes instead of
    megabytes of objects. ``labels``: ``people``, ``minutes``, ``block``, ``covered_share`` and one per class.
    Columns: ``p`` [lon, lat], ``f`` colour, ``d`` district, ``tip``. Tooltips say "< min_people" instead of a
    smaller head count (docs/privacy.md).
    """

    def people(n: float) -> str:
        return f"< {min_people}" if 0 < n < min_people else f"{n:,.0f}"

    frame = pd.DataFrame(
        {
            "lon": cells["lon"].to_numpy(float),
            "lat": cells["lat"].to_numpy(float),
            "n": cells["population"].to_numpy(float),
            "w": cells["working_age"].to_numpy(float),
            "d": cells["district_code"].to_numpy(),
            "m": result["minutes"].to_numpy(float),
            "k": cls,
        }
    )
    if len(frame) <= max_cells:
        mins = [f"{m:.1f}" if np.isfinite(m) else "—" for m in frame["m"]]
        tip = [
            f"{labels['people']}: {people(n)} ({labels['working_age']} {people(w)})<br/>{labels['minutes']}: {m}<br/>"
            f"{labels[k]}"
            for n, w, m, k in zip(frame["n"], frame["w"], mins, frame["k"], strict=True)
        ]
        out = pd.DataFrame(
            {
                "p": np.round(frame[["lon", "lat"]].to_numpy(), 5).tolist(),
                "f": [CLASS_RGB[k] + [185] for k in frame["k"]],
                "d": frame["d"],
                "tip": tip,
            }
        )
        return out, cell_m
    lat0 = float(frame["lat"].mean())
    size = 2 * cell_m
    while True:  # the smallest squares that keep the hover layer light
        dlat = size / M_PER_DEG_LAT
        dlon = dlat / np.cos(np.radians(lat0))
        frame["bx"] = np.floor(frame["lon"] / dlon).astype(np.int64)
        frame["by"] = np.floor(frame["lat"] / dlat).astype(np.int64)
        if len(frame[["bx", "by"]].drop_duplicates()) <= HOVER_MAX:
            break
        size *= 2
    for k in CLASS_ORDER:
        frame[f"n_{k}"] = np.where(frame["k"] == k, frame["n"], 0.0)
    fin = np.isfinite(frame["m"])
    frame["nm"] = np.where(fin, frame["n"] * np.where(fin, frame["m"], 0.0), 0.0)
    frame["nf"] = np.where(fin, frame["n"], 0.0)
    g = frame.groupby(["bx", "by"], sort=False)
    agg = g.agg(
        n=("n", "sum"),
        w=("w", "sum"),
        nm=("nm", "sum"),
        nf=("nf", "sum"),
        d=("d", "first"),
        **{f"n_{k}": (f"n_{k}", "sum") for k in CLASS_ORDER},
    ).reset_index()
    shares = agg[[f"n_{k}" for k in CLASS_ORDER]].to_numpy()
    main = np.array(CLASS_ORDER)[np.argmax(shares, axis=1)]
    share = np.where(agg["n"] > 0, agg["n_covered"] / agg["n"].where(agg["n"] > 0, 1), 0.0)
    mean_m = np.where(agg["nf"] > 0, agg["nm"] / agg["nf"].where(agg["nf"] > 0, 1), np.nan)
    tip = [
        f"{labels['block']}<br/>{labels['people']}: {people(n)} ({labels['working_age']} {people(w)})<br/>"
        f"{labels['covered_share']}: {s:.0%}<br/>{labels['minutes']}: {'—' if not np.isfinite(m) else f'{m:.1f}'}"
        for n, w, s, m in zip(agg["n"], agg["w"], share, mean_m, strict=True)
    ]
    centre = np.column_stack([(agg["bx"] + 0.5) * dlon, (agg["by"] + 0.5) * dlat])
    out = pd.DataFrame(
        {
            "p": np.round(centre, 5).tolist(),
            "f": [CLASS_RGB[k] + [2] for k in main],  # nearly clear: the picture shows the cells
            "d": agg["d"],
            "tip": tip,
        }
    )
    rgba = np.array([CLASS_RGB[k] + [185] for k in CLASS_ORDER], np.uint8)
    which = pd.Categorical(frame["k"], categories=list(CLASS_ORDER)).codes
    out.attrs["raster"] = map_raster.raster(
        frame["lon"].to_numpy(),
        frame["lat"].to_numpy(),
        rgba[which],
        cell_m,
        scale=4 if len(frame) <= 40_000 else 2,
    )
    return out, size


def coverage_map(
    districts: pd.DataFrame,
    streets: pd.DataFrame,
    cell_rows: pd.DataFrame,
    cell_size_m: float,
    points: pd.DataFrame,
    reach_m: float,
    view: pdk.ViewState,
    sites: pd.DataFrame | None = None,
    tile_url: str | None = None,
) -> CompactDeck:
    """Cells coloured by time to the nearest point, the points by level with their reach, new sites.

    ``districts``/``streets``: boundaries (``area_code, name_zh, name_en, boundary_geojson`` + ``tip``);
    ``cell_rows`` from :func:`map_cells`; ``points`` with GCJ-02 ``lon, lat``, ``level``, ``district_code``
    and ``tip``; ``reach_m`` the straight-line radius of the urban rule; ``sites`` (optional) proposed new
    points with ``lon, lat, rank, tip``.
    """
    layers: list[Any] = []
    if tile_url:
        layers.append(pdk.Layer("TileLayer", data=tile_url, id="tiles"))
    if not districts.empty:
        d = polygons(districts)
        layers.append(
            pdk.Layer(
                "PolygonLayer",
                data=d[["polygon", "area_code", "tip"]].rename(columns={"area_code": "d"}),
                id="districts",
                get_polygon="polygon",
                get_fill_color=[240, 240, 240, 40],
                get_line_color=[55, 65, 81],
                line_width_min_pixels=2,
                pickable=True,
            )
        )
    raster = cell_rows.attrs.get("raster")
    if raster and raster[0]:  # every cell in one picture (map_cells); the rows below are squares to hover
        layers.append(pdk.Layer("BitmapLayer", id="cells_picture", image=raster[0], bounds=raster[1]))
    layers.append(
        pdk.Layer(
            "ColumnLayer",
            data=cell_rows,
            id="cells",
            get_position="p",
            get_fill_color="f",
            disk_resolution=4,
            angle=45,
            radius=cell_size_m / np.sqrt(2) * 0.98,
            extruded=False,
            pickable=True,
            auto_highlight=True,
        )
    )
    if not streets.empty:
        s = polygons(streets)
        layers.append(
            pdk.Layer(
                "PolygonLayer",
                data=s[["polygon"]],
                id="streets",
                get_polygon="polygon",
                filled=False,
                get_line_color=[107, 114, 128],
                line_width_min_pixels=1,
                pickable=False,
            )
        )
    pts = pd.DataFrame(
        {
            "p": np.round(points[["lon", "lat"]].to_numpy(float), 6).tolist(),
            "f": [LEVEL_RGB.get(v, [0, 0, 0]) for v in points["level"]],
            "d": points["district_code"].to_numpy(),
            "tip": points["tip"].to_numpy(),
        }
    )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            data=pts[["p"]],
            id="reach",
            get_position="p",
            get_radius=float(reach_m),
            filled=True,
            get_fill_color=[29, 78, 216, 18],
            stroked=True,
            get_line_color=[29, 78, 216, 120],
            line_width_min_pixels=1,
            pickable=False,
        )
    )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            data=pts,
            id="points",
            get_position="p",
            get_fill_color="f",
            get_radius=60,
            radius_min_pixels=3,
            radius_max_pixels=9,
            stroked=True,
            get_line_color=[255, 255, 255],
            line_width_min_pixels=1,
            pickable=True,
        )
    )
    if sites is not None and not sites.empty:
        srows = pd.DataFrame(
            {
                "p": np.round(sites[["lon", "lat"]].to_numpy(float), 6).tolist(),
                "r": sites["rank"].astype(str).to_numpy(),
                "tip": sites["tip"].to_numpy(),
            }
        )
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                data=srows,
                id="sites_reach",
                get_position="p",
                get_radius=float(reach_m),
                get_fill_color=SITE_RGB + [40],
                stroked=True,
                get_line_color=SITE_RGB + [220],
                line_width_min_pixels=2,
                pickable=False,
            )
        )
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                data=srows,
                id="sites",
                get_position="p",
                get_fill_color=SITE_RGB,
                get_radius=90,
                radius_min_pixels=6,
                stroked=True,
                get_line_color=[255, 255, 255],
                line_width_min_pixels=2,
                pickable=True,
            )
        )
        layers.append(
            pdk.Layer(
                "TextLayer",
                data=srows,
                id="site_labels",
                get_position="p",
                get_text="r",
                get_size=14,
                get_color=[17, 24, 39],
                get_pixel_offset=[0, -16],
                pickable=False,
            )
        )
    return CompactDeck(
        layers=layers,
        initial_view_state=view,
        map_provider=None,  # and no map_style: even None would make Streamlit fetch Carto tiles
        tooltip={"html": "{tip}"},
    )


def trend_chart(frame: pd.DataFrame, labels: dict[str, str]) -> alt.Chart:
    """Covered share at each year-end. ``frame``: ``year, scope, covered_share, stations``."""
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("year:O", title=labels["year"]),
            y=alt.Y("covered_share:Q", title=labels["covered_share"], axis=alt.Axis(format="%")),
            color=alt.Color("scope:N", title=None),
            tooltip=[
                "scope:N",
                "year:O",
                alt.Tooltip("covered_share:Q", format=".1%", title=labels["covered_share"]),
                alt.Tooltip("stations:Q", title=labels["stations"]),
            ],
        )
        .properties(height=280)
    )


def load_chart(frame: pd.DataFrame, labels: dict[str, str]) -> alt.Chart:
    """People in each station's catchment against its capacity; points above the diagonal are over capacity.

    ``frame``: ``name, level, people_covered, capacity, over``.
    """
    hi = float(max(frame["people_covered"].max(), frame["capacity"].max(), 1.0)) * 1.05
    diag = (
        alt.Chart(pd.DataFrame({"v": [0.0, hi]}))
        .mark_line(color="#9CA3AF", strokeDash=[4, 4])
        .encode(x="v:Q", y="v:Q")
    )
    pts = (
        alt.Chart(frame)
        .mark_circle(size=55, opacity=0.8)
        .encode(
            x=alt.X("capacity:Q", title=labels["capacity"], scale=alt.Scale(domain=[0, hi])),
            y=alt.Y("people_covered:Q", title=labels["people_covered"], scale=alt.Scale(domain=[0, hi])),
            color=alt.Color(
                "over:N",
                title=None,
                scale=alt.Scale(domain=[labels["over"], labels["within"]], range=["#C62828", "#2E7D32"]),
            ),
            tooltip=[
                "name:N",
                "level:N",
                alt.Tooltip("people_covered:Q", format=",.0f", title=labels["people_covered"]),
                alt.Tooltip("capacity:Q", format=",.0f", title=labels["capacity"]),
            ],
        )
    )
    return (diag + pts).properties(height=300)
