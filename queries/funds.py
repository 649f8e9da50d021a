"""Employment-fund performance indicators (就业补助资金绩效), one value per district and year, computed in SQL.

Every figure is an aggregate computed in the database (``GROUP BY`` per district), joined onto the list of
districts in one statement; pandas only fixes the column types. Definitions, units and sources are in
docs/funds.md; the codes are those of ``bureau/indicators.py`` (category "fund") plus ``registered_unemployed``
(a series indicator the ``factor_method`` preset uses as its labour factor).

Dates: the "cut-off" of a year and month is the last day of that month; spending and surveys count from
1 January of the year to the cut-off; loans are judged as of the cut-off.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Float, and_, case, cast, distinct, func, literal, or_, select

from queries import frame, non_person, reference_data, sensitive
from queries.disclosure import LOAN_SERIES, SPENDING, month_points, payees
from queries.disclosure import SUBSIDY_CATEGORIES as SUBSIDY_CATEGORIES
from store import schema as s

FUND_CODES: tuple[str, ...] = (
    "own_funds_ratio_pct",
    "spending_progress_pct",
    "year_end_balance_pct",
    "cost_per_placement_yuan",
    "loan_target_yuan",
    "loans_issued_vs_target_pct",
    "last_year_completion_pct",
    "loan_recovery_rate_pct",
    "loan_overdue_rate_pct",
    "loan_balance_yuan",
    "guarantee_fund_balance_yuan",
    "targets_met_share_pct",
    "satisfaction_score",
    "working_age_population",
    "fiscal_capacity_per_capita_yuan",
)
#: Columns of :func:`fund_indicators` after ``area_code``.
INDICATOR_COLUMNS: tuple[str, ...] = (*FUND_CODES, "registered_unemployed")
#: Indicator column → the column counting the persons it rests on (small-count suppression, docs/privacy.md).
PERSON_COUNTS: dict[str, str] = {
    "spending_progress_pct": "n_payees",
    "year_end_balance_pct": "n_payees_year",
    "cost_per_placement_yuan": "n_cost",
    "loans_issued_vs_target_pct": "n_loans_issued",
    "last_year_completion_pct": "n_loans_issued_last",
    "loan_recovery_rate_pct": "n_loans_due",
    "loan_overdue_rate_pct": "n_loans_outstanding",
    "loan_balance_yuan": "n_loans_outstanding",
    "satisfaction_score": "n_responses",
    "registered_unemployed": "n_registered",
}


def month_end(year: int, month: int) -> date:
    """The last day of ``month`` of ``year`` (the cut-off the indicators are computed at)."""
    return date(year, month, calendar.monthrange(year, month)[1])


def _pct(numerator, denominator):  # type: ignore[no-untyped-def]
    """numerator ÷ denominator × 100 in floating point on both backends; NULL when the denominator is 0."""
    return cast(numerator, Float) * 100.0 / func.nullif(cast(denominator, Float), 0.0)


def _check(year: int, month: int) -> None:
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1–12, got {month}")
    if not 1900 <= year <= 9999:
        raise ValueError(f"year out of range: {year}")


@sensitive(values=tuple(PERSON_COUNTS), counts=PERSON_COUNTS)
def fund_indicators(engine: Engine, year: int, month: int = 12) -> pd.DataFrame:
    """One row per district: ``area_code`` and one float column per code of :data:`INDICATOR_COLUMNS`.

    Units: ``*_pct`` in percent (0–100, may exceed 100), ``*_yuan`` in yuan, ``satisfaction_score`` 0–100
    (survey mean of 1–5 × 20), ``working_age_population`` and ``registered_unemployed`` in persons. NaN means
    the database has nothing to compute the value from (e.g. no allocation row for the year).

    - ``own_funds_ratio_pct`` = fund_allocation(year, source "district_own") ÷ area_year(year − 1)
      budget_revenue_yuan × 100 (the 1.5 % rule);
    - ``spending_progress_pct`` = subsidy_payment paid 1 Jan – cut-off ÷ the year's fund_allocation (all
      sources) × 100;
    - ``year_end_balance_pct`` = (the year's fund_allocation − subsidy_payment paid in the whole year) ÷ the
      year's fund_allocation × 100 (for a year not yet over: the balance so far);
    - ``cost_per_placement_yuan`` = subsidy spending 1 Jan – cut-off ÷ urban new employment (agg_monthly,
      months 1…month);
    - ``loan_target_yuan`` = the year's target for startup_loans_issued (target table), else
      guarantee_fund.loan_target_yuan;
    - ``loans_issued_vs_target_pct`` = agg_monthly startup_loans_issued months 1…month ÷ loan target × 100;
    - ``last_year_completion_pct`` = the same for the whole previous year against its target;
    - ``loan_recovery_rate_pct`` = amount of loans due by the cut-off and repaid by it ÷ amount due by the
      cut-off × 100 (all loans on record, cumulative; read from the month-end loan stocks that ``bureau
      refresh`` keeps in agg_monthly, never from the loans themselves);
    - ``loan_overdue_rate_pct`` = outstanding amount of loans past their due date ÷ loan balance × 100 (the
      banking definition: overdue balance ÷ balance; 0 when a district has loans but no balance);
    - ``loan_balance_yuan`` = amount of loans issued by the cut-off and not repaid by it;
    - ``guarantee_fund_balance_yuan`` = guarantee_fund.balance_yuan of the year;
    - ``targets_met_share_pct`` = district targets of the year met ÷ targets set × 100, where a flow target is
      met when months 1…month add up to ≥ 100 % of it, a control line when the month's rate is ≤ the line,
      a yes/no target when the month's flag is 1;
    - ``satisfaction_score`` = mean survey satisfaction (1–5) 1 Jan – cut-off × 20;
    - ``working_age_population``, ``fiscal_capacity_per_capita_yuan`` = area_year of the year;
    - ``registered_unemployed`` = agg_monthly stock at the end of ``month``.

    The ``n_*`` columns count the persons (loans, respondents) behind the indicators of :data:`PERSON_COUNTS`,
    for small-count suppression: an indicator resting on fewer than k persons is hidden, and then treated as
    missing by the scores (a composite would otherwise give it away).
    """
    _check(year, month)
    start, cut = date(year, 1, 1), month_end(year, month)
    fa, ay, sp, am, tg, ind = (
        s.fund_allocation,
        s.area_year,
        s.subsidy_payment,
        s.agg_monthly,
        s.target,
        s.indicator,
    )
    gf, sv, ar = s.guarantee_fund, s.survey_response, s.area
    district_agg = and_(am.c.level == "district", am.c.group_code == "all")

    alloc = (
        select(
            fa.c.district_code,
            func.sum(fa.c.amount_yuan).label("input_yuan"),
            func.sum(case((fa.c.source == "district_own", fa.c.amount_yuan), else_=0.0)).label("own_yuan"),
        )
        .where(fa.c.year == year)
        .group_by(fa.c.district_code)
        .subquery("alloc")
    )
    spend = (
        select(
            sp.c.district_code,
            func.sum(case((sp.c.paid_on <= cut, sp.c.amount_yuan), else_=0.0)).label("spent_to_cut"),
            func.sum(sp.c.amount_yuan).label("spent_year"),
            payees(sp.c.paid_on <= cut).label("n_payees"),
            payees().label("n_payees_year"),
        )
        .where(sp.c.paid_on >= start, sp.c.paid_on <= date(year, 12, 31))
        .group_by(sp.c.district_code)
        .subquery("spend")
    )

    def pick(code: str, col: Any, *when: Any, agg: Any = func.sum, default: Any = 0) -> Any:
        """One indicator's ``col`` out of the district rows, under the extra conditions ``when``."""
        return agg(case((and_(am.c.indicator_code == code, *when), col), else_=default))

    this_year, last_year = am.c.year == year, am.c.year == year - 1
    at_cut = and_(am.c.year == year, am.c.month == month)
    flows = (
        select(
            am.c.district_code,
            pick("urban_new_employment", am.c.value, this_year, default=0.0).label("placed"),
            pick("startup_loans_issued", am.c.value, this_year, default=0.0).label("issued_now"),
            pick("startup_loans_issued", am.c.value, last_year, default=0.0).label("issued_last"),
            pick("registered_unemployed", am.c.value, at_cut, agg=func.max, default=None).label(
                "registered_unemployed"
            ),
            pick("urban_new_employment", am.c.persons, this_year).label("n_placed"),
            pick("startup_loans_issued", am.c.persons, this_year).label("n_loans_issued"),
            pick("startup_loans_issued", am.c.persons, last_year).label("n_loans_issued_last"),
            pick("registered_unemployed", am.c.persons, at_cut, agg=func.max, default=None).label(
                "n_registered"
            ),
        )
        .where(
            district_agg,
            am.c.indicator_code.in_(
                ["urban_new_employment", "startup_loans_issued", "registered_unemployed"]
            ),
            or_(and_(am.c.year == year, am.c.month <= month), am.c.year == year - 1),
        )
        .group_by(am.c.district_code)
        .subquery("flows")
    )
    loan_targets = (
        select(
            tg.c.area_code.label("district_code"),
            func.max(case((tg.c.year == year, tg.c.target_value), else_=None)).label("target_now"),
            func.max(case((tg.c.year == year - 1, tg.c.target_value), else_=None)).label("target_last"),
        )
        .where(tg.c.indicator_code == "startup_loans_issued", tg.c.year.in_([year, year - 1]))
        .group_by(tg.c.area_code)
        .subquery("loan_targets")
    )
    gf_now, gf_last = gf.alias("gf_now"), gf.alias("gf_last")

    # The loan portfolio at the cut-off: month-end running sums kept by ``bureau refresh`` (LOAN_STOCKS), so the
    # page never reads the loans themselves. persons = loans (at most one outstanding per person).
    stock = pick
    loans = (
        select(
            am.c.district_code,
            stock("loan_book", am.c.persons).label("n_loans"),
            stock("loan_due", am.c.persons).label("n_due"),
            stock("loan_balance", am.c.persons).label("n_outstanding"),
            stock("loan_due", am.c.value).label("due_yuan"),
            stock("loan_recovered", am.c.value).label("recovered_yuan"),
            stock("loan_balance", am.c.value).label("balance_yuan"),
            (stock("loan_due", am.c.value) - stock("loan_recovered", am.c.value)).label("overdue_yuan"),
        )
        .where(
            district_agg,
            am.c.year == year,
            am.c.month == month,
            am.c.indicator_code.in_(["loan_book", "loan_due", "loan_balance", "loan_recovered"]),
        )
        .group_by(am.c.district_code)
        .subquery("loans")
    )
    # Targets met: actual per district and target indicator (flows summed, others at the month).
    at_month = or_(ind.c.kind == "flow", am.c.month == month)
    actual = (
        select(
            am.c.district_code,
            am.c.indicator_code,
            func.sum(case((at_month, am.c.value), else_=None)).label("actual"),
        )
        .join(ind, ind.c.code == am.c.indicator_code)
        .where(district_agg, am.c.year == year, am.c.month <= month)
        .group_by(am.c.district_code, am.c.indicator_code)
        .subquery("actual")
    )
    met = case(
        (actual.c.actual.is_(None), 0),
        (ind.c.direction == "control", case((actual.c.actual <= tg.c.target_value, 1), else_=0)),
        (ind.c.direction == "yes_no", case((actual.c.actual >= 1, 1), else_=0)),
        (actual.c.actual >= tg.c.target_value, 1),
        else_=0,
    )
    targets_met = (
        select(
            tg.c.area_code.label("district_code"),
            func.sum(met).label("n_met"),
            func.count().label("n_targets"),
        )
        .join(ind, ind.c.code == tg.c.indicator_code)
        .outerjoin(
            actual,
            and_(actual.c.district_code == tg.c.area_code, actual.c.indicator_code == tg.c.indicator_code),
        )
        .join(ar, and_(ar.c.area_code == tg.c.area_code, ar.c.level == "district"))
        .where(tg.c.year == year)
        .group_by(tg.c.area_code)
        .subquery("targets_met")
    )
    survey = (
        select(
            sv.c.district_code,
            func.avg(cast(sv.c.satisfaction, Float)).label("mean_satisfaction"),
            func.count().label("n_responses"),
        )
        .where(sv.c.surveyed_on >= start, sv.c.surveyed_on <= cut)
        .group_by(sv.c.district_code)
        .subquery("survey")
    )
    ay_now, ay_last = ay.alias("ay_now"), ay.alias("ay_last")
    loan_target = func.coalesce(loan_targets.c.target_now, gf_now.c.loan_target_yuan)
    loan_target_last = func.coalesce(loan_targets.c.target_last, gf_last.c.loan_target_yuan)
    spent_to_cut = func.coalesce(spend.c.spent_to_cut, 0.0)
    columns = {
        "own_funds_ratio_pct": _pct(alloc.c.own_yuan, ay_last.c.budget_revenue_yuan),
        "spending_progress_pct": _pct(spent_to_cut, alloc.c.input_yuan),
        "year_end_balance_pct": _pct(
            alloc.c.input_yuan - func.coalesce(spend.c.spent_year, 0.0), alloc.c.input_yuan
        ),
        "cost_per_placement_yuan": cast(spent_to_cut, Float) / func.nullif(cast(flows.c.placed, Float), 0.0),
        "loan_target_yuan": cast(loan_target, Float),
        "loans_issued_vs_target_pct": _pct(func.coalesce(flows.c.issued_now, 0.0), loan_target),
        "last_year_completion_pct": _pct(func.coalesce(flows.c.issued_last, 0.0), loan_target_last),
        "loan_recovery_rate_pct": _pct(loans.c.recovered_yuan, loans.c.due_yuan),
        "loan_overdue_rate_pct": case(
            (loans.c.balance_yuan > 0, _pct(loans.c.overdue_yuan, loans.c.balance_yuan)),
            (loans.c.n_loans > 0, literal(0.0, Float)),
            else_=None,
        ),
        "loan_balance_yuan": cast(func.coalesce(loans.c.balance_yuan, 0.0), Float),
        "guarantee_fund_balance_yuan": cast(gf_now.c.balance_yuan, Float),
        "targets_met_share_pct": _pct(targets_met.c.n_met, targets_met.c.n_targets),
        "satisfaction_score": cast(survey.c.mean_satisfaction, Float) * 20.0,
        "working_age_population": cast(ay_now.c.working_age_population, Float),
        "fiscal_capacity_per_capita_yuan": cast(ay_now.c.fiscal_capacity_per_capita_yuan, Float),
        "registered_unemployed": cast(flows.c.registered_unemployed, Float),
        "n_placed": func.coalesce(flows.c.n_placed, 0),
        "n_payees": func.coalesce(spend.c.n_payees, 0),
        "n_payees_year": func.coalesce(spend.c.n_payees_year, 0),
        # a cost per placement rests on the payments and on the persons placed: the smaller of the two
        "n_cost": case(
            (
                func.coalesce(spend.c.n_payees, 0) < func.coalesce(flows.c.n_placed, 0),
                func.coalesce(spend.c.n_payees, 0),
            ),
            else_=func.coalesce(flows.c.n_placed, 0),
        ),
        "n_loans_issued": func.coalesce(flows.c.n_loans_issued, 0),
        "n_loans_issued_last": func.coalesce(flows.c.n_loans_issued_last, 0),
        "n_loans_due": func.coalesce(loans.c.n_due, 0),
        "n_loans_outstanding": func.coalesce(loans.c.n_outstanding, 0),
        "n_responses": func.coalesce(survey.c.n_responses, 0),
        "n_registered": flows.c.n_registered,
    }
    code = ar.c.area_code
    stmt = (
        select(code, *(expr.label(name) for name, expr in columns.items()))
        .select_from(ar)
        .outerjoin(alloc, alloc.c.district_code == code)
        .outerjoin(spend, spend.c.district_code == code)
        .outerjoin(flows, flows.c.district_code == code)
        .outerjoin(loan_targets, loan_targets.c.district_code == code)
        .outerjoin(gf_now, and_(gf_now.c.district_code == code, gf_now.c.year == year))
        .outerjoin(gf_last, and_(gf_last.c.district_code == code, gf_last.c.year == year - 1))
        .outerjoin(loans, loans.c.district_code == code)
        .outerjoin(targets_met, targets_met.c.district_code == code)
        .outerjoin(survey, survey.c.district_code == code)
        .outerjoin(ay_now, and_(ay_now.c.area_code == code, ay_now.c.year == year))
        .outerjoin(ay_last, and_(ay_last.c.area_code == code, ay_last.c.year == year - 1))
        .where(ar.c.level == "district")
        .order_by(code)
    )
    with engine.connect() as conn:
        out = frame(conn, stmt)
    for name in (*INDICATOR_COLUMNS, *sorted(set(PERSON_COUNTS.values()))):
        out[name] = pd.to_numeric(out[name], errors="coerce").astype(float)
    out["area_code"] = out["area_code"].astype(str)
    # the plan's points (privacy.linked) of every series a column rests on, column by column: spending to the
    # cut-off (progress × the allocation shown on the page gives it back), the year's spending, the loan stocks
    # at the cut-off (the overdue rate × the balance gives the overdue amount, the recovery rate the rest)
    ytd, year_spend = (SPENDING, year, 1, month), (SPENDING, year, 1, 12)
    stocks = {code: (code, year, month, month) for code in ("loan_balance", "loan_due", "loan_recovered")}
    linked: dict[str, list[tuple[str, int, int, int]]] = {
        "spending_progress_pct": [ytd],
        "year_end_balance_pct": [year_spend],
        "cost_per_placement_yuan": [("urban_new_employment", year, 1, month), ytd],
        "loans_issued_vs_target_pct": [("startup_loans_issued", year, 1, month)],
        "last_year_completion_pct": [("startup_loans_issued", year - 1, 1, 12)],
        "loan_recovery_rate_pct": [stocks["loan_due"], stocks["loan_recovered"]],
        "loan_overdue_rate_pct": [stocks["loan_due"], stocks["loan_recovered"], stocks["loan_balance"]],
        "loan_balance_yuan": [stocks["loan_balance"]],
        "registered_unemployed": [("registered_unemployed", year, 1, month)],
    }
    for col, series in linked.items():
        out[f"_points_{col}"] = [
            tuple(
                p
                for ind, y, m0, m in series
                for code, group in LOAN_SERIES.get(ind, ((ind, "all"),))
                for p in month_points(code, group, a, y, m0, m) or ()
            )
            for a in out["area_code"]
        ]
    return out


@sensitive(values=("amount_yuan", "share_pct"), groups=("area_code",))
def subsidies_by_category(engine: Engine, year: int, month: int = 12) -> pd.DataFrame:
    """Subsidy spending 1 January – end of ``month`` by district and category.

    Columns ``area_code, category, amount_yuan`` (yuan), ``share_pct`` (percent of the district's spending,
    a window sum over the district in SQL), ``persons`` (payees: the distinct persons paid where a payment
    names one, and every payment naming none, an employer's or a person's without an id: the demo's carry
    none). Categories: :data:`SUBSIDY_CATEGORIES`.
    ``_points``: the plan's points of the category and of the district's spending (the share is one ÷ the
    other), so the table hides what Explore's spending and every other month of it hide.
    """
    _check(year, month)
    sp = s.subsidy_payment
    amount = func.sum(sp.c.amount_yuan)
    stmt = (
        select(
            sp.c.district_code.label("area_code"),
            sp.c.category,
            cast(amount, Float).label("amount_yuan"),
            _pct(amount, func.sum(amount).over(partition_by=sp.c.district_code)).label("share_pct"),
            payees().label("persons"),
        )
        .where(sp.c.paid_on >= date(year, 1, 1), sp.c.paid_on <= month_end(year, month))
        .group_by(sp.c.district_code, sp.c.category)
        .order_by(sp.c.district_code, sp.c.category)
    )
    with engine.connect() as conn:
        out = frame(conn, stmt)
    for col in ("amount_yuan", "share_pct"):
        out[col] = out[col].astype(float)
    out["_points"] = [
        (month_points(SPENDING, str(c), str(a), year, 1, month) or ())
        + (month_points(SPENDING, "all", str(a), year, 1, month) or ())
        for a, c in zip(out["area_code"], out["category"], strict=True)
    ]
    return out


@non_person("money: the fund allocated to each district, summed over sources")
def allocation_totals(engine: Engine, year: int) -> pd.DataFrame:
    """The year's actual fund allocation per district, summed over sources: ``area_code, amount_yuan``
    (yuan) and ``district_own_yuan`` (the district's own part). Empty when the year has no allocation."""
    fa = s.fund_allocation
    stmt = (
        select(
            fa.c.district_code.label("area_code"),
            cast(func.sum(fa.c.amount_yuan), Float).label("amount_yuan"),
            cast(func.sum(case((fa.c.source == "district_own", fa.c.amount_yuan), else_=0.0)), Float).label(
                "district_own_yuan"
            ),
        )
        .where(fa.c.year == year)
        .group_by(fa.c.district_code)
        .order_by(fa.c.district_code)
    )
    with engine.connect() as conn:
        out = frame(conn, stmt)
    for col in ("amount_yuan", "district_own_yuan"):
        out[col] = out[col].astype(float)
    return out


@reference_data
def fund_years(engine: Engine) -> pd.DataFrame:
    """Years with a fund allocation, newest first: ``year, months`` (distinct months of subsidy spending in
    agg_monthly for the year, so 12 = a complete year)."""
    fa, am = s.fund_allocation, s.agg_monthly
    months = (
        select(am.c.year, func.count(distinct(am.c.month)).label("months"))
        .where(am.c.indicator_code == "subsidy_spending", am.c.level == "district")
        .group_by(am.c.year)
        .subquery("months")
    )
    years = select(fa.c.year).distinct().subquery("years")
    stmt = (
        select(years.c.year, func.coalesce(months.c.months, 0).label("months"))
        .outerjoin(months, months.c.year == years.c.year)
        .order_by(years.c.year.desc())
    )
    with engine.connect() as conn:
        out = frame(conn, stmt)
    return out.astype({"year": int, "months": int})


#: What each source of money is (seed 002 §二): the city splits the transfer pot; ``district_own`` is never split.
TRANSFER_SOURCES: tuple[str, ...] = ("central", "provincial", "city")
OWN_SOURCE = "district_own"


@non_person("money: the fund allocated to each district by source")
def funds_by_source(engine: Engine, year: int) -> pd.DataFrame:
    """The year's fund allocation per district and source: ``area_code, source, amount_yuan`` (yuan), sources
    ``central, provincial, city`` (the transfer pot the city splits) and ``district_own`` (the district's own
    budget money, §二(一)). Empty when the year has no allocation."""
    fa = s.fund_allocation
    stmt = (
        select(
            fa.c.district_code.label("area_code"),
            fa.c.source,
            cast(func.sum(fa.c.amount_yuan), Float).label("amount_yuan"),
        )
        .where(fa.c.year == year)
        .group_by(fa.c.district_code, fa.c.source)
        .order_by(fa.c.district_code, fa.c.source)
    )
    with engine.connect() as conn:
        out = frame(conn, stmt)
    out["amount_yuan"] = out["amount_yuan"].astype(float)
    return out


@non_person("public finance: general budget revenue and resident population of each district")
def district_finance(engine: Engine, year: int) -> pd.DataFrame:
    """Per district: ``area_code, budget_revenue_yuan`` (the year's general budget revenue),
    ``last_revenue_yuan`` (the year before's, the base of the 1.5 % own-funds rule), ``resident_population``
    and ``revenue_per_resident_yuan`` (the year's revenue ÷ residents, the fiscal-difficulty proxy)."""
    ar, ay = s.area, s.area_year
    now, last = ay.alias("ay_now"), ay.alias("ay_last")
    code = ar.c.area_code
    stmt = (
        select(
            code,
            cast(now.c.budget_revenue_yuan, Float).label("budget_revenue_yuan"),
            cast(last.c.budget_revenue_yuan, Float).label("last_revenue_yuan"),
            cast(now.c.resident_population, Float).label("resident_population"),
            (
                cast(now.c.budget_revenue_yuan, Float)
                / func.nullif(cast(now.c.resident_population, Float), 0.0)
            ).label("revenue_per_resident_yuan"),
        )
        .select_from(ar)
        .outerjoin(now, and_(now.c.area_code == code, now.c.year == year))
        .outerjoin(last, and_(last.c.area_code == code, last.c.year == year - 1))
        .where(ar.c.level == "district")
        .order_by(code)
    )
    with engine.connect() as conn:
        out = frame(conn, stmt)
    for col in (
        "budget_revenue_yuan",
        "last_revenue_yuan",
        "resident_population",
        "revenue_per_resident_yuan",
    ):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    return out
