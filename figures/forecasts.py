"""Forecasts as every surface shows them: the known breaks the models are told about, physical bounds, and the
newest stored forecast of a series (the Overview tile, the pack and the briefing read the same rows)."""

from __future__ import annotations

import pandas as pd

from figures.run import Run
from forecasting import Event
from queries import overview
from queries.forecasts import RATE

SHOCK_2020 = ("2020-01", "2020-06", "COVID-19 shock 2020", "shock")
RATE_BOUNDS: tuple[float, float | None] = (0.0, 100.0)
COUNT_BOUNDS: tuple[float, float | None] = (0.0, None)


def events() -> list[Event]:
    """The known breaks every series is told about: the 2020 shock (Jan–Jun 2020)."""
    start, end, label, kind = SHOCK_2020
    return [Event(pd.Period(start, freq="M"), pd.Period(end, freq="M"), label, kind)]


def bounds_for(indicator: str) -> tuple[float, float | None]:
    """Physical bounds: 0–100 for the rate, non-negative for counts."""
    return RATE_BOUNDS if indicator == RATE else COUNT_BOUNDS


def latest(run: Run, area_code: str, indicator_code: str) -> pd.DataFrame:
    """The newest stored forecast of one series (``queries.overview.latest_forecast``; empty when none)."""
    return run(overview.latest_forecast, area_code, indicator_code)  # type: ignore[no-any-return]


def next_month(run: Run, area_code: str, indicator_code: str) -> pd.Series | None:
    """The first forecast month of the newest stored run (its ``year, month, mean`` and intervals), or None."""
    frame = latest(run, area_code, indicator_code)
    if frame.empty:
        return None
    return frame.sort_values(["year", "month"]).iloc[0]
