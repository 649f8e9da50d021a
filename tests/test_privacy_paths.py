"""Small-count suppression on every output path (issue #8): every query is classified, and each sensitive path is
run on a crafted database with small counts: no cell below k is shown, and no hidden cell can be recovered from a
shown total, from two months' year-to-date figures, or by subtracting two filtered views. The meeting pack (its
tables, the workbook and the PDF text) and the page downloads are checked on the same database.

The crafted database is a copy of the tiny demo city with, in 2026 (k = 10):
- Jiang'an (420102): September's urban new employment cut to 4 persons (its year-to-date to September may not
  be shown: it would be August's plus 4), the difficulty group's new employment to 2 persons in February;
- one street of Jiang'an with 3 persons of urban new employment in the whole year;
- Jianghan (420103): only 3 satisfaction survey responses; Jiang'an's training subsidies paid to 3 persons.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import pkgutil
import re
import sqlite3
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

import queries
from jobs.pack import excel, pdf, snapshot
from privacy import block_ends, protect
from queries import checks, classification, explore, forecasts, funds, overview, targets
from queries.adjustment import adjustment_panel
from store.db import make_engine
from tests.conftest import ROOT

K = 10
X, Y = "420102", "420103"  # Jiang'an, Jianghan
UNE = "urban_new_employment"
YEAR = 2026

# Functions outside queries/ that pages run through the query runner, and why they hold no person counts.
OTHER_PATHS = {
    "jobs.importing.history.imports": "import loads: who loaded which files when (no figures)",
    "jobs.importing.history.replacements": "replaced figures of imports; person-level tables for admins only",
}


def query_functions() -> dict[str, Any]:
    """Every public function of queries/ that reads the database (its first parameter is ``engine``)."""
    found = {}
    for info in pkgutil.iter_modules(queries.__path__):
        mod = importlib.import_module(f"queries.{info.name}")
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            params = list(inspect.signature(fn).parameters)
            if fn.__module__ == mod.__name__ and not name.startswith("_") and params[:1] == ["engine"]:
                found[f"queries.{info.name}.{name}"] = fn
    return found


def test_every_query_is_classified() -> None:
    """A new query fails here until it is marked sensitive, reference data or non-person (with a reason)."""
    fns = query_functions()
    assert len(fns) >= 40
    unclassified = sorted(name for name, fn in fns.items() if classification(fn) is None)
    assert unclassified == [], f"mark these @sensitive, @reference_data or @non_person: {unclassified}"
    for name, fn in fns.items():
        rule = getattr(fn, "sensitive", None)
        if rule:  # a sensitive query names its count column and the values it protects
            assert rule["values"] and rule["count"], name
        if getattr(fn, "non_person", None):
            assert len(fn.non_person) > 10, f"{name}: say why it is not about persons"  # type: ignore[attr-defined]


def _page_query_targets() -> set[str]:
    """Dotted names of every function the pages (and ui/) pass to ``query(...)``, ``fresh(...)`` or, in
    figures/, to a runner ``run(...)`` (read from the source, not run)."""
    targets_: set[str] = set()
    sources = [*sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]
    sources += sorted((ROOT / "figures").glob("*.py"))
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        alias: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    alias[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    alias[a.asname or a.name] = a.name
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            if getattr(node.func, "id", None) in ("query", "fresh", "run"):
                arg = node.args[0]
                if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name):
                    targets_.add(f"{alias.get(arg.value.id, arg.value.id)}.{arg.attr}")
                elif isinstance(arg, ast.Name) and arg.id in alias:
                    targets_.add(alias[arg.id])
    return targets_


def test_every_function_a_page_runs_is_classified() -> None:
    called = _page_query_targets()
    assert len(called) >= 25
    for dotted in sorted(called):
        module, name = dotted.rsplit(".", 1)
        fn = getattr(importlib.import_module(module), name)
        assert classification(fn) is not None or dotted in OTHER_PATHS, dotted
        # the plan's cube reads every district: it decides what is shown and is never shown itself
        assert classification(fn) != "disclosure_control", f"a page shows {dotted}"
    assert {
        "queries.targets.attainment",
        "queries.explore.explore",
        "queries.funds.fund_indicators",
    } <= called


# --- the crafted database ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crafted(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("privacy")
    path = folder / "crafted.sqlite"
    src = sqlite3.connect(demo_url.split("///", 1)[1])
    dst = sqlite3.connect(path)
    src.backup(dst)
    src.close()
    street = dst.execute(
        "SELECT area_code FROM area WHERE level = 'street' AND parent_code = ? ORDER BY area_code LIMIT 1",
        (X,),
    ).fetchone()[0]
    agg = "UPDATE agg_monthly SET value = ?, persons = ? WHERE year = ? AND indicator_code = ? AND area_code = ?"
    dst.execute(agg + " AND month = 9 AND group_code = 'all'", (4, 4, YEAR, UNE, X))
    dst.execute(agg + " AND group_code = 'difficulty' AND month = 2", (2, 2, YEAR, UNE, X))
    dst.execute(agg + " AND group_code = 'difficulty' AND month <> 2", (0, 0, YEAR, UNE, X))
    dst.execute(agg + " AND month = 1", (3, 3, YEAR, UNE, street))
    dst.execute(agg + " AND month > 1", (0, 0, YEAR, UNE, street))
    dst.execute(
        "DELETE FROM survey_response WHERE district_code = ? AND surveyed_on >= ? AND response_id NOT IN "
        "(SELECT response_id FROM survey_response WHERE district_code = ? AND surveyed_on >= ? LIMIT 3)",
        (Y, f"{YEAR}-01-01", Y, f"{YEAR}-01-01"),
    )
    dst.execute(
        "UPDATE subsidy_payment SET person_id = 1 + payment_id % 3 WHERE district_code = ? AND category = 'training'",
        (X,),
    )
    dst.execute(
        "UPDATE reported_monthly SET value = 40 WHERE year = ? AND month = 9 AND area_code = ? AND indicator_code = ?",
        (YEAR, X, UNE),
    )
    dst.commit()
    dst.close()
    return {"url": f"sqlite:///{path}", "engine": make_engine(f"sqlite:///{path}"), "street": street}


def shown(fn, frame: pd.DataFrame) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """What a page, the pack or an export shows: the frame through the query's own rule (as ui.common.query)."""
    return protect(frame, K, fn.sensitive)  # type: ignore[return-value]


