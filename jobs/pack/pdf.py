"""The meeting pack as a PDF (ReportLab, A4 landscape), rendered from a stored snapshot only.

Order: a one-page summary (key figures, red / yellow / green districts, the top three exceptions), the city's
progress chart (Altair → PNG with vl-convert, offline) with the status matrix, one ranking table per indicator,
the exceptions list with empty cause / owner / action fields, fund scores and allocation, the coverage map (drawn
with ReportLab's own graphics from the frozen district outlines) and table, forecasts, then method and data-quality
notes. Every page's footer carries the page number, the data cut-off and the snapshot id.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd
from reportlab.graphics.shapes import Drawing, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from figures.chance import percent
from i18n import fmt_date, fmt_int, fmt_month, fmt_pct, fmt_quarter, fmt_yuan, t
from jobs.pack import fonts
from jobs.pack.snapshot import Pack
from store.indicators import BY_CODE

PAGE = landscape(A4)
MARGIN = 14 * mm
STATUS_HEX = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
STATUS_BG = {"green": "#e8f5e9", "yellow": "#fff8e1", "red": "#ffebee"}
GRID = colors.HexColor("#b0b7c3")
HEAD_BG = colors.HexColor("#e3e8f0")


class _Styles:
    def __init__(self, font: str) -> None:
        base = dict(fontName=font, leading=12, fontSize=9)
        self.title = ParagraphStyle("title", **{**base, "fontSize": 20, "leading": 26, "spaceAfter": 6})
        self.h1 = ParagraphStyle(
            "h1", **{**base, "fontSize": 14, "leading": 18, "spaceBefore": 4, "spaceAfter": 6}
        )
        self.h2 = ParagraphStyle(
            "h2", **{**base, "fontSize": 11, "leading": 15, "spaceBefore": 6, "spaceAfter": 3}
        )
        self.body = ParagraphStyle("body", **base)
        self.small = ParagraphStyle("small", **{**base, "fontSize": 8, "leading": 10})
        self.cell = ParagraphStyle("cell", **{**base, "fontSize": 8, "leading": 10})
        self.big = ParagraphStyle("big", **{**base, "fontSize": 18, "leading": 22, "alignment": TA_CENTER})
        self.warn = ParagraphStyle("warn", **{**base, "textColor": colors.HexColor("#b26a00")})


def value_text(value: Any, unit: str, lang: str) -> str:
    """A figure in its unit (persons, yuan, percent rate, done / not done); — when missing or suppressed."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if unit == "yuan":
        return fmt_yuan(float(value), lang)
    if unit == "pct":
        return f"{float(value):.2f}%"
    if unit == "yes_no":
        return t("pack_done" if float(value) >= 1 else "pack_not_done", lang)
    return f"{float(value):,.0f}"


def target_text(value: Any, unit: str, lang: str) -> str:
    """An annual target; a yes/no target is always "100 %" (every case cleared)."""
    return "100%" if unit == "yes_no" else value_text(value, unit, lang)


def rank_text(value: Any) -> str:
    """A rank, or "—" for a row whose figure is suppressed (it has no rank: docs/privacy.md)."""
    return "—" if value is None or value != value else f"{int(value)}"


def rank_change_text(value: Any) -> str:
    if value is None or value != value or float(value) == 0:
        return "—"
    return f"▲{int(value)}" if float(value) > 0 else f"▼{-int(value)}"


def label(key: str, fallback: Any, lang: str) -> str:
    """The message ``key``, or ``fallback`` as text when the catalogue has none (e.g. a stored scheme's grade)."""
    text = t(key, lang)
    return str(fallback) if text == key else text


def model_text(code: Any, lang: str) -> str:
    """A stored model code in words: ``theta+bottom_up`` → θ分解法，自下而上（全市=各区之和）."""
    if lang != "zh" or not code:
        return str(code or "—")
    parts = []
    for part in str(code).split("+"):
        text = label(f"forecasts_model_{part}", None, lang)
        parts.append(text if text != "None" else label(f"forecasts_method_{part}", part, lang))
    return "，".join(parts)


def scheme_text(name: Any, lang: str) -> str:
    """A stored scoring scheme by its name in the catalogue (``grading_100`` → 百分制评分); else as stored."""
    if not name:
        return "—"
    return label(f"funds_scheme_name_{name}", name, lang) if lang == "zh" else str(name)


