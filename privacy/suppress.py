"""Primary and secondary suppression of small counts in aggregate tables (docs/privacy.md).

Primary: a row whose person count is 1 … k−1 has its sensitive values blanked (a zero reveals nobody and is
shown). Year-to-date: a figure summed from January to a month is shown only at the end of a *block* of months
that adds at least k persons (or none), so two months' figures never differ by a small count. Filtered totals:
a total over some districts is hidden when a district it leaves in or out has a small count, so "all" minus
"all but one" reveals nothing. Secondary: within every group of rows that add up to a total shown elsewhere
(``groups``, and along each of the table's ``dims``), a group never has exactly one hidden row; the next
smallest row is hidden too, repeated until no group has exactly one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from store import schema

MIN_K = 5  # never below this, whatever the configuration says
#: Tables with one row per person or per person's event: never shown or exported row by row, except to an
#: administrator checking an import.
PERSON_LEVEL_TABLES = schema.PERSON_LEVEL_TABLES


def effective_k(k: int) -> int:
    """The threshold actually applied: the configured ``k``, never below :data:`MIN_K`."""
    return max(int(k), MIN_K)


def small(persons: Iterable[float], k: int) -> np.ndarray:
    """True where a count is small enough to identify someone: 1 … k−1 persons (NaN: not a count)."""
    p = pd.to_numeric(pd.Series(list(persons), dtype=object), errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        return (p > 0) & (p < effective_k(k))


def block_ends(months: Sequence[float], k: int) -> list[bool]:
    """For each month of a year-to-date series (persons added in that month), whether the running total to it
    may be shown: blocks of consecutive months are closed as soon as they add ``k`` persons; a month that ends a
    block (or adds nobody to a closed one) is releasable. Any two releasable totals differ by 0 or ≥ k persons."""
    k = effective_k(k)
    run, out = 0.0, []
    for p in months:
        run += 0.0 if p is None or p != p else float(p)
        if run >= k:
            run = 0.0
        out.append(run == 0.0)
    return out


def ytd_releasable(months: object, k: int) -> bool:
    """Whether a year-to-date figure built from ``months`` (persons per month, January first) may be shown.
    ``None``/NaN (not a sum over months: stocks, rates, flags) is always releasable."""
    if months is None or isinstance(months, float):
        return True
    seq = list(months)  # type: ignore[call-overload]
    return block_ends(seq, k)[-1] if seq else True


def _secondary(
    hidden: np.ndarray,
    persons: np.ndarray,
    groupings: Sequence[np.ndarray],
    nested: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """Hide the smallest other row of every group with exactly one hidden row, until no such group is left.

    A row alone in a ``nested`` group (a month that is the only one of its quarter in the table) equals a total
    shown at a coarser grain, so hiding it protects nothing: it is chosen only when there is no other candidate.
    """
    hidden = hidden.copy()
    alone = np.zeros(len(hidden), bool)
    for codes in nested:
        _, inverse, sizes = np.unique(codes, return_inverse=True, return_counts=True)
        alone |= sizes[inverse] == 1
    # the smallest row that stands for somebody (a hidden zero protects little: zeros are easy to guess)
    order_key = np.where(np.isnan(persons), np.inf, np.where(persons == 0, 1e300, persons))
    members = [
        [idx for idx in pd.Series(codes).groupby(codes).indices.values() if len(idx) > 1]
        for codes in groupings
    ]
    changed = True
    while changed:
        changed = False
        for groups in members:
            for idx in groups:
                if hidden[idx].sum() == 1:
                    candidates = idx[~hidden[idx] & ~alone[idx]]
                    if not candidates.size:
                        candidates = idx[~hidden[idx]]
                    hidden[candidates[np.argmin(order_key[candidates])]] = True
                    changed = True
    return hidden


def _quarter_of(label: str) -> str:
    """The quarter of a period label: ``2026-07`` → ``2026-Q3``; other labels are their own quarter."""
    if len(label) == 7 and label[4] == "-" and label[5:].isdigit():
        return f"{label[:4]}-Q{(int(label[5:]) + 2) // 3}"
    return label


def _codes(frame: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    if not keys:
        return np.zeros(len(frame), dtype=int)
    return frame.groupby(list(keys), sort=False, dropna=False).ngroup().to_numpy()


def suppress(
    frame: pd.DataFrame,
    k: int,
    values: Sequence[str],
    count: str = "persons",
    groups: Sequence[str] = (),
    dims: Sequence[str] = (),
    ytd: str | None = None,
    monthly: Sequence[str] = (),
    parts: str | None = None,
    counts: dict[str, str] | None = None,
    span: str | None = None,
    withheld: np.ndarray | None = None,
    step_withheld: np.ndarray | None = None,
) -> pd.DataFrame:
    """A copy of ``frame`` with ``values`` set to NaN where they could reveal fewer than ``k`` persons.

    ``count`` names the column with the number of persons behind each row (NaN: not a person count, left
    alone). ``groups``: the columns whose rows add up to a total shown elsewhere (one secondary-suppression
    group per combination). ``dims``: the table's dimensions; rows that differ in only one dimension add up to
    a total shown elsewhere, so secondary suppression runs along each dimension present. ``ytd``: a column with
    the persons of each month January … this row's month (a tuple; None for figures that are not sums over
    months): the row is hidden unless its month ends a block (:func:`block_ends`). ``monthly``: columns holding
    the month's own value in a year-to-date series, hidden unless both this month and the one before end a
    block. ``span``: with ``ytd``, a column with the number of months the row covers (1 for a month, 3 for a
    quarter): the row is hidden unless the months both before and at its end close a block. ``parts``: a column
    with the smallest non-zero count among the parts another view could subtract (the districts a filtered
    total leaves in or out, the years of a range); the row is hidden when that is small. ``counts``: value
    column → its own count column, for tables whose columns rest on different persons (each column is
    suppressed on its own, with the same secondary rule). ``withheld``: rows hidden beforehand (the linked
    plan, :mod:`privacy.linked`), ``step_withheld``: rows whose ``monthly`` columns are hidden beforehand. Adds
    a boolean ``suppressed`` column (any value of the row hidden).
    """
    k = effective_k(k)
    out = frame.copy()
    if counts:
        any_hidden = np.zeros(len(out), bool)
        for col, cnt in counts.items():
            if col in out.columns and cnt in out.columns and not out.empty:
                one = suppress(out, k, (col,), cnt, groups, dims, withheld=withheld)
                out[col] = one[col]
                any_hidden |= one["suppressed"].to_numpy(bool)
        out["suppressed"] = any_hidden
        return out
    if out.empty or count not in out.columns:
        out["suppressed"] = False
        return out
    persons = pd.to_numeric(out[count], errors="coerce").to_numpy(float)
    hidden = small(persons, k)
    if withheld is not None:
        hidden |= withheld
    step_hidden = np.zeros(len(out), bool) if step_withheld is None else step_withheld.copy()
    if ytd is not None and ytd in out.columns:
        series = list(out[ytd])
        releasable = np.array([ytd_releasable(m, k) for m in series], bool)
        previous = np.array(
            [ytd_releasable(None if m is None or isinstance(m, float) else list(m)[:-1], k) for m in series],
            bool,
        )
        hidden |= ~releasable
        step_hidden |= ~previous
        if span is not None and span in out.columns:
            before = [
                ytd_releasable(
                    None if m is None or isinstance(m, float) else list(m)[: max(len(m) - int(n), 0)], k
                )
                for m, n in zip(series, out[span].fillna(0), strict=True)
            ]
            hidden |= ~np.array(before, bool)
    if parts is not None and parts in out.columns:
        hidden |= small(out[parts], k)
    groupings: list[np.ndarray] = []
    nested: list[np.ndarray] = []
    present = [d for d in dims if d in out.columns]
    if groups or not present:
        groupings.append(_codes(out, [g for g in groups if g in out.columns]))
    fixed = [g for g in groups if g in out.columns]
    for d in present:
        others = [*fixed, *[o for o in present if o != d]]
        groupings.append(_codes(out, others))
        if d == "period":  # months add up to quarters and years, quarters to years: shown in other views
            label = out["period"].astype(str)
            spans = pd.DataFrame(
                {"_year": label.str[:4], "_quarter": label.map(_quarter_of)}, index=out.index
            )
            both = pd.concat([out[others], spans], axis=1)
            nested += [_codes(both, [*others, "_year"]), _codes(both, [*others, "_quarter"])]
            groupings += nested[-2:]
    hidden = _secondary(hidden, persons, groupings, nested)
    for c in [c for c in values if c in out.columns]:
        out[c] = out[c].astype(float).where(~hidden)
    for c in [c for c in monthly if c in out.columns]:
        out[c] = out[c].astype(float).where(~(hidden | step_hidden))
    out["suppressed"] = hidden
    return out


#: Helper columns a query adds for the linked plan: the points (privacy.linked) every value of the row is a
#: difference of; the points the month's own value (``monthly`` columns) also needs; per column (``_points_<c>``).
POINTS, MONTH_POINTS, COLUMN_POINTS, PREV_POINTS = "_points", "_mpoints", "_points_", "_prev_points"


def needs_plan(frame: Any) -> bool:
    """Whether a query's result carries points for the linked plan (so the plan must be decided)."""
    return isinstance(frame, pd.DataFrame) and any(
        str(c).startswith((POINTS, MONTH_POINTS, PREV_POINTS)) for c in frame.columns
    )


