"""``bureau forecast``: forecast the unemployment series, backtest them, reconcile districts, store one run.

For each series (registered unemployed, registered unemployment rate, urban new employment; the city and each
district) the job computes a 12-month forecast with 80 % / 95 % intervals (``forecasting.forecast``), a
rolling-origin backtest over the last three years against seasonal naive (``forecasting.backtest``,
summarised by horizon band) and, for the two count series, makes the districts add up to the city with the
reconciliation the backtest favours (``forecasting.choose_reconciliation``; the city is never made worse than
its own model). The reconciliation is chosen on the backtest's own forecasts of the last two years, so it
fits no model of its own (refitting every area at two origins used to cost a third of the run). Everything
is written in one transaction: a failure leaves the previous run as it was.

The model fits run in worker processes started with one BLAS thread each: with the default two OpenBLAS
threads per process on a busy two-core machine a single fit took ten times longer (threads spinning).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from figures.forecasts import SHOCK_2020, bounds_for, events
from store import schema as s

log = logging.getLogger(__name__)

HORIZON = 12
BACKTEST_ORIGINS = 3  # the last three years, one origin a year
RECONCILE_ORIGINS = 2
OUR_MODEL, BASELINE = "auto", "snaive"
BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
METHOD_SHORT = {"bottom_up": "bu", "mint_shrink": "mint", "top_down": "td"}
# The flow into the registered-unemployed stock: its new registrations give the stock-flow candidate (#21).
INFLOW = "unemployment_registrations"
SERIES_SHORT = {"registered_unemployed": "ru", "urban_new_employment": "une"}


@dataclass
class SeriesResult:
    """One series' forecast (reconciled for counts when the run covers the city and its districts)."""

    indicator: str
    area: str
    district: str
    forecast: pd.DataFrame
    accuracy: pd.DataFrame  # model, horizon_band, mae, mase, smape, coverage_80, coverage_95
    model: str


@dataclass
class RunResult:
    """What a run computed (and, once stored, its id)."""

    series: list[SeriesResult]
    reconciliation: dict[str, dict[str, Any]]
    cut_off: date
    seconds: float = 0.0
    run_id: int | None = None
    notes: list[str] = field(default_factory=list)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``bureau forecast``."""
    from queries.forecasts import SERIES

    parser.add_argument(
        "--indicator",
        nargs="+",
        choices=SERIES,
        default=list(SERIES),
        metavar="CODE",
        help=f"series to forecast (default: all of {', '.join(SERIES)})",
    )
    parser.add_argument("--areas", choices=["city", "districts", "all"], default="all")
    parser.add_argument("--horizon", type=int, default=HORIZON, help="months ahead (default 12)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes for the model fits (default: 2 or the number of cores if fewer)",
    )


# --- computation (worker processes) -------------------------------------------------------------------------


def band_accuracy(bt: pd.DataFrame) -> pd.DataFrame:
    """Backtest rows → one row per model and horizon band: MAE, MASE, sMAPE, 80 / 95 % coverage.

    Months inside the shock and months without an actual value are left out (as ``accuracy_summary`` does).
    """
    cols = ["model", "horizon_band", "mae", "mase", "smape", "coverage_80", "coverage_95"]
    if bt.empty:
        return pd.DataFrame(columns=cols)
    ok = bt[np.isfinite(bt["actual"].astype(float)) & ~bt["event"].astype(bool)]
    g = ok.groupby(["model", "band"])
    out = pd.DataFrame(
        {
            "mae": g["abs_error"].mean(),
            "mase": g["scaled_error"].mean(),
            "smape": g["smape_term"].mean(),
            "coverage_80": g["in_80"].apply(lambda x: float(np.mean(x.astype(float)))),
            "coverage_95": g["in_95"].apply(lambda x: float(np.mean(x.astype(float)))),
        }
    ).reset_index()
    return out.rename(columns={"band": "horizon_band"})[cols]


def _backtest_model(candidates: Sequence[str] | None) -> str:
    """What the backtest runs as "our model": the full procedure, or the one model it was restricted to."""
    if candidates is None:
        return OUR_MODEL
    if len(candidates) == 1:
        return candidates[0]
    raise ValueError("candidates: None (the full selection) or a single model, so the backtest mirrors it")


def _series_task(
    key: tuple[str, str],
    y: pd.Series,
    horizon: int,
    candidates: Sequence[str] | None,
    inflow: pd.Series | None = None,
) -> tuple[tuple[str, str], pd.DataFrame, pd.DataFrame, dict[pd.Period, pd.DataFrame]]:
    """Forecast and backtest one series (runs in a worker).

    Also returns our model's backtest forecasts by origin month: the reconciliation is chosen on the same
    windows and reuses them instead of fitting every area again. ``inflow``: the stock's inflow (registered
    unemployed: new registrations), which adds the stock-flow candidate.
    """
    import forecasting

    kw: dict[str, Any] = {"candidates": tuple(candidates)} if candidates else {}
    if inflow is not None:
        kw["inflow"] = inflow
    ev, bounds = events(), bounds_for(key[0])
    ours = _backtest_model(candidates)
    models = tuple(dict.fromkeys((ours, BASELINE)))  # once only when "our model" is seasonal naive itself
    kept: dict[tuple[str, pd.Period], pd.DataFrame] = {}
    with forecasting.reuse_fits():  # the backtest's windows are nested in the forecast's: fit each once
        fc = forecasting.forecast(y, horizon, levels=(80, 95), events=ev, bounds=bounds, **kw)
        bt = forecasting.backtest(
            y,
            HORIZON,
            BACKTEST_ORIGINS,
            levels=(80, 95),
            events=ev,
            bounds=bounds,
            models=models,
            step=12,
            keep=kept,
            inflow=inflow,
        )
    acc = band_accuracy(bt)
    acc = pd.concat([acc[acc["model"] == ours].assign(model=OUR_MODEL), acc[acc["model"] == BASELINE]])
    windows = {origin: frame for (model, origin), frame in kept.items() if model == ours}
    return key, fc, acc.reset_index(drop=True), windows


def _reconcile(
    indicator: str,
    history: dict[str, pd.Series],
    base: dict[str, pd.DataFrame],
    windows: dict[str, dict[pd.Period, pd.DataFrame]],
    city: str,
    horizon: int,
    candidates: Sequence[str] | None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Choose and apply the reconciliation of one count series.

    The choice is made on the backtest's own forecasts (``windows``); only a window the backtest did not
    cover (a ``--horizon`` other than 12, or an area whose data end earlier) is fitted here.
    """
    import forecasting

    kw: dict[str, Any] = {"candidates": tuple(candidates)} if candidates else {}
    return forecasting.choose_reconciliation(
        history,
        horizon,
        total=city,
        origins=RECONCILE_ORIGINS,
        base=base,
        n_jobs=1,
        backtests=windows,
        levels=(80, 95),
        events=events(),
        bounds=bounds_for(indicator),
        **kw,
    )


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Environment for spawned workers: one BLAS/OpenMP thread each (restored afterwards)."""
    saved = {k: os.environ.get(k) for k in BLAS_ENV}
    os.environ.update({k: "1" for k in BLAS_ENV})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _import_models() -> None:
    """A worker's first task: import the forecasting libraries (about 2 s of CPU each)."""
    import forecasting  # noqa: F401


