"""In a real browser: the overview's urban-new-employment tile link lands on the targets page with the same year,
month and indicator, in the URL and in the selectboxes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import wait_ready

pytestmark = pytest.mark.browser


def selectbox_text(page, label: str) -> str:  # type: ignore[no-untyped-def]
    """The shown value of a selectbox (its combobox input, found by the widget's label)."""
    box = page.get_by_label(label, exact=True).first
    box.wait_for(timeout=60_000)
    return box.input_value()


def test_new_employment_tile_opens_targets_with_its_filters(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    page.goto(f"{server}/overview")
    wait_ready(page)
    assert page.locator("[data-testid='stException']").count() == 0
    link = page.locator(
        "[data-testid='stPageLink-NavLink'][href*='indicator=urban_new_employment']"
    ).first  # the tile's link, not the briefing's (a new tab)
    href = link.get_attribute("href") or ""
    assert "year=2026" in href and "month=10" in href
    # An open popover (focus trap) marks the rest of the page inert: close it, and if the page stays inert under
    # load, follow the link with a programmatic click, which still goes through the link's own handler.
    page.keyboard.press("Escape")
    try:
        page.wait_for_function("!document.querySelector('[inert]')", timeout=10_000)
        link.click()
    except PlaywrightTimeout:
        link.evaluate("a => a.click()")
    page.wait_for_url(re.compile(r".*/targets\?.*"), timeout=30_000)
    wait_ready(page)
    page.get_by_role("heading", name="Targets").first.wait_for(timeout=30_000)
    url = page.url
    assert "/targets?" in url
    for part in ("year=2026", "month=10", "indicator=urban_new_employment"):
        assert part in url, url
    assert selectbox_text(page, "Year") == "2026"
    assert selectbox_text(page, "Month") == "10"
    assert selectbox_text(page, "Indicator") == "Urban new employment"
    assert page.locator("[data-testid='stException']").count() == 0
    context.close()
