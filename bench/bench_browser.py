"""Clicks in a real browser: headless Chromium (Playwright) against a freshly started app, timed from the click
(or the first navigation) to Streamlit's idle state with the charts drawn.

Run: .venv/bin/python bench/bench_browser.py [--url sqlite:////tmp/small.sqlite] [--passes 2] [--lang zh]
     .venv/bin/python bench/bench_browser.py --base http://127.0.0.1:8501   # an app already running
Goals (issue #19): every click settles in under 1.5 s; the first page after a server start in under 3 s.

"First page" is timed from the browser's navigation to ``/``, issued as soon as the server answers
``/_stcore/health`` (the server's start-up, including its cache warm-up, is printed separately). A click is a
sidebar link to another page or a filter change; "settled" means ``[data-testid='stApp']`` went to
``data-test-script-state='running'`` after the click and back to ``notRunning`` (a MutationObserver records both,
so a fast rerun is not missed), no element is stale, and every Vega chart has its SVG/canvas and every deck.gl map
its canvas. The load average is printed beside the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from jobs.pack import fonts  # noqa: E402

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
# url path of each page (app.py's PAGES) in the order the clicks visit them
PAGES = ["targets", "funds", "service_circle", "forecasts", "explore", "pack", "data", "overview"]

# Records every change of the app's script state with its time (performance.now()).
OBSERVER = """
() => {
  window.__states = [];
  const app = document.querySelector("[data-testid='stApp']");
  const note = () => window.__states.push([performance.now(), app.getAttribute('data-test-script-state')]);
  note();
  new MutationObserver(note).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}
"""
# True when the last recorded state after ``since`` followed a 'running' one, nothing is stale, charts drawn.
SETTLED = """
(since) => {
  const s = (window.__states || []).filter(x => x[0] >= since);
  const ran = s.some(x => x[1] === 'running');
  const app = document.querySelector("[data-testid='stApp']");
  if (!ran || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector("[data-stale='true']")) return false;
  for (const c of document.querySelectorAll("[data-testid='stVegaLiteChart']"))
    if (!c.querySelector('svg, canvas')) return false;
  for (const c of document.querySelectorAll("[data-testid='stDeckGlJsonChart']"))
    if (!c.querySelector('canvas')) return false;
  return true;
}
"""
FIRST_READY = """
() => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!document.querySelector("[data-testid='stMainBlockContainer'] [data-testid='stHeading']")) return false;
  if (document.querySelector("[data-stale='true']")) return false;
  for (const c of document.querySelectorAll("[data-testid='stVegaLiteChart']"))
    if (!c.querySelector('svg, canvas')) return false;
  return true;
}
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def start_server(db_url: str, lang: str, port: int, log: Path) -> tuple[subprocess.Popen, float]:
    """The app as deployed (deploy/run-processes.sh's command), open demo mode; seconds until it is healthy."""
    env = dict(os.environ, EMPLOYMENT_AUTH="open", EMPLOYMENT_LANG=lang, EMPLOYMENT_DB_URL=db_url)
    command = [sys.executable, "-m", "ui.serve", "run", "app.py"]
    if os.environ.get("BENCH_PLAIN_STREAMLIT") == "1":  # the stock command, for a before/after comparison
        command = [sys.executable, "-m", "streamlit", "run", "app.py"]
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT,
        env=env,
        stdout=open(log, "wb"),  # noqa: SIM115 - closed by the child's exit
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    while not _healthy(base):
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}: {log.read_text()[-2000:]}")
        if time.perf_counter() - started > 300:
            proc.kill()
            raise RuntimeError("the app did not start within 300 s")
        time.sleep(0.1)
    return proc, time.perf_counter() - started


def settle(page: Page, since: float, timeout_s: float = 90) -> float:
    """Wait until the rerun that began after ``since`` (performance.now()) settled; its time in seconds."""
    page.wait_for_function(SETTLED, arg=since, timeout=timeout_s * 1000, polling=25)
    return (page.evaluate("performance.now()") - since) / 1000


