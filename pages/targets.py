"""Targets: which districts are on pace, and why not (就业目标责任制)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import figures.chance
import figures.targets
from adjustment import DRIVERS, expected_attainment, peer_groups
from figures.rules import rules
from figures.targets import pace_summary, with_margin
from i18n import fmt_int, fmt_month, fmt_pct, fmt_yuan, t
from queries import checks, meta, targets
from queries.adjustment import adjustment_panel
from store.config import settings
from ui import charts, targets_cards
from ui.briefing import record_expander
from ui.common import Ctx, district_choices, download_csv, query, run_page, url_widget
from ui.layout import full_height

STATUS_MD = {"green": ":green[●]", "yellow": ":orange[●]", "red": ":red[●]"}  # no emoji: fonts vary
# a row whose figure is suppressed has no status or rank (they would bound the hidden figure: docs/privacy.md)
STATUSES = ("green", "yellow", "red", "withheld")


def status_labels(ctx: Ctx) -> dict[str, str]:
    """Status code → "● name" in the page's language."""
    return {s: f"● {ctx.t('status_' + s)}" for s in STATUSES}


def status_names(ctx: Ctx) -> dict[str, str]:
    """Status code → its name in the page's language."""
    return {s: ctx.t("status_" + s) for s in STATUSES}


def coloured(frame: pd.DataFrame, ctx: Ctx):  # type: ignore[no-untyped-def]
    """The table with its status column coloured red / amber / green."""
    colour = {text: charts.STATUS_HEX[s] for s, text in status_labels(ctx).items()}
    column = ctx.t("col_status")
    return frame.style.map(lambda v: f"color: {colour.get(v, 'inherit')}; font-weight: 600", subset=[column])


def select_district(codes_key: str, selection_key: str) -> None:
    """Selection callback for the ranking table and the map: make the picked district the drill-down."""
    state = st.session_state.get(selection_key)
    codes = st.session_state.get(codes_key, [])
    if state is None:
        return
    rows = getattr(state.selection, "rows", None)
    if rows:
        st.session_state["district"] = codes[rows[0]]
        return
    objects = getattr(state.selection, "objects", {}) or {}
    picked = objects.get("areas") or []
    if picked:
        st.session_state["district"] = picked[0].get("area_code", "")


def fmt_value(value: float, unit: str, lang: str) -> str:
    """A figure in its unit: persons, yuan, a rate in percent, or done / not done; — when suppressed."""
    if value is None or value != value:
        return "—"
    if unit == "yuan":
        return fmt_yuan(value, lang)
    if unit == "pct":
        return f"{value:.2f}%"
    if unit == "yes_no":
        return t("done" if value >= 1 else "not_done", lang)
    return fmt_int(value, lang)


def filters(ctx: Ctx) -> dict:
    """Year, month, indicator, district and pace, all in the URL so a link reproduces the view."""
    years = query(meta.years_available)
    inds = query(meta.indicators, "target")
    districts = query(meta.areas, "district")
    name_col = "name_zh" if ctx.lang == "zh" else "name_en"
    ind_names = dict(zip(inds["code"], inds[name_col], strict=True))
    d_names = dict(zip(districts["area_code"], districts[name_col], strict=True))
    cols = st.columns([1, 1, 2, 2, 2])
    year = url_widget(cols[0].selectbox, ctx.t("year"), years, "year")
    months = query(meta.months_available, year) or [12]
    month = url_widget(cols[1].selectbox, ctx.t("month"), months, "month", default=months[-1])
    indicator = url_widget(
        cols[2].selectbox, ctx.t("indicator"), list(ind_names), "indicator", format_func=ind_names.get
    )
    district = url_widget(
        cols[3].selectbox,
        ctx.t("district_drill"),
        district_choices(ctx, list(d_names)),
        "district",
        format_func=lambda c: d_names.get(c, ctx.t("all_districts")),
    )
    pace = url_widget(
        cols[4].segmented_control,
        ctx.t("pace_line"),
        ["linear", "seasonal"],
        "pace",
        format_func=lambda p: ctx.t(f"pace_{p}"),
    )
    bureau_rules = rules()
    with st.expander(ctx.t("status_rules")):
        margin = st.slider(
            ctx.t("yellow_margin"), 0.0, 15.0, bureau_rules.yellow_margin_pp, 0.5, key="tg_margin"
        )
        st.caption(ctx.t("status_rules_text", margin=margin, cushion=bureau_rules.control_cushion_pp))
    return dict(
        year=year,
        month=month,
        indicator=indicator,
        district=district,
        pace=pace,
        margin=margin,
        rules=with_margin(bureau_rules, margin),
        ind_names=ind_names,
        d_names=d_names,
        name_col=name_col,
    )