def _withheld(frame: pd.DataFrame, column: str, plan: Any) -> np.ndarray:
    return np.array([not plan.all_published(p) for p in frame[column]], bool)


def protect(frame: Any, k: int, rule: dict[str, Any] | None, plan: Any = None) -> Any:
    """``frame`` suppressed by a query's ``sensitive`` rule and the linked ``plan`` (a
    :class:`privacy.linked.Plan`; rows whose points it does not publish are hidden), without the helper
    columns the rules read (year-to-date months, filtered-total parts, points); anything that is not a
    DataFrame, or has no rule, as it is. Ranks named in the rule (``ranks``) are recomputed among the shown
    rows, and a hidden row has no rank or status (:func:`rerank`)."""
    if not rule or not isinstance(frame, pd.DataFrame):
        return frame
    rule = dict(rule)
    ranks = rule.pop("ranks", None)
    extra: dict[str, Any] = {}
    per_column = [c for c in frame.columns if str(c).startswith(COLUMN_POINTS)]
    if plan is not None and not frame.empty:
        if POINTS in frame.columns:
            extra["withheld"] = _withheld(frame, POINTS, plan)
        if MONTH_POINTS in frame.columns:
            extra["step_withheld"] = _withheld(frame, MONTH_POINTS, plan)
    out = suppress(frame, k, **rule, **extra)
    if plan is not None and not out.empty:
        for c in per_column:
            target = str(c)[len(COLUMN_POINTS) :]
            if target in out.columns:
                gone = _withheld(out, c, plan)
                out[target] = out[target].astype(float).where(~gone)
                out["suppressed"] = out["suppressed"].to_numpy(bool) | gone
    if ranks:
        prev_ok = None
        if plan is not None and ranks.get("prev_points") in out.columns:
            prev_ok = ~_withheld(out, ranks["prev_points"], plan)
        out = rerank(out, ranks, prev_ok)
    helpers = [c for c in (rule.get("ytd"), rule.get("parts"), rule.get("span")) if c and c in out.columns]
    helpers += [c for c in out.columns if c in (POINTS, MONTH_POINTS) or str(c).startswith(COLUMN_POINTS)]
    helpers += [c for c in [(ranks or {}).get("prev_points")] if c and c in out.columns]
    return out.drop(columns=helpers)


