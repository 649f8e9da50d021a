"""Audit (issue #18, items 4, 5 and the read-only freeze of 9): every download is audited through one helper,
the audit connection is writable on PostgreSQL with its own role, a refused or late audit line is kept and
written later and shown to the administrator, a page never waits on the write lock of an import, and a freeze
refused by the read-only role says so.
"""

from __future__ import annotations

import ast
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from streamlit.testing.v1 import AppTest

from i18n import t
from jobs.pack import snapshot
from store import auditlog, auth
from store import schema as s
from store.auth import User
from store.db import make_engine, upgrade
from tests.conftest import ROOT

# --- every download goes through ui.downloads -----------------------------------------------------------------


def _sources() -> list[Path]:
    return sorted([*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")])


def _download_calls() -> dict[str, list[tuple[str, int]]]:
    """Calls in pages/ and ui/: ``st.download_button``-style (an attribute), the helper, and ``download_csv``."""
    found: dict[str, list[tuple[str, int]]] = {"direct": [], "helper": [], "csv": []}
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            a.asname or a.name: node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for a in node.names
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = (path.relative_to(ROOT).as_posix(), node.lineno)
            func_ = node.func
            if isinstance(func_, ast.Attribute) and func_.attr == "download_button":
                found["direct"].append(where)
            elif isinstance(func_, ast.Name) and func_.id == "download_button":
                assert imported.get("download_button") == "ui.downloads" or path.name == "downloads.py", where
                found["helper"].append(where)
            elif isinstance(func_, ast.Name) and func_.id == "download_csv":
                assert imported.get("download_csv") == "ui.common", where
                found["csv"].append(where)
    return found


def test_every_download_button_goes_through_the_audited_helper() -> None:
    """The only ``*.download_button(...)`` call in pages/ and ui/ is the helper's own; every page download is the
    helper or ``download_csv`` (which is the helper), each with an export name."""
    calls = _download_calls()
    assert [f for f, _ in calls["direct"]] == ["ui/downloads.py"], calls["direct"]
    assert "ui/common.py" in {f for f, _ in calls["helper"]}, "download_csv must use ui.downloads"
    pages = [c for c in calls["helper"] if c[0] != "ui/common.py"] + calls["csv"]
    assert len(pages) >= 15, (
        pages
    )  # 12 CSVs, the Explore workbook, the import template, the pack's PDF and Excel
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "download_button":
                assert any(k.arg == "export" for k in node.keywords), (path.name, node.lineno)


# --- an AppTest clicks a download ---------------------------------------------------------------------------


def _copy(demo_url: str, folder: Path) -> tuple[str, Path]:
    """A private copy of the demo database (this test holds its write lock)."""
    src = demo_url.split("///", 1)[1]
    dst = folder / "demo.sqlite"
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    with sqlite3.connect(dst) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    return f"sqlite:///{dst}", dst


def _rows(url: str, **where: str) -> list[Any]:
    a = s.audit_log
    stmt = select(a)
    for name, value in where.items():
        stmt = stmt.where(a.c[name] == value)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(stmt.order_by(a.c.audit_id)))
    finally:
        engine.dispose()


def _app(monkeypatch: pytest.MonkeyPatch, url: str, spool: Path, role: str = "leader") -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    monkeypatch.setenv("EMPLOYMENT_AUTH", "open")
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", role)
    monkeypatch.setenv("EMPLOYMENT_AUDIT_SPOOL_DIR", str(spool))
    monkeypatch.delenv("EMPLOYMENT_AUDIT_DB_URL", raising=False)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


@pytest.fixture()
def built(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The ``data`` callable of every download button, by key (so a test can build a file as the browser would)."""
    import streamlit
    from streamlit.delta_generator import DeltaGenerator

    got: dict[str, Any] = {}
    real = DeltaGenerator.download_button

    def spy(self: DeltaGenerator, label: str, data: Any = None, *args: Any, **kwargs: Any) -> Any:
        got[str(kwargs.get("key"))] = data
        return real(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    monkeypatch.setattr(streamlit, "download_button", lambda *a, **k: spy(streamlit._main, *a, **k))
    return got


def test_a_clicked_download_is_audited_with_its_view(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, tmp_path: Path, built: dict[str, Any]
) -> None:
    """Clicking the targets ranking's CSV writes an ``export`` line: who, the page, the file and the filters
    of the view (from the URL); building the file writes a ``download`` line."""
    url, _ = _copy(demo_url, tmp_path)
    at = _app(monkeypatch, url, tmp_path / "spool")
    at.run()
    at.query_params["year"] = "2026"
    at.query_params["month"] = "9"
    at.switch_page("pages/targets.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not _rows(url, action="export")
    button = next(b for b in at.get("download_button") if b.proto.id.endswith("tg_dl_ranking"))
    button.click().run()  # type: ignore[attr-defined]
    assert not at.exception
    rows = _rows(url, action="export")
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row.username, row.role, row.target) == ("demo", "leader", "csv:attainment-2026-09")
    assert "page=page_targets" in row.detail and "year=2026" in row.detail and "month=9" in row.detail
    assert re.search(r"file=attainment-2026-09-\d{8}\.csv", row.detail)
    raw = built["tg_dl_ranking"]()  # the browser fetches the file
    assert raw.startswith(b"\xef\xbb\xbf")
    # at least once (the spool may deliver a line twice, never zero times); other tests' lines apart
    downs = [d for d in _rows(url, action="download") if d.target == "csv:attainment-2026-09"]
    assert downs and all((d.username, d.detail) == ("demo", row.detail) for d in downs), downs


# --- a page never waits on the write lock; the line is kept and arrives later ---------------------------------


@pytest.fixture()
def write_lock() -> Iterator[Any]:
    """``hold(path)`` takes SQLite's write lock in another connection (as an import does) until released."""
    held: list[sqlite3.Connection] = []

    def hold(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, timeout=5)
        conn.execute("BEGIN IMMEDIATE")
        held.append(conn)
        return conn

    yield hold
    for conn in held:
        conn.close()


def _wait_for(check: Any, timeout_s: float = 30.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.2)
    return bool(check())


def test_a_page_renders_under_an_import_write_lock_and_its_audit_line_arrives_later(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, tmp_path: Path, write_lock: Any
) -> None:
    url, path = _copy(demo_url, tmp_path)
    spool = tmp_path / "spool"
    warm = _app(monkeypatch, url, spool)
    warm.run()  # the overview, caches warm, its view line written at once
    assert not warm.exception and _rows(url, action="view")
    before = len(_rows(url))
    lock = write_lock(path)  # an import holds the write lock (WAL: reads go on)
    at = _app(monkeypatch, url, spool, role="admin")
    started = time.perf_counter()
    at.run()
    at.switch_page("pages/data.py").run()
    elapsed = time.perf_counter() - started
    assert not at.exception, [e.value for e in at.exception]
    print(f"overview + data page under a held write lock: {elapsed:.2f} s")
    assert elapsed < 5.0  # was 30 s per audit line (the busy timeout), then the line was dropped
    assert any(t("data_loading", "en") in i.value for i in at.info)  # says why figures may lag
    waiting = [m for m in at.metric if m.label == t("audit_pending_metric", "en")]
    assert waiting and int(waiting[0].value) >= 2, waiting  # the overview's and the Data page's view lines
    assert any("not in the database yet" in w.value for w in at.warning)
    assert len(_rows(url)) == before  # nothing written while the lock is held
    lock.execute("COMMIT")  # the import finishes
    # the writer retries after 1 s, 2 s, 4 s (also when it was idle before): the lines arrive within seconds
    assert _wait_for(lambda: len(_rows(url)) >= before + 2, 8.0), "spooled audit lines did not arrive"
    viewed = {r.target for r in _rows(url, action="view", role="admin")}
    assert {"page_overview", "page_data"} <= viewed
    log = auditlog.AuditLog(url, auditlog.spool_path(url, spool))
    assert _wait_for(lambda: log.status().pending == 0)
    assert not log.blocked()


def test_the_spool_keeps_lines_across_a_restart_and_in_order(tmp_path: Path, write_lock: Any) -> None:
    """A line the database does not take in time is in the spool file on disk; a new process (a restart)
    sends it, oldest first, and the page's write waited about the short busy timeout only."""
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    upgrade(make_engine(url))
    lock = write_lock(tmp_path / "a.sqlite")
    log = auditlog.AuditLog(url, tmp_path / "spool" / "a.jsonl")
    log._start = lambda: None  # type: ignore[method-assign]  # this "process" dies before its writer runs
    started = time.perf_counter()
    assert log.record(auth.audit_row(User("u1", "leader"), "view", "first")) is False
    first = time.perf_counter() - started
    started = time.perf_counter()
    assert log.record(auth.audit_row(User("u1", "leader"), "export", "second")) is False
    second = time.perf_counter() - started
    assert first < 1.5 and second < 0.2  # once lines wait, the next goes straight to the spool
    assert log.status().pending == 2 and log.blocked()
    assert (tmp_path / "spool" / "a.jsonl").stat().st_mode & 0o777 == 0o600
    lock.execute("COMMIT")
    restarted = auditlog.AuditLog(url, tmp_path / "spool" / "a.jsonl")
    assert restarted.flush() == 2
    assert [r.target for r in _rows(url)] == ["first", "second"]
    assert restarted.status().pending == 0 and log.status().pending == 0


def test_a_torn_spool_line_is_kept_aside_and_counted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    upgrade(make_engine(url))
    spool = tmp_path / "spool" / "a.jsonl"
    spool.parent.mkdir()
    good = auditlog._encode(auth.audit_row(None, "view", "x"))
    spool.write_bytes(good + b'{"at": "2026-')  # a crash in the middle of a write
    log = auditlog.AuditLog(url, spool)
    assert log.status().pending == 2
    assert log.flush() == 1
    assert log.status().pending == 0 and log.status().unreadable == 1


# --- PostgreSQL: the documented roles --------------------------------------------------------------------------


def _documented_roles(db: str, suffix: str) -> list[str]:
    """The ``sql`` blocks of docs/deployment.md §1 (roles), with this database's and this test's role names."""
    doc = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    section = doc.split("## 1.", 1)[1].split("### Row-level security", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 2, "docs/deployment.md §1 shows the app's roles and the audit role"
    sql = "\n".join(blocks)
    sql = re.sub(r"--[^\n]*", "", sql)
    sql = sql.replace("DATABASE employment", f"DATABASE {db}").replace("'…'", "'x'")
    sql = re.sub(r"\b(bureau_[a-z]+)\b", rf"\1_{suffix}", sql)  # every role the section creates
    return [stmt.strip() for stmt in sql.split(";") if stmt.strip()]


@pytest.fixture()
def pg_roles(pg_url: str) -> Iterator[dict[str, str]]:
    """A migrated database with the roles of docs/deployment.md; URLs for the app and the audit role."""
    owner = make_engine(pg_url)
    upgrade(owner)
    suffix = uuid.uuid4().hex[:8]
    db = pg_url.rsplit("/", 1)[1]
    with owner.begin() as conn:
        for stmt in _documented_roles(db, suffix):
            conn.execute(text(stmt))
    base = pg_url.replace("postgres@", "{}@")
    yield {
        "owner": pg_url,
        "app": base.format(f"bureau_app_{suffix}"),
        "audit": base.format(f"bureau_audit_{suffix}"),
        "writer": base.format(f"bureau_writer_{suffix}"),
    }
    owner.dispose()
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        _drop_roles(conn, suffix)
    admin.dispose()


def _drop_roles(conn: Any, suffix: str) -> None:
    found = conn.execute(
        text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"), {"p": f"bureau_%_{suffix}"}
    )
    names = [r.rolname for r in found]  # generated by the test, never input
    for name in names:  # one at a time: a default ACL naming two of them is dropped once
        conn.execute(text(f"DROP OWNED BY {name}"))
    for name in names:
        conn.execute(text(f"DROP ROLE {name}"))


def _count(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(s.audit_log)).scalar_one())
    finally:
        engine.dispose()


def test_postgresql_audit_role_writes_and_the_read_only_app_role_is_kept_visible(
    pg_roles: dict[str, str], tmp_path: Path
) -> None:
    """With the documented read-only app role alone, audit lines are refused: they wait in the spool with the
    reason (no longer 0 rows silently). With ``EMPLOYMENT_AUDIT_DB_URL`` = the audit role (INSERT on
    ``audit_log``; the login's grants besides), they are written; it cannot read, change or delete a line."""
    row = auth.audit_row(User("alice", "leader"), "export", "csv:x", "filters: year=2026")
    app_log = auditlog.AuditLog(pg_roles["app"], tmp_path / "app.jsonl")
    assert app_log.record(row) is False
    status = app_log.status()
    assert status.pending == 1 and "read-only" in (status.last_error or ""), status
    assert _count(pg_roles["owner"]) == 0
    audit = auditlog.AuditLog(pg_roles["audit"], tmp_path / "audit.jsonl")
    assert audit.record(row) is True
    assert _count(pg_roles["owner"]) == 1
    engine = make_engine(pg_roles["audit"])
    forbidden = [
        select(s.audit_log.c.username),
        s.audit_log.update().values(username="x"),
        s.audit_log.delete(),
        s.app_user.insert().values(username="x", role="admin", created_at=func.now(), disabled=False),
        select(s.agg_monthly.c.value),
    ]
    for stmt in forbidden:
        with pytest.raises(DBAPIError, match="permission denied"), engine.begin() as conn:
            conn.execute(stmt)
    engine.dispose()
    assert _count(pg_roles["owner"]) == 1


def test_postgresql_freeze_refused_by_the_read_only_role_says_why(
    monkeypatch: pytest.MonkeyPatch, pg_demo_url: str, tmp_path: Path
) -> None:
    """A leader freezing a pack on the read-only app role is told "permission denied: read-only connection",
    not "the database cannot be reached"."""
    suffix = uuid.uuid4().hex[:8]
    db = pg_demo_url.rsplit("/", 1)[1]
    owner = make_engine(pg_demo_url)
    with owner.begin() as conn:
        for stmt in _documented_roles(db, suffix):
            conn.execute(text(stmt))
    app_url = pg_demo_url.replace("postgres@", f"bureau_app_{suffix}@")
    try:
        with pytest.raises(snapshot.WriteRefused, match="permission denied: read-only connection"):
            snapshot.freeze(make_engine(app_url), "2026Q3", "alice")
        at = _app(monkeypatch, app_url, tmp_path / "spool")
        at.run()
        at.switch_page("pages/pack.py").run()
        assert not at.exception, [e.value for e in at.exception]
        at.button(key="pack_freeze").click().run()
        errors = " ".join(e.value for e in at.error)
        assert "permission denied: read-only connection" in errors, errors
        assert t("db_down", "en") not in errors
    finally:
        owner.dispose()
        admin = create_engine(pg_demo_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            _drop_roles(conn, suffix)
        admin.dispose()