def attain(f: dict, **kwargs: object) -> pd.DataFrame:
    """Attainment with status by the bureau's rules (the planner's margin applied), at the filters' month."""
    return figures.targets.attainment(query, f["rules"], f["year"], f["month"], pace=f["pace"], **kwargs)  # type: ignore[arg-type]


def headline(ctx: Ctx, f: dict, table: pd.DataFrame) -> None:
    row = table[table["indicator_code"] == f["indicator"]]
    counts = pace_summary(table, f["indicator"])
    c = st.columns(4)
    for col, status in zip(c[:3], ("green", "yellow", "red"), strict=True):
        col.metric(f"{STATUS_MD[status]} {ctx.t('status_' + status)}", getattr(counts, status))
    if not row.empty and row["direction"].iloc[0] not in ("control", "yes_no"):
        total_t, total_a = row["target"].sum(), row["actual"].sum(min_count=1)
        if row["actual"].isna().any() and ctx.user.city_wide:
            # a suppressed district: the city's own figure, not a sum with a hole in it
            city = attain(f, level="city")
            own = city[city["indicator_code"] == f["indicator"]]
            total_t, total_a = own["target"].sum(), own["actual"].sum(min_count=1)
        if total_a != total_a or not total_t:
            return
        c[3].metric(
            ctx.t("city_completion"),
            fmt_pct(total_a / total_t),
            delta=ctx.t(
                "delta_pp", pp=f"{(total_a / total_t - row['time_elapsed_progress'].iloc[0]) * 100:+.1f}"
            ),
            help=ctx.t("city_completion_help"),
        )


def ranking_table(ctx: Ctx, f: dict, table: pd.DataFrame) -> pd.DataFrame:
    row = table[table["indicator_code"] == f["indicator"]].sort_values("rank").reset_index(drop=True)
    unit = row["unit"].iloc[0] if not row.empty else "persons"
    arrow = row["rank_change"].map(
        lambda v: "—" if pd.isna(v) or v == 0 else (f"▲{int(v)}" if v > 0 else f"▼{-int(v)}")
    )
    shown = pd.DataFrame(
        {
            ctx.t("col_rank"): row["rank"].astype("Int64"),  # a suppressed row has none: "—"
            ctx.t("col_area"): row[f["name_col"]],
            ctx.t("col_zone"): row["zone"].map(lambda z: ctx.t(f"zone_{z}")),
            ctx.t("col_target"): [fmt_value(v, unit, ctx.lang) for v in row["target"]],
            ctx.t("col_actual"): [fmt_value(v, unit, ctx.lang) for v in row["actual"]],
            ctx.t("col_completion"): row["completion_rate"],
            ctx.t("col_progress"): row["time_elapsed_progress"],
            ctx.t("col_gap"): row["pace_gap"],
            ctx.t("col_margin"): row["margin_pp"],
            ctx.t("col_status"): row["status"].fillna("withheld").map(status_labels(ctx)),
            ctx.t("col_chance"): row["chance"].map(figures.chance.percent),
            ctx.t("col_peer_rank"): row["peer_rank"].astype("Int64"),
            ctx.t("col_rank_change"): arrow,
        }
    )
    if row["direction"].isin(["control", "yes_no"]).all():
        shown = shown.drop(columns=[ctx.t("col_completion"), ctx.t("col_progress"), ctx.t("col_gap")])
    if not row["direction"].eq("control").any():
        shown = shown.drop(columns=[ctx.t("col_margin")])
    if row["chance"].isna().all():  # no stored forecast of this indicator, or not a flow target
        shown = shown.drop(columns=[ctx.t("col_chance")])
    st.session_state["tg_codes"] = list(row["area_code"])
    st.dataframe(
        coloured(shown, ctx),
        hide_index=True,
        width="stretch",
        key="tg_table",
        height=full_height(len(shown)),  # all 13 districts, no inner scroll box (also when printed)
        on_select=lambda: select_district("tg_codes", "tg_table"),
        selection_mode="single-row",
        column_config={
            ctx.t("col_completion"): st.column_config.ProgressColumn(
                format="percent", min_value=0, max_value=1.2
            ),
            ctx.t("col_progress"): st.column_config.NumberColumn(format="percent"),
            ctx.t("col_chance"): st.column_config.TextColumn(help=ctx.t("col_chance_help")),
            ctx.t("col_gap"): st.column_config.NumberColumn(format="%.0f", help=ctx.t("col_gap_help")),
            ctx.t("col_margin"): st.column_config.NumberColumn(
                format=ctx.t("format_pp"), help=ctx.t("col_margin_help")
            ),
        },
    )
    st.caption(ctx.t("select_row_hint") + " " + ctx.t("suppressed_note", k=settings().min_cell_persons))
    return row


