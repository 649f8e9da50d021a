"""bureau.config: a bad EMPLOYMENT_MIN_CELL never crashes a page; it falls back with a warning in the log (#18)."""

from __future__ import annotations

import logging

import pytest
from streamlit.testing.v1 import AppTest

from store import config
from tests.conftest import ROOT
from ui import common

PAGES = ["overview", "targets", "funds", "service_circle", "forecasts", "explore", "pack", "data"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("nan", 10),
        ("NaN", 10),
        ("inf", 10),
        ("-inf", 10),
        ("1e400", 10),  # float overflow: inf
        ("ten", 10),
        ("-3", 10),
        ("0", 10),
        ("3", 5),
        ("7.5", 8),
        ("1e300", config.MIN_CELL_CEILING),
    ],
)
def test_a_bad_min_cell_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, raw: str, expected: int
) -> None:
    monkeypatch.setenv("EMPLOYMENT_MIN_CELL", raw)
    monkeypatch.setattr(config, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="store.config"):
        assert config.settings().min_cell_persons == expected
        config.settings()  # read again: warned once
    warned = [r for r in caplog.records if "EMPLOYMENT_MIN_CELL" in r.getMessage()]
    assert len(warned) == 1 and f"using {expected}" in warned[0].getMessage()


@pytest.mark.parametrize(("raw", "expected"), [(None, 10), ("", 10), ("10", 10), ("12", 12), ("5", 5)])
def test_a_good_min_cell_is_used_silently(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, raw: str | None, expected: int
) -> None:
    if raw is None:
        monkeypatch.delenv("EMPLOYMENT_MIN_CELL", raising=False)
    else:
        monkeypatch.setenv("EMPLOYMENT_MIN_CELL", raw)
    with caplog.at_level(logging.WARNING, logger="store.config"):
        assert config.settings().min_cell_persons == expected
    assert not [r for r in caplog.records if "EMPLOYMENT_MIN_CELL" in r.getMessage()]


@pytest.mark.parametrize(("raw", "pages"), [("nan", PAGES), ("inf", ["overview", "targets"])])
def test_every_page_opens_with_a_bad_min_cell(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, raw: str, pages: list[str]
) -> None:
    monkeypatch.setattr(common, "_leave_legacy_multipage_mode", lambda: None, raising=False)
    monkeypatch.setenv("EMPLOYMENT_DB_URL", demo_url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", "admin")
    monkeypatch.setenv("EMPLOYMENT_MIN_CELL", raw)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    for page in pages:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not any("cannot be reached" in e.value for e in at.error), page
