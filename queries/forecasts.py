"""Unemployment forecasts (就业形势预测): the monthly series they are fitted on, and the stored runs.

The series are read from ``agg_monthly`` (group "all", the city and its districts) in one query for every
indicator and area, then pivoted in pandas (``to_wide``). Stored results come from ``forecast_run``,
``forecast_value`` and ``forecast_accuracy``, written by ``bureau forecast`` (bureau/forecast_job.py).
Values are in the indicator's unit: persons for the two counts, percent for the rate.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, and_, select

from queries import frame, non_person, reference_data, sensitive
from queries.disclosure import with_points
from store import schema as s

REGISTERED = "registered_unemployed"  # stock, persons
RATE = "registered_unemployment_rate"  # percent, read against the control line
NEW_EMPLOYMENT = "urban_new_employment"  # monthly flow, persons
SERIES = (REGISTERED, RATE, NEW_EMPLOYMENT)
COUNT_SERIES = (REGISTERED, NEW_EMPLOYMENT)  # the districts add up to the city
LEVELS = ("city", "district")


@sensitive(values=("value",), groups=("indicator_code", "level", "year", "month"))
def series_history(
    engine: Engine,
    indicators: tuple[str, ...] = SERIES,
    area_codes: tuple[str, ...] | None = None,
    district_code: str | None = None,
) -> pd.DataFrame:
    """Monthly values of the forecast series for the city and its districts (group "all"), long format.

    Columns ``indicator_code, area_code, level, district_code, year, month, value`` (persons or percent),
    ``persons`` (behind the value: the registered unemployed for the rate),
    ordered by indicator, area and month. ``area_codes`` narrows the areas (default: the city and every
    district; ``district_code`` keeps one district's rows). One query for every series; ``to_wide`` pivots
    it.
    """
    a = s.agg_monthly
    stmt = (
        select(
            a.c.indicator_code,
            a.c.area_code,
            a.c.level,
            a.c.district_code,
            a.c.year,
            a.c.month,
            a.c.value,
            a.c.persons,
        )
        .where(
            a.c.group_code == "all",
            a.c.level.in_(LEVELS),
            a.c.indicator_code.in_(list(indicators)),
        )
        .order_by(a.c.indicator_code, a.c.area_code, a.c.year, a.c.month)
    )
    if area_codes is not None:
        stmt = stmt.where(a.c.area_code.in_(list(area_codes)))
    if district_code is not None:
        stmt = stmt.where(a.c.district_code == district_code)
    with engine.connect() as conn:
        out = frame(conn, stmt)
    out["value"] = out["value"].astype(float)
    return with_points(out)


def to_wide(history: pd.DataFrame) -> pd.DataFrame:
    """Pivot ``series_history`` output: a monthly PeriodIndex, columns ``(indicator_code, area_code)``.

    Months a series has no value for are NaN (the rate and new employment start later than the stock).
    """
    if history.empty:
        return pd.DataFrame(index=pd.PeriodIndex([], freq="M"))
    period = pd.PeriodIndex.from_fields(year=history["year"], month=history["month"], freq="M")
    wide = history.assign(period=period).pivot_table(
        index="period", columns=["indicator_code", "area_code"], values="value", aggfunc="first"
    )
    full = pd.period_range(wide.index.min(), wide.index.max(), freq="M", name="period")
    return wide.reindex(full).sort_index(axis=1)


@reference_data
def newest_run(engine: Engine, indicator_code: str, area_code: str) -> dict | None:
    """The newest stored run that holds a forecast of ``indicator_code`` for ``area_code``, or None.

    Keys ``run_id, created_at, cut_off, model_version``. Cheap (one indexed lookup): pages call it on every
    rerun so that a new run shows at once, and pass ``run_id`` to the cached readers below.
    """
    r, v = s.forecast_run, s.forecast_value
    stmt = (
        select(r.c.run_id, r.c.created_at, r.c.cut_off, r.c.model_version)
        .where(
            r.c.run_id.in_(
                select(v.c.run_id).where(v.c.indicator_code == indicator_code, v.c.area_code == area_code)
            )
        )
        .order_by(r.c.run_id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None


@non_person("model output: forecast means and intervals")
def run_values(
    engine: Engine, run_id: int, indicator_code: str, district_code: str | None = None
) -> pd.DataFrame:
    """Stored forecast months of one run and indicator for every area in it.

    Columns ``area_code, year, month, mean, lo_80, hi_80, lo_95, hi_95, model`` (the indicator's unit),
    ordered by area and month.
    """
    v = s.forecast_value
    stmt = (
        select(
            v.c.area_code,
            v.c.year,
            v.c.month,
            v.c.mean,
            v.c.lo_80,
            v.c.hi_80,
            v.c.lo_95,
            v.c.hi_95,
            v.c.model,
        )
        .where(v.c.run_id == run_id, v.c.indicator_code == indicator_code)
        .order_by(v.c.area_code, v.c.year, v.c.month)
    )
    if district_code is not None:
        stmt = stmt.where(v.c.district_code == district_code)
    with engine.connect() as conn:
        return frame(conn, stmt)


@non_person("model output: backtest error statistics")
def run_accuracy(
    engine: Engine, run_id: int, indicator_code: str, district_code: str | None = None
) -> pd.DataFrame:
    """The stored backtest record of one run and indicator: one row per area, model and horizon band.

    Columns ``area_code, model`` ("auto" = the forecast procedure, "snaive" = same month last year),
    ``horizon_band`` (1-3 / 4-6 / 7-12 months ahead), ``mae`` (the indicator's unit), ``mase`` (MAE over the
    in-sample seasonal-naive MAE), ``smape`` (percent), ``coverage_80, coverage_95`` (share 0-1).
    """
    acc = s.forecast_accuracy
    stmt = (
        select(
            acc.c.area_code,
            acc.c.model,
            acc.c.horizon_band,
            acc.c.mae,
            acc.c.mase,
            acc.c.smape,
            acc.c.coverage_80,
            acc.c.coverage_95,
        )
        .where(acc.c.run_id == run_id, acc.c.indicator_code == indicator_code)
        .order_by(acc.c.area_code, acc.c.model, acc.c.horizon_band)
    )
    if district_code is not None:
        stmt = stmt.where(acc.c.district_code == district_code)
    with engine.connect() as conn:
        return frame(conn, stmt)


@reference_data
def run_note(engine: Engine, run_id: int) -> str | None:
    """What the job recorded about a run (JSON text in ``data_load.source``: reconciliation choices, timing).

    The forecast job writes one ``data_load`` row (kind "forecast") per run whose ``note`` names the run id.
    """
    d = s.data_load
    stmt = (
        select(d.c.source)
        .where(and_(d.c.kind == "forecast", d.c.note == run_label(run_id)))
        .order_by(d.c.load_id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        return conn.execute(stmt).scalar()


def run_label(run_id: int) -> str:
    """The ``data_load.note`` that ties a forecast load to its run."""
    return f"forecast run {run_id}"


@non_person("targets and control lines set by the city")
def annual_targets(engine: Engine, indicator_code: str, district_code: str | None = None) -> pd.DataFrame:
    """Annual targets of one indicator for every area: ``area_code, year, target_value``.

    For the registered unemployment rate the target is the control line in percent; for new employment it
    is the year's target in persons.
    """
    tg = s.target
    stmt = (
        select(tg.c.area_code, tg.c.year, tg.c.target_value)
        .where(tg.c.indicator_code == indicator_code)
        .order_by(tg.c.area_code, tg.c.year)
    )
    if district_code is not None:
        stmt = stmt.where(tg.c.district_code == district_code)
    with engine.connect() as conn:
        out = frame(conn, stmt)
    out["target_value"] = out["target_value"].astype(float)
    return out
