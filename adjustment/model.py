"""Regression-adjusted expected completion and peer groups (no database, no UI)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.cluster.vq import kmeans2, whiten

# Conditions a district does not control, in the panel's column names.
DRIVERS = ("log_labour_force", "unemployment_rate_pct", "tertiary_share_pct", "last_year_completion")


def expected_attainment(
    panel: pd.DataFrame, year: int, exclude_years: tuple[int, ...] = (2020,)
) -> pd.DataFrame:
    """Expected completion for each district in ``year`` from a regression on earlier years.

    ``panel`` has one row per district and year with ``area_code, year, completion`` and the DRIVERS columns.
    Returns ``area_code, actual, expected, difference`` (actual − expected, fraction points), ``r2``, ``n_obs``
    and one ``effect_<driver>`` column per driver: coefficient × (district value − mean of the year), i.e. how much
    that condition raises or lowers the district's expected completion against an average district.
    Empty when there are fewer than twice as many past observations as parameters.
    """
    empty = pd.DataFrame(columns=["area_code", "actual", "expected", "difference", "r2", "n_obs"])
    if panel.empty or not {"completion", "year", *DRIVERS} <= set(panel.columns):
        return empty
    data = panel.dropna(subset=["completion", *DRIVERS])
    train = data[(data["year"] < year) & ~data["year"].isin(exclude_years)]
    now = data[data["year"] == year]
    if len(train) < 2 * (len(DRIVERS) + 1) or now.empty:
        return empty
    x = sm.add_constant(train[list(DRIVERS)].astype(float), has_constant="add")
    fit = sm.OLS(train["completion"].astype(float), x).fit()
    xn = sm.add_constant(now[list(DRIVERS)].astype(float), has_constant="add")
    out = pd.DataFrame(
        {
            "area_code": now["area_code"].to_numpy(),
            "actual": now["completion"].astype(float).to_numpy(),
            "expected": np.asarray(fit.predict(xn), dtype=float),
        }
    )
    out["difference"] = out["actual"] - out["expected"]
    for d in DRIVERS:
        values = now[d].astype(float).to_numpy()
        out[f"effect_{d}"] = fit.params[d] * (values - values.mean())
    out["r2"] = float(fit.rsquared)
    out["n_obs"] = int(fit.nobs)
    return out


def peer_groups(conditions: pd.DataFrame, k: int = 3, seed: int = 0) -> pd.Series:
    """Groups of districts with similar conditions (k-means on standardised DRIVERS), labelled 1..k.

    Labels are ordered by the groups' mean labour force so that they are stable between runs.
    """
    data = conditions.set_index("area_code")[list(DRIVERS)].astype(float)
    data = data.fillna(data.mean())
    k = max(1, min(k, len(data)))
    if k == 1 or len(data) < 3:
        return pd.Series(1, index=data.index, name="peer_group")
    scaled = whiten(data.to_numpy() + 1e-12)
    _, labels = kmeans2(scaled, k, seed=seed, minit="++")
    order = pd.Series(data["log_labour_force"].to_numpy()).groupby(labels).mean().sort_values().index
    rename = {old: new + 1 for new, old in enumerate(order)}
    return pd.Series([rename[label] for label in labels], index=data.index, name="peer_group")
