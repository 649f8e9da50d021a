"""Explore: the SQL aggregation equals an independent pandas computation on raw rows (SQLite and PostgreSQL), bad
identifiers are refused, and the page rebuilds a view from its URL (and survives a malformed one)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from i18n import t
from queries import explore as ex
from store.db import make_engine
from tests.conftest import ROOT
from ui.periods import period_label as shown_period

_RAW: dict[str, dict[str, pd.DataFrame]] = {}


def raw(url: str) -> dict[str, pd.DataFrame]:
    """Raw tables (plain SELECT *, no aggregation), read once per database."""
    if url not in _RAW:
        engine = make_engine(url)
        with engine.connect() as conn:
            _RAW[url] = {
                name: pd.read_sql_query(f"SELECT * FROM {name}", conn)  # fixed table names, test only
                for name in (
                    "agg_monthly",
                    "indicator",
                    "area_year",
                    "service_point",
                    "calendar_month",
                    "area",
                )
            }
        engine.dispose()
    return _RAW[url]


def period_label(year: pd.Series, month: pd.Series, grain: str) -> pd.Series:
    if grain == "year":
        return year.astype(str)
    if grain == "quarter":
        return year.astype(str) + "-Q" + ((month - 1) // 3 + 1).astype(str)
    return year.astype(str) + "-" + month.map(lambda m: f"{m:02d}")


def brute(
    tables: dict[str, pd.DataFrame],
    measure: str,
    rows: str,
    columns: str | None,
    grain: str,
    years: tuple[int, int] | None,
    districts: tuple[str, ...] | None,
    level: str,
) -> pd.DataFrame:
    """The same cells computed in pandas from raw agg_monthly rows (or service points and month ends)."""
    dims = [rows] + ([columns] if columns else [])
    if measure == ex.SERVICE_POINTS:
        return brute_points(tables, dims, grain, years, districts, level)
    kind = tables["indicator"].set_index("code").loc[measure, "kind"]
    d = tables["agg_monthly"]
    d = d[(d["indicator_code"] == measure) & (d["level"] == level)]
    d = d[d["group_code"] != "all"] if "group" in dims else d[d["group_code"] == "all"]
    if years:
        d = d[d["year"].between(*years)]
    if districts:
        d = d[d["district_code"].isin(districts)]
    d = d.assign(period=period_label(d["year"], d["month"], grain), ym=d["year"] * 100 + d["month"])
    d = d.rename(columns={"area_code": "area", "group_code": "group"})
    if kind == "flow":
        out = d.groupby(dims, as_index=False)[["value", "persons"]].sum()
    else:
        if "period" in dims:
            end = d.groupby("period")["ym"].transform("max")
        else:
            end = pd.Series(d["ym"].max(), index=d.index)
        d = d[d["ym"] == end]
        persons = d.groupby(dims, as_index=False)["persons"].sum()
        if kind == "stock":
            out = d.groupby(dims, as_index=False)["value"].sum()
        elif kind == "flag":
            out = d.groupby(dims, as_index=False)["value"].min()
        else:
            lf = tables["area_year"][["area_code", "year", "labour_force"]].rename(
                columns={"area_code": "area"}
            )
            d = d.merge(lf, on=["area", "year"])
            d = d.assign(w=d["value"] * d["labour_force"])
            g = d.groupby(dims, as_index=False)[["w", "labour_force"]].sum()
            out = g.assign(value=g["w"] / g["labour_force"])[[*dims, "value"]]
        out = out.merge(persons, on=dims)
    return out[[*dims, "value", "persons"]].sort_values(dims).reset_index(drop=True)


def brute_points(
    tables: dict[str, pd.DataFrame],
    dims: list[str],
    grain: str,
    years: tuple[int, int] | None,
    districts: tuple[str, ...] | None,
    level: str,
) -> pd.DataFrame:
    cal = tables["calendar_month"].copy()
    if years:
        cal = cal[cal["year"].between(*years)]
    cal["period"] = period_label(cal["year"], cal["month"], grain)
    cal["ym"] = cal["year"] * 100 + cal["month"]
    ends = (
        cal[cal["ym"] == cal.groupby("period")["ym"].transform("max")]
        if "period" in dims
        else cal.nlargest(1, "ym")
    )
    sp = tables["service_point"].copy()
    if districts:
        sp = sp[sp["district_code"].isin(districts)]
    rows = []
    for end in ends.itertuples():
        day = pd.Timestamp(end.month_end)
        opened = pd.to_datetime(sp["opened_on"]) <= day
        closed = pd.to_datetime(sp["closed_on"])
        alive = sp[opened & (closed.isna() | (closed > day))]
        rows.append(alive.assign(period=end.period))
    both = pd.concat(rows)
    both["area"] = both["district_code" if level == "district" else "street_code"]
    both["sp_level"] = both["level"]
    # dropna=False: a district centre has no street, and SQL groups it under NULL too
    out = both.groupby(dims, dropna=False).size().reset_index(name="value")
    out["value"] = out["value"].astype(float)
    out["persons"] = np.nan  # service points are not about persons: never suppressed
    return out.sort_values(dims).reset_index(drop=True)


CASES = [
    ("urban_new_employment", "area", "period", "year", (2024, 2026), None, "district"),
    ("urban_new_employment", "group", "period", "quarter", (2025, 2026), ("420102", "420116"), "district"),
    ("registered_unemployed", "period", "area", "quarter", (2025, 2026), None, "district"),
    ("registered_unemployment_rate", "period", None, "year", None, None, "district"),
    ("registered_unemployment_rate", "area", "period", "quarter", (2026, 2026), ("420116",), "street"),
    ("skills_training", "area", None, "month", (2026, 2026), ("420116",), "street"),
    ("zero_employment_cleared", "period", None, "quarter", (2025, 2026), None, "district"),
    ("subsidy_spending", "period", "area", "month", (2026, 2026), ("420102", "420103"), "district"),
    ("service_points", "sp_level", "period", "year", (2019, 2026), None, "district"),
    ("service_points", "area", None, "quarter", (2024, 2025), ("420116",), "street"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}-{c[6]}" for c in CASES])
def test_explore_equals_a_pandas_computation_on_raw_rows(both_demo_urls: str, case: tuple) -> None:
    measure, rows, columns, grain, years, districts, level = case
    engine = make_engine(both_demo_urls)
    got = ex.explore(engine, measure, rows, columns, grain, years, districts, level)
    # helper columns of small-count suppression (docs/privacy.md)
    got = got.drop(columns=["parts_persons", "months_persons", "months_span", "_points"], errors="ignore")
    want = brute(raw(both_demo_urls), *case)
    assert list(got.columns) == [d for d in (rows, columns) if d] + ["value", "persons"]
    assert len(got) > 0
    for frame in (got, want):  # NULL street (a district centre) compared as one marker on both sides
        for d in (rows, columns):
            if d:
                frame[d] = frame[d].astype(object).where(frame[d].notna(), "<none>")
    pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-9)
    engine.dispose()


def test_small_cells_are_hidden_on_the_page(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    """Street × month training counts are small: cells with < k persons show empty (not 0), others exact."""
    params = {"measure": "skills_training", "rows": "area", "cols": "period", "grain": "month"}
    params |= {"area_level": "street", "from": "2026", "to": "2026", "districts": "420116"}
    at = open_page(monkeypatch, demo_url, params)
    want = brute(
        raw(demo_url), "skills_training", "area", "period", "month", (2026, 2026), ("420116",), "street"
    )
    street = names(raw(demo_url))
    shown = at.dataframe[0].value.set_index("Area")
    small = want[want["persons"] < 10]
    assert len(small) > 0, "the case must contain small cells"
    for r in small.itertuples():
        assert pd.isna(shown.loc[street[r.area], shown_period(r.period, "en")]), (r.area, r.period)
    big = want[want["persons"] >= 10]
    hidden_big = sum(
        pd.isna(shown.loc[street[r.area], shown_period(r.period, "en")]) for r in big.itertuples()
    )
    assert hidden_big <= 1  # at most one secondary suppression
    for r in big.itertuples():
        cell = shown.loc[street[r.area], shown_period(r.period, "en")]
        assert pd.isna(cell) or cell == pytest.approx(r.value)
    assert any("hidden" in c.value for c in at.caption)


def test_a_stock_is_read_at_quarter_end(demo_engine: Engine, demo_url: str) -> None:
    """Hand check: Q1 2026 = the March value, the partial Q4 2026 = October (the latest month), never a sum."""
    got = ex.explore(demo_engine, "registered_unemployed", "period", None, "quarter", (2026, 2026))
    a = raw(demo_url)["agg_monthly"]
    city = a[(a["level"] == "city") & (a["indicator_code"] == "registered_unemployed") & (a["year"] == 2026)]
    by_month = city.set_index("month")["value"]
    values = got.set_index("period")["value"]
    assert values["2026-Q1"] == pytest.approx(by_month[3])
    assert values["2026-Q3"] == pytest.approx(by_month[9])
    assert values["2026-Q4"] == pytest.approx(by_month[10])
    assert values["2026-Q1"] < by_month[[1, 2, 3]].sum()  # a stock is not summed over months


def test_pooled_rate_equals_the_city_row(demo_engine: Engine, demo_url: str) -> None:
    """Districts pooled (labour-force weights) give exactly the city's own rate at each year end."""
    got = ex.explore(demo_engine, "registered_unemployment_rate", "period", None, "year", (2022, 2026))
    a = raw(demo_url)["agg_monthly"]
    city = a[(a["level"] == "city") & (a["indicator_code"] == "registered_unemployment_rate")]
    for label, value in got.set_index("period")["value"].items():
        y = int(label)
        last = city[city["year"] == y].sort_values("month").iloc[-1]
        assert value == pytest.approx(last["value"], rel=1e-9), y


