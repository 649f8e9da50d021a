"""The meeting pack as an Excel workbook (openpyxl): an "about" sheet, then one sheet per table of the snapshot.

Headers and sheet names are in the chosen language; codes (area, indicator, status…) stay as codes next to the
translated names so that the figures can be filtered and summed. Rates are stored as fractions with a percent
format; money in yuan; persons as whole numbers.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from i18n import fmt_quarter, t
from jobs.pack.pdf import label, missing_text, model_text, scheme_text, version_text
from jobs.pack.snapshot import Pack, _plain
from jobs.spreadsheet import FORMAT_THOUSANDS, FORMAT_WAN_YUAN, safe_cells

#: Sheets in order, with the columns each exports ("name" = the area name, "indicator" = the indicator name,
#: both in the chosen language).
SHEETS: dict[str, list[str]] = {
    "key_figures": [
        "indicator_code",
        "indicator",
        "unit",
        "target",
        "actual",
        "completion_rate",
        "time_elapsed_progress",
        "pace_gap",
        "margin_pp",
        "status",
    ],
    "ranking": [
        "area_code",
        "name",
        "zone",
        "indicator_code",
        "indicator",
        "unit",
        "target",
        "actual",
        "completion_rate",
        "time_elapsed_progress",
        "pace_gap",
        "margin_pp",
        "status",
        "rank",
        "peer_rank",
        "rank_prev",
        "rank_change",
        "suppressed",
    ],
    "district_cards": ["area_code", "name", "zone", "n_red", "n_yellow", "n_green", "card"],
    "exceptions": ["area_code", "name", "n_red", "red_indicators", "cause", "owner", "action"],
    "fund_scores": ["area_code", "name", "score", "rank", "grade", "missing"],
    "allocation": ["area_code", "name", "share", "amount_yuan", "last_year_yuan", "change_yuan", "bound"],
    "coverage": ["area_code", "name", "cells", "people", "covered_people", "covered_share", "points"],
    "forecast": [
        "indicator_code",
        "indicator",
        "year",
        "month",
        "mean",
        "lo_80",
        "hi_80",
        "lo_95",
        "hi_95",
        "model",
        "run_id",
    ],
    "city_curve": ["month", "value", "cumulative", "linear", "seasonal", "target"],
    "data_quality": ["check", "area_code", "name", "year", "month", "detail"],
}
PERCENT = {"completion_rate", "time_elapsed_progress", "covered_share", "share"}
WHOLE = {
    "target",
    "actual",
    "pace_gap",
    "cells",
    "people",
    "covered_people",
    "points",
    "mean",
    "lo_80",
    "hi_80",
}
WHOLE |= {"lo_95", "hi_95", "cumulative", "linear", "seasonal", "value"}
POINTS = {"margin_pp"}
CODES: set[str] = set()  # codes stay beside the names (a column headed 指标代码), so figures can be filtered
UNITS_ZH = {"persons": "人", "pct": "%", "yuan": "元", "yes_no": "是/否", "score": "分", "count": "个"}
MONEY = {"amount_yuan", "last_year_yuan", "change_yuan"}
TRANSLATED = {
    "status": "pack_status_",
    "card": "pack_status_",
    "zone": "pack_zone_",
    "check": "pack_check_",
    "grade": "pack_grade_",
}


def sheet_frame(pack: Pack, name: str, lang: str) -> pd.DataFrame:
    """The exported columns of one table, with names and codes translated for ``lang`` (headers still codes)."""
    frame = pack.table(name)
    name_col = "name_zh" if lang == "zh" else "name_en"
    inds = pack.table("indicators")
    ind_name = dict(zip(inds["code"], inds[name_col], strict=True)) if not inds.empty else {}
    if "indicator_code" in frame.columns:
        frame["indicator"] = frame["indicator_code"].map(ind_name).fillna(frame["indicator_code"])
    if name_col in frame.columns:
        frame["name"] = frame[name_col]
    elif "area_code" in frame.columns:
        cards = pack.table("district_cards")
        names = dict(zip(cards["area_code"], cards[name_col], strict=True)) if not cards.empty else {}
        frame["name"] = frame["area_code"].map(names).fillna(frame["area_code"])
    if name == "exceptions" and not frame.empty:
        frame["red_indicators"] = frame["red_indicators"].map(
            lambda v: "、".join(ind_name.get(c, c) for c in str(v).split(",")) if v else ""
        )
    for col, prefix in TRANSLATED.items():
        if col in frame.columns:
            frame[col] = frame[col].map(
                lambda v, p=prefix: label(f"{p}{v}", v, lang) if isinstance(v, str) and v else v
            )
    if lang == "zh":  # a Chinese reader gets words, not codes (issue #19); the area code is digits
        if "unit" in frame.columns:
            frame["unit"] = frame["unit"].map(lambda v: UNITS_ZH.get(str(v), v))
        if "model" in frame.columns:
            frame["model"] = frame["model"].map(lambda v: model_text(v, lang))
        if "missing" in frame.columns:
            frame["missing"] = frame["missing"].map(lambda v: missing_text(v, lang))
    cols = [c for c in SHEETS[name] if c in frame.columns and not (lang == "zh" and c in CODES)]
    return frame[cols] if not frame.empty else pd.DataFrame(columns=cols)


def _width(value: object) -> int:
    """Display width of a cell: a Chinese character takes two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in ("" if value is None else str(value)))


