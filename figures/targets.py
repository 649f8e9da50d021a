"""Target attainment as every surface shows it: status by the bureau's rules, pace summaries, district cards.

The SQL (completion, time-elapsed progress, ranks) is ``queries.targets``; the status is a rule of the bureau's
(:class:`figures.rules.Rules`), applied here once, after the suppression plan, so a hidden figure never gets a
status (its colour would bound it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from figures.rules import Rules
from figures.run import Run
from queries import targets
from store.card_weights import DEFAULT_WEIGHTS, STATUS_POINTS

STATUSES = ("green", "yellow", "red")  # 达序时 / 略滞后 / 滞后
WITHHELD = "withheld"  # a hidden figure: no status (docs/privacy.md)


def classify(frame: pd.DataFrame, rules: Rules) -> pd.Series:
    """Red / yellow / green per row; ``None`` where the row's figure is hidden.

    Flows: green when completion ≥ progress, yellow when within ``rules.yellow_margin_pp`` points below it, else
    red. Control lines: green when at least ``rules.control_cushion_pp`` points under the line, yellow when under
    it by less, red when over it. Yes/no: green when done, red otherwise.
    """
    completion = frame["completion_rate"].to_numpy(float)
    progress = frame["time_elapsed_progress"].to_numpy(float)
    margin = frame["margin_pp"].to_numpy(float)
    actual = frame["actual"].to_numpy(float)
    direction = frame["direction"].to_numpy()
    eps = 1e-12
    flow = np.where(
        completion >= progress - eps,
        "green",
        np.where(completion >= progress - rules.yellow_margin_pp / 100 - eps, "yellow", "red"),
    )
    control = np.where(
        margin >= rules.control_cushion_pp - eps, "green", np.where(margin >= 0, "yellow", "red")
    )
    yes_no = np.where(actual >= 1, "green", "red")
    status = np.where(direction == "control", control, np.where(direction == "yes_no", yes_no, flow))
    basis = np.where(direction == "control", margin, np.where(direction == "yes_no", actual, completion))
    hidden = np.isnan(basis)
    if "suppressed" in frame.columns:
        hidden |= frame["suppressed"].fillna(False).to_numpy(bool)
    out = pd.Series(status, index=frame.index, name="status", dtype=object)
    return out.where(~hidden, None)


def attainment(
    run: Run,
    rules: Rules,
    year: int,
    month: int,
    *,
    level: str = "district",
    parent_code: str | None = None,
    pace: str = "linear",
) -> pd.DataFrame:
    """One row per area and target indicator at the end of ``month`` (``queries.targets.attainment``'s
    columns) with ``status`` by ``rules``."""
    frame = run(targets.attainment, year, month, level=level, parent_code=parent_code, pace=pace)
    frame = frame.copy()
    frame["status"] = classify(frame, rules) if not frame.empty else pd.Series(dtype=object)
    return frame


@dataclass(frozen=True)
class PaceSummary:
    """How many areas are on pace, slightly behind and behind on one indicator (hidden rows apart)."""

    green: int
    yellow: int
    red: int
    withheld: int

    @property
    def behind(self) -> int:
        """Behind the time-elapsed progress at all: slightly behind (yellow) or behind (red)."""
        return self.yellow + self.red

    @property
    def total(self) -> int:
        return self.green + self.yellow + self.red + self.withheld


def pace_summary(frame: pd.DataFrame, indicator_code: str) -> PaceSummary:
    """The status counts of ``indicator_code`` in an :func:`attainment` frame."""
    rows = frame[frame["indicator_code"] == indicator_code]
    counts = rows["status"].value_counts()
    return PaceSummary(
        green=int(counts.get("green", 0)),
        yellow=int(counts.get("yellow", 0)),
        red=int(counts.get("red", 0)),
        withheld=int(rows["status"].isna().sum()),
    )


def with_margin(rules: Rules, yellow_margin_pp: float | None) -> Rules:
    """``rules`` with a planner's own yellow margin (the Targets page's what-if slider), else unchanged."""
    if yellow_margin_pp is None or yellow_margin_pp == rules.yellow_margin_pp:
        return rules
    return replace(rules, yellow_margin_pp=float(yellow_margin_pp))


def card_weights(run: Run) -> pd.DataFrame:
    """The bureau's card weights per zone (``target_weight``); the defaults of ``store.card_weights`` when the
    table holds none (a database loaded before any weight was set)."""
    weights = run(targets.zone_weights)
    if weights.empty:
        weights = pd.DataFrame([w._asdict() for w in DEFAULT_WEIGHTS])
    return weights.astype({"weight": float, "core": bool})


def card_statuses(linear: pd.DataFrame, seasonal: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Per district and weighted indicator, its :func:`attainment` row (with status) on the pace line its zone's
    weight names (seasonal indicators such as graduates against the seasonal pace), with ``weight`` and ``core``.

    Both frames come from :func:`attainment` at the same month, ``pace="linear"`` and ``pace="seasonal"``.
    """
    both = pd.concat([linear.assign(pace="linear"), seasonal.assign(pace="seasonal")], ignore_index=True)
    picked = both.merge(weights[["zone", "indicator_code", "pace", "weight", "core"]])
    return picked.sort_values(["area_code", "sort_order"]).reset_index(drop=True)


