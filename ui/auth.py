"""Who is looking: login through OIDC (``st.login``), a trusted reverse proxy, or the built-in user table.

Mode (``EMPLOYMENT_AUTH``): ``builtin`` (default), ``oidc``, ``proxy``, or ``open`` — the explicit open demo
mode, which the UI announces on every page. In every mode but ``open`` the role comes from the ``app_user``
table; a user without a role sees nothing.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import streamlit as st
from sqlalchemy import Engine

from i18n import t
from store import auditlog, auth
from store.auth import User
from store.config import settings
from store.db import make_engine

SESSION_KEY = "auth_user"


@st.cache_resource(show_spinner=False)
def _writer(url: str) -> Engine:
    """A writable engine for the audit log and user look-ups (the page engine is read-only)."""
    return make_engine(url)


def writer() -> Engine:
    return _writer(os.environ.get("EMPLOYMENT_AUDIT_DB_URL") or settings().db_url)


def login_store() -> Engine:
    """Where the login reads users and keeps its failure counters: ``EMPLOYMENT_LOGIN_DB_URL`` (a role with only
    the login's rights, docs/deployment.md), else the audit connection, else the database URL."""
    url = os.environ.get("EMPLOYMENT_LOGIN_DB_URL") or os.environ.get("EMPLOYMENT_AUDIT_DB_URL")
    return _writer(url or settings().db_url)


def mode() -> str:
    """The configured login mode."""
    value = os.environ.get("EMPLOYMENT_AUTH", "builtin").lower()
    return value if value in ("builtin", "oidc", "proxy", "open") else "builtin"


@st.cache_resource(show_spinner=False)
def _audit_log(url: str, spool: str) -> auditlog.AuditLog:
    log = auditlog.AuditLog(url, Path(spool))
    log.start_background()  # sends what an earlier run left in the spool
    return log


def audit_log() -> auditlog.AuditLog:
    """The process's audit writer for the configured audit database (``EMPLOYMENT_AUDIT_DB_URL``)."""
    url = auditlog.audit_url(settings().db_url)
    return _audit_log(url, str(auditlog.spool_path(url)))


def record(user: User | None, action: str, target: str, detail: str | None = None) -> bool:
    """Audit one action without holding up the page: written within half a second or kept in the spool and
    written later (store.auditlog); never lost silently. True when it is already in the database."""
    return audit_log().record(auth.audit_row(user, action, target, detail))


def _lookup(username: str) -> User | None:
    found = auth.lookup(login_store(), username)
    return found[0] if found else None


def _open_user() -> User:
    role = os.environ.get("EMPLOYMENT_OPEN_ROLE", "leader")
    district = os.environ.get("EMPLOYMENT_OPEN_DISTRICT") or None
    return User("demo", role if role in auth.ROLES else "leader", district)


PROXY_SECRET_HEADER = "X-Employment-Proxy-Secret"
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def _header_names() -> tuple[str, str]:
    """The user header and the secret header of proxy mode (``EMPLOYMENT_PROXY_HEADER``, ``..._SECRET_HEADER``)."""
    user = os.environ.get("EMPLOYMENT_PROXY_HEADER") or "X-Forwarded-User"
    secret = os.environ.get("EMPLOYMENT_PROXY_SECRET_HEADER") or PROXY_SECRET_HEADER
    return user, secret


def _proxy_user(lang: str) -> User | None:
    """The user the proxy vouches for: only with its shared secret, so a caller that reaches the app's port
    directly with a forged user header is refused (docs/deployment.md)."""
    header, secret_header = _header_names()
    secret = os.environ.get("EMPLOYMENT_PROXY_SECRET")
    problem = auth.proxy_secret_problem(secret)
    if problem is None and not (_HEADER_NAME.match(header) and _HEADER_NAME.match(secret_header)):
        problem = "EMPLOYMENT_PROXY_HEADER / EMPLOYMENT_PROXY_SECRET_HEADER are not header names"
    if problem is not None:  # misconfigured: proxy mode serves nobody
        print(f"proxy login refused: {problem}")
        st.error(t("auth_proxy_unconfigured", lang))
        return None
    headers = {name.lower(): st.context.headers.get_all(name) for name in (header, secret_header)}
    name = auth.proxy_username(headers, header, secret_header, secret)
    if name is None:
        if headers[header.lower()]:  # a user header without the proxy's secret: a forged or misrouted request
            record(
                User(headers[header.lower()][0].strip()[:128] or "(empty)", None), "denied", "proxy secret"
            )
        st.error(t("auth_proxy_missing", lang, header=header))
        return None
    return _lookup(name) or User(name, None)


def _oidc_user(lang: str) -> User | None:
    if not st.user.is_logged_in:
        st.info(t("auth_sso_prompt", lang))
        if st.button(t("auth_sso_login", lang), key="auth_sso_login"):
            st.login()
        return None
    email = str(st.user.get("email") or "")
    allow_missing = auth.env_flag("EMPLOYMENT_OIDC_ALLOW_MISSING_EMAIL_VERIFIED")
    if not auth.email_verified({"email_verified": st.user.get("email_verified")}, allow_missing):
        st.error(t("auth_email_unverified", lang, user=email))
        record(User(email[:128] or "(empty)", None), "denied", "email not verified")
        if st.button(t("auth_logout", lang), key="auth_logout_unverified"):
            st.logout()
        return None
    return _lookup(email) or User(email, None)


def _client_address() -> str | None:
    """The client's address for the lockout: the peer's, or behind nginx on loopback its ``X-Real-IP``
    (which nginx overwrites); None when unknown (a local connection without a proxy)."""
    peer = st.context.ip_address  # None for a loopback peer
    if isinstance(peer, str) and peer:
        return peer[:64]
    forwarded = [v for v in st.context.headers.get_all("X-Real-IP") if isinstance(v, str)]
    return (forwarded[0].strip()[:64] or None) if len(forwarded) == 1 else None


def _still_valid(found: User, lang: str) -> User | None:
    """The session's user as the user table says now: disabled or removed ends the session, a role or district
    change applies at once (one primary-key read per rerun)."""
    fresh = auth.current(login_store(), found.username)
    if fresh is None:
        st.session_state.pop(SESSION_KEY, None)
        record(found, "denied", "account disabled")
        st.error(t("auth_disabled", lang, user=found.username))
        return None
    if fresh != found:
        st.session_state[SESSION_KEY] = fresh
    return fresh


def _builtin_user(lang: str) -> User | None:
    found = st.session_state.get(SESSION_KEY)
    if isinstance(found, User):
        fresh = _still_valid(found, lang)
        if fresh is not None:
            return fresh
    with st.form("auth_login"):
        st.subheader(t("auth_title", lang))
        username = st.text_input(t("auth_username", lang), key="auth_username")
        password = st.text_input(t("auth_password", lang), type="password", key="auth_password")
        submitted = st.form_submit_button(t("auth_login", lang))
    if submitted:
        name = username.strip()[:128]
        address = _client_address()
        result = auth.login(login_store(), name, password, address)
        if result.user is None:
            until = result.locked_until
            detail = f"address {address or '(unknown)'}" + (
                f"; locked until {until:%Y-%m-%d %H:%M:%S}" if until else ""
            )
            record(User(name or "(empty)", None), "failed_login", "login", detail)
            time.sleep(1.0)  # slows password guessing
            if until is not None:
                st.error(t("auth_locked", lang, until=f"{until:%H:%M:%S}"))
            else:
                st.error(t("auth_failed", lang))
            return None
        st.session_state[SESSION_KEY] = result.user
        record(result.user, "login", "login", f"address {address or '(unknown)'}")
        st.rerun()
    return None


def current_user(lang: str) -> User | None:
    """The logged-in user with a role, or None after showing the login or "no access" screen."""
    how = mode()
    if how == "open":
        user: User | None = _open_user()
    elif how == "proxy":
        user = _proxy_user(lang)
    elif how == "oidc":
        user = _oidc_user(lang)
    else:
        user = _builtin_user(lang)
    if user is None:
        return None
    if user.role is None or (user.role == "planner" and not user.district_code):
        st.error(t("auth_no_role", lang, user=user.username))
        record(user, "denied", "no role")
        return None
    return user


def sidebar(user: User, lang: str) -> None:
    """Who is logged in, the open-demo warning, and a logout button."""
    with st.sidebar:
        if mode() == "open":
            st.warning(t("auth_open_mode", lang), icon=":material/lock_open:")
        st.caption(
            t(
                "auth_signed_in",
                lang,
                user=user.display_name or user.username,
                role=t(f"role_{user.role}", lang),
            )
        )
        if mode() == "builtin" and st.button(t("auth_logout", lang), key="auth_logout"):
            st.session_state.pop(SESSION_KEY, None)
            st.rerun()
        if mode() == "oidc" and st.button(t("auth_logout", lang), key="auth_logout"):
            st.logout()
