"""The Forecasts page's parts: number formats, the accuracy record, coherence of the areas, the method note
and the planner's live re-run (the page itself lists the sections)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import streamlit as st

import forecasting
from figures.forecasts import bounds_for, events
from i18n import fmt_int, fmt_month, fmt_pct
from queries import forecasts as fq
from ui.common import Ctx, download_csv

BANDS = ("1-3", "4-6", "7-12")
BAND_MONTHS = {"1-3": 3, "4-6": 3, "7-12": 6}
CANDIDATES = ("snaive", "ets", "sarima", "theta", "combo")
UNDER_COVER_PP = 0.05  # coverage this far below nominal is called under-coverage (36 forecasts per model)
HISTORY_MONTHS = 48


# --- helpers ------------------------------------------------------------------------------------------------


def fmt_value(value: float, indicator: str, lang: str) -> str:
    """A figure in the series' unit: percent with two decimals for the rate, whole persons otherwise."""
    if value is None or not np.isfinite(value):
        return "—"
    return f"{value:.2f}%" if indicator == fq.RATE else fmt_int(value, lang)


def fmt_prob(p: float) -> str:
    """A probability for a reader: whole percent, with "<1%" / ">99%" instead of a flat 0 % or 100 %."""
    if not np.isfinite(p):
        return "—"
    return "<1%" if p < 0.005 else ">99%" if p > 0.995 else fmt_pct(p, 0)


def to_frame(values: pd.DataFrame) -> pd.DataFrame:
    """Stored rows (``year, month, mean, lo_/hi_``) → a forecast frame on a monthly PeriodIndex."""
    idx = pd.PeriodIndex.from_fields(year=values["year"], month=values["month"], freq="M")
    cols = ["mean", "lo_80", "hi_80", "lo_95", "hi_95"]
    return pd.DataFrame(values[cols].astype(float).to_numpy(), index=idx, columns=cols)


def line_for(lines: pd.DataFrame, year: int) -> tuple[float | None, int | None]:
    """The control line of ``year``, else the newest earlier one (and the year it comes from)."""
    known = lines[lines["year"] <= year].sort_values("year")
    if known.empty:
        return None, None
    row = known.iloc[-1]
    return float(row["target_value"]), int(row["year"])


def year_end_points(fc: pd.DataFrame, latest_year: int) -> list[pd.Period]:
    """The Decembers of this year and next year that the forecast reaches (the last month stands in)."""
    points = []
    for year in (latest_year, latest_year + 1):
        p = pd.Period(year=year, month=12, freq="M")
        if p in fc.index:
            points.append(p)
    if len(points) < 2 and fc.index[-1] not in points:
        points.append(fc.index[-1])
    return points[:2]


def accuracy(ctx: Ctx, indicator: str, acc: pd.DataFrame) -> None:
    """The backtest record in words, and the table by horizon band."""
    st.subheader(ctx.t("forecasts_accuracy"))
    if acc.empty:
        st.info(ctx.t("forecasts_no_accuracy"))
        return
    unit = ctx.t("forecasts_unit_pp" if indicator == fq.RATE else "forecasts_unit_persons")
    by = acc.set_index(["model", "horizon_band"])

    def mae(model: str, band: str) -> str:
        key = (model, band)
        return forecasting.format_number(float(by.loc[key, "mae"])) if key in by.index else "—"

    words = ctx.t(
        "forecasts_accuracy_words",
        mae=mae("auto", "1-3"),
        base=mae("snaive", "1-3"),
        unit=unit,
        mae_long=mae("auto", "7-12"),
        base_long=mae("snaive", "7-12"),
    )
    ours = acc[acc["model"] == "auto"]
    weights = ours["horizon_band"].map(BAND_MONTHS).fillna(1).to_numpy(float)
    cov80 = float(np.average(ours["coverage_80"], weights=weights)) if len(ours) else np.nan
    cov95 = float(np.average(ours["coverage_95"], weights=weights)) if len(ours) else np.nan
    words += " " + ctx.t("forecasts_coverage_words", cov80=fmt_pct(cov80, 0), cov95=fmt_pct(cov95, 0))
    long_ours, long_naive = (("auto", "7-12"), ("snaive", "7-12"))
    if (
        long_ours in by.index
        and long_naive in by.index
        and by.loc[long_ours, "mae"] > by.loc[long_naive, "mae"]
    ):
        words += " " + ctx.t("forecasts_worse_than_naive")
    st.markdown(words)
    under = [
        name
        for name, cov, nominal in (("80%", cov80, 0.80), ("95%", cov95, 0.95))
        if np.isfinite(cov) and cov < nominal - UNDER_COVER_PP
    ]
    if under:
        st.warning(ctx.t("forecasts_under_covered", which=" / ".join(under)), icon=":material/warning:")
    table = acc.assign(
        band_order=acc["horizon_band"].map({b: i for i, b in enumerate(BANDS)}),
        model_order=acc["model"].map({"auto": 0, "snaive": 1}),
    ).sort_values(["band_order", "model_order"])
    shown = pd.DataFrame(
        {
            ctx.t("forecasts_col_band"): table["horizon_band"],
            ctx.t("forecasts_col_model"): table["model"].map(lambda m: ctx.t(f"forecasts_model_{m}")),
            ctx.t("forecasts_col_mae"): table["mae"],
            ctx.t("forecasts_col_mase"): table["mase"],
            ctx.t("forecasts_col_smape"): table["smape"],
            ctx.t("forecasts_col_cov80"): table["coverage_80"],
            ctx.t("forecasts_col_cov95"): table["coverage_95"],
        }
    )
    mae_fmt = "%.3f" if indicator == fq.RATE else "%.0f"
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="fc_accuracy",
        column_config={
            ctx.t("forecasts_col_mae"): st.column_config.NumberColumn(format=mae_fmt),
            ctx.t("forecasts_col_mase"): st.column_config.NumberColumn(format="%.2f"),
            ctx.t("forecasts_col_smape"): st.column_config.NumberColumn(format="%.1f"),
            ctx.t("forecasts_col_cov80"): st.column_config.NumberColumn(format="percent"),
            ctx.t("forecasts_col_cov95"): st.column_config.NumberColumn(format="percent"),
        },
    )
    st.caption(ctx.t("forecasts_accuracy_caption"))