def test_flows_add_up_across_levels(demo_engine: Engine) -> None:
    """Streets summed within a district equal the district row (the roll-up is consistent)."""
    streets = ex.explore(
        demo_engine, "urban_new_employment", "period", None, "year", (2025, 2025), ("420116",), "street"
    )
    district = ex.explore(
        demo_engine, "urban_new_employment", "area", None, "year", (2025, 2025), ("420116",)
    )
    assert streets["value"].iloc[0] == pytest.approx(district["value"].iloc[0])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(measure="no_such_measure", rows="area"),
        dict(measure="urban_new_employment; DROP TABLE agg_monthly", rows="area"),
        dict(measure="spending_progress_pct", rows="area"),  # an annual fund indicator, not a monthly series
        dict(measure="urban_new_employment", rows="area_code"),
        dict(measure="urban_new_employment", rows="area", columns="value"),
        dict(measure="urban_new_employment", rows="area", columns="area"),
        dict(measure="registered_unemployed", rows="group"),
        dict(measure="urban_new_employment", rows="sp_level"),
        dict(measure="urban_new_employment", rows="area", grain="week"),
        dict(measure="urban_new_employment", rows="area", level="city"),
        dict(measure="urban_new_employment", rows="area", years=("2024", "2026")),
    ],
)
def test_unknown_identifiers_raise(demo_engine: Engine, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ex.explore(demo_engine, **kwargs)


def test_the_table_survives_a_hostile_district_code(demo_engine: Engine) -> None:
    """District codes are bound parameters: a quote is just a code that matches nothing."""
    out = ex.explore(
        demo_engine, "urban_new_employment", "area", None, "year", (2026, 2026), ("x' OR '1'='1",)
    )
    assert out.empty
    assert not ex.explore(demo_engine, "urban_new_employment", "area", None, "year", (2026, 2026)).empty


# --- the page ---------------------------------------------------------------------------------------------------


def open_page(monkeypatch: pytest.MonkeyPatch, url: str, params: dict[str, str]) -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("pages/explore.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def names(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    return dict(zip(tables["area"]["area_code"], tables["area"]["name_en"], strict=True))


def test_the_page_rebuilds_the_view_from_its_url(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    params = {
        "measure": "registered_unemployed",
        "rows": "period",
        "cols": "area",
        "grain": "quarter",
        "area_level": "district",
        "from": "2025",
        "to": "2026",
        "districts": "420102,420116",
    }
    at = open_page(monkeypatch, demo_url, params)
    shown = at.dataframe[0].value.set_index("Period")
    want = brute(
        raw(demo_url),
        "registered_unemployed",
        "period",
        "area",
        "quarter",
        (2025, 2026),
        ("420102", "420116"),
        "district",
    )
    wide = want.pivot(index="period", columns="area", values="value").rename(columns=names(raw(demo_url)))
    # quarters as a reader reads them, the one the data stop inside marked (the demo ends in October 2026)
    assert list(shown.index) == [
        shown_period(f"{y}-Q{q}", "en", (2026, 10)) for y in (2025, 2026) for q in (1, 2, 3, 4)
    ]
    assert sorted(shown.columns) == sorted(wide.columns) == ["Huangpi District", "Jiang'an District"]
    np.testing.assert_allclose(shown[wide.columns].to_numpy(float), wide.to_numpy(float))
    assert at.multiselect[0].value == ["420102", "420116"]
    for key, value in params.items():
        assert at.query_params[key] == value, key


def test_a_group_view_by_month(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    params = {
        "measure": "urban_new_employment",
        "rows": "group",
        "cols": "",
        "grain": "month",
        "from": "2026",
        "to": "2026",
    }
    at = open_page(monkeypatch, demo_url, params)
    shown = at.dataframe[0].value.set_index("Group")["Urban new employment"]
    shown = shown.drop(index=t("explore_total", "en"), errors="ignore")  # the pivot's total row
    want = brute(
        raw(demo_url), "urban_new_employment", "group", None, "month", (2026, 2026), None, "district"
    )
    assert shown["College graduates"] == pytest.approx(want.set_index("group").loc["graduate", "value"])
    assert shown.sum() == pytest.approx(want["value"].sum())
    assert len(shown) == len(want) == 5


def test_a_malformed_url_falls_back_to_the_default_view(
    monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    bad = {
        "measure": "'; DROP TABLE agg_monthly; --",
        "rows": "nonsense",
        "cols": "also_bad",
        "grain": "fortnight",
        "area_level": "galaxy",
        "from": "abc",
        "to": "1066",
        "districts": "999999,,<script>",
    }
    at = open_page(monkeypatch, demo_url, bad)
    assert not at.error
    default = open_page(monkeypatch, demo_url, {})
    assert at.selectbox(key="measure").value == "urban_new_employment"
    assert at.selectbox(key="rows").value == "area"
    assert at.multiselect[0].value == []
    pd.testing.assert_frame_equal(at.dataframe[0].value, default.dataframe[0].value)
    assert at.query_params["grain"] == "year" and at.query_params["measure"] == "urban_new_employment"
    assert "districts" not in at.query_params


def test_a_role_district_narrows_the_filter(demo_engine: Engine) -> None:
    """``district_code`` (forced in for a district planner) intersects with the districts chosen."""
    args = ("urban_new_employment", "area", None, "year", (2026, 2026))
    own = ex.explore(demo_engine, *args, district_code="420116")
    assert list(own["area"]) == ["420116"]
    both = ex.explore(demo_engine, *args, districts=("420102", "420116"), district_code="420116")
    pd.testing.assert_frame_equal(both, own)
    assert ex.explore(demo_engine, *args, districts=("420102",), district_code="420116").empty
