"""Target attainment: hand-worked examples on SQLite and PostgreSQL, a rank property, and the page."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert
from streamlit.testing.v1 import AppTest

import figures.targets
from figures.rules import Rules
from queries import targets
from store import schema
from store.db import make_engine, upgrade
from store.indicators import INDICATORS
from tests.conftest import ROOT


def raw_runner(engine: Engine):  # type: ignore[no-untyped-def]
    """A runner without suppression, for hand-worked examples whose small numbers are the point."""
    return lambda fn, *args, **kwargs: fn(engine, *args, **kwargs)


CITY_PROFILE = [5, 5, 10, 10, 10, 10, 15, 10, 10, 5, 5, 5]  # sums to 100: share by March 0.20, by June 0.50
DISTRICTS = {"A": "central", "B": "central", "C": "outer", "D": "outer"}


def build(
    engine: Engine, march: dict[str, list[float]], rates: dict[str, float], cleared: dict[str, int]
) -> None:
    """Four districts, 2025 targets of 100 persons, January–March 2025 actuals, two complete past years."""
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.indicator), [dict(i._asdict(), sort_order=n) for n, i in enumerate(INDICATORS)]
        )
        conn.execute(
            insert(schema.area),
            [
                dict(
                    area_code="C0",
                    level="city",
                    parent_code=None,
                    district_code=None,
                    name_zh="市",
                    name_en="City",
                    zone=None,
                    datum="GCJ-02",
                    is_rural=False,
                )
            ]
            + [
                dict(
                    area_code=d,
                    level="district",
                    parent_code="C0",
                    district_code=d,
                    name_zh=d,
                    name_en=d,
                    zone=z,
                    datum="GCJ-02",
                    is_rural=False,
                )
                for d, z in DISTRICTS.items()
            ],
        )
        rows, tgt = [], []
        for year in (2023, 2024):
            rows += [
                dict(
                    year=year,
                    month=m + 1,
                    area_code="C0",
                    indicator_code="urban_new_employment",
                    group_code="all",
                    level="city",
                    district_code="C0",
                    value=v,
                    persons=int(v),
                )
                for m, v in enumerate(CITY_PROFILE)
            ]
        for d in DISTRICTS:
            tgt += [
                dict(
                    year=2025,
                    area_code=d,
                    indicator_code="urban_new_employment",
                    district_code=d,
                    target_value=100.0,
                ),
                dict(
                    year=2025,
                    area_code=d,
                    indicator_code="registered_unemployment_rate",
                    district_code=d,
                    target_value=3.5,
                ),
                dict(
                    year=2025,
                    area_code=d,
                    indicator_code="zero_employment_cleared",
                    district_code=d,
                    target_value=1.0,
                ),
            ]
            for m, v in enumerate(march[d]):
                rows.append(
                    dict(
                        year=2025,
                        month=m + 1,
                        area_code=d,
                        indicator_code="urban_new_employment",
                        group_code="all",
                        level="district",
                        district_code=d,
                        value=v,
                        persons=int(v),
                    )
                )
            for m in (1, 2, 3):
                rows.append(
                    dict(
                        year=2025,
                        month=m,
                        area_code=d,
                        indicator_code="registered_unemployment_rate",
                        group_code="all",
                        level="district",
                        district_code=d,
                        value=rates[d] if m == 3 else 9.9,
                        persons=100,
                    )
                )
                rows.append(
                    dict(
                        year=2025,
                        month=m,
                        area_code=d,
                        indicator_code="zero_employment_cleared",
                        group_code="all",
                        level="district",
                        district_code=d,
                        value=float(cleared[d]) if m == 3 else 0.0,
                        persons=3,
                    )
                )
        conn.execute(insert(schema.agg_monthly), rows)
        conn.execute(insert(schema.target), tgt)


HAND = dict(
    march={"A": [10, 10, 10], "B": [5, 5, 10], "C": [5, 5, 5], "D": [10, 10, 10]},
    rates={"A": 3.36, "B": 3.0, "C": 3.6, "D": 3.5},
    cleared={"A": 1, "B": 0, "C": 1, "D": 1},
)


def by(frame: pd.DataFrame, indicator: str) -> pd.DataFrame:
    return frame[frame["indicator_code"] == indicator].set_index("area_code")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_hand_worked_attainment(backend: str, empty_url: str, request: pytest.FixtureRequest) -> None:
    engine = make_engine(empty_url if backend == "sqlite" else request.getfixturevalue("pg_url"))
    build(engine, **HAND)
    run = raw_runner(engine)  # hand-worked small numbers: no suppression here (tests/test_privacy*.py)
    linear = figures.targets.attainment(run, Rules(), 2025, 3, pace="linear")
    seasonal = figures.targets.attainment(run, Rules(), 2025, 3, pace="seasonal")
    new = by(linear, "urban_new_employment")
    # completion = cumulative ÷ target: A 30/100, B 20/100, C 15/100, D 30/100
    assert new["completion_rate"].to_dict() == pytest.approx({"A": 0.30, "B": 0.20, "C": 0.15, "D": 0.30})
    assert list(new["pace_linear"]) == [0.25] * 4
    assert list(new["pace_seasonal"]) == pytest.approx([0.20] * 4)
    # linear pace 0.25, yellow margin 5 points: A, D ahead; B exactly 5 points behind (yellow); C 10 behind (red)
    assert new["status"].to_dict() == {"A": "green", "B": "yellow", "C": "red", "D": "green"}
    assert new["pace_gap"].to_dict() == pytest.approx({"A": -5.0, "B": 5.0, "C": 10.0, "D": -5.0})
    # ties share the best rank; peer groups central (A, B) and outer (C, D)
    assert new["rank"].to_dict() == {"A": 1, "B": 3, "C": 4, "D": 1}
    assert new["peer_rank"].to_dict() == {"A": 1, "B": 2, "C": 2, "D": 1}
    # seasonal pace 0.20 (the city's past years): B on pace, C 5 points behind → yellow
    assert by(seasonal, "urban_new_employment")["status"].to_dict() == {
        "A": "green",
        "B": "green",
        "C": "yellow",
        "D": "green",
    }
    rate = by(linear, "registered_unemployment_rate")
    # margin under the 3.5 % line in points, read at March: A 0.14 (yellow, cushion 0.2), B 0.5, C −0.1, D 0
    assert rate["margin_pp"].to_dict() == pytest.approx({"A": 0.14, "B": 0.5, "C": -0.1, "D": 0.0})
    assert rate["status"].to_dict() == {"A": "yellow", "B": "green", "C": "red", "D": "yellow"}
    assert rate["rank"].to_dict() == {"B": 1, "A": 2, "D": 3, "C": 4}
    assert rate["completion_rate"].isna().all()  # never a ratio
    flag = by(linear, "zero_employment_cleared")
    assert flag["status"].to_dict() == {"A": "green", "B": "red", "C": "green", "D": "green"}


def test_status_rule_from_rules_and_hidden_rows_have_none() -> None:
    frame = pd.DataFrame(
        {
            "direction": ["flow", "flow", "flow", "control", "control", "flow"],
            "completion_rate": [0.30, 0.22, 0.19, float("nan"), float("nan"), float("nan")],
            "time_elapsed_progress": [0.25] * 6,
            "margin_pp": [float("nan"), float("nan"), float("nan"), 0.1, -0.1, float("nan")],
            "actual": [30.0, 22.0, 19.0, 3.4, 3.6, float("nan")],
        }
    )
    got = figures.targets.classify(frame, Rules(yellow_margin_pp=5.0, control_cushion_pp=0.2))
    # 0.22 is 3 points behind (yellow at a 5-point margin), 0.19 is 6 behind (red); the last row is hidden
    assert got.tolist() == ["green", "yellow", "red", "yellow", "red", None]
    narrow = figures.targets.classify(frame, Rules(yellow_margin_pp=2.0))
    assert narrow.tolist()[:3] == ["green", "red", "red"]


def test_previous_quarter() -> None:
    assert targets.previous_quarter(2026, 10) == (2026, 9)
    assert targets.previous_quarter(2026, 9) == (2026, 6)
    assert targets.previous_quarter(2026, 2) == (2025, 12)


def test_pace_lines_from_profile() -> None:
    profile = pd.DataFrame(
        {"indicator_code": "x", "month": range(1, 13), "share": pd.Series(CITY_PROFILE).cumsum() / 100}
    )
    lines = targets.pace_lines(profile, "x", 1200.0)
    assert lines.loc[lines["month"] == 3, "linear"].item() == 300.0
    assert lines.loc[lines["month"] == 3, "seasonal"].item() == pytest.approx(240.0)
    assert lines.loc[lines["month"] == 12, "seasonal"].item() == pytest.approx(1200.0)


@settings(max_examples=15, deadline=None)
@given(
    district=st.sampled_from(list(DISTRICTS)),
    extra=st.integers(min_value=0, max_value=40),
    base=st.lists(st.integers(min_value=0, max_value=30), min_size=12, max_size=12),
)
def test_raising_actuals_never_lowers_rank(
    tmp_path_factory, district: str, extra: int, base: list[int]
) -> None:
    march = {d: [float(v) for v in base[i * 3 : (i + 1) * 3]] for i, d in enumerate(DISTRICTS)}
    ranks = []
    for bump in (0, extra):
        raised = {
            d: [v + (bump if d == district and m == 2 else 0) for m, v in enumerate(vals)]
            for d, vals in march.items()
        }
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('prop')}/p.sqlite")
        build(engine, raised, HAND["rates"], HAND["cleared"])
        ranks.append(by(targets.attainment(engine, 2025, 3), "urban_new_employment").loc[district, "rank"])
        engine.dispose()
    assert ranks[1] <= ranks[0]


def test_page_drill_down_from_url(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", demo_url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    for k, v in {
        "year": "2026",
        "month": "7",
        "district": "420116",
        "indicator": "skills_training",
        "pace": "seasonal",
    }.items():
        at.query_params[k] = v
    at.switch_page("pages/targets.py").run()
    assert not at.exception
    assert at.selectbox(key="month").value == 7 and at.selectbox(key="indicator").value == "skills_training"
    assert any(h.value == "Huangpi District: drill-down" for h in at.header)
    streets = [df.value for df in at.dataframe]
    assert any(len(df) >= 6 and df.iloc[:, 1].str.startswith("Huangpi").all() for df in streets)


def test_page_replaces_a_malformed_url_value(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", demo_url)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.query_params["month"] = "13'; DROP TABLE area;--"
    at.query_params["district"] = "999999"
    at.switch_page("pages/targets.py").run()
    assert not at.exception
    assert at.selectbox(key="month").value == 10 and at.selectbox(key="district").value == ""


def test_small_counts_are_suppressed_on_the_page(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    """Streets whose figure rests on fewer than 10 persons show "—", and never exactly one per district."""
    engine = make_engine(demo_url)
    small: set[str] = set()
    for district in ["420113", *sorted(set(targets.attainment(engine, 2026, 3)["area_code"]))]:
        raw = targets.attainment(engine, 2026, 3, level="street", parent_code=district)
        raw = raw[raw["indicator_code"] == "difficulty_employment"].sort_values("rank")
        small = set(raw.loc[raw["persons"].between(1, 9), "name_en"])  # zero identifies nobody: shown
        if small:
            break
    assert small, "the tiny demo has streets with few persons"
    prefix = raw["name_en"].iloc[0].split()[0]  # street names start with their district's name
    monkeypatch.setenv("EMPLOYMENT_DB_URL", demo_url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    for k, v in {
        "year": "2026",
        "month": "3",
        "district": district,
        "indicator": "difficulty_employment",
    }.items():
        at.query_params[k] = v
    at.switch_page("pages/targets.py").run()
    streets = next(df.value for df in at.dataframe if df.value.iloc[:, 1].str.startswith(prefix).all())
    shown = dict(zip(streets.iloc[:, 1], streets["Cumulative actual"], strict=True))
    assert all(shown[name] == "—" for name in small)
    assert sum(v == "—" for v in shown.values()) != 1
    assert "fewer than 10 persons" in " ".join(c.value for c in at.caption)
