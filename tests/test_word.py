"""The Word files: the meeting pack (``bureau pack --out x.docx``) and the briefing (``bureau brief``) open with
python-docx, hold the PDF's sections and their Chinese text, and their numbers equal the database's."""

from __future__ import annotations

import re
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn

import figures.briefing as fb
import figures.targets
from figures.rules import rules
from figures.run import plain
from i18n import fmt_int, fmt_pct, t
from jobs.cli import main
from queries import meta
from store.db import make_engine
from tests.test_pack import QUARTER, copy_db

UNE = "urban_new_employment"


@pytest.fixture(scope="module")
def made(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("word")
    url = copy_db(demo_url, folder / "demo.sqlite")
    pack, brief, own = folder / "pack.docx", folder / "brief.docx", folder / "own.md"
    assert main(["pack", "--quarter", QUARTER, "--lang", "zh", "--out", str(pack), "--url", url]) == 0
    assert main(["brief", "--month", "2026-09", "--lang", "zh", "--out", str(brief), "--url", url]) == 0
    args = ["brief", "--month", "2026-09", "--lang", "en", "--district", "420102", "--out", str(own)]
    assert main([*args, "--url", url]) == 0
    return {"url": url, "pack": pack, "brief": brief, "own": own}


def cells(table: docx.table.Table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def test_the_pack_has_the_pdfs_sections_in_chinese(made: dict) -> None:
    doc = docx.Document(str(made["pack"]))
    headings = [p.text for p in doc.paragraphs if p.style is not None and p.style.name.startswith("Heading")]
    for key in (
        "brief_title",
        "pack_key_figures",
        "pack_sec_progress",
        "pack_sec_ranking",
        "pack_sec_exceptions",
        "pack_sec_funds",
        "pack_sec_coverage",
        "pack_sec_forecast",
        "pack_sec_method",
        "pack_sec_quality",
    ):
        assert t(key, "zh") in headings, key
    assert headings.index(t("brief_title", "zh")) == 0  # the briefing is the first page
    assert len(doc.tables) >= 8 and doc.inline_shapes  # real tables; the charts as images
    fonts = doc.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia"))  # Chinese text gets an East Asian font
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "截至2026年9月，全市城镇新增就业" in text


def test_the_packs_numbers_equal_the_database(made: dict) -> None:
    engine = make_engine(made["url"])
    run = plain(engine, 10)
    city = figures.targets.attainment(run, rules(), 2026, 9, level="city").set_index("indicator_code")
    districts = figures.targets.attainment(run, rules(), 2026, 9)
    districts = districts[districts["indicator_code"] == UNE].set_index("name_zh")
    doc = docx.Document(str(made["pack"]))
    names = meta.indicators(engine).set_index("code")["name_zh"]
    key = next(cells(tb) for tb in doc.tables if tb.rows[0].cells[0].text == t("pack_col_indicator", "zh"))
    row = next(r for r in key if r[0] == names[UNE])
    assert row[1] == fmt_int(city.loc[UNE, "target"], "zh")
    assert row[2] == fmt_int(city.loc[UNE, "actual"], "zh")
    assert row[3] == fmt_pct(city.loc[UNE, "completion_rate"])
    ranking = [cells(tb) for tb in doc.tables if tb.rows[0].cells[0].text == t("pack_col_rank", "zh")][0]
    assert len(ranking) - 1 == len(districts)
    for r in ranking[1:]:
        want = districts.loc[r[1]]
        if want["actual"] != want["actual"]:  # suppressed: the Word file writes a dash
            assert r[4] == "—"
            continue
        assert r[3] == fmt_int(want["target"], "zh") and r[4] == fmt_int(want["actual"], "zh")
        assert int(r[0]) == int(want["rank"])


def test_the_briefing_document_says_what_the_figures_say(made: dict) -> None:
    engine = make_engine(made["url"])
    brief = fb.briefing(plain(engine, 10), rules(), 2026, 9, "zh", base="http://localhost:8501")
    doc = docx.Document(str(made["brief"]))
    paragraphs = [p.text for p in doc.paragraphs]
    for sentence in brief.sentences:
        assert sentence.text in paragraphs
    links = doc.element.body.findall(".//" + qn("w:hyperlink"))
    assert len(links) == sum(len(s.links) for s in brief.sentences) > 0  # every number is a link
    targets = {r.target_ref for r in doc.part.rels.values() if r.reltype.endswith("/hyperlink")}
    assert targets == {url for s in brief.sentences for _, url in s.links}
    assert all(u.startswith("http://localhost:8501/") for u in targets)
    assert re.search(r"[\u4e00-\u9fff]", "".join(paragraphs))


def test_a_district_briefing_file_names_no_other_district(made: dict) -> None:
    engine = make_engine(made["url"])
    text = Path(made["own"]).read_text(encoding="utf-8")
    others = meta.areas(engine, "district").query("area_code != '420102'")
    assert "Jiang'an District" in text
    assert not [n for n in others["name_en"] if n in text]
    assert not [c for c in others["area_code"] if c in text]


def test_brief_refuses_bad_arguments(made: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["brief", "--out", "x.pdf", "--url", made["url"]]) == 2
    assert main(["brief", "--month", "2026-13", "--out", "x.md", "--url", made["url"]]) == 2
    assert main(["brief", "--district", "999999", "--out", "x.md", "--url", made["url"]]) == 2
    assert "bureau brief:" in capsys.readouterr().err
