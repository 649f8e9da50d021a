"""PostgreSQL partitioning: month partitions in production, and the Citus design (sharded by district) proven.

The same queries must give the same answers on SQLite, on PostgreSQL with month-partitioned event tables and
on PostgreSQL with every fact table hash-partitioned by district the way Citus would distribute it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table

from queries import checks, circle, explore, forecasts, funds, overview, targets
from store import partitions, schema
from store.db import make_engine, upgrade

CALLS: dict[str, Callable[[Engine], pd.DataFrame]] = {
    "attainment": lambda e: targets.attainment(e, 2026, 9),
    "attainment_streets": lambda e: targets.attainment(e, 2026, 9, level="street", parent_code="420114"),
    "planner_attainment": lambda e: targets.attainment(e, 2026, 9, district_code="420102"),
    "groups": lambda e: targets.group_breakdown(e, 2026, 9, "420106"),
    "fund_indicators": lambda e: funds.fund_indicators(e, 2025),
    "spending": lambda e: overview.spending_progress(e, 2026, 9),
    "explore": lambda e: explore.explore(e, "urban_new_employment", "area", "period", grain="quarter"),
    "explore_streets": lambda e: explore.explore(e, "registered_unemployed", "area", level="street"),
    "unreconciled": lambda e: checks.unreconciled(e, 2026, 10),
    "history": lambda e: forecasts.series_history(e),
    "population": lambda e: circle.population_by_area(e, "street"),
}


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame = frame.sort_values(list(frame.columns), kind="stable", na_position="last").reset_index(drop=True)
    return frame.astype({c: float for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])})


@pytest.mark.parametrize("name", list(CALLS))
def test_same_answers_on_sqlite_month_partitions_and_district_shards(
    name: str, demo_url: str, pg_demo_url: str, pg_sharded_demo_url: str
) -> None:
    results = [
        _normalised(CALLS[name](make_engine(url))) for url in (demo_url, pg_demo_url, pg_sharded_demo_url)
    ]
    assert len(results[0]) > 0
    for other in results[1:]:
        pd.testing.assert_frame_equal(results[0], other, check_exact=False, rtol=1e-9, check_dtype=False)


def _count(conn: Connection, name: str) -> int:
    return int(conn.execute(select(func.count()).select_from(sa_table(name))).scalar_one())


def test_event_tables_are_partitioned_by_month_and_queries_prune(pg_demo_url: str) -> None:
    engine = make_engine(pg_demo_url)
    with engine.connect() as conn:
        assert {n: partitions.layout(conn, n) for n in partitions.MONTHLY} == dict.fromkeys(
            partitions.MONTHLY, "range"
        )
        # every row sits in its own month's partition; none fell through to the default partition
        for name in partitions.MONTHLY:
            assert _count(conn, f"{name}_default") == 0
        march = conn.execute(
            text("SELECT count(*) FROM employment_event_y2024m03"),
        ).scalar()
        direct = conn.execute(
            text("SELECT count(*) FROM employment_event WHERE event_date >= :a AND event_date < :b"),
            {"a": date(2024, 3, 1), "b": date(2024, 4, 1)},
        ).scalar_one()
        assert march == direct and direct > 0
        plan = "\n".join(
            conn.execute(
                text(
                    "EXPLAIN SELECT count(*) FROM employment_event WHERE event_date >= :a AND event_date < :b"
                ),
                {"a": date(2024, 3, 1), "b": date(2024, 4, 1)},
            ).scalars()
        )
    assert "employment_event_y2024m03" in plan
    assert "employment_event_y2024m04" not in plan and "employment_event_y2019m01" not in plan


def test_new_months_get_partitions_before_a_load(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    with engine.begin() as conn:
        made = partitions.ensure_months(conn, date(2031, 1, 15), date(2031, 3, 2))
        assert made == 3 * len(partitions.MONTHLY)
        assert partitions.ensure_months(conn, date(2031, 1, 1), date(2031, 3, 31)) == 0  # idempotent
        conn.execute(
            schema.employment_event.insert().values(
                event_id=1,
                person_id=1,
                district_code="420102",
                street_code="420102001",
                event_date=date(2031, 2, 20),
                kind="urban_new",
                group_code="other",
                employment_type="enterprise",
            )
        )
        assert conn.execute(text("SELECT count(*) FROM employment_event_y2031m02")).scalar() == 1
        # a row for a month without a partition lands in the default one and is still seen
        conn.execute(
            schema.employment_event.insert().values(
                event_id=2,
                person_id=2,
                district_code="420102",
                street_code="420102001",
                event_date=date(2045, 6, 1),
                kind="urban_new",
                group_code="other",
                employment_type="enterprise",
            )
        )
        assert conn.execute(text("SELECT count(*) FROM employment_event_default")).scalar() == 1
        assert partitions.ensure_months(conn, date(2045, 6, 1), date(2045, 6, 30)) == 2  # not the event table
        assert conn.execute(text("SELECT count(*) FROM employment_event")).scalar() == 2


def test_district_shards_keep_a_district_together_across_tables(pg_sharded_demo_url: str) -> None:
    """Citus co-locates tables distributed on the same column: a district's rows share one shard number."""
    engine = make_engine(pg_sharded_demo_url)
    with engine.connect() as conn:
        assert all(partitions.layout(conn, n) == "hash" for n in partitions.DISTRIBUTED)
        assert not any(partitions.layout(conn, n) for n in partitions.REFERENCE)
        placement: dict[str, set[int]] = {}
        for name in ("employment_event", "agg_monthly", "startup_loan", "person"):
            for shard in range(partitions.SHARDS):
                codes = conn.execute(
                    select(
                        sa_table(f"{name}_shard{shard}", sa_column("district_code")).c.district_code
                    ).distinct()
                ).scalars()
                for code in codes:
                    placement.setdefault(code, set()).add(shard)
        assert len(placement) >= 13
        assert all(len(shards) == 1 for shards in placement.values()), placement
        plan = "\n".join(
            conn.execute(
                text("EXPLAIN SELECT sum(value) FROM agg_monthly WHERE district_code = :d"), {"d": "420102"}
            ).scalars()
        )
    assert plan.count("agg_monthly_shard") == 1  # one shard read: the query routes to one node under Citus


