"""Locked preset schemes.  Weights and targets are documented in docs/scoring.md.

The weights are the bureau's starting points, not law: each preset says where its numbers come
from, and a what-if copy (``PRESETS[name].with_name("...")``) can change any of them.
"""

from __future__ import annotations

from scoring.funds_methods import WUHAN_FACTORS
from scoring.scheme import GradeBand, Scheme, SchemeIndicator

I = SchemeIndicator  # noqa: E741 - short alias keeps the tables below readable

GUARANTEE_FUND_5 = Scheme(
    name="guarantee_fund_5",
    description=(
        "Seed 002 §二(四)'s five indicators of the start-up loan guarantee fund, each taken as the district's "
        "share of the city total (scoring.funds_methods.guarantee_split); districts match 50 %. The seed gives "
        "no weights: 30/20/20/15/15 is an example, not the bureau's rule. Used as a score, size factors use "
        "'fracmax' and rates are measured against 100 %."
    ),
    aggregation="arithmetic",
    missing="zero",
    locked=True,
    indicators=(
        I(code="loan_target_yuan", direction="higher", normalisation="fracmax", weight=30, group="scale"),
        I(
            code="last_year_completion_pct",
            normalisation="target",
            target=100,
            weight=20,
            group="performance",
        ),
        I(code="loan_recovery_rate_pct", normalisation="target", target=100, weight=20, group="risk"),
        I(code="loan_balance_yuan", normalisation="fracmax", weight=15, group="scale"),
        I(code="guarantee_fund_balance_yuan", normalisation="fracmax", weight=15, group="scale"),
    ),
)

FACTOR_METHOD = Scheme(
    name="factor_method",
    description=(
        "Alternative, not seed 002: factor method in the style of Hunan's 2014 employment-fund rules: budget execution 0.3, "
        "spending performance 0.2, local input 0.2, fiscal difficulty 0.2, labour factor 0.1, grouped "
        "as basic (labour), input (local input), performance (execution + spending performance) and "
        "fiscal difficulty. Budget execution = spending progress 0.15 + year-end balance 0.15 (full "
        "marks under 50 %); spending performance = targets met 0.10 + cost per placement 0.10; local "
        "input = own-funds ratio against the 1.5 rule; fiscal difficulty = inverse fiscal capacity; "
        "labour = registered unemployed 0.05 + working-age population 0.05. Missing values: city mean."
    ),
    aggregation="arithmetic",
    missing="mean",
    locked=True,
    indicators=(
        I(code="spending_progress_pct", normalisation="target", target=100, weight=0.15, group="performance"),
        I(
            code="year_end_balance_pct",
            direction="lower",
            normalisation="target",
            target=50,
            weight=0.15,
            group="performance",
        ),
        I(code="targets_met_share_pct", normalisation="target", target=100, weight=0.10, group="performance"),
        I(
            code="cost_per_placement_yuan",
            direction="lower",
            normalisation="fracmax",
            weight=0.10,
            group="performance",
        ),
        I(code="own_funds_ratio_pct", normalisation="target", target=1.5, weight=0.20, group="input"),
        I(
            code="fiscal_capacity_per_capita_yuan",
            direction="lower",
            normalisation="fracmax",
            weight=0.20,
            group="fiscal_difficulty",
        ),
        I(code="registered_unemployed", normalisation="fracmax", weight=0.05, group="basic"),
        I(code="working_age_population", normalisation="fracmax", weight=0.05, group="basic"),
    ),
)

GRADING_100 = Scheme(
    name="grading_100",
    description=(
        "100-point performance grading. Points: own-funds ratio 15 (rule >= 1.5), spending progress 15, "
        "year-end balance 10 (full marks under 50 %), loans issued vs target 15, loan recovery 10 "
        "(target 95 %), loan overdue rate 5 (target 2 %), employment targets met 15, satisfaction 10, "
        "cost per placement 5 (percentile rank: no absolute yardstick exists). A missing indicator "
        "scores 0 points. Grades: >= 90 excellent (at most 30 % of districts; the rest drop to pass), "
        "75-90 pass, < 75 fail."
    ),
    aggregation="arithmetic",
    missing="zero",
    locked=True,
    indicators=(
        I(code="own_funds_ratio_pct", normalisation="target", target=1.5, weight=15, group="input"),
        I(code="spending_progress_pct", normalisation="target", target=100, weight=15, group="execution"),
        I(
            code="year_end_balance_pct",
            direction="lower",
            normalisation="target",
            target=50,
            weight=10,
            group="execution",
        ),
        I(code="loans_issued_vs_target_pct", normalisation="target", target=100, weight=15, group="loans"),
        I(code="loan_recovery_rate_pct", normalisation="target", target=95, weight=10, group="loans"),
        I(
            code="loan_overdue_rate_pct",
            direction="lower",
            normalisation="target",
            target=2,
            weight=5,
            group="loans",
        ),
        I(code="targets_met_share_pct", normalisation="target", target=100, weight=15, group="results"),
        I(code="satisfaction_score", normalisation="target", target=100, weight=10, group="results"),
        I(code="cost_per_placement_yuan", direction="lower", normalisation="rank", weight=5, group="results"),
    ),
    grade_bands=(
        GradeBand(label="excellent", min_score=90, max_share=0.3, overflow_label="pass"),
        GradeBand(label="pass", min_score=75),
        GradeBand(label="fail", min_score=None),
    ),
)

PRESETS: dict[str, Scheme] = {s.name: s for s in (GUARANTEE_FUND_5, FACTOR_METHOD, GRADING_100)}

#: The weights of seed 002 §二(二)'s five factors until the bureau records its own (docs/funds.md): the seed names
#: the factors and no weights, so no factor is favoured — equal weights, the OECD/JRC Handbook's default when
#: there is no agreed basis for others. Directions: the fiscal-difficulty proxy (revenue per resident) is lower =
#: more money; normalisation is unused (each factor is the district's share of the city total).
WUHAN_2009 = Scheme(
    name="wuhan_2009",
    description=(
        "Seed 002 §二(二): the transfer fund split by the district's funds raised, target workload, last year's "
        "results, fiscal difficulty (general budget revenue per resident, inverted) and fund-use performance, "
        "each as the district's share of the city total. Default weights equal (20 % each): the seed gives none."
    ),
    aggregation="arithmetic",
    missing="mean",
    locked=True,
    indicators=tuple(
        I(
            code=code,
            direction="lower" if code == "revenue_per_resident_yuan" else "higher",
            normalisation="fracmax",
            weight=0.2,
            group="wuhan_2009",
        )
        for code in WUHAN_FACTORS
    ),
)
#: Transfer-split methods: seed 002's (the official preset) and Hunan 2014's (a labelled alternative).
TRANSFER_PRESETS: dict[str, Scheme] = {WUHAN_2009.name: WUHAN_2009, FACTOR_METHOD.name: FACTOR_METHOD}


def is_transfer_scheme(scheme: Scheme) -> bool:
    """True for a scheme of seed 002's five transfer factors (the bureau's recorded weights), which splits money
    and scores nobody."""
    return set(scheme.codes) <= set(WUHAN_FACTORS)
