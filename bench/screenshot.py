"""Take the README screenshot: serve the app on the demo database and photograph a page in headless Chromium.

Run: .venv/bin/python bench/screenshot.py [PATH_AND_QUERY] [OUT.png]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

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


def main() -> None:
    target = sys.argv[1] if len(sys.argv) > 1 else "targets?district=420116&pace=seasonal"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else ROOT / "docs" / "screenshot.png")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, EMPLOYMENT_LANG=os.environ.get("EMPLOYMENT_LANG", "zh"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(4)
        with sync_playwright() as p, tempfile.TemporaryDirectory() as fc:
            # The shipped Chinese font, so the screenshot shows Chinese on a machine without a CJK font.
            browser_env: dict[str, str | float | bool] = {
                **os.environ,
                "FONTCONFIG_FILE": str(fonts.fontconfig_file(Path(fc))),
            }
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS, env=browser_env)
            page = browser.new_page(viewport={"width": 1500, "height": int(os.environ.get("HEIGHT", "1100"))})
            page.goto(f"http://127.0.0.1:{port}/{target}")
            ready = "[data-testid='stApp'][data-test-script-state='notRunning']"
            page.wait_for_selector(ready, state="attached", timeout=120_000)
            page.wait_for_timeout(4000)
            page.screenshot(path=str(out), full_page=os.environ.get("FULL_PAGE") == "1")
            browser.close()
    finally:
        proc.terminate()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
