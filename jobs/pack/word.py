"""The meeting pack and the written briefing as Word documents (python-docx): Chinese government meeting materials
are edited in Word / WPS.

The pack has the PDF's sections in the PDF's order (briefing, key figures, progress, rankings, exceptions,
funds, coverage, forecasts, method and data quality), with the tables as real Word tables and the charts as images
(Altair rendered offline by vl-convert). Every figure comes from the frozen snapshot, formatted by the PDF's own
helpers, so the two files say the same numbers. Chinese text needs the East Asian font named in ``w:eastAsia`` of
``w:rFonts``: Word otherwise falls back to a Latin font and shows boxes on some systems.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pandas as pd
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from figures.briefing import Briefing
from figures.chance import percent
from i18n import fmt_date, fmt_int, fmt_month, t
from jobs.pack.excel import sheet_frame
from jobs.pack.pdf import (
    STATUS_BG,
    _pct,
    _pp,
    chart_png,
    model_text,
    rank_text,
    scheme_text,
    target_text,
    value_text,
    version_text,
)
from jobs.pack.snapshot import Pack

LATIN_FONT = "Arial"
CJK_FONT = "宋体"  # SimSun: on every Chinese Windows and WPS; Word substitutes a CJK font elsewhere


def set_fonts(document: Any) -> None:
    """The document's default fonts, the East Asian one in ``w:eastAsia`` (every style inherits Normal's)."""
    for style_name in ("Normal", "Title", "Heading 1", "Heading 2", "Table Grid"):
        try:
            style = document.styles[style_name]
        except KeyError:
            continue
        style.font.name = LATIN_FONT
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            rpr.append(fonts)
        for attr in ("w:ascii", "w:hAnsi", "w:cs"):
            fonts.set(qn(attr), LATIN_FONT)
        fonts.set(qn("w:eastAsia"), CJK_FONT)
    document.styles["Normal"].font.size = Pt(10.5)


def _landscape(document: Any) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.4))


def hyperlink(paragraph: Any, text: str, url: str) -> None:
    """A clickable link run (python-docx has no API for it: the relationship and ``w:hyperlink`` by hand)."""
    rel = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel)
    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    colour = OxmlElement("w:color")
    colour.set(qn("w:val"), "1565C0")
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    rpr.append(colour)
    rpr.append(underline)
    run.append(rpr)
    node = OxmlElement("w:t")
    node.text = text
    node.set(qn("xml:space"), "preserve")
    run.append(node)
    link.append(run)
    paragraph._p.append(link)


def briefing_paragraphs(document: Any, brief: Briefing, links: bool = True) -> None:
    """The briefing's sentences, one paragraph each; each number a link when ``links``."""
    for sentence in brief.sentences:
        p = document.add_paragraph()
        for text, url in sentence.segments or ((sentence.text, None),):
            if url and links:
                hyperlink(p, text, url)
            else:
                p.add_run(text)


def _shade(cell: Any, hex_fill: str) -> None:
    props = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), hex_fill.lstrip("#"))
    props.append(shd)


def table(
    document: Any,
    head: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fills: dict[tuple[int, int], str] | None = None,
) -> Any:
    """A real Word table: a header row, then ``rows`` (text); ``fills`` shades cells (row, column) by colour."""
    out = document.add_table(rows=1, cols=len(head))
    out.style = "Table Grid"
    for j, text in enumerate(head):
        cell = out.rows[0].cells[j]
        cell.text = str(text)
        cell.paragraphs[0].runs[0].font.bold = True
        _shade(cell, "#E3E8F0")
    for i, row in enumerate(rows, start=1):
        cells = out.add_row().cells
        for j, value in enumerate(row):
            cells[j].text = "" if value is None else str(value)
            if fills and (i, j) in fills:
                _shade(cells[j], fills[(i, j)])
    for row in out.rows:
        for cell in row.cells:
            for par in cell.paragraphs:
                for run in par.runs:
                    run.font.size = Pt(9)
    return out


