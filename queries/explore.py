"""Self-service exploration (自助分析): one measure by up to two dimensions, aggregated in SQL.

Measures are the monthly series of ``agg_monthly`` (indicators of kind flow / stock / rate / flag) plus one
measure family from ``service_point``: ``service_points`` (open service points). Dimensions are ``area`` (district
or street, by ``level``), ``period`` (month / quarter / year, by ``grain``), ``group`` (urban new employment by
group) and ``sp_level`` (service-point level). Identifiers (columns, dimensions) come only from the whitelists below;
every value reaches SQL as a bound parameter.

How a cell is aggregated (docs/explore.md):

- flows (kind ``flow``) are summed over the months of the cell and over its areas;
- stocks (``stock``), rates (``rate``) and flags (``flag``) are read at the cell's *period end*: the last month with
  data (for this measure and level, within the filters) of the cell's time span; a partial period (the current
  quarter or year) therefore ends at the latest month aggregated. Without the ``period`` dimension the time span is
  the whole selected range. Across areas stocks are summed, rates are the labour-force-weighted mean (= the pooled
  rate, since each area's rate is its stock ÷ its labour force) and flags take the minimum (done only if every area
  is done);
- open service points are a stock: the points open on the month-end date of the period end
  (``opened_on ≤ month_end`` and not closed by then), counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import ColumnElement, Engine, and_, func, or_, select
from sqlalchemy.engine import Connection

from queries import frame, reference_data, sensitive
from queries.disclosure import month_points
from store import schema as s
from store import stations

SERVICE_POINTS = "service_points"
MONTHLY_KINDS = ("flow", "stock", "rate", "flag")
DIMENSIONS = ("area", "period", "group", "sp_level")
GRAINS = ("month", "quarter", "year")
LEVELS = ("district", "street")
GROUPED_MEASURES = ("urban_new_employment",)  # the only series stored per group in agg_monthly
SP_LEVELS = stations.CODES  # the one list of station types (store/stations.py)


@reference_data
def measures(engine: Engine) -> pd.DataFrame:
    """The measures one can explore: ``code, name_zh, name_en, unit, kind`` in display order.

    The monthly indicators (kind flow / stock / rate / flag) from the indicator table, then ``service_points``
    (unit ``count``, kind ``stock``; its names come from the UI catalogue, so they are left empty here).
    """
    i = s.indicator
    stmt = (
        select(i.c.code, i.c.name_zh, i.c.name_en, i.c.unit, i.c.kind)
        .where(i.c.kind.in_(MONTHLY_KINDS))
        .order_by(i.c.sort_order, i.c.code)
    )
    with engine.connect() as conn:
        out = frame(conn, stmt)
    extra = pd.DataFrame(
        [{"code": SERVICE_POINTS, "name_zh": "", "name_en": "", "unit": "count", "kind": "stock"}]
    )
    return pd.concat([out, extra], ignore_index=True)


def dimensions_for(measure: str) -> list[str]:
    """The dimensions that make sense for ``measure`` (no database access)."""
    if measure == SERVICE_POINTS:
        return ["area", "period", "sp_level"]
    if measure in GROUPED_MEASURES:
        return ["area", "period", "group"]
    return ["area", "period"]


def _kind(conn: Connection, measure: str) -> str:
    if measure == SERVICE_POINTS:
        return "stock"
    i = s.indicator
    kind = conn.execute(select(i.c.kind).where(i.c.code == measure)).scalar()
    if kind not in MONTHLY_KINDS:
        raise ValueError(f"unknown measure {measure!r}")
    return str(kind)


def _validate(
    measure: str,
    rows: str,
    columns: str | None,
    grain: str,
    years: Sequence[int] | None,
    level: str,
) -> list[str]:
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}: use one of {GRAINS}")
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}: use one of {LEVELS}")
    dims = [rows] if columns is None else [rows, columns]
    allowed = dimensions_for(measure)
    for d in dims:
        if d not in DIMENSIONS:
            raise ValueError(f"unknown dimension {d!r}: use one of {DIMENSIONS}")
        if d not in allowed:
            raise ValueError(f"dimension {d!r} does not apply to measure {measure!r}")
    if len(set(dims)) != len(dims):
        raise ValueError("rows and columns must be different dimensions")
    if years is not None and (len(years) != 2 or not all(isinstance(y, int) for y in years)):
        raise ValueError("years must be a pair of integers (first, last)")
    return dims


def _label_periods(out: pd.DataFrame, grain: str) -> pd.DataFrame:
    """Turn the SQL period columns ``p_year, p_sub`` into one sortable label: 2026, 2026-Q3 or 2026-07."""
    if "p_year" not in out.columns:
        return out
    year = out["p_year"].astype(int).astype(str)
    if grain == "year":
        label = year
    elif grain == "quarter":
        label = year + "-Q" + out["p_sub"].astype(int).astype(str)
    else:
        label = year + "-" + out["p_sub"].astype(int).astype(str).str.zfill(2)
    out = out.drop(columns=[c for c in ("p_year", "p_sub") if c in out.columns])
    out.insert(0, "period", label)
    return out


@sensitive(
    values=("value",), dims=DIMENSIONS, parts="parts_persons", ytd="months_persons", span="months_span"
)
def explore(
    engine: Engine,
    measure: str,
    rows: str,
    columns: str | None = None,
    grain: str = "year",
    years: Sequence[int] | None = None,
    districts: Sequence[str] | None = None,
    level: str = "district",
    district_code: str | None = None,
) -> pd.DataFrame:
    """``measure`` aggregated by the dimensions ``rows`` (and ``columns``), one row per cell, in long form.

    Parameters: ``grain`` month / quarter / year (the period dimension and the period ends of stocks); ``years``
    (first, last) inclusive, ``None`` for all; ``districts`` district codes to keep (``None`` or empty: all);
    ``level`` district / street (what ``area`` means and which agg_monthly rows are read); ``district_code`` keeps
    one district only, on top of ``districts`` (the role filter a district planner's session forces in).

    Returns: columns ``[rows, columns], value, persons`` (dimension columns hold codes: area code, period label
    such as ``2026``, ``2026-Q3`` or ``2026-07``, group code, service-point level), sorted by the dimensions. The
    value is in the measure's unit (persons, yuan, % for rates, 0/1 for flags, points for ``service_points``); see
    the module docstring for how flows, stocks, rates and flags are aggregated. ``persons`` is the number of
    persons behind the cell for small-count suppression (the rows' ``persons`` added the same way as the value:
    over months for flows, at period end otherwise; an upper bound for flows, since a person may count in two
    months); NaN for ``service_points``, which are not about persons. ``parts_persons``: the smallest
    non-zero count among the parts another view could subtract from a cell: for a total over a chosen subset of
    districts (``districts`` without the ``area`` dimension) every district, chosen or not, so that "all" minus
    "all but one" cannot reveal a small district; for a flow summed over several years (no ``period``
    dimension) each year, so that two ranges cannot reveal a small year. Present only then. For flows by
    period, ``months_persons`` (persons per month January … the period's end, per cell's other dimensions) and
    ``months_span`` (months the period covers): the year-to-date rule that the Targets page applies, so that a
    month or quarter here and a year-to-date figure there cannot be subtracted.

    Raises ``ValueError`` for an unknown measure, dimension, grain or level, or a dimension that does not apply.
    """
    dims = _validate(measure, rows, columns, grain, years, level)
    if district_code is not None:
        # the intersection: the role's own district, or nothing when the filter leaves it out
        districts = [district_code] if not districts or district_code in districts else ["(none)"]
    with engine.connect() as conn:
        kind = _kind(conn, measure)
        if measure == SERVICE_POINTS:
            stmt = _service_points(dims, grain, years, districts, level)
        else:
            stmt = _series(measure, kind, dims, grain, years, districts, level)
        out = frame(conn, stmt)
        parts: list[pd.DataFrame] = []
        monthly = pd.DataFrame()
        if kind == "flow" and measure != SERVICE_POINTS and "period" in dims:
            others = [d for d in dims if d != "period"]
            stmt = _series(measure, kind, [*others, "period"], "month", years, districts, level)
            monthly = _label_periods(frame(conn, stmt), "month")
        if measure != SERVICE_POINTS and kind in ("flow", "stock"):
            if bool(districts) and district_code is None and "area" not in dims:
                # every district, chosen or not: "all" minus "all but one" must not reveal a small district
                stmt = _series(measure, kind, [*dims, "district"], grain, years, None, level)
                parts.append(_label_periods(frame(conn, stmt), grain))
            if kind == "flow" and "period" not in dims and (years is None or years[0] != years[1]):
                # each year of the range: two ranges differ by whole years, which must not be small
                stmt = _series(measure, kind, [*dims, "period"], "year", years, districts, level)
                parts.append(_label_periods(frame(conn, stmt), "year"))
        span = _span(conn, measure, years) if "period" not in dims else None
        city = conn.execute(select(s.area.c.area_code).where(s.area.c.level == "city")).scalar()
    out = _label_periods(out, grain)
    out["value"] = out["value"].astype(float)
    out["persons"] = out["persons"].astype(float) if "persons" in out.columns else float("nan")
    keep = [*dims, "value", "persons"]
    if kind == "flow" and "period" in dims and not out.empty:
        out = _with_months(out, monthly, [d for d in dims if d != "period"], grain)
        keep += ["months_persons", "months_span"]
    if any(not p.empty for p in parts):
        sub = pd.concat([p for p in parts if not p.empty], ignore_index=True)
        positive = sub.assign(persons=sub["persons"].astype(float).where(sub["persons"].astype(float) > 0))
        smallest = positive.groupby(dims, dropna=False)["persons"].min().rename("parts_persons").reset_index()
        out = out.merge(smallest, on=dims, how="left")
        keep.append("parts_persons")
    if measure != SERVICE_POINTS and kind in ("flow", "stock", "rate") and not out.empty:
        whole = list(districts) if districts else [str(city)]
        out["_points"] = _points(out, measure, dims, whole, span)
        keep.append("_points")
    return out[keep].sort_values(dims, na_position="last").reset_index(drop=True)


def _span(conn: Connection, measure: str, years: Sequence[int] | None) -> tuple[int, int]:
    """The first and last year a cell without the period dimension sums over."""
    if years is not None:
        return int(years[0]), int(years[1])
    a = s.agg_monthly
    low, high = conn.execute(
        select(func.min(a.c.year), func.max(a.c.year)).where(a.c.indicator_code == measure)
    ).one()
    return int(low or 0), int(high or 0)


def _points(
    out: pd.DataFrame, measure: str, dims: list[str], whole: list[str], span: tuple[int, int] | None
) -> list[tuple | None]:
    """Each cell's points for the linked plan (privacy.linked): its areas (the row's, else the chosen
    districts or the city) from the month before its period to the period's end."""
    found = []
    for row in out.itertuples(index=False):
        group = str(row.group) if "group" in dims else "all"
        areas = [str(row.area)] if "area" in dims else whole
        if span is not None:
            found.append(month_points(measure, group, areas, span[0], 1, 12, end=(span[1], 12)))
            continue
        found.append(month_points(measure, group, areas, *_period_months(str(row.period))))
    return found


