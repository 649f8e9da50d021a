"""The demo city's geography: Wuhan's 13 real districts, a synthetic population grid and synthetic streets.

District boundaries are the real ones (GCJ-02, bundled from shared/geo). Populations are the 2020 census, with the
functional zones folded into districts as documented in docs/data-model.md. Everything below district level is
synthetic and deterministic for a given seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape

CITY_CODE = "420100"
CITY_NAME_ZH, CITY_NAME_EN = "武汉市", "Wuhan"

# 2020 census (7th national census bulletin no. 2); functional zones folded in:
# East Lake scenic area 121,161 split evenly Wuchang/Hongshan; East Lake high-tech zone 935,146 split 70 % Hongshan,
# 30 % Jiangxia; the economic-development zone outside Hannan (481,338 − 145,103) into Caidian.
CENSUS_2020 = {
    "420102": 965_260,
    "420103": 647_932,
    "420104": 666_661,
    "420105": 837_263,
    "420106": 1_092_750 + 60_581,
    "420107": 463_295,
    "420111": 1_728_811 + 60_580 + 654_602,
    "420112": 845_782,
    "420113": 145_103,
    "420114": 554_383 + 336_235,
    "420115": 974_715 + 280_544,
    "420116": 1_151_644,
    "420117": 860_377,
}
NAMES_EN = {
    "420102": "Jiang'an",
    "420103": "Jianghan",
    "420104": "Qiaokou",
    "420105": "Hanyang",
    "420106": "Wuchang",
    "420107": "Qingshan",
    "420111": "Hongshan",
    "420112": "Dongxihu",
    "420113": "Hannan",
    "420114": "Caidian",
    "420115": "Jiangxia",
    "420116": "Huangpi",
    "420117": "Xinzhou",
}
CENTRAL = {"420102", "420103", "420104", "420105", "420106", "420107", "420111"}

# Where people live: the main urban core (Jianghan/Wuchang), sub-centres, and outer district towns (GCJ-02).
URBAN_CORES = [
    (114.285, 30.585, 5.5, 1.0),
    (114.340, 30.550, 4.0, 0.8),
    (114.210, 30.560, 3.5, 0.6),
    (114.400, 30.620, 3.0, 0.5),
    (114.410, 30.500, 4.5, 0.55),
    (114.150, 30.640, 4.0, 0.35),
]
TOWN_CORES = [
    (114.380, 30.880, 3.0, 0.35),  # Huangpi
    (114.800, 30.850, 3.0, 0.30),  # Xinzhou
    (114.320, 30.350, 3.5, 0.40),  # Jiangxia
    (114.030, 30.580, 3.0, 0.35),  # Caidian
    (114.080, 30.310, 2.5, 0.30),  # Hannan
    (114.130, 30.680, 3.0, 0.35),  # Dongxihu
]
# Rivers and East Lake, where nobody lives: polylines of the Yangtze and the Han, and the lake's centre.
YANGTZE = [
    (113.85, 30.28),
    (114.02, 30.38),
    (114.18, 30.49),
    (114.27, 30.55),
    (114.31, 30.60),
    (114.40, 30.66),
    (114.55, 30.67),
    (114.70, 30.63),
    (114.90, 30.58),
]
HAN = [(113.95, 30.60), (114.10, 30.60), (114.20, 30.575), (114.27, 30.56)]
EAST_LAKE = (114.405, 30.560, 2.4)  # lon, lat, radius km

CELL_M = 250.0
KM_PER_DEG_LAT = 110.574


@dataclass(frozen=True)
class District:
    code: str
    name_zh: str
    name_en: str
    zone: str
    geometry: MultiPolygon
    population: int


def load_districts() -> list[District]:
    """Wuhan's 13 districts with their (repaired) boundaries and census population."""
    text = resources.files("jobs").joinpath("data/wuhan_420100_districts.geojson").read_text(encoding="utf-8")
    out = []
    for feature in json.loads(text)["features"]:
        props = feature["properties"]
        code = str(props["adcode"])
        geom = shapely.make_valid(shape(feature["geometry"]))
        polys = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon)]
        polys += [p for g in shapely.get_parts(geom) if isinstance(g, MultiPolygon) for p in g.geoms]
        out.append(
            District(
                code,
                props["name"],
                NAMES_EN[code] + " District",
                "central" if code in CENTRAL else "outer",
                MultiPolygon(polys),
                CENSUS_2020[code],
            )
        )
    return sorted(out, key=lambda d: d.code)


def km_per_deg_lon(lat: float) -> float:
    """Kilometres per degree of longitude at ``lat`` (spherical; good to 0.5 % over a city)."""
    return 111.320 * np.cos(np.radians(lat))


def _dist_km_to_polyline(lon: np.ndarray, lat: np.ndarray, line: list[tuple[float, float]]) -> np.ndarray:
    kx, ky = km_per_deg_lon(30.6), KM_PER_DEG_LAT
    px, py = lon * kx, lat * ky
    best = np.full(lon.shape, np.inf)
    for (x0, y0), (x1, y1) in zip(line[:-1], line[1:], strict=True):
        ax, ay, bx, by = x0 * kx, y0 * ky, x1 * kx, y1 * ky
        dx, dy = bx - ax, by - ay
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0, 1)
        best = np.minimum(best, np.hypot(px - (ax + t * dx), py - (ay + t * dy)))
    return best


