"""``bureau users``: add, disable and list the built-in login's users (the storage is ``store.auth``)."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import Engine, select

from store import schema as s
from store.auth import ROLES, add_user, clear_failures, set_disabled, set_password
from store.db import upgrade


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bureau users``."""
    parser.add_argument("action", choices=["add", "passwd", "disable", "enable", "unlock", "list"])
    parser.add_argument("username", nargs="?")
    parser.add_argument("--role", choices=ROLES)
    parser.add_argument("--district", help="a planner's district code")
    parser.add_argument("--name", help="display name")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.add_argument(
        "--sso", action="store_true", help="no password: the user logs in through OIDC or a proxy"
    )


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the two passwords differ")
    return first


def run_cli(args: argparse.Namespace, engine: Engine) -> int:
    """``bureau users ACTION [USERNAME]``."""
    upgrade(engine)
    if args.action == "list":
        with engine.connect() as conn:
            for row in conn.execute(
                select(
                    s.app_user.c.username,
                    s.app_user.c.role,
                    s.app_user.c.district_code,
                    s.app_user.c.disabled,
                ).order_by(s.app_user.c.username)
            ):
                print(
                    f"{row.username:<32}{row.role or '(none)':<10}{row.district_code or '':<10}"
                    f"{'disabled' if row.disabled else ''}"
                )
        return 0
    if not args.username:
        print("bureau users: a username is needed", file=sys.stderr)
        return 2
    try:
        if args.action == "add":
            password = None if args.sso else _password(args)
            if password is not None and len(password) < 10:
                raise ValueError("use at least 10 characters")
            add_user(engine, args.username, args.role, password, args.district, args.name)
        elif args.action == "unlock":  # a name locked by someone else's guesses (the address locks stay)
            clear_failures(engine, args.username)
        elif args.action == "passwd":
            if not set_password(engine, args.username, _password(args)):
                raise ValueError(f"no user {args.username!r}")
        elif not set_disabled(engine, args.username, args.action == "disable"):
            raise ValueError(f"no user {args.username!r}")
    except ValueError as exc:
        print(f"bureau users: {exc}", file=sys.stderr)
        return 2
    print(f"{args.action}: {args.username}")
    return 0
