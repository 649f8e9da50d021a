"""Small-count suppression: primary, secondary, and that no hidden figure can be recovered from totals."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import suppress


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


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60), min_size=2, max_size=12), st.integers(5, 20))
def test_no_hidden_cell_is_recoverable_from_the_group_total(counts: list[int], k: int) -> None:
    frame = pd.DataFrame({"g": "x", "persons": counts, "v": np.array(counts, dtype=float)})
    out = suppress(frame, k=k, values=["v"], groups=["g"])
    hidden = out["suppressed"].to_numpy()
    assert (hidden >= (np.array(counts) < k)).all()  # every small cell hidden
    assert hidden.sum() != 1  # a single hidden cell could be recovered as total − the others
