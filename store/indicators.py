"""The indicator table's contents: the one definition of every measure the app shows.

Loaded into the ``indicator`` table by ``bureau demo`` / migrations; pages and exports read the table, not this
module.
"""

from __future__ import annotations

from typing import NamedTuple


class Indicator(NamedTuple):
    code: str
    name_zh: str
    name_en: str
    unit: str  # persons / pct / yuan / yes_no / score / count
    direction: str  # higher / lower / control / yes_no
    kind: str  # flow / stock / rate / flag / annual
    category: str  # target / fund / series


INDICATORS: tuple[Indicator, ...] = (
    # targets (就业目标责任制)
    Indicator(
        "urban_new_employment", "城镇新增就业", "Urban new employment", "persons", "higher", "flow", "target"
    ),
    Indicator(
        "reemployment",
        "失业人员再就业",
        "Re-employment of unemployed people",
        "persons",
        "higher",
        "flow",
        "target",
    ),
    Indicator(
        "difficulty_employment",
        "就业困难人员就业",
        "Employment of people with employment difficulty",
        "persons",
        "higher",
        "flow",
        "target",
    ),
    Indicator(
        "registered_unemployment_rate",
        "城镇登记失业率",
        "Registered urban unemployment rate",
        "pct",
        "control",
        "rate",
        "target",
    ),
    Indicator(
        "rural_labour_transfer",
        "农村劳动力转移就业",
        "Rural labour transferred to employment",
        "persons",
        "higher",
        "flow",
        "target",
    ),
    Indicator(
        "graduate_employment",
        "高校毕业生就业",
        "College graduates employed",
        "persons",
        "higher",
        "flow",
        "target",
    ),
    Indicator(
        "skills_training", "职业技能培训", "Vocational skills training", "persons", "higher", "flow", "target"
    ),
    Indicator(
        "startup_loans_issued",
        "创业担保贷款发放",
        "Start-up guaranteed loans issued",
        "yuan",
        "higher",
        "flow",
        "target",
    ),
    Indicator(
        "zero_employment_cleared",
        "零就业家庭动态清零",
        "Zero-employment households cleared",
        "yes_no",
        "yes_no",
        "flag",
        "target",
    ),
    # series (stock and flows used by forecasts and the explorer)
    Indicator(
        "registered_unemployed",
        "登记失业人数",
        "Registered unemployed (stock)",
        "persons",
        "lower",
        "stock",
        "series",
    ),
    Indicator(
        "unemployment_registrations",
        "新增失业登记",
        "New unemployment registrations",
        "persons",
        "lower",
        "flow",
        "series",
    ),
    Indicator(
        "subsidy_spending",
        "就业补助资金支出",
        "Employment subsidy spending",
        "yuan",
        "higher",
        "flow",
        "series",
    ),
    Indicator(
        "satisfaction_responses",
        "满意度调查样本",
        "Satisfaction survey responses",
        "count",
        "higher",
        "flow",
        "series",
    ),
    # fund performance (就业补助资金绩效), one value per district and year
    Indicator(
        "own_funds_ratio_pct",
        "自有资金筹集比例",
        "Own funds raised (% of last year's budget revenue)",
        "pct",
        "higher",
        "annual",
        "fund",
    ),
    Indicator(
        "spending_progress_pct", "资金支出进度", "Spending progress", "pct", "higher", "annual", "fund"
    ),
    Indicator(
        "year_end_balance_pct",
        "年末结余率",
        "Year-end balance (% of the year's input)",
        "pct",
        "lower",
        "annual",
        "fund",
    ),
    Indicator(
        "cost_per_placement_yuan", "人均就业成本", "Cost per person placed", "yuan", "lower", "annual", "fund"
    ),
    Indicator(
        "loan_target_yuan", "创业担保贷款任务", "Start-up loan target", "yuan", "higher", "annual", "fund"
    ),
    Indicator(
        "loans_issued_vs_target_pct",
        "贷款发放完成率",
        "Loans issued against target",
        "pct",
        "higher",
        "annual",
        "fund",
    ),
    Indicator(
        "last_year_completion_pct",
        "上年贷款完成率",
        "Last year's loan completion",
        "pct",
        "higher",
        "annual",
        "fund",
    ),
    Indicator(
        "loan_recovery_rate_pct", "贷款回收率", "Loan recovery rate", "pct", "higher", "annual", "fund"
    ),
    Indicator("loan_overdue_rate_pct", "贷款逾期率", "Loan overdue rate", "pct", "lower", "annual", "fund"),
    Indicator("loan_balance_yuan", "贷款余额", "Loan balance", "yuan", "higher", "annual", "fund"),
    Indicator(
        "guarantee_fund_balance_yuan",
        "担保基金余额",
        "Guarantee-fund balance",
        "yuan",
        "higher",
        "annual",
        "fund",
    ),
    Indicator(
        "targets_met_share_pct",
        "目标任务完成比例",
        "Share of employment targets met",
        "pct",
        "higher",
        "annual",
        "fund",
    ),
    Indicator(
        "satisfaction_score", "群众满意度", "Resident satisfaction", "score", "higher", "annual", "fund"
    ),
    Indicator(
        "working_age_population",
        "劳动年龄人口",
        "Working-age population",
        "persons",
        "higher",
        "annual",
        "fund",
    ),
    Indicator(
        "fiscal_capacity_per_capita_yuan",
        "人均财力",
        "Fiscal capacity per resident",
        "yuan",
        "lower",
        "annual",
        "fund",
    ),
)

BY_CODE = {i.code: i for i in INDICATORS}
TARGET_CODES = tuple(i.code for i in INDICATORS if i.category == "target")
GROUPS = ("registered_unemployed", "difficulty", "graduate", "rural_labour", "other")
# Indicators derived from the per-group street rows of urban new employment (one scan of the events): each
# is the sum of these groups, so the same figures; the suppression plan links them (queries.disclosure).
DERIVED_FROM_GROUPS = {
    "urban_new_employment": GROUPS,
    "reemployment": ("registered_unemployed", "difficulty"),
    "difficulty_employment": ("difficulty",),
    "graduate_employment": ("graduate",),
}
