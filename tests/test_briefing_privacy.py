"""The briefing and the Word pack on the crafted database of tests/test_privacy_paths.py (Jiang'an's September
and one of its streets are small): neither writes a hidden figure nor one that gives it back."""

from __future__ import annotations

import io
from datetime import date, datetime

import docx

import figures.briefing as fb
from figures.rules import rules
from figures.run import plain
from i18n import fmt_int, fmt_pct, t
from jobs.pack import snapshot, word
from queries import meta, targets
from tests.test_privacy_paths import UNE, YEAR, X, crafted  # noqa: F401 - the module fixture


def test_the_briefing_never_writes_a_hidden_figure(crafted: dict) -> None:  # noqa: F811
    e = crafted["engine"]
    raw = targets.attainment(e, YEAR, 9).set_index(["area_code", "indicator_code"]).loc[(X, UNE)]
    facts = fb.gather(plain(e, 10), rules(), YEAR, 9)
    assert X not in {m["area_code"] for m in facts.moves} and X not in {g.area_code for g in facts.gaps}
    names = meta.areas(e, "district").set_index("area_code")
    for lang in ("zh", "en"):
        brief = fb.compose(facts, lang)
        name = names.loc[X, "name_zh" if lang == "zh" else "name_en"]
        secret = {
            fmt_int(raw["actual"], lang),
            fmt_pct(raw["completion_rate"]),
            fmt_int(raw["pace_gap"], lang),
        }
        for sentence in brief.sentences:
            if name in sentence.text:
                assert not [s for s in secret if s in sentence.text], sentence.text
        street = crafted["street"]
        assert all(street not in s.markdown for s in brief.sentences)


def test_the_word_pack_writes_a_dash_for_a_hidden_row(crafted: dict) -> None:  # noqa: F811
    e = crafted["engine"]
    content = snapshot.build(e, f"{YEAR}Q3")
    pack = snapshot.Pack(
        None, f"{YEAR}Q3", datetime.now(), "tester", date(YEAR, 9, 30), None, None, None, content
    )
    doc = docx.Document(io.BytesIO(word.render(pack, "en")))
    ranking = next(tb for tb in doc.tables if tb.rows[0].cells[0].text == t("pack_col_rank", "en"))
    row = next([c.text for c in r.cells] for r in ranking.rows if r.cells[1].text == "Jiang'an District")
    assert row[0] == "—" and row[4] == "—" and row[5] == "—"  # no rank, actual or completion
    raw = targets.attainment(e, YEAR, 9).set_index(["area_code", "indicator_code"]).loc[(X, UNE)]
    assert fmt_int(raw["actual"], "en") not in row
