"""Who is looking: login through OIDC (``st.login``), a trusted reverse proxy, or the built-in user table.

Mode (``EMPLOYMENT_AUTH``): ``builtin`` (default), ``oidc``, ``proxy``, or ``open`` — the explicit open demo
mode, which the UI announces on every page. In every mode but ``open`` the role comes from the ``app_user``
table; a user without a role sees nothing.
"""

from __future__ import annotations

import os
import time

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from bureau import auth
from bureau.auth import User
from bureau.config import settings
from bureau.db import make_engine
from i18n import t

SESSION_KEY = "auth_user"


@st.cache_resource(show_spinner=False)
def _writer(url: str) -> Engine:
    """A writable engine for the audit log and user look-ups (the page engine is read-only)."""
    return make_engine(url)


def writer() -> Engine:
    return _writer(os.environ.get("EMPLOYMENT_AUDIT_DB_URL") or settings().db_url)


def mode() -> str:
    """The configured login mode."""
    value = os.environ.get("EMPLOYMENT_AUTH", "builtin").lower()
    return value if value in ("builtin", "oidc", "proxy", "open") else "builtin"


def record(user: User | None, action: str, target: str, detail: str | None = None) -> None:
    """Audit one action; a failing audit write never breaks the page (it is reported in the server log)."""
    try:
        auth.audit(writer(), user, action, target, detail)
    except DBAPIError as exc:  # read-only replica, table missing: keep serving, say so in the log
        print(f"audit log not written: {type(exc).__name__}")


def _lookup(username: str) -> User | None:
    found = auth.lookup(writer(), username)
    return found[0] if found else None


def _open_user() -> User:
    role = os.environ.get("EMPLOYMENT_OPEN_ROLE", "leader")
    district = os.environ.get("EMPLOYMENT_OPEN_DISTRICT") or None
    return User("demo", role if role in auth.ROLES else "leader", district)


def _proxy_user(lang: str) -> User | None:
    header = os.environ.get("EMPLOYMENT_PROXY_HEADER", "X-Forwarded-User")
    name = st.context.headers.get(header)
    if not name:
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
    return _lookup(email) or User(email, None)


def _builtin_user(lang: str) -> User | None:
    found = st.session_state.get(SESSION_KEY)
    if isinstance(found, User):
        return found
    with st.form("auth_login"):
        st.subheader(t("auth_title", lang))
        username = st.text_input(t("auth_username", lang), key="auth_username")
        password = st.text_input(t("auth_password", lang), type="password", key="auth_password")
        submitted = st.form_submit_button(t("auth_login", lang))
    if submitted:
        user = auth.authenticate(writer(), username.strip(), password)
        if user is None:
            record(User(username.strip()[:128] or "(empty)", None), "failed_login", "login")
            time.sleep(1.0)  # slows password guessing
            st.error(t("auth_failed", lang))
            return None
        st.session_state[SESSION_KEY] = user
        record(user, "login", "login")
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