def heat_and_map(ctx: Ctx, f: dict, table: pd.DataFrame) -> None:
    left, right = st.columns([3, 2])
    heat = table.assign(
        area=table[f["name_col"]],
        indicator=table["indicator_code"].map(f["ind_names"]),
        label=[
            fmt_pct(c, 0)
            if d not in ("control", "yes_no")
            else ((f"{m:+.2f}" if m == m else "—") if d == "control" else fmt_value(a, "yes_no", ctx.lang))
            for c, d, m, a in zip(
                table["completion_rate"], table["direction"], table["margin_pp"], table["actual"], strict=True
            )
        ],
        status_text=table["status"].map(lambda s: ctx.t("status_" + (s or "withheld"))),
    )
    left.subheader(ctx.t("heat_table"))
    left.altair_chart(
        charts.heat_table(heat, {"status": ctx.t("col_status"), **status_names(ctx)}), width="stretch"
    )
    right.subheader(ctx.t("status_map"))
    row = table[table["indicator_code"] == f["indicator"]]
    status = row[["area_code", "status"]].assign(
        name=row[f["name_col"]],
        completion=[fmt_pct(c) for c in row["completion_rate"]],
        status_text=row["status"].map(lambda s: ctx.t("status_" + (s or "withheld"))),
    )
    bounds = query(meta.boundaries, "district")
    if not ctx.user.city_wide:  # a planner's map holds their own district only, not its neighbours' names
        bounds = bounds[bounds["area_code"] == ctx.user.district_code]
    deck = charts.status_map(
        bounds,
        status,
        "<b>{name}</b><br/>{status_text} · {completion}",
        tile_url=settings().tile_url,
    )
    right.pydeck_chart(
        deck,
        on_select=lambda: select_district("tg_codes", "tg_map"),
        selection_mode="single-object",
        key="tg_map",
        height=420,
    )
    right.markdown(charts.status_legend(status_names(ctx)))
    right.caption(ctx.t("map_hint"))


