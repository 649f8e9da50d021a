"""Small-count suppression: no figure may reveal fewer than k persons (no UI, no database)."""

from privacy.suppress import MIN_K, suppress

__all__ = ["MIN_K", "suppress"]
