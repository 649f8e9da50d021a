"""Load test on loopback: N concurrent Streamlit sessions, each driving R reruns over the app's pages.

Each session is a websocket client speaking Streamlit's own protocol (BackMsg.rerun_script), so no browser is
needed; a rerun is timed from the request to the ScriptFinished message. Bounded in count and time; stops by
itself. Prints median and 95th-percentile rerun times and the errors.

Run: .venv/bin/python bench/load_test.py [--sessions 50] [--reruns 6] [--url URL_OF_A_RUNNING_APP]
Without --url it starts the app itself (open demo mode) on the demo database.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import websocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["", "targets", "funds", "service_circle", "forecasts", "explore", "data"]
FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(port: int) -> subprocess.Popen:
    env = dict(os.environ, EMPLOYMENT_AUTH="open", EMPLOYMENT_LANG="en")
    if os.environ.get("LOAD_TEST_ERROR_DETAILS") == "1":  # diagnosing: let exceptions carry their message
        env["STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"] = "full"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the app did not start")


def rerun(ws: websocket.WebSocket, page: str, timeout_s: float) -> tuple[float, str | None]:
    msg = BackMsg()
    msg.rerun_script.query_string = ""
    msg.rerun_script.page_name = page
    started = time.perf_counter()
    ws.send_binary(msg.SerializeToString())
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        fwd = ForwardMsg()
        fwd.ParseFromString(ws.recv())
        if fwd.WhichOneof("type") == "script_finished":
            if fwd.script_finished in FINISHED_OK:
                return time.perf_counter() - started, None
            return time.perf_counter() - started, f"finished with status {fwd.script_finished}"
        if fwd.WhichOneof("type") == "delta" and fwd.delta.new_element.WhichOneof("type") == "exception":
            exc = fwd.delta.new_element.exception
            return (
                time.perf_counter() - started,
                f"exception on {page or 'overview'}: {exc.type} {exc.message[:120]}",
            )
    return time.perf_counter() - started, "timeout"


def session(
    base: str,
    index: int,
    reruns: int,
    timeout_s: float,
    times: list[float],
    errors: list[str],
    lock: threading.Lock,
) -> None:
    host = base.split("//", 1)[1]
    try:
        ws = websocket.create_connection(f"ws://{host}/_stcore/stream", timeout=timeout_s, origin=base)
    except (OSError, websocket.WebSocketException) as exc:
        with lock:
            errors.append(f"connect: {exc}")
        return
    try:
        for r in range(reruns):
            took, err = rerun(ws, PAGES[(index + r) % len(PAGES)], timeout_s)
            with lock:
                (errors.append(err) if err else times.append(took))
    except (OSError, websocket.WebSocketException) as exc:
        with lock:
            errors.append(f"socket: {exc}")
    finally:
        ws.close()


def run(base: str, sessions: int, reruns: int, timeout_s: float = 120.0) -> dict:
    """Drive ``sessions`` concurrent sessions of ``reruns`` reruns each; return the figures."""
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=session, args=(base, i, reruns, timeout_s, times, errors, lock))
        for i in range(sessions)
    ]
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=timeout_s * reruns + 30)
    wall = time.perf_counter() - started
    q = statistics.quantiles(times, n=20) if len(times) >= 20 else [float("nan")] * 19
    return {
        "sessions": sessions,
        "reruns_each": reruns,
        "completed": len(times),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "p50_s": statistics.median(times) if times else None,
        "p95_s": q[18],
        "wall_s": wall,
        "reruns_per_s": len(times) / wall if wall else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--reruns", type=int, default=6)
    parser.add_argument("--url", help="a running app, e.g. http://127.0.0.1:8501 (default: start one)")
    args = parser.parse_args()
    proc = None
    base = args.url
    if base is None:
        port = _port()
        proc = start_app(port)
        base = f"http://127.0.0.1:{port}"
    try:
        run(base, 1, 2)  # warm the caches once, as a server in use would be
        print(json.dumps(run(base, args.sessions, args.reruns), indent=2))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
