"""Target attainment (就业目标责任制): completion, time-elapsed progress, status and ranks, computed in SQL.

Definitions (docs/targets.md): completion rate = cumulative actual ÷ annual target; linear time-elapsed progress =
month ÷ 12; seasonal progress = the city's own cumulative share of the year's total by that month over up to three
recent complete years (2020 excluded as a shock year); control-line indicators are read as the margin under the
line in percentage points; yes/no indicators as done / not done.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, case, distinct, func, or_, select
from sqlalchemy.engine import Connection

from queries import frame, reference_data, sensitive
from queries.disclosure import GROUPED as UNE
from queries.disclosure import kind_of, month_points
from store import schema as s

SHOCK_YEARS = (2020,)


def a_all():  # type: ignore[no-untyped-def]
    """The rows of all groups together (``group_code = 'all'``)."""
    return s.agg_monthly.c.group_code == "all"


STATUS_ORDER = ("red", "yellow", "green")


def complete_years(conn: Connection, before: int, max_years: int = 3) -> list[int]:
    """Up to ``max_years`` most recent years before ``before`` with all 12 months at city level, shocks excluded."""
    a = s.agg_monthly
    stmt = (
        select(a.c.year)
        .where(a.c.level == "city", a.c.year < before, a.c.year.not_in(SHOCK_YEARS))
        .group_by(a.c.year)
        .having(func.count(distinct(a.c.month)) == 12)
        .order_by(a.c.year.desc())
        .limit(max_years)
    )
    return [int(r[0]) for r in conn.execute(stmt)]


@reference_data
def seasonal_profile(engine: Engine, year: int) -> pd.DataFrame:
    """Expected cumulative share of the year's total by month, per flow indicator, from the city's past years.

    Columns ``indicator_code, month, share`` (share of month 12 is 1). Empty when there is no complete past year.
    """
    a, ind = s.agg_monthly, s.indicator
    with engine.connect() as conn:
        years = complete_years(conn, year)
        if not years:
            return pd.DataFrame(columns=["indicator_code", "month", "share"])
        monthly = (
            select(a.c.indicator_code, a.c.month, func.sum(a.c.value).label("v"))
            .join(ind, ind.c.code == a.c.indicator_code)
            .where(a.c.level == "city", a.c.group_code == "all", ind.c.kind == "flow", a.c.year.in_(years))
            .group_by(a.c.indicator_code, a.c.month)
            .subquery()
        )
        cum = func.sum(monthly.c.v).over(partition_by=monthly.c.indicator_code, order_by=monthly.c.month)
        total = func.sum(monthly.c.v).over(partition_by=monthly.c.indicator_code)
        stmt = select(
            monthly.c.indicator_code, monthly.c.month, (cum / func.nullif(total, 0)).label("share")
        ).order_by(monthly.c.indicator_code, monthly.c.month)
        out = frame(conn, stmt)
    out["share"] = out["share"].astype(float)
    return out


def _base(
    conn: Connection, year: int, month: int, level: str, parent_code: str | None, district_code: str | None
) -> pd.DataFrame:
    a, tg, ind, ar = s.agg_monthly, s.target, s.indicator, s.area
    at_month = or_(ind.c.kind == "flow", a.c.month == month)
    act = (
        select(
            a.c.area_code,
            a.c.indicator_code,
            func.sum(case((at_month, a.c.value), else_=0.0)).label("actual"),
            func.sum(case((at_month, a.c.persons), else_=0)).label("persons"),
            func.count(distinct(a.c.month)).label("months_with_data"),
            func.max(a.c.month).label("last_month"),
        )
        .join(ind, ind.c.code == a.c.indicator_code)
        .where(a.c.year == year, a.c.month <= month, a.c.level == level, a.c.group_code == "all")
        .group_by(a.c.area_code, a.c.indicator_code)
        .subquery()
    )
    actual = func.coalesce(act.c.actual, 0.0)
    key = case(
        (ind.c.direction == "control", tg.c.target_value - actual),
        (ind.c.direction == "yes_no", actual),
        else_=actual / func.nullif(tg.c.target_value, 0),
    )
    order = key.desc().nulls_last()
    stmt = (
        select(
            ar.c.area_code,
            ar.c.name_zh,
            ar.c.name_en,
            ar.c.zone,
            ar.c.parent_code,
            tg.c.indicator_code,
            ind.c.direction,
            ind.c.kind,
            ind.c.unit,
            ind.c.sort_order,
            tg.c.target_value.label("target"),
            actual.label("actual"),
            func.coalesce(act.c.persons, 0).label("persons"),
            func.coalesce(act.c.months_with_data, 0).label("months_with_data"),
            func.rank().over(partition_by=tg.c.indicator_code, order_by=order).label("rank"),
            func.rank()
            .over(partition_by=[tg.c.indicator_code, ar.c.zone], order_by=order)
            .label("peer_rank"),
        )
        .join(tg, tg.c.area_code == ar.c.area_code)
        .join(ind, ind.c.code == tg.c.indicator_code)
        .outerjoin(act, and_(act.c.area_code == ar.c.area_code, act.c.indicator_code == tg.c.indicator_code))
        .where(tg.c.year == year, ar.c.level == level)
    )
    if parent_code is not None:
        stmt = stmt.where(ar.c.parent_code == parent_code)
    stmt = stmt.order_by(ind.c.sort_order, ar.c.area_code)
    if district_code is not None:
        # Ranks are computed over every area first; only the district's own rows leave the database.
        ranked = stmt.subquery()
        own = ranked.c.parent_code if level == "street" else ranked.c.area_code
        stmt = select(ranked).where(own == district_code)
        return frame(conn, stmt)
    return frame(conn, stmt)


def _months_persons(
    conn: Connection,
    year: int,
    month: int,
    level: str,
    keys: list[str],
    where: list,  # type: ignore[type-arg]
) -> pd.DataFrame:
    """Persons behind each month January … ``month`` of the flow series, per ``keys``: a tuple column
    ``months_persons`` (for the year-to-date rule of ``privacy.suppress``)."""
    a, ind = s.agg_monthly, s.indicator
    cols = [a.c[k] for k in keys]
    stmt = (
        select(*cols, a.c.month, func.sum(a.c.persons).label("p"))
        .join(ind, ind.c.code == a.c.indicator_code)
        .where(a.c.year == year, a.c.month <= month, a.c.level == level, ind.c.kind == "flow", *where)
        .group_by(*cols, a.c.month)
    )
    got = frame(conn, stmt)
    if got.empty:
        return pd.DataFrame(columns=[*keys, "months_persons"])
    wide = got.pivot_table(index=keys, columns="month", values="p", aggfunc="sum")
    wide = wide.reindex(columns=range(1, month + 1)).fillna(0.0)
    return pd.DataFrame(
        {"months_persons": [tuple(float(v) for v in row) for row in wide.to_numpy()]}, index=wide.index
    ).reset_index()


def previous_quarter(year: int, month: int) -> tuple[int, int]:
    """The last month of the quarter before the one holding ``month`` (Q1 → the previous December)."""
    q_end = ((month - 1) // 3) * 3
    return (year, q_end) if q_end > 0 else (year - 1, 12)


@sensitive(
    values=("actual", "completion_rate", "pace_gap", "margin_pp"),
    groups=("indicator_code",),
    ytd="months_persons",
    ranks={
        "by": {"rank": ("indicator_code",), "peer_rank": ("indicator_code", "zone")},
        "blank": ("status",),  # figures.targets adds the status after protection; blank it if present
        "prev": "rank_prev",
        "change": "rank_change",
        "prev_points": "_prev_points",
        "complete": "_complete",
    },
)
def attainment(
    engine: Engine,
    year: int,
    month: int,
    level: str = "district",
    parent_code: str | None = None,
    pace: str = "linear",
    district_code: str | None = None,
) -> pd.DataFrame:
    """One row per area and target indicator at the end of ``month`` of ``year``.

    Columns: ``area_code, area_name, name_zh, name_en, zone, indicator_code, direction, unit, target, actual,
    completion_rate`` (fraction), ``time_elapsed_progress`` (the pace chosen by ``pace``: "linear" or "seasonal"),
    ``pace_linear, pace_seasonal, pace_gap`` (persons or yuan short of being on pace; negative = ahead),
    ``margin_pp`` (control lines: points under the line), ``rank, peer_rank, rank_prev, rank_change``
    (positive = moved up), ``months_with_data``. Ranks: 1 is best; ties share the best rank. The status
    (red / yellow / green) is the bureau's rule, applied by ``figures.targets.attainment``.
    """
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1–12, got {month}")
    with engine.connect() as conn:
        now = _base(conn, year, month, level, parent_code, district_code)
        months = _months_persons(conn, year, month, level, ["area_code", "indicator_code"], [a_all()])
        py, pm = previous_quarter(year, month)
        prev = _base(conn, py, pm, level, parent_code, district_code)[["area_code", "indicator_code", "rank"]]
    if now.empty:
        return now.assign(area_name=[], completion_rate=[], time_elapsed_progress=[], pace_gap=[])
    profile = seasonal_profile(engine, year)
    seasonal = profile[profile["month"] == month].set_index("indicator_code")["share"]
    now["pace_linear"] = month / 12
    now["pace_seasonal"] = now["indicator_code"].map(seasonal).fillna(month / 12).astype(float)
    now["time_elapsed_progress"] = now["pace_seasonal"] if pace == "seasonal" else now["pace_linear"]
    flow = now["kind"] == "flow"
    now["target"] = now["target"].astype(float)
    now["actual"] = now["actual"].astype(float)
    now["completion_rate"] = np.where(flow, now["actual"] / now["target"].where(now["target"] > 0), np.nan)
    now["pace_gap"] = np.where(flow, now["target"] * now["time_elapsed_progress"] - now["actual"], np.nan)
    now["margin_pp"] = np.where(now["direction"] == "control", now["target"] - now["actual"], np.nan)
    # A yes/no flag counts households found, not persons behind a figure: never suppressed as a small count.
    now["persons"] = now["persons"].astype(float).where(now["direction"] != "yes_no")
    now = now.merge(
        prev.rename(columns={"rank": "rank_prev"}), on=["area_code", "indicator_code"], how="left"
    )
    now["rank_change"] = now["rank_prev"] - now["rank"]
    now = now.merge(months, on=["area_code", "indicator_code"], how="left")
    now["months_persons"] = now["months_persons"].astype(object).where(now["kind"] == "flow", None)
    now["area_name"] = now["name_zh"]
    # the plan's points (privacy.linked): this year-to-date, and last quarter's for its rank
    codes, areas = now["indicator_code"].tolist(), now["area_code"].tolist()
    now["_points"] = [month_points(i, "all", a, year, 1, month) for i, a in zip(codes, areas, strict=True)]
    now["_prev_points"] = [month_points(i, "all", a, py, 1, pm) for i, a in zip(codes, areas, strict=True)]
    now["_complete"] = district_code is None  # ranked over the rows returned (not a planner's one district)
    return now


@sensitive(values=("cumulative",), count="cum_persons", monthly=("value",), ytd="months_persons")
def monthly_curve(
    engine: Engine, year: int, area_code: str, indicator_code: str, district_code: str | None = None
) -> pd.DataFrame:
    """Month by month: the month's value, the cumulative actual (a window sum in SQL), and the target.

    Columns ``month, value, cumulative, target, persons`` (persons behind the month's value), ``cum_persons``
    (behind the cumulative) and
    ``months_persons`` (persons per month January … this month, for the year-to-date rule); add pace lines
    with :func:`pace_lines`.
    """
    a, tg = s.agg_monthly, s.target
    cum = func.sum(a.c.value).over(order_by=a.c.month)
    stmt = (
        select(
            a.c.month,
            a.c.value,
            cum.label("cumulative"),
            tg.c.target_value.label("target"),
            a.c.persons,
        )
        .outerjoin(
            tg,
            and_(
                tg.c.area_code == a.c.area_code,
                tg.c.indicator_code == a.c.indicator_code,
                tg.c.year == a.c.year,
            ),
        )
        .where(
            a.c.year == year,
            a.c.area_code == area_code,
            a.c.indicator_code == indicator_code,
            a.c.group_code == "all",
        )
        .order_by(a.c.month)
    )
    if district_code is not None:
        stmt = stmt.where(a.c.district_code == district_code)
    with engine.connect() as conn:
        out = frame(conn, stmt)
    persons = out["persons"].astype(float).tolist()
    out["months_persons"] = [tuple(persons[: i + 1]) for i in range(len(out))]
    out["cum_persons"] = np.cumsum(persons) if persons else []
    if kind_of(indicator_code) != "flow":
        # a sum of a stock's (or a rate's) levels means nothing, and would give a hidden level back
        out["cumulative"] = np.nan
    months = out["month"].astype(int).tolist()
    out["_points"] = [month_points(indicator_code, "all", area_code, year, 1, m) for m in months]
    out["_mpoints"] = [month_points(indicator_code, "all", area_code, year, m, m) for m in months]
    return out


def pace_lines(profile: pd.DataFrame, indicator_code: str, target: float) -> pd.DataFrame:
    """Both pace lines for a year, in the indicator's unit: ``month, linear, seasonal``."""
    months = np.arange(1, 13)
    share = profile[profile["indicator_code"] == indicator_code].set_index("month")["share"]
    seasonal = share.reindex(months).to_numpy(float)
    seasonal = np.where(np.isnan(seasonal), months / 12, seasonal)
    return pd.DataFrame({"month": months, "linear": target * months / 12, "seasonal": target * seasonal})


@sensitive(values=("value",), ytd="months_persons")
def group_breakdown(
    engine: Engine, year: int, month: int, area_code: str, district_code: str | None = None
) -> pd.DataFrame:
    """Urban new employment so far this year by group (registered unemployed, difficulty, graduates, …).

    Columns ``group_code, value, persons`` and ``months_persons`` (persons per month, for the year-to-date
    rule). The groups add up to the area's total (secondary suppression runs over the whole frame).
    """
    a = s.agg_monthly
    stmt = (
        select(a.c.group_code, func.sum(a.c.value).label("value"), func.sum(a.c.persons).label("persons"))
        .where(
            a.c.year == year,
            a.c.month <= month,
            a.c.area_code == area_code,
            a.c.indicator_code == UNE,
            a.c.group_code != "all",
        )
        .group_by(a.c.group_code)
        .order_by(func.sum(a.c.value).desc())
    )
    if district_code is not None:
        stmt = stmt.where(a.c.district_code == district_code)
    with engine.connect() as conn:
        out = frame(conn, stmt)
        where = [
            a.c.area_code == area_code,
            a.c.indicator_code == "urban_new_employment",
            a.c.group_code != "all",
        ]
        if district_code is not None:
            where.append(a.c.district_code == district_code)
        level = conn.execute(select(s.area.c.level).where(s.area.c.area_code == area_code)).scalar() or ""
        months = _months_persons(conn, year, month, str(level), ["group_code"], where)
    out = out.merge(months, on="group_code", how="left")
    out["_points"] = [month_points(UNE, str(g), area_code, year, 1, month) for g in out["group_code"]]
    return out


@reference_data
def zone_weights(engine: Engine) -> pd.DataFrame:
    """The district card's weights (``target_weight``): ``zone, indicator_code, weight, pace, core``; the
    bureau's settings, no district's figure."""
    w = s.target_weight
    stmt = select(w.c.zone, w.c.indicator_code, w.c.weight, w.c.pace, w.c.core).order_by(
        w.c.zone, w.c.indicator_code
    )
    with engine.connect() as conn:
        return frame(conn, stmt)
