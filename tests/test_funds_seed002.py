"""Seed 002 §二's fund methods (#16): hand-worked three-district examples exact to the fen, the transfer pot that
never holds district_own, own funds moving the split only through "amount raised", and the Funds page in Chinese."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import update
from streamlit.testing.v1 import AppTest

from figures import funds as fund_figures
from figures.rules import rules
from figures.run import plain
from jobs import schemes
from queries import funds
from scoring import PRESETS, WUHAN_2009
from scoring.funds_methods import evaluation, factor_split, factor_table, guarantee_split, own_funds_rule
from store import schema as s
from store.db import make_engine
from tests.conftest import ROOT
from ui import common

ABC = ["A", "B", "C"]


def test_hand_worked_five_factor_split_exact_to_the_fen() -> None:
    # each factor as the district's share of the city total; revenue per resident inverted (2, 2, 1 → ½, ½, 1)
    factors = pd.DataFrame(
        {
            "area_code": ABC,
            "funds_raised_yuan": [100.0, 200.0, 700.0],  # .1 .2 .7
            "target_workload": [300.0, 300.0, 400.0],  # .3 .3 .4
            "last_year_results": [250.0, 250.0, 500.0],  # .25 .25 .5
            "revenue_per_resident_yuan": [2.0, 2.0, 1.0],  # .25 .25 .5 after inversion
            "performance_score": [50.0, 30.0, 20.0],  # .5 .3 .2
        }
    )
    out = factor_split(factors, WUHAN_2009.weights, pot=1_000_000.01).set_index("area_code")
    assert out["part_revenue_per_resident_yuan"].tolist() == pytest.approx([0.25, 0.25, 0.5])
    # equal weights: A = .2 × (.1+.3+.25+.25+.5) = .28, B = .2 × 1.3 = .26, C = .2 × 2.3 = .46
    assert out["share"].tolist() == pytest.approx([0.28, 0.26, 0.46])
    # 100,000,001 fen: 28,000,000.28 / 26,000,000.26 / 46,000,000.46 → the one fen left goes to C (largest .46)
    assert out["amount_fen"].tolist() == [28_000_000, 26_000_000, 46_000_001]
    assert int(out["amount_fen"].sum()) == 100_000_001
    weighted = factor_table(factors, {**WUHAN_2009.weights, "funds_raised_yuan": 0.6}).set_index("area_code")
    # raised 0.6 of 1.4: A = (.6×.1 + .2×(.3+.25+.25+.5)) / 1.4 = .32 / 1.4
    assert weighted.loc["A", "share"] == pytest.approx(0.32 / 1.4)


def test_hand_worked_guarantee_fund_shares_and_matching() -> None:
    ind = pd.DataFrame(
        {
            "area_code": ABC,
            "loan_target_yuan": [200.0, 300.0, 500.0],  # .2 .3 .5   (weight 30)
            "last_year_completion_pct": [80.0, 100.0, 20.0],  # .4 .5 .1   (20)
            "loan_recovery_rate_pct": [90.0, 90.0, 20.0],  # .45 .45 .1 (20)
            "loan_balance_yuan": [100.0, 100.0, 200.0],  # .25 .25 .5 (15)
            "guarantee_fund_balance_yuan": [50.0, 25.0, 25.0],  # .5 .25 .25 (15)
        }
    )
    out = guarantee_split(ind, PRESETS["guarantee_fund_5"], pot=100_000.03).set_index("area_code")
    # A = .06+.08+.09+.0375+.075 = .3425; B = .09+.1+.09+.0375+.0375 = .355; C = .15+.02+.02+.075+.0375 = .3025
    assert out["share"].tolist() == pytest.approx([0.3425, 0.355, 0.3025])
    # 10,000,003 fen: 3,425,001.03 / 3,550,001.07 / 3,025,000.91 → the fen left goes to C
    assert out["amount_fen"].tolist() == [3_425_001, 3_550_001, 3_025_001]
    assert int(out["amount_fen"].sum()) == 10_000_003
    # districts add 50 %, rounded up to the fen: 1,712,500.5 → 1,712,501 …
    assert out["matching_fen"].tolist() == [1_712_501, 1_775_001, 1_512_501]
    assert out["fund_yuan"].tolist() == [51_375.02, 53_250.02, 45_375.02]


def test_own_funds_rule_and_evaluation_by_hand() -> None:
    rule = own_funds_rule(pd.Series([1_500_000.0, 1_499_999.99, 5.0]), pd.Series([1e8, 1e8, None]))
    assert rule["required_yuan"].tolist()[:2] == [1_500_000.0, 1_500_000.0]
    assert rule["met"].tolist() == [True, False, None]
    perfect = {
        "own_funds_ratio_pct": 1.5,
        "spending_progress_pct": 100.0,
        "year_end_balance_pct": 40.0,
        "loans_issued_vs_target_pct": 100.0,
        "loan_recovery_rate_pct": 100.0,
        "priority_share_pct": 60.0,
        "satisfaction_score": 100.0,
        "targets_met_share_pct": 100.0,
    }
    half = {
        **perfect,
        "spending_progress_pct": 50.0,
        "year_end_balance_pct": 100.0,
        "targets_met_share_pct": 50.0,
    }
    ev = evaluation(
        pd.DataFrame([{"area_code": "A", **perfect}, {"area_code": "B", **half}]), pd.Series({"A": 100.0})
    )
    ev = ev.set_index("area_code")
    assert ev.loc["A", "total"] == 100.0
    # B: raising 25 × (1 + ½ + ½)/3 = 16.67; start-up 25; policy 25 × ½ (no assessors' mark) = 12.5; targets 12.5
    assert ev.loc["B", "raising_use"] == pytest.approx(16.67)
    assert ev.loc["B", "policy_delivery"] == 12.5 and "assessed" in ev.loc["B", "missing"]
    assert ev.loc["B", "total"] == pytest.approx(16.67 + 25 + 12.5 + 12.5)


@pytest.fixture
def demo_copy(demo_url: str, tmp_path: Path) -> str:
    target = tmp_path / "copy.sqlite"
    src, dst = sqlite3.connect(demo_url.split("///", 1)[1]), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{target}"


def test_default_pot_excludes_district_own(demo_url: str) -> None:
    run = plain(make_engine(demo_url), 10)
    raw = funds.funds_by_source(make_engine(demo_url), 2025)
    transfer = raw.loc[raw["source"] != "district_own", "amount_yuan"].sum()
    own = raw.loc[raw["source"] == "district_own", "amount_yuan"].sum()
    assert own > 0 and fund_figures.transfer_pot(run, 2025) == pytest.approx(transfer)
    split = fund_figures.transfer_split(
        run, rules(), WUHAN_2009, 2025, 12, fund_figures.transfer_pot(run, 2025)
    )
    assert split.table["amount_fen"].sum() == round(transfer * 100)
    # the comparison is last year's figure from the same pot, so the column sums to the pot itself
    assert split.table["last_year_yuan"].sum() == pytest.approx(transfer)


def test_own_funds_move_the_split_only_through_amount_raised(demo_copy: str) -> None:
    engine = make_engine(demo_copy)
    pot = fund_figures.transfer_pot(plain(engine, 10), 2025)
    before = fund_figures.transfer_factors(plain(engine, 10), rules(), 2025, 12).set_index("area_code")
    no_raised = WUHAN_2009.with_name("x").with_weights({"funds_raised_yuan": 0.0})
    split_before = fund_figures.transfer_split(plain(engine, 10), rules(), no_raised, 2025, 12, pot).table
    fa = s.fund_allocation
    with engine.begin() as conn:
        conn.execute(
            update(fa)
            .where(fa.c.year == 2025, fa.c.district_code == "420111", fa.c.source == "district_own")
            .values(amount_yuan=fa.c.amount_yuan * 3)
        )
    after = fund_figures.transfer_factors(plain(engine, 10), rules(), 2025, 12).set_index("area_code")
    changed = (before.fillna(-1) != after.fillna(-1)).stack()
    assert changed[changed].index.tolist() == [("420111", "funds_raised_yuan")]
    split_after = fund_figures.transfer_split(plain(engine, 10), rules(), no_raised, 2025, 12, pot).table
    assert split_after["amount_fen"].tolist() == split_before["amount_fen"].tolist()
    assert fund_figures.transfer_pot(plain(engine, 10), 2025) == pytest.approx(pot)


def test_official_weights_recorded_locked_with_who_and_when(demo_copy: str) -> None:
    from datetime import datetime

    from figures.schemes import list_schemes, official_transfer

    engine = make_engine(demo_copy)
    run = plain(engine, 10)
    assert official_transfer(run) is WUHAN_2009
    weights = dict(zip(WUHAN_2009.codes, [30.0, 25.0, 20.0, 15.0, 10.0], strict=True))
    when = datetime(2026, 12, 3, 10, 0, 0)
    schemes.record_official_weights(engine, weights, "director@bureau", now=when)
    got = official_transfer(run)
    assert got.locked and got.normalised_weights()["funds_raised_yuan"] == pytest.approx(0.30)
    row = list_schemes(run).set_index("name").loc[got.name]
    assert row["kind"] == "transfer" and row["created_by"] == "director@bureau"
    with pytest.raises(schemes.SchemeForbidden):
        schemes.record_official_in_configured_db(weights, "analyst", role="analyst")
    with pytest.raises(ValueError, match="five factors"):
        schemes.record_official_weights(engine, {"funds_raised_yuan": 1.0}, "x")


CODES = ("grading_100", "factor_method", "guarantee_fund_5", "wuhan_2009", "district_own")


def test_funds_page_in_chinese_shows_no_codes_and_no_english(
    monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    monkeypatch.setattr(common, "_leave_legacy_multipage_mode", lambda: None, raising=False)
    monkeypatch.setenv("EMPLOYMENT_DB_URL", demo_url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "zh")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/funds.py").run()
    assert not at.exception, [e.value for e in at.exception]
    texts = [
        str(e.value)
        for kind in ("caption", "subheader", "success", "warning", "info", "markdown")
        for e in getattr(at, kind)
    ]
    texts += [str(e.label) for e in [*at.selectbox, *at.number_input, *at.button]]
    texts += [str(o) for e in at.selectbox for o in e.options]
    texts += [str(c) for d in at.dataframe for c in d.value.columns if d.key != "fu_editor_grading_100"]
    for text in texts:
        assert not any(code in text for code in CODES), text
        # no English sentence: no run of three Latin words (file names and "bureau weights" apart)
        cleaned = text.replace("docs/funds.md", "").replace("bureau weights", "")
        assert not re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}\s+[A-Za-z]{2,}", cleaned), text
    amounts = [c for d in at.dataframe for c in d.value.columns if "万元" in str(c)]
    assert amounts, "money is shown in 万元"
    assert at.query_params["method"] and at.query_params["pot"]


def test_money_queries_agree_on_sqlite_and_postgresql(demo_url: str, pg_demo_url: str) -> None:
    for fn in (funds.funds_by_source, funds.district_finance):
        lite = fn(make_engine(demo_url), 2025)
        pg = fn(make_engine(pg_demo_url), 2025)
        assert not lite.empty
        pd.testing.assert_frame_equal(lite, pg, check_exact=False, rtol=1e-12)
