"""Users, roles and the audit log (no UI here; the login screens live in ui/auth.py).

Passwords are stored as scrypt hashes with a random per-user salt (``scrypt$n$r$p$salt$hash``); the clear
password is never stored or logged. The cost is OWASP's current advice (N = 2^17, r = 8, p = 1: 128 MiB and a
few tenths of a second per hash); a hash made with other parameters is replaced at the user's next successful
login. Failed logins are counted in the database per user name and per client address (``login_failure``);
past a limit the name or address is locked with a back-off that doubles at every further failure. Roles: leader (city-wide), planner (own district only), analyst
(city-wide, read-only, no person-level exports), admin (users, imports, snapshots). A user with no role sees
nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, delete, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from store import schema as s

ROLES = ("leader", "planner", "analyst", "admin")
SCRYPT = {"n": 2**17, "r": 8, "p": 1}  # OWASP Password Storage Cheat Sheet: N = 2^17, r = 8, p = 1
# scrypt needs 128 * r * N bytes (128 MiB here); hashlib's default limit is 32 MiB. At most two hashes at once
# per process (the server's cores), so a burst of logins queues instead of taking 128 MiB each.
_MAX_SCRYPT = {"n": 2**20, "r": 32, "p": 16}  # refuse stored parameters beyond these (memory, time)
_HASHING = threading.BoundedSemaphore(2)

# Lockout: failures counted per user name tried and per client address, forgotten after WINDOW without one.
USER_LIMIT = 5  # failures of one user name before it is locked
ADDRESS_LIMIT = 20  # failures from one address (any names) before it is locked
FIRST_LOCK = timedelta(seconds=30)  # the first lock; each further failure after a lock doubles it
MAX_LOCK = timedelta(minutes=15)
WINDOW = timedelta(hours=1)


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


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if not (1 < n <= _MAX_SCRYPT["n"] and 0 < r <= _MAX_SCRYPT["r"] and 0 < p <= _MAX_SCRYPT["p"]):
        raise ValueError("scrypt parameters out of range")
    with _HASHING:
        return hashlib.scrypt(
            password.encode("utf-8"), salt=salt, dklen=32, n=n, r=r, p=p, maxmem=2 * 128 * r * (n + p)
        )


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT["n"], SCRYPT["r"], SCRYPT["p"])
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches the stored hash (constant-time comparison)."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def needs_rehash(stored: str | None) -> bool:
    """True when ``stored`` was made with other scrypt parameters than today's (an older, cheaper cost)."""
    if not stored or not stored.startswith("scrypt$"):
        return False
    parts = stored.split("$")
    return len(parts) != 6 or parts[1:4] != [str(SCRYPT["n"]), str(SCRYPT["r"]), str(SCRYPT["p"])]


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash to check unknown users' passwords against, so they take as long as known ones (made once)."""
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_hex(8)))
    return _DUMMY[0]


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


def current(engine: Engine, username: str) -> User | None:
    """The user as the table says now (role, district), or None when disabled or removed: checked at every
    rerun, so ``bureau users disable`` and role changes reach open sessions (one primary-key read)."""
    u = s.app_user
    with engine.connect() as conn:
        row = conn.execute(
            select(u.c.username, u.c.role, u.c.district_code, u.c.display_name).where(
                u.c.username == username, u.c.disabled.is_(False)
            )
        ).first()
    return None if row is None else User(row.username, row.role, row.district_code, row.display_name)


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    """The user when the password is right, else None (same answer for unknown users and wrong passwords).

    A right password whose stored hash has older scrypt parameters is hashed again with today's.
    """
    found = lookup(engine, username)
    if found is None:
        verify_password(password, _dummy_hash())
        return None
    user, stored = found
    if not verify_password(password, stored):
        return None
    if needs_rehash(stored):
        set_password(engine, username, password)
    return user


# --- lockout ------------------------------------------------------------------------------------------------


def lock_length(failures: int, limit: int) -> timedelta:
    """How long a name or address with ``failures`` failures is locked: none below ``limit``, then
    FIRST_LOCK doubling at every further failure, at most MAX_LOCK."""
    if failures < limit:
        return timedelta(0)
    return min(FIRST_LOCK * 2 ** min(failures - limit, 20), MAX_LOCK)


def _subjects(username: str, address: str | None) -> list[tuple[str, str, int]]:
    found = [("user", username[:128], USER_LIMIT)]
    if address:
        found.append(("address", address[:128], ADDRESS_LIMIT))
    return found


def locked_until(
    engine: Engine, username: str, address: str | None, now: datetime | None = None
) -> datetime | None:
    """When the lock on this user name or this address ends, or None when neither is locked now."""
    now = now or datetime.now()
    t = s.login_failure
    keys = [
        (t.c.kind == kind) & (t.c.subject == subject) for kind, subject, _ in _subjects(username, address)
    ]
    with engine.connect() as conn:
        until = conn.execute(
            select(t.c.locked_until)
            .where(or_(*keys), t.c.locked_until > now)
            .order_by(t.c.locked_until.desc())
        ).first()
    return until[0] if until else None


