"""What every page shares: language, the engine, cached queries, the frame (badge, cut-off) and failure handling."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from figures.disclosure import plan_for
from i18n import catalogue, fmt_date, fmt_month, t
from jobs.spreadsheet import csv_bytes
from privacy import linked, needs_plan, protect
from queries import meta
from store.auth import User
from store.config import settings
from store.db import make_engine
from ui.auth import audit_log, current_user, record
from ui.auth import sidebar as auth_sidebar
from ui.downloads import download_button


@dataclass(frozen=True)
class Ctx:
    """What a page body receives once the frame has checked that there is data to show."""

    lang: str
    engine: Engine
    status: meta.DataStatus
    user: User

    def t(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)


def lang() -> str:
    """The language chosen in the sidebar (``?lang=`` in the URL), else the configured default."""
    value = st.session_state.get("lang")
    return value if value in ("zh", "en") else settings().language


@st.cache_resource(show_spinner=False)
def _engine(url: str, timeout_s: float) -> Engine:
    return make_engine(url, statement_timeout_s=timeout_s, read_only=True)


def engine() -> Engine:
    """The shared engine for the configured database (one pool per process)."""
    cfg = settings()
    return _engine(cfg.db_url, cfg.statement_timeout_s)


@st.cache_data(ttl=2, show_spinner=False, max_entries=4)
def _version(url: str) -> tuple[int, str]:
    """The data version (newest load of any kind), read at most every 2 s: a forecast run or an import shows
    at the next rerun."""
    try:
        return meta.data_version(engine())
    except (OperationalError, ProgrammingError):  # no schema yet: data_status says so
        return (0, "")


@st.cache_data(ttl=3600, show_spinner=False, max_entries=4)
def _status_of(url: str, version: tuple[int, str]) -> meta.DataStatus:
    return meta.data_status(engine())


def _status(url: str) -> meta.DataStatus:
    return _status_of(url, _version(url))


@st.cache_data(ttl=3600, show_spinner=False, max_entries=512)
def _cached(path: str, url: str, version: tuple, args: tuple, kwargs: tuple) -> Any:
    module, name = path.rsplit(".", 1)
    fn = getattr(importlib.import_module(module), name)
    return fn(engine(), *args, **dict(kwargs))


@st.cache_resource(ttl=3600, show_spinner=False, max_entries=8)
def _plan(url: str, version: tuple, k: int) -> linked.Plan:
    """The city-wide suppression plan for the data of ``version`` (shared by every session: it is decided
    on every district whoever asks, so that each view hides what every other view hides)."""
    return plan_for(engine(), k)


def scoped(fn: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments with the user's district forced in, for a district planner.

    A planner may only run queries that take ``district_code``; the value is always their own district, whatever
    the page asked for, so the filter is applied in SQL. Everyone else runs queries as asked.
    """
    user = st.session_state.get("_current_user")
    if not isinstance(user, User) or user.city_wide or getattr(fn, "reference_data", False):
        return kwargs
    if "district_code" not in inspect.signature(fn).parameters:
        raise PermissionError(f"{fn.__module__}.{fn.__name__} shows more than one district")
    return {**kwargs, "district_code": user.district_code}


