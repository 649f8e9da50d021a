"""Employment-fund performance scoring: composite indicators, robustness and fund allocation.

Pure functions on pandas/numpy data (no UI, no database).  See docs/scoring.md for the methods.
"""

from scoring.aggregate import aggregate
from scoring.allocation import allocate, allocation_uncertainty, factor_shares
from scoring.composite import score, score_panel
from scoring.normalise import normalise
from scoring.presets import PRESETS, TRANSFER_PRESETS, WUHAN_2009, is_transfer_scheme
from scoring.robustness import effective_weights, rank_uncertainty, sensitivity, sensitivity_scenarios
from scoring.scheme import (
    AGGREGATIONS,
    DIRECTIONS,
    MISSING_RULES,
    NORMALISATIONS,
    GradeBand,
    Scheme,
    SchemeError,
    SchemeIndicator,
)

__all__ = [
    "AGGREGATIONS",
    "DIRECTIONS",
    "MISSING_RULES",
    "NORMALISATIONS",
    "PRESETS",
    "TRANSFER_PRESETS",
    "WUHAN_2009",
    "GradeBand",
    "Scheme",
    "SchemeError",
    "SchemeIndicator",
    "aggregate",
    "allocate",
    "allocation_uncertainty",
    "effective_weights",
    "factor_shares",
    "is_transfer_scheme",
    "normalise",
    "rank_uncertainty",
    "score",
    "score_panel",
    "sensitivity",
    "sensitivity_scenarios",
]
