"""The shipped Chinese font (issue #19): the pack and the browser draw Chinese on a machine with no CJK font.

The system's fonts are hidden (an empty system font list, fontconfig pointing at an empty configuration), and the
PDF still carries the Chinese heading, embedded from the shipped font; a bureau's own font still wins; a missing
font says what to do; and headless Chromium draws Chinese with the shipped face.
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from jobs.pack import fonts
from tests.conftest import ROOT


def _cjk(text: str) -> set[str]:
    return {c for c in text if "\u3400" <= c <= "\u9fff"}


@pytest.fixture()
def no_system_fonts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with no font of its own: no system TrueType file, and fontconfig sees nothing."""
    (tmp_path / "empty.conf").write_text('<?xml version="1.0"?>\n<fontconfig></fontconfig>\n')
    monkeypatch.setenv("FONTCONFIG_FILE", str(tmp_path / "empty.conf"))
    monkeypatch.delenv("EMPLOYMENT_PACK_FONT", raising=False)
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", ())
    out = subprocess.run(
        ["fc-list"], capture_output=True, text=True, env={"FONTCONFIG_FILE": str(tmp_path / "empty.conf")}
    )
    assert out.stdout.strip() == ""  # the check itself: fontconfig really finds nothing


def test_the_shipped_font_is_truetype_and_covers_the_catalogue_and_the_demo_names(
    no_system_fonts: None,
) -> None:
    path = fonts.font_path(system=())
    assert fonts.source_path() is not None and fonts.source_path() != path
    font = TTFont(str(path))
    assert "glyf" in font and "CFF " not in font and "CFF2" not in font  # outlines ReportLab embeds
    assert font["name"].getDebugName(1) == fonts.FAMILY  # renamed, as the OFL asks of a modified version
    assert font["OS/2"].fsType == 0  # embedding allowed
    cmap = font.getBestCmap()
    needed: set[str] = set()
    for f in sorted((ROOT / "i18n" / "messages").glob("*.toml")):
        for entry in tomllib.loads(f.read_text("utf-8")).values():
            needed |= _cjk(str(entry.get("zh", "")) if isinstance(entry, dict) else "")
    needed |= _cjk((ROOT / "jobs" / "data" / "wuhan_420100_districts.geojson").read_text("utf-8"))
    assert "硚" in needed  # 硚口区: outside GB 2312, carried all the same
    missing = sorted(c for c in needed if ord(c) not in cmap)
    assert missing == []
    glyph = font["glyf"]["uni4E2D" if "uni4E2D" in font["glyf"] else cmap[ord("中")]]
    assert glyph.numberOfContours > 0  # 中 has outlines, not an empty box
    assert (path.parent / "OFL.txt").read_text("utf-8").count("Open Font License") >= 1


def test_a_pdf_without_any_system_font_has_the_chinese_heading(no_system_fonts: None, tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    name = fonts.register(system=())
    heading = "季度考核通报 硚口区 城镇新增就业"
    pdf = tmp_path / "zh.pdf"
    doc = SimpleDocTemplate(str(pdf), pagesize=landscape(A4))
    doc.build([Paragraph(heading, ParagraphStyle("h", fontName=name, fontSize=18, leading=24))])
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    assert heading in text
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True, text=True).stdout
    row = next(line for line in listing.splitlines() if "BureauSansSC" in line)
    assert " yes " in row  # embedded (as a subset): the reader needs no font either


def test_the_meeting_pack_pdf_without_any_system_font(
    no_system_fonts: None, demo_url: str, tmp_path: Path
) -> None:
    from jobs.cli import main
    from tests.test_pack import QUARTER, copy_db

    url = copy_db(demo_url, tmp_path / "demo.sqlite")
    out = tmp_path / "pack.pdf"
    assert main(["pack", "--quarter", QUARTER, "--lang", "zh", "--out", str(out), "--url", url]) == 0
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, check=True, text=True).stdout
    for needle in ("城镇新增就业", "硚口区", "问题清单"):
        assert needle in text, needle
    fonts_used = subprocess.run(["pdffonts", str(out)], capture_output=True, check=True, text=True).stdout
    assert "BureauSansSC" in fonts_used and "WenQuanYi" not in fonts_used


def test_a_bureaus_own_font_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    own = fonts.font_path(system=())  # any TrueType file will do: the converted one
    monkeypatch.setenv("EMPLOYMENT_PACK_FONT", str(own))
    assert fonts.font_path() == own


def test_a_missing_font_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EMPLOYMENT_PACK_FONT", str(tmp_path / "none.ttf"))
    with pytest.raises(fonts.FontMissing, match="EMPLOYMENT_PACK_FONT"):
        fonts.check()
    monkeypatch.delenv("EMPLOYMENT_PACK_FONT")
    monkeypatch.setattr(fonts, "source_path", lambda: None)
    with pytest.raises(fonts.FontMissing, match=fonts.PACKAGE):
        fonts.check(system=())


def test_conversion_of_a_few_characters(tmp_path: Path) -> None:
    source = fonts.source_path()
    assert source is not None
    out = fonts.convert(source, tmp_path / "few.ttf", "就业局AB1")
    font = TTFont(str(out))
    assert set(font.getBestCmap()) == {ord(c) for c in "就业局AB1"}
    assert all(font["glyf"][g].numberOfContours > 0 for g in font.getBestCmap().values())
    assert font["hmtx"][font.getBestCmap()[ord("就")]][0] == 1000  # full-width advance of the Regular weight


@pytest.mark.browser
def test_headless_chromium_draws_chinese_with_the_shipped_font(browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.set_content(
        '<html lang="zh-CN"><body><p id="x" style="font-family: sans-serif">城镇新增就业</p></body></html>'
    )
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#x"})["nodeId"]
    used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    page.close()
    drawn = {f["familyName"]: f["glyphCount"] for f in used}
    assert drawn.get(fonts.SOURCE_FACE) == len("城镇新增就业"), drawn
