"""``bureau demo``: build the synthetic demo city (Wuhan's 13 districts) into the configured database.

Deterministic for a given seed, scale and cut-off month. Written in one transaction: a failure leaves the
database as it was.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine, delete, insert

from jobs import demo_city, demo_funds, geo, refresh
from jobs import demo_records as rec
from store import partitions, schema
from store.card_weights import DEFAULT_WEIGHTS
from store.db import bulk_insert, row_count, upgrade
from store.indicators import INDICATORS

SCALES = {"tiny": 0.02, "small": 1.0, "large": 11.0}
# Chunks of streets the person-level records are generated and written in (bounds the memory used).
CHUNKS = {"tiny": 1, "small": 1, "large": 32}
FIRST_YEAR = 2019
SEED = 20190101


class DemoExists(RuntimeError):
    """The database already holds data; ``--force`` replaces it."""


@dataclass
class DemoResult:
    rows: dict[str, int]
    cut_off: date
    seconds: float
    forecast_run: int | None = None  # the forecast run stored with the demo (``forecasts=True``)
    forecast_seconds: float = 0.0


def last_full_month(today: date | None = None) -> pd.Period:
    """The latest month that has ended before ``today``."""
    return pd.Period(today or date.today(), freq="M") - 1


def build(
    engine: Engine,
    scale: str = "small",
    until: pd.Period | None = None,
    seed: int = SEED,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    forecasts: bool = False,
) -> DemoResult:
    """Create the schema if needed and fill it with the demo city; returns rows written per table.

    With ``forecasts`` (``bureau demo`` sets it) the forecasts and their accuracy record are computed and stored
    too, exactly as ``bureau forecast`` does, after the city is committed: the pages show forecasts out of the
    box. A forecast failure leaves the city in place and is raised.

    Tables are generated and written piece by piece (the person-level records in chunks of streets), so the
    large scale never holds more than one chunk of records in memory.
    """
    started = time.perf_counter()
    workers = None
    if forecasts:  # the forecast workers start (and import their libraries) on the core the build leaves idle
        from jobs import forecast as forecast_job

        workers = forecast_job.start_workers(min(2, os.cpu_count() or 1))
    try:
        return _build(engine, scale, until, seed, force, progress, workers, started)
    finally:
        if workers is not None:
            workers.shutdown(cancel_futures=True)


def _build(
    engine: Engine,
    scale: str,
    until: pd.Period | None,
    seed: int,
    force: bool,
    progress: Callable[[str], None] | None,
    workers: Executor | None,
    started: float,
) -> DemoResult:
    upgrade(engine)
    until = until or last_full_month()
    with engine.connect() as conn:
        if row_count(conn, schema.area) and not force:
            raise DemoExists("the database already holds data; use --force to replace it with the demo city")
    say = progress or (lambda _message: None)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")  # one transaction; the file is rebuilt on failure
            conn.exec_driver_sql("PRAGMA cache_size=-1000000")  # 1 GB of page cache: fewer spills to the WAL
            conn.exec_driver_sql("PRAGMA temp_store=MEMORY")  # index builds sort in memory
            conn.exec_driver_sql("PRAGMA threads=2")  # and with a helper thread (large sorts only)
        else:
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        for table in reversed(schema.metadata.sorted_tables):
            conn.execute(delete(table))
        partitions.ensure_months(conn, date(FIRST_YEAR - 1, 1, 1), until.end_time.date())  # PostgreSQL only
        rows: dict[str, int] = {}
        indexes = [ix for table in schema.metadata.sorted_tables for ix in table.indexes]
        for ix in indexes:  # loading first and indexing afterwards is several times faster
            ix.drop(conn)
        for name, frame in tables(scale, until, seed, say):
            rows[name] = rows.get(name, 0) + _write(conn, schema.metadata.tables[name], frame)
        say("indexes")
        for ix in indexes:
            ix.create(conn)
        cut_off = until.end_time.date()
        conn.execute(
            insert(schema.data_load).values(
                kind="demo",
                started_at=datetime.now(),
                finished_at=datetime.now(),
                rows=sum(rows.values()),
                cut_off=cut_off,
                synthetic=True,
                note=f"synthetic demo city, scale={scale}, seed={seed}",
            )
        )
        say("aggregates")
        refresh.refresh(conn)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "ANALYZE"
            )  # planner statistics: without them the first queries pick bad plans
    result = DemoResult(rows, cut_off, time.perf_counter() - started)
    if workers is not None:
        say("forecasts")
        from jobs import forecast as forecast_job

        t0 = time.perf_counter()
        result.forecast_run = forecast_job.run(engine, jobs=min(2, os.cpu_count() or 1), pool=workers).run_id
        result.forecast_seconds = time.perf_counter() - t0
        result.seconds = time.perf_counter() - started
    return result


def needs_forecasts(engine: Engine) -> bool:
    """A demo city (its newest load synthetic) with no forecast run: one built before the demo stored them."""
    from sqlalchemy import func, select

    d = schema.data_load
    with engine.connect() as conn:
        synthetic = conn.execute(
            select(d.c.synthetic)
            .where(d.c.kind.in_(["demo", "import"]))
            .order_by(d.c.load_id.desc())
            .limit(1)
        ).scalar()
        runs = conn.execute(select(func.count()).select_from(schema.forecast_run)).scalar_one()
    return bool(synthetic) and not runs


def _write(conn, table, frame: pd.DataFrame) -> int:  # type: ignore[no-untyped-def]
    cols = [c.name for c in table.columns if c.name in frame.columns]
    columns = []
    for c in cols:
        series = frame[c]
        if series.dtype == bool:
            series = series.astype(int)
        values = series.tolist()  # native Python types, which every driver accepts
        if series.hasnans:
            values = [None if v is None or v != v else v for v in values]
        columns.append(values)
    return bulk_insert(conn, table, cols, zip(*columns, strict=True))


def generate(scale: str, until: pd.Period, seed: int) -> dict[str, pd.DataFrame]:
    """Every table of the demo city as DataFrames (no database needed; for tests and small scales)."""
    parts: dict[str, list[pd.DataFrame]] = {}
    for name, frame in tables(scale, until, seed):
        parts.setdefault(name, []).append(frame)
    return {name: pd.concat(p, ignore_index=True) if len(p) > 1 else p[0] for name, p in parts.items()}


@dataclass
class City:
    """What every piece of the demo is drawn from: geography, months, district effects and the scale."""

    scale: str
    seed: int
    until: pd.Period
    factor: float
    rng: np.random.Generator
    months: rec.Months
    streets: rec.StreetFrame
    effect: pd.DataFrame
    base: dict[str, pd.DataFrame]


def city(scale: str, until: pd.Period, seed: int) -> City:
    """Geography, population grid, service points, indicators and area-years: everything but the records."""
    factor = SCALES[scale]
    rng = np.random.default_rng(seed)
    districts = geo.load_districts()
    grid = geo.population_grid(districts, rng)
    streets = geo.streets(districts, grid, rng)
    areas = demo_city.area_rows(districts, streets, grid, rng)
    months = rec.Months(pd.period_range(f"{FIRST_YEAR}-01", until, freq="M"))
    years = range(FIRST_YEAR, until.year + 1)
    street_rows = areas[areas["level"] == "street"]
    pop = grid.groupby("street_code")["population"].sum().reindex(street_rows["area_code"]).to_numpy()
    st = rec.StreetFrame(
        street_rows["area_code"].to_numpy(),
        street_rows["district_code"].to_numpy(),
        pop,
        (street_rows["zone"] == "central").to_numpy(),
    )
    effect = district_effects(rng, [d.code for d in districts], years)
    points, point_items = demo_city.station_facts(demo_city.service_points(areas, grid, rng), seed)
    base = {
        "area": areas,
        "population_cell": grid.assign(datum="GCJ-02"),
        "service_point": points.assign(datum="GCJ-02"),
        "service_point_item": point_items,
        "indicator": pd.DataFrame([dict(i._asdict(), sort_order=n) for n, i in enumerate(INDICATORS)]),
        "target_weight": pd.DataFrame([w._asdict() for w in DEFAULT_WEIGHTS]),
        "area_year": demo_city.area_years(areas, grid, years, rng, rec.LABOUR_FORCE_SHARE * factor, factor),
    }
    return City(scale, seed, until, factor, rng, months, st, effect, base)


def tables(
    scale: str, until: pd.Period, seed: int, progress: Callable[[str], None] | None = None
) -> Iterator[tuple[str, pd.DataFrame]]:
    """The demo city as (table name, rows) pieces in an order that respects foreign keys.

    A table may come in several pieces (the person-level records, one piece per chunk of streets).
    """
    say = progress or (lambda _message: None)
    c = city(scale, until, seed)
    yield from c.base.items()
    totals = demo_funds.Totals()
    chunks = CHUNKS[scale]
    for n, chunk in enumerate(record_chunks(c, chunks)):
        say(f"records {n + 1}/{chunks}")
        totals.add(chunk)
        yield from chunk.items()
    say("funds and targets")
    funds = demo_funds.city_funds(c.rng, c.streets, c.months, totals, c.base["area_year"], c.factor)
    yield from funds.items()
    actual = totals.actual()
    yield "target", demo_funds.targets(c.rng, actual, c.base, c.effect, c.months)
    yield "reported_monthly", demo_funds.reported(actual, c.months)
    from jobs import roads  # a synthetic road grid for the network-distance model (service circle)

    yield from roads.demo_network(scale, seed).items()


RECORD_IDS = {
    "person": ("person_id",),
    "employment_event": ("event_id", "person_id"),
    "unemployment_spell": ("spell_id", "person_id"),
    "training_record": ("training_id", "person_id"),
    "startup_loan": ("loan_id", "person_id"),
}


def record_chunks(c: City, chunks: int) -> Iterator[dict[str, pd.DataFrame]]:
    """Person-level records for ``chunks`` groups of streets, each from its own seeded generator.

    Identifiers continue across chunks, so the pieces concatenate into the same tables a single pass would give.
    Streets are grouped in code order (a district's streets stay together) into groups of similar population.
    """
    st = c.streets
    order = np.argsort(st.codes, kind="stable")
    share = np.cumsum(st.population[order]) / st.population.sum()
    group = np.minimum((share * chunks - 1e-9).astype(int), chunks - 1)
    last = dict.fromkeys(("person_id", "event_id", "spell_id", "training_id", "loan_id"), 0)
    for n in range(chunks):
        idx = order[group == n]
        if idx.size == 0:
            continue
        sub = rec.StreetFrame(st.codes[idx], st.district[idx], st.population[idx], st.central[idx])
        rng = np.random.default_rng([c.seed, n])
        recs = person_records(rng, sub, c.months, c.effect, c.factor, c.until)
        person_offset = last["person_id"]
        for name in ("person", "employment_event", "unemployment_spell", "training_record"):
            recs[name]["person_id"] += person_offset
        recs["startup_loan"] = demo_funds.startup_loans(
            rng, sub, c.months, recs["employment_event"], c.factor
        )
        for name, ids in RECORD_IDS.items():
            key = ids[0]
            if key != "person_id":
                recs[name][key] += last[key]
            last[key] = max(last[key], int(recs[name][key].max()) if len(recs[name]) else 0)
        yield recs


def district_effects(rng: np.random.Generator, codes: list[str], years: range) -> pd.DataFrame:
    """Each district's hiring performance per year: a persistent part and a yearly wobble (1.0 = as planned)."""
    persistent = rng.normal(0.0, 0.06, len(codes))
    yearly = rng.normal(0.0, 0.05, (len(codes), len(years)))
    return pd.DataFrame(1.0 + persistent[:, None] + yearly, index=codes, columns=list(years)).clip(0.75, 1.25)


def person_records(
    rng: np.random.Generator,
    st: rec.StreetFrame,
    months: rec.Months,
    effect: pd.DataFrame,
    factor: float,
    until: pd.Period,
) -> dict[str, pd.DataFrame]:
    """Persons, unemployment spells, employment events and training records."""
    cut_off = np.datetime64(until.end_time.date(), "D")
    burn_in = rec.Months(pd.period_range(f"{FIRST_YEAR - 1}-01", until, freq="M"))
    spells = rec.unemployment_spells(rng, st, burn_in, cut_off, factor)
    spells["person_id"] = np.arange(1, len(spells) + 1)
    first_day = np.datetime64(f"{FIRST_YEAR}-01-01")
    reemployed = spells[
        spells["ended_on"].notna() & (spells["ended_on"] >= first_day) & (rng.random(len(spells)) < 0.68)
    ]
    reemp = pd.DataFrame(
        {
            "person_id": reemployed["person_id"],
            "street": reemployed["street"],
            "event_date": reemployed["ended_on"].to_numpy().astype("datetime64[D]"),
            "kind": "urban_new",
            "group_code": np.where(reemployed["difficulty"], "difficulty", "registered_unemployed"),
        }
    )
    hires = rec.hiring_records(rng, st, months, effect, factor)
    hires = pd.concat([hires, december_spike(rng, hires, st, months)], ignore_index=True)
    hires["person_id"] = np.arange(len(spells) + 1, len(spells) + 1 + len(hires))
    hires["event_date"] = rec.random_days(rng, months.periods, hires["month_index"].to_numpy())
    events = pd.concat([reemp, hires.drop(columns="month_index")], ignore_index=True)
    events = events.sort_values(["event_date", "person_id"], kind="stable").reset_index(drop=True)
    events["event_id"] = np.arange(1, len(events) + 1)
    events["employment_type"] = rng.choice(
        ["enterprise", "self_employed", "flexible", "public_welfare"], len(events), p=[0.62, 0.12, 0.22, 0.04]
    )
    training = training_records(rng, st, months, factor, int(events["person_id"].max()))
    # Most trainees are registered unemployed people already on the books.
    reuse = rng.random(len(training)) < 0.6
    known = rec.pick_same_street(
        rng, spells["street"].to_numpy(), spells["person_id"].to_numpy(), training["street"].to_numpy()[reuse]
    )
    ids = training["person_id"].to_numpy().copy()
    ids[np.flatnonzero(reuse)[known > 0]] = known[known > 0]
    training["person_id"] = ids
    persons = person_table(rng, st, spells, hires, training)
    return {
        "person": persons,
        "unemployment_spell": _with_codes(st, spells.rename(columns={"person_id": "person_id"})).assign(
            spell_id=lambda f: np.arange(1, len(f) + 1),
            registered_on=lambda f: rec.iso(f["registered_on"].to_numpy().astype("datetime64[D]")),
            ended_on=lambda f: rec.iso(f["ended_on"].to_numpy().astype("datetime64[D]")),
            difficulty=lambda f: f["difficulty"].astype(int),
        ),
        "employment_event": _with_codes(st, events).assign(
            event_date=lambda f: rec.iso(f["event_date"].to_numpy())
        ),
        "training_record": _with_codes(st, training),
    }


def december_spike(
    rng: np.random.Generator, hires: pd.DataFrame, st: rec.StreetFrame, months: rec.Months
) -> pd.DataFrame:
    """A year-end push in Caidian in the last complete December: an outlier for the data checks to find."""
    decembers = np.flatnonzero(months.months == 12)
    if decembers.size == 0:
        return hires.iloc[0:0]
    m = decembers[-1]
    base = hires[
        (hires["month_index"] == m)
        & (st.district[hires["street"].to_numpy()] == "420114")
        & (hires["group_code"] == "other")
    ]
    return base.sample(frac=2.2, replace=True, random_state=int(rng.integers(1 << 30)))


def training_records(
    rng: np.random.Generator, st: rec.StreetFrame, months: rec.Months, factor: float, first_id: int
) -> pd.DataFrame:
    season = np.array([0.5, 0.4, 1.2, 1.3, 1.2, 1.1, 0.8, 0.8, 1.2, 1.3, 1.2, 1.0])[months.months - 1]
    season = np.where(months.years == 2020, season * rec.SHOCK_2020_HIRING[months.months - 1], season)
    s_idx, m_idx = rec.monthly_draws(rng, st, months, np.full(len(st.codes), 0.0055 * factor), season)
    return pd.DataFrame(
        {
            "training_id": np.arange(1, s_idx.size + 1),
            "person_id": np.arange(first_id + 1, first_id + 1 + s_idx.size),
            "street": s_idx,
            "completed_on": rec.iso(rec.random_days(rng, months.periods, m_idx)),
            "course": rng.choice(
                ["electrician", "elder_care", "e_commerce", "cook", "childcare", "welding", "it_skills"],
                s_idx.size,
            ),
            "subsidy_yuan": rng.choice([800.0, 1200.0, 1600.0, 2000.0], s_idx.size),
        }
    )


def person_table(
    rng: np.random.Generator,
    st: rec.StreetFrame,
    spells: pd.DataFrame,
    hires: pd.DataFrame,
    training: pd.DataFrame,
) -> pd.DataFrame:
    frame = pd.concat(
        [spells[["person_id", "street"]], hires[["person_id", "street"]], training[["person_id", "street"]]],
        ignore_index=True,
    ).drop_duplicates("person_id")
    n = len(frame)
    frame["birth_year"] = np.clip(rng.normal(1985, 11, n).astype(int), 1958, 2006)
    grads = np.isin(frame["person_id"].to_numpy(), hires.loc[hires["group_code"] == "graduate", "person_id"])
    frame.loc[grads, "birth_year"] = rng.integers(1997, 2005, grads.sum())
    frame["sex"] = rng.choice(["F", "M"], n)
    frame["education"] = rng.choice(
        ["junior", "senior", "vocational", "college", "bachelor", "master"],
        n,
        p=[0.18, 0.22, 0.2, 0.18, 0.18, 0.04],
    )
    frame.loc[grads, "education"] = "bachelor"
    return _with_codes(st, frame)


def _with_codes(st: rec.StreetFrame, frame: pd.DataFrame) -> pd.DataFrame:
    idx = frame["street"].to_numpy()
    return frame.assign(street_code=st.codes[idx], district_code=st.district[idx]).drop(columns="street")