def start_workers(jobs: int = 2) -> ProcessPoolExecutor:
    """The worker processes of :func:`compute`, started now with their libraries imported, so a caller that
    has other work first (the demo build writing the city on one core) overlaps their start-up with it.
    The caller shuts the pool down."""
    ctx = multiprocessing.get_context("spawn")
    with _one_blas_thread():  # the workers' environment is fixed when they spawn, at the submits below
        pool = ProcessPoolExecutor(max(1, jobs), mp_context=ctx)
        for _ in range(max(1, jobs)):
            pool.submit(_import_models)
    return pool


def compute(
    wide: pd.DataFrame,
    levels: dict[str, str],
    horizon: int = HORIZON,
    jobs: int = 2,
    candidates: Sequence[str] | None = None,
    reconcile: bool = True,
    inflows: dict[str, pd.Series] | None = None,
    pool: Executor | None = None,
) -> tuple[dict[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]], dict[str, Any]]:
    """Forecast, backtest and (for counts) reconcile every column of ``wide``.

    ``wide``: ``queries.forecasts.to_wide`` output (columns ``(indicator, area)``); ``levels``: area → "city"
    or "district". Returns ``{(indicator, area): (forecast, band accuracy)}`` and the reconciliation reports.
    With ``reconcile``, the count series are reconciled when the city and at least two districts are
    present; the caller must pass every district then (the city is their sum). ``inflows``: area → the
    registered unemployed's monthly inflow (new registrations), for the stock-flow candidate. ``pool``: workers
    from :func:`start_workers` (left running), instead of ``jobs`` new ones.
    """
    from queries.forecasts import COUNT_SERIES, REGISTERED

    city = next((a for a, lv in levels.items() if lv == "city"), "")
    series = {key: wide[key].dropna() for key in wide.columns if wide[key].notna().any()}
    order = sorted(series, key=lambda k: (k[0] not in COUNT_SERIES, k))
    results: dict[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]] = {}
    reports: dict[str, Any] = {}
    members = {ind: [k[1] for k in order if k[0] == ind] for ind in COUNT_SERIES}
    to_reconcile = {
        ind: areas for ind, areas in members.items() if reconcile and city in areas and len(areas) >= 3
    }
    windows: dict[tuple[str, str], dict[pd.Period, pd.DataFrame]] = {}
    ctx = multiprocessing.get_context("spawn")
    with (
        _one_blas_thread(),
        nullcontext(pool) if pool else ProcessPoolExecutor(max(1, jobs), mp_context=ctx) as pool,
    ):
        flows = inflows or {}
        futures = [
            pool.submit(
                _series_task,
                k,
                series[k],
                horizon,
                candidates,
                flows.get(k[1]) if k[0] == REGISTERED else None,
            )
            for k in order
        ]
        for fut in futures:
            done_key, fc, acc, kept = fut.result()
            results[done_key] = (fc, acc)
            windows[done_key] = kept
    for ind, areas in to_reconcile.items():  # no model fits left here: the backtest windows are reused
        hist = {a: series[(ind, a)] for a in areas}
        base = {a: results[(ind, a)][0] for a in areas}
        kept_by_area = {a: windows[(ind, a)] for a in areas}
        frames, report = _reconcile(ind, hist, base, kept_by_area, city, horizon, candidates)
        reports[ind] = report
        for area, frame in frames.items():
            results[(ind, area)] = (frame, results[(ind, area)][1])
    return results, reports


