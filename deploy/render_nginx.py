"""Render deploy/nginx/employment.conf.template for N app processes: the shipped nginx configuration.

Run: python deploy/render_nginx.py --ports 8501-8503 --server-name dashboard.bureau.example \
        --tls-cert /etc/ssl/dashboard.pem --tls-key /etc/ssl/private/dashboard.key > /etc/nginx/conf.d/employment.conf

Proxy login (EMPLOYMENT_AUTH=proxy): add --proxy-secret-file FILE (the app's EMPLOYMENT_PROXY_SECRET), the
--proxy-header the app reads (EMPLOYMENT_PROXY_HEADER) and --proxy-user-from '$remote_user' (or the variable your
authentication step sets), and --out /etc/nginx/conf.d/employment.conf (written mode 600: it holds the secret).

Without --tls-cert it listens on plain HTTP (loopback tests, or TLS terminated in front). The load test
(bench/load_test.py --via-nginx) renders the same template, so the configuration measured is the one shipped.
Standard library only: this runs on a bare server.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx" / "employment.conf.template"
COOKIE = "employment_route"
# Characters that could end a directive or open a block: refused in every value put into the configuration.
_UNSAFE = re.compile(r"[;{}\s'\"$#\\]")
DEFAULT_USER_HEADER = "X-Forwarded-User"  # ui/auth.py: EMPLOYMENT_PROXY_HEADER's default
SECRET_HEADER = "X-Employment-Proxy-Secret"  # ui/auth.py PROXY_SECRET_HEADER
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,64}$")  # no underscores: nginx drops such client headers by default
_VARIABLE = re.compile(r"^\$[A-Za-z_][A-Za-z0-9_]*$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,256}$")  # secrets.token_urlsafe(32) and the like


def parse_ports(text: str) -> list[int]:
    """``"8501-8503"`` or ``"8501,8502,8505"`` (or a mix) → the list of ports, in order."""
    ports: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            first, last = (int(x) for x in part.split("-", 1))
            if last < first:
                raise ValueError(f"port range {part!r} runs backwards")
            ports.extend(range(first, last + 1))
        else:
            ports.append(int(part))
    return ports


def _check(name: str, value: str) -> str:
    if not value or _UNSAFE.search(value):
        raise ValueError(f"{name} {value!r} is empty or contains a character nginx would read as syntax")
    return value


def _identity_headers(header: str, secret: str | None, user_from: str | None) -> str:
    """The proxy_set_header lines that overwrite the proxy login's headers (never passed on from a client)."""
    value = user_from or '""'
    lines = [f"    proxy_set_header {header} {value};"]
    if header.lower() != DEFAULT_USER_HEADER.lower():  # the default name too, in case an app still reads it
        lines.append(f'    proxy_set_header {DEFAULT_USER_HEADER} "";')
    lines.append(f'    proxy_set_header {SECRET_HEADER} "{secret or ""}";')
    return "\n".join(lines) + "\n"


