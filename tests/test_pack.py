"""The quarterly meeting pack: PDF (pages, size, Chinese text, ranking figures), Excel totals against SQL, freezing,
the CLI's exit codes and the page (quarter from the URL, snapshots listed, no downloads for a planner).

Every figure is checked against the database or ``attainment()`` computed independently of the pack.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update
from streamlit.testing.v1 import AppTest

from i18n import t
from jobs.cli import main
from jobs.pack import excel, snapshot
from privacy import protect
from queries import targets
from store import schema as s
from store.db import make_engine
from tests.conftest import ROOT

QUARTER = "2026Q3"  # the tiny demo runs to 2026-10, so Q3 is complete and Q4 partial
UNE = "urban_new_employment"


def copy_db(demo_url: str, dest: Path) -> str:
    """A private copy of the shared demo database (the pack writes snapshots), via SQLite's backup API."""
    src = sqlite3.connect(demo_url.split("///", 1)[1])
    dst = sqlite3.connect(dest)
    src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{dest}"


def cli(*args: str) -> int:
    return main(["pack", *args])


@pytest.fixture(scope="module")
def packed(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One frozen pack on a private copy: the PDF in Chinese and the workbook in English."""
    folder = tmp_path_factory.mktemp("pack")
    url = copy_db(demo_url, folder / "demo.sqlite")
    pdf, xlsx = folder / "pack.pdf", folder / "pack.xlsx"
    assert cli("--quarter", QUARTER, "--lang", "zh", "--out", str(pdf), "--url", url, "--user", "tester") == 0
    assert cli("--quarter", QUARTER, "--lang", "en", "--out", str(xlsx), "--url", url) == 0
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout
    return {"url": url, "pdf": pdf, "xlsx": xlsx, "text": text.decode("utf-8"), "folder": folder}


def test_quarter_strings() -> None:
    assert snapshot.parse_quarter("2026Q3") == (2026, 3)
    assert snapshot.parse_quarter("2026-q1") == (2026, 1)
    for bad in ("2026Q5", "2026Q0", "Q3 2026", "2026", "", "2026Q3; drop table"):
        with pytest.raises(snapshot.PackError):
            snapshot.parse_quarter(bad)
    assert snapshot.quarters_from_months({2026: [1, 2, 10], 2025: [12]}) == ["2026Q4", "2026Q1", "2025Q4"]


def test_pdf_pages_size_and_chinese_text(packed: dict) -> None:
    info = subprocess.run(["pdfinfo", str(packed["pdf"])], capture_output=True, check=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())  # type: ignore[union-attr]
    assert pages >= 5
    assert (round(width), round(height)) == (842, 595)  # A4 landscape in points
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", str(packed["pdf"]), str(packed["folder"] / "pg")], check=True
    )
    images = sorted(packed["folder"].glob("pg-*.png"))
    assert len(images) == pages
    from PIL import Image

    for path in images:
        with Image.open(path) as im:
            assert im.width > im.height  # landscape
            assert im.getextrema() != ((255, 255), (255, 255), (255, 255))  # not blank
    text = packed["text"]
    for needle in (
        "城镇新增就业",
        "江岸区",
        "新洲区",
        "合成演示数据",
        "数据截止 2026年10月31日",
        "问题清单",
        t("pack_no_forecast", "zh"),
    ):
        assert needle in text, needle
    assert "□" not in text and "\ufffd" not in text
    footers = [int(n) for n in re.findall(r"第\s*(\d+)\s*页", text)]
    assert footers == list(range(1, pages + 1))  # every page numbered in its footer


def test_pdf_ranking_equals_attainment(packed: dict) -> None:
    engine = make_engine(packed["url"])
    want = protect(targets.attainment(engine, 2026, 9), 10, targets.attainment.sensitive)  # type: ignore[attr-defined]
    want = want[want["indicator_code"] == UNE].set_index("name_zh")
    section = packed["text"].split("城镇新增就业 — 排名", 1)[1].split("— 排名", 1)[0]
    rows = re.findall(r"^\s*(\d+)\s+(\S+区)\s+\S+\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)%", section, flags=re.M)
    assert len(want) == 13 and len(rows) == int((~want["suppressed"]).sum())  # suppressed rows print "—"
    for rank, name, target, actual, completion in rows:
        assert int(rank) == int(want.loc[name, "rank"]), name
        assert float(target.replace(",", "")) == want.loc[name, "target"]
        assert float(actual.replace(",", "")) == want.loc[name, "actual"]
        assert float(completion) == pytest.approx(want.loc[name, "completion_rate"] * 100, abs=0.05)


def test_workbook_totals_match_sql(packed: dict) -> None:
    engine = make_engine(packed["url"])
    wb = load_workbook(packed["xlsx"], read_only=True)
    assert wb.sheetnames == [t("pack_sheet_about", "en")] + [t(f"pack_sheet_{n}", "en") for n in excel.SHEETS]
    sheet = list(wb[t("pack_sheet_ranking", "en")].values)
    frame = pd.DataFrame(sheet[1:], columns=sheet[0])
    une = frame[frame[t("pack_h_indicator_code", "en")] == UNE]
    assert len(une) == 13
    tg, am, ar = s.target, s.agg_monthly, s.area
    with engine.connect() as conn:
        target_sum = conn.execute(
            select(func.sum(tg.c.target_value))
            .join(ar, ar.c.area_code == tg.c.area_code)
            .where(tg.c.year == 2026, tg.c.indicator_code == UNE, ar.c.level == "district")
        ).scalar_one()
        actual_sum = conn.execute(
            select(func.sum(am.c.value)).where(
                am.c.year == 2026,
                am.c.month <= 9,
                am.c.level == "district",
                am.c.group_code == "all",
                am.c.indicator_code == UNE,
            )
        ).scalar_one()
    assert une[t("pack_h_target", "en")].sum() == pytest.approx(target_sum)
    hidden = une[t("pack_h_actual", "en")].isna()  # small-count suppression (docs/privacy.md)
    raw = targets.attainment(engine, 2026, 9).set_index(["area_code", "indicator_code"])["actual"]
    hidden_sum = sum(raw[(a, UNE)] for a in une.loc[hidden, t("pack_h_area_code", "en")])
    assert hidden.sum() != 1
    assert une[t("pack_h_actual", "en")].sum() + hidden_sum == pytest.approx(actual_sum)
    about = dict(row[:2] for row in wb[t("pack_sheet_about", "en")].values if len(row) >= 2)
    assert about[t("pack_about_quarter", "en")] == QUARTER
    assert about[t("pack_about_snapshot", "en")] == 1  # the PDF froze it; the workbook reused it
    assert about[t("pack_about_scheme", "en")] == "grading_100"
    alloc = list(wb[t("pack_sheet_allocation", "en")].values)
    amounts = pd.DataFrame(alloc[1:], columns=alloc[0])
    fa = s.fund_allocation
    with engine.connect() as conn:  # the pack splits the year's transfer pot, never district_own (#16)
        pot = conn.execute(
            select(func.sum(fa.c.amount_yuan)).where(fa.c.year == 2026, fa.c.source != "district_own")
        )
        pot_yuan = pot.scalar_one()
    assert amounts[t("pack_h_amount_yuan", "en")].sum() == pytest.approx(
        pot_yuan, abs=0.02
    )  # split to the fen


def test_exports_are_audited(packed: dict) -> None:
    engine = make_engine(packed["url"])
    with engine.connect() as conn:
        rows = conn.execute(select(s.audit_log.c.username, s.audit_log.c.target, s.audit_log.c.action)).all()
    assert ("tester", "pack-pdf", "export") in [tuple(r) for r in rows]
    assert any(r.target == "pack-xlsx" for r in rows)


def _actual(pack: snapshot.Pack, area: str) -> float:
    r = pack.table("ranking")
    return float(r.loc[(r["area_code"] == area) & (r["indicator_code"] == UNE), "actual"].iloc[0])


def test_a_frozen_quarter_does_not_move(demo_url: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = copy_db(demo_url, tmp_path / "db.sqlite")
    engine = make_engine(url)
    out = tmp_path / "p.xlsx"
    assert cli("--quarter", QUARTER, "--out", str(out), "--url", url) == 0
    first = snapshot.newest(engine, QUARTER)
    assert first is not None
    before = _actual(first, "420102")
    am = s.agg_monthly
    with engine.begin() as conn:  # a corrected September figure and a later month arrive
        conn.execute(
            update(am)
            .where(am.c.year == 2026, am.c.month == 9, am.c.indicator_code == UNE, am.c.group_code == "all")
            .where(am.c.area_code == "420102")
            .values(value=am.c.value + 500)
        )
        conn.execute(
            am.insert().values(
                year=2026,
                month=11,
                area_code="420102",
                indicator_code=UNE,
                group_code="all",
                level="district",
                district_code="420102",
                value=40.0,
                persons=40,
            )
        )
    assert cli("--quarter", QUARTER, "--out", str(out), "--url", url) == 0
    assert "reused" in capsys.readouterr().out
    again = snapshot.newest(engine, QUARTER)
    assert again is not None and again.snapshot_id == first.snapshot_id and _actual(again, "420102") == before
    sheet = list(load_workbook(out, read_only=True)[t("pack_sheet_ranking", "zh")].values)
    wb = pd.DataFrame(sheet[1:], columns=sheet[0])
    row = wb[(wb[t("pack_h_area_code", "zh")] == "420102") & (wb[t("pack_h_indicator_code", "zh")] == UNE)]
    assert float(row[t("pack_h_actual", "zh")].iloc[0]) == before  # the export shows the frozen figure
    assert cli("--quarter", QUARTER, "--out", str(out), "--url", url, "--refreeze") == 0
    fresh = snapshot.newest(engine, QUARTER)
    assert fresh is not None and fresh.snapshot_id != first.snapshot_id
    assert _actual(fresh, "420102") == before + 500
    assert (
        cli("--quarter", QUARTER, "--out", str(out), "--url", url, "--snapshot", str(first.snapshot_id)) == 0
    )
    diff = snapshot.compare(first, fresh)
    changed = diff[diff["changed"] & (diff["indicator_code"] == UNE)]
    assert "420102" in set(changed["area_code"])
    assert (
        diff.loc[(diff["area_code"] == "420102") & (diff["indicator_code"] == UNE), "d_actual"].iloc[0] == 500
    )
    assert list(snapshot.list_snapshots(engine, QUARTER)["snapshot_id"]) == [
        fresh.snapshot_id,
        first.snapshot_id,
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quarter", "2026Q5", "--out", "x.pdf"], "YYYYQn"),
        (["--quarter", "Q3-2026", "--out", "x.pdf"], "YYYYQn"),
        (["--quarter", "2026Q3", "--out", "x.odt"], ".pdf, .docx or .xlsx"),
        (["--quarter", "2030Q1", "--out", "x.pdf"], "no data"),
        (["--quarter", "2026Q3", "--out", "x.pdf", "--snapshot", "999"], "no pack snapshot"),
        (["--out", "x.pdf"], "--quarter is required"),
    ],
)
def test_cli_refuses_bad_arguments(packed: dict, args: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    out = [a if not a.startswith("x.") else str(packed["folder"] / a) for a in args]
    assert cli(*out, "--url", packed["url"]) == 2
    assert message in capsys.readouterr().err


def test_cli_snapshot_of_another_quarter_and_missing_font(packed: dict, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    out = str(packed["folder"] / "other.pdf")
    assert cli("--quarter", "2026Q2", "--out", out, "--url", packed["url"], "--snapshot", "1") == 2
    assert "is of 2026Q3" in capsys.readouterr().err
    monkeypatch.setenv("EMPLOYMENT_PACK_FONT", str(packed["folder"] / "no-such-font.ttc"))
    assert cli("--quarter", QUARTER, "--out", out, "--url", packed["url"]) == 4
    assert "EMPLOYMENT_PACK_FONT" in capsys.readouterr().err
    assert not Path(out).exists()


# --- the page ------------------------------------------------------------------------------------------------


def open_page(monkeypatch: pytest.MonkeyPatch, url: str, params: dict[str, str]) -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/pack.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_lists_snapshots_and_freezes(packed: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(monkeypatch, packed["url"], {"quarter": QUARTER})
    assert at.selectbox(key="quarter").value == QUARTER
    listed = at.dataframe[0].value
    assert 1 in set(listed[t("pack_col_snapshot", "en")])
    assert "tester" in set(listed[t("pack_col_created_by", "en")])
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == [t(f"pack_download_{k}", "en") for k in ("pdf", "xlsx", "docx")]
    words = ("Behind", "Slightly behind", "On pace")  # the pages' words, not red/yellow/green cards
    cards = {m.label: int(m.value) for m in at.metric if m.label in words}
    stored = snapshot.load(make_engine(packed["url"]), 1).table("district_cards")["card"].value_counts()
    assert cards == {
        "Behind": stored.get("red", 0),
        "Slightly behind": stored.get("yellow", 0),
        "On pace": stored.get("green", 0),
    }
    # a quarter never frozen: a leader freezes it from the page
    at = open_page(monkeypatch, packed["url"], {"quarter": "2026Q2"})
    assert at.selectbox(key="quarter").value == "2026Q2"
    assert not at.get("download_button")
    at.button(key="pack_freeze").click().run()
    assert not at.exception
    assert not snapshot.list_snapshots(make_engine(packed["url"]), "2026Q2").empty
    assert at.dataframe[0].value.shape[0] == 1
    # refreezing Q3 with unchanged data gives a second snapshot that compares equal to the first
    at = open_page(monkeypatch, packed["url"], {"quarter": QUARTER})
    at.button(key="pack_freeze").click().run()
    assert not at.exception
    assert at.dataframe[0].value.shape[0] == 2
    compared = at.dataframe[1].value
    assert len(compared) == 13  # one indicator, every district
    rows = len(snapshot.load(make_engine(packed["url"]), 1).table("ranking"))  # districts × indicators
    assert rows > 13
    assert t("pack_compare_summary", "en", n=0, total=rows) in [c.value for c in at.caption]


def test_page_hides_the_pack_from_a_planner(packed: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", "planner")
    monkeypatch.setenv("EMPLOYMENT_OPEN_DISTRICT", "420102")
    at = open_page(monkeypatch, packed["url"], {"quarter": QUARTER})
    assert not at.get("download_button")
    assert not at.button  # no freeze either
    assert t("pack_city_wide_only", "en") in [i.value for i in at.info]


def test_page_on_an_empty_database(empty_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(monkeypatch, empty_url, {})
    assert "no tables yet" in " ".join(w.value for w in at.warning)
