"""``bureau pack``: freeze a quarter (the first time) and export its meeting pack to PDF or Excel.

    bureau pack --quarter 2026Q3 --out pack.pdf [--lang zh|en] [--snapshot ID] [--refreeze] [--user NAME]
    bureau pack --list [--quarter 2026Q3]

Exit codes: 0 written; 2 bad arguments (quarter, output type, unknown snapshot, quarter without data);
4 the Chinese font is missing. An administrator's tool: every export is written to the audit log.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path

from sqlalchemy import Engine

from jobs.pack import fonts, snapshot
from store.config import settings

FORMATS = {".pdf": "pack-pdf", ".xlsx": "pack-xlsx", ".docx": "pack-docx"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bureau pack``."""
    parser.add_argument("--quarter", help="the quarter to present, YYYYQn (e.g. 2026Q3)")
    parser.add_argument(
        "--lang", choices=["zh", "en"], help="language of the pack (default: EMPLOYMENT_LANG)"
    )
    parser.add_argument(
        "--out", help="output file: .pdf (A4 landscape), .docx (Word) or .xlsx (one sheet per table)"
    )
    parser.add_argument("--snapshot", type=int, help="reopen this stored snapshot instead of the newest")
    parser.add_argument("--refreeze", action="store_true", help="freeze the quarter again with today's data")
    parser.add_argument("--user", help="who freezes / exports (default: the login name)")
    parser.add_argument("--list", action="store_true", help="list stored snapshots (of --quarter, if given)")


def _user(args: argparse.Namespace) -> str:
    if getattr(args, "user", None):
        return str(args.user)
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _fail(message: str, code: int = 2) -> int:
    print(f"bureau pack: {message}", file=sys.stderr)
    return code


def _list(engine: Engine, quarter: str | None) -> int:
    found = snapshot.list_snapshots(engine, quarter)
    if found.empty:
        print("no pack snapshot stored" + (f" for {quarter}" if quarter else ""))
        return 0
    for r in found.itertuples():
        print(
            f"#{r.snapshot_id:<5} {r.quarter}  frozen {r.created_at:%Y-%m-%d %H:%M} by {r.created_by}  "
            f"cut-off {r.cut_off}  scheme {r.scheme_name or '—'}  model {r.model_version or '—'}"
        )
    return 0


def run_cli(args: argparse.Namespace, engine: Engine) -> int:
    """Run ``bureau pack`` with parsed ``args`` against ``engine``; returns the exit code."""
    quarter = getattr(args, "quarter", None)
    if quarter is not None:
        try:
            year, q = snapshot.parse_quarter(quarter)
        except snapshot.PackError as exc:
            return _fail(str(exc))
        quarter = snapshot.quarter_label(year, q)
    if getattr(args, "list", False):
        return _list(engine, quarter)
    if quarter is None:
        return _fail("--quarter is required (e.g. --quarter 2026Q3)")
    if not getattr(args, "out", None):
        return _fail("--out is required: a .pdf, .docx or .xlsx file")
    out = Path(args.out)
    kind = FORMATS.get(out.suffix.lower())
    if kind is None:
        return _fail(f"--out {out.name}: the pack is written as .pdf, .docx or .xlsx")
    lang = args.lang or settings().language
    user = _user(args)
    started = time.perf_counter()
    try:
        if kind == "pack-pdf":
            fonts.check()  # fail before freezing anything
        pack, frozen = snapshot.obtain(
            engine, quarter, user, refreeze=args.refreeze, snapshot_id=args.snapshot
        )
    except snapshot.PackError as exc:
        return _fail(str(exc))
    except fonts.FontMissing as exc:
        return _fail(str(exc), 4)
    froze_s = time.perf_counter() - started
    if kind == "pack-pdf":
        from jobs.pack import pdf

        data = pdf.render(pack, lang)
    elif kind == "pack-docx":
        from jobs.pack import word

        data = word.render(pack, lang)
    else:
        from jobs.pack import excel

        data = excel.render(pack, lang)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    total_s = time.perf_counter() - started
    try:
        from store import auth

        who = auth.User(user, "admin")
        detail = f"{pack.quarter} snapshot {pack.snapshot_id} {lang} {out.name}"
        auth.audit(engine, who, "export", kind, detail)
    except Exception as exc:  # noqa: BLE001 - the file is written; a missing audit table must not hide that
        print(f"bureau pack: audit log not written ({type(exc).__name__})", file=sys.stderr)
    how = "frozen now" if frozen else "reused"
    print(
        f"{out} written: {pack.quarter}, snapshot #{pack.snapshot_id} ({how}, cut-off {pack.cut_off}), "
        f"{len(data):,} bytes, {froze_s:.1f} s to get the snapshot, {total_s:.1f} s in all"
    )
    return 0
