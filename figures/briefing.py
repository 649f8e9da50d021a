"""The written briefing a leader reads first: five to eight sentences from the figures, by templates and rules.

It says (issue #20): the headline against pace and last month; the districts whose status moved; for the two
districts furthest behind, which streets, months and groups account for most of their gap (a decomposition that
sums to the gap); the unemployment forecast and the chance of crossing the control line; the data-quality caveats;
and every number links to the page and filters it came from.

Two steps, so that what is said can be tested on hand-built months:
- :func:`gather` reads the figures through the runner (the same ``figures`` the pages show: status, chance,
  forecasts, quality flags). A planner's runner is scoped to their district, so their briefing only ever holds
  their district. Only protected figures are read: a suppressed figure is NaN here and is never written; the
  "rest" of a decomposition is a difference of shown figures only (what the tables already allow).
- :func:`compose` writes the sentences from those facts in Chinese or English (``i18n/messages/briefing.toml``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd

import figures.chance
import figures.forecasts
import figures.quality
import figures.targets
from figures.rules import Rules
from figures.run import Run
from forecasting import prob_above
from i18n import fmt_int, fmt_month, fmt_pct, t
from queries import targets
from queries.forecasts import RATE

CITY = "420100"
HEADLINE = "urban_new_employment"
REST = "_rest"  # the part of a gap no shown street / month / group accounts for


# --- the decomposition of a gap -----------------------------------------------------------------------------


def decompose(total: float, parts: pd.Series) -> pd.DataFrame:
    """Split a gap ``total`` (persons short of pace; positive = behind) into ``parts`` (each part's own
    gap; NaN where the part's figure is hidden) plus a ``REST`` row, so the ``gap`` column sums to ``total``
    exactly. Columns ``part, gap, share`` (share of the total), largest contribution first, the rest last."""
    shown = parts.dropna().astype(float)
    rest = float(total) - float(shown.sum())
    out = pd.DataFrame({"part": shown.index.astype(str), "gap": shown.to_numpy(float)})
    out = out.sort_values(["gap", "part"], ascending=[False, True])
    out = pd.concat([out, pd.DataFrame({"part": [REST], "gap": [rest]})], ignore_index=True)
    out["share"] = out["gap"] / total if total else np.nan
    return out.reset_index(drop=True)


def leading(parts: pd.DataFrame, most: int = 2, enough: float = 0.5) -> pd.DataFrame:
    """The parts that account for most of a gap: the largest positive contributions (never the rest), until
    they cover ``enough`` of it, at most ``most``."""
    named = parts[(parts["part"] != REST) & (parts["gap"] > 0)]
    picked: list[int] = []
    covered = 0.0
    for i, r in named.iterrows():
        if len(picked) >= most or covered >= enough:
            break
        picked.append(i)  # type: ignore[arg-type]
        covered += float(r["share"])
    return named.loc[picked]


# --- facts ------------------------------------------------------------------------------------------------


@dataclass
class Gap:
    """One district behind pace and where its gap lies."""

    area_code: str
    name_zh: str
    name_en: str
    gap: float  # persons short of pace
    status: str
    streets: pd.DataFrame  # decompose(): part = street code
    months: pd.DataFrame  # part = month number
    groups: pd.DataFrame  # part = group code
    street_names: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Facts:
    """Everything a briefing says, read once through the runner."""

    year: int
    month: int
    scope: str | None  # None: the city; else the planner's district
    area_code: str
    name_zh: str
    name_en: str
    head: dict[str, Any] | None  # actual, target, completion_rate, time_elapsed_progress, status, chance
    prev: dict[str, Any] | None  # the same at the month before
    counts: figures.targets.PaceSummary | None
    moves: list[dict[str, Any]]  # area_code, name_zh, name_en, before, now
    gaps: list[Gap]
    forecast: dict[str, Any] | None  # year, month, mean, lo_80, hi_80, line, p_above
    flags: pd.DataFrame
    names: dict[str, tuple[str, str]] = field(default_factory=dict)


def _row(frame: pd.DataFrame, area: str, code: str) -> dict[str, Any] | None:
    got = frame[(frame["area_code"] == area) & (frame["indicator_code"] == code)]
    return None if got.empty else dict(got.iloc[0])


def _gap_of(run: Run, rules: Rules, year: int, month: int, r: dict[str, Any], scope: str | None) -> Gap:
    """Where one district's gap lies: streets (their own gaps against pace), months (each month's shortfall
    against the monthly pace) and groups (against last year's group shares of the pace)."""
    area, total = str(r["area_code"]), float(r["pace_gap"])
    streets = figures.targets.attainment(run, rules, year, month, level="street", parent_code=area)
    streets = streets[streets["indicator_code"] == HEADLINE]
    s_gap = pd.Series(streets["pace_gap"].to_numpy(float), index=streets["area_code"].astype(str))
    s_names = {
        str(a): (str(z), str(e))
        for a, z, e in zip(streets["area_code"], streets["name_zh"], streets["name_en"], strict=True)
    }
    curve = run(targets.monthly_curve, year, area, HEADLINE)
    curve = curve[curve["month"] <= month]
    pace_month = float(r["target"]) / 12  # the linear pace adds a twelfth of the target each month
    m_gap = pd.Series(
        pace_month - curve["value"].to_numpy(float), index=curve["month"].astype(int).astype(str)
    )
    groups = run(targets.group_breakdown, year, month, area)
    before = run(targets.group_breakdown, year - 1, 12, area)
    g_gap = pd.Series(dtype=float)
    if not groups.empty and not before.empty and before["value"].notna().all():
        share = before.set_index("group_code")["value"].astype(float)
        share = share / share.sum() if share.sum() else share
        due = float(r["target"]) * float(r["time_elapsed_progress"])
        now = groups.set_index("group_code")["value"].astype(float)
        g_gap = (share.reindex(now.index) * due - now).astype(float)
    return Gap(
        area_code=area,
        name_zh=str(r["name_zh"]),
        name_en=str(r["name_en"]),
        gap=total,
        status=str(r["status"]),
        streets=decompose(total, s_gap),
        months=decompose(total, m_gap),
        groups=decompose(total, g_gap),
        street_names=s_names,
    )


def gather(run: Run, rules: Rules, year: int, month: int, scope: str | None = None) -> Facts:
    """Read the briefing's facts through ``run`` (a planner's runner: pass their district as ``scope``)."""
    districts = figures.targets.attainment(run, rules, year, month)
    districts = figures.chance.with_chance(run, districts, year, month)
    if scope is None:
        head_frame = figures.targets.attainment(run, rules, year, month, level="city")
        head_frame = figures.chance.with_chance(run, head_frame, year, month)
        area = CITY
    else:
        head_frame, area = districts, scope
    names = {
        str(a): (str(z), str(e))
        for a, z, e in zip(districts["area_code"], districts["name_zh"], districts["name_en"], strict=True)
    }
    head = _row(head_frame, area, HEADLINE)
    prev = None
    moves: list[dict[str, Any]] = []
    if month > 1:
        before = figures.targets.attainment(run, rules, year, month - 1)
        prev_frame = (
            figures.targets.attainment(run, rules, year, month - 1, level="city") if scope is None else before
        )
        prev = _row(prev_frame, area, HEADLINE)
        now_s = districts[districts["indicator_code"] == HEADLINE].set_index("area_code")["status"]
        was_s = before[before["indicator_code"] == HEADLINE].set_index("area_code")["status"]
        for code, status in now_s.items():
            was = was_s.get(code)
            if status is not None and was is not None and status != was:
                z, e = names.get(str(code), (str(code), str(code)))
                moves.append(dict(area_code=str(code), name_zh=z, name_en=e, before=was, now=status))
    une = districts[(districts["indicator_code"] == HEADLINE) & districts["status"].isin(["red", "yellow"])]
    une = une[une["pace_gap"].notna() & (une["pace_gap"] > 0)]
    une = une.assign(behind_pp=une["time_elapsed_progress"] - une["completion_rate"])
    worst = une.sort_values(["behind_pp", "area_code"], ascending=[False, True]).head(2)
    gaps = [_gap_of(run, rules, year, month, dict(r), scope) for _, r in worst.iterrows()]
    fc = figures.forecasts.latest(run, area, RATE)
    forecast = None
    rate_row = _row(head_frame, area, RATE)
    if not fc.empty:
        end = fc[(fc["year"] == year) & (fc["month"] == 12)]
        point = (end if not end.empty else fc.tail(1)).iloc[0]
        line = (
            float(rate_row["target"])
            if rate_row is not None and rate_row["target"] == rate_row["target"]
            else None
        )
        p = None
        if line is not None:
            frame = fc[["mean", "lo_80", "hi_80", "lo_95", "hi_95"]].astype(float).reset_index(drop=True)
            frame.index = pd.PeriodIndex.from_fields(year=fc["year"], month=fc["month"], freq="M")
            p = prob_above(
                frame, line, at=pd.Period(year=int(point["year"]), month=int(point["month"]), freq="M")
            )
        forecast = dict(
            year=int(point["year"]),
            month=int(point["month"]),
            mean=float(point["mean"]),
            lo_80=float(point["lo_80"]),
            hi_80=float(point["hi_80"]),
            line=line,
            p_above=p,
        )
    flags = figures.quality.flags(run, year, month)
    if scope is not None:
        flags = flags[flags["area_code"] == scope]
    z, e = (names.get(area) or ("全市", "the city")) if scope is not None else ("全市", "the city")
    return Facts(
        year=year,
        month=month,
        scope=scope,
        area_code=area,
        name_zh=z,
        name_en=e,
        head=head,
        prev=prev,
        counts=figures.targets.pace_summary(districts, HEADLINE) if scope is None else None,
        moves=moves,
        gaps=gaps,
        forecast=forecast,
        flags=flags.reset_index(drop=True),
        names=names,
    )


# --- sentences --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    """One sentence: ``markdown`` with its numbers linked, ``text`` without links, and the links it holds."""

    topic: str
    markdown: str
    text: str
    links: tuple[tuple[str, str], ...] = ()  # (text, url) in the order they appear
    segments: tuple[tuple[str, str | None], ...] = ()  # the sentence in pieces: (text, url or None)


@dataclass(frozen=True)
class Briefing:
    year: int
    month: int
    lang: str
    scope: str | None
    sentences: tuple[Sentence, ...]

    def markdown(self) -> str:
        return ("" if self.lang == "zh" else " ").join(s.markdown for s in self.sentences)

    def text(self) -> str:
        return ("" if self.lang == "zh" else " ").join(s.text for s in self.sentences)


def url(base: str, page: str, **params: Any) -> str:
    """A link to a page with its filters in the query string (the pages read their filters from the URL)."""
    shown = {k: v for k, v in params.items() if v is not None}
    where = f"{base.rstrip('/')}/{page}" if base else page  # relative: works behind a path prefix too
    return where + (f"?{urlencode(shown)}" if shown else "")


class _Writer:
    """Formats one sentence: ``link(text, page, **params)`` marks a number as a link."""

    def __init__(self, lang: str, base: str) -> None:
        self.lang, self.base = lang, base
        self.links: list[tuple[str, str]] = []

    def link(self, text: str, page: str, **params: Any) -> str:
        target = url(self.base, page, lang=self.lang, **params)
        self.links.append((text, target))
        return f"\x00{text}\x01{target}\x02"

    def sentence(self, topic: str, key: str, **values: Any) -> Sentence:
        raw = t(key, self.lang, **values)
        if self.lang == "en":
            raw = raw[:1].upper() + raw[1:] if raw[:1] != "\x00" else "\x00" + raw[1:2].upper() + raw[2:]
        segments: list[tuple[str, str | None]] = []
        for piece in raw.split("\x00"):
            text, sep, rest = piece.partition("\x01")
            if sep:
                target, _, after = rest.partition("\x02")
                segments.append((text, target))
                if after:
                    segments.append((after, None))
            elif piece:
                segments.append((piece, None))
        md = "".join(f"[{text}]({target})" if target else text for text, target in segments)
        plain = "".join(text for text, _ in segments)
        links = tuple((text, target) for text, target in segments if target)
        self.links = []
        return Sentence(topic, md, plain, links, tuple(segments))


def _status(lang: str, status: str) -> str:
    """A status word inside a sentence (lower case in English)."""
    word = t("status_" + status, lang)
    return word if lang == "zh" else word.lower()


def _name(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _join(lang: str, items: list[str]) -> str:
    if lang == "zh":
        return "、".join(items)
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1] if items else ""


def _pp(value: float) -> str:
    return f"{abs(value) * 100:.1f}"


def compose(facts: Facts, lang: str = "zh", base: str = "") -> Briefing:
    """The briefing's sentences from ``facts`` (templates and rules; nothing is computed here but wording)."""
    w = _Writer(lang, base)
    y, m = facts.year, facts.month
    out: list[Sentence] = []
    district = facts.scope
    where = _name(lang, facts.name_zh, facts.name_en)
    tg = dict(year=y, month=m, indicator=HEADLINE, district=district)
    h = facts.head
    if h is None or h.get("status") is None or h["actual"] != h["actual"]:
        out.append(w.sentence("headline", "brief_head_hidden", area=where, month=fmt_month(y, m, lang)))
    else:
        behind = float(h["time_elapsed_progress"]) - float(h["completion_rate"])
        out.append(
            w.sentence(
                "headline",
                "brief_head_behind" if behind > 1e-12 else "brief_head_ahead",
                month=fmt_month(y, m, lang),
                area=where,
                actual=w.link(fmt_int(h["actual"], lang), "targets", **tg),
                target=w.link(fmt_int(h["target"], lang), "targets", **tg),
                completion=w.link(fmt_pct(h["completion_rate"]), "targets", **tg),
                pace=fmt_pct(h["time_elapsed_progress"]),
                pp=_pp(behind),
                status=_status(lang, str(h["status"])),
            )
        )
        p = facts.prev
        if p is not None and p.get("status") is not None and p["completion_rate"] == p["completion_rate"]:
            was = float(p["time_elapsed_progress"]) - float(p["completion_rate"])
            change = behind - was
            key = (
                "brief_vs_last_widened"
                if change > 0.0005
                else ("brief_vs_last_narrowed" if change < -0.0005 else "brief_vs_last_same")
            )
            out_prev = w.link(_pp(was), "targets", year=y, month=m - 1, indicator=HEADLINE, district=district)
            chance = h.get("chance")
            chance_txt = ""
            if chance is not None and chance == chance:
                chance_txt = t(
                    "brief_chance",
                    lang,
                    p=w.link(figures.chance.percent(float(chance)), "targets", **tg),
                    target=fmt_int(h["target"], lang),
                )
            out.append(
                w.sentence(
                    "last_month",
                    key,
                    was=out_prev,
                    was_side=t("brief_behind_word" if was > 0 else "brief_ahead_word", lang),
                    pp=f"{abs(change) * 100:.1f}",
                    chance=chance_txt,
                )
            )
        elif h.get("chance") is not None and h["chance"] == h["chance"]:
            out.append(
                w.sentence(
                    "chance",
                    "brief_chance_only",
                    p=w.link(figures.chance.percent(float(h["chance"])), "targets", **tg),
                    target=fmt_int(h["target"], lang),
                )
            )
    if facts.counts is not None:
        c = facts.counts
        moves = facts.moves
        if moves:
            parts = [
                t(
                    "brief_move",
                    lang,
                    area=w.link(
                        _name(lang, mv["name_zh"], mv["name_en"]),
                        "targets",
                        year=y,
                        month=m,
                        indicator=HEADLINE,
                        district=mv["area_code"],
                    ),
                    before=_status(lang, mv["before"]),
                    now=_status(lang, mv["now"]),
                )
                for mv in moves
            ]
            moved = _join(lang, parts)
        else:
            moved = t("brief_no_moves", lang)
        out.append(
            w.sentence(
                "moves",
                "brief_moves",
                behind=w.link(str(c.behind), "targets", year=y, month=m, indicator=HEADLINE),
                total=c.total,
                red=c.red,
                yellow=c.yellow,
                moved=moved,
            )
        )
    elif facts.moves:
        mv = facts.moves[0]
        out.append(
            w.sentence(
                "moves",
                "brief_own_move",
                area=where,
                before=_status(lang, mv["before"]),
                now=w.link(_status(lang, mv["now"]), "targets", **tg),
            )
        )
    for g in facts.gaps:
        out.append(_gap_sentence(w, lang, facts, g))
    f = facts.forecast
    if f is not None:
        fc_link = dict(area=facts.area_code, indicator=RATE)
        key = (
            "brief_forecast"
            if f["line"] is not None and f["p_above"] is not None
            else "brief_forecast_noline"
        )
        out.append(
            w.sentence(
                "forecast",
                key,
                area=where,
                month=fmt_month(f["year"], f["month"], lang),
                mean=w.link(f"{f['mean']:.2f}%", "forecasts", **fc_link),
                lo=f"{f['lo_80']:.2f}%",
                hi=f"{f['hi_80']:.2f}%",
                line=f"{f['line']:.2f}%" if f["line"] is not None else "",
                p=w.link(figures.chance.percent(float(f["p_above"])), "forecasts", **fc_link)
                if f["p_above"] is not None
                else "",
            )
        )
    out.append(_quality_sentence(w, lang, facts))
    return Briefing(y, m, lang, facts.scope, tuple(out))


def _gap_sentence(w: _Writer, lang: str, facts: Facts, g: Gap) -> Sentence:
    y, m = facts.year, facts.month
    tg = dict(year=y, month=m, indicator=HEADLINE, district=g.area_code)
    area = w.link(_name(lang, g.name_zh, g.name_en), "targets", **tg)
    gap = w.link(fmt_int(g.gap, lang), "targets", **tg)
    bits: list[str] = []
    streets = leading(g.streets)
    if not streets.empty:
        named = [
            t(
                "brief_part",
                lang,
                name=w.link(
                    _name(lang, *g.street_names.get(str(r.part), (str(r.part), str(r.part)))), "targets", **tg
                ),
                n=fmt_int(r.gap, lang),
            )
            for r in streets.itertuples()
        ]
        bits.append(
            t(
                "brief_gap_streets",
                lang,
                streets=_join(lang, named),
                share=fmt_pct(float(streets["share"].sum()), 0),
            )
        )
    months = leading(g.months)
    if not months.empty:
        named = [fmt_month(y, int(r.part), lang) for r in months.itertuples()]
        bits.append(
            t(
                "brief_gap_months",
                lang,
                months=_join(lang, named),
                share=fmt_pct(float(months["share"].sum()), 0),
            )
        )
    groups = leading(g.groups, most=1)
    if not groups.empty:
        r = groups.iloc[0]
        bits.append(
            t(
                "brief_gap_group",
                lang,
                group=t("group_" + str(r["part"]), lang),
                share=fmt_pct(float(r["share"]), 0),
            )
        )
    if not bits:
        return w.sentence("gap", "brief_gap_plain", area=area, gap=gap, status=_status(lang, g.status))
    sep = "；" if lang == "zh" else "; "
    return w.sentence(
        "gap", "brief_gap", area=area, gap=gap, status=_status(lang, g.status), where=sep.join(bits)
    )


def _quality_sentence(w: _Writer, lang: str, facts: Facts) -> Sentence:
    flags = facts.flags
    y, m = facts.year, facts.month
    relevant = flags[flags["check"].isin(["late", "missing", "unreconciled"])]
    if relevant.empty:
        return w.sentence("quality", "brief_quality_none")
    items: list[str] = []
    for r in relevant.sort_values(["month", "area_code"], ascending=[False, True]).head(4).itertuples():
        z, e = facts.names.get(str(r.area_code), (str(r.area_code), str(r.area_code)))
        name = w.link(_name(lang, z, e), "targets", year=y, month=m, indicator=HEADLINE, district=r.area_code)
        month = fmt_month(int(r.year), int(r.month), lang)
        if r.check == "late":
            items.append(t("brief_q_late", lang, area=name, month=month, days=r.detail))
        elif r.check == "missing":
            items.append(t("brief_q_missing", lang, area=name, month=month))
        else:
            items.append(t("brief_q_unreconciled", lang, area=name, month=month))
    more = len(relevant) - len(items)
    return w.sentence(
        "quality",
        "brief_quality",
        items=_join(lang, items),
        more=t("brief_q_more", lang, n=more) if more > 0 else "",
    )


def briefing(
    run: Run, rules: Rules, year: int, month: int, lang: str = "zh", scope: str | None = None, base: str = ""
) -> Briefing:
    """The briefing of ``month`` in ``lang``: :func:`gather` then :func:`compose`."""
    return compose(gather(run, rules, year, month, scope), lang, base)


def scoped(run: Run, district_code: str) -> Run:
    """A job's runner restricted to one district, as the pages restrict a planner's: every query that takes a
    ``district_code`` gets theirs; reference data (names, calendars) runs as asked; any other query that would
    show more than one district is refused."""
    import inspect

    def scoped_run(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if getattr(fn, "reference_data", False):
            return run(fn, *args, **kwargs)
        if "district_code" in inspect.signature(fn).parameters:
            return run(fn, *args, **{**kwargs, "district_code": district_code})
        raise PermissionError(f"{fn.__module__}.{fn.__name__} shows more than one district")

    return scoped_run