def missing_text(text: Any, lang: str) -> str:
    """A score's missing inputs, ``loan_overdue_rate_pct (scored 0), …``, in the reader's language."""
    if lang != "zh" or not text:
        return "" if text is None else str(text)

    def one(found: re.Match[str]) -> str:
        rule = re.sub(r"\W+", "_", found.group(2)).strip("_")
        known = BY_CODE.get(found.group(1))
        name = label(f"funds_measure_{found.group(1)}", known.name_zh if known else found.group(1), lang)
        return f"{name}（{label(f'pack_missing_rule_{rule}', found.group(2), lang)}）"

    return re.sub(r"([a-z_]+) \(([^)]+)\)", one, str(text)).replace(", ", "、")


def version_text(stored: Any) -> str:
    """``forecasting-1.2.0; reconciled ru=bu`` → ``1.2.0`` (the reconciliation is told in the notes)."""
    found = re.search(r"\d+(\.\d+)+", str(stored or ""))
    return found.group(0) if found else "—"


def _pct(value: Any) -> str:
    return fmt_pct(None if value is None else float(value))


def _pp(value: Any, lang: str = "en") -> str:
    """Percentage points: "+0.90 pp", in Chinese "+0.90个百分点"."""
    if value is None or value != value:
        return "—"
    return f"{float(value):+.2f}" + ("个百分点" if lang == "zh" else " pp")


