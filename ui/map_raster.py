"""Many map cells as one picture: a PNG for deck.gl's ``BitmapLayer`` instead of tens of thousands of objects.

A city-wide coverage map has about 120,000 cells of 250 m. Sent as objects with tooltips they made a JSON of
several megabytes that the browser parsed and drew for seconds; as one image (a few hundred kilobytes, in Web
Mercator rows so it lies exactly on the map) the same picture costs almost nothing. No Streamlit here.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

M_PER_DEG_LAT = 110_574.0


def _mercator_y(lat: np.ndarray) -> np.ndarray:
    return np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


def _lat_of(y: np.ndarray | float) -> np.ndarray:
    return np.degrees(2 * np.arctan(np.exp(y)) - np.pi / 2)


def raster(
    lon: np.ndarray, lat: np.ndarray, rgba: np.ndarray, cell_m: float, scale: int = 4
) -> tuple[str, list[float]]:
    """A PNG (as a ``data:`` URL) with each cell drawn as a square of ``cell_m``, and its bounds
    ``[west, south, east, north]`` (degrees) for a ``BitmapLayer``.

    ``lon, lat``: cell centres as drawn; ``rgba``: (n, 4) uint8 colours. Pixels are ``cell_m / scale`` wide and
    rows are spaced evenly in Web Mercator, so deck.gl stretches the picture onto the map without distortion.
    Cells later in the arrays are drawn over earlier ones where they overlap.
    """
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if lon.size == 0:
        return "", [0.0, 0.0, 0.0, 0.0]
    lat0 = float(np.mean(lat))
    half_lat = cell_m / 2 / M_PER_DEG_LAT
    half_lon = half_lat / np.cos(np.radians(lat0))
    west, east = float(lon.min() - half_lon), float(lon.max() + half_lon)
    south, north = float(lat.min() - half_lat), float(lat.max() + half_lat)
    px_lon = 2 * half_lon / scale
    y_north, y_south = _mercator_y(np.array(north)), _mercator_y(np.array(south))
    px_y = (_mercator_y(np.array(lat0 + half_lat)) - _mercator_y(np.array(lat0 - half_lat))) / scale
    width = int(np.ceil((east - west) / px_lon))
    height = int(np.ceil((y_north - y_south) / px_y))
    image = np.zeros((height, width, 4), np.uint8)
    col0 = np.floor((lon - half_lon - west) / px_lon + 0.5).astype(np.int64)
    row0 = np.floor((y_north - _mercator_y(lat + half_lat)) / px_y + 0.5).astype(np.int64)
    for dy in range(scale):
        for dx in range(scale):
            r = np.clip(row0 + dy, 0, height - 1)
            c = np.clip(col0 + dx, 0, width - 1)
            image[r, c] = rgba
    # the picture's true edges: whole pixels from the west and north edges
    east = float(west + width * px_lon)
    south = float(_lat_of(y_north - height * px_y))
    buffer = io.BytesIO()
    Image.fromarray(image, "RGBA").save(buffer, format="PNG", optimize=False, compress_level=6)
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return url, [west, south, east, north]
