"""The Overview in Chinese opens with the briefing, the same sentences figures.briefing writes for a job;
Targets shows the chance beside the status where a stored forecast covers the months left."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

import figures.briefing as fb
from figures.rules import rules
from figures.run import plain
from queries import meta
from store.db import make_engine
from tests.conftest import ROOT


def test_the_chinese_overview_shows_the_briefing(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", demo_url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "zh")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [m.value for m in at.markdown]
    assert "**本月简报**" in shown
    engine = make_engine(demo_url)
    status = meta.data_status(engine)
    assert status.latest_year and status.latest_month
    brief = fb.briefing(plain(engine, 10), rules(), status.latest_year, status.latest_month, "zh")
    assert brief.markdown() in shown
    text = brief.text()
    assert text.startswith("截至") and "序时进度" in text
    # no English word in the sentences a Chinese reader sees (the link targets are not shown)
    assert not re.findall(r"[A-Za-z]{2,}", text)
