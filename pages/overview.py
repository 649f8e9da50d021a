"""Overview (landing page): how are we doing, on one screen, for the latest month with data.

Tiles: the city's flow targets against time-elapsed progress, the registered unemployment rate against its control
line, the districts behind on urban new employment, fund spending progress, 15-minute service-circle coverage and
the stored unemployment forecast against the control line. Each tile shows its trend and links to its page with
the same filters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

import figures.chance
import figures.coverage
import figures.forecasts
import figures.targets
from figures.coverage import month_end
from figures.rules import rules
from figures.targets import pace_summary
from i18n import fmt_date, fmt_int, fmt_month, fmt_pct, fmt_yuan
from queries import meta, overview
from store.config import settings
from ui import charts_overview as charts
from ui.briefing import briefing_box, chance_text
from ui.common import Ctx, figure, query, run_page

FLOW_TILES = ("urban_new_employment", "reemployment", "difficulty_employment", "skills_training")
RATE = "registered_unemployment_rate"
CITY = overview.CITY
TARGETS = "pages/targets.py"


def tile_link(box: Any, page: str, label: str, params: dict[str, Any] | None = None) -> None:
    box.page_link(page, label=label, icon=":material/arrow_forward:", query_params=params or None)


def spark(box: Any, series: pd.DataFrame, title: str, control_line: float | None = None) -> None:
    if len(series) >= 2:
        box.altair_chart(charts.sparkline(series, title, control_line), width="stretch")


def flow_tile(ctx: Ctx, box: Any, row: pd.Series | None, name: str, series: pd.DataFrame, code: str) -> None:
    year, month = ctx.status.latest_year, ctx.status.latest_month
    if row is None:
        box.metric(name, "—")
        box.caption(ctx.t("overview_no_target"))
    elif pd.isna(row["actual"]):  # small-count suppression (docs/privacy.md)
        box.metric(name, "—")
        box.caption(ctx.t("privacy_suppressed_tile", k=settings().min_cell_persons))
    else:
        box.metric(
            name,
            fmt_int(row["actual"], ctx.lang),
            delta=ctx.t(
                "overview_vs_pace", pp=f"{(row['completion_rate'] - row['time_elapsed_progress']) * 100:+.1f}"
            ),
            help=ctx.t("overview_flow_help"),
        )
        box.caption(
            ctx.t(
                "overview_flow_caption",
                completion=fmt_pct(row["completion_rate"]),
                pace=fmt_pct(row["time_elapsed_progress"]),
                target=fmt_int(row["target"], ctx.lang),
            )
        )
        chance = chance_text(ctx, row.get("chance"), float(row["target"]))
        if chance:
            box.caption(chance)
    spark(box, series, ctx.t("overview_monthly"))
    tile_link(box, TARGETS, ctx.t("overview_open_targets"), {"year": year, "month": month, "indicator": code})


def rate_tile(ctx: Ctx, box: Any, row: pd.Series | None, name: str, series: pd.DataFrame) -> None:
    year, month = ctx.status.latest_year, ctx.status.latest_month
    line = None
    if row is None:
        box.metric(name, "—")
        box.caption(ctx.t("overview_no_target"))
    else:
        line = float(row["target"])
        margin = float(row["margin_pp"])
        box.metric(
            name,
            f"{row['actual']:.2f}%",
            delta=ctx.t("overview_vs_line", pp=f"{row['actual'] - line:+.2f}"),
            delta_color="inverse",
            help=ctx.t("overview_rate_help"),
        )
        key = "overview_under_line" if margin >= 0 else "overview_over_line"
        box.caption(ctx.t(key, pp=f"{abs(margin):.2f}", line=f"{line:.2f}%"))
    spark(box, series, ctx.t("overview_rate_monthly"), line)
    tile_link(box, TARGETS, ctx.t("overview_open_targets"), {"year": year, "month": month, "indicator": RATE})


def behind_tile(ctx: Ctx, box: Any, districts: pd.DataFrame) -> None:
    """Districts behind the time-elapsed progress on urban new employment: slightly behind (yellow) and
    behind (red) together, as the Targets page and the meeting pack count them (figures.targets)."""
    year, month = ctx.status.latest_year, ctx.status.latest_month
    code = "urban_new_employment"
    counts = pace_summary(districts, code)
    new = districts[districts["indicator_code"] == code]
    box.metric(
        ctx.t("overview_behind"), f"{counts.behind} / {counts.total}", help=ctx.t("overview_behind_help")
    )
    box.caption(ctx.t("overview_behind_split", red=counts.red, yellow=counts.yellow, green=counts.green))
    behind = new[new["status"] == "red"].sort_values("rank")
    if counts.behind == 0:
        box.caption(ctx.t("overview_none_behind"))
    elif not behind.empty:
        names = behind["name_zh" if ctx.lang == "zh" else "name_en"].tolist()
        gaps = [fmt_pct(c) for c in behind["completion_rate"]]
        sep = "、" if ctx.lang == "zh" else ", "
        box.markdown(sep.join(f":red[{n}] ({g})" for n, g in zip(names, gaps, strict=True)))
    if not new.empty:
        box.caption(ctx.t("overview_pace_is", pace=fmt_pct(new["time_elapsed_progress"].iloc[0])))
    tile_link(box, TARGETS, ctx.t("overview_open_targets"), {"year": year, "month": month, "indicator": code})


def rank_tile(ctx: Ctx, box: Any, own: pd.DataFrame, n_districts: int) -> None:
    """A planner's place among all districts on urban new employment: ranks computed over every district in
    SQL, shown without the other districts' names or figures."""
    year, month = ctx.status.latest_year, ctx.status.latest_month
    new = own[own["indicator_code"] == "urban_new_employment"]
    if new.empty or pd.isna(new["rank"].iloc[0]):  # suppressed: no rank either (docs/privacy.md)
        box.metric(ctx.t("privacy_rank_title"), "—")
        return
    r = new.iloc[0]
    box.metric(
        ctx.t("privacy_rank_title"),
        f"{int(r['rank'])} / {n_districts}",
        help=ctx.t("privacy_rank_help"),
    )
    box.caption(
        ctx.t(
            "privacy_rank_caption",
            peer=int(r["peer_rank"]),
            zone=ctx.t(f"zone_{r['zone']}") if isinstance(r["zone"], str) else "—",
            status=ctx.t("status_" + str(r["status"])),
        )
    )
    tile_link(
        box,
        TARGETS,
        ctx.t("overview_open_targets"),
        {"year": year, "month": month, "indicator": "urban_new_employment"},
    )


