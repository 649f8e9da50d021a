"""``bureau brief``: the written briefing of a month as Word (.docx) or Markdown, for the Monday meeting and for a
scheduled job (``deploy/systemd/employment-brief.timer``).

    bureau brief [--month YYYY-MM] [--lang zh|en] --out FILE.docx|FILE.md [--district CODE] [--base-url URL]

The sentences are :func:`figures.briefing.briefing`'s, read through a job's runner (``figures.run.plain``: the
same suppression plan as the pages); with ``--district`` the runner is scoped to that district as a planner's
pages are, so the briefing covers it alone. Each number links to the dashboard page and filters it came from
(``--base-url``, default ``EMPLOYMENT_PUBLIC_URL`` or http://localhost:8501).

Exit codes: 0 written; 2 bad arguments (month, output type, unknown district, a month without data).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from sqlalchemy import Engine

from store.config import settings

FORMATS = {".docx": "brief-docx", ".md": "brief-md"}
DEFAULT_BASE = "http://localhost:8501"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bureau brief``."""
    parser.add_argument(
        "--month", help="the month to brief on, YYYY-MM (default: the newest month with data)"
    )
    parser.add_argument("--lang", choices=["zh", "en"], help="language (default: EMPLOYMENT_LANG)")
    parser.add_argument("--out", help="output file: .docx (Word) or .md (Markdown)")
    parser.add_argument(
        "--district", help="a district code: that district's briefing only (as its planner sees)"
    )
    parser.add_argument(
        "--base-url",
        help=f"the dashboard's address for the links (default: EMPLOYMENT_PUBLIC_URL or {DEFAULT_BASE})",
    )


def _fail(message: str) -> int:
    print(f"bureau brief: {message}", file=sys.stderr)
    return 2


def _user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def run_cli(args: argparse.Namespace, engine: Engine) -> int:
    """Run ``bureau brief`` with parsed ``args`` against ``engine``; returns the exit code."""
    import figures.briefing
    from figures.rules import rules
    from figures.run import plain
    from i18n import fmt_month, t
    from queries import meta

    if not getattr(args, "out", None):
        return _fail("--out is required: a .docx or .md file")
    out = Path(args.out)
    kind = FORMATS.get(out.suffix.lower())
    if kind is None:
        return _fail(f"--out {out.name}: the briefing is written as .docx or .md")
    status = meta.data_status(engine)
    if args.month:
        try:
            year, month = (int(part) for part in str(args.month).split("-"))
            if not 1 <= month <= 12:
                raise ValueError
        except ValueError:
            return _fail(f"--month {args.month!r}: not a month (YYYY-MM)")
        if month not in meta.months_available(engine, year):
            return _fail(f"--month {args.month}: the database has no data for that month")
    elif status.latest_year and status.latest_month:
        year, month = status.latest_year, status.latest_month
    else:
        return _fail("the database has no data yet")
    lang = args.lang or settings().language
    k = settings().min_cell_persons
    run = plain(engine, k)
    scope = None
    if args.district:
        districts = meta.areas(engine, "district")
        if args.district not in set(districts["area_code"]):
            return _fail(f"--district {args.district}: no such district")
        scope = str(args.district)
        run = figures.briefing.scoped(run, scope)
    base = args.base_url or os.environ.get("EMPLOYMENT_PUBLIC_URL") or DEFAULT_BASE
    brief = figures.briefing.briefing(run, rules(), year, month, lang, scope, base)
    title = t("brief_doc_title", lang, month=fmt_month(year, month, lang))
    subtitle = t("brief_doc_subtitle", lang, cut_off=str(status.cut_off or "—"))
    if kind == "brief-docx":
        from jobs.pack.word import briefing_document

        data = briefing_document(brief, title, subtitle)
    else:
        text = f"# {title}\n\n{subtitle}\n\n" + "\n\n".join(s.markdown for s in brief.sentences)
        data = (text + "\n\n" + t("brief_caption", lang) + "\n").encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    try:
        from store import auth

        detail = f"{year}-{month:02d} {lang} {scope or 'city'} {out.name}"
        auth.audit(engine, auth.User(_user(), "admin"), "export", kind, detail)
    except Exception as exc:  # noqa: BLE001 - the file is written; a missing audit table must not hide that
        print(f"bureau brief: audit log not written ({type(exc).__name__})", file=sys.stderr)
    print(f"{out} written: briefing of {year}-{month:02d} ({lang}, {scope or 'city'}), {len(data):,} bytes")
    return 0
