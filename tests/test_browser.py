"""A real browser (Playwright driving Debian's Chromium) opens every page, finds no error, and sees that no
request left the machine. Also: selecting a district on the targets page shows its streets."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.conftest import wait_ready

PAGES = ["overview", "targets", "funds", "service_circle", "forecasts", "explore", "pack", "data"]
LOCAL = {"localhost", "127.0.0.1", "::1", ""}

pytestmark = pytest.mark.browser


def test_every_page_renders_without_error_and_offline(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if urlparse(r.url).scheme in ("http", "https", "ws", "wss")
            and urlparse(r.url).hostname not in LOCAL
            else None
        ),
    )
    for name in PAGES:
        page.goto(f"{server}/{name}")
        wait_ready(page)
        assert page.locator("[data-testid='stException']").count() == 0, name
        assert page.locator("[data-testid='stAlertContentError']").count() == 0, name
        assert page.get_by_text("Synthetic demo data").count() >= 1, name
        # app.py's navigation ran (not the legacy pages/ mode): the language switch is in the sidebar
        assert page.get_by_text("语言 / Language").count() == 1, name
    context.close()
    assert outside == []


def test_selecting_a_district_shows_its_streets(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.goto(f"{server}/targets?year=2026&month=10&indicator=urban_new_employment")
    wait_ready(page)
    box = page.get_by_label("Drill down to district")
    box.click()
    page.get_by_role("option", name="Huangpi District").click()
    wait_ready(page)
    page.get_by_text("Huangpi District: drill-down").wait_for(timeout=30_000)
    assert "district=420116" in page.url and "year=2026" in page.url
    assert (
        page.get_by_text("Huangpi Street 1", exact=False).count()
        + page.get_by_text("Huangpi Township 1", exact=False).count()
        >= 1
        or page.locator("[data-testid='stDataFrame']").count() >= 2
    )
    context.close()
