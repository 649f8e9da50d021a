"""Cells that are safe to open in Excel or WPS: every CSV and XLSX the app or the CLI exports goes through here.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by a
spreadsheet (CSV or formula injection): a station called ``=HYPERLINK("http://…"&B2,"…")`` would send a
neighbouring cell to that address when the file is opened. OWASP's rule is applied: such a cell gets a single
quote in front (``'=HYPERLINK(…)``), so it is shown as the text it is. Only text is touched: numbers (negative
ones too) stay numbers, and a text that is just a signed number (``-5``, ``+1.5%``) is left as it is, since no
spreadsheet runs it. Column names and the index are treated like cells.

:func:`safe_cells` is the one function every export path uses; :func:`csv_bytes` and :func:`xlsx_bytes` build
the bytes of the pages' downloads with it. No Streamlit here (the download buttons live in ``ui/``).
"""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any

import pandas as pd

#: First characters that make Excel/WPS read a cell as a formula (OWASP CSV injection).
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?")


def is_formula_like(text: object) -> bool:
    """True for a text that a spreadsheet would run as a formula (the import warns about such names)."""
    return (
        isinstance(text, str) and text.startswith(TRIGGERS) and _PLAIN_NUMBER.fullmatch(text.strip()) is None
    )


def _safe(value: Any) -> Any:
    return "'" + value if is_formula_like(value) else value


def _safe_labels(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return index.set_levels([_safe_labels(level) for level in index.levels])
    if index.dtype == object or pd.api.types.is_string_dtype(index.dtype):
        return index.map(_safe)
    return index


def safe_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and index labels cannot run as formulas.

    Numeric columns are returned untouched (so ``-3`` stays the number −3); in text columns every string that
    begins with ``= + - @``, a tab or a carriage return (and is not a plain signed number) gets a leading ``'``.
    """
    out = frame.copy()
    for i in range(out.shape[1]):
        col = out.iloc[:, i]
        if isinstance(col.dtype, pd.CategoricalDtype):  # labels as categories: the text is in them
            col = col.astype(object)
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            out.isetitem(i, col.map(_safe, na_action="ignore"))
    out.columns = _safe_labels(out.columns)
    out.index = _safe_labels(out.index)
    return out


def csv_bytes(frame: pd.DataFrame, index: bool = False) -> bytes:
    """CSV in UTF-8 with a BOM (so Chinese Excel opens it correctly), its cells made safe.

    Lines end in CRLF (RFC 4180), so that a cell holding a carriage return is quoted: unquoted, Excel would
    start a new row there, and whatever follows the CR would be the first cell of that row.
    """
    return safe_cells(frame).to_csv(index=index, lineterminator="\r\n").encode("utf-8-sig")


#: Excel number formats a reader expects: thousands, percent with one decimal, money in 万元 (10,000 yuan).
FORMAT_THOUSANDS = "#,##0"
FORMAT_DECIMAL = "#,##0.00"
FORMAT_PERCENT = "0.0%"  # for fractions (0.5 → 50.0%)
FORMAT_PCT_POINTS = '0.0"%"'  # for values already in percent (50 → 50.0%)
FORMAT_WAN_YUAN = '0!.0000"万元"'  # yuan shown in 万元: 123456 → 12.3456万元


def _width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # a Chinese character is two columns wide


def xlsx_bytes(
    sheets: dict[str, pd.DataFrame], index: bool = False, formats: dict[str, dict[str, str]] | None = None
) -> bytes:
    """An Excel workbook with one sheet per frame (names cut to Excel's 31 characters), its cells made safe.

    ``formats`` gives, per sheet, an Excel number format per column name (``""`` for every other number
    column: thousands); columns are as wide as their longest cell, headers frozen.
    """
    buf = BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            safe = safe_cells(frame)
            safe.to_excel(xl, sheet_name=name[:31], index=index)
            sheet = xl.sheets[name[:31]]
            chosen = (formats or {}).get(name, {})
            offset = 1 + (safe.index.nlevels if index else 0)
            for i, column in enumerate(safe.columns):
                cells = sheet.iter_rows(min_row=2, min_col=offset + i, max_col=offset + i)
                fmt = chosen.get(str(column), chosen.get("", FORMAT_THOUSANDS if formats is not None else ""))
                numeric = pd.api.types.is_numeric_dtype(safe[column].dtype)
                for (cell,) in cells:
                    if fmt and numeric and isinstance(cell.value, int | float):
                        cell.number_format = fmt
                widest = max([_width(column), *(_width(v) for v in safe[column].head(500))])
                letter = sheet.cell(row=1, column=offset + i).column_letter
                sheet.column_dimensions[letter].width = min(max(widest + 2, 8), 60)
            sheet.freeze_panes = "A2"
    return buf.getvalue()