def funds_tile(ctx: Ctx, box: Any) -> None:
    year, month = ctx.status.latest_year, ctx.status.latest_month
    assert year is not None and month is not None
    now = query(overview.spending_progress, year, month).iloc[0]
    before = query(overview.spending_progress, year - 1, month).iloc[0]
    delta = None
    if pd.notna(before["progress"]) and pd.notna(now["progress"]):
        delta = ctx.t(
            "overview_vs_last_year",
            pp=f"{(now['progress'] - before['progress']) * 100:+.1f}",
            month=fmt_month(year - 1, month, ctx.lang),
        )
    box.metric(
        ctx.t("overview_spending"),
        fmt_pct(now["progress"]),
        delta=delta,
        help=ctx.t("overview_spending_help"),
    )
    box.caption(
        ctx.t(
            "overview_spending_caption",
            spent=fmt_yuan(now["spent_yuan"], ctx.lang),
            allocated=fmt_yuan(now["allocated_yuan"], ctx.lang),
            elapsed=fmt_pct(now["time_elapsed"]),
        )
    )
    tile_link(box, "pages/funds.py", ctx.t("overview_open_funds"), {"year": year})


def coverage_tile(ctx: Ctx, box: Any, d_names: dict[str, str]) -> None:
    year, month = ctx.status.latest_year, ctx.status.latest_month
    assert year is not None and month is not None
    rule = rules().coverage
    now = figure(figures.coverage.official, rule, month_end(year, month))
    before = figure(figures.coverage.official, rule, month_end(year - 1, month))
    delta = None
    if now["share"] == now["share"] and before["share"] == before["share"]:
        delta = ctx.t(
            "overview_vs_last_year",
            pp=f"{(now['share'] - before['share']) * 100:+.1f}",
            month=fmt_month(year - 1, month, ctx.lang),
        )
    box.metric(
        ctx.t("overview_coverage"), fmt_pct(now["share"]), delta=delta, help=ctx.t("overview_coverage_help")
    )
    box.caption(
        ctx.t(
            "overview_coverage_caption",
            points=fmt_int(now["points"], ctx.lang),
            outside=fmt_int(now["people"] - now["covered_people"], ctx.lang),
        )
    )
    tile_link(box, "pages/service_circle.py", ctx.t("overview_open_circle"))
    by = now["by_district"].set_index("area_code")["covered_share"]
    shares = {k: v for k, v in by.items() if v == v and k in d_names}
    if shares and ctx.user.city_wide:
        worst = min(shares, key=lambda k: shares[k])
        tile_link(
            box,
            "pages/service_circle.py",
            ctx.t("overview_lowest_district", district=d_names[worst], share=fmt_pct(shares[worst])),
            {"district": worst},
        )


