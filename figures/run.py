"""Query runners: how a figure reaches the database.

A runner is ``run(fn, *args, **kwargs)``: it calls the ``queries`` function ``fn`` with an engine and protects
the result by the query's own ``sensitive`` rule and the city-wide suppression plan. Pages pass the cached,
role-scoped runner of ``ui.common``; jobs pass :func:`plain`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import Engine

from figures.disclosure import plan_for
from privacy import linked, needs_plan, protect


class Run(Protocol):
    """Runs a ``queries`` function (its engine supplied) and returns its protected result."""

    def __call__(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any: ...


def plain(engine: Engine, k: int) -> Run:
    """A runner for jobs: no cache across calls, but the suppression plan decided once for the runner's life
    (one plan per pack, briefing or CLI run, as the pages share one per data version)."""
    plans: dict[str, linked.Plan] = {}

    def run(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        result = fn(engine, *args, **kwargs)
        rule = getattr(fn, "sensitive", None)
        plan = None
        if rule and needs_plan(result):
            if "plan" not in plans:
                plans["plan"] = plan_for(engine, k)
            plan = plans["plan"]
        return protect(result, k, rule, plan)

    return run
