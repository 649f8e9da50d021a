"""Normalisation and aggregation against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scoring import aggregate, normalise


def test_minmax_respects_direction() -> None:
    s = pd.Series([10.0, 20.0, 40.0], index=["A", "B", "C"], name="x")
    # (x - 10) / 30 * 100 and, lower-better, (40 - x) / 30 * 100.
    assert normalise(s, "minmax").tolist() == pytest.approx([0, 100 / 3, 100], abs=1e-12)
    assert normalise(s, "minmax", "lower").tolist() == pytest.approx([100, 200 / 3, 0], abs=1e-12)
    assert list(normalise(s, "minmax").index) == ["A", "B", "C"]


def test_constant_columns_give_100_not_nan() -> None:
    s = pd.Series([7.0, 7.0, 7.0])
    for method in ("minmax", "rank", "fracmax"):
        assert normalise(s, method).tolist() == [100.0, 100.0, 100.0]
    # z-score: everybody is at the mean (see docs/scoring.md for why not 100).
    assert normalise(s, "zscore").tolist() == [0.0, 0.0, 0.0]


def test_rank_is_a_percentile_with_ties_averaged() -> None:
    s = pd.Series([1.0, 2.0, 2.0, 3.0])
    # average ranks 1, 2.5, 2.5, 4 → (r - 1) / 3 * 100.
    assert normalise(s, "rank").tolist() == pytest.approx([0, 50, 50, 100])
    assert normalise(s, "rank", "lower").tolist() == pytest.approx([100, 50, 50, 0])


def test_zscore_uses_sample_sd() -> None:
    s = pd.Series([1.0, 2.0, 3.0])  # mean 2, sample sd 1
    assert normalise(s, "zscore").tolist() == pytest.approx([-1, 0, 1])
    assert normalise(s, "zscore", "lower").tolist() == pytest.approx([1, 0, -1])


def test_distance_to_target_is_capped() -> None:
    own_funds = pd.Series([0.75, 1.5, 3.0])
    assert normalise(own_funds, "target", "higher", target=1.5).tolist() == pytest.approx([50, 100, 100])
    balance = pd.Series([25.0, 50.0, 100.0, 0.0])  # lower-better, full marks under 50
    assert normalise(balance, "target", "lower", target=50).tolist() == pytest.approx([100, 100, 50, 100])


def test_missing_values_stay_missing_and_are_ignored_by_statistics() -> None:
    s = pd.Series([10.0, np.nan, 30.0])
    out = normalise(s, "minmax")
    assert out.iloc[0] == 0 and math.isnan(out.iloc[1]) and out.iloc[2] == 100


def test_dataframe_keeps_shape_and_takes_per_column_options() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [30.0, 20.0, 10.0]}, index=["x", "y", "z"])
    out = normalise(df, "minmax", direction={"a": "higher", "b": "lower"})
    assert out.shape == df.shape and list(out.index) == ["x", "y", "z"]
    assert out["a"].tolist() == out["b"].tolist() == pytest.approx([0, 50, 100])


def test_unknown_method_and_infinite_values_raise() -> None:
    with pytest.raises(ValueError, match="unknown normalisation"):
        normalise(pd.Series([1.0, 2.0]), "log")
    with pytest.raises(ValueError, match="finite"):
        normalise(pd.Series([1.0, np.inf]), "minmax")
    with pytest.raises(ValueError, match="target > 0"):
        normalise(pd.Series([1.0, 2.0]), "target")


def test_arithmetic_aggregate_renormalises_weights() -> None:
    df = pd.DataFrame({"a": [0.0, 100.0], "b": [100.0, 50.0]})
    out = aggregate(df, {"a": 3, "b": 1})
    assert out.tolist() == pytest.approx([25.0, 87.5])


def test_geometric_aggregate_shifts_by_one_on_0_100_scales() -> None:
    df = pd.DataFrame({"a": [0.0, 100.0, 100.0], "b": [100.0, 100.0, 0.0]})
    out = aggregate(df, {"a": 1, "b": 1}, method="geometric")
    # sqrt((0 + 1) * (100 + 1)) - 1: a zero no longer wipes out the product; 100 stays 100.
    assert out.tolist() == pytest.approx([math.sqrt(101) - 1, 100.0, math.sqrt(101) - 1])
    # Partial compensation: the unbalanced district scores below its arithmetic mean of 50.
    assert out.iloc[0] < 50


def test_aggregate_skips_missing_values_and_validates_weights() -> None:
    df = pd.DataFrame({"a": [np.nan, 40.0], "b": [80.0, 60.0]})
    assert aggregate(df, {"a": 1, "b": 1}).tolist() == pytest.approx([80.0, 50.0])
    with pytest.raises(ValueError, match="all zero"):
        aggregate(df, {"a": 0, "b": 0})
    with pytest.raises(ValueError, match=">= 0"):
        aggregate(df, {"a": -1, "b": 1})
    with pytest.raises(ValueError, match="not in the data"):
        aggregate(df, {"c": 1})