def _page_break(document: Any) -> None:
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _small(document: Any, text: str) -> None:
    run = document.add_paragraph().add_run(text)
    run.font.size = Pt(8.5)
    run.font.color.rgb = RGBColor(0x55, 0x5B, 0x66)


class _Writer:
    def __init__(self, pack: Pack, lang: str) -> None:
        self.pack, self.lang = pack, lang
        self.meta = pack.meta
        self.name_col = "name_zh" if lang == "zh" else "name_en"
        inds = pack.table("indicators")
        self.ind_name = dict(zip(inds["code"], inds[self.name_col], strict=True)) if not inds.empty else {}
        self.doc = Document()
        set_fonts(self.doc)
        _landscape(self.doc)

    def t(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)

    def status(self, code: Any) -> str:
        return self.t(f"pack_status_{code}") if code in STATUS_BG else "—"

    def heading(self) -> None:
        m = self.meta
        year, q, month = int(m["year"]), int(m["quarter_number"]), int(m["month"])
        self.doc.add_heading(self.t("pack_title", year=year, q=q), level=0)
        self.doc.add_paragraph(
            self.t(
                "pack_subtitle",
                month=fmt_month(year, month, self.lang),
                cut_off=fmt_date(self.pack.cut_off, self.lang),
                snapshot=self.pack.snapshot_id or "—",
                who=self.pack.created_by,
                when=f"{self.pack.created_at:%Y-%m-%d %H:%M}",
            )
        )
        if m.get("partial_quarter"):
            self.doc.add_paragraph(self.t("pack_partial", month=fmt_month(year, month, self.lang)))
        if m.get("synthetic"):
            self.doc.add_paragraph(self.t("pack_synthetic"))

    def briefing(self) -> None:
        brief = self.pack.table("briefing")
        brief = brief[brief["lang"] == self.lang] if not brief.empty else brief
        if brief.empty:
            return
        self.doc.add_heading(self.t("brief_title"), level=1)
        for text in brief["text"]:
            self.doc.add_paragraph(str(text))
        _small(self.doc, self.t("brief_caption"))
        _page_break(self.doc)

    def summary(self) -> None:
        self.doc.add_heading(self.t("pack_key_figures"), level=1)
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
        rows, fills = [], {}
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
            if r.status in STATUS_BG:
                fills[(i, 6)] = STATUS_BG[r.status]
        table(self.doc, head, rows, fills)
        if "chance" in key.columns:
            for r in key[key["chance"].notna()].itertuples():
                said = self.t(
                    "chance_sentence", p=percent(float(r.chance)), target=fmt_int(r.target, self.lang)
                )
                _small(self.doc, f"{self.ind_name.get(r.indicator_code, r.indicator_code)}：{said}")
        cards = self.pack.table("district_cards")
        self.doc.add_heading(self.t("pack_cards_title"), level=2)
        counts = [
            str(int((cards["card"] == s).sum())) if not cards.empty else "0"
            for s in ("red", "yellow", "green")
        ]
        table(
            self.doc,
            [self.status(s) for s in ("red", "yellow", "green")],
            [counts],
            {(1, j): STATUS_BG[s] for j, s in enumerate(("red", "yellow", "green"))},
        )
        green, yellow = self.meta.get("card_green_score", 80), self.meta.get("card_yellow_score", 60)
        _small(self.doc, self.t("pack_cards_rule", green=green, yellow=yellow))
        self.doc.add_heading(self.t("pack_top_exceptions"), level=2)
        exc = self.pack.table("exceptions").head(3)
        if exc.empty:
            self.doc.add_paragraph(self.t("pack_no_exceptions"))
        for r in exc.itertuples():
            names = "、".join(self.ind_name.get(c, c) for c in str(r.red_indicators).split(","))
            self.doc.add_paragraph(
                self.t(
                    "pack_exception_line", area=getattr(r, self.name_col), n=int(r.n_red), indicators=names
                )
            )
        _page_break(self.doc)

    def progress(self) -> None:
        self.doc.add_heading(self.t("pack_sec_progress"), level=1)
        curve = self.pack.table("city_curve")
        png = chart_png(curve, self.lang) if not curve.empty else None
        if png:
            self.doc.add_picture(io.BytesIO(png), width=Cm(22))
            _small(self.doc, self.t("pack_chart_caption"))
        self.doc.add_heading(self.t("pack_matrix_title"), level=2)
        ranking = self.pack.table("ranking")
        if ranking.empty:
            self.doc.add_paragraph(self.t("pack_none"))
            _page_break(self.doc)
            return
        codes = list(dict.fromkeys(ranking.sort_values("sort_order")["indicator_code"]))
        areas = ranking.drop_duplicates("area_code").sort_values("area_code")
        by = ranking.set_index(["area_code", "indicator_code"])
        rows, fills = [], {}
        for i, a in enumerate(areas.itertuples(), start=1):
            row = [getattr(a, self.name_col)]
            for j, c in enumerate(codes, start=1):
                if (a.area_code, c) in by.index:
                    r = by.loc[(a.area_code, c)]
                    row.append(rank_text(r["rank"]))
                    if r["status"] in STATUS_BG:
                        fills[(i, j)] = STATUS_BG[r["status"]]
                else:
                    row.append("")
            rows.append(row)
        table(self.doc, [self.t("pack_col_area"), *[self.ind_name.get(c, c) for c in codes]], rows, fills)
        _small(self.doc, self.t("pack_matrix_caption"))
        _page_break(self.doc)

    def rankings(self) -> None:
        self.doc.add_heading(self.t("pack_sec_ranking"), level=1)
        ranking = self.pack.table("ranking")
        for code, part in ranking.groupby("indicator_code", sort=False):
            part = part.sort_values(["rank", "area_code"])
            unit, direction = str(part["unit"].iloc[0]), str(part["direction"].iloc[0])
            flow = direction not in ("control", "yes_no")
            chance = flow and "chance" in part.columns and part["chance"].notna().any()
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
            head += [self.t("pack_col_status")] + ([self.t("col_chance")] if chance else [])
            head += [self.t("pack_col_peer_rank"), self.t("pack_col_rank_change")]
            rows, fills = [], {}
            for i, r in enumerate(part.itertuples(), start=1):
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
                        if r.pace_gap is None or r.pace_gap != r.pace_gap
                        else value_text(r.pace_gap, unit, self.lang)
                    )
                    row += [
                        _pct(r.completion_rate) if r.completion_rate == r.completion_rate else "—",
                        _pct(r.time_elapsed_progress),
                        gap,
                    ]
                else:
                    row.append(_pp(r.margin_pp, self.lang))
                if r.status in STATUS_BG:
                    fills[(i, len(row))] = STATUS_BG[r.status]
                row.append(self.status(r.status))
                if chance:
                    row.append(percent(float(r.chance)) if r.chance == r.chance else "—")
                change = r.rank_change
                row += [
                    rank_text(r.peer_rank),
                    "—"
                    if change != change or change is None or change == 0
                    else (f"▲{int(change)}" if change > 0 else f"▼{-int(change)}"),
                ]
                rows.append(row)
            self.doc.add_heading(self.ind_name.get(code, code), level=2)
            table(self.doc, head, rows, fills)
        _page_break(self.doc)

    def exceptions(self) -> None:
        self.doc.add_heading(self.t("pack_sec_exceptions"), level=1)
        _small(self.doc, self.t("pack_exceptions_help"))
        exc = self.pack.table("exceptions")
        if exc.empty:
            self.doc.add_paragraph(self.t("pack_no_exceptions"))
        else:
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
            rows = [
                [
                    getattr(r, self.name_col),
                    "、".join(self.ind_name.get(c, c) for c in str(r.red_indicators).split(",")),
                    "",
                    "",
                    "",
                ]
                for r in exc.itertuples()
            ]
            table(self.doc, head, rows)
        _page_break(self.doc)

    def frame(self, name: str, headed: bool = True) -> None:
        """A snapshot table as the Excel export shows it (translated names, the same headers)."""
        frame = sheet_frame(self.pack, name, self.lang)
        drop = ("area_code", "indicator_code", "missing")  # codes; a score's missing inputs (not in the PDF)
        frame = frame.drop(columns=[c for c in drop if c in frame.columns])
        if frame.empty:
            self.doc.add_paragraph(self.t("pack_none"))
            return
        rows = [
            [_cell(col, v, self.lang) for col, v in zip(frame.columns, r, strict=True)]
            for r in frame.itertuples(index=False)
        ]
        table(self.doc, [t(f"pack_h_{c}", self.lang) for c in frame.columns], rows)

    def funds(self) -> None:
        self.doc.add_heading(self.t("pack_sec_funds"), level=1)
        self.frame("fund_scores")
        self.doc.add_paragraph()
        self.frame("allocation")
        _page_break(self.doc)

    def coverage(self) -> None:
        self.doc.add_heading(self.t("pack_sec_coverage"), level=1)
        self.frame("coverage")
        _page_break(self.doc)

    def forecasts(self) -> None:
        self.doc.add_heading(self.t("pack_sec_forecast"), level=1)
        fc = self.pack.table("forecast")
        m = self.meta
        if fc.empty:
            self.doc.add_paragraph(self.t("pack_no_forecast"))
            return
        _small(
            self.doc,
            self.t(
                "pack_forecast_intro",
                run=m.get("forecast_run_id"),
                model=version_text(m.get("model_version")),
                cut_off=m.get("forecast_cut_off") or "—",
            ),
        )
        control = self.pack.table("key_figures")
        line = control.loc[control["indicator_code"] == "registered_unemployment_rate", "target"]
        if not line.empty:
            _small(self.doc, self.t("pack_control_line", line=f"{float(line.iloc[0]):.2f}%"))
        for code, part in fc.groupby("indicator_code", sort=False):
            unit = "pct" if code == "registered_unemployment_rate" else "persons"
            self.doc.add_heading(self.ind_name.get(code, code), level=2)
            png = forecast_png(
                part, self.lang, float(line.iloc[0]) if unit == "pct" and not line.empty else None
            )
            if png:
                self.doc.add_picture(io.BytesIO(png), width=Cm(18))
            head = [
                self.t(k)
                for k in (
                    "pack_col_month",
                    "pack_col_mean",
                    "pack_col_pi80",
                    "pack_col_pi95",
                    "pack_col_model",
                )
            ]
            rows = [
                [
                    fmt_month(int(r.year), int(r.month), self.lang),
                    value_text(r.mean, unit, self.lang),
                    f"{value_text(r.lo_80, unit, self.lang)} – {value_text(r.hi_80, unit, self.lang)}",
                    f"{value_text(r.lo_95, unit, self.lang)} – {value_text(r.hi_95, unit, self.lang)}",
                    model_text(r.model, self.lang),
                ]
                for r in part.head(12).itertuples()
            ]
            table(self.doc, head, rows)

    def notes(self) -> None:
        m = self.meta
        _page_break(self.doc)
        self.doc.add_heading(self.t("pack_sec_method"), level=1)
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
            _small(
                self.doc,
                self.t(
                    key,
                    margin=m.get("yellow_margin_pp"),
                    green=m.get("card_green_score", 80),
                    yellow=m.get("card_yellow_score", 60),
                    cushion=m.get("control_cushion_pp"),
                    scheme=scheme_text(m.get("scheme_name"), self.lang),
                    k=m.get("min_cell_persons"),
                ),
            )
        self.doc.add_heading(self.t("pack_sec_quality"), level=1)
        dq = self.pack.table("data_quality")
        counts = {
            c: int((dq["check"] == c).sum()) if not dq.empty else 0
            for c in ("missing", "late", "unreconciled", "outlier")
        }
        self.doc.add_paragraph(self.t("pack_quality_counts", **counts))
        if not dq.empty:
            cards = self.pack.table("district_cards")
            names = dict(zip(cards["area_code"], cards[self.name_col], strict=True))
            rows = []
            for r in dq.head(60).itertuples():
                code = getattr(r, "indicator_code", None)
                detail = (
                    f"{self.ind_name.get(code, code)}：{r.detail}"
                    if isinstance(code, str) and code
                    else str(r.detail)
                )
                rows.append(
                    [
                        self.t(f"pack_check_{r.check}"),
                        names.get(r.area_code, r.area_code),
                        fmt_month(int(r.year), int(r.month), self.lang),
                        detail,
                    ]
                )
            table(
                self.doc,
                [self.t(k) for k in ("pack_col_check", "pack_col_area", "pack_col_month", "pack_col_detail")],
                rows,
            )
        _small(
            self.doc,
            self.t(
                "pack_about_line",
                scheme=scheme_text(m.get("scheme_name"), self.lang),
                model=version_text(m.get("model_version")),
                snapshot=self.pack.snapshot_id or "—",
            ),
        )

    def render(self) -> bytes:
        self.heading()
        self.briefing()
        self.summary()
        self.progress()
        self.rankings()
        self.exceptions()
        self.funds()
        self.coverage()
        self.forecasts()
        self.notes()
        props = self.doc.core_properties
        props.title = self.t("pack_title", year=self.meta["year"], q=self.meta["quarter_number"])
        props.author = self.pack.created_by
        props.subject = f"snapshot {self.pack.snapshot_id}"
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return buffer.getvalue()


