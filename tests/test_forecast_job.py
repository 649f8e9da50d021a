"""``bureau forecast`` on the tiny demo city, SQLite and PostgreSQL: what is stored is what was computed,
districts add up to the city, bounds hold, the accuracy record matches a hand-computed seasonal naive, and a
failing run leaves the previous one intact.

The runs use seasonal naive only (``candidates=("snaive",)``): its forecasts and backtest errors can be
computed independently in pandas, and it is fast. One test runs the full model selection on one series.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

import forecasting
from jobs import demo
from jobs import forecast as job
from jobs.cli import build_parser
from queries import forecasts as fq
from store import schema as s
from store.db import make_engine
from tests.conftest import UNTIL

CITY = "420100"
BANDS = {"1-3": range(1, 4), "4-6": range(4, 7), "7-12": range(7, 13)}


def copy_sqlite(url: str, dest: Path) -> str:
    """A consistent copy of a SQLite database (WAL included) through SQLite's backup API."""
    src = sqlite3.connect(url.removeprefix("sqlite:///"))
    dst = sqlite3.connect(dest)
    src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{dest}"


@pytest.fixture(scope="module")
def sqlite_run(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, job.RunResult]:
    url = copy_sqlite(demo_url, tmp_path_factory.mktemp("fcjob") / "demo.sqlite")
    return url, job.run(make_engine(url), candidates=("snaive",), jobs=2)


@pytest.fixture(scope="module")
def pg_run(pg_server: str) -> tuple[str, job.RunResult]:
    import uuid

    from sqlalchemy import create_engine, text

    name = f"fc_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE " + name))  # generated name, not user input
    admin.dispose()
    url = pg_server.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    demo.build(engine, scale="tiny", until=UNTIL)
    return url, job.run(engine, candidates=("snaive",), jobs=2)


@pytest.fixture(params=["sqlite", "postgresql"])
def stored(request: pytest.FixtureRequest) -> tuple[str, job.RunResult]:
    return request.getfixturevalue("sqlite_run" if request.param == "sqlite" else "pg_run")


def history(url: str, indicator: str, area: str) -> pd.Series:
    """The monthly series straight from agg_monthly, independently of queries.forecasts."""
    engine = make_engine(url)
    a = s.agg_monthly
    stmt = select(a.c.year, a.c.month, a.c.value).where(
        a.c.group_code == "all", a.c.indicator_code == indicator, a.c.area_code == area
    )
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(stmt).all(), columns=["year", "month", "value"])
    engine.dispose()
    idx = pd.PeriodIndex.from_fields(year=rows["year"], month=rows["month"], freq="M")
    return pd.Series(rows["value"].astype(float).to_numpy(), index=idx).sort_index()


def test_stored_forecasts_round_trip(stored: tuple[str, job.RunResult]) -> None:
    url, result = stored
    engine = make_engine(url)
    assert len(result.series) == 3 * 14
    for indicator in fq.SERIES:
        back = fq.run_values(engine, result.run_id, indicator)
        for r in (x for x in result.series if x.indicator == indicator):
            got = back[back["area_code"] == r.area].reset_index(drop=True)
            want = r.forecast.reset_index(drop=True)
            assert len(got) == 12
            for col in ("mean", "lo_80", "hi_80", "lo_95", "hi_95"):
                np.testing.assert_allclose(got[col].astype(float), want[col], rtol=1e-9, atol=1e-9)
            months = pd.PeriodIndex(r.forecast.index, freq="M")
            assert list(got["year"]) == list(months.year) and list(got["month"]) == list(months.month)
    with engine.connect() as conn:
        run = conn.execute(select(s.forecast_run).where(s.forecast_run.c.run_id == result.run_id)).one()
        load = conn.execute(
            select(s.data_load).where(s.data_load.c.note == fq.run_label(result.run_id))
        ).one()
    assert run.model_version.startswith(forecasting.VERSION) and "reconciled ru=" in run.model_version
    assert str(run.cut_off)[:10] == "2026-10-31"
    assert load.kind == "forecast" and load.rows == 3 * 14 * 12 + len(
        fq.run_accuracy(engine, result.run_id, fq.RATE)
    ) + len(fq.run_accuracy(engine, result.run_id, fq.REGISTERED)) + len(
        fq.run_accuracy(engine, result.run_id, fq.NEW_EMPLOYMENT)
    )
    engine.dispose()


