"""The Funds page under AppTest: default view, URL filters, allocation sums to the pot, fallbacks, saving a scheme."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from figures.disclosure import plan_for
from privacy import protect
from queries import funds
from scoring import PRESETS, score
from store import schema as s
from store.config import settings
from store.db import make_engine
from tests.conftest import ROOT
from ui import common


def open_page(monkeypatch: pytest.MonkeyPatch, url: str, params: dict[str, str] | None = None) -> AppTest:
    # AppTest resets PagesManager.uses_pages_directory before every run, so ui.common's one-off "leave legacy
    # multipage mode" rerun fires on every run and swallows a clicked button's trigger. A real server does it
    # once per process; skip it here so clicks reach the page.
    monkeypatch.setattr(common, "_leave_legacy_multipage_mode", lambda: None, raising=False)
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/funds.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with a {column!r} column"
    return found[0]


def pot(at: AppTest) -> float:
    """The transfer pot in 万元 (the page's unit since #16)."""
    return float(at.number_input(key="pot").value)


AMOUNT = "split (10k yuan)"


def split_table(at: AppTest) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if any(AMOUNT in str(c) for c in d.value.columns)]
    assert found, "no split table"
    table = found[0]
    return table.rename(columns={c: "amount" for c in table.columns if AMOUNT in str(c)})


def assert_sums_to_pot(at: AppTest) -> pd.DataFrame:
    alloc = split_table(at)
    total_fen = int(np.round(alloc["amount"].to_numpy(float) * 1_000_000).sum())  # 万元 → fen
    assert total_fen == round(pot(at) * 1_000_000)
    assert any("exactly the pot" in m.value for m in at.success)
    return alloc


def test_default_view(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    at = open_page(monkeypatch, demo_url)
    assert not at.error, [e.value for e in at.error]
    ours = ("not possible", "invalid", "cannot", "could not be read", "Not saved", "No Monte Carlo")
    assert not [w.value for w in at.warning if any(o in w.value for o in ours)]
    assert at.selectbox(key="year").value == 2025  # the latest complete year of the demo (data until 2026-10)
    assert at.selectbox(key="scheme").value == "grading_100"
    scores = table_with(at, "Score")
    assert len(scores) == 13 and scores["Rank"].min() == 1
    assert set(scores["Grade"]) <= {"excellent", "pass", "fail"}
    assert (scores["Grade"] == "excellent").sum() <= 3  # at most 30 % of 13
    assert scores["Rank change"].str.match(r"^(▲\d+|▼\d+|—)$").all()
    # #16: the default pot is the year's transfer pot (central + provincial + city, never district_own), so the
    # 2026 split compares like with like against 2025's amounts from the same pot.
    by_source = funds.funds_by_source(make_engine(demo_url), 2025)
    transfer = by_source.loc[by_source["source"] != "district_own", "amount_yuan"].sum()
    assert pot(at) == round(transfer / 10_000, 2)
    alloc = assert_sums_to_pot(at)
    assert "2025 same pot (10k yuan)" in alloc.columns and alloc["5th percentile"].notna().all()
    assert (alloc["5th percentile"] <= alloc["amount"] + 1e-6).all()
    assert (alloc["95th percentile"] >= alloc["amount"] - 1e-6).all()
    assert at.selectbox(key="method").value == "wuhan_2009"
    assert table_with(at, "Choice that moves it most").shape[0] == 13
    assert at.query_params["scheme"] == ["grading_100"] or at.query_params["scheme"] == "grading_100"


def test_url_chooses_scheme_year_and_district(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    at = open_page(monkeypatch, demo_url, {"scheme": "factor_method", "year": "2024", "district": "420111"})
    assert at.selectbox(key="scheme").value == "factor_method"
    assert at.selectbox(key="year").value == 2024 and at.selectbox(key="district").value == "420111"
    scores = table_with(at, "Score")
    # the page scores the published indicators (docs/privacy.md): protected as every view protects them
    e, k = make_engine(demo_url), settings().min_cell_persons
    rule = funds.fund_indicators.sensitive  # type: ignore[attr-defined]
    published = protect(funds.fund_indicators(e, 2024, 12), k, rule, plan_for(e, k))
    want = score(published, PRESETS["factor_method"])
    np.testing.assert_allclose(
        np.sort(scores["Score"].to_numpy(float)), np.sort(want["score"].round(2).to_numpy(float)), atol=1e-9
    )
    assert scores["District"].str.startswith("★").sum() == 1
    assert "2024 same pot (10k yuan)" in split_table(at).columns
    assert_sums_to_pot(at)
    # The Hunan-2014 alternative splits the same pot.
    at.selectbox(key="method").set_value("factor_method").run()
    assert not at.exception
    alloc = assert_sums_to_pot(at)
    assert alloc["5th percentile"].notna().all()


def test_malformed_url_values_fall_back(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    at = open_page(monkeypatch, demo_url, {"scheme": "no-such-scheme", "year": "20x5", "district": "999"})
    assert at.selectbox(key="scheme").value == "grading_100"
    assert at.selectbox(key="year").value == 2025 and at.selectbox(key="district").value == ""
    assert_sums_to_pot(at)


def test_pot_floor_and_cap_inputs(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    at = open_page(monkeypatch, demo_url)
    at.number_input(key="pot").set_value(1_234.56).run()
    alloc = assert_sums_to_pot(at)
    assert pot(at) == 1_234.56 and at.query_params["pot"] == "1234.56"
    at.number_input(key="floor").set_value(5.0).run()
    alloc = assert_sums_to_pot(at)
    assert (alloc["amount"] >= 5.0 - 1e-9).all()
    # Floors worth more than the pot cannot hold: a warning, not an exception.
    at.number_input(key="floor").set_value(200.0).run()
    assert not at.exception
    assert any("not possible" in w.value and "floors" in w.value for w in at.warning)


@pytest.fixture()
def writable_copy(demo_url: str, tmp_path: Path) -> str:
    """A private copy of the demo database, so that saving a scheme does not touch the shared one."""
    target = tmp_path / "copy.sqlite"
    src, dst = sqlite3.connect(demo_url.split("///", 1)[1]), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{target}"


def test_saving_a_what_if_copy_creates_a_row(monkeypatch: pytest.MonkeyPatch, writable_copy: str) -> None:
    at = open_page(monkeypatch, writable_copy)
    at.selectbox(key="fu_agg_grading_100").set_value("geometric").run()
    assert any("edited copy" in i.value for i in at.info)
    at.text_input(key="fu_save_name").set_value("my what-if").run()
    at.button(key="fu_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    engine = make_engine(writable_copy)
    with engine.connect() as conn:
        row = conn.execute(select(s.scoring_scheme).where(s.scoring_scheme.c.name == "my what-if")).one()
    assert row.created_by == "anonymous (demo)" and not row.locked and row.created_at is not None
    assert '"aggregation": "geometric"' in row.definition_json
    # The page switches to the saved scheme and says who saved it.
    assert at.selectbox(key="scheme").value == "my what-if"
    assert any("Saved scheme" in m.value and "anonymous (demo)" in m.value for m in at.success)
    # A preset's name is refused with a warning and nothing is written.
    at.text_input(key="fu_save_name").set_value("grading_100").run()
    at.button(key="fu_save").click().run()
    assert any("Not saved" in w.value for w in at.warning)
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(select(s.scoring_scheme.c.name))]
    assert names == ["my what-if"]
    engine.dispose()