def assert_no_small_cell(out: pd.DataFrame, values: list[str], count: str = "persons") -> None:
    visible = out[out[values].notna().any(axis=1)]
    persons = visible[count].astype(float)
    assert not ((persons > 0) & (persons < K)).any(), visible[(persons > 0) & (persons < K)]


def assert_lines_safe(out: pd.DataFrame, keys: list[str]) -> None:
    """Rows that add up to a shown total: never exactly one hidden (it would be the total minus the others)."""
    counts = (
        out.groupby(keys, dropna=False)["suppressed"].sum() if keys else pd.Series([out["suppressed"].sum()])
    )
    assert not (counts == 1).any(), counts[counts == 1]


def test_attainment_districts_streets_and_city(crafted: dict) -> None:
    e: Engine = crafted["engine"]
    raw = targets.attainment(e, YEAR, 9)
    out = shown(targets.attainment, raw)
    x = out[(out["area_code"] == X) & (out["indicator_code"] == UNE)].iloc[0]
    assert x["suppressed"] and np.isnan(x["actual"]) and np.isnan(x["completion_rate"])
    assert_no_small_cell(out, ["actual"])
    assert_lines_safe(out, ["indicator_code"])  # districts add up to the city total shown beside them
    city = shown(targets.attainment, targets.attainment(e, YEAR, 9, level="city"))
    assert city.loc[city["indicator_code"] == UNE, "actual"].notna().all()
    # the hidden district cannot be had as city − the other districts: at least one more is hidden
    une = out[out["indicator_code"] == UNE]
    assert une["suppressed"].sum() >= 2
    streets = shown(targets.attainment, targets.attainment(e, YEAR, 9, level="street", parent_code=X))
    s = streets[(streets["area_code"] == crafted["street"]) & (streets["indicator_code"] == UNE)].iloc[0]
    assert s["suppressed"] and np.isnan(s["actual"])
    assert_no_small_cell(streets, ["actual"])
    assert_lines_safe(streets, ["indicator_code"])  # streets add up to the district's total


