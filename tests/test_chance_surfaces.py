"""The chance of meeting a target is one number on every surface: the Targets column, the Overview tile, the
meeting pack (PDF/Word key figures) and the briefing all read figures.chance on the same stored forecast."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert
from streamlit.testing.v1 import AppTest

import figures.briefing as fb
import figures.chance
import figures.targets
from figures.rules import rules
from figures.run import plain
from i18n import fmt_int, t
from jobs.pack import snapshot
from store import schema as s
from store.db import make_engine
from tests.conftest import ROOT
from tests.test_pack import copy_db

UNE = "urban_new_employment"
Y, M = 2026, 10


@pytest.fixture(scope="module")
def stored(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo with a stored forecast of urban new employment for November and December, every area, sized so
    the city's chance is neither 0 nor 1."""
    url = copy_db(demo_url, tmp_path_factory.mktemp("chance") / "demo.sqlite")
    engine = make_engine(url)
    frame = figures.targets.attainment(plain(engine, 10), rules(), Y, M)
    city = figures.targets.attainment(plain(engine, 10), rules(), Y, M, level="city")
    rows = pd.concat([frame, city])
    rows = rows[rows["indicator_code"] == UNE]
    values = []
    for r in rows.itertuples():
        need = max(float(r.target) - float(r.actual if r.actual == r.actual else 0), 2.0)
        for month in (11, 12):
            mean = need / 2
            sd = max(mean * 0.15, 1.0)
            values.append(
                dict(
                    run_id=1, area_code=r.area_code, indicator_code=UNE, year=Y, month=month,
                    district_code=r.area_code, mean=mean,
                    lo_80=mean - 1.28 * sd, hi_80=mean + 1.28 * sd, lo_95=mean - 1.96 * sd,
                    hi_95=mean + 1.96 * sd, model="ets",
                )
            )  # fmt: skip
    run = dict(run_id=1, created_at=datetime(2026, 11, 20), cut_off=date(2026, 10, 31), model_version="test")
    with engine.begin() as conn:
        conn.execute(insert(s.forecast_run), [run])
        conn.execute(insert(s.forecast_value), values)
    engine.dispose()
    return url


def city_chance(url: str) -> tuple[float, float]:
    run = plain(make_engine(url), 10)
    city = figures.targets.attainment(run, rules(), Y, M, level="city")
    row = figures.chance.with_chance(run, city, Y, M).set_index("indicator_code").loc[UNE]
    return float(row["chance"]), float(row["target"])


def open_page(monkeypatch: pytest.MonkeyPatch, url: str, page: str, **params: str) -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_surface_says_the_same_chance(
    stored: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    p, target = city_chance(stored)
    assert 0.02 < p < 0.98  # a real chance, not a certainty
    sentence = t("chance_sentence", "en", p=figures.chance.percent(p), target=fmt_int(target, "en"))
    overview = open_page(monkeypatch, stored, "pages/overview.py")
    assert sentence in [c.value for c in overview.caption]
    brief = fb.briefing(plain(make_engine(stored), 10), rules(), Y, M, "en").text()
    assert (
        f"the chance of reaching {fmt_int(target, 'en')} by December is {figures.chance.percent(p)}" in brief
    )
    pack = snapshot.build(make_engine(stored), "2026Q4")
    key = snapshot.table_frame(pack["tables"]["key_figures"]).set_index("indicator_code")
    assert key.loc[UNE, "chance"] == pytest.approx(p)


def test_targets_shows_the_chance_beside_the_status(stored: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run = plain(make_engine(stored), 10)
    want = figures.chance.with_chance(run, figures.targets.attainment(run, rules(), Y, M), Y, M)
    want = want[want["indicator_code"] == UNE].set_index("name_en")["chance"].map(figures.chance.percent)
    at = open_page(monkeypatch, stored, "pages/targets.py", year=str(Y), month=str(M), indicator=UNE)
    table = at.dataframe[0].value
    col = t("col_chance", "en")
    assert col in table.columns
    shown = dict(zip(table[t("col_area", "en")], table[col], strict=True))
    assert shown == want.to_dict()
    assert t("chance_record_title", "en") in [e.label for e in at.expander]
