"""``bureau import FILE... [--user NAME] [--lang zh|en] [--dry-run] [--datum WGS84|GCJ-02]`` and
``bureau template NAME [--format csv|xlsx] [--out FILE] [--headers en|zh]``.

Exit codes of ``bureau import``: 0 loaded (or nothing to change), 1 validation failed (nothing written),
2 unreadable input or usage error, 3 database error.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy import Engine

from i18n import fmt_int, t
from jobs.importing import datum as dt
from jobs.importing.load import EXIT_UNREADABLE, ImportReport, import_batch
from jobs.importing.templates import BY_NAME, ENTITIES, write_template


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="CSV, Excel, GeoJSON or zipped Shapefile")
    parser.add_argument("--user", help="who loads the data (recorded; default: the login name)")
    parser.add_argument(
        "--lang", choices=["zh", "en"], default="zh", help="language of the report (default zh)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="validate and show what would change; write nothing"
    )
    parser.add_argument(
        "--no-forecast", action="store_true", help="do not update the forecasts after loading"
    )
    parser.add_argument(
        "--datum",
        help="datum of coordinates without a datum column/property: WGS84 or GCJ-02 (stored as GCJ-02)",
    )


def add_template_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name", metavar="NAME", help="template: " + ", ".join(e.name for e in ENTITIES if not e.table_only)
    )
    parser.add_argument(
        "--format",
        choices=["csv", "xlsx"],
        help="csv or xlsx (default: the extension of --out, else xlsx); must agree with --out's extension",
    )
    parser.add_argument(
        "--out", help="file to write, .csv or .xlsx (default: NAME.xlsx / NAME.csv in the current folder)"
    )
    parser.add_argument(
        "--headers", choices=["en", "zh"], default="zh", help="header language (both are accepted)"
    )


def template_format(given: str | None, out: str | None) -> tuple[str, str | None]:
    """The template's format from ``--format`` and ``--out``: the file's extension decides, and a ``--format``
    that disagrees with it, or an extension other than .csv / .xlsx, is refused (``(format, error)``)."""
    if not out:
        return given or "xlsx", None
    suffix = Path(out).suffix.lower().lstrip(".")
    if suffix not in ("csv", "xlsx"):
        return given or "xlsx", f"--out {Path(out).name}: a template is written as .csv or .xlsx"
    if given and given != suffix:
        return given, f"--format {given} does not match --out {Path(out).name}: name the file .{given}"
    return suffix, None


def run_template(args: argparse.Namespace) -> int:
    entity = BY_NAME.get(args.name)
    if entity is None or entity.table_only:
        names = ", ".join(e.name for e in ENTITIES if not e.table_only)
        print(f"bureau template: unknown template {args.name!r}; one of: {names}", file=sys.stderr)
        return 2
    fmt, error = template_format(args.format, args.out)
    if error:
        print(f"bureau template: {error}", file=sys.stderr)
        return 2
    out = Path(args.out or f"{entity.name}.{fmt}")
    out.write_bytes(write_template(entity, fmt, args.headers))
    print(f"template {entity.name} ({entity.zh}) written to {out}")
    return 0


def format_report(report: ImportReport, lang: str) -> str:
    """The report a clerk reads: files, problems (file, row, column, message), then what was loaded."""
    lines = []
    for f in report.files:
        extra = [t("import_rows_n", lang, rows=fmt_int(f.rows, lang))]
        if f.encoding:
            extra.append(t("import_encoding_is", lang, encoding=f.encoding))
        if f.datums:
            extra.append(t("import_datum_is", lang, datum="+".join(f.datums)))
        lines.append(f"{f.file}: {t('import_template_is', lang, template=f.template)}, " + ", ".join(extra))
    errors = [p for p in report.problems if p.level != "warning"]
    warnings = [p for p in report.problems if p.level == "warning"]
    for label, group in ((t("import_errors", lang), errors), (t("import_warnings", lang), warnings)):
        if group:
            lines.append(f"{label} ({len(group)}):")
            lines.extend(f"  {p.where(lang)}: {p.message(lang)}" for p in group)
    if report.database_error:
        lines.append(t("import_database_error", lang, error=report.database_error))
    code = report.exit_code
    if code == 0:
        for name, c in report.counts.items():
            lines.append("  " + t("import_counts", lang, template=name, inserted=fmt_int(c["inserted"], lang),
                                  replaced=fmt_int(c["replaced"], lang), unchanged=fmt_int(c["unchanged"], lang)))  # fmt: skip
        if report.dry_run:
            lines.append(t("import_dry_run_ok", lang))
        elif report.written == 0:
            lines.append(t("import_nothing_changed", lang))
        else:
            lines.append(t("import_loaded", lang, rows=fmt_int(report.written, lang), load_id=report.load_id,
                           cut_off=str(report.cut_off or "—"), seconds=f"{report.seconds:.1f}"))  # fmt: skip
            if report.refreshed_rows is not None:
                lines.append(t("import_refreshed", lang, rows=fmt_int(report.refreshed_rows, lang)))
    elif code == 1:
        lines.append(t("import_not_loaded", lang, count=len(errors)))
    elif code == 2:
        lines.append(t("import_unreadable", lang))
    return "\n".join(lines)


def run_import(args: argparse.Namespace, engine: Engine) -> int:
    files = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            print(t("import_no_such_file", args.lang, file=name), file=sys.stderr)
            return EXIT_UNREADABLE
        files.append((path.name, path.read_bytes()))
    datum = None
    if args.datum:
        datum = dt.parse_datum(args.datum)
        if datum is None:
            print(t("import_bad_datum", args.lang, value=args.datum), file=sys.stderr)
            return EXIT_UNREADABLE
    user = args.user or _login()
    report = import_batch(engine, files, user=user, dry_run=args.dry_run, datum=datum,
                          refresh_forecasts=not args.no_forecast)  # fmt: skip
    text = format_report(report, args.lang)
    print(text, file=sys.stdout if report.exit_code == 0 else sys.stderr)
    return report.exit_code


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
