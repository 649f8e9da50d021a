"""The shipped nginx configuration (deploy/): its rendering, `nginx -t`, and its behaviour in front of stub processes.

The behaviour tests start nginx exactly as the load test does (bench/load_test.py ``start_nginx``, which renders
deploy/nginx/employment.conf.template) in front of two tiny HTTP servers that say which port served a request
and echo the headers they received. Skipped when nginx is not installed (Debian: nginx-light).
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deploy.render_nginx import COOKIE, SECRET_HEADER, TEMPLATE, parse_ports, render

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx not installed (apt-get install nginx-light)")


# --- rendering -------------------------------------------------------------------------------------------------


def test_parse_ports_ranges_and_lists() -> None:
    assert parse_ports("8501-8503") == [8501, 8502, 8503]
    assert parse_ports("8501, 8505,8510-8511") == [8501, 8505, 8510, 8511]
    with pytest.raises(ValueError):
        parse_ports("8503-8501")


def test_render_one_server_line_per_port_and_fills_every_placeholder() -> None:
    placeholders = set(re.findall(r"\{\{(\w+)\}\}", TEMPLATE.read_text(encoding="utf-8")))
    assert {"servers", "listen", "cookie"} <= placeholders
    conf = render([8501, 8502, 8503], server_name="dashboard.bureau.example")
    assert "{{" not in conf and "}}" not in conf
    servers = re.findall(r"^\s*server (127\.0\.0\.1:\d+)\b", conf, flags=re.M)
    assert servers == ["127.0.0.1:8501", "127.0.0.1:8502", "127.0.0.1:8503"]
    assert "hash $employment_route consistent;" in conf
    assert "ip_hash" not in conf.split("upstream", 1)[1]  # loopback/NAT clients would all land on one process
    assert re.search(r"^\s*listen 80;", conf, flags=re.M)
    assert "server_name dashboard.bureau.example;" in conf
    assert "client_max_body_size 200m;" in conf
    assert "X-Upstream" not in conf  # internal addresses only when asked for
    assert "ssl" not in conf and "Secure" not in conf
    assert f"$cookie_{COOKIE}" in conf


def test_render_tls_listens_on_443_with_secure_cookie_and_a_redirect() -> None:
    conf = render([8501], tls_cert="/etc/ssl/d.pem", tls_key="/etc/ssl/d.key", max_upload_mb=50)
    assert re.search(r"^\s*listen 443 ssl;", conf, flags=re.M)
    assert "ssl_certificate /etc/ssl/d.pem;" in conf and "ssl_certificate_key /etc/ssl/d.key;" in conf
    assert "SameSite=Lax; Secure" in conf
    assert "return 301 https://$host$request_uri;" in conf
    assert "client_max_body_size 50m;" in conf
    assert "add_header X-Upstream $upstream_addr always;" in render([8501], debug_upstream_header=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ports": []},
        {"ports": [8501, 8501]},
        {"ports": [70000]},
        {"ports": [8501], "server_name": "x; include /etc/passwd"},
        {"ports": [8501], "server_name": "a{b"},
        {"ports": [8501], "host": "127.0.0.1 down"},
        {"ports": [8501], "tls_cert": "/c.pem"},
        {"ports": [8501], "tls_cert": "/c.pem;", "tls_key": "/k.pem"},
        {"ports": [8501], "max_upload_mb": 0},
        {"ports": [8501], "proxy_header": "X-User; include /etc/passwd"},
        {"ports": [8501], "proxy_header": "X_User"},
        {"ports": [8501], "proxy_header": SECRET_HEADER},
        {"ports": [8501], "proxy_secret": "short"},
        {"ports": [8501], "proxy_secret": "a" * 40 + '";'},
        {"ports": [8501], "proxy_user_from": "$remote_user"},  # without the secret the app would refuse it
        {"ports": [8501], "proxy_secret": "a" * 40, "proxy_user_from": "remote_user; x"},
    ],
)
def test_render_refuses_bad_values(kwargs: dict) -> None:
    ports = kwargs.pop("ports")
    with pytest.raises(ValueError):
        render(ports, **kwargs)


PROXY_SECRET = "s" * 10 + "0123456789abcdefghijklmnopqrstuvwxyz"


def test_render_overwrites_the_configured_user_header_and_sets_the_secret() -> None:
    plain = render([8501])
    assert re.search(r'^\s*proxy_set_header X-Forwarded-User "";', plain, flags=re.M)
    assert re.search(rf'^\s*proxy_set_header {SECRET_HEADER} "";', plain, flags=re.M)  # no secret: emptied
    conf = render(
        [8501], proxy_header="X-Remote-User", proxy_secret=PROXY_SECRET, proxy_user_from="$remote_user"
    )
    assert re.search(r"^\s*proxy_set_header X-Remote-User \$remote_user;", conf, flags=re.M)
    assert re.search(r'^\s*proxy_set_header X-Forwarded-User "";', conf, flags=re.M)  # the default name too
    assert re.search(rf'^\s*proxy_set_header {SECRET_HEADER} "{PROXY_SECRET}";', conf, flags=re.M)
    only_strip = render([8501], proxy_header="X-Remote-User")
    assert re.search(r'^\s*proxy_set_header X-Remote-User "";', only_strip, flags=re.M)


def test_render_cli_writes_the_secret_file_mode_600(tmp_path: Path) -> None:
    from deploy.render_nginx import main

    (tmp_path / "secret").write_text(PROXY_SECRET + "\n", encoding="utf-8")
    out = tmp_path / "employment.conf"
    main(["--ports", "8501", "--proxy-secret-file", str(tmp_path / "secret"), "--out", str(out)])
    assert out.stat().st_mode & 0o777 == 0o600
    assert f'{SECRET_HEADER} "{PROXY_SECRET}";' in out.read_text(encoding="utf-8")


def test_the_app_listens_on_loopback_in_every_shipped_start() -> None:
    import tomllib

    root = TEMPLATE.parent.parent.parent
    config = tomllib.loads((root / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    for path in ("deploy/run-processes.sh", "deploy/systemd/employment@.service"):
        text = (root / path).read_text(encoding="utf-8")
        assert "--server.address 127.0.0.1" in text, path
        assert "EMPLOYMENT_PROXY_SECRET" in text, path  # proxy mode refused without the secret


def test_run_processes_refuses_proxy_mode_without_a_secret(tmp_path: Path) -> None:
    import os

    root = TEMPLATE.parent.parent.parent
    env = {k: v for k, v in os.environ.items() if k != "EMPLOYMENT_PROXY_SECRET"}
    env.update(EMPLOYMENT_AUTH="proxy", RUN_DIR=str(tmp_path), STREAMLIT="/bin/false")
    for secret in (None, "short"):
        if secret:
            env["EMPLOYMENT_PROXY_SECRET"] = secret
        done = subprocess.run(
            ["sh", str(root / "deploy" / "run-processes.sh"), "start", "1", "18599"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2 and "EMPLOYMENT_PROXY_SECRET" in done.stderr
        assert not list(tmp_path.glob("app-*.pid"))


# --- nginx -t ---------------------------------------------------------------------------------------------------


def _nginx_t(conf: str, folder: Path) -> subprocess.CompletedProcess:
    from bench.load_test import NGINX_MAIN

    (folder / "employment.conf").write_text(conf, encoding="utf-8")
    (folder / "nginx.conf").write_text(NGINX_MAIN.format(d=folder), encoding="utf-8")
    assert NGINX is not None
    return subprocess.run(
        [NGINX, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")], capture_output=True, text=True
    )


@needs_nginx
def test_nginx_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    done = _nginx_t(render([8501, 8502, 8503], listen="127.0.0.1:8080"), tmp_path)
    assert done.returncode == 0, done.stderr
    broken = _nginx_t(render([8501]).replace("keepalive 32;", "keepalive;"), tmp_path)
    assert broken.returncode != 0  # the check can fail


@needs_nginx
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_nginx_accepts_the_tls_rendering(tmp_path: Path) -> None:
    cert, key = tmp_path / "d.pem", tmp_path / "d.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=dashboard"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    conf = render([8501, 8502], listen="127.0.0.1:8443", tls_cert=str(cert), tls_key=str(key))
    done = _nginx_t(conf.replace("listen 80;", "listen 127.0.0.1:8081;"), tmp_path)
    assert done.returncode == 0, done.stderr


# --- behaviour in front of stub processes -----------------------------------------------------------------------


class _Echo(BaseHTTPRequestHandler):
    """Answers with the port that served the request and the headers it received."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {
                "port": self.server.server_address[1],
                "headers": dict(self.headers),
                "all": [[k.lower(), v] for k, v in self.headers.items()],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def _get(
    port: int, path: str = "/", headers: dict | None = None, method: str = "GET", body: bytes | None = None
):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response, (json.loads(data) if response.status == 200 else None)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def front() -> Iterator[tuple[int, list[int]]]:
    """nginx (shipped configuration, 1 MB upload limit) in front of two stub processes: (nginx port, stub ports)."""
    if NGINX is None:
        pytest.skip("nginx not installed (apt-get install nginx-light)")
    from bench.load_test import _port, start_nginx

    stubs = [ThreadingHTTPServer(("127.0.0.1", 0), _Echo) for _ in range(2)]
    for stub in stubs:
        threading.Thread(target=stub.serve_forever, daemon=True).start()
    ports = [stub.server_address[1] for stub in stubs]
    folder = Path(tempfile.mkdtemp(prefix="nginx-test-"))
    listen = _port()
    proc = start_nginx(ports, listen, folder, max_upload_mb=1)
    try:
        yield listen, ports
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        for stub in stubs:
            stub.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


