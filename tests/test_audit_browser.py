"""In a real browser: clicking a download button writes both audit lines, the click (``export``, with the
view's filters) and the file sent (``download``), issue #18 item 4."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from store import schema as s
from store.db import make_engine
from tests.conftest import wait_ready

pytestmark = pytest.mark.browser


def _lines(url: str, since: int) -> list[tuple[str, str, str]]:
    a = s.audit_log
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(a.c.action, a.c.target, a.c.detail).where(a.c.audit_id > since))
            return [(r.action, r.target, r.detail or "") for r in rows]
    finally:
        engine.dispose()


def test_a_browser_download_is_audited(server: str, browser, demo_url: str) -> None:  # type: ignore[no-untyped-def]
    a = s.audit_log
    with make_engine(demo_url).connect() as conn:
        since = int(conn.execute(select(a.c.audit_id).order_by(a.c.audit_id.desc()).limit(1)).scalar() or 0)
    context = browser.new_context(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{server}/data?lang=en")
    wait_ready(page)
    with page.expect_download(timeout=60_000) as download:
        page.locator(".st-key-data_dl_tables button").click()
    assert download.value.suggested_filename.startswith("tables-")
    wait_ready(page)
    deadline = time.time() + 15
    while time.time() < deadline:
        lines = [line for line in _lines(demo_url, since) if line[1] == "csv:tables"]
        if {"export", "download"} <= {action for action, _, _ in lines}:
            break
        time.sleep(0.3)
    assert {"export", "download"} <= {action for action, _, _ in lines}, lines
    assert all("page=page_data" in detail and "file=tables-" in detail for _, _, detail in lines)
    context.close()
