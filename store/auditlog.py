"""Audit-log writes that never hold up a page and are never silently lost (issue #18, items 4 and 5).

A page writes its audit line (a view, an export, a login) through :class:`AuditLog`:

- with a **short time limit** (SQLite busy timeout 0.5 s, PostgreSQL statement timeout 2 s and connection
  timeout 2 s), so an import holding SQLite's write lock, a locked table or a database that is down delays a
  page by half a second at most instead of 30 s;
- a line the database refuses or does not take in time is **kept in a spool file** (JSON lines, appended and
  synced to disk under an exclusive file lock, mode 600, one spool per audit database) and written later, in
  order, by a background thread that retries with back-off (1 s doubling to 30 s). While anything is spooled,
  new lines go straight to the spool (no page waits again) and keep their order;
- the administrator sees how many lines are waiting, how many could not be read back, and the last error
  (the Data page, :meth:`AuditLog.status`).

Several app processes may share one spool directory: a batch is claimed by renaming the spool file and sent
under an exclusive lock on the batch file, so no line is sent twice by two processes. A process that dies after
the database committed a batch but before it removed the batch file sends that batch again at the next start
(at-least-once: a line may appear twice, never zero times).

The audit connection is ``EMPLOYMENT_AUDIT_DB_URL`` (a role with ``INSERT`` on ``audit_log`` only on
PostgreSQL, docs/deployment.md), else the database URL. No Streamlit here.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from store.auth import write_audit
from store.config import ROOT
from store.db import make_engine

BUSY_TIMEOUT_S = 0.5  # SQLite: how long a page's audit write waits for another writer's lock
STATEMENT_TIMEOUT_S = 2.0  # PostgreSQL: statement (and so lock wait) limit of an audit write
CONNECT_TIMEOUT_S = 2  # PostgreSQL: connection attempt limit
RETRY_FIRST_S, RETRY_MAX_S = 1.0, 30.0
BATCH = 500  # lines per transaction when the spool is sent


def audit_url(db_url: str) -> str:
    """Where audit lines are written: ``EMPLOYMENT_AUDIT_DB_URL``, else the database itself."""
    return os.environ.get("EMPLOYMENT_AUDIT_DB_URL") or db_url


def spool_dir() -> Path:
    """``EMPLOYMENT_AUDIT_SPOOL_DIR``, else ``data/audit-spool`` beside the app (must be local and writable)."""
    return Path(os.environ.get("EMPLOYMENT_AUDIT_SPOOL_DIR") or ROOT / "data" / "audit-spool")


def spool_path(url: str, folder: Path | None = None) -> Path:
    """The spool file of one audit database (named by a hash of its URL, so lines never reach another one)."""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return (folder or spool_dir()) / f"audit-{digest}.jsonl"


@dataclass(frozen=True)
class AuditStatus:
    """What the administrator is shown."""

    pending: int  # lines in the spool, not yet in the database
    unreadable: int  # lines that could not be read back (a torn write): kept aside in the ``.failed`` file
    last_error: str | None  # the database's last refusal, while lines are pending
    last_error_at: str | None
    blocked: bool  # the last failure was a lock wait (e.g. an import holds SQLite's write lock)
    lost_in_process: int  # lines neither written nor spooled (spool not writable): also printed to the log


def _encode(row: dict[str, Any]) -> bytes:
    values = {**row, "at": row["at"].isoformat() if isinstance(row["at"], datetime) else row["at"]}
    return (json.dumps(values, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _decode(line: bytes) -> dict[str, Any]:
    data = json.loads(line.decode("utf-8"))
    if not isinstance(data, dict) or not {"at", "username", "action", "target"} <= set(data):
        raise ValueError("not an audit line")
    return {
        "at": datetime.fromisoformat(str(data["at"])),
        "username": str(data["username"])[:128],
        "role": data.get("role"),
        "action": str(data["action"])[:16],
        "target": str(data["target"])[:128],
        "detail": data.get("detail"),
    }


def _describe(exc: BaseException) -> str:
    """A one-line reason (the driver's message, no SQL or parameters)."""
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first}"[:300]


def _is_lock_wait(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).lower()
    code = getattr(orig, "sqlstate", None)
    return "locked" in text or "busy" in text or code in ("55P03", "57014", "40P01")


@contextlib.contextmanager
def _locked(path: Path, flags: int, blocking: bool = True) -> Iterator[int | None]:
    """``path`` opened with an exclusive lock, checked to still be the file at ``path`` (a concurrent rename
    or unlink is retried, or yields None when ``blocking`` is False or the file is gone)."""
    while True:
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            yield None
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield None
                return
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                yield fd
                return
            if not flags & os.O_CREAT:
                yield None
                return
        finally:
            os.close(fd)  # also releases the lock


