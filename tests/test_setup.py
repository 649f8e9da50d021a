"""A leader's first minutes (issue #19, set-up): the demo build stores forecasts, no page shows a shell command, an
administrator refreshes the forecasts from the Data page and sees its progress and outcome."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from streamlit.testing.v1 import AppTest

from jobs import forecast_refresh
from jobs.cli import main
from store import schema as s
from store.db import make_engine
from tests.conftest import ROOT, UNTIL
from tests.test_pack import copy_db

SHELL = re.compile(r"\bbureau (demo|forecast|migrate|refresh|roads|import|template|pack|users)\b")


def _runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(s.forecast_run)).scalar_one())


def _open(monkeypatch: pytest.MonkeyPatch, url: str, page: str, role: str = "leader") -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_AUTH", "open")
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", role)
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "zh")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> list[str]:
    parts = [*at.info, *at.warning, *at.error, *at.success, *at.markdown, *at.caption]
    return [str(p.value) for p in parts]


def test_no_message_shows_a_shell_command() -> None:
    found = []
    for f in sorted((ROOT / "i18n" / "messages").glob("*.toml")):
        for key, entry in tomllib.loads(f.read_text("utf-8")).items():
            for lang in ("zh", "en"):
                if SHELL.search(str(entry.get(lang, ""))):
                    found.append(f"{f.name}:{key}:{lang}")
    assert found == []


@pytest.fixture(scope="module")
def demo_with_forecasts(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``bureau demo`` as ``make run`` calls it (tiny scale): the city and its forecasts."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo_fc') / 'demo.sqlite'}"
    assert main(["demo", "--scale", "tiny", "--until", str(UNTIL), "--url", url]) == 0
    return url


def test_the_demo_build_stores_forecasts(demo_with_forecasts: str) -> None:
    engine = make_engine(demo_with_forecasts)
    assert _runs(engine) == 1
    with engine.connect() as conn:
        values = conn.execute(select(func.count()).select_from(s.forecast_value)).scalar_one()
        accuracy = conn.execute(select(func.count()).select_from(s.forecast_accuracy)).scalar_one()
        cut_off = conn.execute(select(s.forecast_run.c.cut_off)).scalar_one()
    assert values >= 3 * 14 * 12  # three series, the city and 13 districts, 12 months ahead
    assert accuracy > 0
    assert str(cut_off) == "2026-10-31"  # the demo's data cut-off


def test_forecasts_and_overview_show_the_forecast_and_no_command(
    monkeypatch: pytest.MonkeyPatch, demo_with_forecasts: str
) -> None:
    at = _open(monkeypatch, demo_with_forecasts, "forecasts")
    assert at.metric, "the Forecasts page shows figures out of the box"
    assert not [x for x in _texts(at) if "bureau " in x]
    at = _open(monkeypatch, demo_with_forecasts, "overview")
    texts = _texts(at)
    assert not [x for x in texts if "bureau " in x]
    assert not [x for x in texts if "预测尚未计算" in x]


def test_without_forecasts_the_leader_reads_plain_words(
    monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    at = _open(monkeypatch, demo_url, "forecasts")  # the shared tiny demo is built without forecasts
    texts = _texts(at)
    assert any("联系管理员" in x and "数据" in x for x in texts)
    assert not [x for x in texts if "bureau " in x]


def test_an_administrator_refreshes_the_forecasts_from_the_data_page(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, tmp_path: Path
) -> None:
    url = copy_db(demo_url, tmp_path / "demo.sqlite")
    engine = make_engine(url)
    assert _runs(engine) == 0
    at = _open(monkeypatch, url, "data", role="admin")
    button = at.button(key="data_forecast_refresh")
    assert not button.disabled
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = forecast_refresh.current(url)
    assert job is not None and job.user
    if job.running:  # the page shows the refresh under way and will not start a second one
        assert at.status and at.get("progress")
        assert forecast_refresh.start(url, "someone else") is job
    assert job.wait(300) and job.error is None, job.error
    assert _runs(engine) == 1 and job.run_id is not None
    at.run()
    assert any(f"第{job.run_id}次预测" in str(x.value) for x in at.success)
    assert not at.button(key="data_forecast_refresh").disabled


def test_a_planner_has_no_refresh_button(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    monkeypatch.setenv("EMPLOYMENT_OPEN_DISTRICT", "420102")
    at = _open(monkeypatch, demo_url, "data", role="leader")
    assert "data_forecast_refresh" not in [b.key for b in at.button]


def test_a_failed_refresh_is_reported_and_changes_nothing(demo_url: str, tmp_path: Path) -> None:
    url = copy_db(demo_url, tmp_path / "demo.sqlite")

    def broken(_engine: Engine) -> tuple[int, int]:
        raise RuntimeError("model failure")

    job = forecast_refresh.start(url, "admin", runner=broken)
    assert job.wait(30)
    assert job.error and "model failure" in job.error and job.fraction == 1.0
    assert _runs(make_engine(url)) == 0


def test_the_nightly_forecast_timer_and_its_service_are_valid_units(tmp_path: Path) -> None:
    """``deploy/systemd/employment-forecast.{service,timer}``: systemd accepts them (paths pointed at this
    checkout), the timer starts the service, and the service runs ``bureau forecast`` as the writer."""
    import shutil
    import subprocess

    service = (ROOT / "deploy/systemd/employment-forecast.service").read_text()
    timer = (ROOT / "deploy/systemd/employment-forecast.timer").read_text()
    assert "ExecStart=/opt/employment/.venv/bin/bureau forecast" in service
    assert "Type=oneshot" in service and "jobs.env" in service
    assert (
        "Unit=employment-forecast.service" in timer and "OnCalendar=" in timer and "Persistent=true" in timer
    )
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed")
    venv = Path(sys.executable).parent
    (tmp_path / "employment-forecast.service").write_text(
        service.replace("/opt/employment/.venv/bin", str(venv)).replace("/opt/employment", str(ROOT))
    )
    (tmp_path / "employment-forecast.timer").write_text(timer)
    out = subprocess.run(
        ["systemd-analyze", "verify", *(str(p) for p in sorted(tmp_path.iterdir()))],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr


def test_make_run_on_an_older_demo_database_computes_its_forecasts(demo_url: str, tmp_path: Path) -> None:
    """``bureau demo --if-missing`` (what ``make run`` calls) on a demo built before forecasts were part of it."""
    url = copy_db(demo_url, tmp_path / "demo.sqlite")
    engine = make_engine(url)
    assert _runs(engine) == 0
    assert main(["demo", "--if-missing", "--url", url]) == 0
    assert _runs(engine) == 1
    assert main(["demo", "--if-missing", "--url", url]) == 0  # nothing more to do
    assert _runs(engine) == 1
