"""In a real browser: a shared explore link (the whole view in the URL) restores the measure, dimensions and
district filter, and shows a chart and the pivot table."""

from __future__ import annotations

import pytest

from tests.conftest import wait_ready
from tests.test_overview_browser import selectbox_text

pytestmark = pytest.mark.browser


def test_a_shared_explore_link_restores_the_view(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.goto(
        f"{server}/explore?measure=registered_unemployed&rows=period&cols=area&grain=quarter"
        "&area_level=district&from=2025&to=2026&districts=420102,420116"
    )
    wait_ready(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert selectbox_text(page, "Measure") == "Registered unemployed (stock)"
    assert selectbox_text(page, "Rows") == "Period"
    assert selectbox_text(page, "Columns") == "Area"
    chips = page.locator("[data-testid='stMultiSelect']").first.inner_text()
    assert "Jiang'an District" in chips and "Huangpi District" in chips
    assert "districts=420102%2C420116" in page.url or "districts=420102,420116" in page.url
    assert page.locator("[data-testid='stDataFrame']").count() >= 1
    assert page.locator("[data-testid='stVegaLiteChart']").count() >= 1
    context.close()
