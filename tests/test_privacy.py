"""Small-count suppression: primary, secondary, year-to-date blocks, filtered totals, and that no hidden figure
can be recovered from totals (unit level; every output path is tested in tests/test_privacy_paths.py)."""

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import block_ends, protect, suppress


def test_primary_and_secondary_suppression() -> None:
    frame = pd.DataFrame(
        {"area": list("abcd"), "persons": [3, 40, 12, 25], "actual": [3.0, 40.0, 12.0, 25.0]}
    )
    out = suppress(frame, k=10, values=["actual"])
    # a (3 persons) is hidden; c is the next smallest and hidden too, so a cannot be had from the total
    assert out["suppressed"].tolist() == [True, False, True, False]
    assert out["actual"].isna().tolist() == [True, False, True, False]


def test_k_never_below_five() -> None:
    frame = pd.DataFrame({"persons": [4, 100, 100], "v": [4.0, 100.0, 100.0]})
    assert suppress(frame, k=1, values=["v"])["suppressed"].iloc[0]


def test_a_zero_reveals_nobody_and_is_shown() -> None:
    frame = pd.DataFrame({"persons": [0, 30, 40], "v": [0.0, 30.0, 40.0]})
    assert not suppress(frame, k=10, values=["v"])["suppressed"].any()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60), min_size=2, max_size=12), st.integers(5, 20))
def test_no_hidden_cell_is_recoverable_from_the_group_total(counts: list[int], k: int) -> None:
    frame = pd.DataFrame({"g": "x", "persons": counts, "v": np.array(counts, dtype=float)})
    out = suppress(frame, k=k, values=["v"], groups=["g"])
    hidden = out["suppressed"].to_numpy()
    c = np.array(counts)
    assert (hidden >= ((c > 0) & (c < k))).all()  # every small cell hidden
    assert hidden.sum() != 1  # a single hidden cell could be recovered as total − the others


def test_block_ends_by_hand() -> None:
    # k = 10: 3 (open) 8 (closes at 11) 20 (closes) 0 (nothing added: still closed) 4 (open) 6 (closes at 10)
    assert block_ends([3, 8, 20, 0, 4, 6], 10) == [False, True, True, True, False, True]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=25), min_size=1, max_size=12), st.integers(5, 15))
def test_shown_year_to_date_figures_never_differ_by_a_small_count(months: list[int], k: int) -> None:
    """Any two months whose year-to-date totals may be shown are at least k persons (or none) apart."""
    ends = [0] + [i + 1 for i, ok in enumerate(block_ends(months, k)) if ok]
    cum = np.concatenate([[0], np.cumsum(months)])
    for a, b in itertools.combinations(ends, 2):
        assert cum[b] - cum[a] == 0 or cum[b] - cum[a] >= k


def test_year_to_date_rule_and_monthly_values() -> None:
    months = [3.0, 8.0, 20.0, 4.0]
    frame = pd.DataFrame(
        {
            "month": [1, 2, 3, 4],
            "value": months,
            "cumulative": np.cumsum(months),
            "cum_persons": np.cumsum(months),
            "months_persons": [tuple(months[: i + 1]) for i in range(4)],
        }
    )
    rule = {"values": ("cumulative",), "count": "cum_persons", "monthly": ("value",), "ytd": "months_persons"}
    out = protect(frame, 10, rule)
    assert "months_persons" not in out.columns  # helper columns never leave the privacy layer
    assert out["cumulative"].isna().tolist() == [True, False, False, True]
    # March's 20 is shown: February and March both end a block; February's 8 is not (11 − 3 would give it away)
    assert out["value"].isna().tolist() == [True, True, False, True]


def test_secondary_suppression_runs_along_every_dimension() -> None:
    cells = pd.DataFrame(
        [(a, p, n) for a, p, n in itertools.product("xyz", ["2026-01", "2026-02", "2026-03"], [0])],
        columns=["area", "period", "persons"],
    )
    cells["persons"] = [3, 50, 60, 40, 45, 70, 80, 90, 55]  # only (x, 2026-01) is small
    cells["value"] = cells["persons"].astype(float)
    out = suppress(cells, 10, ["value"], dims=("area", "period"))
    hidden = out.pivot(index="area", columns="period", values="suppressed")
    assert hidden.loc["x", "2026-01"]
    assert (hidden.sum(axis=0).isin([0, 2, 3])).all() and (hidden.sum(axis=1).isin([0, 2, 3])).all()


def test_filtered_total_hidden_when_a_district_left_in_or_out_is_small() -> None:
    frame = pd.DataFrame({"period": ["2025", "2026"], "persons": [400, 500], "parts_persons": [3.0, 40.0]})
    frame["value"] = frame["persons"].astype(float)
    out = suppress(frame, 10, ["value"], parts="parts_persons")
    assert out["suppressed"].tolist()[0] and out["value"].isna().iloc[0]


def test_columns_resting_on_different_persons_are_suppressed_one_by_one() -> None:
    frame = pd.DataFrame(
        {
            "area": list("abcd"),
            "score": [70.0, 80.0, 90.0, 60.0],
            "n_responses": [4, 100, 200, 300],
            "rate": [1.0, 2.0, 3.0, 4.0],
            "n_loans": [50, 60, 70, 80],
        }
    )
    out = suppress(frame, 10, ["score", "rate"], counts={"score": "n_responses", "rate": "n_loans"})
    assert out["score"].isna().tolist() == [True, True, False, False]
    assert out["rate"].notna().all()