def _period_months(label: str) -> tuple[int, int, int]:
    """A period label's year and its first and last month: ``2026`` → (2026, 1, 12), ``2026-Q3`` → (2026, 7,
    9), ``2026-07`` → (2026, 7, 7)."""
    year = int(label[:4])
    if len(label) == 4:
        return year, 1, 12
    if "Q" in label:
        return year, 3 * int(label[-1]) - 2, 3 * int(label[-1])
    return year, int(label[5:]), int(label[5:])


def _with_months(out: pd.DataFrame, monthly: pd.DataFrame, others: list[str], grain: str) -> pd.DataFrame:
    """Add each cell's persons per month of its year up to the period's end, and the months it covers."""
    m = monthly.assign(
        _y=monthly["period"].str[:4],
        _m=monthly["period"].str[5:].astype(int),
        _p=monthly["persons"].astype(float),
    )
    keys = [*others, "_y"]
    table = m.pivot_table(index=keys, columns="_m", values="_p", aggfunc="sum").reindex(columns=range(1, 13))
    arrays = {
        k if isinstance(k, tuple) else (k,): row
        for k, row in zip(table.index, table.fillna(0.0).to_numpy(), strict=True)
    }
    label = out["period"].astype(str)
    parsed = [_period_months(x) for x in label]
    end = [last for _, _, last in parsed]
    span = {"month": 1, "quarter": 3}.get(grain, 12)
    rows = (
        zip(*[out[o] for o in others], label.str[:4], end, strict=True)
        if others
        else zip(label.str[:4], end, strict=True)
    )
    months = []
    for r in rows:
        arr = arrays.get(tuple(r[:-1]))
        months.append(tuple(float(v) for v in arr[: int(r[-1])]) if arr is not None else None)
    return out.assign(months_persons=months, months_span=span)


