"""Schemes are data: validation, copies, JSON round trip, presets."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import PRESETS, GradeBand, Scheme, SchemeError, SchemeIndicator

KNOWN_CODES = {
    "own_funds_ratio_pct",
    "spending_progress_pct",
    "year_end_balance_pct",
    "cost_per_placement_yuan",
    "loan_target_yuan",
    "loans_issued_vs_target_pct",
    "last_year_completion_pct",
    "loan_recovery_rate_pct",
    "loan_overdue_rate_pct",
    "loan_balance_yuan",
    "guarantee_fund_balance_yuan",
    "targets_met_share_pct",
    "satisfaction_score",
    "working_age_population",
    "registered_unemployed",
    "fiscal_capacity_per_capita_yuan",
}


def _simple(**kw: object) -> Scheme:
    base: dict[str, object] = {
        "name": "s",
        "indicators": [SchemeIndicator(code="a", weight=1), SchemeIndicator(code="b", weight=3)],
    }
    base.update(kw)
    return Scheme(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": -1}, "weight must be"),
        ({"weight": float("nan")}, "weight must be"),
        ({"normalisation": "log"}, "unknown normalisation 'log'"),
        ({"normalisation": "target"}, "needs a target > 0"),
        ({"normalisation": "target", "target": 0}, "needs a target > 0"),
        ({"direction": "up"}, "direction must be one of"),
        ({"code": ""}, "non-empty"),
    ],
)
def test_indicator_validation(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"code": "x"}
    args.update(kwargs)
    with pytest.raises(SchemeError, match=message):
        SchemeIndicator(**args)  # type: ignore[arg-type]


def test_scheme_validation_messages() -> None:
    with pytest.raises(SchemeError, match="weights are all zero"):
        _simple(indicators=[SchemeIndicator(code="a", weight=0), SchemeIndicator(code="b", weight=0)])
    with pytest.raises(SchemeError, match="duplicate indicator codes"):
        _simple(indicators=[SchemeIndicator(code="a"), SchemeIndicator(code="a")])
    with pytest.raises(SchemeError, match="aggregation must be"):
        _simple(aggregation="harmonic")
    with pytest.raises(SchemeError, match="missing rule"):
        _simple(missing="drop")
    with pytest.raises(SchemeError, match="at least one indicator"):
        _simple(indicators=[])
    with pytest.raises(SchemeError, match="falling min_score"):
        _simple(grade_bands=[GradeBand(label="a", min_score=50), GradeBand(label="b", min_score=60)])
    with pytest.raises(SchemeError, match="overflow_label"):
        _simple(grade_bands=[GradeBand(label="a", min_score=50, max_share=0.3)])
    # SchemeError is a ValueError, so callers that only know ValueError still catch it.
    assert issubclass(SchemeError, ValueError)


def test_locked_preset_needs_a_named_copy() -> None:
    preset = PRESETS["guarantee_fund_5"]
    with pytest.raises(SchemeError, match="locked"):
        preset.with_weights({"loan_target_yuan": 50})
    copy = preset.with_name("what-if: more weight on target")
    assert not copy.locked and copy.name != preset.name
    changed = copy.with_weights({"loan_target_yuan": 50})
    assert changed.weights["loan_target_yuan"] == 50
    assert preset.weights["loan_target_yuan"] == 30  # the preset itself never changes
    assert (
        changed.with_indicator("loan_balance_yuan", normalisation="rank")
        .indicator("loan_balance_yuan")
        .normalisation
        == "rank"
    )
    assert "loan_balance_yuan" not in changed.without_indicator("loan_balance_yuan").codes
    with pytest.raises(SchemeError, match="no indicators"):
        changed.with_weights({"nope": 1})


def test_from_dict_rejects_unknown_keys_and_bad_format() -> None:
    data = _simple().to_dict()
    with pytest.raises(SchemeError, match="unknown keys"):
        Scheme.from_dict({**data, "wieghts": 1})
    bad_ind = {**data, "indicators": [{"code": "a", "wieght": 1}]}
    with pytest.raises(SchemeError, match="unknown keys"):
        Scheme.from_dict(bad_ind)
    with pytest.raises(SchemeError, match="unsupported scheme format"):
        Scheme.from_dict({**data, "format": "other/9"})


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_locked_valid_and_use_database_codes(name: str) -> None:
    scheme = PRESETS[name]
    assert scheme.locked and scheme.name == name
    assert set(scheme.codes) <= KNOWN_CODES
    assert Scheme.from_json(scheme.to_json()) == scheme


def test_preset_weights_as_documented() -> None:
    g5 = PRESETS["guarantee_fund_5"].weights
    assert g5 == {
        "loan_target_yuan": 30,
        "last_year_completion_pct": 20,
        "loan_recovery_rate_pct": 20,
        "loan_balance_yuan": 15,
        "guarantee_fund_balance_yuan": 15,
    }
    fm = PRESETS["factor_method"]
    groups: dict[str | None, float] = {}
    for ind in fm.indicators:
        groups[ind.group] = groups.get(ind.group, 0.0) + ind.weight
    assert groups == pytest.approx({"performance": 0.5, "input": 0.2, "fiscal_difficulty": 0.2, "basic": 0.1})
    assert sum(PRESETS["grading_100"].weights.values()) == 100


names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12).filter(
    lambda s: s.strip() != ""
)
weights = st.floats(min_value=0.001, max_value=1e6, allow_nan=False)


@st.composite
def indicators(draw: st.DrawFn, code: str) -> SchemeIndicator:
    norm = draw(st.sampled_from(["minmax", "zscore", "rank", "target", "fracmax"]))
    target = draw(st.floats(min_value=0.01, max_value=1e6)) if norm == "target" else None
    if norm != "target" and draw(st.booleans()):
        target = draw(st.floats(min_value=-1e6, max_value=1e6))
    return SchemeIndicator(
        code=code,
        direction=draw(st.sampled_from(["higher", "lower"])),
        normalisation=norm,
        weight=draw(weights),
        target=target,
        group=draw(st.none() | names),
    )


@st.composite
def schemes(draw: st.DrawFn) -> Scheme:
    codes = draw(st.lists(names, min_size=1, max_size=6, unique=True))
    bands = ()
    if draw(st.booleans()):
        bands = (
            GradeBand(
                label="top",
                min_score=draw(st.floats(60, 100)),
                max_share=draw(st.floats(0.05, 1.0)),
                overflow_label="mid",
            ),
            GradeBand(label="mid", min_score=draw(st.floats(0, 59))),
            GradeBand(label="low", min_score=None),
        )
    return Scheme(
        name=draw(names),
        description=draw(st.text(max_size=30)),
        indicators=tuple(draw(indicators(c)) for c in codes),
        aggregation=draw(st.sampled_from(["arithmetic", "geometric"])),
        missing=draw(st.sampled_from(["zero", "reweight", "mean"])),
        locked=draw(st.booleans()),
        grade_bands=bands,
    )


@settings(max_examples=150, deadline=None)
@given(schemes())
def test_to_dict_from_dict_round_trip_through_json(scheme: Scheme) -> None:
    text = json.dumps(scheme.to_dict())
    assert Scheme.from_dict(json.loads(text)) == scheme
    assert Scheme.from_json(scheme.to_json()) == scheme