def model_version(stored: object) -> str:
    """``forecasting-1.2.0; reconciled ru=bu, une=bu`` → ``1.2.0``: the number a reader can quote (the rest is in
    the method notes)."""
    found = re.search(r"\d+(\.\d+)+", str(stored or ""))
    return found.group(0) if found else "—"


def reconciliation_methods(note: str | None) -> dict[str, str]:
    """Indicator → reconciliation method, from the JSON the job stored with the run."""
    if not note:
        return {}
    try:
        data = json.loads(note)
    except ValueError:
        return {}
    return {k: v.get("method", "") for k, v in data.get("reconciliation", {}).items()}


def coherence(
    ctx: Ctx, indicator: str, values: pd.DataFrame, city: str, methods: dict[str, str]
) -> pd.DataFrame | None:
    """Sum of the district means against the city mean, month by month (count series only)."""
    st.subheader(ctx.t("forecasts_coherence"))
    if indicator == fq.RATE:
        st.caption(ctx.t("forecasts_coherence_rate"))
        return None
    city_rows = values[values["area_code"] == city].set_index(["year", "month"])["mean"]
    districts = values[values["area_code"] != city].groupby(["year", "month"])["mean"].sum()
    if city_rows.empty or districts.empty:
        return None
    frame = pd.DataFrame({"city": city_rows, "sum": districts}).dropna().reset_index()
    frame["diff"] = frame["sum"] - frame["city"]
    worst = float(frame["diff"].abs().max())
    rel = worst / max(float(frame["city"].abs().max()), 1e-12)
    method = methods.get(indicator)
    key = "forecasts_coherence_ok" if rel <= 1e-6 else "forecasts_coherence_off"
    st.markdown(
        ctx.t(
            key,
            diff=f"{worst:,.0f}" if ctx.lang == "zh" else f"{worst:,.4f}",
            rel=f"{rel:.4%}" if ctx.lang == "zh" else f"{rel:.1e}",
            method=ctx.t(f"forecasts_method_{method}") if method else ctx.t("forecasts_method_none"),
        )
    )
    shown = pd.DataFrame(
        {
            ctx.t("forecasts_lbl_month"): [
                fmt_month(int(y), int(m), ctx.lang)
                for y, m in zip(frame["year"], frame["month"], strict=True)
            ],
            ctx.t("forecasts_col_city"): frame["city"],
            ctx.t("forecasts_col_sum"): frame["sum"],
            ctx.t("forecasts_col_diff"): frame["diff"],
        }
    )
    with st.expander(ctx.t("forecasts_coherence")):
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            key="fc_coherence",
            column_config={c: st.column_config.NumberColumn(format="%.2f") for c in list(shown.columns)[1:]},
        )
    return frame


def by_area(
    ctx: Ctx,
    indicator: str,
    values: pd.DataFrame,
    acc_all: pd.DataFrame,
    area_names: dict[str, str],
    point: pd.Period,
    lines_by_area: dict[str, float | None],
) -> None:
    """Every area's forecast for the same month (and, for the rate, its chance of ending above its line)."""
    st.subheader(ctx.t("forecasts_districts") + f" · {fmt_month(point.year, point.month, ctx.lang)}")
    at = values[(values["year"] == point.year) & (values["month"] == point.month)]
    err = acc_all[(acc_all["model"] == "auto") & (acc_all["horizon_band"] == "1-3")].set_index("area_code")
    rows = []
    for r in at.itertuples(index=False):
        row = {
            ctx.t("forecasts_col_area"): area_names.get(r.area_code, r.area_code),
            ctx.t("forecasts_col_mean"): float(r.mean),
            ctx.t("forecasts_col_lo80"): float(r.lo_80),
            ctx.t("forecasts_col_hi80"): float(r.hi_80),
            ctx.t("forecasts_col_mae13"): float(err["mae"].get(r.area_code, np.nan)),
        }
        line = lines_by_area.get(r.area_code)
        if indicator == fq.RATE and line is not None:
            fc = to_frame(values[values["area_code"] == r.area_code])
            row[ctx.t("forecasts_col_prob")] = forecasting.prob_above(fc, line, at=point)
        rows.append(row)
    table = pd.DataFrame(rows)
    fmt = "%.2f" if indicator == fq.RATE else "%.0f"
    config = {c: st.column_config.NumberColumn(format=fmt) for c in list(table.columns)[1:5]}
    if ctx.t("forecasts_col_prob") in table:
        config[ctx.t("forecasts_col_prob")] = st.column_config.ProgressColumn(
            format="percent", min_value=0.0, max_value=1.0
        )
    st.dataframe(table, hide_index=True, width="stretch", key="fc_by_area", column_config=config)
    download_csv(values, f"forecast-{indicator}", ctx.lang, key="fc_dl_values")