# --- storing (one transaction) ------------------------------------------------------------------------------


def model_version(reports: dict[str, Any]) -> str:
    """``forecasting.VERSION`` plus the reconciliation kept per count series, e.g.
    ``forecasting-1.0.0; reconciled ru=mint, une=bu`` (ru = registered unemployed, une = new employment;
    bu / mint / td = bottom-up / MinT-shrink / top-down). Fits the 64-character column."""
    from forecasting import VERSION

    parts = [
        f"{SERIES_SHORT.get(code, code)}={METHOD_SHORT.get(r['method'], r['method'])}"
        for code, r in sorted(reports.items())
    ]
    return (VERSION + ("; reconciled " + ", ".join(parts) if parts else "; not reconciled"))[:64]


def _value_rows(run_id: int, results: list[SeriesResult]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        idx = pd.PeriodIndex(r.forecast.index, freq="M")
        for p, row in zip(idx, r.forecast.itertuples(index=False), strict=True):
            rows.append(
                {
                    "run_id": run_id,
                    "area_code": r.area,
                    "indicator_code": r.indicator,
                    "year": p.year,
                    "month": p.month,
                    "district_code": r.district,
                    "mean": float(row.mean),
                    "lo_80": float(row.lo_80),
                    "hi_80": float(row.hi_80),
                    "lo_95": float(row.lo_95),
                    "hi_95": float(row.hi_95),
                    "model": r.model[:64],
                }
            )
    return rows


def _accuracy_rows(run_id: int, results: list[SeriesResult]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        for a in r.accuracy.itertuples(index=False):
            rows.append(
                {
                    "run_id": run_id,
                    "area_code": r.area,
                    "indicator_code": r.indicator,
                    "model": str(a.model),
                    "horizon_band": str(a.horizon_band),
                    "district_code": r.district,
                    **{
                        k: float(getattr(a, k))
                        for k in ("mae", "mase", "smape", "coverage_80", "coverage_95")
                    },
                }
            )
    return rows


def store(engine: Engine, result: RunResult, started: datetime) -> int:
    """Write the run, its values, its accuracy record and a ``data_load`` row in one transaction."""
    from queries.forecasts import run_label

    with engine.begin() as conn:
        synthetic = conn.execute(
            select(s.data_load.c.synthetic)
            .where(s.data_load.c.kind.in_(["demo", "import"]))
            .order_by(s.data_load.c.load_id.desc())
            .limit(1)
        ).scalar()
        key = conn.execute(
            insert(s.forecast_run).values(
                created_at=datetime.now(),
                cut_off=result.cut_off,
                model_version=model_version(result.reconciliation),
            )
        ).inserted_primary_key
        assert key is not None
        run_id = int(key[0])
        values = _value_rows(run_id, result.series)
        conn.execute(insert(s.forecast_value), values)
        accuracy = _accuracy_rows(run_id, result.series)
        if accuracy:
            conn.execute(insert(s.forecast_accuracy), accuracy)
        source = {
            "reconciliation": {
                k: {"method": v["method"], "reason": v["reason"]} for k, v in result.reconciliation.items()
            },
            "models": {f"{r.indicator}/{r.area}": r.model for r in result.series},
            "events": [list(SHOCK_2020)],
            "seconds": round(result.seconds, 1),
            "notes": result.notes,
        }
        conn.execute(
            insert(s.data_load).values(
                kind="forecast",
                started_at=started,
                finished_at=datetime.now(),
                rows=len(values) + len(accuracy),
                cut_off=result.cut_off,
                synthetic=bool(synthetic),
                note=run_label(run_id),
                loaded_by=(os.environ.get("USER") or "bureau forecast")[:64],
                source=json.dumps(source, ensure_ascii=False),
            )
        )
    return run_id


# --- the job ------------------------------------------------------------------------------------------------


def _areas_for(history: pd.DataFrame, areas: str, district_codes: Sequence[str] | None) -> dict[str, str]:
    levels = dict(zip(history["area_code"], history["level"], strict=False))
    keep = {"city": ("city",), "districts": ("district",), "all": ("city", "district")}[areas]
    chosen = {a: lv for a, lv in levels.items() if lv in keep}
    if district_codes is not None:
        chosen = {a: lv for a, lv in chosen.items() if lv == "city" or a in set(district_codes)}
    return chosen


def run(
    engine: Engine,
    indicators: Sequence[str] | None = None,
    areas: str = "all",
    horizon: int = HORIZON,
    jobs: int = 2,
    district_codes: Sequence[str] | None = None,
    candidates: Sequence[str] | None = None,
    pool: Executor | None = None,
) -> RunResult:
    """Compute and store one forecast run; returns what was stored (``run_id`` set).

    ``district_codes`` narrows the districts (tests, a quick look); ``candidates`` restricts the models to a
    single one (tests); ``pool``: workers already started (:func:`start_workers`). Raises ``ValueError`` when
    there is no series to forecast.
    """
    from queries.forecasts import COUNT_SERIES, REGISTERED, SERIES, series_history, to_wide

    started, t0 = datetime.now(), time.perf_counter()
    if horizon < 1:
        raise ValueError("horizon must be at least 1 month")
    wanted = tuple(indicators or SERIES)
    history = series_history(engine, wanted + ((INFLOW,) if REGISTERED in wanted else ()))
    levels = _areas_for(history, areas, district_codes)
    history = history[history["area_code"].isin(levels)]
    flows = history[history["indicator_code"] == INFLOW]
    history = history[history["indicator_code"] != INFLOW]
    if history.empty:
        raise ValueError("no monthly series to forecast: run `bureau demo` or import data first")
    wide = to_wide(history)
    flow_wide = to_wide(flows)
    inflows = {area: flow_wide[(ind, area)].dropna() for ind, area in flow_wide.columns}
    districts = dict(zip(history["area_code"], history["district_code"], strict=False))
    whole = areas == "all" and district_codes is None  # the city is the sum of all its districts only
    raw, reports = compute(
        wide, levels, horizon, jobs, candidates, reconcile=whole, inflows=inflows, pool=pool
    )
    series = []
    for (ind, area), (fc, acc) in sorted(raw.items()):
        base = str(fc.attrs.get("model", ""))
        method = reports.get(ind, {}).get("method")
        model = f"{base}+{method}" if method else base
        series.append(SeriesResult(ind, area, districts[area], fc, acc, model))
    notes = []
    if not whole and any(i in COUNT_SERIES for i in (indicators or SERIES)):
        notes.append("not reconciled: the run did not cover the city and its districts together")
    last = wide.index.max()
    result = RunResult(series, reports, last.end_time.date(), notes=notes)
    result.seconds = time.perf_counter() - t0
    result.run_id = store(engine, result, started)
    return result


def run_cli(args: argparse.Namespace, engine: Engine) -> int:
    """``bureau forecast``: 0 when a run was stored, 1 when it failed (nothing changed), 2 without data."""
    try:
        result = run(engine, args.indicator, args.areas, args.horizon, args.jobs)
    except ValueError as exc:
        print(f"bureau forecast: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError:
        raise  # the CLI reports database errors itself
    except Exception as exc:  # a model or worker failure: say so; the transaction was never opened
        print(
            f"bureau forecast: failed ({type(exc).__name__}: {exc}); the previous run is unchanged",
            file=sys.stderr,
        )
        return 1
    n_values = sum(len(r.forecast) for r in result.series)
    print(
        f"forecast run {result.run_id} stored: {len(result.series)} series, {n_values} forecast months, "
        f"data cut-off {result.cut_off}, {result.seconds:.1f} s"
    )
    for code, report in sorted(result.reconciliation.items()):
        print(f"  {code}: {report['method']} ({report['reason']})")
    for note in result.notes:
        print(f"  {note}")
    return 0


def refresh_after_load(engine: Engine) -> None:
    """Recompute the forecasts after a data load (called by the importer).

    A failure is logged and swallowed: the load itself has succeeded and the previous forecast run stays in
    place, so the pages keep showing it until ``bureau forecast`` is run again.
    """
    try:
        result = run(engine, jobs=min(2, os.cpu_count() or 1))
    except Exception:
        log.exception("forecasts were not refreshed after the load; the previous run is unchanged")
        return
    log.info("forecast run %s stored after the load (%.1f s)", result.run_id, result.seconds)
