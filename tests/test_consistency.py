"""One figure, one number: every figure a leader sees on more than one surface is the same everywhere (#15).

The tiny demo city with a stored forecast run and a frozen meeting pack of the latest quarter; each figure is
read off every surface that shows it, as a person would read it (the AppTest elements, the pack's tables and
workbook), and compared:

| figure                          | surfaces                                                            |
|---------------------------------|---------------------------------------------------------------------|
| districts behind pace           | Overview tile, Targets headline, pack (ranking and its workbook)    |
| a district's status             | Targets ranking table, pack ranking, pack workbook                  |
| coverage share (official rule)  | Overview tile, Service circle page (its default rule), pack         |
| the year-end forecast           | Overview tile, Forecasts page, pack forecast table                  |
| a district's year-to-date value | Targets ranking table, Explore table, pack ranking                  |
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from i18n import fmt_int, fmt_month, fmt_pct, t
from jobs import forecast as job
from jobs.pack import excel, snapshot
from queries import meta
from store.db import make_engine
from tests.conftest import ROOT
from tests.test_forecast_job import copy_sqlite

UNE = "urban_new_employment"
RATE = "registered_unemployment_rate"
CITY = "420100"
DISTRICT = "420106"  # Wuchang


@pytest.fixture(scope="module")
def city(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    url = copy_sqlite(demo_url, tmp_path_factory.mktemp("consistency") / "demo.sqlite")
    engine = make_engine(url)
    assert job.run(engine, candidates=("snaive",), jobs=2).run_id is not None
    status = meta.data_status(engine)
    year, month = status.latest_year, status.latest_month
    assert year is not None and month is not None
    quarter = f"{year}Q{(month - 1) // 3 + 1}"
    pack = snapshot.freeze(engine, quarter, "test")
    return {"url": url, "year": year, "month": month, "pack": pack}


def open_page(monkeypatch: pytest.MonkeyPatch, url: str, page: str, **params: str) -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    monkeypatch.setenv("EMPLOYMENT_AUTH", "open")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with a {column!r} column"
    return found[0]


def pack_ranking(city: dict) -> pd.DataFrame:
    ranking = city["pack"].table("ranking")
    return ranking[ranking["indicator_code"] == UNE].set_index("area_code")


def test_districts_behind_pace(monkeypatch: pytest.MonkeyPatch, city: dict) -> None:
    ranking = pack_ranking(city)
    behind_pack = int(ranking["status"].isin(["yellow", "red"]).sum())
    red_pack = int((ranking["status"] == "red").sum())
    overview = open_page(monkeypatch, city["url"], "pages/overview.py")
    tile = metrics(overview)["Districts behind pace on urban new employment"]
    assert tile == f"{behind_pack} / {len(ranking)}"
    targets = open_page(
        monkeypatch,
        city["url"],
        "pages/targets.py",
        year=str(city["year"]),
        month=str(city["month"]),
        indicator=UNE,
    )
    shown = metrics(targets)
    yellow = int(next(v for k, v in shown.items() if k.endswith("Slightly behind")))
    red = int(next(v for k, v in shown.items() if k.endswith(" Behind")))
    assert (yellow + red, red) == (behind_pack, red_pack)
    sheet = excel.sheet_frame(city["pack"], "ranking", "en")
    sheet = sheet[sheet["indicator_code"] == UNE]
    words = {t(f"status_{s}", "en") for s in ("yellow", "red")}
    assert int(sheet["status"].isin(words).sum()) == behind_pack


def test_a_districts_status_and_value(monkeypatch: pytest.MonkeyPatch, city: dict) -> None:
    row = pack_ranking(city).loc[DISTRICT]
    targets = open_page(
        monkeypatch,
        city["url"],
        "pages/targets.py",
        year=str(city["year"]),
        month=str(city["month"]),
        indicator=UNE,
    )
    table = table_with(targets, t("col_status", "en")).set_index(t("col_area", "en"))
    mine = table.loc["Wuchang District"]
    assert mine[t("col_status", "en")] == f"● {t('status_' + str(row['status']), 'en')}"
    assert mine[t("col_actual", "en")] == fmt_int(row["actual"], "en")
    # the pack's workbook says the same in the pages' words (达序时 / 略滞后 / 滞后, not "cards")
    sheet = excel.sheet_frame(city["pack"], "ranking", "zh")
    own = sheet[(sheet["area_code"] == DISTRICT) & (sheet["indicator_code"] == UNE)]
    assert own["status"].tolist() == [t(f"status_{row['status']}", "zh")]
    # Explore: the same district's year-to-date urban new employment
    explore = open_page(
        monkeypatch,
        city["url"],
        "pages/explore.py",
        measure=UNE,
        rows="area",
        cols="",
        grain="year",
        area_level="district",
        **{"from": str(city["year"]), "to": str(city["year"])},
    )
    cells = [d.value for d in explore.dataframe]
    found = [
        frame
        for frame in cells
        if frame.astype(str).apply(lambda c: c.str.contains("Wuchang", regex=False)).any().any()
    ]
    assert found, "Explore shows no row for Wuchang"
    text = found[0].astype(str).to_string()
    assert fmt_int(row["actual"], "en") in text or f"{row['actual']:.0f}" in text.replace(",", "")


def test_coverage_share(monkeypatch: pytest.MonkeyPatch, city: dict) -> None:
    share = city["pack"].meta.get("coverage_share")
    if share is None:
        cov = city["pack"].table("coverage")
        share = cov["covered_people"].sum() / cov["people"].sum()
    overview = open_page(monkeypatch, city["url"], "pages/overview.py")
    assert metrics(overview)["15-minute service-circle coverage"] == fmt_pct(share)
    circle = open_page(monkeypatch, city["url"], "pages/service_circle.py")
    assert metrics(circle)["Residents covered"] == fmt_pct(share)


def test_year_end_forecast(monkeypatch: pytest.MonkeyPatch, city: dict) -> None:
    fc = city["pack"].table("forecast")
    rate = fc[(fc["indicator_code"] == RATE) & (fc["year"] == city["year"]) & (fc["month"] == 12)]
    assert len(rate) == 1
    mean = float(rate["mean"].iloc[0])
    month = fmt_month(city["year"], 12, "en")
    overview = open_page(monkeypatch, city["url"], "pages/overview.py")
    assert metrics(overview)[f"Unemployment rate forecast ({month})"] == f"{mean:.2f}%"
    forecasts = open_page(monkeypatch, city["url"], "pages/forecasts.py", area=CITY, indicator=RATE)
    assert metrics(forecasts)[f"Forecast for {month}"] == f"{mean:.2f}%"


def test_surfaces_read_one_source(city: dict) -> None:
    """The rules the surfaces apply are typed once: no page, job or query restates the margin or the coverage
    rule's numbers (they come from figures.rules)."""
    offenders = []
    for folder in ("pages", "bureau", "jobs", "queries", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")) if (ROOT / folder).is_dir() else []:
            text = Path(path).read_text(encoding="utf-8")
            if "yellow_margin_pp=5" in text.replace(" ", "") or '"circuity": 1.3' in text:
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


def test_a_forecast_run_shows_at_the_next_rerun(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, tmp_path: Path
) -> None:
    """The caches are keyed on the data version (any load, forecast runs included): a run made while a page is
    open shows at its next rerun, on the Overview as on the Forecasts page, without a server restart."""
    url = copy_sqlite(demo_url, tmp_path / "demo.sqlite")
    at = open_page(monkeypatch, url, "pages/overview.py")
    label = next(k for k in metrics(at) if k.startswith("Unemployment rate forecast"))
    assert metrics(at)[label] == "—"
    job.run(make_engine(url), candidates=("snaive",), jobs=1, areas="city")
    time.sleep(2.1)  # the data version is read at most every 2 s
    at.run()
    shown = {k: v for k, v in metrics(at).items() if k.startswith("Unemployment rate forecast")}
    assert shown and next(iter(shown.values())).endswith("%"), shown
