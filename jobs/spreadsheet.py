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


def xlsx_bytes(sheets: dict[str, pd.DataFrame], index: bool = False) -> bytes:
    """An Excel workbook with one sheet per frame (names cut to Excel's 31 characters), its cells made safe."""
    buf = BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            safe_cells(frame).to_excel(xl, sheet_name=name[:31], index=index)
    return buf.getvalue()
