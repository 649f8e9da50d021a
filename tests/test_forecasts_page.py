"""The forecasts page under AppTest: the numbers shown are the stored ones, the accuracy sentence quotes the
stored error, the page says what to run when nothing is stored, and malformed URL values fall back."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import forecasting
from i18n import fmt_int, fmt_month
from jobs import forecast as job
from queries import forecasts as fq
from store.db import make_engine
from tests.conftest import ROOT
from tests.test_forecast_job import copy_sqlite
from tests.test_pages import texts

CITY = "420100"


@pytest.fixture(scope="module")
def with_run(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    url = copy_sqlite(demo_url, tmp_path_factory.mktemp("fcpage") / "demo.sqlite")
    result = job.run(make_engine(url), candidates=("snaive",), jobs=2)
    assert result.run_id is not None
    return url, result.run_id


def open_page(monkeypatch: pytest.MonkeyPatch, url: str, lang: str = "en", **params: str) -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", lang)
    monkeypatch.setenv("EMPLOYMENT_AUTH", "open")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/forecasts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def stored(url: str, run_id: int, indicator: str, area: str) -> pd.DataFrame:
    values = fq.run_values(make_engine(url), run_id, indicator)
    return values[values["area_code"] == area].set_index(["year", "month"])


def test_district_stock_shows_the_stored_numbers(monkeypatch: pytest.MonkeyPatch, with_run: tuple) -> None:
    url, run_id = with_run
    at = open_page(monkeypatch, url, area="420106", indicator=fq.REGISTERED)
    assert at.selectbox(key="area").value == "420106" and at.selectbox(key="indicator").value == fq.REGISTERED
    rows = stored(url, run_id, fq.REGISTERED, "420106")
    dec = rows.loc[(2026, 12)]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[f"Forecast for {fmt_month(2026, 12, 'en')}"] == fmt_int(dec["mean"], "en")
    text = texts(at)
    assert f"80% range {fmt_int(dec['lo_80'], 'en')} – {fmt_int(dec['hi_80'], 'en')}" in text
    # The accuracy sentence quotes the stored MAE (1-3 months) of this forecast and of the naive guess.
    acc = fq.run_accuracy(make_engine(url), run_id, fq.REGISTERED)
    mine = acc[acc["area_code"] == "420106"].set_index(["model", "horizon_band"])
    ours = forecasting.format_number(float(mine.loc[("auto", "1-3"), "mae"]))
    naive = forecasting.format_number(float(mine.loc[("snaive", "1-3"), "mae"]))
    assert f"off by about {ours} persons 1–3 months ahead" in text
    assert f"a same-month-last-year guess was off by {naive}" in text
    assert "Reconciliation:" in text and "add up to the city forecast" in text


def test_city_rate_shows_the_chance_of_ending_above_the_line(
    monkeypatch: pytest.MonkeyPatch, with_run: tuple
) -> None:
    url, run_id = with_run
    t0 = time.perf_counter()
    at = open_page(monkeypatch, url, area=CITY, indicator=fq.RATE)
    cold = time.perf_counter() - t0
    t1 = time.perf_counter()
    at.run()
    warm = time.perf_counter() - t1
    print(f"forecasts page AppTest: first open {cold:.2f} s, warm rerun {warm:.2f} s")
    rows = stored(url, run_id, fq.RATE, CITY)
    frame = pd.DataFrame(
        rows[["mean", "lo_80", "hi_80", "lo_95", "hi_95"]].to_numpy(float),
        index=pd.PeriodIndex.from_fields(
            year=rows.index.get_level_values(0).to_numpy(),
            month=rows.index.get_level_values(1).to_numpy(),
            freq="M",
        ),
        columns=["mean", "lo_80", "hi_80", "lo_95", "hi_95"],
    )
    lines = fq.annual_targets(make_engine(url), fq.RATE)
    line = float(lines[(lines["area_code"] == CITY) & (lines["year"] == 2026)]["target_value"].iloc[0])
    p = forecasting.prob_above(frame, line, at=pd.Period("2026-12", freq="M"))
    expected = "<1%" if p < 0.005 else ">99%" if p > 0.995 else f"{p * 100:.0f}%"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[f"Chance of ending {fmt_month(2026, 12, 'en')} above the line"] == expected
    assert metrics[f"Forecast for {fmt_month(2026, 12, 'en')}"] == f"{rows.loc[(2026, 12), 'mean']:.2f}%"
    assert f"control line of {line:.2f}%" in texts(at)
    assert "Rates do not add up" in texts(at)
    assert warm < 5  # goal < 0.5 s on a quiet machine; see docs/forecasts-page.md


def test_no_forecast_yet_says_who_can_refresh_it(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    at = open_page(monkeypatch, demo_url)
    assert any("Data page" in i.value for i in at.info)
    assert not any("bureau " in i.value for i in [*at.info, *at.warning, *at.markdown, *at.caption])
    assert not at.error and not at.metric


def test_malformed_params_fall_back(monkeypatch: pytest.MonkeyPatch, with_run: tuple) -> None:
    url, _ = with_run
    at = open_page(monkeypatch, url, area="999999; drop table", indicator="nonsense")
    assert at.selectbox(key="area").value == CITY
    assert at.selectbox(key="indicator").value == fq.RATE
    assert not at.error and at.metric


def test_chinese_page(monkeypatch: pytest.MonkeyPatch, with_run: tuple) -> None:
    url, _ = with_run
    at = open_page(monkeypatch, url, area=CITY, indicator=fq.NEW_EMPLOYMENT, lang="zh")
    assert "过去三年，这项预测提前1–3个月的平均误差约为" in texts(at)
