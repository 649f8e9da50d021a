"""The district card's default weights per zone: what the bureau emphasises in central and outer districts.

Seed 002 §四(一): "远城区要突出落实促进农村劳动力转移、帮扶返乡农民工就业创业等就业指标，中心城区要突出把就业困难人员
再就业、高校毕业生就业作为就业工作重要指标。所有指标均以新增就业人数目标为核心". The rows below are an example of
that emphasis, loaded into the ``target_weight`` table by migration 0006 and by the demo; the bureau changes the
table (``bureau import`` of a ``target_weights`` file, or SQL), never this module. ``docs/targets.md`` states the
card's rule.

Each row: zone, indicator, weight (points out of the zone's total), the pace line the card judges it on
(``seasonal`` for indicators whose year is not flat: graduates finish in July), and whether it is the core
indicator (a card is never green while the core indicator is behind).
"""

from __future__ import annotations

from typing import NamedTuple


class Weight(NamedTuple):
    zone: str  # central / outer
    indicator_code: str
    weight: float  # points; a zone's weights are read as shares of their sum
    pace: str  # linear / seasonal
    core: bool


DEFAULT_WEIGHTS: tuple[Weight, ...] = (
    # central districts: re-employment of people with employment difficulty and graduates
    Weight("central", "urban_new_employment", 30, "linear", True),
    Weight("central", "difficulty_employment", 15, "linear", False),
    Weight("central", "graduate_employment", 15, "seasonal", False),
    Weight("central", "reemployment", 10, "linear", False),
    Weight("central", "registered_unemployment_rate", 10, "linear", False),
    Weight("central", "skills_training", 5, "linear", False),
    Weight("central", "startup_loans_issued", 5, "linear", False),
    Weight("central", "rural_labour_transfer", 5, "linear", False),
    Weight("central", "zero_employment_cleared", 5, "linear", False),
    # outer districts: rural labour transfer and returning migrant workers' start-ups (返乡创业: start-up loans)
    Weight("outer", "urban_new_employment", 30, "linear", True),
    Weight("outer", "rural_labour_transfer", 20, "linear", False),
    Weight("outer", "startup_loans_issued", 10, "linear", False),
    Weight("outer", "skills_training", 10, "linear", False),
    Weight("outer", "registered_unemployment_rate", 10, "linear", False),
    Weight("outer", "reemployment", 5, "linear", False),
    Weight("outer", "difficulty_employment", 5, "linear", False),
    Weight("outer", "graduate_employment", 5, "seasonal", False),
    Weight("outer", "zero_employment_cleared", 5, "linear", False),
)

# Points a status earns on the card: on pace the indicator's full weight, slightly behind half, behind none.
STATUS_POINTS = {"green": 1.0, "yellow": 0.5, "red": 0.0}
