"""Login hardening (issue #18): proxy mode needs the proxy's shared secret, a disabled user's open session ends at
its next rerun (a role change applies), failed logins lock a name and an address with back-off, scrypt at OWASP's
cost with old hashes upgraded, and OIDC refuses an unverified e-mail address.

The proxy tests start a real Streamlit server on 127.0.0.1 and speak its websocket protocol (BackMsg.rerun_script)
with the ``websockets`` client, as a caller that reaches the port directly would.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.testing.v1 import AppTest
from websockets.sync.client import connect
from websockets.typing import Origin

from store import auth, schema
from store.db import make_engine, upgrade
from tests.conftest import ROOT

PASSWORD = "s3cret-pass"


def _user(
    url: str, role: str | None = "leader", district: str | None = None, password: str | None = PASSWORD
) -> str:
    name = f"u_{uuid.uuid4().hex[:8]}"
    auth.add_user(make_engine(url), name, role, password, district)
    return name


def _app(monkeypatch: pytest.MonkeyPatch, url: str, mode: str) -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    monkeypatch.setenv("EMPLOYMENT_AUTH", mode)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)


def _login(at: AppTest, name: str, password: str) -> None:
    at.text_input(key="auth_username").input(name)
    at.text_input(key="auth_password").input(password)
    at.button[0].click().run()


def _audit(url: str, name: str) -> list[tuple[str, str | None]]:
    a = schema.audit_log
    with make_engine(url).connect() as conn:
        return [
            (r.action, r.detail)
            for r in conn.execute(select(a).where(a.c.username == name).order_by(a.c.audit_id))
        ]


# --- scrypt cost and hash upgrade --------------------------------------------------------------------------------


def _old_hash(password: str, n: int = 2**14) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=8, p=1, dklen=32)
    return f"scrypt${n}$8$1${salt.hex()}${digest.hex()}"


def test_scrypt_cost_is_owasps_advice() -> None:
    stored = auth.hash_password("correct horse")
    assert stored.split("$")[1:4] == ["131072", "8", "1"]  # N = 2^17, r = 8, p = 1 (128 MiB)
    assert auth.verify_password("correct horse", stored) and not auth.needs_rehash(stored)
    old = _old_hash("correct horse")
    assert auth.verify_password("correct horse", old) and auth.needs_rehash(old)
    assert not auth.verify_password("x", "scrypt$4194304$8$1$00$00")  # absurd stored cost: refused, not run


def test_an_old_hash_is_upgraded_at_the_next_successful_login(demo_url: str) -> None:
    engine = make_engine(demo_url)
    name = _user(demo_url, password=None)
    u = schema.app_user
    with engine.begin() as conn:
        conn.execute(update(u).where(u.c.username == name).values(password_hash=_old_hash(PASSWORD)))
    assert auth.login(engine, name, "wrong password").user is None
    with engine.connect() as conn:
        assert (
            conn.execute(select(u.c.password_hash).where(u.c.username == name))
            .scalar_one()
            .startswith("scrypt$16384$")
        )  # a wrong password changes nothing
    assert auth.login(engine, name, PASSWORD).user is not None
    with engine.connect() as conn:
        stored = conn.execute(select(u.c.password_hash).where(u.c.username == name)).scalar_one()
    assert stored.startswith("scrypt$131072$8$1$") and auth.verify_password(PASSWORD, stored)


# --- lockout -------------------------------------------------------------------------------------------------------


@pytest.fixture()
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lockout tests hash dozens of passwords: a low scrypt cost keeps them fast (the cost has its own test)."""
    monkeypatch.setattr(auth, "SCRYPT", {"n": 2**10, "r": 8, "p": 1})
    monkeypatch.setattr(auth, "_DUMMY", [])


def test_lock_length_doubles_to_a_cap() -> None:
    assert auth.lock_length(auth.USER_LIMIT - 1, auth.USER_LIMIT) == timedelta(0)
    assert auth.lock_length(auth.USER_LIMIT, auth.USER_LIMIT) == auth.FIRST_LOCK
    assert auth.lock_length(auth.USER_LIMIT + 1, auth.USER_LIMIT) == 2 * auth.FIRST_LOCK
    assert auth.lock_length(auth.USER_LIMIT + 100, auth.USER_LIMIT) == auth.MAX_LOCK


