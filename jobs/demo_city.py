"""Geography, service points and per-year area facts of the demo city, as DataFrames ready to load."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from jobs import geo
from store import stations

# level: (zh, en, staff, capacity in residents served); names from the one list of station types
_STAFF_CAPACITY = {
    "district_centre": (20, 250_000),
    "street_station": (6, 60_000),
    "community_point": (2, 15_000),
    "gig_market": (4, 40_000),
    "partner": (2, 10_000),
}
POINT_LEVELS = {
    code: (stations.BY_CODE[code].name_zh, stations.BY_CODE[code].name_en, staff, cap)
    for code, (staff, cap) in _STAFF_CAPACITY.items()
}
# Typical floor area (m²) per type: (low, high) of a uniform draw; about one station in eight falls short of its
# type's standard (store/stations.py), so the page has stations below standard to show.
_FLOOR_M2 = {
    "district_centre": (600.0, 1200.0),
    "street_station": (160.0, 320.0),
    "community_point": (30.0, 120.0),
    "gig_market": (200.0, 900.0),
    "partner": (20.0, 80.0),
}
# Chance that a station of the type offers each free service (seed 004's annex), in store/stations.py's order:
# the offices offer nearly all; doorstep stations the everyday ones; gig markets and partners placement above all.
_ITEM_CHANCE = {
    "district_centre": (0.99,) * 10,
    "street_station": (0.98, 0.98, 0.98, 0.9, 0.97, 0.98, 0.92, 0.85, 0.8, 0.9),
    "community_point": (0.95, 0.95, 0.95, 0.7, 0.9, 0.85, 0.5, 0.4, 0.3, 0.6),
    "gig_market": (0.8, 0.98, 0.95, 0.8, 0.5, 0.6, 0.2, 0.2, 0.1, 0.5),
    "partner": (0.5, 0.9, 0.9, 0.3, 0.2, 0.1, 0.0, 0.1, 0.0, 0.1),
}


def area_rows(
    districts: list[geo.District], streets: pd.DataFrame, grid: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """City, district, street and community rows of the ``area`` table."""
    union = shapely.union_all([d.geometry for d in districts])
    c = union.centroid
    rows = [
        dict(
            area_code=geo.CITY_CODE,
            level="city",
            parent_code=None,
            district_code=None,
            name_zh=geo.CITY_NAME_ZH,
            name_en=geo.CITY_NAME_EN,
            zone=None,
            is_rural=False,
            area_km2=geo.area_km2(union),
            centroid_lon=c.x,
            centroid_lat=c.y,
            boundary_geojson=geo.geojson_text(shapely.simplify(union, 0.002)),
        )
    ]
    for d in districts:
        dc = d.geometry.representative_point() if d.code == "420113" else d.geometry.centroid
        rows.append(
            dict(
                area_code=d.code,
                level="district",
                parent_code=geo.CITY_CODE,
                district_code=d.code,
                name_zh=d.name_zh,
                name_en=d.name_en,
                zone=d.zone,
                is_rural=False,
                area_km2=geo.area_km2(d.geometry),
                centroid_lon=dc.x,
                centroid_lat=dc.y,
                boundary_geojson=geo.geojson_text(d.geometry),
            )
        )
    for s in streets.itertuples():
        sc = s.geometry.representative_point()
        rows.append(
            dict(
                area_code=s.area_code,
                level="street",
                parent_code=s.district_code,
                district_code=s.district_code,
                name_zh=s.name_zh,
                name_en=s.name_en,
                zone=s.zone,
                is_rural=s.is_rural,
                area_km2=geo.area_km2(s.geometry),
                centroid_lon=sc.x,
                centroid_lat=sc.y,
                boundary_geojson=geo.geojson_text(shapely.simplify(s.geometry, 0.0005)),
            )
        )
    rows += community_rows(streets, grid, rng)
    out = pd.DataFrame(rows)
    out["datum"] = "GCJ-02"
    return out


def community_rows(streets: pd.DataFrame, grid: pd.DataFrame, rng: np.random.Generator) -> list[dict]:
    """Communities (社区) or villages (村): centroids drawn where people live; no boundaries."""
    rows = []
    by_street = grid.groupby("street_code")
    for s in streets.itertuples():
        cells = by_street.get_group(s.area_code)
        n = int(np.clip(cells["population"].sum() // 12_000, 3, 14))
        pick = rng.choice(
            len(cells),
            size=min(n, len(cells)),
            replace=False,
            p=cells["population"].to_numpy() / cells["population"].sum(),
        )
        word_zh, word_en = ("村", "Village") if s.is_rural else ("社区", "Community")
        for i, j in enumerate(pick):
            rows.append(
                dict(
                    area_code=f"{s.area_code}{i + 1:03d}",
                    level="community",
                    parent_code=s.area_code,
                    district_code=s.district_code,
                    name_zh=f"{s.name_zh}{i + 1}{word_zh}",
                    name_en=f"{s.name_en} {word_en} {i + 1}",
                    zone=s.zone,
                    is_rural=s.is_rural,
                    area_km2=None,
                    centroid_lon=float(cells["lon"].iloc[j]),
                    centroid_lat=float(cells["lat"].iloc[j]),
                    boundary_geojson=None,
                )
            )
    return rows


def _densest_near(cells: pd.DataFrame, lon: float, lat: float) -> tuple[float, float]:
    """The most populous of the 20 cells nearest to (lon, lat): where a station would actually be put."""
    d2 = (cells["lon"] - lon) ** 2 + (cells["lat"] - lat) ** 2
    near = cells.loc[d2.nsmallest(20).index]
    best = near.loc[near["population"].idxmax()]
    return float(best["lon"]), float(best["lat"])


def service_points(areas: pd.DataFrame, grid: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A few hundred service points: dense in the centre, with gaps in outer districts' townships."""
    rows: list[dict] = []
    by_street, by_district = grid.groupby("street_code"), grid.groupby("district_code")

    def add(
        level: str, district: str, street: str | None, lon: float, lat: float, opened: str, label: str
    ) -> None:
        zh, en, staff, cap = POINT_LEVELS[level]
        rows.append(
            dict(
                point_id=len(rows) + 1,
                name_zh=f"{label}{zh}",
                name_en=f"{en.title()} ({label})",
                level=level,
                district_code=district,
                street_code=street,
                lon=lon,
                lat=lat,
                opened_on=opened,
                closed_on=None,
                staff=int(staff + rng.integers(0, 3)),
                capacity_people=cap,
            )
        )

    districts = areas[areas["level"] == "district"]
    for d in districts.itertuples():
        cells = by_district.get_group(d.area_code)
        lon, lat = np.average(cells[["lon", "lat"]], axis=0, weights=cells["population"])
        add("district_centre", d.area_code, None, *_densest_near(cells, lon, lat), "2015-01-01", d.name_zh)
        for g in range(2 if d.zone == "central" else 1):
            c = cells.sample(1, weights="population", random_state=int(rng.integers(1 << 30))).iloc[0]
            add(
                "gig_market",
                d.area_code,
                c["street_code"],
                c["lon"],
                c["lat"],
                f"{2020 + g + int(rng.integers(0, 3))}-0{1 + int(rng.integers(0, 9))}-01",
                f"{d.name_zh}{g + 1}号",
            )
    for s in areas[areas["level"] == "street"].itertuples():
        if s.is_rural and rng.random() < 0.35:
            continue  # outer townships without a station: the gaps planners must see
        cells = by_street.get_group(s.area_code)
        opened = f"{2016 + int(rng.integers(0, 6))}-{1 + int(rng.integers(0, 12)):02d}-01"
        add(
            "street_station",
            s.district_code,
            s.area_code,
            *_densest_near(cells, s.centroid_lon, s.centroid_lat),
            opened,
            s.name_zh,
        )
    for c in areas[areas["level"] == "community"].itertuples():
        share = 0.55 if c.zone == "central" else (0.08 if c.is_rural else 0.25)
        if rng.random() < share:
            year = int(rng.choice([2021, 2022, 2023, 2024, 2024, 2025, 2025, 2026]))
            add(
                "community_point",
                c.district_code,
                c.parent_code,
                c.centroid_lon,
                c.centroid_lat,
                f"{year}-{1 + int(rng.integers(0, 9)):02d}-01",
                c.name_zh,
            )
    for i in range(30):
        c = grid.sample(1, weights="population", random_state=int(rng.integers(1 << 30))).iloc[0]
        add(
            "partner",
            c["district_code"],
            c["street_code"],
            c["lon"],
            c["lat"],
            f"{2019 + int(rng.integers(0, 7))}-06-01",
            f"合作{i + 1}号",
        )
    return pd.DataFrame(rows)


