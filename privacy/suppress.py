"""Primary and secondary suppression of small counts in aggregate tables.

Primary: a row whose person count is below k has its sensitive values blanked. Secondary: when a group of rows
that add up to a shown total has exactly one blanked row, the next smallest row of the group is blanked too, so
the hidden figure cannot be recovered by subtracting the others from the total (or two filtered views).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

MIN_K = 5  # never below this, whatever the configuration says


def suppress(
    frame: pd.DataFrame, k: int, values: Sequence[str], count: str = "persons", groups: Sequence[str] = ()
) -> pd.DataFrame:
    """A copy of ``frame`` with ``values`` set to NaN where fewer than ``k`` persons stand behind a row.

    ``count`` names the column with the number of persons behind each row (rows with NaN counts are left
    alone: they are not person counts). ``groups`` are the columns whose rows add up to a total shown
    elsewhere (secondary suppression within each group). Adds a boolean ``suppressed`` column.
    """
    k = max(int(k), MIN_K)
    out = frame.copy()
    if out.empty or count not in out.columns:
        out["suppressed"] = False
        return out
    persons = pd.to_numeric(out[count], errors="coerce")
    hidden = (persons < k).fillna(False).to_numpy()
    keys = [g for g in groups if g in out.columns]
    grouped = out.groupby(keys, sort=False).indices.values() if keys else [np.arange(len(out))]
    for idx in grouped:
        idx = np.asarray(idx)
        if len(idx) > 1 and hidden[idx].sum() == 1:
            candidates = idx[~hidden[idx]]
            if candidates.size:
                hidden[candidates[np.argmin(persons.to_numpy()[candidates])]] = True
    cols = [c for c in values if c in out.columns]
    for c in cols:
        out[c] = out[c].astype(float).where(~hidden)
    out["suppressed"] = hidden
    return out
