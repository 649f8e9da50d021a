"""A real browser (Playwright driving Debian's Chromium) opens every page, finds no error, and sees that no
request left the machine. Also: selecting a district on the targets page shows its streets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import ROOT, unavailable

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = ["overview", "targets", "funds", "service_circle", "forecasts", "explore", "data"]
LOCAL = {"localhost", "127.0.0.1", "::1", ""}

pytestmark = pytest.mark.browser


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        unavailable("Chromium", "REQUIRE_BROWSER", f"{CHROMIUM} not found (apt-get install chromium)")
    port = _port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = dict(os.environ, EMPLOYMENT_DB_URL=demo_url, EMPLOYMENT_LANG="en")
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.3)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        unavailable("Chromium", "REQUIRE_BROWSER", f"{CHROMIUM} not found")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def wait_ready(page, timeout_ms: int = 90_000) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", state="attached", timeout=timeout_ms
    )
    page.wait_for_timeout(500)
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", state="attached", timeout=timeout_ms
    )


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
