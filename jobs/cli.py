"""The ``bureau`` command: jobs that write to the employment database."""

from __future__ import annotations

import argparse
import importlib
import sys
from datetime import date

import pandas as pd
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from store.config import safe_url, settings
from store.db import make_engine


def _cmd_demo(args: argparse.Namespace) -> int:
    from jobs import demo

    url = args.url or settings().db_url
    engine = make_engine(url)
    if args.if_missing:
        from sqlalchemy import inspect

        if inspect(engine).has_table("area"):
            with engine.connect() as conn:
                from store.db import row_count
                from store.schema import area

                present = bool(row_count(conn, area))
            if present:
                if not args.no_forecasts and demo.needs_forecasts(engine):
                    print(f"demo database present at {safe_url(url)} without forecasts: computing them")
                    from jobs import forecast as forecast_job

                    forecast_job.run(engine, jobs=2)
                    return 0
                print(f"demo database present at {safe_url(url)}; nothing to do")
                return 0
    until = pd.Period(args.until, freq="M") if args.until else None
    try:
        result = demo.build(
            engine,
            scale=args.scale,
            until=until,
            seed=args.seed,
            force=args.force,
            forecasts=not args.no_forecasts,
        )
    except demo.DemoExists as exc:
        print(f"bureau demo: {exc}", file=sys.stderr)
        return 2
    total = sum(result.rows.values())
    print(
        f"demo city written to {safe_url(url)}: {total:,} rows, data cut-off {result.cut_off}, "
        f"{result.seconds:.1f} s"
    )
    for name, n in result.rows.items():
        print(f"  {name:<28}{n:>12,}")
    if result.forecast_run is not None:
        print(f"forecast run {result.forecast_run} stored ({result.forecast_seconds:.1f} s)")
    return 0


def _cmd_refresh(args: argparse.Namespace) -> int:
    from jobs import refresh

    engine = make_engine(args.url or settings().db_url)
    with engine.begin() as conn:
        scope = refresh.scope(conn, args.since, args.district)
        rows = refresh.run(conn, scope)
    print(f"aggregates refreshed ({scope.describe()}): {rows:,} rows")
    return 0


def _month(text: str) -> date:
    """A ``YYYY-MM`` argument as the first day of that month."""
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month (YYYY-MM): {text!r}") from None


def _cmd_migrate(args: argparse.Namespace) -> int:
    from store.db import upgrade

    url = args.url or settings().db_url
    upgrade(make_engine(url))
    print(f"schema at the newest migration in {safe_url(url)}")
    return 0


def _cmd_forecast(args: argparse.Namespace) -> int:
    job = importlib.import_module("jobs.forecast")
    return int(job.run_cli(args, make_engine(args.url or settings().db_url)))


def _cmd_roads(args: argparse.Namespace) -> int:
    job = importlib.import_module("jobs.roads")
    return int(job.run_cli(args, make_engine(args.url or settings().db_url)))


def _cmd_import(args: argparse.Namespace) -> int:
    job = importlib.import_module("jobs.importing.cli")
    return int(job.run_import(args, make_engine(args.url or settings().db_url)))


def _cmd_template(args: argparse.Namespace) -> int:
    job = importlib.import_module("jobs.importing.cli")
    return int(job.run_template(args))


def _cmd_pack(args: argparse.Namespace) -> int:
    job = importlib.import_module("jobs.pack.cli")
    return int(job.run_cli(args, make_engine(args.url or settings().db_url)))


def _cmd_brief(args: argparse.Namespace) -> int:
    job = importlib.import_module("jobs.pack.brief")
    return int(job.run_cli(args, make_engine(args.url or settings().db_url)))


def _cmd_users(args: argparse.Namespace) -> int:
    from jobs import users

    return users.run_cli(args, make_engine(args.url or settings().db_url))


def _cmd_weights(args: argparse.Namespace) -> int:
    from jobs import schemes

    return schemes.run_cli(args, make_engine(args.url or settings().db_url))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(prog="bureau", description="Jobs for the employment bureau dashboard.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="build the synthetic demo city (Wuhan) into the database")
    demo.add_argument("--scale", choices=["tiny", "small", "large"], default="small")
    demo.add_argument("--until", help="last month of data, YYYY-MM (default: the last full month)")
    demo.add_argument("--seed", type=int, default=20190101)
    demo.add_argument("--force", action="store_true", help="replace data already in the database")
    demo.add_argument(
        "--if-missing", action="store_true", help="do nothing when the database already has data"
    )
    demo.add_argument(
        "--no-forecasts", action="store_true", help="skip the forecasts (computed with the city by default)"
    )
    demo.set_defaults(func=_cmd_demo)
    ref = sub.add_parser("refresh", help="rebuild the monthly aggregates from the records (all, or a part)")
    ref.add_argument(
        "--since", type=_month, help="recompute only the months from YYYY-MM on (default: every month)"
    )
    ref.add_argument("--district", action="append", help="recompute only this district (repeatable)")
    ref.set_defaults(func=_cmd_refresh)
    mig = sub.add_parser("migrate", help="create or upgrade the schema (Alembic)")
    mig.set_defaults(func=_cmd_migrate)
    fc = sub.add_parser("forecast", help="compute and store forecasts with their accuracy record")
    fc.set_defaults(func=_cmd_forecast)
    _extend("forecast", fc)
    rd = sub.add_parser("roads", help="import a road network (GeoJSON lines) for network-distance coverage")
    rd.set_defaults(func=_cmd_roads)
    _extend("roads", rd)
    imp = sub.add_parser("import", help="validate and load CSV/Excel/GeoJSON files (all or nothing)")
    imp.set_defaults(func=_cmd_import)
    _extend("importing.cli", imp, "add_import_arguments")
    tpl = sub.add_parser("template", help="write an empty import template (CSV or Excel)")
    tpl.set_defaults(func=_cmd_template)
    _extend("importing.cli", tpl, "add_template_arguments")
    us = sub.add_parser("users", help="manage dashboard users and roles (built-in login)")
    us.set_defaults(func=_cmd_users)
    from jobs import users

    users.add_arguments(us)
    pk = sub.add_parser("pack", help="freeze a quarter and export the meeting pack (PDF / Excel)")
    pk.set_defaults(func=_cmd_pack)
    _extend("pack.cli", pk)
    br = sub.add_parser("brief", help="write the month's briefing (Word .docx or Markdown)")
    br.set_defaults(func=_cmd_brief)
    _extend("pack.brief", br)
    wt = sub.add_parser(
        "weights", help="record the bureau's official weights of the five transfer factors (locked)"
    )
    wt.set_defaults(func=_cmd_weights)
    from jobs import schemes

    schemes.add_arguments(wt)
    for p in (demo, ref, mig, fc, rd, imp, us, pk, br, wt):
        p.add_argument(
            "--url", help="SQLAlchemy URL (default: EMPLOYMENT_DB_URL, secrets.toml, or the demo file)"
        )
    return parser


def _extend(module: str, parser: argparse.ArgumentParser, hook: str = "add_arguments") -> None:
    """Let a job module add its own arguments (``hook(parser)``), when it is installed."""
    try:
        mod = importlib.import_module(f"jobs.{module}")
    except ModuleNotFoundError:
        return
    getattr(mod, hook)(parser)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bureau`` console command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except OperationalError as exc:
        print(f"bureau: cannot reach the database ({exc.orig}). Check EMPLOYMENT_DB_URL.", file=sys.stderr)
        return 3
    except SQLAlchemyError as exc:
        print(f"bureau: database error: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
