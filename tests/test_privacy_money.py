"""Money figures and the hidden cells they could give back (issue #18, item 1; docs/privacy.md §3c).

Each test is the attack that broke the dashboard: two views of person-level money (subsidy payments, start-up
loans) subtracted from one another, on the tiny demo city with the city-wide plan the pages and the pack apply.
A month of a district's subsidy spending that Explore hides (it rests on 1 … k−1 payments) must not come back
as the difference of two other figures, and no month-to-month change of a loan stock may rest on 1 … k−1 loans.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from figures.disclosure import plan_for
from privacy import protect
from queries import explore, frame, funds, overview
from store import schema as s
from tests.test_privacy_paths import YEAR, K

SPEND = "subsidy_spending"


def shown(engine: Engine, plan: Any, fn: Any, *args: Any, **kwargs: Any) -> pd.DataFrame:
    """What a leader sees: the query through its own rule and the city-wide plan (as ``ui.common.query``)."""
    return protect(fn(engine, *args, **kwargs), K, getattr(fn, "sensitive", None), plan)


@pytest.fixture(scope="module")
def plan(demo_engine: Engine) -> Any:
    return plan_for(demo_engine, K)


@pytest.fixture(scope="module")
def last_month(demo_engine: Engine) -> int:
    a = s.agg_monthly
    with demo_engine.connect() as conn:
        return int(conn.execute(select(func.max(a.c.month)).where(a.c.year == YEAR)).scalar_one())


@pytest.fixture(scope="module")
def hidden_months(demo_engine: Engine, plan: Any, last_month: int) -> pd.DataFrame:
    """Explore's district × month subsidy spending: the months it hides that rest on 1 … k−1 payments."""
    raw = explore.explore(demo_engine, SPEND, "area", "period", "month", (YEAR, YEAR))
    out = protect(raw, K, explore.explore.sensitive, plan)  # type: ignore[attr-defined]
    hid = raw[out["value"].isna() & (raw["persons"] > 0) & (raw["persons"] < K)].copy()
    hid["month"] = hid["period"].str[5:].astype(int)
    hid = hid[hid["month"] > 1]
    assert not hid.empty, "the demo must have small district months of subsidy spending to protect"
    return hid


def _recovered(hid: pd.DataFrame, by_month: dict[int, pd.Series]) -> list[str]:
    """The hidden months a district's year-to-date at m minus at m − 1 gives back (both shown)."""
    got = []
    for r in hid.itertuples(index=False):
        now, before = by_month[r.month].get(r.area), by_month[r.month - 1].get(r.area)
        if now is None or before is None or now != now or before != before:
            continue
        if abs((now - before) - r.value) < 0.01:
            got.append(f"{r.area} {r.period}: {r.value:.2f} yuan from {int(r.persons)} payments")
    return got


def test_the_category_table_counts_payments(demo_engine: Engine) -> None:
    """Every demo payment has no person id: counting distinct persons gave 0 and never suppressed anything."""
    raw = funds.subsidies_by_category(demo_engine, YEAR, 3)
    sp = s.subsidy_payment
    with demo_engine.connect() as conn:
        n = conn.execute(
            select(func.count()).where(sp.c.paid_on >= date(YEAR, 1, 1), sp.c.paid_on <= date(YEAR, 3, 31))
        ).scalar_one()
    assert raw["persons"].sum() == n > 0


def test_category_spending_of_two_months_gives_no_hidden_month_back(
    demo_engine: Engine, plan: Any, hidden_months: pd.DataFrame, last_month: int
) -> None:
    """Σ categories at m − Σ categories at m − 1 = the district's spending in month m, which Explore hides."""
    by_month = {}
    for m in range(1, last_month + 1):
        out = shown(demo_engine, plan, funds.subsidies_by_category, YEAR, m)
        # a district's total is known only if every one of its category rows is shown
        by_month[m] = (
            out.groupby("area_code")["amount_yuan"]
            .sum(min_count=1)
            .where(out.groupby("area_code")["amount_yuan"].apply(lambda v: v.notna().all()))
        )
    got = _recovered(hidden_months, by_month)
    assert not got, f"{len(got)} of {len(hidden_months)} hidden months recovered: {got[:5]}"


def test_spending_progress_and_year_end_balance_give_no_hidden_month_back(
    demo_engine: Engine, plan: Any, hidden_months: pd.DataFrame, last_month: int
) -> None:
    """Spending progress × the year's allocation (shown on the page's allocation) = spending to date, so two
    months differ by the hidden month; the year-end balance gives the year's spending the same way."""
    alloc = funds.allocation_totals(demo_engine, YEAR).set_index("area_code")["amount_yuan"]
    by_month, balance = {}, {}
    for m in range(1, last_month + 1):
        out = shown(demo_engine, plan, funds.fund_indicators, YEAR, m).set_index("area_code")
        by_month[m] = out["spending_progress_pct"] * alloc / 100.0
        balance[m] = alloc - out["year_end_balance_pct"] * alloc / 100.0
    got = _recovered(hidden_months, by_month)
    assert not got, f"{len(got)} of {len(hidden_months)} hidden months recovered: {got[:5]}"
    # the balance's "year so far" at the current cut-off is the spending to date: it must not sit one small
    # month away from a shown spending figure
    last = hidden_months[hidden_months["month"] == last_month]
    got = _recovered(last, {last_month: balance[last_month], last_month - 1: by_month[last_month - 1]})
    assert not got, f"recovered from the year-end balance: {got}"


