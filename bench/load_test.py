"""Load test on loopback: N concurrent Streamlit sessions, each driving R reruns over the app's pages.

Each session is a websocket client speaking Streamlit's own protocol (BackMsg.rerun_script), so no browser is
needed; a rerun is timed from the request to the ScriptFinished message. Bounded in count and time; stops by
itself. Prints median and 95th-percentile rerun times and the errors.

Run: .venv/bin/python bench/load_test.py [--sessions 50] [--reruns 6] [--url URL_OF_A_RUNNING_APP]
     .venv/bin/python bench/load_test.py --baseline --processes 1,2,3 --via-nginx [--wait-load 1.5]
Without --url it starts the app itself (open demo mode) on a copy of the demo database (data/demo.sqlite, or
--db) in a temporary folder. With --via-nginx it starts N app processes and nginx in front of them with the
shipped configuration (deploy/nginx/employment.conf.template, rendered by deploy/render_nginx.py) on a free
loopback port, its own prefix in the temporary folder, never the system service. Each session then first GETs
``/`` for its sticky cookie, sends it with the websocket, and GETs ``/_stcore/health`` at the end; nginx's
``X-Upstream`` header on all three must name the same process (counted as "unsticky" otherwise).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import websocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["", "targets", "funds", "service_circle", "forecasts", "explore", "data"]
FINISHED_OK = {ForwardMsg.FINISHED_SUCCESSFULLY}
COOKIE = "employment_route"  # deploy/render_nginx.py COOKIE
# nginx's main configuration around the shipped http-context file: own prefix, pid, logs and temp folders.
NGINX_MAIN = """\
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/employment.conf;
}}
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen, what: str, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"{what} did not start")


def start_app(port: int, db_url: str | None = None, log: Path | None = None) -> subprocess.Popen:
    env = dict(os.environ, EMPLOYMENT_AUTH="open", EMPLOYMENT_LANG="en")
    if db_url:
        env["EMPLOYMENT_DB_URL"] = db_url
    if os.environ.get("LOAD_TEST_ERROR_DETAILS") == "1":  # diagnosing: let exceptions carry their message
        env["STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"] = "full"
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed by the child's exit
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ui.serve",  # as deployed (deploy/run-processes.sh): caches warmed before the port opens
            "run",
            "app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    _wait_port(port, proc, f"the app on port {port}", seconds=600)
    return proc


def start_nginx(app_ports: list[int], listen_port: int, folder: Path, **options: Any) -> subprocess.Popen:
    """nginx with the shipped configuration for ``app_ports``, in its own prefix ``folder``, on loopback.

    ``options`` go to ``deploy.render_nginx.render``; the ``X-Upstream`` header is on unless they say otherwise.
    """
    sys.path.insert(0, str(ROOT))
    from deploy.render_nginx import render

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # nginx's workers run as nobody when started by root
    options.setdefault("debug_upstream_header", True)
    conf = render(app_ports, listen=f"127.0.0.1:{listen_port}", **options)
    (folder / "employment.conf").write_text(conf, encoding="utf-8")
    (folder / "nginx.conf").write_text(NGINX_MAIN.format(d=folder), encoding="utf-8")
    command = [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf")]
    subprocess.run([*command, "-t", "-q"], check=True, capture_output=True)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(folder / "stderr.log", "wb"))  # noqa: SIM115
    _wait_port(listen_port, proc, "nginx")
    return proc


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


@dataclass
class Tally:
    """What the sessions of one run measured; appended to under ``lock``."""

    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    backends: list[str] = field(default_factory=list)  # the process each session was served by
    unsticky: int = 0  # sessions whose requests nginx sent to more than one process
    pages: list[tuple[str, float]] = field(default_factory=list)  # (page, seconds) with think times
    lock: threading.Lock = field(default_factory=threading.Lock)


def http_get(base: str, path: str, cookie: str | None, timeout_s: float) -> http.client.HTTPResponse:
    """GET ``path``; the response is read and closed, its headers stay readable."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout_s)
    try:
        conn.request("GET", path, headers={"Cookie": f"{COOKIE}={cookie}"} if cookie else {})
        response = conn.getresponse()
        response.read()
        return response
    finally:
        conn.close()


def route_cookie(response: http.client.HTTPResponse) -> str | None:
    """The value nginx's sticky cookie was given in ``Set-Cookie``, if any."""
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        if name.strip() == COOKIE:
            return rest.split(";", 1)[0]
    return None