def click(page: Page, locator: str, nth: int = 0) -> float:
    since = page.evaluate("performance.now()")
    page.locator(locator).nth(nth).click()
    return settle(page, since)


def nav(page: Page, path: str) -> float:
    """Click the sidebar link of the page at url path ``path`` (the Overview, the default page, is ``/``)."""
    if path == "overview":
        return click(page, "[data-testid='stSidebarNav'] a", 0)
    return click(page, f"[data-testid='stSidebarNav'] a[href$='/{path}']")


def pick(page: Page, label_index: int, option_index: int) -> float:
    """Open the ``label_index``-th selectbox of the main area and choose its ``option_index``-th option."""
    box = page.locator("[data-testid='stMainBlockContainer'] input[role='combobox']").nth(label_index)
    box.click()
    options = page.locator("[role='option']")
    options.first.wait_for(timeout=10_000)
    since = page.evaluate("performance.now()")
    options.nth(min(option_index, options.count() - 1)).click()
    return settle(page, since)


def run(base: str, passes: int, lang: str) -> dict:
    with sync_playwright() as p, tempfile.TemporaryDirectory() as fc:
        env: dict[str, str | float | bool] = {
            **os.environ,
            "FONTCONFIG_FILE": str(fonts.fontconfig_file(Path(fc))),
        }
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, env=env)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        started = time.perf_counter()
        page.goto(f"{base}/?lang={lang}")
        page.wait_for_function(FIRST_READY, timeout=180_000, polling=25)
        first = time.perf_counter() - started
        print(f"first page: {first:.2f} s", file=sys.stderr, flush=True)
        page.evaluate(OBSERVER)
        clicks: dict[str, list[float]] = {}
        for n in range(passes):  # each pass chooses other districts: a first visit, not a cached one
            for name in PAGES:
                clicks.setdefault(name, []).append(nav(page, name))
                print(f"{name}: {clicks[name][-1]:.2f} s", file=sys.stderr, flush=True)
            for name, to, box, option in (
                ("targets: another district", "targets", 3, 2 + n),
                ("service_circle: a district", "service_circle", 0, 3 + n),
                ("service_circle: city-wide", None, 0, 0),
            ):
                if to:
                    nav(page, to)
                clicks.setdefault(name, []).append(pick(page, box, option))
                print(f"{name}: {clicks[name][-1]:.2f} s", file=sys.stderr, flush=True)
        errors = page.locator("[data-testid='stException']").count()
        browser.close()
    every = [x for v in clicks.values() for x in v]
    return {
        "first_page_s": round(first, 2),
        "clicks_s": {k: [round(x, 2) for x in v] for k, v in clicks.items()},
        "click_max_s": round(max(every), 2),
        "click_median_s": round(statistics.median(every), 2),
        "clicks": len(every),
        "exceptions_on_last_page": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--url", default="sqlite:////tmp/small.sqlite", help="database of the app started here"
    )
    parser.add_argument("--base", help="an app already running (no start-up figure)")
    parser.add_argument("--passes", type=int, default=2, help="rounds of clicks over every page")
    parser.add_argument("--lang", default="zh")
    args = parser.parse_args()
    load_before = os.getloadavg()
    proc = None
    result: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        try:
            base = args.base
            if base is None:
                port = _port()
                proc, ready = start_server(args.url, args.lang, port, Path(tmp) / "app.log")
                result["server_ready_s"] = round(ready, 2)
                base = f"http://127.0.0.1:{port}"
            result.update(run(base, args.passes, args.lang))
        finally:
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    result["load_avg_before"] = [round(x, 2) for x in load_before]
    result["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    result["when"] = time.strftime("%Y-%m-%d %H:%M")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(
        f"\nfirst page {result['first_page_s']:.2f} s (goal < 3); clicks median {result['click_median_s']:.2f} s, "
        f"max {result['click_max_s']:.2f} s (goal < 1.5) over {result['clicks']} clicks; load "
        f"{load_before[0]:.2f} → {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
