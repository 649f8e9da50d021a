"""Start the dashboard with warm caches: ``python -m ui.serve run app.py [streamlit options]``.

Streamlit runs no app code until the first browser connects, so the first visitor after a restart used to pay
for every import, the city-wide suppression plan and the Overview's figures (13.9 s in Chromium on the small
demo). This launcher does that work before the port opens:

1. every page, the Overview first, is run once in-process (Streamlit's ``AppTest``) in the configured
   language: it imports the libraries and fills the shared caches that every session reads, keyed on the
   current data version (the plan, the queries and figures of ``ui.common``, the service-circle map), through
   the same ``query``/``figure`` runners, so the suppression plan applies to what is precomputed exactly as to
   a page (in a login mode the run sees no user: then only the data status and the libraries are warmed);
2. the server starts (behind nginx, the other process serves meanwhile).

Set ``EMPLOYMENT_WARM=overview`` to warm the Overview only, ``EMPLOYMENT_WARM=0`` to start cold; with
``EMPLOYMENT_WARM_VISIT=1`` a background session also visits every page once after the port opens. A warm-up
failure is logged and never stops the server.
"""

from __future__ import annotations

import gc
import os
import socket
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["", "targets", "funds", "service_circle", "forecasts", "explore", "pack", "data"]


def _say(message: str) -> None:
    print(f"warm-up: {message}", file=sys.stderr, flush=True)


def warm_in_process(pages: list[str] | None = None) -> float:
    """Run the Overview, then each of ``pages`` (default: every page), once in this process before the server
    starts; seconds taken."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    from ui.common import NAVIGATION

    started = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    for page in PAGES[1:] if pages is None else pages:
        at.switch_page(f"pages/{page}.py").run()
        if at.exception:
            _say(f"{page} raised {at.exception[0].value[:200]}")
    # Leave no trace of the test run in the server's own state: its navigation starts as at a fresh start.
    NAVIGATION["active"] = False
    PagesManager.uses_pages_directory = None
    return time.perf_counter() - started


def _port_from(argv: list[str]) -> int:
    for i, arg in enumerate(argv):
        if arg == "--server.port" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--server.port="):
            return int(arg.split("=", 1)[1])
    return int(os.environ.get("STREAMLIT_SERVER_PORT", "8501"))


def visit_pages(port: int, timeout_s: float = 300) -> None:
    """One websocket session to this server that runs every page once (Streamlit's own rerun protocol)."""
    import websocket
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    deadline = time.time() + 120
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    started = time.perf_counter()
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{port}/_stcore/stream", timeout=timeout_s, origin=f"http://127.0.0.1:{port}"
    )
    try:
        for page in PAGES:
            msg = BackMsg()
            msg.rerun_script.query_string = ""
            msg.rerun_script.page_name = page
            ws.send_binary(msg.SerializeToString())
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(ws.recv())
                if fwd.WhichOneof("type") == "script_finished":
                    break
    finally:
        ws.close()
    _say(f"every page visited once in {time.perf_counter() - started:.1f} s")


def _visit_quietly(port: int) -> None:
    try:
        visit_pages(port)
    except Exception as exc:  # noqa: BLE001 - a warm-up failure must never stop the server
        _say(f"visiting the pages failed: {type(exc).__name__}: {exc}")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.chdir(ROOT)
    warm = os.environ.get("EMPLOYMENT_WARM", "1")
    if warm != "0" and argv[:1] == ["run"]:
        try:
            seconds = warm_in_process([] if warm == "overview" else None)
            _say(f"{'the Overview' if warm == 'overview' else 'every page'} computed in {seconds:.1f} s")
            # What the warm-up loaded (libraries, the plan, cached figures) lives as long as the process: move it
            # out of the collector's sight, so no later collection walks those millions of objects again.
            gc.collect()
            gc.freeze()
        except Exception as exc:  # noqa: BLE001 - a warm-up failure must never stop the server
            _say(f"failed: {type(exc).__name__}: {exc}")
        if os.environ.get("EMPLOYMENT_WARM_VISIT") == "1":
            threading.Thread(target=_visit_quietly, args=(_port_from(argv),), daemon=True).start()
    from streamlit.web import cli

    cli.main(args=argv, prog_name="streamlit")


if __name__ == "__main__":
    main()