def method_note(ctx: Ctx, methods: dict[str, str], model: str, ind_names: dict[str, str]) -> None:
    with st.expander(ctx.t("forecasts_method_note")):
        choices = "; ".join(
            f"{ind_names.get(k, k)}: {ctx.t(f'forecasts_method_{m}')}" for k, m in sorted(methods.items())
        )
        extra = ctx.t("forecasts_reconciliation_used", choices=choices) if choices else ""
        st.markdown(ctx.t("forecasts_method_text", reconciliation=extra))
        st.caption(ctx.t("forecasts_model_used", model=model))


# --- the planner's live re-run ------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def live_forecast(
    y: pd.Series, horizon: int, candidates: tuple[str, ...], shock: bool, indicator: str
) -> tuple[pd.DataFrame, str, str]:
    """``forecasting.forecast`` on the series with the planner's settings (cached; never stored)."""
    fc = forecasting.forecast(
        y,
        horizon,
        levels=(80, 95),
        events=events() if shock else None,
        bounds=bounds_for(indicator),
        candidates=candidates,
    )
    return fc, str(fc.attrs.get("model", "")), str(fc.attrs.get("reason", ""))


def planner(ctx: Ctx, indicator: str, area: str, hist: pd.DataFrame) -> pd.DataFrame | None:
    """Expander with horizon, candidate models and the 2020 switch; returns the live forecast once run."""
    with st.expander(ctx.t("forecasts_planner")):
        st.caption(ctx.t("forecasts_planner_caption"))
        with st.form("fc_planner"):
            cols = st.columns([1, 3, 2])
            horizon = cols[0].number_input(ctx.t("forecasts_planner_horizon"), 1, 36, 12, key="fc_h")
            models = cols[1].multiselect(
                ctx.t("forecasts_planner_models"),
                list(CANDIDATES),
                default=list(CANDIDATES),
                key="fc_models",
                format_func=lambda m: ctx.t(
                    "forecasts_model_snaive_name" if m == "snaive" else f"forecasts_model_{m}"
                ),
            )
            shock = cols[2].checkbox(ctx.t("forecasts_planner_exclude"), value=True, key="fc_shock")
            if st.form_submit_button(ctx.t("forecasts_planner_run")):
                st.session_state["fc_live"] = (indicator, area, int(horizon), tuple(models), bool(shock))
        settings = st.session_state.get("fc_live")
        if not settings or settings[:2] != (indicator, area):
            return None
        if not settings[3]:
            st.warning(ctx.t("forecasts_planner_pick"))
            return None
        idx = pd.PeriodIndex.from_fields(year=hist["year"], month=hist["month"], freq="M")
        y = pd.Series(hist["value"].to_numpy(float), index=idx)
        with st.spinner(ctx.t("forecasts_planner_run") + " …"):
            fc, model, reason = live_forecast(y, settings[2], settings[3], settings[4], indicator)
        st.caption(ctx.t("forecasts_planner_result", model=model, reason=reason))
        return fc


def live_table(
    ctx: Ctx, indicator: str, stored: pd.DataFrame, live: pd.DataFrame, line: float | None
) -> None:
    joined = pd.DataFrame({"stored": stored["mean"], "live": live["mean"]})
    shown = pd.DataFrame(
        {
            ctx.t("forecasts_lbl_month"): [fmt_month(p.year, p.month, ctx.lang) for p in joined.index],
            ctx.t("forecasts_col_stored"): joined["stored"].to_numpy(),
            ctx.t("forecasts_col_live"): joined["live"].to_numpy(),
        }
    )
    fmt = "%.2f" if indicator == fq.RATE else "%.0f"
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key="fc_live_table",
        column_config={c: st.column_config.NumberColumn(format=fmt) for c in list(shown.columns)[1:]},
    )
    if indicator == fq.RATE and line is not None:
        for p in [q for q in live.index if q.month == 12][:2]:
            st.caption(
                ctx.t(
                    "forecasts_planner_prob",
                    month=fmt_month(p.year, p.month, ctx.lang),
                    line=f"{line:.2f}%",
                    prob=fmt_prob(forecasting.prob_above(live, line, at=p)),
                )
            )