@needs_nginx
def test_first_visit_gets_a_cookie_and_every_later_request_reaches_the_same_process(front) -> None:
    listen, ports = front
    first, body = _get(listen)
    cookies = [c for c in first.headers.get_all("Set-Cookie") or [] if c.startswith(f"{COOKIE}=")]
    assert len(cookies) == 1 and "HttpOnly" in cookies[0] and "Path=/" in cookies[0]
    value = cookies[0].split(";", 1)[0].split("=", 1)[1]
    assert re.fullmatch(r"[0-9a-f]{32}", value)
    assert first.headers["X-Upstream"] == f"127.0.0.1:{body['port']}"
    for path in ["/", "/static/app.js", "/_stcore/health", "/_stcore/stream"]:
        for _ in range(5):
            again, echoed = _get(listen, path, {"Cookie": f"other=1; {COOKIE}={value}"})
            assert echoed["port"] == body["port"], path
            assert again.headers.get_all("Set-Cookie") is None  # the cookie is only set once


@needs_nginx
def test_new_visitors_spread_over_the_processes(front) -> None:
    listen, ports = front
    served = Counter(_get(listen)[1]["port"] for _ in range(40))
    assert set(served) == set(ports)  # ip_hash would send every loopback client to one process
    assert min(served.values()) >= 5


