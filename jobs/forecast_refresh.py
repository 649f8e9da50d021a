"""A forecast refresh started from the Data page: ``bureau forecast`` in a background thread of the app process.

One refresh per database at a time in a process; its progress is the time elapsed against the previous run's
duration (the job reports no finer steps), capped below 100 % until it has stored its run. Nothing here imports
Streamlit: the page (``ui/forecast_refresh.py``) polls :func:`current`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select

from store import schema as s

log = logging.getLogger(__name__)
DEFAULT_SECONDS = 60.0  # expected duration when no run has been timed yet


@dataclass
class Refresh:
    """One refresh: who started it, when, how long it should take and how it ended."""

    url: str
    user: str
    expected_s: float
    started_at: datetime = field(default_factory=datetime.now)
    t0: float = field(default_factory=time.monotonic)
    finished_s: float | None = None
    run_id: int | None = None
    series: int = 0
    error: str | None = None
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.finished_s is None

    @property
    def elapsed_s(self) -> float:
        return self.finished_s if self.finished_s is not None else time.monotonic() - self.t0

    @property
    def fraction(self) -> float:
        """0–1 for a progress bar: elapsed against expected, at most 0.95 until done."""
        if not self.running:
            return 1.0
        return min(0.95, self.elapsed_s / max(self.expected_s, 1.0))

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the refresh ends (tests); True when it has."""
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.running


_lock = threading.Lock()
_jobs: dict[str, Refresh] = {}


def expected_seconds(engine: Engine) -> float:
    """The previous forecast run's duration (stored in its ``data_load`` row), else ``DEFAULT_SECONDS``."""
    d = s.data_load
    with engine.connect() as conn:
        source = conn.execute(
            select(d.c.source).where(d.c.kind == "forecast").order_by(d.c.load_id.desc()).limit(1)
        ).scalar()
    try:
        return float(json.loads(source)["seconds"]) if source else DEFAULT_SECONDS
    except (TypeError, ValueError, KeyError):
        return DEFAULT_SECONDS


def current(url: str) -> Refresh | None:
    """The running or last refresh of this database in this process."""
    with _lock:
        return _jobs.get(url)


def _default_runner(engine: Engine) -> tuple[int, int]:
    from jobs import forecast as forecast_job

    result = forecast_job.run(engine, jobs=min(2, os.cpu_count() or 1))
    assert result.run_id is not None
    return result.run_id, len(result.series)


def start(url: str, user: str, runner: Callable[[Engine], tuple[int, int]] | None = None) -> Refresh:
    """Start a refresh of ``url``'s forecasts in a background thread, or return the one already running.

    ``runner(engine) -> (run_id, series)`` does the work (default: ``forecast_job.run``). It writes through an
    engine of its own: the app's shared engine is read-only on PostgreSQL.
    """
    from store.db import make_engine

    with _lock:
        job = _jobs.get(url)
        if job is not None and job.running:
            return job
        engine = make_engine(url)
        job = Refresh(url, user, expected_seconds(engine))
        job.thread = threading.Thread(
            target=_work, args=(job, engine, runner or _default_runner), name="forecast-refresh", daemon=True
        )
        _jobs[url] = job
    job.thread.start()
    return job


def _work(job: Refresh, engine: Engine, runner: Callable[[Engine], tuple[int, int]]) -> None:
    try:
        job.run_id, job.series = runner(engine)
        log.info("forecast run %s stored from the Data page by %s", job.run_id, job.user)
    except Exception as exc:  # reported on the page; the previous run stays in place
        log.exception("forecast refresh from the Data page failed")
        job.error = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        engine.dispose()
        job.finished_s = time.monotonic() - job.t0
