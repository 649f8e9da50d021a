"""The message catalogue: every key in both languages with the same placeholders, and every key used exists."""

import re
import string
from pathlib import Path

from i18n import LANGUAGES, catalogue, fmt_int, fmt_yuan, t

ROOT = Path(__file__).resolve().parent.parent


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_and_same_placeholders():
    problems = []
    for key, entry in catalogue().items():
        for lang in LANGUAGES:
            if not entry.get(lang):
                problems.append(f"{key}: missing {lang}")
        both = all(entry.get(lang) for lang in LANGUAGES)
        if both and placeholders(entry["zh"]) != placeholders(entry["en"]):
            problems.append(f"{key}: placeholders differ")
    assert problems == []


def test_every_key_used_in_the_ui_exists():
    used = set()
    pattern = re.compile(r"""(?:ctx\.t|\bt)\(\s*["']([a-z0-9_]+)["']\s*[,)]""")
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]:
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    missing = sorted(k for k in used if k not in catalogue())
    assert missing == []


def test_formatting_follows_the_language():
    assert t("retry", "zh") == "重试" and t("retry", "en") == "Retry"
    assert fmt_int(123456, "zh") == "12.3万" and fmt_int(123456, "en") == "123,456"
    assert fmt_yuan(2_500_000, "zh") == "250.0万元" and fmt_yuan(2_500_000, "en") == "¥2.50 m"
    assert t("no_such_key", "en") == "no_such_key"