def card_score(statuses: pd.DataFrame) -> pd.DataFrame:
    """Per district: the weighted score out of 100 over the indicators with a status (on pace earns an
    indicator's full weight, slightly behind half, behind none: ``store.card_weights.STATUS_POINTS``), the share
    of weight withheld (hidden figures carry no status and leave the score) and whether the core indicator is
    behind. Columns ``area_code, score, weight_withheld_pct, core_red``."""
    shown = statuses[statuses["status"].notna()]
    earned = (shown["weight"] * shown["status"].map(STATUS_POINTS)).groupby(shown["area_code"]).sum()
    weight_shown = shown.groupby("area_code")["weight"].sum()
    weight_all = statuses.groupby("area_code")["weight"].sum()
    core_red = (shown["core"] & shown["status"].eq("red")).groupby(shown["area_code"]).any()
    out = pd.DataFrame({"weight_all": weight_all})
    out["score"] = 100 * earned.reindex(out.index) / weight_shown.reindex(out.index)
    out["weight_withheld_pct"] = 100 * (1 - weight_shown.reindex(out.index).fillna(0) / weight_all)
    out["core_red"] = core_red.reindex(out.index).fillna(False).astype(bool)
    return out.drop(columns="weight_all").rename_axis("area_code").reset_index()


def card_of(score: float, core_red: bool, rules: Rules) -> str | None:
    """The card of a weighted score: green from ``rules.card_green_score``, yellow from
    ``rules.card_yellow_score``, red below; never green while the core indicator is behind; none without a
    score (every figure hidden)."""
    if score != score:
        return None
    card = (
        "green"
        if score >= rules.card_green_score
        else "yellow"
        if score >= rules.card_yellow_score
        else "red"
    )
    return "yellow" if card == "green" and core_red else card


def district_cards(
    statuses: pd.DataFrame, names: pd.DataFrame, rules: Rules
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per district: how many weighted indicators are on pace / slightly behind / behind, the weighted score and
    the district's card (:func:`card_of`), and the exceptions list (districts behind on any indicator) with empty
    fields for the meeting to fill in. ``statuses`` is :func:`card_statuses`."""
    shown = statuses[statuses["status"].notna()]
    counts = shown.groupby(["area_code", "status"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(STATUSES), fill_value=0)
    counts.columns = [f"n_{c}" for c in counts.columns]
    cards = names.merge(counts, left_on="area_code", right_index=True, how="left").fillna(
        {"n_red": 0, "n_yellow": 0, "n_green": 0}
    )
    cards = cards.merge(card_score(statuses), on="area_code", how="left")
    cards["core_red"] = cards["core_red"].fillna(False).astype(bool)
    cards["card"] = [card_of(s, c, rules) for s, c in zip(cards["score"], cards["core_red"], strict=True)]
    flows = statuses[statuses["completion_rate"].notna()]
    gap = (flows["completion_rate"] - flows["time_elapsed_progress"]).groupby(flows["area_code"]).min()
    cards["worst_pace_pp"] = cards["area_code"].map(gap * 100)
    red = shown[shown["status"] == "red"].sort_values(["sort_order"])
    red_codes = red.groupby("area_code")["indicator_code"].agg(lambda c: ",".join(c))
    exceptions = cards[cards["n_red"] > 0].copy()
    exceptions["red_indicators"] = exceptions["area_code"].map(red_codes)
    exceptions = exceptions.sort_values(
        ["n_red", "worst_pace_pp", "area_code"], ascending=[False, True, True]
    )
    exceptions = exceptions[["area_code", "name_zh", "name_en", "n_red", "red_indicators", "worst_pace_pp"]]
    exceptions = exceptions.assign(cause="", owner="", action="").reset_index(drop=True)
    cards = cards.astype({"n_red": int, "n_yellow": int, "n_green": int}).reset_index(drop=True)
    return cards, exceptions


def cards(run: Run, rules: Rules, year: int, month: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The district cards at the end of ``month`` as every surface shows them: ``(cards, exceptions,
    statuses)`` (see :func:`district_cards`, :func:`card_statuses`). Whatever pace line a page has picked, the
    card judges each indicator on the line its weight names."""
    linear = attainment(run, rules, year, month, pace="linear")
    seasonal = attainment(run, rules, year, month, pace="seasonal")
    if linear.empty:
        empty = pd.DataFrame(columns=["area_code", "name_zh", "name_en", "zone", "card", "score"])
        return empty, empty, linear
    statuses = card_statuses(linear, seasonal, card_weights(run))
    names = linear[["area_code", "name_zh", "name_en", "zone"]].drop_duplicates("area_code")
    names = names.sort_values("area_code").reset_index(drop=True)
    got, exceptions = district_cards(statuses, names, rules)
    return got, exceptions, statuses
