"""The Data page keeps its tables, row counts and loads, and adds imports, replaced figures and the upload."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.test_import import city_sqlite, run  # noqa: F401  (fixture)
from ui.data_labels import load_kind, table_name


def _page(monkeypatch: pytest.MonkeyPatch, url: str, role: str = "admin") -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_AUTH", "open")
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", role)
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_data_page_still_shows_tables_and_loads_and_offers_the_upload(
    monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    at = _page(monkeypatch, demo_url)
    heads = [h.value for h in at.subheader]
    for title in (
        "Tables",
        "Loads and refreshes",
        "Imports",
        "Replaced figures",
        "Import data (administrators)",
    ):
        assert title in heads
    tables = at.dataframe[0].value
    assert {"Table", "Rows"} <= set(tables.columns) and int(
        tables.set_index("Table").loc[table_name("area", "en"), "Rows"]
    ) > 0
    assert load_kind("demo", "en") in set(at.dataframe[1].value["Kind"])
    assert len(at.get("file_uploader")) == 1
    assert "No figure has been replaced yet." in [i.value for i in at.info]
    at.button(key="import_check").click().run()
    assert "Choose files first." in [w.value for w in at.warning]


def test_replaced_figures_are_listed_with_who_and_what(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    city_sqlite: Path,  # noqa: F811
) -> None:
    url = f"sqlite:///{shutil.copy(city_sqlite, tmp_path / 'c.sqlite')}"
    fix = b"year,month,area_code,indicator_code,value\n2026,3,420103,urban_new_employment,5\n"
    assert run(url, [("reported_monthly.csv", fix)], user="bob").exit_code == 0
    at = _page(monkeypatch, url)
    changes = next(d.value for d in at.dataframe if "Previous" in d.value.columns)
    assert changes["Previous"].tolist() == ["value: 0"] and changes["New"].tolist() == ["value: 5"]
    assert changes["By"].tolist() == ["bob"] and changes["Table"].tolist() == [
        table_name("reported_monthly", "en")
    ]
    assert "2026 · month: 3" in changes["Record"].iloc[0]
    imports = next(d.value for d in at.dataframe if "Loaded by" in d.value.columns or "By" in d.value.columns)
    assert "alice" in set(imports.iloc[:, 4]) and "bob" in set(imports.iloc[:, 4])
    assert any("Data cut-off: 31 Mar 2026" in c.value for c in at.caption)


def test_upload_is_for_administrators_only(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    at = _page(monkeypatch, demo_url, role="leader")
    assert "Import data (administrators)" not in [h.value for h in at.subheader]
    assert len(at.get("file_uploader")) == 0
    assert any("needs the administrator role" in c.value for c in at.caption)


def test_a_migrated_empty_database_offers_the_first_import(
    monkeypatch: pytest.MonkeyPatch, empty_url: str
) -> None:
    from store.db import make_engine, upgrade

    upgrade(make_engine(empty_url))
    at = _page(monkeypatch, empty_url)
    assert "Import data (administrators)" in [h.value for h in at.subheader]
    assert len(at.get("file_uploader")) == 1


class _Upload:
    """What st.file_uploader returns for one file (AppTest cannot upload)."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def test_an_upload_with_a_trailing_comma_is_refused_with_its_row(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    city_sqlite: Path,  # noqa: F811
) -> None:
    """Issue #18: the upload crashed with a TypeError; now the report names the row and nothing is written."""
    import streamlit as st

    url = f"sqlite:///{shutil.copy(city_sqlite, tmp_path / 'c.sqlite')}"
    data = b"year,area_code,district_code,indicator_code,target_value\n2026,420102,420102,urban_new_employment,50,\n"
    monkeypatch.setattr(st, "file_uploader", lambda *a, **k: [_Upload("t.csv", data)])
    at = _page(monkeypatch, url)
    for button in ("import_check", "import_load"):
        at.button(key=button).click().run()
        assert not at.exception, [e.value for e in at.exception]
        problems = next(d.value for d in at.dataframe if "Message" in d.value.columns)
        assert problems["Row"].tolist() == [2]
        assert "ends with an extra separator (comma)" in problems["Message"].iloc[0]
        assert any("nothing was loaded" in e.value for e in at.error)