def _period_columns(year: ColumnElement, month: ColumnElement, grain: str) -> list[ColumnElement]:
    """The period of a month as SQL expressions: the year, and the month or quarter ((month + 2) / 3) within it."""
    if grain == "year":
        return [year.label("p_year")]
    sub = month if grain == "month" else (month + 2) // 3  # integer division on both backends
    return [year.label("p_year"), sub.label("p_sub")]


def _series(
    measure: str,
    kind: str,
    dims: list[str],
    grain: str,
    years: Sequence[int] | None,
    districts: Sequence[str] | None,
    level: str,
):  # type: ignore[no-untyped-def]
    a, ay = s.agg_monthly, s.area_year
    where = [a.c.indicator_code == measure, a.c.level == level]
    where.append(a.c.group_code != "all" if "group" in dims else a.c.group_code == "all")
    if years is not None:
        where.append(a.c.year.between(int(years[0]), int(years[1])))
    if districts:
        where.append(a.c.district_code.in_(list(districts)))
    period = _period_columns(a.c.year, a.c.month, grain)
    cols: list[ColumnElement] = []
    for d in dims:
        if d == "area":
            cols.append(a.c.area_code.label("area"))
        elif d == "group":
            cols.append(a.c.group_code.label("group"))
        elif d == "district":  # internal: per-district parts of a filtered total
            cols.append(a.c.district_code.label("district"))
        else:
            cols.extend(period)
    if kind == "flow":
        persons = func.sum(a.c.persons).label("persons")
        return select(*cols, func.sum(a.c.value).label("value"), persons).where(*where).group_by(*cols)
    # Stocks, rates and flags: only the rows of the last month with data in each cell's time span.
    ym = a.c.year * 100 + a.c.month
    by_period = period if "period" in dims else []
    ends = select(*by_period, func.max(ym).label("end_ym")).where(*where)
    if by_period:
        ends = ends.group_by(*by_period)
    end = ends.subquery("ends")
    source = a.join(end, ym == end.c.end_ym)
    if kind == "rate":
        source = source.join(ay, and_(ay.c.area_code == a.c.area_code, ay.c.year == a.c.year))
        value = func.sum(a.c.value * ay.c.labour_force) / func.nullif(func.sum(ay.c.labour_force), 0)
    elif kind == "flag":
        value = func.min(a.c.value)
    else:
        value = func.sum(a.c.value)
    persons = func.sum(a.c.persons).label("persons")
    return select(*cols, value.label("value"), persons).select_from(source).where(*where).group_by(*cols)