def _lockout_cycle(url: str) -> None:
    engine = make_engine(url)
    name = _user(url)
    now = datetime(2026, 12, 1, 9, 0, 0)
    for i in range(auth.USER_LIMIT):
        result = auth.login(engine, name, f"guess {i}", "203.0.113.7", now=now + timedelta(seconds=i))
        assert result.user is None
    locked_at = now + timedelta(seconds=auth.USER_LIMIT - 1)
    assert result.locked_until == locked_at + auth.FIRST_LOCK
    # the right password while locked: refused, without counting (the lock does not grow)
    during = auth.login(engine, name, PASSWORD, "198.51.100.1", now=locked_at + timedelta(seconds=10))
    assert during.user is None and during.locked_until == locked_at + auth.FIRST_LOCK
    # the back-off expires: the right password works and the name's count starts again
    after = locked_at + auth.FIRST_LOCK + timedelta(seconds=1)
    assert auth.login(engine, name, PASSWORD, "198.51.100.1", now=after).user is not None
    assert auth.locked_until(engine, name, None, now=after) is None
    # five more failures lock again; one more after that lock ends doubles the back-off
    t1 = after + timedelta(seconds=1)
    for _ in range(auth.USER_LIMIT):
        result = auth.login(engine, name, "nope", None, now=t1)
    assert result.locked_until == t1 + auth.FIRST_LOCK
    t2 = t1 + auth.FIRST_LOCK + timedelta(seconds=1)
    assert auth.login(engine, name, "nope", None, now=t2).locked_until == t2 + 2 * auth.FIRST_LOCK
    # one address guessing many names is locked too, for every name (a right password included)
    other = _user(url)
    t0 = datetime(2026, 12, 1, 10, 0, 0)
    for i in range(auth.ADDRESS_LIMIT):
        result = auth.login(engine, f"nobody{i}_{uuid.uuid4().hex[:4]}", "x", "192.0.2.99", now=t0)
    assert result.locked_until == t0 + auth.FIRST_LOCK
    assert auth.login(engine, other, PASSWORD, "192.0.2.99", now=t0 + timedelta(seconds=5)).user is None
    assert auth.login(engine, other, PASSWORD, "192.0.2.100", now=t0 + timedelta(seconds=5)).user is not None


def test_lockout_counts_in_the_database_sqlite(demo_url: str, cheap_scrypt: None) -> None:
    _lockout_cycle(demo_url)


def test_lockout_counts_in_the_database_postgresql(pg_url: str, cheap_scrypt: None) -> None:
    upgrade(make_engine(pg_url))  # the migrations, 0004 with login_failure included
    _lockout_cycle(pg_url)


LOGIN_GRANTS = [  # docs/deployment.md: the role of EMPLOYMENT_LOGIN_DB_URL
    "GRANT CONNECT ON DATABASE {db} TO {role}",
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, UPDATE (password_hash) ON app_user TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON login_failure TO {role}",
]


def test_the_documented_login_role_suffices_on_postgresql(pg_url: str, cheap_scrypt: None) -> None:
    """Lockout, login and hash upgrade through a role with only the documented grants (no other table)."""
    from sqlalchemy import text
    from sqlalchemy.exc import ProgrammingError

    admin = make_engine(pg_url)
    upgrade(admin)
    role = f"login_{uuid.uuid4().hex[:8]}"  # generated here, never user input
    db = pg_url.rsplit("/", 1)[1]
    with admin.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        for grant in LOGIN_GRANTS:
            conn.execute(text(grant.format(db=db, role=role)))
    name = _user(pg_url, password=None)
    u = schema.app_user
    with admin.begin() as conn:
        conn.execute(update(u).where(u.c.username == name).values(password_hash=_old_hash(PASSWORD)))
    login = make_engine(pg_url.replace("postgres@", f"{role}@", 1))
    try:
        for _ in range(auth.USER_LIMIT):
            result = auth.login(login, name, "wrong", "192.0.2.1")
        assert result.user is None and result.locked_until is not None
        with admin.begin() as conn:
            conn.execute(update(schema.login_failure).values(locked_until=None))
        assert auth.login(login, name, PASSWORD, "192.0.2.1").user is not None
        assert auth.current(login, name) is not None
        with admin.connect() as conn:
            stored = conn.execute(select(u.c.password_hash).where(u.c.username == name)).scalar_one()
        assert stored.startswith(f"scrypt${auth.SCRYPT['n']}$")  # upgraded through the login role
        with pytest.raises(ProgrammingError), login.connect() as conn:  # and nothing more
            conn.execute(select(schema.audit_log.c.audit_id))
    finally:
        login.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def test_an_administrator_unlocks_a_name(demo_url: str, cheap_scrypt: None) -> None:
    from jobs.cli import main

    engine = make_engine(demo_url)
    name = _user(demo_url)
    for _ in range(auth.USER_LIMIT):
        auth.login(engine, name, "wrong")
    assert auth.login(engine, name, PASSWORD).locked_until is not None
    assert main(["users", "unlock", name, "--url", demo_url]) == 0
    assert auth.login(engine, name, PASSWORD).user is not None