def test_two_months_year_to_date_never_differ_by_a_small_count(crafted: dict) -> None:
    """Subtracting August's view from September's (or any two months) gives 0 or at least k persons."""
    e: Engine = crafted["engine"]
    views = {m: targets.attainment(e, YEAR, m) for m in range(1, 10)}
    truth = views[9].set_index(["area_code", "indicator_code"])["months_persons"].dropna()
    for (area, ind), months in truth.items():
        persons = np.cumsum(months)
        visible = [
            m
            for m, v in views.items()
            if not shown(targets.attainment, v)
            .set_index(["area_code", "indicator_code"])
            .loc[(area, ind), "suppressed"]
        ]
        for a, b in itertools.combinations([0, *visible], 2):
            gap = persons[b - 1] - (persons[a - 1] if a else 0)
            assert gap == 0 or gap >= K, (area, ind, a, b, gap)
    # the crafted case: August shown, September hidden (it would give away September's 4 persons)
    assert (
        not shown(targets.attainment, views[8])
        .set_index(["area_code", "indicator_code"])
        .loc[(X, UNE), "suppressed"]
    )


def test_monthly_curve_and_group_breakdown(crafted: dict) -> None:
    e: Engine = crafted["engine"]
    raw = targets.monthly_curve(e, YEAR, X, UNE)
    out = shown(targets.monthly_curve, raw)
    assert (
        np.isnan(out.loc[out["month"] == 9, "cumulative"]).all()
        and np.isnan(out.loc[out["month"] == 9, "value"]).all()
    )
    cum = raw["cum_persons"].to_numpy(float)
    visible = [0.0, *cum[out["cumulative"].notna().to_numpy()]]
    for a, b in itertools.combinations(visible, 2):
        assert abs(b - a) == 0 or abs(b - a) >= K
    months = raw["persons"].to_numpy(float)
    assert (
        (months[out["value"].notna().to_numpy()] >= K) | (months[out["value"].notna().to_numpy()] == 0)
    ).all()
    groups = shown(targets.group_breakdown, targets.group_breakdown(e, YEAR, 9, X))
    diff = groups[groups["group_code"] == "difficulty"].iloc[0]
    assert diff["suppressed"] and np.isnan(diff["value"])
    assert_no_small_cell(groups, ["value"])
    assert_lines_safe(groups, [])  # the groups add up to the district's total


def test_explore_tables_and_filtered_views(crafted: dict) -> None:
    e: Engine = crafted["engine"]
    table = shown(explore.explore, explore.explore(e, UNE, "area", "period", "month", (YEAR, YEAR)))
    assert table.loc[(table["area"] == X) & (table["period"] == f"{YEAR}-09"), "value"].isna().all()
    assert_no_small_cell(table, ["value"])
    assert_lines_safe(table, ["period"])  # districts of a month add up to the city's month
    assert_lines_safe(table, ["area"])  # months of a district add up to its total over the range
    quarters = table.assign(q=table["period"].map(lambda p: f"{p[:4]}-Q{(int(p[5:]) + 2) // 3}"))
    # months add up to the quarter shown at the quarter grain (a quarter of one month is that month's own cell)
    several = quarters.groupby(["area", "q"])["period"].transform("size") > 1
    assert_lines_safe(quarters[several], ["area", "q"])
    alone = quarters[~several & quarters["suppressed"]]
    by_quarter = shown(explore.explore, explore.explore(e, UNE, "area", "period", "quarter", (YEAR, YEAR)))
    hidden_q = set(
        zip(
            by_quarter.loc[by_quarter["suppressed"], "area"],
            by_quarter.loc[by_quarter["suppressed"], "period"],
            strict=True,
        )
    )
    assert (
        len(alone) and set(zip(alone["area"], alone["q"], strict=True)) <= hidden_q
    )  # hidden in the quarter view too
    # "all districts" minus "all but Jiang'an" would give Jiang'an's September: the filtered view hides it
    rest = tuple(c for c in table["area"].unique() if c != X)
    city = shown(explore.explore, explore.explore(e, UNE, "period", None, "month", (YEAR, YEAR)))
    part = shown(explore.explore, explore.explore(e, UNE, "period", None, "month", (YEAR, YEAR), rest))
    sept = f"{YEAR}-09"
    assert city.loc[city["period"] == sept, "value"].notna().all()
    assert part.loc[part["period"] == sept, "value"].isna().all()
    assert_no_small_cell(part, ["value"])
    groups = shown(
        explore.explore, explore.explore(e, UNE, "group", "area", "year", (YEAR, YEAR), level="district")
    )
    assert_no_small_cell(groups, ["value"])
    assert_lines_safe(groups, ["area"])
    assert_lines_safe(groups, ["group"])


