"""Fund indicators against an independent pandas computation from the raw tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select

from queries import funds
from store import schema as s
from store.db import make_engine

YEAR = 2025


def raw(engine: Engine, table, *where) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Rows of ``table`` as they are stored (a plain filter at most: no aggregation in SQL)."""
    with engine.connect() as conn:
        rows = conn.execute(select(table).where(*where)).all()
    return pd.DataFrame(rows, columns=list(table.c.keys()))


def as_date(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col.astype("string"), errors="coerce")


def expected(engine: Engine, year: int, month: int) -> pd.DataFrame:
    """The indicators recomputed with pandas from person-level and business rows (not from agg_monthly where the
    raw rows exist), following docs/funds.md."""
    cut = pd.Timestamp(funds.month_end(year, month))
    start, year_end = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
    districts = raw(engine, s.area).query("level == 'district'")["area_code"].sort_values().tolist()
    out = pd.DataFrame(index=pd.Index(districts, name="area_code"))

    fa = raw(engine, s.fund_allocation)
    fa = fa[fa["year"] == year]
    input_total = fa.groupby("district_code")["amount_yuan"].sum()
    own = fa[fa["source"] == "district_own"].groupby("district_code")["amount_yuan"].sum()
    ay = raw(engine, s.area_year)
    revenue_last = ay[ay["year"] == year - 1].set_index("area_code")["budget_revenue_yuan"].astype(float)
    ay_now = ay[ay["year"] == year].set_index("area_code")
    out["own_funds_ratio_pct"] = own / revenue_last * 100

    sp = raw(engine, s.subsidy_payment)
    sp["paid_on"] = as_date(sp["paid_on"])
    in_year = sp[(sp["paid_on"] >= start) & (sp["paid_on"] <= year_end)]
    spent_cut = in_year[in_year["paid_on"] <= cut].groupby("district_code")["amount_yuan"].sum()
    spent_year = in_year.groupby("district_code")["amount_yuan"].sum()
    out["spending_progress_pct"] = spent_cut.reindex(out.index).fillna(0) / input_total * 100
    out["year_end_balance_pct"] = (input_total - spent_year.reindex(out.index).fillna(0)) / input_total * 100

    ev = raw(engine, s.employment_event, s.employment_event.c.kind == "urban_new")
    ev["event_date"] = as_date(ev["event_date"])
    placed = (
        ev[(ev["kind"] == "urban_new") & (ev["event_date"] >= start) & (ev["event_date"] <= cut)]
        .groupby("district_code")
        .size()
    )
    out["cost_per_placement_yuan"] = spent_cut.reindex(out.index).fillna(0) / placed

    loans = raw(engine, s.startup_loan)
    for c in ("issued_on", "due_on", "repaid_on"):
        loans[c] = as_date(loans[c])
    tg = raw(engine, s.target)
    tg_loans = tg[tg["indicator_code"] == "startup_loans_issued"].set_index(["year", "area_code"])[
        "target_value"
    ]
    gf = raw(engine, s.guarantee_fund).set_index(["year", "district_code"])
    target_now = pd.Series(
        [tg_loans.get((year, d), gf["loan_target_yuan"].get((year, d), np.nan)) for d in districts],
        index=out.index,
    )
    target_last = pd.Series(
        [tg_loans.get((year - 1, d), gf["loan_target_yuan"].get((year - 1, d), np.nan)) for d in districts],
        index=out.index,
    )
    issued_now = (
        loans[(loans["issued_on"] >= start) & (loans["issued_on"] <= cut)]
        .groupby("district_code")["amount_yuan"]
        .sum()
    )
    last_start, last_end = pd.Timestamp(year - 1, 1, 1), pd.Timestamp(year - 1, 12, 31)
    issued_last = (
        loans[(loans["issued_on"] >= last_start) & (loans["issued_on"] <= last_end)]
        .groupby("district_code")["amount_yuan"]
        .sum()
    )
    out["loan_target_yuan"] = target_now
    out["loans_issued_vs_target_pct"] = issued_now.reindex(out.index).fillna(0) / target_now * 100
    out["last_year_completion_pct"] = issued_last.reindex(out.index).fillna(0) / target_last * 100
    known = loans[loans["issued_on"] <= cut]
    due = known[known["due_on"] <= cut]
    recovered = due[due["repaid_on"].notna() & (due["repaid_on"] <= cut)]
    out["loan_recovery_rate_pct"] = (
        recovered.groupby("district_code")["amount_yuan"].sum().reindex(out.index).fillna(0)
        / due.groupby("district_code")["amount_yuan"].sum()
        * 100
    )
    outstanding = known[known["repaid_on"].isna() | (known["repaid_on"] > cut)]
    balance = outstanding.groupby("district_code")["amount_yuan"].sum().reindex(out.index).fillna(0)
    overdue = outstanding[outstanding["due_on"] <= cut].groupby("district_code")["amount_yuan"].sum()
    has_loans = known.groupby("district_code").size().reindex(out.index).fillna(0) > 0
    rate = overdue.reindex(out.index).fillna(0) / balance.where(balance > 0) * 100
    out["loan_overdue_rate_pct"] = np.where(balance > 0, rate, np.where(has_loans, 0.0, np.nan))
    out["loan_balance_yuan"] = balance
    out["guarantee_fund_balance_yuan"] = [gf["balance_yuan"].get((year, d), np.nan) for d in districts]

    # Targets met, from the targets and the monthly aggregates (flows summed to the month; others at the month).
    am = raw(engine, s.agg_monthly, s.agg_monthly.c.year == year, s.agg_monthly.c.level == "district")
    am = am[(am["group_code"] == "all") & (am["month"] <= month)]
    series = {key: g for key, g in am.groupby(["area_code", "indicator_code"])}
    kinds = raw(engine, s.indicator).set_index("code")
    met, count = {}, {}
    for r in tg[(tg["year"] == year) & tg["area_code"].isin(districts)].itertuples():
        rows = series.get((r.area_code, r.indicator_code), am.iloc[:0])
        direction, kind = kinds.loc[r.indicator_code, "direction"], kinds.loc[r.indicator_code, "kind"]
        vals = rows["value"] if kind == "flow" else rows.loc[rows["month"] == month, "value"]
        actual = vals.sum() if len(vals) else None
        if actual is None:
            ok = False
        elif direction == "control":
            ok = actual <= r.target_value
        elif direction == "yes_no":
            ok = actual >= 1
        else:
            ok = actual >= r.target_value
        met[r.area_code] = met.get(r.area_code, 0) + int(ok)
        count[r.area_code] = count.get(r.area_code, 0) + 1
    out["targets_met_share_pct"] = pd.Series(met) / pd.Series(count) * 100

    sv = raw(engine, s.survey_response)
    sv["surveyed_on"] = as_date(sv["surveyed_on"])
    sv = sv[(sv["surveyed_on"] >= start) & (sv["surveyed_on"] <= cut)]
    out["satisfaction_score"] = sv.groupby("district_code")["satisfaction"].mean() * 20
    out["working_age_population"] = ay_now["working_age_population"].astype(float)
    out["fiscal_capacity_per_capita_yuan"] = ay_now["fiscal_capacity_per_capita_yuan"].astype(float)
    stock = am[(am["indicator_code"] == "registered_unemployed") & (am["month"] == month)]
    out["registered_unemployed"] = stock.set_index("area_code")["value"].astype(float)
    return out.reset_index()