def test_the_rate_forecast_is_last_years_same_month(stored: tuple[str, job.RunResult]) -> None:
    """Seasonal naive, hand-computed: November 2026 → November 2025, and so on (rates are not reconciled)."""
    url, result = stored
    engine = make_engine(url)
    y = history(url, fq.RATE, "420105")
    back = fq.run_values(engine, result.run_id, fq.RATE)
    got = back[back["area_code"] == "420105"]
    expected = [
        y[pd.Period(year=int(yy), month=int(mm), freq="M") - 12]
        for yy, mm in zip(got.year, got.month, strict=True)
    ]
    np.testing.assert_allclose(got["mean"].astype(float), expected, rtol=1e-12)
    engine.dispose()


def test_districts_add_up_to_the_city(stored: tuple[str, job.RunResult]) -> None:
    url, result = stored
    engine = make_engine(url)
    for indicator in fq.COUNT_SERIES:
        back = fq.run_values(engine, result.run_id, indicator)
        city = back[back["area_code"] == CITY].set_index(["year", "month"])["mean"].astype(float)
        districts = back[back["area_code"] != CITY].groupby(["year", "month"])["mean"].sum()
        assert back["area_code"].nunique() == 14
        np.testing.assert_allclose(districts.loc[city.index], city, rtol=1e-6)
        report = result.reconciliation[indicator]
        assert report["method"] in ("bottom_up", "mint_shrink", "top_down")
        assert report["reused_windows"] == 2 * 14  # chosen on the backtest's own forecasts: no refits
    engine.dispose()


def test_bounds_hold(stored: tuple[str, job.RunResult]) -> None:
    url, result = stored
    engine = make_engine(url)
    for indicator in fq.SERIES:
        back = fq.run_values(engine, result.run_id, indicator)
        assert (back["lo_95"] >= 0).all()
        assert (back["lo_95"] <= back["lo_80"] + 1e-9).all() and (back["hi_80"] <= back["hi_95"] + 1e-9).all()
        if indicator == fq.RATE:
            assert (back["hi_95"] <= 100).all()
    engine.dispose()


def test_accuracy_record_matches_a_hand_computed_seasonal_naive(stored: tuple[str, job.RunResult]) -> None:
    """Origins: the last three Octobers with a full year after them; a guess for month t is the value at t-12."""
    url, result = stored
    engine = make_engine(url)
    acc = fq.run_accuracy(engine, result.run_id, fq.REGISTERED)
    assert set(zip(acc["model"], acc["horizon_band"], strict=True)) >= {
        (m, b) for m in ("auto", "snaive") for b in BANDS
    }
    assert acc.groupby("area_code").size().eq(6).all() and acc["area_code"].nunique() == 14
    y = history(url, fq.REGISTERED, CITY)
    last = y.index.max()
    origins = [last - 12 * k for k in (1, 2, 3)]
    mine = acc[(acc["area_code"] == CITY) & (acc["model"] == "snaive")].set_index("horizon_band")
    for band, hs in BANDS.items():
        errors = [abs(y[o + h] - y[o + h - 12]) for o in origins for h in hs]
        assert mine.loc[band, "mae"] == pytest.approx(np.mean(errors), rel=1e-9)
    ours = acc[(acc["area_code"] == CITY) & (acc["model"] == "auto")].set_index("horizon_band")
    np.testing.assert_allclose(ours["mae"], mine.loc[ours.index, "mae"], rtol=1e-9)  # "auto" = snaive here
    assert acc[["coverage_80", "coverage_95"]].stack().between(0, 1).all()
    engine.dispose()


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        out = {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (s.forecast_run, s.forecast_value, s.forecast_accuracy, s.data_load)
        }
    engine.dispose()
    return out


