"""The message catalogue: every UI string in Chinese and English, from ``messages/*.toml`` (one file per page or
subject, merged; a key defined twice is an error).

``t(key, lang, **values)`` formats a message; a missing key raises ``KeyError`` in tests (see
tests/test_i18n.py) and shows the key itself in production so a page never breaks over a string.
"""

from __future__ import annotations

import tomllib
from datetime import date
from functools import cache
from importlib import resources

LANGUAGES = ("zh", "en")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """All messages: key → {"zh": ..., "en": ...}."""
    merged: dict[str, dict[str, str]] = {}
    folder = resources.files("i18n").joinpath("messages")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        for key, value in tomllib.loads(entry.read_text(encoding="utf-8")).items():
            if key in merged:
                raise ValueError(f"message {key!r} is defined twice (again in {entry.name})")
            merged[key] = value
    return merged


def t(key: str, lang: str = "zh", **values: object) -> str:
    """The message ``key`` in ``lang``, formatted with ``values``."""
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("en") or key
    return text.format(**values) if values else text


def fmt_int(value: float | int | None, lang: str = "zh") -> str:
    """A whole number with thousands separators; Chinese readers get 万 for large figures."""
    if value is None or value != value:
        return "—"
    if lang == "zh" and abs(value) >= 100_000:
        return f"{value / 10_000:,.1f}万"
    return f"{value:,.0f}"


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """A percentage from a fraction (0.5 → '50.0%')."""
    if value is None or value != value:
        return "—"
    return f"{value * 100:.{digits}f}%"


def fmt_yuan(value: float | None, lang: str = "zh") -> str:
    """Money: 万元 in Chinese, yuan with separators (or millions) in English."""
    if value is None or value != value:
        return "—"
    if lang == "zh":
        return f"{value / 10_000:,.1f}万元"
    return f"¥{value / 1e6:,.2f} m" if abs(value) >= 1e6 else f"¥{value:,.0f}"


def fmt_date(value: date | None, lang: str = "zh") -> str:
    """A date as 2026年10月31日 or 31 Oct 2026."""
    if value is None:
        return "—"
    return f"{value.year}年{value.month}月{value.day}日" if lang == "zh" else value.strftime("%d %b %Y")


def fmt_quarter(quarter: str, lang: str = "zh") -> str:
    """A quarter code as a reader writes it: ``2026Q3`` (or ``2026-Q3``) → 2026年第3季度 or Q3 2026."""
    year, q = quarter[:4], quarter[-1]
    return f"{year}年第{q}季度" if lang == "zh" else f"Q{q} {year}"


def fmt_month(year: int, month: int, lang: str = "zh") -> str:
    """A month as 2026年10月 or Oct 2026."""
    return f"{year}年{month}月" if lang == "zh" else date(year, month, 1).strftime("%b %Y")