def _when(value: object) -> object:
    """A timestamp as 2026-12-03 10:36 (not ISO's 2026-12-03T10:36:30)."""
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d %H:%M}" if value is not None else None
    except (TypeError, ValueError):
        return value


def _about(pack: Pack, lang: str) -> list[tuple[str, Any]]:
    m = pack.meta
    rule = m.get("coverage_rule") or {}
    return [
        (t("pack_about_quarter", lang), fmt_quarter(pack.quarter, lang) if lang == "zh" else pack.quarter),
        (t("pack_about_as_of", lang), m.get("as_of")),
        (t("pack_about_cut_off", lang), pack.cut_off),
        (t("pack_about_snapshot", lang), pack.snapshot_id),
        (t("pack_about_created", lang), _when(pack.created_at)),
        (t("pack_about_created_by", lang), pack.created_by),
        (t("pack_about_scheme", lang), scheme_text(m.get("scheme_name"), lang)),
        (t("pack_about_pot", lang), m.get("pot_yuan")),
        (
            t("pack_about_model", lang),
            version_text(m.get("model_version")) if lang == "zh" else m.get("model_version"),
        ),
        (t("pack_about_forecast_run", lang), m.get("forecast_run_id")),
        (
            t("pack_about_status_rules", lang),
            t(
                "pack_about_status_rules_value",
                lang,
                margin=m.get("yellow_margin_pp"),
                cushion=m.get("control_cushion_pp"),
            ),
        ),
        (
            t("pack_about_coverage", lang),
            t(
                "pack_about_coverage_value",
                lang,
                minutes=rule.get("minutes"),
                speed=rule.get("speed_kmh"),
                circuity=rule.get("circuity"),
            ),
        ),
        (t("pack_about_k", lang), m.get("min_cell_persons")),
        (t("pack_about_synthetic", lang), t("pack_yes" if m.get("synthetic") else "pack_no", lang)),
    ]


def render(pack: Pack, lang: str = "zh") -> bytes:
    """The workbook of a stored pack in ``lang`` ("zh" or "en"), as bytes."""
    lang = lang if lang in ("zh", "en") else "zh"
    wb = Workbook()
    about = wb.active
    about.title = t("pack_sheet_about", lang)
    bold = Font(bold=True)
    about.append([t("pack_title", lang, year=pack.meta.get("year"), q=pack.meta.get("quarter_number"))])
    about["A1"].font = Font(bold=True, size=14)
    rows = pd.DataFrame([(c, _plain(v)) for c, v in _about(pack, lang)], columns=["c", "v"], dtype=object)
    rows = safe_cells(rows)  # a scheme's or a user's name is text like any other
    for caption, value in rows.itertuples(index=False, name=None):
        about.append([caption, value if value is not None else "—"])
    if pack.meta.get("synthetic"):
        about.append([t("pack_synthetic", lang)])
    about.column_dimensions["A"].width = 30
    about.column_dimensions["B"].width = 60
    head_fill = PatternFill("solid", fgColor="E3E8F0")
    for name in SHEETS:
        frame = safe_cells(sheet_frame(pack, name, lang))  # area names, causes, actions: no live formulas
        ws = wb.create_sheet(t(f"pack_sheet_{name}", lang)[:31])
        ws.append([t(f"pack_h_{c}", lang) for c in frame.columns])
        for cell in ws[1]:
            cell.font, cell.fill = bold, head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in frame.itertuples(index=False, name=None):
            ws.append([_plain(v) for v in row])
        for j, col in enumerate(frame.columns, start=1):
            letter = get_column_letter(j)
            widest = max([_width(ws.cell(1, j).value), *(_width(v) for v in frame[col].head(200))])
            ws.column_dimensions[letter].width = max(10, min(40, widest + 3))
            money = FORMAT_WAN_YUAN if lang == "zh" else "#,##0.00"
            points = '0.00"个百分点"' if lang == "zh" else "0.00"
            fixed = {
                **dict.fromkeys(PERCENT, "0.0%"),
                **dict.fromkeys(MONEY, money),
                **dict.fromkeys(POINTS, points),
            }
            for cell in ws[letter][1:]:
                if not isinstance(cell.value, int | float) or isinstance(cell.value, bool):
                    continue
                if col in fixed:
                    cell.number_format = fixed[col]
                elif (
                    col in WHOLE
                ):  # persons with thousands; a rate (3.5) keeps two decimals, never 2.6066722…
                    whole = float(cell.value).is_integer()
                    cell.number_format = FORMAT_THOUSANDS if whole else "#,##0.00"
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