def test_a_failing_store_leaves_the_previous_run_intact(
    sqlite_run: tuple[str, job.RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, result = sqlite_run
    before = counts(url)
    engine = make_engine(url)
    values_before = fq.run_values(engine, result.run_id, fq.REGISTERED)

    def boom(*args: object, **kwargs: object) -> list:
        raise RuntimeError("disk full halfway through the run")

    # The run row and the forecast values are already inserted when the accuracy rows fail.
    monkeypatch.setattr(job, "_accuracy_rows", boom)
    monkeypatch.setattr(job, "compute", lambda *a, **k: _cheap_compute(result))
    with pytest.raises(RuntimeError):
        job.run(engine, candidates=("snaive",))
    assert counts(url) == before
    assert fq.newest_run(engine, fq.REGISTERED, CITY)["run_id"] == result.run_id
    pd.testing.assert_frame_equal(fq.run_values(engine, result.run_id, fq.REGISTERED), values_before)
    engine.dispose()


def _cheap_compute(result: job.RunResult) -> tuple[dict, dict]:
    """The first run's results again, in ``compute``'s shape (so the failure test fits no models)."""
    return {(r.indicator, r.area): (r.forecast, r.accuracy) for r in result.series}, result.reconciliation


def test_a_failing_computation_exits_1_and_changes_nothing(
    sqlite_run: tuple[str, job.RunResult], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    url, _ = sqlite_run
    before = counts(url)

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a worker process died")

    monkeypatch.setattr(job, "compute", fail)
    args = build_parser().parse_args(["forecast", "--url", url, "--areas", "city", "--jobs", "1"])
    assert job.run_cli(args, make_engine(url)) == 1
    assert "previous run is unchanged" in capsys.readouterr().err
    assert counts(url) == before


def test_cli_options() -> None:
    args = build_parser().parse_args(
        [
            "forecast",
            "--indicator",
            fq.RATE,
            fq.REGISTERED,
            "--areas",
            "districts",
            "--horizon",
            "6",
            "--jobs",
            "1",
        ]
    )
    assert args.indicator == [fq.RATE, fq.REGISTERED] and args.areas == "districts"
    assert args.horizon == 6 and args.jobs == 1
    assert build_parser().parse_args(["forecast"]).indicator == list(fq.SERIES)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["forecast", "--indicator", "no_such_series"])


def test_full_model_selection_on_the_city_rate(sqlite_run: tuple[str, job.RunResult]) -> None:
    """The real path (every candidate, the full backtest) on one series; a subset run is not reconciled."""
    url, first = sqlite_run
    engine = make_engine(url)
    result = job.run(engine, indicators=[fq.RATE], areas="city", jobs=2)
    assert result.run_id is not None and result.run_id > first.run_id
    (r,) = result.series
    back = fq.run_values(engine, result.run_id, fq.RATE)
    np.testing.assert_allclose(back["mean"].astype(float), r.forecast["mean"], rtol=1e-9)
    assert back["model"].iloc[0] == r.forecast.attrs["model"]
    assert r.forecast.attrs["version"] == forecasting.VERSION
    assert any("shock" in e for e in r.forecast.attrs["events"])  # the 2020 shock reached the model
    acc = fq.run_accuracy(engine, result.run_id, fq.RATE)
    assert set(acc["horizon_band"]) == set(BANDS) and set(acc["model"]) == {"auto", "snaive"}
    assert fq.newest_run(engine, fq.RATE, CITY)["run_id"] == result.run_id
    # the districts' newest rate forecast is still the first (complete) run
    assert fq.newest_run(engine, fq.RATE, "420102")["run_id"] == first.run_id
    engine.dispose()
