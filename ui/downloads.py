"""The one download button of the app: every file a user takes away is audited (issue #18, item 4).

:func:`download_button` wraps ``st.download_button``; ``tests/test_downloads.py`` fails when a page or ``ui/``
module calls ``download_button`` any other way. Each download writes two audit lines:

- ``export`` when the button is clicked (``on_click``): who, which page, which file, and the view's filters
  (every filter lives in the URL, so the query parameters are the view);
- ``download`` when the file is built and sent (``data`` is a callable, built only then): this line is also
  written when a client fetches the file's address without a click.

The bytes are built by the caller's function (``jobs.spreadsheet``, ``jobs.pack``, ...); this module only
decides how the button is shown and audited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from store import auth
from store.auth import User
from ui.auth import audit_log, record

MAX_DETAIL = 2000


def _user() -> User | None:
    user = st.session_state.get("_current_user")  # set by ui.common.frame for the signed-in user
    return user if isinstance(user, User) else None


def describe(file_name: str, filters: Mapping[str, object] | None = None) -> str:
    """The audit detail of one download: page, file and the view's filters (URL parameters, then extras)."""
    view: dict[str, object] = {**st.query_params.to_dict(), **(filters or {})}
    page = st.session_state.get("_audited_page", "")
    shown = "; ".join(f"{k}={v}" for k, v in sorted(view.items()) if k != "lang")
    return f"page={page}; file={file_name}; filters: {shown or '(none)'}"[:MAX_DETAIL]


def _clicked(export: str, detail: str) -> None:
    record(_user(), "export", export, detail)


def download_button(
    label: str,
    build: Callable[[], bytes | str],
    *,
    file_name: str,
    mime: str,
    key: str,
    export: str,
    filters: Mapping[str, object] | None = None,
    icon: str | None = None,
    container: DeltaGenerator | None = None,
) -> None:
    """A download button whose file ``build()`` makes only when clicked; the click and the file are audited
    as ``export`` / ``download`` lines with target ``export`` and the view's filters (see the module)."""
    user, log = _user(), audit_log()
    detail = describe(file_name, filters)

    def built() -> bytes | str:
        data = build()
        log.record(auth.audit_row(user, "download", export, detail))  # no Streamlit call: another thread
        return data

    options: dict[str, Any] = {"icon": icon} if icon else {}
    target: Any = container if container is not None else st
    target.download_button(
        label,
        data=built,
        file_name=file_name,
        mime=mime,
        key=key,
        on_click=_clicked,
        args=(export, detail),
        **options,
    )
