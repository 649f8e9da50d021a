"""The start-up loan portfolio in the aggregates equals a direct computation on the loans."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import select

from store import schema as s
from store.db import make_engine


def _loans(url: str) -> pd.DataFrame:
    ln = s.startup_loan
    with make_engine(url).connect() as conn:
        rows = conn.execute(
            select(ln.c.district_code, ln.c.issued_on, ln.c.due_on, ln.c.repaid_on, ln.c.amount_yuan)
        )
        frame = pd.DataFrame(
            rows.all(), columns=["district_code", "issued_on", "due_on", "repaid_on", "amount"]
        )
    for col in ("issued_on", "due_on", "repaid_on"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def _stocks(url: str, year: int, month: int) -> pd.DataFrame:
    a = s.agg_monthly
    stmt = select(a.c.district_code, a.c.indicator_code, a.c.value, a.c.persons).where(
        a.c.level == "district", a.c.year == year, a.c.month == month, a.c.indicator_code.like("loan_%")
    )
    with make_engine(url).connect() as conn:
        return pd.DataFrame(
            conn.execute(stmt).all(), columns=["district_code", "indicator_code", "value", "persons"]
        )


@pytest.mark.parametrize("month_end", [date(2020, 3, 31), date(2023, 12, 31), date(2026, 9, 30)])
def test_loan_portfolio_at_month_end_equals_the_loans(both_demo_urls: str, month_end: date) -> None:
    loans = _loans(both_demo_urls)
    cut = pd.Timestamp(month_end)
    issued = loans["issued_on"] <= cut
    repaid = loans["repaid_on"].notna() & (loans["repaid_on"] <= cut)
    due = loans["due_on"] <= cut
    want = {
        "loan_book": loans[issued],
        "loan_balance": loans[issued & ~repaid],
        "loan_due": loans[due],
        "loan_recovered": loans[due & repaid],
    }
    got = _stocks(both_demo_urls, month_end.year, month_end.month).set_index(
        ["indicator_code", "district_code"]
    )
    assert len(got) > 0
    for code, rows in want.items():
        by = rows.groupby("district_code")["amount"].agg(["sum", "size"])
        mine = got.loc[code]
        for district, row in mine.iterrows():
            expect_sum = float(by["sum"].get(district, 0.0))
            expect_n = int(by["size"].get(district, 0))
            assert row["value"] == pytest.approx(expect_sum, rel=1e-9, abs=1e-6), (code, district)
            assert row["persons"] == expect_n, (code, district)
        assert set(by.index) <= set(mine.index)