def render(
    ports: Sequence[int],
    *,
    listen: str = "80",
    server_name: str = "_",
    host: str = "127.0.0.1",
    tls_cert: str | None = None,
    tls_key: str | None = None,
    max_upload_mb: int = 200,
    debug_upstream_header: bool = False,
    proxy_header: str = DEFAULT_USER_HEADER,
    proxy_secret: str | None = None,
    proxy_user_from: str | None = None,
) -> str:
    """The nginx configuration (http context) for app processes on ``host``:``ports``.

    ``listen`` is nginx's listen address (``"80"``, ``"127.0.0.1:8080"``); with ``tls_cert`` and ``tls_key`` the
    server listens with TLS (``listen`` defaults to 443 then), the route cookie is ``Secure``, and port 80
    redirects to https. ``debug_upstream_header`` adds ``X-Upstream: <process address>`` to every response (the
    load test reads it to prove stickiness; it reveals internal addresses, so it is off by default).

    Proxy login: ``proxy_header`` (and the default ``X-Forwarded-User``) is always overwritten: with
    ``proxy_user_from`` (an nginx variable such as ``$remote_user``) or emptied; the secret header is set to
    ``proxy_secret``, or emptied without one. A client can therefore send neither to the app.
    """
    if not ports:
        raise ValueError("at least one app port is needed")
    if len(set(ports)) != len(ports):
        raise ValueError(f"duplicate ports in {list(ports)}")
    for port in ports:
        if not 1 <= int(port) <= 65535:
            raise ValueError(f"port {port} is out of range")
    if (tls_cert is None) != (tls_key is None):
        raise ValueError("give both --tls-cert and --tls-key, or neither")
    if max_upload_mb < 1:
        raise ValueError("max_upload_mb must be at least 1")
    _check("host", host)
    if not _HEADER.match(proxy_header) or proxy_header.lower() == SECRET_HEADER.lower():
        raise ValueError(f"proxy header {proxy_header!r} is not a plain header name (letters, digits, '-')")
    if proxy_secret is not None and not _SECRET.match(proxy_secret):
        raise ValueError(
            "the proxy secret must be 32-256 characters of A-Z a-z 0-9 _ - (secrets.token_urlsafe)"
        )
    if proxy_user_from is not None:
        if not _VARIABLE.match(proxy_user_from):
            raise ValueError(
                f"--proxy-user-from {proxy_user_from!r} is not an nginx variable like $remote_user"
            )
        if proxy_secret is None:
            raise ValueError(
                "--proxy-user-from needs the shared secret (--proxy-secret-file): the app refuses without"
            )
    _check("server name", server_name)
    tls = tls_cert is not None and tls_key is not None
    if tls and listen == "80":
        listen = "443"
    _check("listen", listen)
    if tls:
        listen_lines = [
            f"    listen {listen} ssl;",
            f"    ssl_certificate {_check('certificate path', str(tls_cert))};",
            f"    ssl_certificate_key {_check('key path', str(tls_key))};",
            "    ssl_protocols TLSv1.2 TLSv1.3;",
        ]
        redirect = (
            "\n# Plain HTTP only redirects to https.\n"
            f"server {{\n    listen 80;\n    server_name {server_name};\n"
            "    return 301 https://$host$request_uri;\n}\n"
        )
    else:
        listen_lines = [f"    listen {listen};"]
        redirect = ""
    values = {
        "processes": str(len(ports)),
        "cookie": COOKIE,
        "cookie_secure": "; Secure" if tls else "",
        "servers": "\n".join(f"    server {host}:{int(p)} max_fails=3 fail_timeout=10s;" for p in ports),
        "redirect": redirect,
        "listen": "\n".join(listen_lines),
        "server_name": server_name,
        "max_upload_mb": str(int(max_upload_mb)),
        "debug_headers": "    add_header X-Upstream $upstream_addr always;\n"
        if debug_upstream_header
        else "",
        "identity_headers": _identity_headers(proxy_header, proxy_secret, proxy_user_from),
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    left = re.findall(r"\{\{\w+\}\}", text)
    if left:
        raise ValueError(f"the template has placeholders render() does not fill: {sorted(set(left))}")
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--ports", default="8501-8503", help="app ports: 8501-8503 or 8501,8502 (default 8501-8503)"
    )
    parser.add_argument("--listen", default="80", help="nginx listen address (default 80, or 443 with TLS)")
    parser.add_argument("--server-name", default="_", help="the dashboard's host name (default: any)")
    parser.add_argument("--host", default="127.0.0.1", help="where the app processes listen")
    parser.add_argument("--tls-cert", help="certificate chain (PEM)")
    parser.add_argument("--tls-key", help="private key (PEM)")
    parser.add_argument("--max-upload-mb", type=int, default=200)
    parser.add_argument("--debug-upstream-header", action="store_true", help="add X-Upstream (tests only)")
    parser.add_argument(
        "--proxy-header",
        default=DEFAULT_USER_HEADER,
        help="the app's EMPLOYMENT_PROXY_HEADER (always overwritten)",
    )
    parser.add_argument(
        "--proxy-secret-file", help="file holding the app's EMPLOYMENT_PROXY_SECRET (proxy login)"
    )
    parser.add_argument(
        "--proxy-user-from", help="nginx variable naming the authenticated user, e.g. $remote_user"
    )
    parser.add_argument("--out", help="write here, mode 600, instead of standard output")
    args = parser.parse_args(argv)
    secret = None
    if args.proxy_secret_file:
        with open(args.proxy_secret_file, encoding="utf-8") as f:
            secret = f.read().strip()
    text = render(
        parse_ports(args.ports),
        listen=args.listen,
        server_name=args.server_name,
        host=args.host,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        max_upload_mb=args.max_upload_mb,
        debug_upstream_header=args.debug_upstream_header,
        proxy_header=args.proxy_header,
        proxy_secret=secret,
        proxy_user_from=args.proxy_user_from,
    )
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
