"""Periods as a leader reads them (issue #19): ``2026-Q3`` → 2026年第3季度, and a period the data do not yet cover
in full marked so, e.g. 2026年第4季度（至10月）, never drawn as if it were complete."""

from __future__ import annotations

from datetime import date

import pandas as pd

from i18n import fmt_month, t
from jobs.spreadsheet import (
    FORMAT_DECIMAL,
    FORMAT_PCT_POINTS,
    FORMAT_THOUSANDS,
    FORMAT_WAN_YUAN,
    xlsx_bytes,
)


def months_of(label: str) -> tuple[int, int, int]:
    """A period label's year and its first and last month: ``2026`` → (2026, 1, 12), ``2026-Q3`` → (2026, 7,
    9), ``2026-07`` → (2026, 7, 7)."""
    year = int(label[:4])
    if len(label) == 4:
        return year, 1, 12
    if "Q" in label:
        q = int(label[-1])
        return year, 3 * q - 2, 3 * q
    return year, int(label[5:7]), int(label[5:7])


def latest_of(status: object) -> tuple[int, int] | None:
    """The latest month with data of a ``meta.DataStatus`` as ``(year, month)``, or None."""
    year, month = getattr(status, "latest_year", None), getattr(status, "latest_month", None)
    return (int(year), int(month)) if year and month else None


def is_partial(label: str, latest: tuple[int, int] | None) -> bool:
    """Whether the latest month with data (``(year, month)``) ends before the period does."""
    if latest is None:
        return False
    year, _, last = months_of(label)
    return (year, last) > latest and (year, months_of(label)[1]) <= latest


def period_label(label: str, lang: str, latest: tuple[int, int] | None = None) -> str:
    """The period in the reader's language, marked when the data stop inside it."""
    year, first, last = months_of(label)
    if len(label) == 4:
        text = t("period_year", lang, year=year)
    elif "Q" in label:
        text = t("period_quarter", lang, year=year, quarter=(last // 3))
    else:
        return fmt_month(year, first, lang)
    if is_partial(label, latest):
        assert latest is not None
        upto = f"{latest[1]}月" if lang == "zh" else date(*latest, 1).strftime("%b")
        return t("period_partial", lang, period=text, upto=upto)
    return text


def excel_format(unit: str) -> str:
    """The Excel number format of a measure's unit: 万元 for money, percent points, thousands otherwise."""
    return {
        "yuan": FORMAT_WAN_YUAN,
        "pct": FORMAT_PCT_POINTS,
        "score": FORMAT_DECIMAL,
        "yes_no": FORMAT_THOUSANDS,
    }.get(unit, FORMAT_THOUSANDS)


def with_totals(table: pd.DataFrame, kind: str, label: str) -> pd.DataFrame:
    """A pivot (first column its row labels) with a total row, and a total column when it has several value
    columns. Only flows add up (persons placed, yuan paid); stocks and rates get none. A hidden cell (empty)
    hides its totals too, so no hidden figure can be had by subtraction."""
    if kind != "flow" or table.empty:
        return table
    values = table.columns[1:]
    out = table.copy()
    if len(values) > 1:
        out[label] = out[values].sum(axis=1, min_count=len(values))
        values = out.columns[1:]
    total = {table.columns[0]: label, **{c: out[c].sum(min_count=len(out)) for c in values}}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def pivot_workbook(table: pd.DataFrame, about: list[tuple[str, str]], unit: str, lang: str) -> bytes:
    """Explore's Excel workbook: the pivot, and a sheet that says what it is (measure, dimensions, filters,
    rule); sheets named in the reader's language, numbers formatted for the unit (万元, percent, thousands)."""
    pivot, info = t("explore_sheet_pivot", lang), t("explore_sheet_about", lang)
    head = [t("explore_sheet_item", lang), t("explore_sheet_value", lang)]
    return xlsx_bytes(
        {pivot: table, info: pd.DataFrame(about, columns=head)},
        formats={pivot: {"": excel_format(unit)}, info: {}},
    )