def test_fund_indicators_and_subsidies(crafted: dict) -> None:
    e: Engine = crafted["engine"]
    raw = funds.fund_indicators(e, YEAR, 9)
    out = shown(funds.fund_indicators, raw)
    assert np.isnan(out.loc[out["area_code"] == Y, "satisfaction_score"]).all()
    assert out["satisfaction_score"].isna().sum() >= 2  # secondary: not the city mean minus the others
    for col, cnt in funds.PERSON_COUNTS.items():
        visible = out[out[col].notna()]
        assert not ((visible[cnt] > 0) & (visible[cnt] < K)).any(), col
        assert out[col].isna().sum() != 1 or out[cnt].isna().any(), col
    subs = shown(funds.subsidies_by_category, funds.subsidies_by_category(e, YEAR, 9))
    x = subs[subs["area_code"] == X]
    assert np.isnan(x.loc[x["category"] == "training", "amount_yuan"]).all()
    assert_no_small_cell(subs, ["amount_yuan"])
    assert_lines_safe(subs, ["area_code"])  # categories add up to the district's spending


def test_series_checks_and_panel(crafted: dict) -> None:
    e: Engine = crafted["engine"]
    hist = shown(forecasts.series_history, forecasts.series_history(e))
    sept = hist[(hist["area_code"] == X) & (hist["year"] == YEAR) & (hist["month"] == 9)]
    assert sept.loc[sept["indicator_code"] == UNE, "value"].isna().all()
    assert_no_small_cell(hist, ["value"])
    assert_lines_safe(hist[hist["level"] == "district"], ["indicator_code", "year", "month"])
    series = shown(checks.monthly_series, checks.monthly_series(e))
    assert_no_small_cell(series, ["value"])
    assert_lines_safe(series, ["year", "month"])
    flagged = shown(checks.outlier_months, checks.outlier_months(e))
    mine = flagged[(flagged["area_code"] == X) & (flagged["year"] == YEAR) & (flagged["month"] == 9)]
    assert (
        len(mine) == 1 and np.isnan(mine["value"]).all() and np.isnan(mine["z"]).all()
    )  # flagged, not shown
    rec = shown(checks.unreconciled, checks.unreconciled(e, YEAR, 9))
    mine = rec[(rec["area_code"] == X) & (rec["month"] == 9) & (rec["indicator_code"] == UNE)]
    assert len(mine) == 1 and np.isnan(mine["records"]).all()
    assert_no_small_cell(rec, ["records"])
    city = shown(overview.city_series, overview.city_series(e, (UNE,), YEAR, 9))
    assert_no_small_cell(city, ["value"])
    panel = shown(adjustment_panel, adjustment_panel(e, 9))
    assert_no_small_cell(panel, ["ytd"])
    assert_lines_safe(panel, ["year"])


