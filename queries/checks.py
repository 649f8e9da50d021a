"""Data checks shown beside the figures: missing or late reports, reports that do not reconcile with the
person-level records, and outlying months."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, func, select

from queries import frame, non_person, sensitive
from queries.disclosure import with_points
from store import schema as s

LATE_AFTER_DAYS = 10
RECONCILE_TOLERANCE = 0.02  # relative difference above which a report does not reconcile
OUTLIER_Z = 3.5


@non_person("which district-months have no report: no figures")
def missing_reports(
    engine: Engine,
    year: int,
    month: int,
    indicator_code: str = "urban_new_employment",
    district_code: str | None = None,
) -> pd.DataFrame:
    """District-months up to ``month`` with no report for ``indicator_code``: ``area_code, year, month``."""
    ar, cal, rep = s.area, s.calendar_month, s.reported_monthly
    stmt = (
        select(ar.c.area_code, cal.c.year, cal.c.month)
        .select_from(ar.join(cal, and_(cal.c.year == year, cal.c.month <= month)))
        .outerjoin(
            rep,
            and_(
                rep.c.area_code == ar.c.area_code,
                rep.c.year == cal.c.year,
                rep.c.month == cal.c.month,
                rep.c.indicator_code == indicator_code,
            ),
        )
        .where(ar.c.level == "district", rep.c.area_code.is_(None))
        .order_by(ar.c.area_code, cal.c.month)
    )
    if district_code is not None:
        stmt = stmt.where(ar.c.district_code == district_code)
    with engine.connect() as conn:
        return frame(conn, stmt)


@non_person("report dates")
def late_reports(engine: Engine, year: int, month: int, district_code: str | None = None) -> pd.DataFrame:
    """Reports that arrived more than LATE_AFTER_DAYS after the month ended: ``area_code, month, days_late``."""
    rep, cal = s.reported_monthly, s.calendar_month
    stmt = (
        select(
            rep.c.area_code,
            rep.c.year,
            rep.c.month,
            func.max(rep.c.reported_on).label("reported_on"),
            cal.c.month_end,
        )
        .join(cal, and_(cal.c.year == rep.c.year, cal.c.month == rep.c.month))
        .where(rep.c.year == year, rep.c.month <= month)
        .group_by(rep.c.area_code, rep.c.year, rep.c.month, cal.c.month_end)
    )
    if district_code is not None:
        stmt = stmt.where(rep.c.district_code == district_code)
    with engine.connect() as conn:
        out = frame(conn, stmt)
    if out.empty:
        return out.assign(days_late=[])
    days = (pd.to_datetime(out["reported_on"]) - pd.to_datetime(out["month_end"])).dt.days
    return out.assign(days_late=days)[days > LATE_AFTER_DAYS].reset_index(drop=True)


@sensitive(values=("reported", "records"))
def unreconciled(engine: Engine, year: int, month: int, district_code: str | None = None) -> pd.DataFrame:
    """Reported district figures that differ from the person-level aggregates by more than 2 % (and 3 persons)."""
    rep, a = s.reported_monthly, s.agg_monthly
    stmt = (
        select(
            rep.c.area_code,
            rep.c.year,
            rep.c.month,
            rep.c.indicator_code,
            rep.c.value.label("reported"),
            a.c.value.label("records"),
            a.c.persons,
        )
        .join(
            a,
            and_(
                a.c.area_code == rep.c.area_code,
                a.c.year == rep.c.year,
                a.c.month == rep.c.month,
                a.c.indicator_code == rep.c.indicator_code,
                a.c.group_code == "all",
            ),
        )
        .where(rep.c.year == year, rep.c.month <= month, func.abs(rep.c.value - a.c.value) > 3.0)
    )
    if district_code is not None:
        stmt = stmt.where(rep.c.district_code == district_code)
    with engine.connect() as conn:
        out = frame(conn, stmt)
    rel = (out["reported"] - out["records"]).abs() / out["records"].abs().clip(lower=1)
    return with_points(out[rel > RECONCILE_TOLERANCE].reset_index(drop=True))


@sensitive(values=("value",), groups=("year", "month"))
def monthly_series(
    engine: Engine, indicator_code: str = "urban_new_employment", district_code: str | None = None
) -> pd.DataFrame:
    """Monthly district values of one indicator over all years: ``area_code, year, month, value, persons``."""
    a = s.agg_monthly
    stmt = select(a.c.area_code, a.c.year, a.c.month, a.c.value, a.c.persons).where(
        a.c.level == "district", a.c.indicator_code == indicator_code, a.c.group_code == "all"
    )
    if district_code is not None:
        stmt = stmt.where(a.c.district_code == district_code)
    with engine.connect() as conn:
        return with_points(frame(conn, stmt), indicator_code)


def outliers(
    series: pd.DataFrame, shock_years: tuple[int, ...] = (2020,), z: float = OUTLIER_Z
) -> pd.DataFrame:
    """Months far from the same calendar month of the district's other years (robust z: median and MAD).

    Pure computation on :func:`monthly_series` output; returns the flagged rows with ``expected`` and ``z``.
    """
    rows = []
    calm = series[~series["year"].isin(shock_years) & series["value"].notna()]  # suppressed months: unknown
    for (area, month), grp in calm.groupby(["area_code", "month"]):
        if len(grp) < 4:
            continue
        values = grp["value"].to_numpy(float)
        for i, row in enumerate(grp.itertuples()):
            others = np.delete(values, i)
            med = np.median(others)
            # Counts are at least Poisson-noisy: never trust a spread narrower than sqrt(median).
            spread = max(1.4826 * float(np.median(np.abs(others - med))), float(np.sqrt(max(med, 1.0))))
            score = (row.value - med) / spread
            if abs(score) > z and abs(row.value - med) > 0.4 * max(med, 1.0):
                rows.append(
                    {
                        "area_code": area,
                        "year": row.year,
                        "month": month,
                        "value": row.value,
                        "expected": med,
                        "z": score,
                    }
                )
    return pd.DataFrame(rows, columns=["area_code", "year", "month", "value", "expected", "z"])


@sensitive(
    values=("value", "expected", "z"), counts={"value": "persons", "z": "persons", "expected": "expected"}
)
def outlier_months(
    engine: Engine,
    indicator_code: str = "urban_new_employment",
    shock_years: tuple[int, ...] = (2020,),
    district_code: str | None = None,
) -> pd.DataFrame:
    """:func:`outliers` of :func:`monthly_series`, found on the full figures: the flag is shown even where the
    month's count is too small to show (then ``value`` is hidden). Columns ``area_code, year, month, value,
    expected, z, persons``."""
    series = monthly_series(engine, indicator_code, district_code)
    found = outliers(series, shock_years)
    persons = series.set_index(["area_code", "year", "month"])["persons"]
    keys = pd.MultiIndex.from_frame(found[["area_code", "year", "month"]])
    return with_points(found.assign(persons=persons.reindex(keys).to_numpy(float)), indicator_code)