def rerank(frame: pd.DataFrame, ranks: dict[str, Any], prev_ok: np.ndarray | None = None) -> pd.DataFrame:
    """Ranks among the shown rows only: a hidden row keeps no rank, status or change (its place among the
    others would bound the hidden figure between its neighbours'), and the shown rows are ranked again among
    themselves (1 = best, ties share the best rank), so no gap in the numbering says where a hidden row was.

    ``ranks``: ``by`` (rank column → the columns it ranks within), ``blank`` (columns emptied on a hidden row,
    e.g. the status), ``prev`` and ``change`` (last period's rank, ranked again among the rows shown now whose
    last-period figure the plan publishes, ``prev_ok``; the change is last period's minus this one's)."""
    out = frame.copy()
    shown = ~out["suppressed"].to_numpy(bool)
    by: dict[str, Sequence[str]] = ranks.get("by", {})
    prev, change, complete = ranks.get("prev"), ranks.get("change"), ranks.get("complete")
    # ranked in the database over rows this frame does not hold (a planner's own district): only blank
    here = not (complete in out.columns and not out.empty and not bool(out[complete].all()))

    def among(values: pd.Series, ok: np.ndarray, keys: Sequence[str]) -> pd.Series:
        mine = values.astype(float).where(ok)
        return (
            mine.groupby([out[k] for k in keys], dropna=False).rank(method="min")
            if keys
            else mine.rank(method="min")
        )

    first = next(iter(by), None)
    if here:
        for col, keys in by.items():
            if col in out.columns:
                out[col] = among(out[col], shown, keys)
        if prev and prev in out.columns and first:
            ok = shown & out[prev].notna().to_numpy()
            out[prev] = among(out[prev], ok if prev_ok is None else ok & prev_ok, by[first])
            if change and change in out.columns:
                out[change] = out[prev] - out[first]
    blank = [*ranks.get("blank", ())] + ([] if here else [*by, prev, change])
    for col in blank:
        if col and col in out.columns:
            out[col] = out[col].astype(object).where(shown, None)
    return out.drop(columns=[c for c in [complete] if c and c in out.columns])
