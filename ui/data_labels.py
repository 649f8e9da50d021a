"""The Data page in the reader's language: tables by their Chinese names, data loads by kind, and the loads'
English notes (written by the jobs) retold in Chinese (issue #19)."""

from __future__ import annotations

import re

import pandas as pd

from i18n import catalogue, t


def table_name(name: object, lang: str) -> str:
    """A schema table by its name in the reader's language (``area`` → 行政区划); unknown names kept."""
    key = f"tbl_{name}"
    return t(key, lang) if key in catalogue() else str(name)


def load_kind(kind: object, lang: str) -> str:
    key = f"load_kind_{kind}"
    return t(key, lang) if key in catalogue() else str(kind)


def load_note(kind: object, note: object, lang: str) -> str:
    """A load's note: as written in English, retold from its kind in Chinese."""
    text = "" if note is None or note != note else str(note)
    if lang != "zh":
        return text
    if kind == "demo":
        found = re.search(r"scale=(\w+)", text)
        scale = found.group(1) if found else ""
        return t("load_note_demo", lang, scale=t(f"load_scale_{scale}", lang) if scale else "—")
    if kind == "roads":
        numbers = re.findall(r"\d+", text)
        nodes, edges = (numbers + ["—", "—"])[:2]
        return t("load_note_roads", lang, nodes=nodes, edges=edges)
    if kind == "refresh":
        return t("load_note_refresh", lang)
    if kind == "forecast":
        found = re.search(r"\d+", text)
        return t("load_note_forecast", lang, run=found.group(0) if found else "—")
    if kind == "import":
        return t("load_note_import", lang, files=text.split(":", 1)[-1].strip())
    return text


def tables_frame(counts: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``table_counts`` with the tables named for the reader."""
    return counts.assign(table=counts["table"].map(lambda n: table_name(n, lang)))


def loads_frame(loads: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``meta.loads`` with kinds and notes in the reader's language."""
    if loads.empty:
        return loads
    out = loads.copy()
    out["note"] = [load_note(k, n, lang) for k, n in zip(loads["kind"], loads["note"], strict=True)]
    out["kind"] = loads["kind"].map(lambda k: load_kind(k, lang))
    return out


def _audit_text(value: object, lang: str) -> str:
    """A page key (``page_data``) by its title; an audit detail's field names in Chinese."""
    text = "" if value is None else str(value)
    if lang != "zh":
        return text
    text = re.sub(r"\bpage_[a-z]+\b", lambda m: t(m.group(0), lang), text)
    for old, new in (("page=", "页面="), ("file=", "文件="), ("filters:", "筛选："), ("(none)", "（无）")):
        text = text.replace(old, new)
    return text


def audit_frame(entries: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The audit log with roles, actions and pages named for the reader (user names stay as they are)."""
    if entries.empty or lang != "zh":
        return entries
    out = entries.copy()
    if "role" in out:
        out["role"] = out["role"].map(lambda r: t(f"role_{r}", lang) if f"role_{r}" in catalogue() else r)
    if "action" in out:
        out["action"] = out["action"].map(
            lambda a: t(f"audit_action_{a}", lang) if f"audit_action_{a}" in catalogue() else a
        )
    for column in ("target", "detail"):
        if column in out:
            out[column] = out[column].map(lambda v: _audit_text(v, lang))
    return out
