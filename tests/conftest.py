"""Shared fixtures: a tiny demo database on SQLite, a throwaway PostgreSQL server, and mandatory-service rules.

REQUIRE_POSTGRES=1 / REQUIRE_BROWSER=1 (set by .ci/run) turn "service not available" skips into failures.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, text

from jobs import demo
from store.db import make_engine

# Tests run the app in explicit open demo mode unless a test sets another login mode (tests/test_access.py).
os.environ.setdefault("EMPLOYMENT_AUTH", "open")
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UNTIL = pd.Period("2026-10", freq="M")  # fixed so every run builds the same database


def unavailable(what: str, env: str, reason: str) -> None:
    """Skip, or fail when the environment says this service is mandatory."""
    if os.environ.get(env) == "1":
        pytest.fail(f"{what} is mandatory here ({env}=1) but unavailable: {reason}")
    pytest.skip(f"{what} unavailable: {reason}")


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny demo city (2 % of the small scale) in SQLite, built once per session."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    url = f"sqlite:///{path}"
    demo.build(make_engine(url), scale="tiny", until=UNTIL)
    return url


@pytest.fixture(scope="session")
def demo_engine(demo_url: str) -> Engine:
    return make_engine(demo_url)


@pytest.fixture()
def empty_url(tmp_path: Path) -> str:
    """A database file that does not exist yet (no schema, no data)."""
    return f"sqlite:///{tmp_path / 'empty.sqlite'}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PgCluster:
    """A throwaway PostgreSQL cluster on a free loopback port (initdb/pg_ctl run as postgres when we are root)."""

    def __init__(self, settings: dict[str, str] | None = None, workdir: str | None = None) -> None:
        self.settings = settings or {}
        bindir = _pg_bin()
        if bindir is None:
            unavailable("PostgreSQL", "REQUIRE_POSTGRES", "no initdb found (apt-get install postgresql)")
        assert bindir is not None
        self.bindir = bindir
        self.workdir = Path(tempfile.mkdtemp(prefix="pgtest-", dir=workdir))
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.workdir, "postgres", "postgres")
        self.port = _free_port()
        self.data = self.workdir / "data"
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"
        )
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bindir / tool), *args], check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        opts += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.workdir / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server for the session: EMPLOYMENT_TEST_PG_URL, or a throwaway cluster on loopback."""
    given = os.environ.get("EMPLOYMENT_TEST_PG_URL")
    if given:
        yield given
        return
    cluster = PgCluster()
    try:
        yield cluster.url
    finally:
        cluster.remove()


@pytest.fixture()
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    for _ in range(50):
        try:
            with admin.connect() as conn:
                conn.execute(text("CREATE DATABASE " + name))  # name is generated above, never user input
            break
        except Exception:  # the server may still be starting
            time.sleep(0.1)
    url = pg_server.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"))
    admin.dispose()


def _pg_database(pg_server: str, prefix: str) -> str:
    """A new empty database on the session's server; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE " + name))
    admin.dispose()
    return pg_server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_demo_url(pg_server: str) -> str:
    """The same tiny demo city on PostgreSQL (event tables partitioned by month), built once per session."""
    url = _pg_database(pg_server, "demo")
    demo.build(make_engine(url), scale="tiny", until=UNTIL)
    return url


@pytest.fixture(scope="session")
def pg_sharded_demo_url(pg_server: str) -> str:
    """The tiny demo city on PostgreSQL in the Citus layout: fact tables hash-partitioned by district."""
    from store import partitions

    url = _pg_database(pg_server, "sharded")
    engine = make_engine(url)
    demo.build(engine, scale="tiny", until=UNTIL)
    with engine.begin() as conn:
        partitions.apply(conn, "district")
    engine.dispose()
    return url


DEMO_URL_FIXTURES = {"sqlite": "demo_url", "postgresql": "pg_demo_url", "sharded": "pg_sharded_demo_url"}


@pytest.fixture(params=list(DEMO_URL_FIXTURES))
def both_demo_urls(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over the demo city on SQLite, on PostgreSQL, and on PostgreSQL sharded by district."""
    return request.getfixturevalue(DEMO_URL_FIXTURES[request.param])


# --- a running app and a real browser (Playwright driving Debian's Chromium) ---------------------------------


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
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


def browser_env(folder: Path) -> dict[str, str | float | bool]:
    """The browser's environment: fontconfig also sees the shipped Chinese font (a fresh machine has none)."""
    from jobs.pack import fonts

    return {**os.environ, "FONTCONFIG_FILE": str(fonts.fontconfig_file(folder))}


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        unavailable("Chromium", "REQUIRE_BROWSER", f"{CHROMIUM} not found")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        env = browser_env(tmp_path_factory.mktemp("fontconfig"))
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env)
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
