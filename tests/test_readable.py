"""Readable for a leader (issue #19): Explore marks the quarter the data stop in and totals its pivot; Excel
exports carry Chinese sheet names, number formats and widths; every page carries the print stylesheet; the
ranking table shows every district without an inner scroll box; one chart is a PNG."""

from __future__ import annotations

import io
import json

import altair as alt
import pandas as pd
import pytest
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from ui import charts_funds
from ui.chart_png import png_bytes
from ui.layout import full_height, stylesheet
from ui.periods import is_partial, period_label, pivot_workbook, with_totals


def run(monkeypatch: pytest.MonkeyPatch, url: str, page: str, params: dict[str, str]) -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "zh")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def nodes(node: object) -> list[object]:
    """Every element of an AppTest tree (the style sits in the event container, outside main)."""
    out = [node]
    for child in getattr(node, "children", {}).values():
        out += nodes(child)
    return out


def test_period_labels() -> None:
    latest = (2026, 10)  # the tiny demo ends in October: 2026-Q4 holds one month of three
    assert period_label("2026-Q3", "zh", latest) == "2026年第3季度"
    assert period_label("2026-Q4", "zh", latest) == "2026年第4季度（至10月，不完整）"
    assert period_label("2026Q4", "zh", latest) == "2026年第4季度（至10月，不完整）"
    assert period_label("2026", "zh", latest) == "2026年（至10月，不完整）"
    assert period_label("2025", "zh", latest) == "2025年"
    assert period_label("2026-Q4", "en", latest) == "Q4 2026 (to Oct, partial)"
    assert is_partial("2026-Q4", latest) and not is_partial("2026-Q3", latest)
    assert not is_partial("2027-Q1", latest)  # no data at all: not "partial"


def test_explore_marks_the_partial_quarter_and_totals(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    params = {"measure": "urban_new_employment", "rows": "period", "cols": "", "grain": "quarter"}
    at = run(monkeypatch, demo_url, "explore", params | {"from": "2026", "to": "2026"})
    pivot = at.dataframe[0].value
    labels = list(pivot.iloc[:, 0])
    assert "2026年第3季度" in labels
    assert "2026年第4季度（至10月，不完整）" in labels
    assert not any("Q" in str(v) for v in labels)
    assert labels[-1] == "合计"
    values = pivot.iloc[:-1, 1]
    assert pivot.iloc[-1, 1] == pytest.approx(values.sum())
    assert any("不完整" in c.value for c in at.caption)
    # the chart draws the marked label, not "2026-Q4"
    spec = json.dumps([json.loads(c.proto.spec) for c in at.get("arrow_vega_lite_chart")], ensure_ascii=False)
    assert "2026-Q4" not in spec


def test_with_totals_hides_a_total_over_a_hidden_cell() -> None:
    table = pd.DataFrame({"区": ["甲", "乙"], "2025年": [10.0, 20.0], "2026年": [5.0, float("nan")]})
    out = with_totals(table, "flow", "合计")
    assert list(out["区"]) == ["甲", "乙", "合计"]
    assert out["2025年"].iloc[-1] == 30 and pd.isna(out["2026年"].iloc[-1])
    assert out["合计"].iloc[0] == 15 and pd.isna(out["合计"].iloc[1])
    assert with_totals(table, "rate", "合计").equals(table)  # rates do not add up


@pytest.mark.parametrize(
    ("unit", "fmt"), [("persons", "#,##0"), ("yuan", '0!.0000"万元"'), ("pct", '0.0"%"')]
)
def test_explore_workbook_has_chinese_sheets_formats_and_widths(unit: str, fmt: str) -> None:
    table = pd.DataFrame({"地区": ["江岸区", "合计"], "2026年第3季度": [2.606672203178487, 1234567.0]})
    book = load_workbook(io.BytesIO(pivot_workbook(table, [("指标", "城镇新增就业")], unit, "zh")))
    assert book.sheetnames == ["透视表", "说明"]
    sheet = book["透视表"]
    assert sheet["B2"].number_format == fmt and sheet["B3"].number_format == fmt
    assert sheet.column_dimensions["B"].width >= len("2026年第3季度") * 2 - 4  # Chinese is two columns wide
    assert sheet.freeze_panes == "A2"


def test_print_stylesheet_on_every_page(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    css = stylesheet("zh")
    assert "@media print" in css and "stSidebar" in css and "display: none" in css
    assert "@page" in css and "max-height: none" in css
    assert "200MB" not in css and "选择文件" in css  # the upload box's own words replaced in Chinese
    # app.py puts it on every page, before the page runs (AppTest keeps app.py's elements on the first run only)
    monkeypatch.setenv("EMPLOYMENT_DB_URL", demo_url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "zh")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    bodies = [str(e.proto.body) for e in nodes(at._tree) if getattr(e, "type", "") == "html"]  # type: ignore[attr-defined]
    assert any("@media print" in b and "stSidebar" in b for b in bodies)


def test_ranking_table_shows_every_district(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    import streamlit as st

    heights: dict[str, tuple[int, object]] = {}
    original = st.dataframe

    def recording(data=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        frame = getattr(data, "data", data)  # a Styler holds its frame in .data
        heights[str(kwargs.get("key"))] = (len(frame) if frame is not None else 0, kwargs.get("height"))
        return original(data, *args, **kwargs)

    monkeypatch.setattr(st, "dataframe", recording)
    run(monkeypatch, demo_url, "targets", {"year": "2026", "month": "10"})
    rows, height = heights["tg_table"]
    assert rows == 13 and isinstance(height, int) and height >= full_height(13)


def test_every_bar_is_named() -> None:
    scores = pd.DataFrame(
        {
            "area_code": [str(i) for i in range(13)],
            "area": [f"第{i}区" for i in range(13)],
            "score": range(13),
        }
    ).assign(rank=lambda d: 13 - d["score"])
    spec = charts_funds.score_bars(scores, {"score": "得分", "area": "区", "rank": "名次"}).to_dict()
    axis = spec["encoding"]["y"]["axis"]
    assert axis["labelOverlap"] is False and spec["height"] >= 13 * 20


def test_forecast_chart_as_png() -> None:
    from ui.charts_forecasts import forecast_chart

    hist = pd.DataFrame({"year": [2026] * 6, "month": range(1, 7), "value": [5.0, 6, 7, 6, 5, 6]})
    fc = pd.DataFrame({"year": [2026] * 3, "month": [7, 8, 9], "mean": [6.0, 6, 6]}).assign(
        lo_80=5.0, hi_80=7.0, lo_95=4.0, hi_95=8.0
    )
    labels = {
        k: k
        for k in [
            "value",
            "month",
            "actual",
            "mean",
            "lo_80",
            "hi_80",
            "lo_95",
            "hi_95",
            "line",
            "live",
            "event",
        ]
    }
    chart: alt.LayerChart = forecast_chart(hist, fc, labels)
    png = png_bytes(chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