def _service_points(
    dims: list[str], grain: str, years: Sequence[int] | None, districts: Sequence[str] | None, level: str
):  # type: ignore[no-untyped-def]
    sp, cm = s.service_point, s.calendar_month
    inner = cm.alias("cm_end")  # a separate alias so that the IN subquery is not correlated to the outer one
    months = select(func.max(inner.c.year * 100 + inner.c.month).label("end_ym"))
    if years is not None:
        months = months.where(inner.c.year.between(int(years[0]), int(years[1])))
    if "period" in dims:
        months = months.group_by(*_period_columns(inner.c.year, inner.c.month, grain))
    ends = (
        select(cm.c.year, cm.c.month, cm.c.month_end)
        .where((cm.c.year * 100 + cm.c.month).in_(months))
        .subquery("ends")
    )
    open_then = and_(
        sp.c.opened_on <= ends.c.month_end, or_(sp.c.closed_on.is_(None), sp.c.closed_on > ends.c.month_end)
    )
    cols: list[ColumnElement] = []
    for d in dims:
        if d == "area":
            cols.append((sp.c.district_code if level == "district" else sp.c.street_code).label("area"))
        elif d == "sp_level":
            cols.append(sp.c.level.label("sp_level"))
        else:
            cols.extend(_period_columns(ends.c.year, ends.c.month, grain))
    stmt = select(*cols, func.count().label("value")).select_from(sp.join(ends, open_then))
    if districts:
        stmt = stmt.where(sp.c.district_code.in_(list(districts)))
    return stmt.group_by(*cols)


def pivot(long: pd.DataFrame, rows: str, columns: str | None, values: str = "value") -> pd.DataFrame:
    """The long result of :func:`explore` as a rows × columns table (no aggregation: each cell is one row)."""
    if columns is None:
        return long.set_index(rows)[[values]]
    return long.pivot(index=rows, columns=columns, values=values)
