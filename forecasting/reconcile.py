"""Make district forecasts add up to the city forecast: bottom-up, MinT (shrink) or top-down.

MinT: Wickramasuriya, Athanasopoulos & Hyndman (2019), JASA 114(526); residual covariance shrunk
towards its diagonal with the Schäfer & Strimmer (2005) intensity, as in the R package ``hts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

Base: TypeAlias = Mapping[str, pd.DataFrame] | pd.DataFrame


def _means(base: Base, total: str) -> tuple[list[str], np.ndarray, pd.Index]:
    """Node order [total, districts...] and the (h, nodes) matrix of base means."""
    if isinstance(base, pd.DataFrame):
        if total not in base.columns:
            raise KeyError(f"total column {total!r} missing")
        names = [total] + [c for c in base.columns if c != total]
        return names, base[names].to_numpy(float), base.index
    if total not in base:
        raise KeyError(f"total series {total!r} missing")
    names = [total] + [k for k in base if k != total]
    mat = np.column_stack([base[k]["mean"].to_numpy(dtype=float) for k in names])
    return names, mat, base[total].index


def shrink_covariance(resid: np.ndarray) -> tuple[np.ndarray, float]:
    """Schäfer–Strimmer shrinkage of the residual covariance towards its diagonal; returns (W, lambda)."""
    x = np.asarray(resid, float)
    n = x.shape[0]
    covm = x.T @ x / n  # residuals are centred by construction: no mean is removed, as in hts
    sd = np.sqrt(np.maximum(np.diag(covm), 1e-300))
    xs = x / sd
    v = (1.0 / (n * (n - 1))) * ((xs**2).T @ (xs**2) - (xs.T @ xs) ** 2 / n)
    np.fill_diagonal(v, 0.0)
    corm = covm / np.outer(sd, sd)
    d = corm - np.eye(len(sd))
    np.fill_diagonal(d, 0.0)
    denom = float((d**2).sum())
    lam = 1.0 if denom <= 0 else float(np.clip(v.sum() / denom, 0.0, 1.0))
    w = lam * np.diag(np.diag(covm)) + (1 - lam) * covm
    # A node with no residual variance would make W singular; a tiny ridge keeps the solve defined.
    w += np.eye(len(sd)) * 1e-12 * max(float(np.trace(w)) / len(sd), 1e-12)
    return w, lam


def residuals_from_forecasts(base: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Align the in-sample residuals stored in each forecast's ``attrs['residuals']`` (end-aligned)."""
    cols = {k: np.asarray(f.attrs.get("residuals", []), float) for k, f in base.items()}
    k = min(len(v) for v in cols.values())
    df = pd.DataFrame({name: v[len(v) - k :] for name, v in cols.items()})
    return df.dropna()


def reconcile(
    base: Base,
    method: str = "bottom_up",
    residuals: pd.DataFrame | Mapping[str, Any] | None = None,
    total: str = "city",
    lower: float | None = 0.0,
) -> Any:
    """Coherent forecasts: the districts sum to the city at every month (to rounding).

    ``base`` is a dict of ``forecast`` frames (districts and ``total``) or a wide frame of means.
    ``method``: ``bottom_up`` (city = sum of district forecasts), ``mint_shrink`` (needs ``residuals``,
    one column per node; defaults to the residuals stored in the frames' attrs) or ``top_down``
    (keep the city forecast, split it in the districts' forecast proportions). Interval columns are
    shifted with the mean (the base interval widths are kept). Districts below ``lower`` are set to it
    and the city re-added, so bounds hold and coherence is kept. Returns the same shape as ``base``.
    """
    names, yhat, _ = _means(base, total)
    nd = len(names) - 1
    s_mat = np.vstack([np.ones((1, nd)), np.eye(nd)])
    notes = []
    if method == "bottom_up":
        bottom = yhat[:, 1:]
    elif method == "top_down":
        dist = yhat[:, 1:]
        sums = dist.sum(axis=1, keepdims=True)
        shares = np.where(sums != 0, dist / np.where(sums == 0, 1, sums), 1.0 / nd)
        bottom = shares * yhat[:, :1]
    elif method == "mint_shrink":
        if residuals is None:
            if isinstance(base, pd.DataFrame):
                raise ValueError("mint_shrink needs residuals (one column per node)")
            residuals = residuals_from_forecasts(base)
        res = pd.DataFrame(residuals)[names].dropna().to_numpy(float)
        if res.shape[0] < 3:
            raise ValueError("mint_shrink needs at least 3 complete residual rows")
        w, lam = shrink_covariance(res)
        winv_s = np.linalg.solve(w, s_mat)
        g = np.linalg.solve(s_mat.T @ winv_s, winv_s.T)  # (S'W^-1 S)^-1 S'W^-1
        bottom = yhat @ g.T
        notes.append(f"MinT shrinkage intensity {lam:.3f} from {res.shape[0]} residual rows")
    else:
        raise ValueError("method must be 'bottom_up', 'mint_shrink' or 'top_down'")
    if lower is not None and np.any(bottom < lower):
        notes.append(f"{int((bottom < lower).sum())} district value(s) raised to the bound {lower:g}")
        bottom = np.maximum(bottom, lower)
    tilde = bottom @ s_mat.T
    return _rebuild(base, names, yhat, tilde, method, notes, lower)


def _rebuild(
    base: Base,
    names: list[str],
    yhat: np.ndarray,
    tilde: np.ndarray,
    method: str,
    notes: list[str],
    lower: float | None,
) -> Any:
    if isinstance(base, pd.DataFrame):
        out = pd.DataFrame(tilde, index=base.index, columns=names)[list(base.columns)]
        out.attrs = {"reconciliation": method, "notes": notes}
        return out
    result: dict[str, pd.DataFrame] = {}
    for j, name in enumerate(names):
        f = base[name].copy()
        delta = tilde[:, j] - yhat[:, j]
        for col in f.columns:
            f[col] = np.asarray(f[col], float) + delta
            if lower is not None and col != "mean":
                f[col] = np.maximum(f[col], lower)
        f["mean"] = tilde[:, j]  # exact, so coherence is not disturbed by the float shift above
        f.attrs = dict(base[name].attrs)
        f.attrs["reconciliation"] = method
        f.attrs["reconciliation_notes"] = notes
        result[name] = f
    return {k: result[k] for k in base}