def density(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Relative residential density: urban cores, town centres, a rural floor, zero on water."""
    kx, ky = km_per_deg_lon(30.6), KM_PER_DEG_LAT
    d = np.full(lon.shape, 0.004)
    for clon, clat, scale_km, weight in URBAN_CORES + TOWN_CORES:
        r = np.hypot((lon - clon) * kx, (lat - clat) * ky)
        d += weight * np.exp(-r / scale_km * 1.6)
    water = (_dist_km_to_polyline(lon, lat, YANGTZE) < 0.8) | (_dist_km_to_polyline(lon, lat, HAN) < 0.25)
    lake = np.hypot((lon - EAST_LAKE[0]) * kx, (lat - EAST_LAKE[1]) * ky) < EAST_LAKE[2]
    d[water | lake] = 0.0
    return d


def _largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total``."""
    raw = weights / weights.sum() * total
    base = np.floor(raw).astype(np.int64)
    short = total - int(base.sum())
    if short > 0:
        base[np.argsort(-(raw - base), kind="stable")[:short]] += 1
    return base


def population_grid(districts: list[District], rng: np.random.Generator) -> pd.DataFrame:
    """Cells of about 250 m with population and working-age population, summing to each district's census total."""
    frames = []
    dlat = CELL_M / 1000 / KM_PER_DEG_LAT
    dlon = CELL_M / 1000 / km_per_deg_lon(30.6)
    for d in districts:
        minx, miny, maxx, maxy = d.geometry.bounds
        lons, lats = np.meshgrid(
            np.arange(minx + dlon / 2, maxx, dlon), np.arange(miny + dlat / 2, maxy, dlat)
        )
        lon, lat = lons.ravel(), lats.ravel()
        inside = shapely.contains_xy(d.geometry, lon, lat)
        lon, lat = lon[inside], lat[inside]
        w = density(lon, lat) * rng.lognormal(0.0, 0.6, lon.size)
        w[w < np.quantile(w, 0.12)] = 0.0  # farmland, parks and industrial land: nobody registered there
        pop = _largest_remainder(w, d.population)
        keep = pop > 0
        working_share = np.clip(
            rng.normal(0.70 if d.zone == "central" else 0.66, 0.03, keep.sum()), 0.5, 0.85
        )
        rel = density(lon[keep], lat[keep])
        frames.append(
            pd.DataFrame(
                {
                    "district_code": d.code,
                    "lon": lon[keep],
                    "lat": lat[keep],
                    "population": pop[keep],
                    "working_age": np.floor(pop[keep] * working_share).astype(np.int64),
                    "is_rural": (d.zone == "outer") & (rel < 0.05),
                }
            )
        )
    grid = pd.concat(frames, ignore_index=True)
    grid.insert(0, "cell_id", np.arange(1, len(grid) + 1))
    return grid


def _weighted_kmeans(
    xy: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator, iters: int = 12
) -> np.ndarray:
    centres = xy[rng.choice(len(xy), size=k, replace=False, p=w / w.sum())]
    for _ in range(iters):
        label = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
        for j in range(k):
            m = label == j
            if m.any():
                centres[j] = np.average(xy[m], axis=0, weights=w[m] + 1e-9)
    return centres


def street_count(d: District) -> int:
    """Streets/townships per district: about one per 80,000 residents, 6 to 20."""
    return int(np.clip(round(d.population / 80_000), 6, 20))


def streets(districts: list[District], grid: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Synthetic streets: population-weighted k-means seeds, Voronoi cells clipped to the district.

    Adds a ``street_code`` column to ``grid`` in place and returns one row per street with its boundary.
    """
    rows = []
    grid["street_code"] = ""
    for d in districts:
        m = (grid["district_code"] == d.code).to_numpy()
        xy = grid.loc[m, ["lon", "lat"]].to_numpy()
        k = street_count(d)
        centres = _weighted_kmeans(xy, grid.loc[m, "population"].to_numpy(float), k, rng)
        order = np.lexsort((centres[:, 0], -centres[:, 1]))  # number streets north to south
        centres = centres[order]
        label = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
        codes = np.array([f"{d.code}{i + 1:03d}" for i in range(k)])
        grid.loc[m, "street_code"] = codes[label]
        cells = shapely.voronoi_polygons(
            shapely.MultiPoint(centres), extend_to=d.geometry.envelope.buffer(0.1)
        )
        for i, c in enumerate(centres):
            poly = next(p for p in cells.geoms if p.contains(Point(c)))
            clipped = shapely.make_valid(poly.intersection(d.geometry))
            sub = grid.loc[m][label == i]
            rural = bool(d.zone == "outer" and sub["is_rural"].mean() > 0.5)
            rows.append(
                {
                    "area_code": codes[i],
                    "district_code": d.code,
                    "name_zh": f"{d.name_zh[:-1]}{'第' if not rural else ''}{_zh_ordinal(i + 1)}{'镇' if rural else '街道'}",
                    "name_en": f"{d.name_en.removesuffix(' District')} {'Township' if rural else 'Street'} {i + 1}",
                    "zone": d.zone,
                    "is_rural": rural,
                    "geometry": clipped,
                }
            )
    return pd.DataFrame(rows)


def _zh_ordinal(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    return ("十" if n < 20 else digits[n // 10] + "十") + (digits[n % 10] if n % 10 else "")


def geojson_text(geom: object) -> str:
    """Compact GeoJSON for a shapely geometry, coordinates rounded to about 1 m."""
    reduced = shapely.set_precision(geom, 1e-5)
    return json.dumps(mapping(reduced), separators=(",", ":"))


def area_km2(geom: object) -> float:
    """Area in km² of a lon/lat geometry (local equirectangular; fine at city scale)."""
    c = shapely.centroid(geom)
    scaled = shapely.transform(geom, lambda xy: xy * np.array([km_per_deg_lon(c.y), KM_PER_DEG_LAT]))
    return float(shapely.area(scaled))