def test_wrong_passwords_lock_the_login_page_with_an_audit_entry_each(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, cheap_scrypt: None
) -> None:
    monkeypatch.setattr("ui.auth.time.sleep", lambda _s: None)
    name = _user(demo_url)
    at = _app(monkeypatch, demo_url, "builtin")
    at.run()
    for i in range(auth.USER_LIMIT):
        _login(at, name, f"wrong {i}")
    assert any("Too many failed sign-ins" in e.value for e in at.error)
    _login(at, name, PASSWORD)  # the right one, while locked
    assert any("Too many failed sign-ins" in e.value for e in at.error)
    assert not at.exception and len(at.metric) == 0
    fresh = _app(monkeypatch, demo_url, "builtin")  # a new session does not reset the count
    fresh.run()
    _login(fresh, name, PASSWORD)
    assert len(fresh.metric) == 0 and any("Too many failed sign-ins" in e.value for e in fresh.error)
    failures = [detail for action, detail in _audit(demo_url, name) if action == "failed_login"]
    assert len(failures) == auth.USER_LIMIT + 2
    assert all(d and "locked until" in d for d in failures[auth.USER_LIMIT - 1 :])
    # the back-off expires
    t = schema.login_failure
    with make_engine(demo_url).begin() as conn:
        conn.execute(
            update(t).where(t.c.subject == name).values(locked_until=datetime.now() - timedelta(seconds=1))
        )
    _login(fresh, name, PASSWORD)
    assert not fresh.exception and len(fresh.metric) >= 3


# --- disabled users and role changes reach open sessions -----------------------------------------------------------