def query(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a ``queries`` function with the shared engine, cached until the data version changes (any load:
    data, forecasts, roads), and protected by the suppression plan of the same data.

    The cache key includes the district filter a planner's role forces in, so a role-filtered result is never
    served to another role.
    """
    kwargs = scoped(fn, kwargs)
    url = settings().db_url
    version = _version(url)  # any load: data, forecasts, roads
    status = _status_of(url, version)
    data = (status.cut_off, status.last_load)  # the plan rests on the data alone (a forecast run keeps it)
    result = _cached(
        f"{fn.__module__}.{fn.__name__}",
        url,
        version,
        args,
        tuple(sorted(kwargs.items())),
    )
    k = settings().min_cell_persons
    rule = getattr(fn, "sensitive", None)
    plan = _plan(url, data, k) if rule and needs_plan(result) else None
    return protect(result, k, rule, plan)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=64)
def _figure(path: str, url: str, version: tuple, scope: str, key: str, _args: tuple, _kwargs: dict) -> Any:
    module, name = path.rsplit(".", 1)
    fn = getattr(importlib.import_module(module), name)
    return fn(query, *_args, **_kwargs)


def figure(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a ``figures`` function with this page's runner (:func:`query`), cached per data version and per
    role scope (a planner's figures are their district's), for figures that compute more than they read
    (coverage, scores). ``args`` are keyed by their ``repr``: pass plain values and frozen dataclasses."""
    user = st.session_state.get("_current_user")
    scope = "" if not isinstance(user, User) or user.city_wide else str(user.district_code)
    url = settings().db_url
    key = repr((args, sorted(kwargs.items())))
    return _figure(f"{fn.__module__}.{fn.__name__}", url, _version(url), scope, key, args, kwargs)


def fresh(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a ``queries`` function uncached (what a user has just saved must show), scoped and protected like
    :func:`query`."""
    kwargs = scoped(fn, kwargs)
    k = settings().min_cell_persons
    return protect(fn(engine(), *args, **kwargs), k, getattr(fn, "sensitive", None), None)


def _freshness(status: meta.DataStatus, lang: str) -> str:
    if status.cut_off is None:
        return ""
    age = (date.today() - status.cut_off).days
    return t(
        "freshness",
        lang,
        cut_off=fmt_date(status.cut_off, lang),
        days=age,
        month=fmt_month(status.latest_year or 0, status.latest_month or 1, lang)
        if status.latest_year
        else "—",
    )


def frame(title_key: str, caption_key: str | None = None) -> Ctx | None:
    """Page title, demo badge, cut-off and freshness; ``None`` (after saying why) when there is nothing to show."""
    language = lang()
    st.title(t(title_key, language))
    if caption_key:
        st.caption(t(caption_key, language))
    try:
        status = _status(settings().db_url)
    except (OperationalError, DBAPIError) as exc:
        database_down(language, exc)
        return None
    if status.synthetic or settings().is_demo:
        st.info(t("demo_badge", language), icon=":material/science:")
    if status.missing_tables and not status.has_schema:
        st.warning(t("no_schema", language), icon=":material/database:")
        return None
    if status.missing_tables:
        st.error(
            t("missing_tables", language, tables=", ".join(status.missing_tables)), icon=":material/error:"
        )
        return None
    if not status.has_data:
        st.warning(t("no_data", language), icon=":material/inbox:")
        return None
    user = current_user(language)
    if user is None:
        return None
    st.session_state["_current_user"] = user
    auth_sidebar(user, language)
    if st.session_state.get("_audited_page") != title_key:
        st.session_state["_audited_page"] = title_key
        record(user, "view", title_key)
    if audit_log().blocked():  # an import holds the write lock: the page reads on, its audit line waits
        st.info(t("data_loading", language), icon=":material/hourglass_top:")
    st.caption(_freshness(status, language))
    return Ctx(language, engine(), status, user)


def database_down(language: str, exc: Exception | None = None) -> None:
    """Say plainly that the database cannot be reached, with a retry button; never a traceback."""
    st.error(t("db_down", language), icon=":material/cloud_off:")
    if exc is not None:
        st.caption(type(exc).__name__)
    if st.button(t("retry", language), key="retry_db"):
        st.cache_data.clear()
        st.rerun()


# Set by app.py once its st.navigation has run in this process.
NAVIGATION = {"active": False}


def _leave_legacy_multipage_mode() -> None:
    """Make sure app.py's navigation (language switch, page titles) runs, even for a deep link.

    Streamlit treats an app with a ``pages/`` folder as a legacy (v1) multipage app until ``st.navigation`` has
    been called once in the process; so when the first request after a server start is a deep link such as
    ``/targets``, it runs ``pages/targets.py`` alone. Switching the flag and rerunning sends that request through
    ``app.py`` instead.
    """
    if NAVIGATION["active"]:
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the legacy mode
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def run_page(body: Callable[[Ctx], None], title_key: str, caption_key: str | None = None) -> None:
    """Frame the page and run ``body``; database failures become a plain message with a retry."""
    _leave_legacy_multipage_mode()
    ctx = frame(title_key, caption_key)
    if ctx is None:
        return
    try:
        body(ctx)
    except PermissionError as exc:
        st.warning(t("not_for_role", ctx.lang), icon=":material/lock:")
        record(ctx.user, "denied", title_key, str(exc))
    except (OperationalError, ProgrammingError, DBAPIError) as exc:
        database_down(ctx.lang, exc)


def download_csv(df: pd.DataFrame, name: str, lang: str, key: str) -> None:
    """A CSV download (UTF-8 with BOM so Chinese Excel opens it correctly), built only when clicked; audited
    with the view's filters (ui.downloads)."""
    download_button(
        t("download_csv", lang),
        lambda: csv_bytes(df),  # cells that could run as formulas are neutralised
        file_name=f"{name}-{datetime.now():%Y%m%d}.csv",
        mime="text/csv",
        key=key,
        export=f"csv:{name}",
        icon=":material/download:",
    )


def url_widget(
    widget: Callable[..., Any], label: str, options: list[Any], key: str, default: Any = None, **kwargs: Any
) -> Any:
    """A choice widget whose value lives in the URL (``?key=value``, by code, independent of language).

    A value in the URL that is not one of ``options`` is reported and replaced by ``default``; a link that
    changes the URL (another page's tile) wins over the value remembered in the session.
    """
    as_text = [str(o) for o in options]
    fallback = default if default in options else (options[0] if options else None)
    raw = st.query_params.get(key)
    synced = st.session_state.get(f"_url_{key}")
    if raw is not None and raw != synced:
        if raw in as_text:
            st.session_state[key] = options[as_text.index(raw)]
        else:
            st.session_state[key] = fallback
            st.toast(t("bad_param", lang(), name=key, value=raw[:40]), icon=":material/link_off:")
    elif st.session_state.get(key) not in options:
        st.session_state[key] = fallback
    value = widget(label, options, key=key, **kwargs)
    if value is None:
        value = fallback
    st.query_params[key] = str(value)
    st.session_state[f"_url_{key}"] = str(value)
    return value


def district_choices(ctx: Ctx, codes: list[str], allow_all: bool = True) -> list[str]:
    """The district codes a filter may offer: every district ("" = all) for city-wide roles, only their own for a
    district planner, so no link can put another district in a planner's view."""
    if ctx.user.city_wide:
        return ["", *codes] if allow_all else list(codes)
    return [c for c in codes if c == ctx.user.district_code]


def headed(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The frame with its column names in the page's language (catalogue keys ``dcol_<name>``; others kept)."""
    return frame.rename(
        columns={c: t(f"dcol_{c}", lang) for c in frame.columns if f"dcol_{c}" in catalogue()}
    )