def test_pack_tables_workbook_and_pdf(crafted: dict, tmp_path: Path) -> None:
    e: Engine = crafted["engine"]
    content = snapshot.build(e, f"{YEAR}Q3")
    pack = snapshot.Pack(
        None, f"{YEAR}Q3", datetime.now(), "tester", date(YEAR, 9, 30), None, None, None, content
    )
    ranking = pack.table("ranking")
    x = ranking[(ranking["area_code"] == X) & (ranking["indicator_code"] == UNE)].iloc[0]
    assert bool(x["suppressed"]) and pd.isna(x["actual"]) and pd.isna(x["completion_rate"])
    assert ranking[ranking["indicator_code"] == UNE]["suppressed"].astype(bool).sum() >= 2
    raw = targets.attainment(e, YEAR, 9).set_index(["area_code", "indicator_code"])
    hidden_actual = raw.loc[(X, UNE), "actual"]
    quality = pack.table("data_quality")
    line = quality[(quality["check"] == "outlier") & (quality["area_code"] == X) & (quality["month"] == 9)]
    assert len(line) == 1 and line["detail"].iloc[0].startswith("—") and "z" not in line["detail"].iloc[0]
    book = tmp_path / "pack.xlsx"
    book.write_bytes(excel.render(pack, "en"))
    wb = load_workbook(book, read_only=True)
    rows = [r for ws in wb.worksheets for r in ws.iter_rows(values_only=True)]
    x_rows = [r for r in rows if X in [str(v) for v in r] and UNE in [str(v) for v in r]]
    assert x_rows, "Jiang'an's row of the ranking sheet"
    for r in x_rows:
        assert hidden_actual not in [v for v in r if isinstance(v, (int, float))]
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf.render(pack, "en"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    target = int(raw.loc[(X, UNE), "target"])
    rows = re.findall(
        rf"^\s*(\S+)\s+Jiang'an District\s+Central\s+{target:,}\s+(\S+)\s+(\S+)", text, flags=re.M
    )
    # rank, actual and completion printed as "—": a hidden row has no rank (it would bound the figure)
    assert rows and all(r == ("—", "—", "—") for r in rows), rows
    assert "fewer than 10 persons" in text  # the note that says what "—" means


def test_block_rule_matches_the_query_helper(crafted: dict) -> None:
    """The helper column the year-to-date rule reads holds the same persons as agg_monthly, month by month."""
    raw = targets.attainment(crafted["engine"], YEAR, 9).set_index(["area_code", "indicator_code"])
    months = raw.loc[(X, UNE), "months_persons"]
    assert len(months) == 9 and months[8] == 4
    assert block_ends(months, K)[-1] is False


def test_explore_two_year_ranges_never_reveal_a_small_year(crafted: dict) -> None:
    """2024–2026 minus 2025–2026 is 2024: a range total is hidden when one of its years is small for that cell."""
    e: Engine = crafted["engine"]
    years = shown(
        explore.explore, explore.explore(e, UNE, "area", "period", "year", (2024, YEAR), level="street")
    )
    small_years = years[(years["persons"] > 0) & (years["persons"] < K)]
    assert len(small_years), "the crafted street has a small year"
    ranged = shown(
        explore.explore, explore.explore(e, UNE, "area", None, "year", (2024, YEAR), level="street")
    )
    for area in small_years["area"].unique():
        assert ranged.loc[ranged["area"] == area, "value"].isna().all(), area
    assert_no_small_cell(ranged, ["value"])
    assert_lines_safe(ranged, [])


def test_map_tooltips_coarsen_tiny_population_cells() -> None:
    """Population cells are modelled estimates (non-person, docs/privacy.md), yet a tooltip never prints a head
    count below k: "< 10" instead, in both the 250 m and the summed 500 m drawing."""
    from ui import charts_circle

    cells = pd.DataFrame(
        {
            "lon": [114.30, 114.3001, 114.40],
            "lat": [30.60, 30.6001, 30.70],
            "population": [3, 4, 250],
            "working_age": [2, 3, 180],
            "district_code": [X, X, X],
        }
    )
    result = pd.DataFrame({"minutes": [5.0, 6.0, 30.0]})
    cls = np.array([charts_circle.CLASS_ORDER[0]] * 3)
    labels = {
        k: k
        for k in ["people", "working_age", "minutes", "block", "covered_share", *charts_circle.CLASS_ORDER]
    }
    for max_cells in (10, 1):  # as drawn, and summed into 500 m squares
        rows, _ = charts_circle.map_cells(cells, result, cls, labels, max_cells=max_cells, min_people=K)
        tips = " ".join(rows["tip"])
        assert "< 10" in tips and "250" in tips
        assert not any(f"people: {n} " in tips for n in (2, 3, 4, 7))


@pytest.fixture()
def payloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Every download a page offers, built as if clicked: file name (without the date) → bytes."""
    import streamlit
    from streamlit.delta_generator import DeltaGenerator

    got: dict[str, bytes] = {}
    real = DeltaGenerator.download_button

    def spy(self: DeltaGenerator, label: str, data: Any = None, *args: Any, **kwargs: Any) -> Any:
        raw = data() if callable(data) else data
        name = re.sub(r"-\d{8}(?=\.)", "", str(kwargs.get("file_name", label)))  # without the day's date
        got[name] = raw if isinstance(raw, bytes) else raw.encode()
        return real(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    monkeypatch.setattr(streamlit, "download_button", lambda *a, **k: spy(streamlit._main, *a, **k))
    return got


def _page(monkeypatch: pytest.MonkeyPatch, url: str, page: str, params: dict[str, str]) -> Any:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    monkeypatch.setenv("EMPLOYMENT_AUTH", "open")
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", "leader")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_downloads_csv_and_excel(
    crafted: dict, monkeypatch: pytest.MonkeyPatch, payloads: dict[str, bytes]
) -> None:
    """The files a leader downloads hold the same blanks as the screen: Jiang'an's September is empty in the
    Explore CSV and workbook, its year-to-date in the Targets ranking CSV."""
    from io import BytesIO

    params = {
        "measure": UNE,
        "rows": "area",
        "cols": "period",
        "grain": "month",
        "from": "2026",
        "to": "2026",
    }
    _page(monkeypatch, crafted["url"], "explore", params)
    name = f"explore-{UNE}-month-2026-2026"
    csv = pd.read_csv(BytesIO(payloads[name + ".csv"]), encoding="utf-8-sig")
    sheets = pd.read_excel(BytesIO(payloads[name + ".xlsx"]), sheet_name=None)  # sheet names are Chinese
    book = sheets["Pivot"]

    def month_code(c: object) -> object:  # the workbook labels months as a reader does ("Sep 2026")
        try:
            return pd.Period(pd.to_datetime(str(c), format="%b %Y"), freq="M").strftime("%Y-%m")
        except ValueError:
            return c

    for table in (csv.rename(columns=month_code), book.rename(columns=month_code)):
        row = table[table.iloc[:, 0].astype(str).str.startswith("Jiang'an")]
        assert len(row) == 1 and pd.isna(row["2026-09"].iloc[0]), row
        assert (
            row[["2026-07", "2026-08", "2026-09"]].isna().sum(axis=1).iloc[0] >= 2
        )  # not Q3 minus two months
        assert table.drop(columns=table.columns[0]).isna().sum(axis=0).isin([0, 2, 3, 4, 5, 6]).all()
    payloads.clear()
    _page(monkeypatch, crafted["url"], "targets", {"year": "2026", "month": "9", "indicator": UNE})
    ranking = pd.read_csv(BytesIO(payloads["attainment-2026-09.csv"]), encoding="utf-8-sig")
    x = ranking[ranking["area_code"].astype(str) == X]
    assert len(x) == 1 and pd.isna(x["actual"].iloc[0]) and pd.isna(x["completion_rate"].iloc[0])
    assert ranking["actual"].isna().sum() >= 2


def test_no_small_month_is_in_the_span_of_everything_shown_about_a_district(crafted: dict) -> None:
    """Linear algebra over one district's year: every figure shown anywhere about Jiang'an's urban new
    employment in 2026 (Explore months, quarters and the year; Targets year-to-date for every month; the monthly
    curve) is a sum of months. No month with 1 … k−1 persons may be a combination of them."""
    e: Engine = crafted["engine"]
    n = 10  # January … October
    rows: list[np.ndarray] = []

    def add(months: range) -> None:
        v = np.zeros(n)
        v[[m - 1 for m in months]] = 1.0
        rows.append(v)

    for grain, size in (("month", 1), ("quarter", 3), ("year", 12)):
        t = shown(explore.explore, explore.explore(e, UNE, "area", "period", grain, (YEAR, YEAR)))
        for period in t.loc[(t["area"] == X) & t["value"].notna(), "period"]:
            end = {1: lambda p: int(p[5:]), 3: lambda p: 3 * int(p[-1]), 12: lambda p: n}[size](period)
            add(range(max(end - size, 0) + 1, min(end, n) + 1))
    for m in range(1, n + 1):
        ytd = shown(targets.attainment, targets.attainment(e, YEAR, m))
        if ytd.loc[(ytd["area_code"] == X) & (ytd["indicator_code"] == UNE), "actual"].notna().all():
            add(range(1, m + 1))
    curve = shown(targets.monthly_curve, targets.monthly_curve(e, YEAR, X, UNE))
    for m in curve.loc[curve["cumulative"].notna(), "month"]:
        add(range(1, int(m) + 1))
    for m in curve.loc[curve["value"].notna(), "month"]:
        add(range(int(m), int(m) + 1))
    public = np.array(rows)
    persons = targets.monthly_curve(e, YEAR, X, UNE).set_index("month")["persons"]
    small_months = [m for m, p in persons.items() if 0 < p < K]
    assert 9 in small_months  # the crafted September
    base = np.linalg.matrix_rank(public)
    for m in small_months:
        unit = np.zeros(n)
        unit[m - 1] = 1.0
        assert np.linalg.matrix_rank(np.vstack([public, unit])) > base, f"month {m} can be recovered"