@needs_nginx
def test_websocket_upgrade_is_passed_on_and_other_requests_keep_alive(front) -> None:
    listen, _ = front
    _, echoed = _get(listen, "/_stcore/stream", {"Upgrade": "websocket", "Connection": "Upgrade"})
    assert echoed["headers"]["Upgrade"] == "websocket"
    assert echoed["headers"]["Connection"].lower() == "upgrade"
    _, plain = _get(listen, "/")
    assert "Upgrade" not in plain["headers"]
    assert plain["headers"].get("Connection", "").lower() != "close"  # upstream keepalive


@needs_nginx
def test_forwarded_headers_and_no_client_supplied_user(front) -> None:
    listen, _ = front
    _, echoed = _get(listen, "/", {"X-Forwarded-User": "mallory", "Host": f"dashboard.example:{listen}"})
    headers = echoed["headers"]
    assert "X-Forwarded-User" not in headers  # EMPLOYMENT_AUTH=proxy trusts it: never from the client
    assert headers["Host"] == f"dashboard.example:{listen}"  # with the port: Streamlit compares it to Origin
    assert headers["X-Forwarded-For"] == "127.0.0.1" and headers["X-Forwarded-Proto"] == "http"


@needs_nginx
def test_upload_size_limit(front) -> None:
    listen, _ = front
    small, _ = _get(listen, "/_stcore/upload_file/x", method="POST", body=b"x" * 500_000)
    large, _ = _get(listen, "/_stcore/upload_file/x", method="POST", body=b"x" * 1_500_000)
    assert small.status == 200
    assert large.status == 413


@pytest.fixture(scope="module")
def proxy_front() -> Iterator[int]:
    """nginx rendered for proxy login (configured header X-Remote-User set from $remote_addr, shared secret) in
    front of one stub process: the nginx port."""
    if NGINX is None:
        pytest.skip("nginx not installed (apt-get install nginx-light)")
    from bench.load_test import _port, start_nginx

    stub = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    folder = Path(tempfile.mkdtemp(prefix="nginx-test-"))
    listen = _port()
    proc = start_nginx(
        [stub.server_address[1]],
        listen,
        folder,
        proxy_header="X-Remote-User",
        proxy_secret=PROXY_SECRET,
        proxy_user_from="$remote_addr",  # stands in for $remote_user of an authentication step
    )
    try:
        yield listen
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        stub.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


def _raw_get(port: int, headers: list[tuple[str, str]]) -> dict:
    """GET / with ``headers`` sent as given (repeated names, any case)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", "/")
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


FORGED = [
    ("X-Remote-User", "mallory"),
    ("x-remote-user", "mallory2"),
    ("X-Forwarded-User", "mallory3"),
    (SECRET_HEADER, "forged-secret"),
    (SECRET_HEADER.lower(), "forged-secret-2"),
]


@needs_nginx
def test_nginx_overwrites_the_configured_user_header_and_sets_the_secret(proxy_front: int) -> None:
    seen = _raw_get(proxy_front, FORGED)["all"]
    assert [v for k, v in seen if k == "x-remote-user"] == ["127.0.0.1"]  # only nginx's own value
    assert [v for k, v in seen if k == SECRET_HEADER.lower()] == [PROXY_SECRET]
    assert not [v for k, v in seen if k == "x-forwarded-user"]


@needs_nginx
def test_nginx_without_proxy_login_passes_no_identity_header_on(front) -> None:
    listen, _ = front
    seen = _raw_get(listen, FORGED)["all"]
    assert not [k for k, _ in seen if k in ("x-forwarded-user", SECRET_HEADER.lower())]
