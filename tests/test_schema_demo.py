"""The schema on SQLite and PostgreSQL, and the demo city: deterministic and consistent."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, insert, select

from jobs import demo
from store import schema
from store.db import make_engine, missing_tables, upgrade
from tests.conftest import UNTIL


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_schema_created_and_round_tripped(
    backend: str, empty_url: str, request: pytest.FixtureRequest
) -> None:
    url = empty_url if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(url)
    upgrade(engine)
    assert missing_tables(engine) == []
    upgrade(engine)  # idempotent
    row = dict(
        area_code="420102",
        level="district",
        parent_code=None,
        district_code="420102",
        name_zh="江岸区",
        name_en="Jiang'an District",
        zone="central",
        is_rural=False,
        area_km2=80.3,
        centroid_lon=114.32,
        centroid_lat=30.64,
        boundary_geojson='{"type":"Point","coordinates":[114.3,30.6]}',
        datum="GCJ-02",
    )
    spell = dict(
        spell_id=10**12,
        person_id=7,
        district_code="420102",
        street_code="420102001",
        registered_on=dt.date(2024, 2, 29),
        ended_on=None,
        difficulty=True,
    )
    with engine.begin() as conn:
        conn.execute(insert(schema.area).values(**row))
        conn.execute(insert(schema.unemployment_spell).values(**spell))
    with engine.connect() as conn:
        back = conn.execute(select(schema.area)).mappings().one()
        back_spell = conn.execute(select(schema.unemployment_spell)).mappings().one()
    assert dict(back) == row
    assert dict(back_spell) == spell


def test_demo_is_deterministic() -> None:
    a = demo.generate("tiny", UNTIL, seed=11)
    b = demo.generate("tiny", UNTIL, seed=11)
    for name in a:
        pd.testing.assert_frame_equal(
            a[name].reset_index(drop=True), b[name].reset_index(drop=True), check_like=True
        )
    c = demo.generate("tiny", UNTIL, seed=12)
    assert not c["employment_event"]["event_date"].equals(a["employment_event"]["event_date"])


def test_demo_city_is_wuhan_with_census_populations(demo_engine) -> None:
    with demo_engine.connect() as conn:
        districts = conn.execute(
            select(schema.area.c.area_code, schema.area.c.zone).where(schema.area.c.level == "district")
        ).all()
        pop = conn.execute(select(func.sum(schema.population_cell.c.population))).scalar_one()
        points = conn.execute(select(func.count()).select_from(schema.service_point)).scalar_one()
    assert len(districts) == 13
    assert sum(1 for _, z in districts if z == "central") == 7
    assert pop == 12_326_518  # 2020 census, zones folded into districts
    assert 200 <= points <= 1000


def _agg(engine, level: str, indicator: str) -> pd.DataFrame:
    a = schema.agg_monthly
    stmt = select(a.c.area_code, a.c.district_code, a.c.year, a.c.month, a.c.value).where(
        a.c.level == level, a.c.indicator_code == indicator, a.c.group_code == "all"
    )
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).mappings().all())


@pytest.mark.parametrize(
    "indicator", ["urban_new_employment", "registered_unemployed", "skills_training", "startup_loans_issued"]
)
def test_districts_sum_to_the_city_and_streets_to_districts(demo_engine, indicator: str) -> None:
    city = _agg(demo_engine, "city", indicator).set_index(["year", "month"])["value"]
    districts = _agg(demo_engine, "district", indicator).groupby(["year", "month"])["value"].sum()
    streets = _agg(demo_engine, "street", indicator)
    by_district = streets.groupby(["district_code", "year", "month"])["value"].sum()
    district_rows = _agg(demo_engine, "district", indicator).set_index(["district_code", "year", "month"])[
        "value"
    ]
    pd.testing.assert_series_equal(city.sort_index(), districts.sort_index(), check_names=False)
    pd.testing.assert_series_equal(by_district.sort_index(), district_rows.sort_index(), check_names=False)


def test_monthly_flows_sum_to_the_year_and_match_the_records(demo_engine) -> None:
    monthly = _agg(demo_engine, "city", "urban_new_employment").groupby("year")["value"].sum()
    e = schema.employment_event
    year = func.substr(func.cast(e.c.event_date, schema.area.c.name_en.type), 1, 4)
    with demo_engine.connect() as conn:
        counted = dict(
            conn.execute(select(year, func.count()).where(e.c.kind == "urban_new").group_by(year)).all()
        )
    assert {int(k): v for k, v in counted.items()} == {int(k): int(v) for k, v in monthly.items()}
    assert sorted(monthly.index) == list(range(2019, 2027))


def test_stock_equals_open_spells_at_month_end(demo_engine) -> None:
    s = schema.unemployment_spell
    month_end = dt.date(2023, 6, 30)
    with demo_engine.connect() as conn:
        open_spells = conn.execute(
            select(func.count()).where(
                s.c.registered_on <= month_end, (s.c.ended_on.is_(None)) | (s.c.ended_on > month_end)
            )
        ).scalar_one()
    stock = (
        _agg(demo_engine, "city", "registered_unemployed")
        .set_index(["year", "month"])
        .loc[(2023, 6), "value"]
    )
    assert stock == open_spells


def test_demo_has_the_defects_the_checks_must_find(demo_engine) -> None:
    from queries import checks

    assert list(checks.missing_reports(demo_engine, 2026, 10)["area_code"]) == ["420117"]
    assert "420113" in set(checks.unreconciled(demo_engine, 2026, 10)["area_code"])
    spikes = checks.outliers(checks.monthly_series(demo_engine))
    assert ((spikes["area_code"] == "420114") & (spikes["year"] == 2025) & (spikes["month"] == 12)).any()


def test_demo_refuses_to_overwrite_without_force(demo_url: str) -> None:
    with pytest.raises(demo.DemoExists):
        demo.build(make_engine(demo_url), scale="tiny", until=UNTIL)


def test_records_generated_in_chunks_hang_together(monkeypatch: pytest.MonkeyPatch, empty_url: str) -> None:
    """The large scale writes records chunk by chunk: ids continue, persons exist, flows still add up."""
    monkeypatch.setitem(demo.CHUNKS, "tiny", 4)
    pieces: dict[str, int] = {}
    for name, _frame in demo.tables("tiny", UNTIL, seed=5):
        pieces[name] = pieces.get(name, 0) + 1
    assert pieces["employment_event"] == pieces["person"] == 4
    assert pieces["area"] == pieces["target"] == 1
    t = demo.generate("tiny", UNTIL, seed=5)
    persons = t["person"]["person_id"]
    assert persons.is_unique
    for name, key in [
        ("employment_event", "event_id"),
        ("unemployment_spell", "spell_id"),
        ("training_record", "training_id"),
        ("startup_loan", "loan_id"),
    ]:
        ids = t[name][key].sort_values().to_numpy()
        assert (ids == range(1, len(ids) + 1)).all(), name  # dense and unique across chunks
        if name != "startup_loan":
            assert t[name]["person_id"].isin(persons).all(), name
        # every person's records lie in the person's own street
        merged = t[name][["person_id", "street_code"]].merge(
            t["person"][["person_id", "street_code"]], on="person_id", suffixes=("", "_person")
        )
        assert (merged["street_code"] == merged["street_code_person"]).all(), name
    loans = t["startup_loan"]["person_id"]
    assert (loans.isin(persons) | (loans == 0)).all()
    # Built into a database, the aggregates still equal the records.
    engine = make_engine(empty_url)
    demo.build(engine, scale="tiny", until=UNTIL, seed=5)
    monthly = _agg(engine, "city", "urban_new_employment")["value"].sum()
    events = t["employment_event"]
    assert monthly == (events["kind"] == "urban_new").sum()
    districts = _agg(engine, "district", "urban_new_employment").groupby("district_code")["value"].sum()
    by_records = events[events["kind"] == "urban_new"].groupby("district_code").size()
    pd.testing.assert_series_equal(
        districts.sort_index().astype(int), by_records.sort_index().astype(int), check_names=False
    )