def test_the_overview_spending_tile_gives_no_hidden_month_back(
    demo_engine: Engine, plan: Any, hidden_months: pd.DataFrame, last_month: int
) -> None:
    """A planner's spending tile (their district's spending to date) at m and at m − 1."""
    by_month: dict[int, pd.Series] = {m: pd.Series(dtype=float) for m in range(1, last_month + 1)}
    for d in sorted(set(hidden_months["area"])):
        for m in range(1, last_month + 1):
            row = shown(demo_engine, plan, overview.spending_progress, YEAR, m, district_code=d).iloc[0]
            by_month[m][d] = row["spent_yuan"]
    got = _recovered(hidden_months, by_month)
    assert not got, f"{len(got)} of {len(hidden_months)} hidden months recovered: {got[:5]}"


def loan_moves(engine: Engine) -> pd.DataFrame:
    """Per district and month of YEAR: loans issued, loans repaid (what moves the balance)."""
    ln = s.startup_loan
    with engine.connect() as conn:
        loans = frame(conn, select(ln.c.district_code, ln.c.issued_on, ln.c.repaid_on))
    issued = pd.to_datetime(loans["issued_on"])
    repaid = pd.to_datetime(loans["repaid_on"])
    rows = []
    for d, part in loans.groupby("district_code"):
        i, r = issued[part.index], repaid[part.index]
        for m in range(1, 13):
            rows.append(
                {
                    "area_code": str(d),
                    "month": m,
                    "moves": int(((i.dt.year == YEAR) & (i.dt.month == m)).sum())
                    + int(((r.dt.year == YEAR) & (r.dt.month == m)).sum()),
                }
            )
    return pd.DataFrame(rows)


def test_the_loan_balance_gives_no_small_month_of_loans_back(
    demo_engine: Engine, plan: Any, last_month: int
) -> None:
    """The balance at m − the balance at m − 1 = the loans issued in m − the loans repaid in m: shown both, it
    gives a single borrower's new loan back."""
    moves = loan_moves(demo_engine).set_index(["area_code", "month"])["moves"]
    bal = {
        m: shown(demo_engine, plan, funds.fund_indicators, YEAR, m).set_index("area_code")[
            "loan_balance_yuan"
        ]
        for m in range(1, last_month + 1)
    }
    small = [(d, m) for (d, m), n in moves.items() if 0 < n < K and 1 < m <= last_month]
    assert small, "the demo must have small months of loans to protect"
    got = [
        f"{d} {YEAR}-{m:02d}: {moves[(d, m)]} loans moved, {bal[m][d] - bal[m - 1][d]:.2f} yuan"
        for d, m in small
        if np.isfinite(bal[m].get(d, np.nan)) and np.isfinite(bal[m - 1].get(d, np.nan))
    ]
    assert not got, f"{len(got)} of {len(small)} small months of loans recovered: {got[:5]}"


def test_the_money_queries_are_the_same_on_every_database(both_demo_urls: str, demo_url: str) -> None:
    """The payee counts and the points of the money figures are one SQL statement on SQLite, PostgreSQL and
    the sharded layout: the same rows, and the same figures shown through the same plan."""
    from pandas.testing import assert_frame_equal

    from store.db import make_engine

    def read(url: str) -> dict[str, pd.DataFrame]:
        engine = make_engine(url)
        plan = plan_for(engine, K)
        return {
            "categories": shown(engine, plan, funds.subsidies_by_category, YEAR, 7),
            "indicators": shown(engine, plan, funds.fund_indicators, YEAR, 7),
            "tile": shown(engine, plan, overview.spending_progress, YEAR, 7, district_code="420102"),
        }

    want, got = read(demo_url), read(both_demo_urls)
    for name in want:
        assert_frame_equal(
            got[name].reset_index(drop=True), want[name].reset_index(drop=True), check_dtype=False, obj=name
        )
    assert want["categories"]["amount_yuan"].isna().any() and want["categories"]["amount_yuan"].notna().any()


def test_the_funds_page_shows_no_count_behind_a_figure(
    demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The indicator table showed the counts suppression reads (persons placed, payees, loans, registered
    unemployed to the month), unprotected: two months of them give a hidden month's count back."""
    from tests.test_funds_page import open_page

    at = open_page(monkeypatch, demo_url, {"year": str(YEAR), "month": "9"})
    tables = [d.value for d in at.dataframe if "Spending progress" in d.value.columns]
    assert tables, "the indicator table is on the page"
    counts = sorted({*funds.PERSON_COUNTS.values(), "suppressed"} & set(tables[0].columns))
    assert not counts, f"count columns shown: {counts}"