class AuditLog:
    """Audit writes for one audit database, with the spool and its background writer."""

    def __init__(self, url: str, spool: Path | None = None, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.engine = make_engine(
            url,
            statement_timeout_s=STATEMENT_TIMEOUT_S,
            busy_timeout_s=busy_timeout_s,
            connect_timeout_s=CONNECT_TIMEOUT_S,
        )
        self.spool = spool or spool_path(url)
        self.failed_file = self.spool.with_suffix(".failed")
        self.error_file = self.spool.with_suffix(".error")
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = 0

    # --- writing ------------------------------------------------------------------------------------------

    def record(self, row: dict[str, Any]) -> bool:
        """Write one line now if the database takes it within the short limit, else spool it for the
        background writer. True when it is in the database, False when it waits in the spool."""
        if not self.has_pending():
            try:
                write_audit(self.engine, [row])
                return True
            except SQLAlchemyError as exc:
                self._note_error(exc)
        try:
            self._append(row)
        except OSError as exc:  # spool not writable: the last resort is the server log
            self.lost += 1
            print(
                f"audit line LOST (spool {self.spool}: {exc}): {_encode(row).decode().strip()}",
                file=sys.stderr,
            )
            return False
        self._start()
        self._wake.set()
        return False

    def _append(self, row: dict[str, Any]) -> None:
        self.spool.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = _encode(row)
        with self._lock, _locked(self.spool, os.O_WRONLY | os.O_APPEND | os.O_CREAT) as fd:
            assert fd is not None
            os.write(fd, line)
            os.fsync(fd)

    def _note_error(self, exc: BaseException) -> None:
        text = f"{datetime.now():%Y-%m-%d %H:%M:%S}\t{int(_is_lock_wait(exc))}\t{_describe(exc)}"
        print(f"audit write deferred: {_describe(exc)}", file=sys.stderr)
        with contextlib.suppress(OSError):
            self.spool.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.error_file.with_suffix(f".{uuid.uuid4().hex}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.error_file)

    # --- the spool ----------------------------------------------------------------------------------------

    def _batches(self) -> list[Path]:
        return sorted(self.spool.parent.glob(self.spool.name + ".*.batch"))

    def has_pending(self) -> bool:
        """Anything in the spool (one ``stat`` per file: cheap enough for every write)."""
        files = [self.spool, *self._batches()]
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_size > 0:
                    return True
        return False

    def _claim(self) -> None:
        """Move the spool's lines into a batch file of their own (appends go on into a new spool)."""
        with self._lock, _locked(self.spool, os.O_RDONLY) as fd:
            if fd is not None and os.fstat(fd).st_size > 0:
                batch = self.spool.with_name(
                    f"{self.spool.name}.{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.batch"
                )
                os.rename(self.spool, batch)

    def flush(self) -> int:
        """Send every spooled line to the database, oldest first; returns how many were written. Raises the
        database's error (after noting it for the administrator) when it still refuses."""
        self._claim()
        sent = 0
        for batch in self._batches():
            with _locked(batch, os.O_RDWR, blocking=False) as fd:
                if fd is None:  # another process is sending it, or it is gone
                    continue
                rows, bad = [], []
                with os.fdopen(os.dup(fd), "rb") as handle:
                    for line in handle:
                        if not line.strip():
                            continue
                        try:
                            rows.append(_decode(line))
                        except (ValueError, KeyError, TypeError):
                            bad.append(line if line.endswith(b"\n") else line + b"\n")
                if bad:
                    with open(self.failed_file, "ab") as failed:
                        failed.writelines(bad)
                try:
                    for start in range(0, len(rows), BATCH):
                        write_audit(self.engine, rows[start : start + BATCH])
                except SQLAlchemyError as exc:
                    self._note_error(exc)
                    if start:  # the first batches are in: keep only the rest
                        self._rewrite(batch, rows[start:])
                    raise
                os.unlink(batch)
                sent += len(rows)
        if not self.has_pending():
            with contextlib.suppress(FileNotFoundError):
                self.error_file.unlink()
        return sent

    def _rewrite(self, batch: Path, rows: list[dict[str, Any]]) -> None:
        tmp = batch.with_suffix(".tmp")
        tmp.write_bytes(b"".join(_encode(r) for r in rows))
        os.replace(tmp, batch)

    # --- the background writer ----------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        failures = 0  # in a row: the retry waits 1 s, 2 s, 4 s, ... at most 30 s; idle, it checks every 30 s
        delay = RETRY_FIRST_S
        while True:
            self._wake.wait(timeout=delay)
            self._wake.clear()
            if not self.has_pending():
                failures, delay = 0, RETRY_MAX_S
                continue
            try:
                self.flush()
                failures, delay = 0, RETRY_FIRST_S
            except SQLAlchemyError:
                failures += 1
                delay = min(RETRY_FIRST_S * 2 ** (failures - 1), RETRY_MAX_S)
            except OSError as exc:
                print(f"audit spool not readable: {exc}", file=sys.stderr)
                delay = RETRY_MAX_S

    def start_background(self) -> None:
        """Start the writer (it also sends what an earlier process left in the spool)."""
        self._start()
        self._wake.set()

    def blocked(self) -> bool:
        """Lines are waiting because the database's write lock is held (e.g. an import is loading data)."""
        if not self.has_pending():
            return False
        try:
            return self.error_file.read_text(encoding="utf-8").split("\t", 2)[1] == "1"
        except (OSError, IndexError):
            return False

    # --- for the administrator ----------------------------------------------------------------------------

    def status(self) -> AuditStatus:
        pending = 0
        for path in [self.spool, *self._batches()]:
            with contextlib.suppress(FileNotFoundError), open(path, "rb") as handle:
                pending += sum(1 for line in handle if line.strip())
        unreadable = 0
        with contextlib.suppress(FileNotFoundError), open(self.failed_file, "rb") as handle:
            unreadable = sum(1 for line in handle if line.strip())
        when = error = None
        blocked = False
        if pending:
            with contextlib.suppress(FileNotFoundError, ValueError):
                when, lock, error = self.error_file.read_text(encoding="utf-8").split("\t", 2)
                blocked = lock == "1"
        return AuditStatus(pending, unreadable, error, when, blocked, self.lost)
