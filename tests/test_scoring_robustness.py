"""Monte Carlo rank bands, effective weights and one-at-a-time sensitivity."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scoring import PRESETS, Scheme, SchemeIndicator, effective_weights, rank_uncertainty, score, sensitivity
from scoring.robustness import sensitivity_scenarios


def _frame(values: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(values, columns=[f"i{j}" for j in range(values.shape[1])])
    df.insert(0, "area_code", [f"D{i:02d}" for i in range(len(df))])
    return df


def _scheme(m: int, **kw: object) -> Scheme:
    return Scheme(name="mc", indicators=[SchemeIndicator(code=f"i{j}", weight=j + 1) for j in range(m)], **kw)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(2, 12), st.integers(1, 5)), elements=st.integers(0, 100).map(float)
    ),
    st.sampled_from(["arithmetic", "geometric"]),
    st.sampled_from(["zero", "reweight", "mean"]),
)
def test_zero_noise_gives_zero_width_bands(values: np.ndarray, aggregation: str, missing: str) -> None:
    assume(missing != "mean" or not np.isnan(values).all(axis=0).any())  # nothing to impute from
    out = rank_uncertainty(
        _frame(values), _scheme(values.shape[1], aggregation=aggregation, missing=missing), runs=50, noise=0.0
    )
    # NaN only for a district with no data at all under "reweight"; compare with NaN == NaN.
    for lo, hi in [
        ("rank_p05", "rank_p95"),
        ("rank_median", "rank_nominal"),
        ("score_p05", "score_p95"),
        ("score_median", "score_nominal"),
    ]:
        np.testing.assert_array_equal(out[lo].to_numpy(), out[hi].to_numpy())


def test_bands_are_ordered_reproducible_and_widen_with_alternatives() -> None:
    rng = np.random.default_rng(3)
    df = _frame(rng.uniform(0, 100, size=(15, 6)))
    scheme = _scheme(6)
    a = rank_uncertainty(df, scheme, runs=2000, seed=7)
    b = rank_uncertainty(df, scheme, runs=2000, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert (a["rank_p05"] <= a["rank_median"]).all() and (a["rank_median"] <= a["rank_p95"]).all()
    assert (a["rank_p95"] - a["rank_p05"]).sum() > 0
    c = rank_uncertainty(df, scheme, runs=2000, seed=7, normalisations=["rank", "zscore"])
    assert (c["rank_p95"] - c["rank_p05"]).sum() >= (a["rank_p95"] - a["rank_p05"]).sum()
    assert a["rank_nominal"].tolist() == [float(r) for r in score(df, scheme)["rank"]]


def test_identical_districts_tie_in_every_run() -> None:
    df = _frame(np.array([[10.0, 20.0], [10.0, 20.0], [0.0, 0.0]]))
    out = rank_uncertainty(df, _scheme(2), runs=500, noise=0.25)
    assert out["rank_p95"].tolist()[:2] == [1.0, 1.0]


def test_bad_arguments() -> None:
    df = _frame(np.eye(3))
    with pytest.raises(ValueError, match="noise"):
        rank_uncertainty(df, _scheme(3), noise=1.5)
    with pytest.raises(ValueError, match="runs"):
        rank_uncertainty(df, _scheme(3), runs=0)
    with pytest.raises(ValueError, match="unknown normalisations"):
        rank_uncertainty(df, _scheme(3), normalisations=["log"])


def test_ten_thousand_runs_are_fast() -> None:
    # The benchmark goal is < 1 s on 2 cores; leave headroom for a busy CI machine.
    df = _frame(np.random.default_rng(0).uniform(0, 100, size=(20, 12)))
    start = time.perf_counter()
    rank_uncertainty(df, _scheme(12), runs=10_000, normalisations=["rank", "zscore"])
    assert time.perf_counter() - start < 5.0


def test_effective_weights_of_orthogonal_indicators() -> None:
    # x1, x2 orthogonal with equal variance: composite = w1 x1 + w2 x2 → r_i² ∝ w_i².
    df = _frame(np.array([[0, 0], [0, 100], [100, 0], [100, 100]], dtype=float))
    equal = effective_weights(
        df, _scheme(2).replace(indicators=[SchemeIndicator(code="i0"), SchemeIndicator(code="i1")])
    )
    assert equal["effective_weight"].tolist() == pytest.approx([0.5, 0.5])
    tilted = effective_weights(
        df,
        _scheme(2).replace(
            indicators=[SchemeIndicator(code="i0", weight=3), SchemeIndicator(code="i1", weight=1)]
        ),
    )
    assert tilted["nominal_weight"].tolist() == pytest.approx([0.75, 0.25])
    assert tilted["effective_weight"].tolist() == pytest.approx([0.9, 0.1])  # 9 : 1
    assert list(tilted.columns) == ["code", "group", "nominal_weight", "effective_weight", "correlation"]


def test_effective_weights_sum_to_one_and_flag_constant_indicators() -> None:
    rng = np.random.default_rng(5)
    values = rng.uniform(0, 100, size=(14, 4))
    values[:, 3] = 42.0
    out = effective_weights(_frame(values), _scheme(4))
    assert out["effective_weight"].sum() == pytest.approx(1.0)
    assert out["effective_weight"].iloc[3] == 0.0


def test_sensitivity_finds_the_weight_that_breaks_a_tie() -> None:
    # A and B tie (100/0 vs 0/100, equal weights); lowering i0's weight lets B win (A falls to 2),
    # raising it lets A win (B falls to 2).  Normalisation/aggregation alternatives keep the tie.
    df = _frame(np.array([[100.0, 0.0], [0.0, 100.0]]))
    scheme = Scheme(name="tie", indicators=[SchemeIndicator(code="i0"), SchemeIndicator(code="i1")])
    out = sensitivity(df, scheme)
    assert out["area_code"].tolist() == ["D00", "D01"]
    assert out["driver"].tolist() == ["weight i0 -25%", "weight i0 +25%"]
    assert out["rank_shift"].tolist() == [1.0, 1.0]
    assert out["kind"].tolist() == ["weight", "weight"]
    long = sensitivity_scenarios(df, scheme)
    assert "normalisation minmax" not in set(long["scenario"])  # identical to the scheme: skipped


def test_sensitivity_reports_none_when_nothing_moves_a_district() -> None:
    df = _frame(np.array([[100.0, 100.0], [0.0, 0.0], [50.0, 40.0]]))
    out = sensitivity(df, _scheme(2))
    assert out["driver"].iloc[0] == "none" and out["max_abs_shift"].iloc[0] == 0


def test_presets_run_end_to_end() -> None:
    codes = sorted({i.code for s in PRESETS.values() for i in s.indicators})
    rng = np.random.default_rng(11)
    df = pd.DataFrame(rng.uniform(1, 100, size=(13, len(codes))), columns=codes)
    df.insert(0, "area_code", [f"A{i}" for i in range(13)])
    for scheme in PRESETS.values():
        band = rank_uncertainty(df, scheme, runs=200, normalisations=["minmax", "rank"])
        assert len(band) == 13 and band["rank_median"].between(1, 13).all()
        assert len(sensitivity(df, scheme)) == 13
        assert effective_weights(df, scheme)["effective_weight"].sum() == pytest.approx(1.0)