def _table(
    rows: list[list[Any]],
    widths: Sequence[float] | None,
    font: str,
    extra: list[tuple] | None = None,
    size: float = 8,
    repeat: int = 1,
) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=repeat)
    style = [
        ("FONT", (0, 0), (-1, -1), font, size),
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    table.setStyle(TableStyle(style + (extra or [])))
    return table


class _Renderer:
    def __init__(self, pack: Pack, lang: str) -> None:
        self.pack, self.lang = pack, lang
        self.font = fonts.register()
        self.st = _Styles(self.font)
        self.meta = pack.meta
        self.name_col = "name_zh" if lang == "zh" else "name_en"
        inds = pack.table("indicators")
        self.ind_name = dict(zip(inds["code"], inds[self.name_col], strict=True)) if not inds.empty else {}

    def t(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)

    def p(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(text, style or self.st.body)

    def status(self, code: Any) -> str:
        return self.t(f"pack_status_{code}") if code in STATUS_HEX else "—"

    def quality_detail(self, row: Any) -> str:
        """A data-quality line's detail, led by the indicator's name (never its code) where it has one."""
        code = getattr(row, "indicator_code", None)
        if isinstance(code, str) and code:
            return f"{self.ind_name.get(code, code)}：{row.detail}"
        return str(row.detail)

    # --- sections -------------------------------------------------------------------------------------------

    def heading(self) -> list[Any]:
        m = self.meta
        year, q, month = int(m["year"]), int(m["quarter_number"]), int(m["month"])
        out: list[Any] = [self.p(self.t("pack_title", year=year, q=q), self.st.title)]
        line = self.t(
            "pack_subtitle",
            month=fmt_month(year, month, self.lang),
            cut_off=fmt_date(self.pack.cut_off, self.lang),
            snapshot=self.pack.snapshot_id or "—",
            who=self.pack.created_by,
            when=f"{self.pack.created_at:%Y-%m-%d %H:%M}",
        )
        out.append(self.p(line))
        if m.get("partial_quarter"):
            out.append(self.p(self.t("pack_partial", month=fmt_month(year, month, self.lang)), self.st.warn))
        if m.get("synthetic"):
            out.append(self.p(self.t("pack_synthetic"), self.st.warn))
        out.append(Spacer(1, 4))
        return out

    def briefing(self) -> list[Any]:
        """The written briefing (figures.briefing, frozen with the pack) as the first page, under the title."""
        brief = self.pack.table("briefing")
        brief = brief[brief["lang"] == self.lang] if not brief.empty else brief
        if brief.empty:
            return []
        self._briefed = True
        out = [*self.heading(), self.p(self.t("brief_title"), self.st.h2)]
        out += [self.p(escape(str(text))) for text in brief["text"]]
        out.append(self.p(self.t("brief_caption"), self.st.small))
        return [*out, PageBreak()]

    def chance_lines(self) -> list[str]:
        """'Urban new employment: 35 % chance of reaching 32,400 by December', per flow target of the city."""
        key = self.pack.table("key_figures")
        if "chance" not in key.columns:
            return []
        lines = []
        for r in key[key["chance"].notna()].itertuples():
            said = self.t("chance_sentence", p=percent(float(r.chance)), target=fmt_int(r.target, self.lang))
            lines.append(f"{self.ind_name.get(r.indicator_code, r.indicator_code)}：{said}")
        return lines

    def summary(self) -> list[Any]:
        out = [] if getattr(self, "_briefed", False) else self.heading()
        out.append(self.p(self.t("pack_key_figures"), self.st.h2))
        key = self.pack.table("key_figures")
        head = [
            self.t(k)
            for k in (
                "pack_col_indicator",
                "pack_col_target",
                "pack_col_actual",
                "pack_col_completion",
                "pack_col_progress",
                "pack_col_margin",
                "pack_col_status",
            )
        ]
        rows: list[list[Any]] = [head]
        extra: list[tuple] = []
        for i, r in enumerate(key.itertuples(), start=1):
            rows.append(
                [
                    self.ind_name.get(r.indicator_code, r.indicator_code),
                    target_text(r.target, r.unit, self.lang),
                    value_text(r.actual, r.unit, self.lang),
                    _pct(r.completion_rate) if r.completion_rate == r.completion_rate else "—",
                    _pct(r.time_elapsed_progress) if r.unit not in ("pct", "yes_no") else "—",
                    _pp(r.margin_pp, self.lang),
                    self.status(r.status),
                ]
            )
            extra += self._status_style(6, i, r.status)
        out.append(
            _table(
                rows,
                [70 * mm, 32 * mm, 32 * mm, 28 * mm, 28 * mm, 30 * mm, 24 * mm],
                self.font,
                extra,
                size=9,
            )
        )
        out += [self.p(escape(line), self.st.small) for line in self.chance_lines()]
        out.append(Spacer(1, 6))
        cards = self.pack.table("district_cards")
        counts = {s: int((cards["card"] == s).sum()) if not cards.empty else 0 for s in STATUS_HEX}
        boxes = [
            [
                self.p(f"{self.status(s)}<br/><font size=18>{counts[s]}</font>", self.st.big)
                for s in ("red", "yellow", "green")
            ]
        ]
        box = Table(boxes, colWidths=[60 * mm] * 3, rowHeights=[16 * mm])
        box.setStyle(
            TableStyle(
                [
                    *[
                        ("BACKGROUND", (i, 0), (i, 0), colors.HexColor(STATUS_BG[s]))
                        for i, s in enumerate(("red", "yellow", "green"))
                    ],
                    *[
                        ("BOX", (i, 0), (i, 0), 1.2, colors.HexColor(STATUS_HEX[s]))
                        for i, s in enumerate(("red", "yellow", "green"))
                    ],
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        out.append(self.p(self.t("pack_cards_title"), self.st.h2))
        out.append(box)
        green, yellow = self.meta.get("card_green_score", 80), self.meta.get("card_yellow_score", 60)
        out.append(self.p(self.t("pack_cards_rule", green=green, yellow=yellow), self.st.small))
        cov = self.meta.get("coverage") or {}
        pot = self.meta.get("pot_yuan")
        out.append(Spacer(1, 4))
        out.append(
            self.p(
                self.t(
                    "pack_summary_line",
                    coverage=_pct(cov.get("share")),
                    points=fmt_int(cov.get("points"), self.lang),
                    scheme=scheme_text(self.meta.get("scheme_name"), self.lang),
                    pot=fmt_yuan(pot, self.lang) if pot else "—",
                )
            )
        )
        exc = self.pack.table("exceptions").head(3)
        out.append(self.p(self.t("pack_top_exceptions"), self.st.h2))
        if exc.empty:
            out.append(self.p(self.t("pack_no_exceptions")))
        for r in exc.itertuples():
            names = "、".join(self.ind_name.get(c, c) for c in str(r.red_indicators).split(","))
            out.append(
                self.p(
                    self.t(
                        "pack_exception_line",
                        area=getattr(r, self.name_col),
                        n=int(r.n_red),
                        indicators=names,
                    )
                )
            )
        out.append(PageBreak())
        return out

    def _status_style(self, col: int, row: int, status: Any) -> list[tuple]:
        if status not in STATUS_HEX:
            return []
        return [
            ("BACKGROUND", (col, row), (col, row), colors.HexColor(STATUS_BG[status])),
            ("TEXTCOLOR", (col, row), (col, row), colors.HexColor(STATUS_HEX[status])),
        ]

    def progress(self) -> list[Any]:
        out: list[Any] = [self.p(self.t("pack_sec_progress"), self.st.h1)]
        curve = self.pack.table("city_curve")
        png = chart_png(curve, self.lang) if not curve.empty else None
        if png:
            out.append(Image(io.BytesIO(png), width=150 * mm, height=62 * mm))
            out.append(self.p(self.t("pack_chart_caption"), self.st.small))
        out.append(Spacer(1, 4))
        out.append(self.p(self.t("pack_matrix_title"), self.st.h2))
        ranking = self.pack.table("ranking")
        if ranking.empty:
            out.append(self.p(self.t("pack_none")))
            return [*out, PageBreak()]
        codes = list(dict.fromkeys(ranking.sort_values("sort_order")["indicator_code"]))
        areas = ranking.drop_duplicates("area_code").sort_values("area_code")
        head = [self.t("pack_col_area"), *[self.p(self.ind_name.get(c, c), self.st.small) for c in codes]]
        rows: list[list[Any]] = [head]
        extra: list[tuple] = []
        by = ranking.set_index(["area_code", "indicator_code"])
        for i, a in enumerate(areas.itertuples(), start=1):
            row: list[Any] = [getattr(a, self.name_col)]
            for j, c in enumerate(codes, start=1):
                if (a.area_code, c) in by.index:
                    r = by.loc[(a.area_code, c)]
                    row.append(rank_text(r["rank"]))
                    extra += self._status_style(j, i, r["status"])
                else:
                    row.append("")
            rows.append(row)
        width = (PAGE[0] - 2 * MARGIN - 32 * mm) / max(len(codes), 1)
        extra.append(("ALIGN", (1, 1), (-1, -1), "CENTER"))
        out.append(_table(rows, [32 * mm] + [width] * len(codes), self.font, extra, size=7.5))
        out.append(self.p(self.t("pack_matrix_caption"), self.st.small))
        return [*out, PageBreak()]

    def rankings(self) -> list[Any]:
        out: list[Any] = [self.p(self.t("pack_sec_ranking"), self.st.h1)]
        ranking = self.pack.table("ranking")
        for code, rows_df in ranking.groupby("indicator_code", sort=False):
            rows_df = rows_df.sort_values(["rank", "area_code"])
            unit = str(rows_df["unit"].iloc[0])
            direction = str(rows_df["direction"].iloc[0])
            flow = direction not in ("control", "yes_no")
            head = [
                self.t(k)
                for k in (
                    "pack_col_rank",
                    "pack_col_area",
                    "pack_col_zone",
                    "pack_col_target",
                    "pack_col_actual",
                )
            ]
            head += (
                [self.t("pack_col_completion"), self.t("pack_col_progress"), self.t("pack_col_gap")]
                if flow
                else [self.t("pack_col_margin")]
            )
            head += [self.t(k) for k in ("pack_col_status", "pack_col_peer_rank", "pack_col_rank_change")]
            rows: list[list[Any]] = [head]
            extra: list[tuple] = []
            for i, r in enumerate(rows_df.itertuples(), start=1):
                row = [
                    rank_text(r.rank),
                    getattr(r, self.name_col),
                    self.t(f"pack_zone_{r.zone}"),
                    target_text(r.target, unit, self.lang),
                    value_text(r.actual, unit, self.lang),
                ]
                if flow:
                    gap = (
                        "—"
                        if r.pace_gap != r.pace_gap or r.pace_gap is None
                        else value_text(r.pace_gap, unit, self.lang)
                    )
                    row += [
                        _pct(r.completion_rate) if r.completion_rate == r.completion_rate else "—",
                        _pct(r.time_elapsed_progress),
                        gap,
                    ]
                else:
                    row += [_pp(r.margin_pp, self.lang) if direction == "control" else "—"]
                row += [self.status(r.status), rank_text(r.peer_rank), rank_change_text(r.rank_change)]
                rows.append(row)
                extra += self._status_style(len(row) - 3, i, r.status)
            n = len(head)
            widths = [14 * mm, 34 * mm, 18 * mm] + [(PAGE[0] - 2 * MARGIN - 66 * mm - 46 * mm) / (n - 6)] * (
                n - 6
            )
            widths += [18 * mm, 14 * mm, 14 * mm]
            title = self.p(self.t("pack_ranking_title", indicator=self.ind_name.get(code, code)), self.st.h2)
            extra.append(("ALIGN", (3, 1), (-1, -1), "RIGHT"))
            out.append(CondPageBreak(len(rows) * 13 + 30))
            out.append(KeepTogether([title, _table(rows, widths, self.font, extra)]))
        if ranking["suppressed"].astype(bool).any() if "suppressed" in ranking else False:
            out.append(
                self.p(self.t("pack_suppressed_note", k=self.meta.get("min_cell_persons")), self.st.small)
            )
        return [*out, PageBreak()]

    def exceptions(self) -> list[Any]:
        out: list[Any] = [
            self.p(self.t("pack_sec_exceptions"), self.st.h1),
            self.p(self.t("pack_exceptions_help"), self.st.small),
            Spacer(1, 4),
        ]
        exc = self.pack.table("exceptions")
        if exc.empty:
            return [*out, self.p(self.t("pack_no_exceptions")), PageBreak()]
        head = [
            self.t(k)
            for k in (
                "pack_col_area",
                "pack_col_red_indicators",
                "pack_col_cause",
                "pack_col_owner",
                "pack_col_action",
            )
        ]
        rows: list[list[Any]] = [head]
        for r in exc.itertuples():
            names = "、".join(self.ind_name.get(c, c) for c in str(r.red_indicators).split(","))
            rows.append([getattr(r, self.name_col), self.p(names, self.st.cell), "", "", ""])
        widths = [30 * mm, 80 * mm, 60 * mm, 30 * mm, PAGE[0] - 2 * MARGIN - 200 * mm]
        table = _table(rows, widths, self.font, [("VALIGN", (0, 0), (-1, -1), "TOP")])
        table._argH[1:] = [14 * mm] * (len(rows) - 1)  # room to write by hand
        return [*out, table, PageBreak()]

    def funds(self) -> list[Any]:
        m = self.meta
        out: list[Any] = [
            self.p(self.t("pack_sec_funds"), self.st.h1),
            self.p(
                self.t(
                    "pack_funds_intro",
                    scheme=scheme_text(m.get("scheme_name"), self.lang),
                    pot=fmt_yuan(m.get("pot_yuan"), self.lang) if m.get("pot_yuan") else "—",
                    year=m.get("pot_year"),
                ),
                self.st.small,
            ),
        ]
        if m.get("funds_note"):
            out.append(self.p(str(m["funds_note"]), self.st.warn))
        scores = self.pack.table("fund_scores")
        alloc = self.pack.table("allocation")
        left: list[list[Any]] = [
            [
                self.t("pack_col_rank"),
                self.t("pack_col_area"),
                self.t("pack_col_score"),
                self.t("pack_col_grade"),
            ]
        ]
        for r in scores.itertuples():
            grade = (
                label(f"pack_grade_{r.grade}", r.grade, self.lang)
                if isinstance(r.grade, str) and r.grade
                else "—"
            )
            left.append(
                [int(r.rank) if r.rank == r.rank else "—", getattr(r, self.name_col), f"{r.score:.1f}", grade]
            )
        right: list[list[Any]] = [
            [
                self.t("pack_col_area"),
                self.t("pack_col_alloc"),
                self.t("pack_col_last_year"),
                self.t("pack_col_change"),
                self.t("pack_col_share"),
            ]
        ]
        for r in alloc.itertuples():
            right.append(
                [
                    getattr(r, self.name_col),
                    fmt_yuan(r.amount_yuan, self.lang),
                    fmt_yuan(r.last_year_yuan, self.lang),
                    fmt_yuan(r.change_yuan, self.lang),
                    _pct(r.share),
                ]
            )
        if len(right) > 1:
            right.append(
                [
                    self.t("pack_total"),
                    fmt_yuan(float(alloc["amount_yuan"].sum()), self.lang),
                    fmt_yuan(float(alloc["last_year_yuan"].sum()), self.lang),
                    "",
                    "",
                ]
            )
        lt = _table(left, [14 * mm, 34 * mm, 20 * mm, 22 * mm], self.font)
        rt = (
            _table(right, [34 * mm, 30 * mm, 30 * mm, 28 * mm, 20 * mm], self.font)
            if len(right) > 1
            else self.p(self.t("pack_none"))
        )
        side = Table(
            [
                [
                    self.p(self.t("pack_scores_title"), self.st.h2),
                    self.p(self.t("pack_alloc_title"), self.st.h2),
                ],
                [lt, rt],
            ],
            colWidths=[100 * mm, PAGE[0] - 2 * MARGIN - 100 * mm],
        )
        side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return [*out, Spacer(1, 4), side, PageBreak()]

    def coverage(self) -> list[Any]:
        cov = self.pack.table("coverage")
        m = self.meta.get("coverage") or {}
        rule = self.meta.get("coverage_rule") or {}
        out: list[Any] = [
            self.p(self.t("pack_sec_coverage"), self.st.h1),
            self.p(
                self.t(
                    "pack_coverage_intro",
                    share=_pct(m.get("share")),
                    points=fmt_int(m.get("points"), self.lang),
                    minutes=f"{rule.get('minutes', 15):g}",
                    date=fmt_date(date.fromisoformat(self.meta["as_of"]), self.lang),
                ),
                self.st.small,
            ),
        ]
        rows: list[list[Any]] = [
            [
                self.t("pack_col_area"),
                self.t("pack_col_people"),
                self.t("pack_col_covered"),
                self.t("pack_col_share"),
                self.t("pack_col_points"),
            ]
        ]
        for r in cov.itertuples():
            rows.append(
                [
                    getattr(r, self.name_col),
                    fmt_int(r.people, self.lang),
                    fmt_int(r.covered_people, self.lang),
                    _pct(r.covered_share),
                    int(r.points),
                ]
            )
        table = _table(
            rows,
            [32 * mm, 28 * mm, 28 * mm, 20 * mm, 18 * mm],
            self.font,
            [("ALIGN", (1, 1), (-1, -1), "RIGHT")],
        )
        drawing = coverage_map(
            self.pack.table("boundaries"),
            cov,
            self.font,
            self.name_col,
            self.lang,
            width=140 * mm,
            height=120 * mm,
        )
        side = Table(
            [[drawing or self.p(self.t("pack_no_map")), table]],
            colWidths=[150 * mm, PAGE[0] - 2 * MARGIN - 150 * mm],
        )
        side.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return [*out, side, PageBreak()]

    def forecasts(self) -> list[Any]:
        out: list[Any] = [self.p(self.t("pack_sec_forecast"), self.st.h1)]
        fc = self.pack.table("forecast")
        m = self.meta
        if fc.empty:
            return [*out, self.p(self.t("pack_no_forecast"))]
        out.append(
            self.p(
                self.t(
                    "pack_forecast_intro",
                    run=m.get("forecast_run_id"),
                    model=version_text(m.get("model_version")),
                    cut_off=m.get("forecast_cut_off") or "—",
                ),
                self.st.small,
            )
        )
        control = self.pack.table("key_figures")
        line = control.loc[control["indicator_code"] == "registered_unemployment_rate", "target"]
        if not line.empty:
            out.append(self.p(self.t("pack_control_line", line=f"{float(line.iloc[0]):.2f}%"), self.st.small))
        for code, part in fc.groupby("indicator_code", sort=False):
            unit = "pct" if code == "registered_unemployment_rate" else "persons"
            rows: list[list[Any]] = [
                [
                    self.t(k)
                    for k in (
                        "pack_col_month",
                        "pack_col_mean",
                        "pack_col_pi80",
                        "pack_col_pi95",
                        "pack_col_model",
                    )
                ]
            ]
            for r in part.head(12).itertuples():
                rows.append(
                    [
                        fmt_month(int(r.year), int(r.month), self.lang),
                        value_text(r.mean, unit, self.lang),
                        f"{value_text(r.lo_80, unit, self.lang)} – {value_text(r.hi_80, unit, self.lang)}",
                        f"{value_text(r.lo_95, unit, self.lang)} – {value_text(r.hi_95, unit, self.lang)}",
                        model_text(r.model, self.lang),
                    ]
                )
            out.append(
                KeepTogether(
                    [
                        self.p(self.ind_name.get(code, code), self.st.h2),
                        _table(rows, [28 * mm, 28 * mm, 50 * mm, 50 * mm, 40 * mm], self.font),
                    ]
                )
            )
        return out

    def notes(self) -> list[Any]:
        m = self.meta
        out: list[Any] = [CondPageBreak(120 * mm), self.p(self.t("pack_sec_method"), self.st.h1)]
        for key in (
            "pack_note_completion",
            "pack_note_pace",
            "pack_note_status",
            "pack_note_cards",
            "pack_note_scoring",
            "pack_note_coverage",
            "pack_note_forecast",
            "pack_note_privacy",
        ):
            out.append(
                self.p(
                    self.t(
                        key,
                        margin=m.get("yellow_margin_pp"),
                        green=m.get("card_green_score", 80),
                        yellow=m.get("card_yellow_score", 60),
                        cushion=m.get("control_cushion_pp"),
                        scheme=scheme_text(m.get("scheme_name"), self.lang),
                        k=m.get("min_cell_persons"),
                    ),
                    self.st.small,
                )
            )
            out.append(Spacer(1, 2))
        dq = self.pack.table("data_quality")
        out.append(self.p(self.t("pack_sec_quality"), self.st.h1))
        counts = {
            c: int((dq["check"] == c).sum()) if not dq.empty else 0
            for c in ("missing", "late", "unreconciled", "outlier")
        }
        out.append(self.p(self.t("pack_quality_counts", **counts)))
        if not dq.empty:
            names = dict(
                zip(
                    self.pack.table("district_cards")["area_code"],
                    self.pack.table("district_cards")[self.name_col],
                    strict=True,
                )
            )
            rows: list[list[Any]] = [
                [self.t(k) for k in ("pack_col_check", "pack_col_area", "pack_col_month", "pack_col_detail")]
            ]
            for r in dq.head(60).itertuples():
                rows.append(
                    [
                        self.t(f"pack_check_{r.check}"),
                        names.get(r.area_code, r.area_code),
                        fmt_month(int(r.year), int(r.month), self.lang),
                        self.quality_detail(r),
                    ]
                )
            out.append(_table(rows, [30 * mm, 34 * mm, 30 * mm, 90 * mm], self.font))
            if len(dq) > 60:
                out.append(self.p(self.t("pack_more_rows", n=len(dq) - 60), self.st.small))
        out.append(Spacer(1, 6))
        out.append(
            self.p(
                self.t(
                    "pack_about_line",
                    scheme=scheme_text(m.get("scheme_name"), self.lang),
                    model=version_text(m.get("model_version")),
                    snapshot=self.pack.snapshot_id or "—",
                ),
                self.st.small,
            )
        )
        return out

    def footer(self, canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(self.font, 7.5)
        text = self.t(
            "pack_footer",
            page=doc.page,
            quarter=fmt_quarter(self.pack.quarter, self.lang),
            cut_off=fmt_date(self.pack.cut_off, self.lang),
            snapshot=self.pack.snapshot_id or "—",
        )
        if self.meta.get("synthetic"):
            text += " · " + self.t("pack_synthetic_short")
        canvas.drawString(MARGIN, 8 * mm, text)
        canvas.drawRightString(PAGE[0] - MARGIN, 8 * mm, self.t("pack_page", page=doc.page))
        canvas.restoreState()

    def render(self) -> bytes:
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=PAGE,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN + 4 * mm,
            title=self.t("pack_title", year=self.meta["year"], q=self.meta["quarter_number"]),
            author=self.pack.created_by,
            subject=f"snapshot {self.pack.snapshot_id}",
        )
        story = [
            *self.briefing(),
            *self.summary(),
            *self.progress(),
            *self.rankings(),
            *self.exceptions(),
            *self.funds(),
            *self.coverage(),
            *self.forecasts(),
            *self.notes(),
        ]
        doc.build(story, onFirstPage=self.footer, onLaterPages=self.footer)
        return buffer.getvalue()


def chart_png(curve: pd.DataFrame, lang: str) -> bytes | None:
    """The city's cumulative urban new employment against the linear and seasonal pace lines and the target, as a
    PNG rendered offline by vl-convert (None when vl-convert is unavailable)."""
    try:
        import altair as alt
        import vl_convert
    except ImportError:
        return None
    family = fonts.register_for_charts()
    names = {
        "cumulative": t("pack_series_actual", lang),
        "linear": t("pack_series_linear", lang),
        "seasonal": t("pack_series_seasonal", lang),
        "target": t("pack_series_target", lang),
    }
    long = curve[["month", *names]].melt(id_vars="month", var_name="series", value_name="persons").dropna()
    long["series"] = long["series"].map(names)
    chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title=t("pack_col_month", lang)),
            y=alt.Y("persons:Q", title=t("pack_series_axis", lang)),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(
                    domain=list(names.values()), range=["#1565c0", "#9e9e9e", "#f9a825", "#c62828"]
                ),
            ),
            strokeDash=alt.condition(
                alt.datum.series == names["cumulative"], alt.value([1, 0]), alt.value([4, 3])
            ),
        )
        .properties(width=560, height=210)
        .configure(font=family)
    )
    return bytes(vl_convert.vegalite_to_png(chart.to_dict(), scale=2))


def _rings(geojson: str) -> list[list[tuple[float, float]]]:
    geo = json.loads(geojson)
    if geo.get("type") == "Feature":
        geo = geo["geometry"]
    if geo.get("type") == "Polygon":
        return [[(float(x), float(y)) for x, y, *_ in geo["coordinates"][0]]]
    if geo.get("type") == "MultiPolygon":
        return [[(float(x), float(y)) for x, y, *_ in poly[0]] for poly in geo["coordinates"]]
    return []


def _blue(share: float | None) -> colors.Color:
    if share is None or share != share:
        return colors.HexColor("#eeeeee")
    s = min(max(float(share), 0.0), 1.0)
    lo, hi = (0.89, 0.94, 0.99), (0.05, 0.28, 0.63)
    return colors.Color(*(a + (b - a) * s for a, b in zip(lo, hi, strict=True)))


def coverage_map(
    bounds: pd.DataFrame, cov: pd.DataFrame, font: str, name_col: str, lang: str, width: float, height: float
) -> Drawing | None:
    """District outlines filled by coverage share (light → dark blue), labelled with name and share."""
    if bounds.empty:
        return None
    shapes = {r.area_code: _rings(r.boundary_geojson) for r in bounds.itertuples() if r.boundary_geojson}
    points = [pt for rings in shapes.values() for ring in rings for pt in ring]
    if not points:
        return None
    import math

    xs, ys = [p[0] for p in points], [p[1] for p in points]
    k = math.cos(math.radians((min(ys) + max(ys)) / 2))
    span_x, span_y = (max(xs) - min(xs)) * k or 1.0, (max(ys) - min(ys)) or 1.0
    legend_h = 14.0
    scale = min(width / span_x, (height - legend_h) / span_y)
    x0, y0 = min(xs), min(ys)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - x0) * k * scale, (lat - y0) * scale + legend_h

    share = dict(zip(cov["area_code"], cov["covered_share"], strict=True)) if not cov.empty else {}
    names = dict(zip(cov["area_code"], cov[name_col], strict=True)) if not cov.empty else {}
    d = Drawing(width, height)
    labels = []
    for code, rings in shapes.items():
        for ring in rings:
            flat = [v for pt in ring for v in xy(*pt)]
            d.add(Polygon(flat, fillColor=_blue(share.get(code)), strokeColor=colors.white, strokeWidth=0.6))
        biggest = max(rings, key=len)
        cx = sum(p[0] for p in biggest) / len(biggest)
        cy = sum(p[1] for p in biggest) / len(biggest)
        drawn = [xy(*pt)[0] for pt in biggest]
        labels.append((xy(cx, cy), code, max(drawn) - min(drawn)))
    for (x, y), code, size in labels:
        value = share.get(code)
        dark = value is not None and value == value and value > 0.55
        fill = colors.white if dark else colors.black
        if size < 45:  # a small central district: its share only, the name is in the table beside the map
            d.add(
                String(
                    x,
                    y - 2,
                    fmt_pct(value, 0),
                    fontName=font,
                    fontSize=5,
                    textAnchor="middle",
                    fillColor=fill,
                )
            )
            continue
        d.add(
            String(
                x,
                y + 1,
                str(names.get(code, code)),
                fontName=font,
                fontSize=6.5,
                textAnchor="middle",
                fillColor=fill,
            )
        )
        d.add(
            String(
                x, y - 7, fmt_pct(value, 0), fontName=font, fontSize=6.5, textAnchor="middle", fillColor=fill
            )
        )
    for i, s in enumerate((0.0, 0.25, 0.5, 0.75, 1.0)):
        d.add(Rect(i * 22, 0, 22, 6, fillColor=_blue(s), strokeColor=None))
        d.add(String(i * 22 + 11, 7.5, f"{int(s * 100)}%", fontName=font, fontSize=5.5, textAnchor="middle"))
    d.add(String(5 * 22 + 6, 1, t("pack_map_legend", lang), fontName=font, fontSize=6))
    return d


def render(pack: Pack, lang: str = "zh") -> bytes:
    """The PDF of a stored pack in ``lang`` ("zh" or "en")."""
    return _Renderer(pack, lang if lang in ("zh", "en") else "zh").render()
