"""Incremental refresh of the monthly aggregates: after any change, the same rows as a full rebuild.

Each test changes records inside a transaction on the shared demo city, refreshes only the changed months (and
districts), reads every row of ``agg_monthly`` and ``calendar_month``, rebuilds everything and compares, then rolls
back. The full rebuild itself is checked against the records in tests/test_schema_demo.py; here a few numbers are
also counted independently in pandas. The importer is checked on the small city of tests/data/import.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from jobs import refresh
from jobs.importing.load import import_batch
from store import schema as s
from store.db import make_engine
from tests.conftest import ROOT

KEY = ["year", "month", "area_code", "indicator_code", "group_code"]
NEW_MONTH = date(2026, 11, 1)  # the demo city's data end in October 2026


def agg(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(select(*[s.agg_monthly.c[c] for c in refresh.AGG_COLS])).all()
    return pd.DataFrame(rows, columns=refresh.AGG_COLS).sort_values(KEY).reset_index(drop=True)


def calendar(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(select(s.calendar_month.c.year, s.calendar_month.c.month)).all()
    return pd.DataFrame(rows, columns=["year", "month"]).sort_values(["year", "month"]).reset_index(drop=True)


def assert_same_as_full(conn: Connection) -> pd.DataFrame:
    """The aggregates now in the database equal a full rebuild of them (which stays in place); returns them."""
    got, got_calendar = agg(conn), calendar(conn)
    refresh.refresh(conn)
    full = agg(conn)
    pd.testing.assert_frame_equal(got_calendar, calendar(conn))
    pd.testing.assert_frame_equal(got, full, check_exact=False, rtol=1e-12, atol=0)
    return full


def incremental(
    conn: Connection, since: date | None, districts: Collection[str] | None, compare: bool = True
) -> refresh.Scope:
    """Refresh the bounds given (checked against a full rebuild unless ``compare`` is off); returns the scope."""
    used = refresh.scope(conn, since, districts)
    rows = refresh.refresh(conn, since, districts)
    note = conn.execute(select(s.data_load.c.note).order_by(s.data_load.c.load_id.desc()).limit(1)).scalar()
    assert note == used.describe()
    assert rows > 0
    if compare:
        assert_same_as_full(conn)
    return used


@pytest.fixture()
def demo_conn(request: pytest.FixtureRequest) -> Iterator[Connection]:
    """A connection to the demo city (``request.param``: a URL fixture) inside a transaction rolled back after."""
    engine = make_engine(request.getfixturevalue(request.param))
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            yield conn
        finally:
            tx.rollback()
    engine.dispose()


def _next_id(conn: Connection, column) -> int:  # type: ignore[no-untyped-def]
    return int(conn.execute(select(func.max(column))).scalar_one()) + 1


def _streets(conn: Connection) -> list[tuple[str, str]]:
    a = s.area
    return [
        tuple(r) for r in conn.execute(select(a.c.area_code, a.c.district_code).where(a.c.level == "street"))
    ]


def _month_start(day: date) -> date:
    return day.replace(day=1)


# --- fixed changes, on SQLite and PostgreSQL ---------------------------------------------------------------------


@pytest.mark.parametrize("demo_conn", ["demo_url", "pg_demo_url"], indirect=True)
def test_incremental_refresh_equals_full_rebuild_after_each_change(demo_conn: Connection) -> None:
    """SQLite compares after each change; PostgreSQL once at the end (the scopes are ordered so that no later
    refresh rewrites all of an earlier one's rows)."""
    conn = demo_conn
    each = conn.dialect.name == "sqlite"
    e, u, t = s.employment_event, s.unemployment_spell, s.training_record

    # 1. an old spell's end date corrected (earlier): the months from the new end date change, in its district
    spell, registered, ended_on, spell_district = conn.execute(
        select(u.c.spell_id, u.c.registered_on, u.c.ended_on, u.c.district_code)
        .where(
            u.c.ended_on.between(date(2023, 5, 1), date(2023, 5, 31)), u.c.registered_on < date(2022, 6, 1)
        )
        .order_by(u.c.spell_id)
        .limit(1)
    ).one()
    new_end = date(2022, 8, 15)
    assert registered < new_end < ended_on
    conn.execute(update(u).where(u.c.spell_id == spell).values(ended_on=new_end))
    used = incremental(conn, min(_month_start(new_end), _month_start(ended_on)), {spell_district}, each)
    assert used == refresh.Scope(date(2022, 8, 1), (spell_district,))

    # 2. a training record of another district, completed later, deleted
    training, completed, training_district = conn.execute(
        select(t.c.training_id, t.c.completed_on, t.c.district_code)
        .where(t.c.district_code != spell_district, t.c.completed_on >= date(2024, 1, 1))
        .order_by(t.c.training_id)
        .limit(1)
    ).one()
    conn.execute(delete(t).where(t.c.training_id == training))
    used = incremental(conn, completed, [training_district], each)
    assert used == refresh.Scope(_month_start(completed), (training_district,))

    # 3. a new month's load: events, a new registration and an exit, in one district; the cut-off moves on
    street, district = _streets(conn)[0]
    conn.execute(insert(s.data_load).values(kind="import", started_at=pd.Timestamp.now().to_pydatetime(), rows=1,
                                            cut_off=date(2026, 11, 30), synthetic=False))  # fmt: skip
    first_event = _next_id(conn, e.c.event_id)
    events = [
        dict(event_id=first_event + i, person_id=1, district_code=district, street_code=street,
             event_date=date(2026, 11, 3 + i), kind="urban_new", group_code=g, employment_type="enterprise")
        for i, g in enumerate(["graduate", "difficulty", "other"])
    ]  # fmt: skip
    conn.execute(insert(e), events)
    conn.execute(insert(u).values(spell_id=_next_id(conn, u.c.spell_id), person_id=2, district_code=district,
                                  street_code=street, registered_on=date(2026, 11, 9), ended_on=None,
                                  difficulty=False))  # fmt: skip
    open_spell = conn.execute(
        select(u.c.spell_id).where(u.c.ended_on.is_(None), u.c.district_code == district).limit(1)
    ).scalar_one()
    conn.execute(update(u).where(u.c.spell_id == open_spell).values(ended_on=date(2026, 11, 20)))
    used = incremental(conn, NEW_MONTH, {district})
    # every district needs the stock of the new month, so the district bound is dropped
    assert used == refresh.Scope(NEW_MONTH, None)
    a = s.agg_monthly
    november = dict(
        conn.execute(
            select(a.c.indicator_code, a.c.value).where(
                a.c.level == "city", a.c.year == 2026, a.c.month == 11, a.c.group_code == "all"
            )
        ).all()
    )
    spells = pd.DataFrame(conn.execute(select(u.c.registered_on, u.c.ended_on)).all(), columns=["reg", "end"])
    end = pd.Timestamp("2026-11-30")
    reg, ended = pd.to_datetime(spells["reg"]), pd.to_datetime(spells["end"])
    assert november["registered_unemployed"] == ((reg <= end) & ~(ended <= end)).sum()
    assert november["urban_new_employment"] == 3
    assert november["graduate_employment"] == november["difficulty_employment"] == 1


# --- random changes (SQLite) ---------------------------------------------------------------------------------------

CHANGES = ["insert_event", "delete_event", "spell_end", "insert_spell", "delete_training", "loan", "household",
           "subsidy"]  # fmt: skip


def _random_day(data: st.DataObject, lo: date = date(2018, 1, 1), hi: date = date(2026, 10, 31)) -> date:
    return data.draw(st.dates(lo, hi))


def _apply(conn: Connection, data: st.DataObject, kind: str) -> tuple[list[date], set[str]]:
    """Apply one random change; returns the days (old and new) and the districts it touches."""
    e, u, t, ln = s.employment_event, s.unemployment_spell, s.training_record, s.startup_loan
    street, district = data.draw(st.sampled_from(_streets(conn)))
    pick = data.draw(st.integers(0, 10_000))  # which existing row (the pick-th, modulo the rows)

    def nth(stmt):  # type: ignore[no-untyped-def]
        n = conn.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        return conn.execute(stmt.offset(pick % n).limit(1)).one()

    if kind == "insert_event":
        day = _random_day(data)
        conn.execute(insert(e).values(event_id=_next_id(conn, e.c.event_id), person_id=pick, district_code=district,
                                      street_code=street, event_date=day,
                                      kind=data.draw(st.sampled_from(["urban_new", "rural_transfer"])),
                                      group_code=data.draw(st.sampled_from(["graduate", "difficulty", "other",
                                                                            "registered_unemployed"])),
                                      employment_type="flexible"))  # fmt: skip
        return [day], {district}
    if kind == "delete_event":
        event, day, d = nth(select(e.c.event_id, e.c.event_date, e.c.district_code).order_by(e.c.event_id))
        conn.execute(delete(e).where(e.c.event_id == event))
        return [day], {d}
    if kind == "spell_end":
        spell, reg, old, d = nth(
            select(u.c.spell_id, u.c.registered_on, u.c.ended_on, u.c.district_code).order_by(u.c.spell_id)
        )
        new = data.draw(st.none() | st.integers(0, 900).map(lambda n: reg + timedelta(days=n)))
        new = new if new is None or new <= date(2026, 10, 31) else None
        conn.execute(update(u).where(u.c.spell_id == spell).values(ended_on=new))
        return [x for x in (old, new) if x is not None] or [reg], {d}
    if kind == "insert_spell":
        reg = _random_day(data)
        end = data.draw(st.none() | st.dates(reg, date(2026, 10, 31)))
        conn.execute(insert(u).values(spell_id=_next_id(conn, u.c.spell_id), person_id=pick, district_code=district,
                                      street_code=street, registered_on=reg, ended_on=end,
                                      difficulty=False))  # fmt: skip
        return [reg], {district}
    if kind == "delete_training":
        training, day, d = nth(
            select(t.c.training_id, t.c.completed_on, t.c.district_code).order_by(t.c.training_id)
        )
        conn.execute(delete(t).where(t.c.training_id == training))
        return [day], {d}
    if kind == "loan":
        loan, old, d = nth(select(ln.c.loan_id, ln.c.issued_on, ln.c.district_code).order_by(ln.c.loan_id))
        new = _random_day(data)
        conn.execute(update(ln).where(ln.c.loan_id == loan).values(issued_on=new, amount_yuan=pick * 10.0))
        return [old, new], {d}
    z = s.zero_employment_household
    if kind == "household":
        year, month, zstreet, d = nth(
            select(z.c.year, z.c.month, z.c.street_code, z.c.district_code).order_by(
                z.c.year, z.c.month, z.c.street_code
            )
        )
        conn.execute(
            update(z)
            .where(z.c.year == year, z.c.month == month, z.c.street_code == zstreet)
            .values(identified=pick % 5 + 1, cleared=pick % 3)
        )
        return [date(year, month, 1)], {d}
    day = _random_day(data)
    conn.execute(insert(s.subsidy_payment).values(payment_id=_next_id(conn, s.subsidy_payment.c.payment_id),
                                                  person_id=None, district_code=district, paid_on=day,
                                                  category="training", amount_yuan=1234.5))  # fmt: skip
    return [day], {district}


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(data=st.data())
def test_random_changes_incremental_equals_full(demo_url: str, data: st.DataObject) -> None:
    engine = make_engine(demo_url)
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            days: list[date] = []
            districts: set[str] = set()
            for kind in data.draw(st.lists(st.sampled_from(CHANGES), min_size=1, max_size=4)):
                d, ds = _apply(conn, data, kind)
                days += d
                districts |= ds
            bound = None if data.draw(st.booleans()) else districts
            used = incremental(conn, _month_start(min(days)), bound)  # asserts equality with a full rebuild
            assert used.since is None or used.since <= _month_start(
                min(days)
            )  # never starts after the change
        finally:
            tx.rollback()
    engine.dispose()


# --- the edges: before the first month, a district subset ------------------------------------------------------------


@pytest.mark.parametrize("demo_conn", ["demo_url"], indirect=True)
def test_since_before_the_first_month_is_a_full_rebuild(demo_conn: Connection) -> None:
    conn = demo_conn
    u = s.unemployment_spell
    first = calendar(conn).iloc[0]
    assert (first["year"], first["month"]) == (2018, 1)
    assert refresh.scope(conn, date(2000, 1, 1)) == refresh.Scope()
    assert refresh.scope(conn, date(2018, 1, 1)) == refresh.Scope()  # no stored stock before the first month
    assert refresh.scope(conn, date(2018, 2, 1)) == refresh.Scope(date(2018, 2, 1))
    street, district = _streets(conn)[0]
    conn.execute(insert(u).values(spell_id=_next_id(conn, u.c.spell_id), person_id=3, district_code=district,
                                  street_code=street, registered_on=date(2017, 6, 10), ended_on=date(2019, 3, 2),
                                  difficulty=True))  # fmt: skip
    # the fallback is the full rebuild itself: nothing to compare it with, but its rows are checked below
    assert incremental(conn, date(2017, 6, 1), [district], compare=False) == refresh.Scope()
    # the calendar now starts with the earlier registration, and the spell is in the stock until February 2019
    assert tuple(calendar(conn).iloc[0]) == (2017, 6)
    a = s.agg_monthly
    stock = dict(
        conn.execute(
            select(a.c.year * 100 + a.c.month, a.c.value).where(
                a.c.area_code == street, a.c.indicator_code == "registered_unemployed", a.c.year <= 2017
            )
        ).all()
    )
    assert stock == {201706: 1, 201707: 1, 201708: 1, 201709: 1, 201710: 1, 201711: 1, 201712: 1}


@pytest.mark.parametrize("demo_conn", ["demo_url"], indirect=True)
def test_a_district_subset_rewrites_only_that_district_and_the_city(demo_conn: Connection) -> None:
    conn = demo_conn
    e, t = s.employment_event, s.training_record
    street, district = _streets(conn)[-1]
    training = conn.execute(
        select(t.c.training_id)
        .where(t.c.district_code == district, t.c.completed_on >= date(2025, 3, 1))
        .limit(1)
    ).scalar_one()
    conn.execute(delete(t).where(t.c.training_id == training))
    conn.execute(insert(e).values(event_id=_next_id(conn, e.c.event_id), person_id=5, district_code=district,
                                  street_code=street, event_date=date(2025, 3, 14), kind="urban_new",
                                  group_code="graduate", employment_type="enterprise"))  # fmt: skip
    since = date(2025, 3, 1)
    used = refresh.scope(conn, since, [district])
    assert used == refresh.Scope(since, (district,))
    written = refresh.refresh(conn, since, [district])
    after = agg(conn)
    months = after["year"] * 100 + after["month"] >= 202503
    touched = months & ((after["district_code"] == district) | (after["level"] == "city"))
    # only that district's rows and the city's, of the months from March 2025: a small part of the table
    assert written == touched.sum() < len(after) / 20
    full = assert_same_as_full(conn)
    # a district bound without since: every month of that district, the same rows again
    assert refresh.scope(conn, None, [district]) == refresh.Scope(None, (district,))
    refresh.refresh(conn, None, [district])
    pd.testing.assert_frame_equal(agg(conn), full, check_exact=False, rtol=1e-12, atol=0)


# --- the importer picks the increment --------------------------------------------------------------------------------

DATA = ROOT / "tests" / "data" / "import"
BASE = ["areas.csv", "area_year.csv", "employment_events.csv", "unemployment_spells.csv"]
EVENTS = "event_id,person_id,street_code,event_date,kind,group_code,employment_type\n"
SPELLS = "spell_id,person_id,street_code,registered_on,ended_on,difficulty\n"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_importer_refreshes_incrementally(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("empty_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)

    def load(files: list[tuple[str, bytes]]):  # type: ignore[no-untyped-def]
        report = import_batch(engine, files, user="tester", refresh_forecasts=False)
        assert report.exit_code == 0, [p.message("en") for p in report.problems]
        return report

    def same_as_full() -> None:
        with engine.connect() as conn:
            tx = conn.begin()
            assert_same_as_full(conn)
            tx.rollback()

    def last_note() -> str | None:
        with engine.connect() as conn:
            d = s.data_load
            return conn.execute(
                select(d.c.note).where(d.c.kind == "refresh").order_by(d.c.load_id.desc()).limit(1)
            ).scalar()

    first = load([(n, (DATA / n).read_bytes()) for n in BASE])
    assert first.refresh_scope == refresh.Scope()  # areas changed: everything
    # a correction: spell 1 (420102001) ended on 2026-02-25, not 2026-01-20: from the OLD end's month, January
    fix = load([("spells.csv", (SPELLS + "1,102,420102001,2025-11-02,2026-02-25,0\n").encode())])
    assert fix.refresh_scope == refresh.Scope(date(2026, 1, 1), ("420102",))
    assert fix.refreshed_rows and last_note() == "incremental: since 2026-01; districts 420102"
    same_as_full()
    # event 1 (2026-01-05) moved from a street of 420102 to one of 420103: both districts, from January
    moved = load(
        [("events.csv", (EVENTS + "1,101,420103001,2026-01-05,urban_new,graduate,enterprise\n").encode())]
    )
    assert moved.refresh_scope == refresh.Scope(date(2026, 1, 1), ("420102", "420103"))
    same_as_full()
    with engine.connect() as conn:
        changes = conn.execute(
            select(s.data_change.c.previous_json).order_by(s.data_change.c.change_id)
        ).scalars()
        assert [json.loads(c) for c in changes] == [
            {"ended_on": "2026-01-20"},
            {"district_code": "420102", "street_code": "420102001"},
        ]
    # a new month in 420103: the cut-off moves, every district gets the month's stock
    new = load(
        [("events.csv", (EVENTS + "10,110,420103001,2026-04-02,urban_new,graduate,flexible\n").encode())]
    )
    assert new.cut_off == date(2026, 4, 30)
    assert new.refresh_scope == refresh.Scope(date(2026, 4, 1), None)
    a = s.agg_monthly
    with engine.connect() as conn:
        stock = dict(
            conn.execute(
                select(a.c.year * 100 + a.c.month, a.c.value).where(
                    a.c.area_code == "420102", a.c.indicator_code == "registered_unemployed"
                )
            ).all()
        )
    # 420102: spell 1 from 2025-11-02 to 2026-02-25, spell 2 from 2025-12-15 to 2026-02-03
    assert stock == {202511: 1, 202512: 2, 202601: 2, 202602: 0, 202603: 0, 202604: 0}
    same_as_full()
    engine.dispose()
