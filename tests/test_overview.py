"""Overview: the tiles show the city's attainment numbers, the links carry the filters, spending progress equals a
pandas computation on raw rows (SQLite and PostgreSQL), and the forecast tile reads the newest stored run."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from urllib.parse import parse_qs

import pandas as pd
import pytest
from sqlalchemy import Engine, insert
from streamlit.testing.v1 import AppTest

from i18n import fmt_int, fmt_month, fmt_pct
from queries import meta, overview, targets
from service_circle import coverage, summarise, to_wgs84
from store import schema as s
from store import stations
from store.db import make_engine
from tests.conftest import ROOT

FLOWS = ("urban_new_employment", "reemployment", "difficulty_employment", "skills_training")
RATE = "registered_unemployment_rate"


def open_overview(monkeypatch: pytest.MonkeyPatch, url: str) -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.fixture(scope="module")
def page(demo_url: str) -> AppTest:
    mp = pytest.MonkeyPatch()
    try:
        yield open_overview(mp, demo_url)
    finally:
        mp.undo()


def latest(engine: Engine) -> tuple[int, int]:
    status = meta.data_status(engine)
    assert status.latest_year is not None and status.latest_month is not None
    return status.latest_year, status.latest_month


def read(engine: Engine, table: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql_query(f"SELECT * FROM {table}", conn)  # fixed table names, test only


def test_flow_tiles_show_the_city_attainment(page: AppTest, demo_engine: Engine) -> None:
    year, month = latest(demo_engine)
    city = targets.attainment(demo_engine, year, month, level="city").set_index("indicator_code")
    names = meta.indicators(demo_engine).set_index("code")["name_en"]
    metrics = {m.label: m for m in page.metric}
    raw = read(demo_engine, "agg_monthly")
    for code in FLOWS:
        row = city.loc[code]
        tile = metrics[names[code]]
        assert tile.value == fmt_int(row["actual"], "en"), code
        gap = (row["completion_rate"] - row["time_elapsed_progress"]) * 100
        assert tile.delta == f"{gap:+.1f} pp vs pace", code
        # and attainment's actual is this year's monthly city rows summed (independent of the SQL)
        mine = raw[
            (raw["level"] == "city")
            & (raw["indicator_code"] == code)
            & (raw["group_code"] == "all")
            & (raw["year"] == year)
            & (raw["month"] <= month)
        ]["value"].sum()
        assert tile.value == fmt_int(mine, "en"), code
    captions = [c.value for c in page.caption]
    new = city.loc["urban_new_employment"]
    assert (
        f"Completion {fmt_pct(new['completion_rate'])}, pace {fmt_pct(month / 12)}, "
        f"annual target {fmt_int(new['target'], 'en')}" in captions
    )


def test_rate_tile_reads_the_margin_under_the_control_line(page: AppTest, demo_engine: Engine) -> None:
    year, month = latest(demo_engine)
    row = targets.attainment(demo_engine, year, month, level="city").set_index("indicator_code").loc[RATE]
    tile = {m.label: m for m in page.metric}["Registered urban unemployment rate"]
    assert tile.value == f"{row['actual']:.2f}%"
    assert tile.delta == f"{row['actual'] - row['target']:+.2f} pp vs the line"
    side = "under" if row["margin_pp"] >= 0 else "over"
    assert f"{abs(row['margin_pp']):.2f} points {side} the {row['target']:.2f}% control line" in [
        c.value for c in page.caption
    ]


def test_behind_tile_counts_every_district_behind_pace(page: AppTest, demo_engine: Engine) -> None:
    """Behind pace = completion below time-elapsed progress (slightly behind and behind together), the count
    the Targets page shows; the red ones (more than the 5-point margin behind) are named."""
    year, month = latest(demo_engine)
    d = targets.attainment(demo_engine, year, month)
    new = d[d["indicator_code"] == "urban_new_employment"]
    gap = new["completion_rate"] - new["time_elapsed_progress"]
    behind, red = new[gap < -1e-12], new[gap < -0.05 - 1e-12]
    tile = {m.label: m for m in page.metric}["Districts behind pace on urban new employment"]
    assert tile.value == f"{len(behind)} / {len(new)}"
    split = f"{len(red)} behind, {len(behind) - len(red)} slightly behind, {len(new) - len(behind)} on pace"
    assert split in [c.value for c in page.caption]
    text = "\n".join(m.value for m in page.markdown)
    for name in red["name_en"]:
        assert name in text


def test_spending_and_coverage_tiles(page: AppTest, demo_engine: Engine) -> None:
    year, month = latest(demo_engine)
    metrics = {m.label: m for m in page.metric}
    pay, alloc = read(demo_engine, "subsidy_payment"), read(demo_engine, "fund_allocation")
    paid = pd.to_datetime(pay["paid_on"])
    spent = pay[(paid.dt.year == year) & (paid.dt.month <= month)]["amount_yuan"].sum()
    assert metrics["Fund spending progress"].value == fmt_pct(
        spent / alloc[alloc["year"] == year]["amount_yuan"].sum()
    )
    # coverage from the raw tables, open points filtered in pandas: the query and the wiring, not the package
    cells = read(demo_engine, "population_cell").rename(columns={"is_rural": "rural"})
    cells["rural"] = cells["rural"].astype(bool)
    points = read(demo_engine, "service_point")
    end = pd.Period(year=year, month=month, freq="M").end_time.normalize()
    opened, closed = pd.to_datetime(points["opened_on"]), pd.to_datetime(points["closed_on"])
    counted = points["level"].isin(stations.COUNTED)  # the official rule: every type but partner points
    open_now = points[(opened <= end) & (closed.isna() | (closed > end)) & counted]
    result = coverage(to_wgs84(cells, "gcj02"), to_wgs84(open_now, "gcj02"))
    share = float(summarise(cells, result)["covered_share"].iloc[0])
    assert 0 < share < 1
    assert metrics["15-minute service-circle coverage"].value == fmt_pct(share)
    assert f"{len(open_now):,} open service points" in "\n".join(c.value for c in page.caption)


def test_no_forecast_yet_says_who_can_refresh_it(page: AppTest) -> None:
    assert {m.label: m for m in page.metric}["Unemployment rate forecast"].value == "—"
    assert any("ask an administrator to refresh it on the Data page" in i.value for i in page.info)
    assert not any("bureau " in i.value for i in [*page.info, *page.warning, *page.markdown, *page.caption])


def test_links_carry_the_filters(page: AppTest, demo_engine: Engine) -> None:
    year, month = latest(demo_engine)
    links = [(el.proto.page, parse_qs(el.proto.query_string)) for el in page.get("page_link")]
    for code in (*FLOWS, RATE):
        assert ("targets", {"year": [str(year)], "month": [str(month)], "indicator": [code]}) in links, code
    assert ("funds", {"year": [str(year)]}) in links
    assert ("forecasts", {"area": ["420100"], "indicator": [RATE]}) in links
    assert ("service_circle", {}) in links
    district_links = [q for p, q in links if p == "service_circle" and q]
    assert len(district_links) == 1 and district_links[0]["district"][0].startswith("4201")


@pytest.mark.parametrize("year_month", [(2026, 10), (2025, 12), (2024, 1), (2031, 5)])
def test_spending_progress_sql_equals_pandas(both_demo_urls: str, year_month: tuple[int, int]) -> None:
    year, month = year_month
    engine = make_engine(both_demo_urls)
    got = overview.spending_progress(engine, year, month).iloc[0]
    pay, alloc = read(engine, "subsidy_payment"), read(engine, "fund_allocation")
    paid = pd.to_datetime(pay["paid_on"])
    spent = pay[
        (paid >= pd.Timestamp(year, 1, 1)) & (paid < pd.Period(year=year, month=month, freq="M").end_time)
    ]
    allocated = alloc[alloc["year"] == year]["amount_yuan"].sum()
    assert got["spent_yuan"] == pytest.approx(spent["amount_yuan"].sum(), rel=1e-12, abs=1e-6)
    assert got["time_elapsed"] == pytest.approx(month / 12)
    if allocated > 0:
        assert got["allocated_yuan"] == pytest.approx(allocated, rel=1e-12)
        assert got["progress"] == pytest.approx(spent["amount_yuan"].sum() / allocated, rel=1e-12)
        assert got["spent_yuan"] > 0
    else:  # a year with no allocation: nothing spent, progress undefined rather than a division error
        assert pd.isna(got["progress"]) and got["spent_yuan"] == 0
    engine.dispose()


def test_city_series_is_the_last_24_months(demo_engine: Engine) -> None:
    out = overview.city_series(demo_engine, ("urban_new_employment", RATE), 2026, 10)
    for code in ("urban_new_employment", RATE):
        one = out[out["indicator_code"] == code]
        assert len(one) == 24
        assert (one["year"].iloc[0], one["month"].iloc[0]) == (2024, 11)
        assert (one["year"].iloc[-1], one["month"].iloc[-1]) == (2026, 10)


def _store_forecasts(url: str) -> None:
    engine = make_engine(url)
    r, v = s.forecast_run, s.forecast_value
    runs = [
        dict(run_id=1, created_at=datetime(2026, 11, 1), cut_off=date(2026, 9, 30), model_version="old"),
        dict(run_id=2, created_at=datetime(2026, 11, 20), cut_off=date(2026, 10, 31), model_version="new"),
        dict(run_id=3, created_at=datetime(2026, 11, 21), cut_off=date(2026, 10, 31), model_version="other"),
    ]

    def val(run: int, area: str, code: str, y: int, m: int, mean: float) -> dict:
        return dict(
            run_id=run, area_code=area, indicator_code=code, year=y, month=m, district_code=area,
            mean=mean, lo_80=mean - 0.2, hi_80=mean + 0.3, lo_95=mean - 0.4, hi_95=mean + 0.5, model="theta",
        )  # fmt: skip

    values = [val(1, "420100", RATE, 2026, 12, 9.99)]
    values += [val(2, "420100", RATE, y, m, 2.5 + 0.01 * m) for y, m in ((2026, 11), (2026, 12), (2027, 1))]
    values += [
        val(3, "420102", RATE, 2026, 12, 7.77),
        val(3, "420100", "registered_unemployed", 2026, 12, 1.0),
    ]
    with engine.begin() as conn:
        conn.execute(insert(r), runs)
        conn.execute(insert(v), values)
    engine.dispose()


def test_the_forecast_tile_reads_the_newest_run(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "with_forecast.sqlite"
    shutil.copy(demo_url.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
    _store_forecasts(url)
    engine = make_engine(url)
    fc = overview.latest_forecast(engine)
    assert set(fc["run_id"]) == {2} and len(fc) == 3  # run 3 is newer but has no city rate
    year, month = latest(engine)
    line = (
        targets.attainment(engine, year, month, level="city").set_index("indicator_code").loc[RATE, "target"]
    )
    engine.dispose()
    at = open_overview(monkeypatch, url)
    tile = {m.label: m for m in at.metric}[f"Unemployment rate forecast ({fmt_month(2026, 12, 'en')})"]
    assert tile.value == "2.62%"
    assert tile.delta == f"{2.62 - line:+.2f} pp vs the line"
    assert "80% interval 2.42%–2.92%; made with data to 31 Oct 2026" in [c.value for c in at.caption]
    assert not any("No forecast stored yet" in i.value for i in at.info)
