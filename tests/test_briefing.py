"""The written briefing (figures/briefing.py): hand-built months where it must say a specific thing, in both
languages; the gap decomposition sums to the gap; a planner's briefing holds only their district."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import figures.briefing as fb
from figures.rules import Rules
from figures.run import plain
from queries import checks, forecasts, overview, targets

Y, M = 2026, 10
UNE = "urban_new_employment"
RATE = "registered_unemployment_rate"
DISTRICTS = {
    "420102": ("江岸区", "Jiang'an District"),
    "420104": ("硚口区", "Qiaokou District"),
    "420105": ("汉阳区", "Hanyang District"),
}
STREETS = {
    "420104001": ("宝丰街道", "Baofeng Street"),
    "420104002": ("荣华街道", "Ronghua Street"),
    "420104003": ("汉中街道", "Hanzhong Street"),
}


def att(area: str, names: tuple[str, str], actual: float, target: float, month: int) -> dict[str, Any]:
    pace = month / 12
    return dict(
        area_code=area,
        name_zh=names[0],
        name_en=names[1],
        zone="central",
        indicator_code=UNE,
        direction="higher",
        kind="flow",
        unit="persons",
        sort_order=1,
        target=target,
        actual=actual,
        completion_rate=actual / target,
        time_elapsed_progress=pace,
        pace_gap=target * pace - actual,
        margin_pp=np.nan,
        rank=1,
        peer_rank=1,
        rank_prev=1,
        rank_change=0,
        suppressed=False,
    )


def rate_row(area: str, names: tuple[str, str]) -> dict[str, Any]:
    return dict(
        area_code=area,
        name_zh=names[0],
        name_en=names[1],
        zone=None,
        indicator_code=RATE,
        direction="control",
        kind="rate",
        unit="pct",
        sort_order=4,
        target=3.5,
        actual=2.6,
        completion_rate=np.nan,
        time_elapsed_progress=M / 12,
        pace_gap=np.nan,
        margin_pp=0.9,
        rank=1,
        peer_rank=1,
        rank_prev=1,
        rank_change=0,
        suppressed=False,
    )


# Targets of 1,200 each: pace 1,000 at October, 900 at September.
DISTRICT_ROWS = {
    # Jiang'an: 3 points behind in September (slightly behind), 8 points behind in October (behind)
    9: [
        att("420102", DISTRICTS["420102"], 864, 1200, 9),
        att("420104", DISTRICTS["420104"], 900, 1200, 9),
        att("420105", DISTRICTS["420105"], 950, 1200, 9),
    ],
    10: [
        att("420102", DISTRICTS["420102"], 904, 1200, 10),
        att("420104", DISTRICTS["420104"], 950, 1200, 10),
        att("420105", DISTRICTS["420105"], 1050, 1200, 10),
    ],
}
# Qiaokou is 50 short (4.2 points, slightly behind); all of it in Baofeng Street
STREET_ROWS = [
    att("420104001", STREETS["420104001"], 300, 420, 10),  # pace 350: 50 short
    att("420104002", STREETS["420104002"], 350, 420, 10),  # on pace
    att("420104003", STREETS["420104003"], 300, 360, 10),  # on pace
]


class Fake:
    """A runner over hand-built frames (what the protected queries would return)."""

    def __init__(self, late: bool = True, hide: frozenset[str] = frozenset()) -> None:
        self.late = late
        self.hide = (
            hide  # areas whose figures small-count suppression hid (NaN, as privacy.protect leaves them)
        )
        self.calls: list[str] = []

    def hidden(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        gone = out["area_code"].isin(self.hide)
        for col in ("actual", "completion_rate", "pace_gap"):
            out[col] = out[col].astype(float).where(~gone)
        out["suppressed"] = gone
        return out

    def __call__(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(fn.__name__)
        if fn is targets.attainment:
            year, month = args[:2]
            level = kwargs.get("level", "district")
            if level == "city":
                rows = DISTRICT_ROWS[month]
                total = att("420100", ("武汉市", "Wuhan"), sum(r["actual"] for r in rows), 3600, month)
                return pd.DataFrame([total, rate_row("420100", ("武汉市", "Wuhan"))])
            if level == "street":
                if kwargs.get("parent_code") == "420104":
                    return self.hidden(pd.DataFrame(STREET_ROWS))
                return pd.DataFrame(columns=list(STREET_ROWS[0]))
            return self.hidden(pd.DataFrame(DISTRICT_ROWS[month]))
        if fn is forecasts.newest_run or fn is overview.latest_forecast:
            return None if fn is forecasts.newest_run else pd.DataFrame()
        if fn is targets.monthly_curve:
            area = args[1]
            actual = {r["area_code"]: r["actual"] for r in DISTRICT_ROWS[10]}[area]
            values = [actual / 10] * 10  # evenly spread: no month stands out
            return pd.DataFrame({"month": range(1, 11), "value": values})
        if fn is targets.group_breakdown:
            return pd.DataFrame(columns=["group_code", "value"])
        if fn is checks.late_reports:
            rows = [dict(area_code="420105", year=Y, month=10, days_late=12)] if self.late else []
            return pd.DataFrame(rows, columns=["area_code", "year", "month", "days_late"])
        if fn in (checks.missing_reports, checks.unreconciled):
            return pd.DataFrame(
                columns=["area_code", "year", "month", "indicator_code", "reported", "records"]
            )
        if fn is checks.outlier_months:
            return pd.DataFrame(columns=["area_code", "year", "month", "value", "expected", "z"])
        raise AssertionError(f"unexpected query {fn.__name__}")


RULES = Rules(yellow_margin_pp=5.0)


@pytest.fixture(scope="module")
def facts() -> fb.Facts:
    return fb.gather(Fake(), RULES, Y, M)


def test_a_district_crossing_from_slightly_behind_to_behind(facts: fb.Facts) -> None:
    moves = {m["area_code"]: (m["before"], m["now"]) for m in facts.moves}
    assert moves["420102"] == ("yellow", "red")
    zh = fb.compose(facts, "zh").text()
    en = fb.compose(facts, "en").text()
    assert "江岸区由略滞后转为滞后" in zh
    assert "Jiang'an District moved from slightly behind to behind" in en


def test_a_gap_explained_by_one_street(facts: fb.Facts) -> None:
    qiaokou = next(g for g in facts.gaps if g.area_code == "420104")
    assert qiaokou.gap == pytest.approx(50)
    zh = fb.compose(facts, "zh").text()
    en = fb.compose(facts, "en").text()
    assert "硚口区（略滞后）比序时进度少50人：主要在宝丰街道（50人），合计占差距的100%" in zh
    assert (
        "Qiaokou District (slightly behind) is 50 short of pace: mostly in Baofeng Street (50), together 100% of the gap"
        in en
    )


def test_a_late_report_is_mentioned() -> None:
    zh = fb.briefing(Fake(), RULES, Y, M, "zh").text()
    en = fb.briefing(Fake(), RULES, Y, M, "en").text()
    assert "汉阳区2026年10月月报迟报12天" in zh
    assert "Hanyang District's Oct 2026 report came 12 days late" in en
    quiet = fb.briefing(Fake(late=False), RULES, Y, M, "zh").text()
    assert "汉阳区2026年10月月报迟报" not in quiet and "本年度未发现缺报、迟报或台账不一致" in quiet


def test_the_headline_against_pace_and_last_month(facts: fb.Facts) -> None:
    zh = fb.compose(facts, "zh")
    assert 5 <= len(zh.sentences) <= 8
    assert zh.sentences[0].text.startswith(
        "截至2026年10月，全市城镇新增就业2,904人，完成年度目标3,600人的80.7%"
    )
    en = fb.compose(facts, "en", base="https://dash.example").markdown()
    assert (
        "[2,904](https://dash.example/targets?lang=en&year=2026&month=10&indicator=urban_new_employment)"
        in en
    )


def test_decompositions_sum_to_the_gap(facts: fb.Facts) -> None:
    for g in facts.gaps:
        for parts in (g.streets, g.months, g.groups):
            assert parts["gap"].sum() == pytest.approx(g.gap, abs=1e-9)
    parts = fb.decompose(100.0, pd.Series({"a": 60.0, "b": np.nan, "c": 10.0}))
    assert parts["gap"].sum() == pytest.approx(100.0)
    assert parts.iloc[-1]["part"] == fb.REST and parts.iloc[-1]["gap"] == pytest.approx(30.0)


def test_a_planners_briefing_mentions_no_other_district(demo_url: str) -> None:
    from queries import meta
    from store.db import make_engine

    engine = make_engine(demo_url)
    names = meta.areas(engine, "district")
    own = "420102"
    run = fb.scoped(plain(engine, 10), own)
    for lang, col in (("zh", "name_zh"), ("en", "name_en")):
        text = fb.briefing(run, RULES, Y, M, lang, scope=own).markdown()
        others = names[names["area_code"] != own][col]
        assert not [n for n in others if n in text]
        assert not [c for c in names["area_code"] if c != own and c in text]
        assert names.set_index("area_code").loc[own, col] in text


def test_a_hidden_figure_is_never_written() -> None:
    """Jiang'an's figures hidden: no status, no move, no gap sentence names it. Baofeng Street's hidden: the gap
    is not put on it (nor its 50 persons, which with its target would give its actual back)."""
    for lang, district, street in (("zh", "江岸区", "宝丰街道"), ("en", "Jiang'an", "Baofeng")):
        text = fb.briefing(Fake(hide=frozenset({"420102"})), RULES, Y, M, lang).text()
        assert district not in text
        text = fb.briefing(Fake(hide=frozenset({"420104001"})), RULES, Y, M, lang).text()
        assert street not in text
        assert (
            "硚口区（略滞后）比序时进度少50人" if lang == "zh" else "Qiaokou District (slightly behind) is 50"
        ) in text


@pytest.mark.postgres
def test_the_briefing_reads_the_same_on_postgresql(demo_url: str, pg_demo_url: str) -> None:
    from store.db import make_engine

    said = [fb.briefing(plain(make_engine(u), 10), RULES, Y, M, "zh").text() for u in (demo_url, pg_demo_url)]
    assert said[0] == said[1] and said[0].startswith("截至2026年10月")