def test_a_disabled_user_is_refused_at_the_next_rerun(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    from jobs.cli import main

    name = _user(demo_url)
    at = _app(monkeypatch, demo_url, "builtin")
    at.run()
    _login(at, name, PASSWORD)
    assert len(at.metric) >= 3
    assert main(["users", "disable", name, "--url", demo_url]) == 0
    at.run()
    assert not at.exception
    assert len(at.metric) == 0 and any("has been disabled" in e.value for e in at.error)
    at.run()  # and stays out: the login form again
    assert len(at.metric) == 0 and at.text_input(key="auth_password") is not None
    assert ("denied", None) in _audit(demo_url, name)


def test_a_role_or_district_change_applies_at_the_next_rerun(
    monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    name = _user(demo_url, "leader")
    at = _app(monkeypatch, demo_url, "builtin")
    at.run()
    _login(at, name, PASSWORD)
    assert any("(Leader)" in c.value for c in at.sidebar.caption)
    u = schema.app_user
    engine = make_engine(demo_url)
    with engine.begin() as conn:
        conn.execute(update(u).where(u.c.username == name).values(role="planner", district_code="420116"))
    at.switch_page("pages/targets.py").run()
    assert any("(District planner)" in c.value for c in at.sidebar.caption)
    names = {v for df in at.dataframe for v in df.value.iloc[:, 1] if isinstance(v, str)}
    places = {n for n in names if any(w in n for w in ("District", "Township", "Street", "Subdistrict"))}
    assert places and all(n.startswith("Huangpi") for n in places), sorted(places)
    with engine.begin() as conn:
        conn.execute(update(u).where(u.c.username == name).values(role=None, district_code=None))
    at.run()
    assert any("has no role" in e.value for e in at.error) and len(at.dataframe) == 0


def test_a_disabled_sso_user_is_refused_at_the_next_rerun(
    monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    email = f"{uuid.uuid4().hex[:6]}@bureau.example"
    auth.add_user(make_engine(demo_url), email, "leader")
    at = _app(monkeypatch, demo_url, "oidc")
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    at.run()
    assert len(at.metric) >= 3
    auth.set_disabled(make_engine(demo_url), email, True)
    at.run()
    assert not at.exception and len(at.metric) == 0


# --- OIDC: the e-mail address must be verified --------------------------------------------------------------------


def test_email_verified_claim() -> None:
    assert auth.email_verified({"email_verified": True}) and auth.email_verified({"email_verified": "true"})
    assert not auth.email_verified({"email_verified": False}) and not auth.email_verified(
        {"email_verified": "false"}
    )
    assert not auth.email_verified({}) and auth.email_verified({}, allow_missing=True)
    assert not auth.email_verified({"email_verified": False}, allow_missing=True)


@pytest.mark.parametrize("claim", [False, "false", None])
def test_oidc_refuses_an_unverified_email(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, claim: object
) -> None:
    email = f"{uuid.uuid4().hex[:6]}@bureau.example"
    auth.add_user(make_engine(demo_url), email, "leader")
    at = _app(monkeypatch, demo_url, "oidc")
    user = {"is_logged_in": True, "email": email}
    if claim is not None:
        user["email_verified"] = claim
    at.user = user
    at.run()
    assert not at.exception and len(at.metric) == 0
    assert any("is verified" in e.value for e in at.error)
    at.user = {**user, "email_verified": True}
    at.run()
    assert not at.exception and len(at.metric) >= 3


def test_oidc_may_accept_a_missing_claim_when_configured(
    monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    email = f"{uuid.uuid4().hex[:6]}@bureau.example"
    auth.add_user(make_engine(demo_url), email, "leader")
    monkeypatch.setenv("EMPLOYMENT_OIDC_ALLOW_MISSING_EMAIL_VERIFIED", "1")
    at = _app(monkeypatch, demo_url, "oidc")
    at.user = {"is_logged_in": True, "email": email}
    at.run()
    assert len(at.metric) >= 3
    at.user = {"is_logged_in": True, "email": email, "email_verified": False}
    at.run()
    assert len(at.metric) == 0


# --- proxy mode: only with the proxy's shared secret, tested against a real server -----------------------------------

SECRET = "p" * 8 + secrets.token_urlsafe(32)


def test_proxy_username_needs_exactly_one_right_secret() -> None:
    def h(user: list[str], secret: list[str]) -> dict[str, list[str]]:
        return {"x-forwarded-user": user, "x-employment-proxy-secret": secret}

    get = auth.proxy_username
    assert get(h(["alice"], [SECRET]), "X-Forwarded-User", "X-Employment-Proxy-Secret", SECRET) == "alice"
    assert get(h(["alice"], []), "X-Forwarded-User", "X-Employment-Proxy-Secret", SECRET) is None
    assert get(h(["alice"], ["wrong"]), "X-Forwarded-User", "X-Employment-Proxy-Secret", SECRET) is None
    assert get(h(["alice"], [SECRET, "x"]), "X-Forwarded-User", "X-Employment-Proxy-Secret", SECRET) is None
    assert get(h(["alice", "bob"], [SECRET]), "X-Forwarded-User", "X-Employment-Proxy-Secret", SECRET) is None
    assert get(h([" "], [SECRET]), "X-Forwarded-User", "X-Employment-Proxy-Secret", SECRET) is None
    assert get(h(["alice"], ["short"]), "X-Forwarded-User", "X-Employment-Proxy-Secret", "short") is None
    assert auth.proxy_secret_problem(None) and auth.proxy_secret_problem("short")
    assert auth.proxy_secret_problem(SECRET) is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(url: str, extra_env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMPLOYMENT_PROXY")}
    env.update(EMPLOYMENT_AUTH="proxy", EMPLOYMENT_LANG="en", EMPLOYMENT_DB_URL=url, **extra_env)
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
    deadline = time.time() + 90
    while time.time() < deadline:
        assert proc.poll() is None, "streamlit exited"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not start")


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _page(port: int, headers: dict[str, str]) -> dict[str, list[str]]:
    """One run of the overview page over the websocket with ``headers`` on the handshake: the texts of its
    alerts and markdown, and how many metrics it sent."""
    seen: dict[str, list[str]] = {"alert": [], "markdown": [], "metric": []}
    with connect(
        f"ws://127.0.0.1:{port}/_stcore/stream",
        origin=Origin(f"http://127.0.0.1:{port}"),
        additional_headers=headers,
        open_timeout=30,
        max_size=None,
    ) as ws:
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = ""
        ws.send(msg.SerializeToString())
        deadline = time.time() + 120
        while time.time() < deadline:
            fwd = ForwardMsg()
            fwd.ParseFromString(ws.recv(timeout=120))
            kind = fwd.WhichOneof("type")
            if kind == "script_finished":
                return seen
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                which = element.WhichOneof("type")
                if which == "alert":
                    seen["alert"].append(element.alert.body)
                elif which == "markdown":
                    seen["markdown"].append(element.markdown.body)
                elif which == "metric":
                    seen["metric"].append(element.metric.label)
    raise AssertionError("the page did not finish")


@pytest.fixture(scope="module")
def proxy_server(demo_url: str) -> Iterator[tuple[int, str]]:
    """Streamlit in proxy mode with a shared secret on 127.0.0.1, and a leader the proxy may vouch for."""
    name = f"proxy_{uuid.uuid4().hex[:6]}"
    auth.add_user(make_engine(demo_url), name, "leader")
    proc, port = _start(
        demo_url, {"EMPLOYMENT_PROXY_SECRET": SECRET, "EMPLOYMENT_PROXY_HEADER": "X-Remote-User"}
    )
    try:
        yield port, name
    finally:
        _stop(proc)


def test_a_forged_user_header_without_the_secret_is_refused(
    proxy_server: tuple[int, str], demo_url: str
) -> None:
    port, name = proxy_server
    for headers in (
        {"X-Remote-User": name},  # straight to the port, as an attacker on the network would
        {"X-Remote-User": name, "X-Employment-Proxy-Secret": "wrong-" + SECRET[6:]},
        {"X-Remote-User": name, "X-Employment-Proxy-Secret": SECRET[:-1]},
        {"X-Forwarded-User": name, "X-Employment-Proxy-Secret": SECRET},  # the default name is not configured
    ):
        seen = _page(port, headers)
        assert seen["metric"] == [], headers
        assert any("did not come through the authenticating proxy" in a for a in seen["alert"]), seen
        assert not any("Signed in" in m for m in seen["markdown"])
    assert ("denied", None) in _audit(demo_url, name)


def test_the_proxys_request_with_the_secret_signs_in(proxy_server: tuple[int, str]) -> None:
    port, name = proxy_server
    seen = _page(port, {"X-Remote-User": name, "X-Employment-Proxy-Secret": SECRET})
    assert len(seen["metric"]) >= 3, seen["alert"]
    assert any(f"Signed in: {name}" in m for m in seen["markdown"])


def test_proxy_mode_without_a_secret_serves_nobody(demo_url: str) -> None:
    name = _user(demo_url, password=None)
    proc, port = _start(demo_url, {"EMPLOYMENT_PROXY_SECRET": "too-short"})
    try:
        seen = _page(port, {"X-Forwarded-User": name, "X-Employment-Proxy-Secret": "too-short"})
    finally:
        _stop(proc)
    assert seen["metric"] == [] and any("not fully configured" in a for a in seen["alert"])


@pytest.fixture(scope="module")
def nginx_front(proxy_server: tuple[int, str]) -> Iterator[int]:
    """The shipped nginx configuration, rendered for proxy login, in front of the proxy-mode server: its port.

    nginx names the user from ``$remote_addr`` here (127.0.0.1), standing in for ``$remote_user`` of an
    authentication step: whatever a client sends, the app sees nginx's value and nginx's secret.
    """
    import shutil
    import tempfile
    from pathlib import Path

    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        pytest.skip("nginx not installed (apt-get install nginx-light)")
    from bench.load_test import start_nginx

    folder = Path(tempfile.mkdtemp(prefix="nginx-proxy-"))
    listen = _free_port()
    proc = start_nginx(
        [proxy_server[0]],
        listen,
        folder,
        proxy_header="X-Remote-User",
        proxy_secret=SECRET,
        proxy_user_from="$remote_addr",
    )
    try:
        yield listen
    finally:
        _stop(proc)
        shutil.rmtree(folder, ignore_errors=True)


def test_through_nginx_the_user_is_nginxs_never_the_clients(
    nginx_front: int, proxy_server: tuple[int, str], demo_url: str
) -> None:
    from sqlalchemy.exc import IntegrityError

    with contextlib.suppress(IntegrityError):
        auth.add_user(make_engine(demo_url), "127.0.0.1", "analyst")
    _, admin = proxy_server
    seen = _page(
        nginx_front,
        {"X-Remote-User": admin, "X-Employment-Proxy-Secret": "forged", "X-Forwarded-User": admin},
    )
    assert len(seen["metric"]) >= 3, seen["alert"]  # nginx's secret was accepted
    assert any("Signed in: 127.0.0.1" in m for m in seen["markdown"]), seen["markdown"]
    assert not any(admin in m for m in seen["markdown"])
