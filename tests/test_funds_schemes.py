"""Scheme storage: save / load / list round trip and refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from figures import schemes as scheme_figures
from jobs import schemes
from scoring import PRESETS, Scheme, SchemeError
from store import schema as s
from store.db import make_engine, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database with the schema, on each backend."""
    url = (
        f"sqlite:///{tmp_path / 'schemes.sqlite'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    upgrade(make_engine(url))
    return url


def rows(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(s.scoring_scheme)).scalar_one())


def test_save_load_list_and_refuse(fresh_url: str) -> None:
    engine = make_engine(fresh_url)
    listed = scheme_figures.list_schemes(lambda fn, *a, **k: fn(engine, *a, **k))
    # the scoring presets, then seed 002's transfer preset (#16: listed as kind "transfer", never a scoring choice)
    assert (
        listed["name"].tolist() == [*PRESETS, "wuhan_2009"]
        and listed["locked"].all()
        and listed["preset"].all()
    )
    assert listed["kind"].tolist() == ["score"] * len(PRESETS) + ["transfer"]

    what_if = PRESETS["grading_100"].with_name("2025 what-if").with_weights({"satisfaction_score": 25.0})
    when = datetime(2026, 11, 2, 9, 30)
    schemes.save_scheme(engine, what_if, "planner@bureau", now=when)
    loaded = scheme_figures.load_scheme(lambda fn, *a, **k: fn(engine, *a, **k), "2025 what-if")
    assert loaded == what_if and loaded.weights["satisfaction_score"] == 25.0 and not loaded.locked
    listed = scheme_figures.list_schemes(lambda fn, *a, **k: fn(engine, *a, **k)).set_index("name")
    assert listed.loc["2025 what-if", "created_by"] == "planner@bureau"
    assert listed.loc["2025 what-if", "created_at"] == when and not listed.loc["2025 what-if", "preset"]

    # An unlocked scheme may be replaced (same name, new definition, new author).
    changed = what_if.with_weights({"satisfaction_score": 5.0})
    schemes.save_scheme(engine, changed, "director", now=when)
    assert (
        scheme_figures.load_scheme(lambda fn, *a, **k: fn(engine, *a, **k), "2025 what-if").weights[
            "satisfaction_score"
        ]
        == 5.0
    )
    assert rows(engine) == 1

    # Refusals leave the table untouched.
    with pytest.raises(schemes.SchemeRefused, match="preset"):
        schemes.save_scheme(engine, PRESETS["factor_method"].with_name("factor_method"), "x")
    official = PRESETS["factor_method"].with_name("2025 official").replace(locked=True)
    schemes.save_scheme(engine, official, "director")
    assert scheme_figures.load_scheme(lambda fn, *a, **k: fn(engine, *a, **k), "2025 official").locked
    with pytest.raises(schemes.SchemeRefused, match="locked"):
        schemes.save_scheme(engine, PRESETS["factor_method"].with_name("2025 official"), "someone else")
    with pytest.raises(schemes.SchemeRefused):
        schemes.save_scheme(engine, what_if.replace(name=" padded "), "x")
    with pytest.raises(schemes.SchemeRefused):
        schemes.save_scheme(engine, what_if.replace(name="x" * 65), "x")
    with pytest.raises(SchemeError):
        schemes.save_scheme(engine, {"name": "not a scheme"}, "x")  # type: ignore[arg-type]
    assert rows(engine) == 2
    assert scheme_figures.load_scheme(lambda fn, *a, **k: fn(engine, *a, **k), "2025 official") == official
    assert (
        scheme_figures.load_scheme(lambda fn, *a, **k: fn(engine, *a, **k), "grading_100")
        is PRESETS["grading_100"]
    )
    with pytest.raises(KeyError):
        scheme_figures.load_scheme(lambda fn, *a, **k: fn(engine, *a, **k), "no such scheme")
    assert scheme_figures.list_schemes(lambda fn, *a, **k: fn(engine, *a, **k))["name"].tolist()[:3] == list(
        PRESETS
    )
    engine.dispose()


def test_stored_definition_is_validated_on_load(fresh_url: str) -> None:
    """A hand-edited row with a typo is refused on load (Scheme.from_dict rejects unknown keys)."""
    engine = make_engine(fresh_url)
    good = PRESETS["guarantee_fund_5"].with_name("copy")
    schemes.save_scheme(engine, good, "x")
    bad = good.to_dict()
    bad["indicators"][0]["wieght"] = 3
    import json

    with engine.begin() as conn:
        conn.execute(s.scoring_scheme.update().values(definition_json=json.dumps(bad)))
    with pytest.raises(SchemeError, match="unknown keys"):
        scheme_figures.load_scheme(lambda fn, *a, **k: fn(engine, *a, **k), "copy")
    assert isinstance(Scheme.from_json(good.to_json()), Scheme)
    engine.dispose()
