"""Every page runs under AppTest without an exception, on the demo database and on an empty one."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

PAGES = ["overview", "targets", "funds", "service_circle", "forecasts", "explore", "pack", "data"]


def run_page(
    monkeypatch: pytest.MonkeyPatch, url: str, page: str, params: dict | None = None, lang: str = "en"
) -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", lang)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [e.value for e in at.error] + [s.value for s in at.success]
    parts += [m.label for m in at.metric] + [h.value for h in at.header] + [h.value for h in at.subheader]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_on_demo(monkeypatch: pytest.MonkeyPatch, demo_url: str, page: str) -> None:
    at = run_page(monkeypatch, demo_url, page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "Synthetic demo data" in texts(at)


@pytest.mark.parametrize("page", PAGES)
def test_page_says_no_data_on_empty_database(
    monkeypatch: pytest.MonkeyPatch, empty_url: str, page: str
) -> None:
    at = run_page(monkeypatch, empty_url, page)
    assert not at.exception, [e.value for e in at.exception]
    assert "no tables yet" in texts(at)


def test_chinese_is_the_default_language(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    at = run_page(monkeypatch, demo_url, "data", lang="zh")
    assert not at.exception
    assert "演示数据" in texts(at) and "数据截止日期" in texts(at)
