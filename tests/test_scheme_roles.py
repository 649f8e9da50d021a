"""Who may save a what-if scoring scheme (#18): leaders and administrators; never an analyst or a planner.

The page disables the button for the others, and the save function checks the role itself, so a forged click
(or a future page that forgets the button) still writes nothing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from jobs import schemes
from scoring import PRESETS
from store import schema as s
from store.db import make_engine
from tests.conftest import ROOT
from ui import common


@pytest.fixture()
def writable_copy(demo_url: str, tmp_path: Path) -> str:
    target = tmp_path / "copy.sqlite"
    src, dst = sqlite3.connect(demo_url.split("///", 1)[1]), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{target}"


def stored(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(s.scoring_scheme)).scalar_one())
    engine.dispose()
    return n


@pytest.mark.parametrize("role", ["analyst", "planner", None, "Admin", ""])
def test_the_save_function_refuses_other_roles(
    monkeypatch: pytest.MonkeyPatch, writable_copy: str, role: str | None
) -> None:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", writable_copy)
    before = stored(writable_copy)
    what_if = PRESETS["grading_100"].with_name("analyst what-if")
    with pytest.raises(schemes.SchemeForbidden):
        schemes.save_to_configured_db(what_if, "someone", role=role)
    assert stored(writable_copy) == before


@pytest.mark.parametrize("role", ["leader", "admin"])
def test_leaders_and_admins_may_save(monkeypatch: pytest.MonkeyPatch, writable_copy: str, role: str) -> None:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", writable_copy)
    before = stored(writable_copy)
    schemes.save_to_configured_db(PRESETS["grading_100"].with_name(f"{role} what-if"), role, role=role)
    assert stored(writable_copy) == before + 1


def open_funds(monkeypatch: pytest.MonkeyPatch, url: str, role: str) -> AppTest:
    monkeypatch.setattr(common, "_leave_legacy_multipage_mode", lambda: None, raising=False)
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", role)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/funds.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_analyst_has_no_working_save_button(monkeypatch: pytest.MonkeyPatch, writable_copy: str) -> None:
    at = open_funds(monkeypatch, writable_copy, "analyst")
    before = stored(writable_copy)
    at.selectbox(key="fu_agg_grading_100").set_value("geometric").run()
    assert any("edited copy" in i.value for i in at.info)  # the what-if itself still works for an analyst
    assert at.button(key="fu_save").disabled and at.text_input(key="fu_save_name").disabled
    assert any("Only leaders and administrators can save" in c.value for c in at.caption)
    # A forged click: a websocket client sends the button's trigger although the browser shows it disabled.
    # Streamlit 1.67 drops a disabled widget's value; the save function would refuse the role anyway (above).
    button = at.button(key="fu_save")
    button.proto.disabled = False
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("Saved scheme" in m.value for m in at.success)
    assert stored(writable_copy) == before


def test_a_leader_still_saves(monkeypatch: pytest.MonkeyPatch, writable_copy: str) -> None:
    at = open_funds(monkeypatch, writable_copy, "leader")
    assert not at.button(key="fu_save").disabled
    at.text_input(key="fu_save_name").set_value("leader what-if").run()
    at.button(key="fu_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert stored(writable_copy) == 1