def forecast_tile(ctx: Ctx, box: Any, line: float | None, rate_series: pd.DataFrame) -> None:
    year = ctx.status.latest_year
    area = CITY if ctx.user.city_wide else str(ctx.user.district_code)
    fc = figures.forecasts.latest(query, area, RATE)
    params = {"area": area, "indicator": RATE}
    if fc.empty:
        box.metric(ctx.t("overview_forecast"), "—")
        box.info(ctx.t("overview_no_forecast"), icon=":material/hourglass_empty:")
        tile_link(box, "pages/forecasts.py", ctx.t("overview_open_forecasts"), params)
        return
    year_end = fc[(fc["year"] == year) & (fc["month"] == 12)]
    point = (year_end if not year_end.empty else fc.tail(1)).iloc[0]
    when = fmt_month(int(point["year"]), int(point["month"]), ctx.lang)
    box.metric(
        ctx.t("overview_forecast_at", month=when),
        f"{point['mean']:.2f}%",
        delta=ctx.t("overview_vs_line", pp=f"{point['mean'] - line:+.2f}") if line is not None else None,
        delta_color="inverse",
        help=ctx.t("overview_forecast_help"),
    )
    cut = point["cut_off"]
    cut_date = cut if isinstance(cut, date) else date.fromisoformat(str(cut)[:10])
    box.caption(
        ctx.t(
            "overview_forecast_caption",
            lo=f"{point['lo_80']:.2f}",
            hi=f"{point['hi_80']:.2f}",
            cut_off=fmt_date(cut_date, ctx.lang),
        )
    )
    if line is not None:
        margin = line - float(point["mean"])
        key = "overview_under_line" if margin >= 0 else "overview_over_line"
        box.caption(ctx.t(key, pp=f"{abs(margin):.2f}", line=f"{line:.2f}%"))
    labels = {"mean": ctx.t("overview_fc_mean"), "lo": ctx.t("overview_fc_lo"), "hi": ctx.t("overview_fc_hi")}
    box.altair_chart(charts.forecast_spark(rate_series.tail(12), fc, line, labels), width="stretch")
    tile_link(box, "pages/forecasts.py", ctx.t("overview_open_forecasts"), params)


def body(ctx: Ctx) -> None:
    year, month = ctx.status.latest_year, ctx.status.latest_month
    assert year is not None and month is not None
    bureau_rules = rules()
    st.caption(ctx.t("overview_as_of", month=fmt_month(year, month, ctx.lang)))
    briefing_box(ctx, year, month)
    districts = figures.targets.attainment(query, bureau_rules, year, month)  # type: ignore[arg-type]
    if ctx.user.city_wide:
        city = figures.targets.attainment(query, bureau_rules, year, month, level="city")  # type: ignore[arg-type]
    else:  # a planner's overview is their own district's (the runner filters every query by it)
        city = districts
        st.info(ctx.t("privacy_own_overview"), icon=":material/lock_person:")
    city = figures.chance.with_chance(query, city, year, month)  # type: ignore[arg-type]
    inds = query(meta.indicators, "target")
    name_col = "name_zh" if ctx.lang == "zh" else "name_en"
    names = dict(zip(inds["code"], inds[name_col], strict=True))
    d_table = query(meta.areas, "district")
    d_names = dict(zip(d_table["area_code"], d_table[name_col], strict=True))
    series = query(overview.city_series, (*FLOW_TILES, RATE), year, month, 24)
    by_code = (
        {code: row for code, row in city.set_index("indicator_code").iterrows()} if not city.empty else {}
    )

    def of(code: str) -> pd.DataFrame:
        return series[series["indicator_code"] == code]

    tiles = st.columns(3) + st.columns(3) + st.columns(3)
    boxes = [col.container(border=True) for col in tiles]
    for box, code in zip(boxes[:4], FLOW_TILES, strict=True):
        flow_tile(ctx, box, by_code.get(code), names.get(code, code), of(code), code)
    rate_row = by_code.get(RATE)
    rate_tile(ctx, boxes[4], rate_row, names.get(RATE, RATE), of(RATE))
    if ctx.user.city_wide:
        behind_tile(ctx, boxes[5], districts)
    else:
        rank_tile(ctx, boxes[5], districts, len(d_table))
    funds_tile(ctx, boxes[6])
    coverage_tile(ctx, boxes[7], d_names)
    forecast_tile(ctx, boxes[8], float(rate_row["target"]) if rate_row is not None else None, of(RATE))


run_page(body, "page_overview", "overview_caption")