def drill_down(ctx: Ctx, f: dict) -> None:
    code = f["district"]
    st.header(ctx.t("drill_title", district=f["d_names"][code]))
    streets = attain(f, level="street", parent_code=code)
    st.subheader(ctx.t("streets"))
    srow = streets[streets["indicator_code"] == f["indicator"]].sort_values("rank")
    unit = srow["unit"].iloc[0] if not srow.empty else "persons"
    street_table = pd.DataFrame(
        {
            ctx.t("col_rank"): srow["rank"].astype("Int64"),
            ctx.t("col_area"): srow[f["name_col"]],
            ctx.t("col_target"): [fmt_value(v, unit, ctx.lang) for v in srow["target"]],
            ctx.t("col_actual"): [fmt_value(v, unit, ctx.lang) for v in srow["actual"]],
            ctx.t("col_completion"): srow["completion_rate"],
            ctx.t("col_progress"): srow["time_elapsed_progress"],
            ctx.t("col_gap"): srow["pace_gap"],
            ctx.t("col_status"): srow["status"].fillna("withheld").map(status_labels(ctx)),
        }
    )
    st.dataframe(
        coloured(street_table, ctx),
        hide_index=True,
        width="stretch",
        key="tg_streets",
        column_config={
            ctx.t("col_completion"): st.column_config.ProgressColumn(
                format="percent", min_value=0, max_value=1.2
            ),
            ctx.t("col_progress"): st.column_config.NumberColumn(format="percent"),
            ctx.t("col_gap"): st.column_config.NumberColumn(format="%.0f"),
        },
    )
    download_csv(srow, f"streets-{code}-{f['year']}-{f['month']:02d}", ctx.lang, key="tg_dl_streets")
    left, right = st.columns([3, 2])
    curve = query(targets.monthly_curve, f["year"], code, f["indicator"])
    kind = query(meta.indicators, "target").set_index("code").loc[f["indicator"], "kind"]
    left.subheader(ctx.t("monthly_curve"))
    if kind == "flow" and not curve.empty and curve["target"].notna().any():
        profile = query(targets.seasonal_profile, f["year"])
        pace = targets.pace_lines(profile, f["indicator"], float(curve["target"].dropna().iloc[0]))
        left.altair_chart(
            charts.cumulative_chart(
                curve,
                pace,
                {
                    "actual": ctx.t("cumulative_actual"),
                    "linear": ctx.t("pace_linear"),
                    "seasonal": ctx.t("pace_seasonal"),
                    "month": ctx.t("month"),
                    "value": f["ind_names"][f["indicator"]],
                },
            ),
            width="stretch",
        )
    else:
        left.info(ctx.t("curve_flows_only"))
    right.subheader(ctx.t("by_group"))
    groups = query(targets.group_breakdown, f["year"], f["month"], code)
    if groups.empty:
        right.info(ctx.t("no_rows"))
    else:
        groups = groups.assign(group=groups["group_code"].map(lambda g: ctx.t("group_" + g)))
        right.altair_chart(
            charts.bar_chart(groups, "value", "group", {"value": ctx.t("ytd_persons")}), width="stretch"
        )


def fair_comparison(ctx: Ctx, f: dict) -> None:
    st.header(ctx.t("fair_title"))
    st.caption(ctx.t("fair_caption"))
    panel = query(adjustment_panel, f["month"])
    result = expected_attainment(panel, f["year"])
    if result.empty:
        st.info(ctx.t("fair_not_enough"))
        return
    now = panel[panel["year"] == f["year"]]
    groups = peer_groups(now)
    names = now.set_index("area_code")
    result = result.assign(
        area=result["area_code"].map(f["d_names"]),
        zone=result["area_code"].map(names["zone"]).map(lambda z: ctx.t(f"zone_{z}")),
        peer_group=result["area_code"].map(groups),
    )
    left, right = st.columns([2, 3])
    left.altair_chart(
        charts.actual_vs_expected(
            result,
            {
                "expected": ctx.t("expected_completion"),
                "actual": ctx.t("actual_completion"),
                "zone": ctx.t("col_zone"),
            },
        ),
        width="stretch",
    )
    table = pd.DataFrame(
        {
            ctx.t("col_area"): result["area"],
            ctx.t("actual_completion"): result["actual"],
            ctx.t("expected_completion"): result["expected"],
            ctx.t("difference_pp"): result["difference"] * 100,
            ctx.t("peer_group"): result["peer_group"],
            **{ctx.t("driver_" + d): result[f"effect_{d}"] * 100 for d in DRIVERS},
        }
    ).sort_values(ctx.t("difference_pp"), ascending=False)
    right.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=full_height(len(table)),
        column_config={
            ctx.t("actual_completion"): st.column_config.NumberColumn(format="percent"),
            ctx.t("expected_completion"): st.column_config.NumberColumn(format="percent"),
            **{
                c: st.column_config.NumberColumn(format="%+.1f")
                for c in table.columns[3:]
                if c != ctx.t("peer_group")
            },
        },
    )
    with right.expander(ctx.t("method_notes"), icon=":material/functions:"):
        st.caption(ctx.t("fair_method", r2=f"{result['r2'].iloc[0]:.2f}", n=int(result["n_obs"].iloc[0])))


