"""Small-count suppression: no figure may reveal fewer than k persons (no UI, no database)."""

from privacy.suppress import (
    MIN_K,
    PERSON_LEVEL_TABLES,
    block_ends,
    effective_k,
    needs_plan,
    protect,
    rerank,
    small,
    suppress,
    ytd_releasable,
)

__all__ = [
    "MIN_K",
    "PERSON_LEVEL_TABLES",
    "block_ends",
    "effective_k",
    "needs_plan",
    "protect",
    "rerank",
    "small",
    "suppress",
    "ytd_releasable",
]
