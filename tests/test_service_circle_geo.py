"""GCJ-02 <-> WGS84 conversion."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service_circle import gcj02_to_wgs84, geodesic_m, haversine_m, out_of_china, wgs84_to_gcj02


def test_published_reference_points() -> None:
    # Test vectors published with two independent open-source implementations of the formula.
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)
    lon, lat = wgs84_to_gcj02(116.396135, 39.891082)
    assert lat == pytest.approx(39.89248436758296, abs=1e-9)
    assert lon == pytest.approx(116.40237600938156, abs=1e-9)


def test_wuhan_offset() -> None:
    lon, lat = wgs84_to_gcj02(114.3055, 30.5928)
    # From the formula: about +0.0054° east and -0.0024° south here (~580 m in all).
    assert lon - 114.3055 == pytest.approx(0.005445, abs=5e-5)
    assert lat - 30.5928 == pytest.approx(-0.002409, abs=5e-5)
    assert 450 < geodesic_m(114.3055, 30.5928, lon, lat) < 700


@settings(max_examples=200, deadline=None)
@given(st.floats(73.0, 135.0), st.floats(18.0, 53.0))
def test_round_trip_below_half_a_metre(lon: float, lat: float) -> None:
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert geodesic_m(lon, lat, w_lon, w_lat) < 0.5
    assert geodesic_m(lon, lat, w_lon, w_lat) < 0.001  # in practice sub-millimetre


def test_vectorised_round_trip_over_wuhan() -> None:
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(113.7, 115.1, 100_000), rng.uniform(29.9, 31.4, 100_000)
    w_lon, w_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert w_lon.shape == lon.shape
    assert geodesic_m(lon, lat, w_lon, w_lat).max() < 0.5
    # One fixed-point step alone is not enough for 0.5 m everywhere; the default is.
    one = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat), iterations=1)
    assert geodesic_m(lon, lat, *one).max() > geodesic_m(lon, lat, w_lon, w_lat).max()


def test_out_of_china_passes_through() -> None:
    lon = np.array([2.3522, 139.7671, 114.3055])
    lat = np.array([48.8566, 35.6812, 30.5928])
    assert out_of_china(lon, lat).tolist() == [True, True, False]
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert g_lon[:2].tolist() == lon[:2].tolist() and g_lat[:2].tolist() == lat[:2].tolist()
    w_lon, w_lat = gcj02_to_wgs84(lon, lat)
    assert w_lon[:2].tolist() == lon[:2].tolist() and w_lat[:2].tolist() == lat[:2].tolist()
    assert g_lon[2] != lon[2]


def test_haversine_close_to_geodesic() -> None:
    d_h = haversine_m(114.0, 30.0, 115.0, 31.0)
    d_g = geodesic_m(114.0, 30.0, 115.0, 31.0)
    assert abs(d_h - d_g) / d_g < 0.005


def test_to_wgs84_frames() -> None:
    import pandas as pd

    from service_circle import to_wgs84

    g_lon, g_lat = wgs84_to_gcj02(np.array([114.3055]), np.array([30.5928]))
    frame = pd.DataFrame({"lon": g_lon, "lat": g_lat, "name": ["Wuhan"]})
    out = to_wgs84(frame, "GCJ-02")
    assert out["lon"].iloc[0] == pytest.approx(114.3055, abs=1e-8) and out["name"].iloc[0] == "Wuhan"
    assert frame["lon"].iloc[0] == g_lon[0]  # input not modified
    assert to_wgs84(frame) is frame
    with pytest.raises(ValueError):
        to_wgs84(frame, "bd09")