def data_checks(ctx: Ctx, f: dict) -> None:
    year, month = f["year"], f["month"]
    missing = query(checks.missing_reports, year, month)
    late = query(checks.late_reports, year, month)
    mismatched = query(checks.unreconciled, year, month)
    flagged = query(checks.outlier_months)
    flagged = flagged[(flagged["year"] == year) | ((flagged["year"] == year - 1) & (flagged["month"] == 12))]
    items = []
    for r in missing.itertuples():
        items.append(
            ("missing", r.area_code, ctx.t("check_missing", month=fmt_month(r.year, r.month, ctx.lang)))
        )
    for r in late.itertuples():
        items.append(
            (
                "late",
                r.area_code,
                ctx.t("check_late", month=fmt_month(r.year, r.month, ctx.lang), days=int(r.days_late)),
            )
        )
    for r in mismatched.itertuples():
        items.append(
            (
                "reconcile",
                r.area_code,
                ctx.t(
                    "check_reconcile",
                    month=fmt_month(r.year, r.month, ctx.lang),
                    indicator=f["ind_names"].get(r.indicator_code, r.indicator_code),
                    reported=fmt_int(r.reported, ctx.lang),
                    records=fmt_int(r.records, ctx.lang),
                ),
            )
        )
    for r in flagged.itertuples():
        items.append(
            (
                "outlier",
                r.area_code,
                ctx.t(
                    "check_outlier",
                    month=fmt_month(int(r.year), int(r.month), ctx.lang),
                    value=fmt_int(r.value, ctx.lang),
                    expected=fmt_int(r.expected, ctx.lang),
                ),
            )
        )
    with st.expander(ctx.t("checks_title", n=len(items)), expanded=bool(items)):
        if not items:
            st.success(ctx.t("checks_none"))
        for kind, area, text in items:
            st.markdown(f"- **{f['d_names'].get(area, area)}** · {ctx.t('check_kind_' + kind)}: {text}")


def city_wide_only(ctx: Ctx, section, f: dict) -> None:  # type: ignore[no-untyped-def]
    """Run a section that compares districts; a district planner sees a short note instead."""
    try:
        section(ctx, f)
    except PermissionError:
        st.info(ctx.t("not_for_role"), icon=":material/lock:")


def body(ctx: Ctx) -> None:
    f = filters(ctx)
    table = attain(f)
    if table.empty:
        st.warning(ctx.t("no_targets", year=f["year"]))
        return
    table = figures.chance.with_chance(query, table, f["year"], f["month"])  # type: ignore[arg-type]
    st.caption(
        ctx.t("as_of", month=fmt_month(f["year"], f["month"], ctx.lang), pace=ctx.t(f"pace_{f['pace']}"))
    )
    city_wide_only(ctx, data_checks, f)
    headline(ctx, f, table)
    st.subheader(ctx.t("ranking"))
    row = ranking_table(ctx, f, table)
    if row["chance"].notna().any():
        record_expander(ctx)
    download_csv(row, f"attainment-{f['year']}-{f['month']:02d}", ctx.lang, key="tg_dl_ranking")
    heat_and_map(ctx, f, table)
    targets_cards.section(ctx, f)
    if f["district"] or not ctx.user.city_wide:
        drill_down(ctx, {**f, "district": f["district"] or ctx.user.district_code})
    city_wide_only(ctx, fair_comparison, f)


run_page(body, "page_targets", "targets_caption")
