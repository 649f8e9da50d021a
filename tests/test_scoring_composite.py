"""score(): a hand-worked example, ties, missing-data rules, grade caps and a monotonicity property."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scoring import PRESETS, Scheme, SchemeIndicator, score, score_panel

HAND = pd.DataFrame(
    {"area_code": ["A", "B", "C"], "x1": [10.0, 20.0, 40.0], "x2": [50.0, 30.0, 40.0], "x3": [0.8, 1.2, 1.0]}
)
HAND_SCHEME = Scheme(
    name="hand",
    indicators=[
        SchemeIndicator(code="x1", direction="higher", normalisation="minmax", weight=2),
        SchemeIndicator(code="x2", direction="lower", normalisation="minmax", weight=1),
        SchemeIndicator(code="x3", direction="higher", normalisation="target", target=1.0, weight=1),
    ],
)


def test_hand_worked_example() -> None:
    # Weights 2:1:1 → 0.5, 0.25, 0.25.
    # x1 min-max (10..40):           A 0,  B 10/30*100 = 33.33…, C 100
    # x2 min-max, lower (30..50):    A (50-50)/20 = 0, B (50-30)/20 = 100, C (50-40)/20 = 50
    # x3 target 1.0, capped at 100:  A 80, B 100 (1.2 capped), C 100
    # A = 0.5*0     + 0.25*0   + 0.25*80  = 20
    # B = 0.5*100/3 + 0.25*100 + 0.25*100 = 200/3 = 66.67
    # C = 0.5*100   + 0.25*50  + 0.25*100 = 87.5
    # ranks: C 1, B 2, A 3
    out = score(HAND, HAND_SCHEME)
    assert out["area_code"].tolist() == ["A", "B", "C"]
    assert out["score"].tolist() == pytest.approx([20.0, 200 / 3, 87.5], abs=1e-9)
    assert out["rank"].tolist() == [3, 2, 1]
    assert out["norm_x1"].tolist() == pytest.approx([0.0, 100 / 3, 100.0], abs=1e-9)
    assert out["norm_x2"].tolist() == pytest.approx([0.0, 100.0, 50.0], abs=1e-9)
    assert out["norm_x3"].tolist() == pytest.approx([80.0, 100.0, 100.0], abs=1e-9)
    assert out["missing"].tolist() == ["", "", ""]
    assert "grade" not in out.columns


def test_hand_worked_example_geometric() -> None:
    # Shift 1 on 0–100 scales: G = (x1+1)^0.5 (x2+1)^0.25 (x3+1)^0.25 - 1.
    # A = 1 * 1 * 81^0.25 - 1 = 3 - 1 = 2 exactly.
    geo = HAND_SCHEME.replace(aggregation="geometric")
    out = score(HAND.set_index("area_code"), geo)
    b = (100 / 3 + 1) ** 0.5 * 101**0.25 * 101**0.25 - 1
    c = 101**0.5 * 51**0.25 * 101**0.25 - 1
    assert out["score"].tolist() == pytest.approx([2.0, b, c], abs=1e-9)
    assert out["rank"].tolist() == [3, 2, 1]


def test_ties_share_the_best_rank() -> None:
    df = pd.DataFrame({"x1": [5.0, 9.0, 9.0, 1.0]}, index=pd.Index(["A", "B", "C", "D"], name="area_code"))
    scheme = Scheme(name="t", indicators=[SchemeIndicator(code="x1")])
    assert score(df, scheme)["rank"].tolist() == [3, 1, 1, 4]


MISSING = pd.DataFrame({"area_code": ["A", "B", "C"], "x1": [np.nan, 20.0, 40.0], "x2": [40.0, 20.0, 30.0]})


@pytest.mark.parametrize(
    ("rule", "scores", "ranks", "a_x1"),
    [
        # x1 normalised over B, C only: B 0, C 100.  x2: A 100, B 0, C 50.
        ("zero", [50.0, 0.0, 75.0], [2, 3, 1], 0.0),  # A's x1 scores 0: (0 + 100) / 2
        ("reweight", [100.0, 0.0, 75.0], [1, 3, 2], np.nan),  # A is judged on x2 alone
        # A's x1 := mean(20, 40) = 30 → x1 = 50, 0, 100 → A (50 + 100) / 2 = 75 ties with C.
        ("mean", [75.0, 0.0, 75.0], [1, 3, 1], 50.0),
    ],
)
def test_missing_data_rules(rule: str, scores: list[float], ranks: list[int], a_x1: float) -> None:
    scheme = Scheme(
        name=rule, missing=rule, indicators=[SchemeIndicator(code="x1"), SchemeIndicator(code="x2")]
    )
    out = score(MISSING, scheme)
    assert out["score"].tolist() == pytest.approx(scores, abs=1e-9)
    assert out["rank"].tolist() == ranks
    assert out["norm_x1"].iloc[0] == pytest.approx(a_x1, nan_ok=True)
    assert out["missing"].iloc[0].startswith("x1 (") and out["missing"].iloc[1] == ""
    assert out.attrs["missing_rule"] == rule


def test_unscored_district_under_reweight_gets_no_rank() -> None:
    df = pd.DataFrame({"area_code": ["A", "B"], "x1": [np.nan, 1.0]})
    out = score(df, Scheme(name="r", indicators=[SchemeIndicator(code="x1")]))
    assert np.isnan(out["score"].iloc[0]) and out["rank"].isna().iloc[0] and out["rank"].iloc[1] == 1


def _graded(values: list[float]) -> pd.DataFrame:
    scheme = Scheme(
        name="g",
        indicators=[SchemeIndicator(code="pts", normalisation="target", target=100)],  # score = points
        grade_bands=PRESETS["grading_100"].grade_bands,
    )
    df = pd.DataFrame({"area_code": [f"D{i}" for i in range(len(values))], "pts": values})
    return score(df, scheme)


def test_excellent_is_capped_at_30_percent() -> None:
    out = _graded([95, 94, 93, 92, 91, 85, 80, 76, 60, 50])
    assert out["grade"].tolist() == ["excellent"] * 3 + ["pass"] * 5 + ["fail"] * 2
    # 13 districts: floor(0.3 * 13) = 3 may be excellent.
    out13 = _graded([99, 98, 97, 96, 95, 90, 89, 75, 74.99, 10, 20, 30, 40])
    assert out13["grade"].tolist()[:9] == ["excellent"] * 3 + ["pass"] * 5 + ["fail"]


def test_tie_group_straddling_the_cap_drops_together() -> None:
    out = _graded([95, 93, 93, 93, 80, 80, 70, 70, 70, 70])
    assert out["grade"].tolist()[:4] == ["excellent", "pass", "pass", "pass"]


def test_input_errors_are_explicit() -> None:
    with pytest.raises(ValueError, match="duplicate area codes"):
        score(pd.DataFrame({"area_code": ["A", "A"], "x1": [1.0, 2.0]}), HAND_SCHEME)
    with pytest.raises(ValueError, match=r"missing from the data: \['x2', 'x3'\]"):
        score(pd.DataFrame({"area_code": ["A"], "x1": [1.0]}), HAND_SCHEME)
    with pytest.raises(ValueError, match="several years"):
        score(pd.concat([HAND.assign(year=2024), HAND.assign(year=2025)]), HAND_SCHEME)
    with pytest.raises(ValueError, match="no data at all"):
        score(
            MISSING.assign(x1=np.nan),
            Scheme(name="m", missing="mean", indicators=[SchemeIndicator(code="x1")]),
        )


def test_score_panel_normalises_within_each_year() -> None:
    panel = pd.concat([HAND.assign(year=2024), HAND.assign(year=2025, x1=HAND["x1"] * 10)])
    out = score_panel(panel, HAND_SCHEME)
    assert out["year"].tolist() == [2024] * 3 + [2025] * 3
    # Scaling a column leaves min-max scores unchanged, year by year.
    assert out["score"].tolist()[:3] == pytest.approx(out["score"].tolist()[3:], abs=1e-9)


@st.composite
def raised_district(draw: st.DrawFn) -> tuple[pd.DataFrame, Scheme, int, int, float]:
    n = draw(st.integers(2, 8))
    m = draw(st.integers(1, 4))
    values = draw(st.lists(st.lists(st.integers(0, 1000), min_size=m, max_size=m), min_size=n, max_size=n))
    method = draw(st.sampled_from(["minmax", "rank", "target", "fracmax"]))
    inds = [
        SchemeIndicator(
            code=f"x{j}",
            normalisation=method,
            target=500.0 if method == "target" else None,
            weight=draw(st.integers(0, 5)),
        )
        for j in range(m)
    ]
    assume(sum(i.weight for i in inds) > 0)
    scheme = Scheme(name="p", indicators=inds, aggregation=draw(st.sampled_from(["arithmetic", "geometric"])))
    df = pd.DataFrame(np.array(values, dtype=float), columns=[f"x{j}" for j in range(m)])
    return (
        df,
        scheme,
        draw(st.integers(0, n - 1)),
        draw(st.integers(0, m - 1)),
        float(draw(st.integers(1, 500))),
    )


@settings(max_examples=200, deadline=None)
@given(raised_district())
def test_raising_an_indicator_never_hurts_the_district(
    case: tuple[pd.DataFrame, Scheme, int, int, float],
) -> None:
    """Raising district d's higher-better value on one indicator never lowers d's score or rank.

    Why this is true for min-max, rank, target and fracmax: d's own normalised value can only rise
    (or stay at 100), while every *other* district's value on that indicator can only fall or stay
    (a higher max or min shrinks (x - min) / (max - min); others' percentile ranks can only drop;
    target and fracmax others are unchanged or divided by a larger max).  Both aggregations are
    increasing in each value, so d's score does not fall and nobody overtakes d.  Other districts'
    scores *do* change, so the true statement is about d's score and d's rank, not about scores of
    the rest.  (With z-scores d's own score still cannot fall, but others' z-scores may rise, so d's
    rank can worsen; see the next test.)
    """
    df, scheme, d, j, delta = case
    before = score(df, scheme)
    raised = df.copy()
    raised.iloc[d, j] += delta
    after = score(raised, scheme)
    assert after["score"].iloc[d] >= before["score"].iloc[d] - 1e-9
    assert after["rank"].iloc[d] <= before["rank"].iloc[d]


@settings(max_examples=100, deadline=None)
@given(raised_district())
def test_zscore_own_score_is_monotone(case: tuple[pd.DataFrame, Scheme, int, int, float]) -> None:
    df, scheme, d, j, delta = case
    zs = Scheme(
        name="z",
        aggregation="arithmetic",
        indicators=[
            SchemeIndicator(code=i.code, normalisation="zscore", weight=i.weight) for i in scheme.indicators
        ],
    )
    raised = df.copy()
    raised.iloc[d, j] += delta
    assert score(raised, zs)["score"].iloc[d] >= score(df, zs)["score"].iloc[d] - 1e-9