def _cell(column: str, value: Any, lang: str) -> str:
    """A cell of a table exported as in the Excel sheets: shares as percents, money and persons with separators."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if column in ("completion_rate", "time_elapsed_progress", "covered_share", "share"):
        return _pct(value)
    if isinstance(value, bool):
        return t("pack_yes" if value else "pack_no", lang)
    if isinstance(value, int | float):
        return f"{value:,.2f}" if column.endswith("_yuan") or column == "score" else f"{value:,.0f}"
    return str(value)


def forecast_png(part: pd.DataFrame, lang: str, line: float | None) -> bytes | None:
    """The forecast's mean and 80 % / 95 % bands (and the control line) as a PNG, rendered offline."""
    try:
        import altair as alt
        import vl_convert
    except ImportError:
        return None
    from jobs.pack import fonts

    family = fonts.register_for_charts()
    data = part.assign(
        when=[f"{int(y)}-{int(m):02d}" for y, m in zip(part["year"], part["month"], strict=True)]
    )
    x = alt.X("when:O", title=t("pack_col_month", lang))
    base = alt.Chart(data)
    layers = [
        base.mark_area(opacity=0.15, color="#1565c0").encode(
            x=x, y=alt.Y("lo_95:Q", title=None), y2="hi_95:Q"
        ),
        base.mark_area(opacity=0.3, color="#1565c0").encode(x=x, y="lo_80:Q", y2="hi_80:Q"),
        base.mark_line(point=True, color="#1565c0").encode(x=x, y="mean:Q"),
    ]
    if line is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"line": [line]}))
            .mark_rule(color="#c62828", strokeDash=[4, 3])
            .encode(y="line:Q")
        )
    chart = alt.layer(*layers).properties(width=520, height=180).configure(font=family)
    return bytes(vl_convert.vegalite_to_png(chart.to_dict(), scale=2))


def render(pack: Pack, lang: str = "zh") -> bytes:
    """The pack of a stored snapshot as a Word document in ``lang`` ("zh" or "en")."""
    return _Writer(pack, lang if lang in ("zh", "en") else "zh").render()


def briefing_document(brief: Briefing, title: str, subtitle: str | None = None) -> bytes:
    """The written briefing alone as a Word document (``bureau brief``): a title, the sentences with their
    numbers linked to the dashboard, and how it was written."""
    doc = Document()
    set_fonts(doc)
    doc.add_heading(title, level=0)
    if subtitle:
        _small(doc, subtitle)
    briefing_paragraphs(doc, brief)
    _small(doc, t("brief_caption", brief.lang))
    doc.core_properties.title = title
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