def session(
    base: str,
    index: int,
    reruns: int,
    timeout_s: float,
    tally: Tally,
    sticky: bool = False,
    think: tuple[float, float] | None = None,
    until: float = 0.0,
) -> None:
    """One user: (via nginx: GET / for the cookie,) a websocket, ``reruns`` page runs back to back (or, with
    ``think``, a page every ``think`` seconds until the clock reads ``until``), (a final GET)."""
    host = base.split("//", 1)[1]
    cookie = None
    seen: list[str] = []
    try:
        if sticky:
            first = http_get(base, "/", None, timeout_s)
            cookie = route_cookie(first)
            if first.status != 200 or cookie is None:
                raise OSError(f"GET / answered {first.status} without the {COOKIE} cookie")
            seen.append(first.headers.get("X-Upstream", "?"))
        ws = websocket.create_connection(
            f"ws://{host}/_stcore/stream",
            timeout=timeout_s,
            origin=base,
            cookie=f"{COOKIE}={cookie}" if cookie else None,
        )
    except (OSError, websocket.WebSocketException) as exc:
        with tally.lock:
            tally.errors.append(f"connect: {exc}")
        return
    if sticky:
        seen.append((ws.getheaders() or {}).get("x-upstream", "?"))
    try:
        if think is None:  # back to back: ``reruns`` page runs over the pages in turn
            for r in range(reruns):
                took, err = rerun(ws, PAGES[(index + r) % len(PAGES)], timeout_s)
                with tally.lock:
                    (tally.errors.append(err) if err else tally.times.append(took))
        else:  # a person: a page, then a think time drawn from ``think`` seconds, until ``until``
            rng = random.Random(index)
            time.sleep(rng.uniform(0, think[0]))  # people do not all arrive in the same second
            page = PAGES[index % len(PAGES)]
            while time.time() < until:
                took, err = rerun(ws, page, timeout_s)
                with tally.lock:
                    (tally.errors.append(err) if err else tally.times.append(took))
                    tally.pages.append((page, took))
                page = rng.choice(PAGES)
                time.sleep(min(rng.uniform(*think), max(0.0, until - time.time())))
    except (OSError, websocket.WebSocketException) as exc:
        with tally.lock:
            tally.errors.append(f"socket: {exc}")
    finally:
        ws.close()
    try:
        if sticky:
            seen.append(http_get(base, "/_stcore/health", cookie, timeout_s).headers.get("X-Upstream", "?"))
    except OSError as exc:
        with tally.lock:
            tally.errors.append(f"health: {exc}")
    with tally.lock:
        tally.backends.append(seen[0] if seen else host)
        tally.unsticky += len(set(seen)) > 1


def run(
    base: str,
    sessions: int,
    reruns: int,
    timeout_s: float = 120.0,
    sticky: bool = False,
    think: tuple[float, float] | None = None,
    duration_s: float = 300.0,
) -> dict:
    """Drive ``sessions`` concurrent sessions of ``reruns`` reruns each (or, with ``think``, each clicking after
    a random think time for ``duration_s``); return the figures."""
    tally = Tally()
    until = time.time() + duration_s
    threads = [
        threading.Thread(target=session, args=(base, i, reruns, timeout_s, tally, sticky, think, until))
        for i in range(sessions)
    ]
    load_before = os.getloadavg()
    started = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=max(0.0, until - time.time()) + timeout_s + 30 if think else timeout_s * reruns + 30)
    wall = time.perf_counter() - started
    times = tally.times
    q = statistics.quantiles(times, n=20) if len(times) >= 20 else [float("nan")] * 19
    per_page: dict[str, list[float]] = {}
    for page, took in tally.pages:
        per_page.setdefault(page or "overview", []).append(took)
    return {
        "sessions": sessions,
        "reruns_each": reruns if think is None else None,
        "think_s": list(think) if think else None,
        "duration_s": duration_s if think else None,
        "p95_by_page_s": {
            p: round(statistics.quantiles(v, n=20)[18] if len(v) >= 20 else max(v), 2)
            for p, v in sorted(per_page.items())
        },
        "max_s": max(times) if times else None,
        "completed": len(times),
        "errors": len(tally.errors),
        "error_examples": sorted(set(tally.errors))[:5],
        "p50_s": statistics.median(times) if times else None,
        "p95_s": q[18],
        "wall_s": wall,
        "reruns_per_s": len(times) / wall if wall else None,
        "sessions_per_backend": dict(sorted(Counter(tally.backends).items())),
        "unsticky_sessions": tally.unsticky,
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
    }


def _think(text: str | None) -> tuple[float, float] | None:
    """``--think MIN,MAX`` as seconds."""
    if not text:
        return None
    low, high = (float(x) for x in text.split(","))
    return low, high


def wait_for_quiet(limit: float, max_wait_s: float = 1200) -> float:
    """Sleep until the 1-minute load average is below ``limit`` (at most ``max_wait_s``); return it."""
    deadline = time.time() + max_wait_s
    while os.getloadavg()[0] >= limit and time.time() < deadline:
        print(f"load average {os.getloadavg()[0]:.2f} >= {limit}: waiting 60 s", file=sys.stderr, flush=True)
        time.sleep(60)
    return os.getloadavg()[0]