def _bump(conn: Connection, kind: str, subject: str, limit: int, now: datetime) -> datetime | None:
    t = s.login_failure
    key = (t.c.kind == kind) & (t.c.subject == subject)
    stale = t.c.last_failed_at < now - WINDOW  # an old run of failures is forgotten
    done = conn.execute(
        update(t).where(key).values(failures=case((stale, 1), else_=t.c.failures + 1), last_failed_at=now)
    )
    if not done.rowcount:
        conn.execute(insert(t).values(kind=kind, subject=subject, failures=1, last_failed_at=now))
    failures = int(conn.execute(select(t.c.failures).where(key)).scalar_one())
    wait = lock_length(failures, limit)
    until = now + wait if wait else None
    conn.execute(update(t).where(key).values(locked_until=until))
    return until


def note_failure(
    engine: Engine, username: str, address: str | None, now: datetime | None = None
) -> datetime | None:
    """Count one failed login against the user name and the address; the end of the lock it causes, if any."""
    now = now or datetime.now()
    for attempt in range(2):  # two processes inserting the same new row at once: the loser updates it instead
        try:
            with engine.begin() as conn:
                ends = [
                    _bump(conn, kind, subject, limit, now)
                    for kind, subject, limit in _subjects(username, address)
                ]
                conn.execute(
                    delete(s.login_failure).where(s.login_failure.c.last_failed_at < now - 24 * WINDOW)
                )
            return max((e for e in ends if e is not None), default=None)
        except IntegrityError:
            if attempt:
                raise
    return None


def clear_failures(engine: Engine, username: str) -> None:
    """A successful login forgets the user name's failures (not the address's: one's own account would
    otherwise reset the count of guesses at others')."""
    t = s.login_failure
    with engine.begin() as conn:
        conn.execute(delete(t).where(t.c.kind == "user", t.c.subject == username[:128]))


@dataclass(frozen=True)
class LoginResult:
    """The user when the login succeeded; otherwise when the lock it met or caused ends (None: not locked)."""

    user: User | None
    locked_until: datetime | None = None


def login(
    engine: Engine, username: str, password: str, address: str | None = None, now: datetime | None = None
) -> LoginResult:
    """A password login with the lockout: a locked name or address is refused without checking the password."""
    now = now or datetime.now()
    until = locked_until(engine, username, address, now)
    if until is not None:
        return LoginResult(None, until)
    user = authenticate(engine, username, password)
    if user is None:
        return LoginResult(None, note_failure(engine, username, address, now))
    clear_failures(engine, username)
    return LoginResult(user)


# --- proxy and OIDC checks (the Streamlit side reads the headers and claims; ui/auth.py) -------------------

PROXY_SECRET_MIN = 32  # characters of EMPLOYMENT_PROXY_SECRET


def proxy_secret_problem(secret: str | None) -> str | None:
    """Why ``secret`` cannot guard proxy mode (missing, short), or None when it can."""
    if not secret:
        return "EMPLOYMENT_PROXY_SECRET is not set"
    if len(secret) < PROXY_SECRET_MIN:
        return f"EMPLOYMENT_PROXY_SECRET is shorter than {PROXY_SECRET_MIN} characters"
    return None


def proxy_username(
    headers: Mapping[str, list[str]], user_header: str, secret_header: str, secret: str | None
) -> str | None:
    """The user name a trusted proxy vouches for, or None.

    ``headers`` maps a (case-insensitive) header name to all its values. The request must carry exactly one
    ``secret_header`` equal to ``secret`` (constant-time comparison) and exactly one non-empty ``user_header``:
    nginx overwrites both, so a repeated header means it did not come through it.
    """
    if proxy_secret_problem(secret) is not None or secret is None:
        return None
    given = headers.get(secret_header.lower(), [])
    names = headers.get(user_header.lower(), [])
    if len(given) != 1 or not hmac.compare_digest(given[0].encode("utf-8"), secret.encode("utf-8")):
        return None
    if len(names) != 1 or not names[0].strip():
        return None
    return names[0].strip()[:128]


def email_verified(claims: Mapping[str, Any], allow_missing: bool = False) -> bool:
    """True when the identity provider says the e-mail address is verified (``email_verified`` true).

    An absent claim is refused unless ``allow_missing`` (for providers that never send it and vouch for every
    address themselves); a false one always is.
    """
    value = claims.get("email_verified")
    if value is None:
        return allow_missing
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def audit_row(
    user: User | None, action: str, target: str, detail: str | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """One audit-log line (who, when, what view or export) as column values."""
    return {
        "at": at or datetime.now(),
        "username": (user.username if user else "(anonymous)")[:128],
        "role": user.role if user else None,
        "action": action[:16],
        "target": target[:128],
        "detail": detail,
    }


def write_audit(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Insert audit-log lines in one transaction. Executed as a batch without ``RETURNING``, so a role with
    nothing but ``INSERT`` on ``audit_log`` may write them (``EMPLOYMENT_AUDIT_DB_URL``, docs/deployment.md)."""
    if not rows:
        return
    with engine.begin() as conn:
        conn.execute(insert(s.audit_log).inline(), rows)  # inline: no RETURNING of the new id


def audit(engine: Engine, user: User | None, action: str, target: str, detail: str | None = None) -> None:
    """Append one line to the audit log (who, when, what view or export)."""
    write_audit(engine, [audit_row(user, action, target, detail)])


def env_flag(name: str) -> bool:
    """True when the environment variable is set to 1/true/yes."""
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