def station_facts(points: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Floor area, staff short of the standard for some, and the free services each point offers.

    Drawn from a generator of its own (``seed`` with a fixed tag), so the rest of the demo city is unchanged.
    Returns the points with ``floor_area_m2`` (and ``staff`` lowered for some) and the ``service_point_item`` rows.
    """
    rng = np.random.default_rng([seed, 1517])
    n = len(points)
    levels = points["level"].to_numpy()
    lo = np.array([_FLOOR_M2[lv][0] for lv in levels])
    hi = np.array([_FLOOR_M2[lv][1] for lv in levels])
    floor = rng.uniform(lo, hi)
    std_floor = np.array([stations.BY_CODE[lv].min_floor_m2 or 0.0 for lv in levels])
    short_floor = (rng.random(n) < 0.12) & (std_floor > 0)
    floor = np.where(short_floor, std_floor * rng.uniform(0.5, 0.95, n), floor)
    std_staff = np.array([stations.BY_CODE[lv].min_staff or 0 for lv in levels])
    short_staff = (rng.random(n) < 0.12) & (std_staff > 1)
    staff = np.where(short_staff, std_staff - 1 - rng.integers(0, 2, n), points["staff"].to_numpy())
    chance = np.array([_ITEM_CHANCE[lv] for lv in levels])
    offers = rng.random(chance.shape) < chance
    items = pd.DataFrame(
        {
            "point_id": np.repeat(points["point_id"].to_numpy(), offers.shape[1]),
            "item_code": np.tile(np.asarray(stations.ITEM_CODES), n),
            "offered": offers.ravel(),
        }
    )
    out = points.assign(floor_area_m2=np.round(floor, 0), staff=np.maximum(staff, 0).astype(int))
    return out, items


def area_years(
    areas: pd.DataFrame,
    grid: pd.DataFrame,
    years: range,
    rng: np.random.Generator,
    labour_share: float,
    money_scale: float = 1.0,
) -> pd.DataFrame:
    """Per area and year: population, working age, labour force, sector mix, budget revenue and fiscal capacity."""
    street_pop = grid.groupby("street_code")[["population", "working_age"]].sum()
    district_pop = grid.groupby("district_code")[["population", "working_age"]].sum()
    rows = []
    districts = areas[areas["level"] == "district"].set_index("area_code")
    d_fx = {
        code: (
            rng.uniform(0.70, 0.86) if z == "central" else rng.uniform(0.42, 0.58),
            rng.uniform(4200, 6500) if z == "central" else rng.uniform(1500, 3200),
        )
        for code, z in districts["zone"].items()
    }
    for y in years:
        growth = (1.0 + 0.008) ** (y - 2020)
        for level, pops in (("district", district_pop), ("street", street_pop)):
            for code, p in pops.iterrows():
                dcode = code[:6]
                tert, revenue_pc = d_fx[dcode]
                pop = int(p["population"] * growth)
                revenue = (
                    revenue_pc * pop * money_scale * (1.04 ** (y - 2019)) * (0.88 if y == 2020 else 1.0)
                    if level == "district"
                    else None
                )
                rows.append(
                    dict(
                        year=y,
                        area_code=code,
                        district_code=dcode,
                        resident_population=pop,
                        working_age_population=int(p["working_age"] * growth),
                        labour_force=int(pop * labour_share),
                        tertiary_share_pct=round(tert * 100, 1),
                        secondary_share_pct=round((1 - tert) * 92, 1),
                        budget_revenue_yuan=revenue,
                        fiscal_capacity_per_capita_yuan=(revenue / pop) if revenue else None,
                    )
                )
    out = pd.DataFrame(rows)
    city = (
        out[out["area_code"].str.len() == 6]
        .groupby("year")
        .agg(
            resident_population=("resident_population", "sum"),
            working_age_population=("working_age_population", "sum"),
            labour_force=("labour_force", "sum"),
            budget_revenue_yuan=("budget_revenue_yuan", "sum"),
        )
        .reset_index()
    )
    city["area_code"], city["district_code"] = geo.CITY_CODE, geo.CITY_CODE
    city["tertiary_share_pct"], city["secondary_share_pct"] = 68.0, 29.0
    city["fiscal_capacity_per_capita_yuan"] = city["budget_revenue_yuan"] / city["resident_population"]
    return pd.concat([out, city], ignore_index=True)