@pytest.mark.parametrize("month", [6, 12])
def test_fund_indicators_equal_pandas_on_raw_rows(both_demo_urls: str, month: int) -> None:
    engine = make_engine(both_demo_urls)
    got = funds.fund_indicators(engine, YEAR, month)
    want = expected(engine, YEAR, month)
    assert list(got.columns)[: 1 + len(funds.INDICATOR_COLUMNS)] == ["area_code", *funds.INDICATOR_COLUMNS]
    assert got["area_code"].tolist() == want["area_code"].tolist() and len(got) == 13
    for code in funds.INDICATOR_COLUMNS:
        g, w = got[code].to_numpy(float), want[code].to_numpy(float)
        assert np.array_equal(np.isnan(g), np.isnan(w)), code
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=code)
    # The demo has every input for 2025, so nothing may be missing (a NaN here would hide a broken join).
    assert not got[list(funds.INDICATOR_COLUMNS)].isna().any().any()
    engine.dispose()


def test_fund_indicators_identical_on_both_backends(demo_url: str, pg_demo_url: str) -> None:
    lite = funds.fund_indicators(make_engine(demo_url), YEAR, 9)
    pg = funds.fund_indicators(make_engine(pg_demo_url), YEAR, 9)
    assert lite.dtypes.equals(pg.dtypes)
    pd.testing.assert_frame_equal(lite, pg, rtol=1e-12)


def test_spending_and_balance_are_consistent(demo_engine: Engine) -> None:
    """At year end the balance is what spending leaves over; earlier in the year progress only grows."""
    dec = funds.fund_indicators(demo_engine, YEAR, 12)
    np.testing.assert_allclose(dec["spending_progress_pct"] + dec["year_end_balance_pct"], 100.0, rtol=1e-12)
    progress = [funds.fund_indicators(demo_engine, YEAR, m)["spending_progress_pct"] for m in (3, 6, 9, 12)]
    for a, b in zip(progress, progress[1:], strict=False):
        assert (b >= a).all()
    assert dec["loan_recovery_rate_pct"].between(0, 100).all()
    assert dec["satisfaction_score"].between(20, 100).all()


def test_side_queries(demo_engine: Engine) -> None:
    cats = funds.subsidies_by_category(demo_engine, YEAR, 12)
    ind = funds.fund_indicators(demo_engine, YEAR, 12)
    alloc = funds.allocation_totals(demo_engine, YEAR)
    by_district = cats.groupby("area_code")["amount_yuan"].sum()
    spend = (
        ind.set_index("area_code")["spending_progress_pct"]
        / 100
        * alloc.set_index("area_code")["amount_yuan"]
    )
    np.testing.assert_allclose(by_district.sort_index(), spend.sort_index(), rtol=1e-9)
    np.testing.assert_allclose(cats.groupby("area_code")["share_pct"].sum(), 100.0, rtol=1e-9)
    assert set(cats["category"]) <= set(funds.SUBSIDY_CATEGORIES)
    years = funds.fund_years(demo_engine)
    assert (
        years["year"].is_monotonic_decreasing
        and int(years.loc[years["year"] == YEAR, "months"].iloc[0]) == 12
    )
    with pytest.raises(ValueError):
        funds.fund_indicators(demo_engine, YEAR, 13)