def test_every_table_has_a_place_in_the_distributed_design() -> None:
    placed = {*partitions.DISTRIBUTED, *partitions.REFERENCE, *partitions.LOCAL}
    assert placed == set(schema.metadata.tables)
    for name in partitions.DISTRIBUTED:
        assert "district_code" in schema.metadata.tables[name].c, name


def test_layouts_convert_both_ways_keeping_every_row(pg_url: str) -> None:
    from jobs import demo
    from tests.conftest import UNTIL

    engine = make_engine(pg_url)
    demo.build(engine, scale="tiny", until=UNTIL)
    with engine.connect() as conn:
        before = {n: _count(conn, n) for n in partitions.DISTRIBUTED}
    for kind in ("none", "district", "month"):
        with engine.begin() as conn:
            partitions.apply(conn, kind)
        with engine.connect() as conn:
            after = {n: _count(conn, n) for n in partitions.DISTRIBUTED}
            assert after == before, kind


def test_sqlite_is_left_alone(demo_url: str) -> None:
    engine = make_engine(demo_url)
    with engine.begin() as conn:
        partitions.apply(conn, "district")
        assert partitions.layout(conn, "employment_event") is None
        assert partitions.ensure_months(conn, date(2030, 1, 1), date(2030, 12, 31)) == 0


def test_large_tables_are_counted_from_statistics_on_postgresql(
    pg_demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from queries import meta

    monkeypatch.setattr(meta, "ESTIMATE_ABOVE", 20_000)
    engine = make_engine(pg_demo_url)
    counts = meta.table_counts(engine).set_index("table")
    with engine.connect() as conn:
        exact = conn.execute(text("SELECT count(*) FROM employment_event")).scalar_one()
        small = conn.execute(text("SELECT count(*) FROM area")).scalar_one()
    assert exact > 20_000
    assert counts.loc["employment_event", "estimated"]
    assert abs(counts.loc["employment_event", "rows"] - exact) <= 0.05 * exact  # summed over month partitions
    assert not counts.loc["area", "estimated"] and counts.loc["area", "rows"] == small
