"""The panel the fair-comparison regression needs: per district and year, completion at the same month and the
conditions a district does not control. Each piece is aggregated in SQL; the pieces are joined here."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, func, select

from queries import frame, sensitive
from queries.disclosure import month_points
from store import schema as s


@sensitive(values=("ytd", "full", "completion", "completion_full", "last_year_completion"), groups=("year",))
def adjustment_panel(
    engine: Engine, month: int, indicator_code: str = "urban_new_employment"
) -> pd.DataFrame:
    """One row per district and year: ``area_code, zone, year, completion`` (cumulative to ``month`` ÷ target),
    ``completion_full`` (whole year), ``log_labour_force, unemployment_rate_pct`` (at ``month``),
    ``tertiary_share_pct, last_year_completion``, ``persons`` (behind the year-to-date figure)."""
    a, tg, ay, ar = s.agg_monthly, s.target, s.area_year, s.area
    ytd = (
        select(
            a.c.area_code,
            a.c.year,
            func.sum(a.c.value).filter(a.c.month <= month).label("ytd"),
            func.sum(a.c.value).label("full"),
            func.count(a.c.month.distinct()).label("months"),
            func.sum(a.c.persons).filter(a.c.month <= month).label("persons"),
        )
        .where(a.c.level == "district", a.c.indicator_code == indicator_code, a.c.group_code == "all")
        .group_by(a.c.area_code, a.c.year)
        .subquery()
    )
    stmt = (
        select(
            ytd.c.area_code,
            ar.c.zone,
            ytd.c.year,
            ytd.c.ytd,
            ytd.c.full,
            ytd.c.months,
            ytd.c.persons,
            tg.c.target_value.label("target"),
            ay.c.labour_force,
            ay.c.tertiary_share_pct,
        )
        .join(
            tg,
            and_(
                tg.c.area_code == ytd.c.area_code,
                tg.c.year == ytd.c.year,
                tg.c.indicator_code == indicator_code,
            ),
        )
        .join(ay, and_(ay.c.area_code == ytd.c.area_code, ay.c.year == ytd.c.year))
        .join(ar, ar.c.area_code == ytd.c.area_code)
    )
    rate = select(a.c.area_code, a.c.year, a.c.value.label("unemployment_rate_pct")).where(
        a.c.level == "district", a.c.indicator_code == "registered_unemployment_rate", a.c.month == month
    )
    with engine.connect() as conn:
        panel = frame(conn, stmt)
        rates = frame(conn, rate)
    if panel.empty:
        return panel
    panel = panel.merge(rates, on=["area_code", "year"], how="left")
    panel["completion"] = panel["ytd"].astype(float) / panel["target"].astype(float)
    full_year = panel["months"] == 12
    panel["completion_full"] = np.where(
        full_year, panel["full"].astype(float) / panel["target"].astype(float), np.nan
    )
    last = panel[["area_code", "year", "completion_full"]].assign(year=lambda f: f["year"] + 1)
    panel = panel.merge(
        last.rename(columns={"completion_full": "last_year_completion"}), on=["area_code", "year"], how="left"
    )
    panel["log_labour_force"] = np.log(panel["labour_force"].astype(float))
    # the plan's points (privacy.linked): the year to ``month``, the whole year, and last year
    panel["_points"] = [
        (month_points(indicator_code, "all", a, y, 1, month) or ())
        + (month_points(indicator_code, "all", a, y, 1, 12) or ())
        + (month_points(indicator_code, "all", a, y - 1, 1, 12) or ())
        for a, y in zip(panel["area_code"], panel["year"].astype(int), strict=True)
    ]
    # the rate rests on the registered unemployed (its labour force is public): hidden where their point is
    panel["_points_unemployment_rate_pct"] = [
        month_points("registered_unemployment_rate", "all", a, y, 1, month)
        for a, y in zip(panel["area_code"], panel["year"].astype(int), strict=True)
    ]
    return panel.sort_values(["year", "area_code"]).reset_index(drop=True)