def measure(processes: int, via_nginx: bool, db_url: str, folder: Path, args: argparse.Namespace) -> dict:
    """Start ``processes`` app processes (and nginx in front), warm each, run the load, stop them all."""
    procs: list[subprocess.Popen] = []
    try:
        ports = [_port() for _ in range(processes)]
        for port in ports:
            procs.append(start_app(port, db_url, folder / f"app-{port}.log"))
        for port in ports:  # warm each process's caches once, as a server in use would be
            run(f"http://127.0.0.1:{port}", 1, 2)
        base = f"http://127.0.0.1:{ports[0]}"
        if via_nginx:
            listen = _port()
            procs.append(start_nginx(ports, listen, folder / f"nginx-{processes}"))
            base = f"http://127.0.0.1:{listen}"
        if args.wait_load:
            wait_for_quiet(args.wait_load, args.wait_max)
        think = _think(args.think)
        result = run(
            base,
            args.sessions,
            args.reruns,
            sticky=via_nginx,
            think=think,
            duration_s=args.duration,
        )
        return {"processes": processes, "via_nginx": via_nginx, **result}
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def table(results: list[dict]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| processes | via nginx | sessions × reruns | completed | errors | p50 s | p95 s | reruns/s "
        "| sessions per process | unsticky | load avg before → after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        per = " / ".join(str(n) for n in r["sessions_per_backend"].values()) if r["via_nginx"] else "–"
        shape = (
            f"{r['sessions']} × {r['reruns_each']}"
            if r["think_s"] is None
            else f"{r['sessions']}, think {r['think_s'][0]:g}–{r['think_s'][1]:g} s, {r['duration_s']:.0f} s"
        )
        lines.append(
            f"| {r['processes']} | {'yes' if r['via_nginx'] else 'no'} | {shape} "
            f"| {r['completed']} | {r['errors']} | {r['p50_s'] or float('nan'):.2f} | {r['p95_s']:.2f} "
            f"| {r['reruns_per_s'] or 0:.2f} | {per} | {r['unsticky_sessions'] if r['via_nginx'] else '–'} "
            f"| {r['load_avg_before'][0]:.2f} → {r['load_avg_after'][0]:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--reruns", type=int, default=6)
    parser.add_argument(
        "--url", help="a running app or nginx front, e.g. http://127.0.0.1:8501 (default: start)"
    )
    parser.add_argument(
        "--processes", default="1", help="app processes to start, or a list to compare: 1,2,3"
    )
    parser.add_argument("--via-nginx", action="store_true", help="put nginx (shipped configuration) in front")
    parser.add_argument("--wait-max", type=float, default=1200, help="longest wait for --wait-load, s")
    parser.add_argument(
        "--think",
        help="people instead of a burst: each clicks a random page after a think time drawn from MIN,MAX s "
        "(e.g. 5,20), for --duration seconds",
    )
    parser.add_argument("--duration", type=float, default=300.0, help="length of a --think run, s")
    parser.add_argument("--baseline", action="store_true", help="first measure 1 process without nginx")
    parser.add_argument("--db", default=str(ROOT / "data" / "demo.sqlite"), help="SQLite file, copied first")
    parser.add_argument(
        "--wait-load",
        type=float,
        help="before each run, wait for the 1-minute load average to fall below this",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the app processes and nginx on the way out
    think = _think(args.think)
    if args.url:
        run(args.url, 1, 2)  # warm the caches once, as a server in use would be
        figures = run(
            args.url,
            args.sessions,
            args.reruns,
            sticky=args.via_nginx,
            think=think,
            duration_s=args.duration,
        )
        print(json.dumps(figures, indent=2))
        return
    counts = [int(n) for n in args.processes.split(",")]
    if any(n > 1 for n in counts) and not args.via_nginx:
        parser.error("several processes need a front: add --via-nginx")
    if args.via_nginx and not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        sys.exit("nginx is not installed (Debian: apt-get install nginx-light); --via-nginx skipped")
    with tempfile.TemporaryDirectory(prefix="load-test-") as tmp:
        folder = Path(tmp)
        db = folder / "demo.sqlite"
        shutil.copyfile(args.db, db)  # others may rebuild data/demo.sqlite meanwhile
        results = []
        plan = ([(1, False)] if args.baseline else []) + [(n, args.via_nginx) for n in counts]
        for n, via_nginx in plan:
            result = measure(n, via_nginx, f"sqlite:///{db}", folder, args)
            print(json.dumps(result, indent=2), flush=True)
            results.append(result)
        print(f"\n{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores\n\n{table(results)}")


if __name__ == "__main__":
    main()
