"""A real browser opens the service-circle page: the map canvas renders and no request leaves the machine."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.conftest import wait_ready

LOCAL = {"localhost", "127.0.0.1", "::1", ""}

pytestmark = pytest.mark.browser


def test_service_circle_map_renders_offline(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
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
    page.goto(f"{server}/service_circle?district=420103&minutes=15")
    wait_ready(page)
    assert page.locator("[data-testid='stException']").count() == 0
    chart = page.locator("[data-testid='stDeckGlJsonChart']").first
    chart.wait_for(timeout=30_000)
    chart.locator("canvas").first.wait_for(timeout=30_000)
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 300
    assert page.get_by_text("Jianghan District: coverage on", exact=False).count() >= 1
    page.wait_for_timeout(1500)  # let the deck draw (and any stray request happen)
    context.close()
    assert outside == []
