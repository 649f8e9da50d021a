"""Users, roles and the audit log (no UI here; the login screens live in ui/auth.py).

Passwords are stored as scrypt hashes with a random per-user salt (``scrypt$n$r$p$salt$hash``); the clear
password is never stored or logged. Roles: leader (city-wide), planner (own district only), analyst
(city-wide, read-only, no person-level exports), admin (users, imports, snapshots). A user with no role sees
nothing.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import hmac
import os
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from bureau import schema as s
from bureau.db import upgrade

ROLES = ("leader", "planner", "analyst", "admin")
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True)
class User:
    """Who is looking, and what they may see."""

    username: str
    role: str | None
    district_code: str | None = None
    display_name: str | None = None

    @property
    def city_wide(self) -> bool:
        return self.role in ("leader", "analyst", "admin")


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches the stored hash (constant-time comparison)."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def validate_role(role: str | None, district_code: str | None) -> None:
    """Raise ValueError for an unknown role or a planner without a district."""
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if role == "planner" and not district_code:
        raise ValueError("a planner needs --district (the district they may see)")


def add_user(
    engine: Engine,
    username: str,
    role: str | None,
    password: str | None = None,
    district_code: str | None = None,
    display_name: str | None = None,
) -> None:
    """Create a user (fails if the name exists)."""
    validate_role(role, district_code)
    with engine.begin() as conn:
        conn.execute(
            insert(s.app_user).values(
                username=username,
                password_hash=hash_password(password) if password else None,
                role=role,
                district_code=district_code,
                display_name=display_name,
                disabled=False,
                created_at=datetime.now(),
            )
        )


def set_password(engine: Engine, username: str, password: str) -> bool:
    """Change a password; False when there is no such user."""
    with engine.begin() as conn:
        done = conn.execute(
            update(s.app_user)
            .where(s.app_user.c.username == username)
            .values(password_hash=hash_password(password))
        )
    return bool(done.rowcount)


def set_disabled(engine: Engine, username: str, disabled: bool) -> bool:
    """Disable or re-enable a user; False when there is no such user."""
    with engine.begin() as conn:
        done = conn.execute(
            update(s.app_user).where(s.app_user.c.username == username).values(disabled=disabled)
        )
    return bool(done.rowcount)


def lookup(engine: Engine, username: str) -> tuple[User, str | None] | None:
    """The enabled user called ``username`` and their password hash, or None."""
    u = s.app_user
    with engine.connect() as conn:
        row = (
            conn.execute(select(u).where(u.c.username == username, u.c.disabled.is_(False)))
            .mappings()
            .first()
        )
    if row is None:
        return None
    return User(row["username"], row["role"], row["district_code"], row["display_name"]), row["password_hash"]


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    """The user when the password is right, else None (same answer for unknown users and wrong passwords)."""
    found = lookup(engine, username)
    if found is None:
        verify_password(password, hash_password("timing-equaliser"))
        return None
    user, stored = found
    return user if verify_password(password, stored) else None


def audit(engine: Engine, user: User | None, action: str, target: str, detail: str | None = None) -> None:
    """Append one line to the audit log (who, when, what view or export)."""
    with engine.begin() as conn:
        conn.execute(
            insert(s.audit_log).values(
                at=datetime.now(),
                username=user.username if user else "(anonymous)",
                role=user.role if user else None,
                action=action,
                target=target[:128],
                detail=detail,
            )
        )


# --- bureau users -------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bureau users``."""
    parser.add_argument("action", choices=["add", "passwd", "disable", "enable", "list"])
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


def env_flag(name: str) -> bool:
    """True when the environment variable is set to 1/true/yes."""
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
