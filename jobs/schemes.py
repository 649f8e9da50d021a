"""Scoring schemes as data: the locked presets of ``scoring.PRESETS`` plus what-if copies in ``scoring_scheme``.

A preset name can never be stored (it would shadow the official scheme), a stored locked scheme can never be
overwritten, and every definition is validated by rebuilding it from its JSON before it is written. Saving is
one transaction. The page saves through :func:`save_to_configured_db`, which opens a writable engine for the
configured database (the app's shared engine is read-only on PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Engine, insert, select, update

from scoring import PRESETS, TRANSFER_PRESETS, WUHAN_2009, Scheme, SchemeError
from store import schema as s
from store.config import settings
from store.db import make_engine

PRESET_AUTHOR = "preset"
MAX_NAME = 64  # scoring_scheme.name and created_by are VARCHAR(64)
#: Roles that may store a scheme (docs/deployment.md): leaders and administrators. Analysts are read-only, and
#: planners do not see the city-wide scoring at all.
SAVE_ROLES = frozenset({"leader", "admin"})


class SchemeRefused(ValueError):
    """A save that would overwrite a preset or a locked scheme, or store an invalid name."""


class SchemeForbidden(PermissionError):
    """A save by a role that may not change schemes (an analyst, a planner, no role)."""


def may_save(role: str | None) -> bool:
    """True when ``role`` may store a what-if scheme (the page disables its button for the others)."""
    return role in SAVE_ROLES


def _check_name(name: str) -> str:
    clean = name.strip() if isinstance(name, str) else ""
    if not clean:
        raise SchemeRefused("a scheme needs a name")
    if len(clean) > MAX_NAME:
        raise SchemeRefused(f"scheme name is {len(clean)} characters; at most {MAX_NAME} fit")
    if clean != name:
        raise SchemeRefused(f"scheme name {name!r} has leading or trailing spaces")
    if clean in PRESETS or clean in TRANSFER_PRESETS:
        raise SchemeRefused(f"{clean!r} is a locked preset; save the what-if copy under another name")
    return clean


def save_scheme(engine: Engine, scheme: Scheme, user: str, now: datetime | None = None) -> None:
    """Store ``scheme`` under its name, recording ``user`` and the time (one transaction).

    Refuses (``SchemeRefused``) a preset's name, an existing locked scheme and a bad name; an invalid definition
    raises ``SchemeError`` (both are ``ValueError``). An existing unlocked scheme of the same name is replaced.
    """
    if not isinstance(scheme, Scheme):
        raise SchemeError(f"expected a Scheme, got {type(scheme).__name__}")
    name = _check_name(scheme.name)
    text = scheme.to_json()
    if Scheme.from_json(text) != scheme:  # the stored text must rebuild exactly this scheme
        raise SchemeError(f"scheme {name!r} does not round-trip through JSON")
    who = (user or "").strip()[:MAX_NAME] or "unknown"
    when = now or datetime.now().replace(microsecond=0)
    t = s.scoring_scheme
    values = dict(definition_json=text, locked=scheme.locked, created_by=who, created_at=when)
    with engine.begin() as conn:
        existing = conn.execute(select(t.c.locked).where(t.c.name == name).with_for_update()).first()
        if existing is not None and existing.locked:
            raise SchemeRefused(f"{name!r} is a locked scheme; it cannot be overwritten")
        if existing is None:
            conn.execute(insert(t).values(name=name, **values))
        else:
            conn.execute(update(t).where(t.c.name == name).values(**values))


@cache
def _writable(url: str) -> Engine:
    return make_engine(url)


def writable_engine() -> Engine:
    """A read-write engine for the configured database (one per URL and process)."""
    return _writable(settings().db_url)


def save_to_configured_db(scheme: Scheme, user: str, *, role: str | None) -> None:
    """:func:`save_scheme` into the configured database through a writable engine, for a role that may save.

    The role is checked here, not only by the page's disabled button: ``SchemeForbidden`` for any other role.
    """
    if not may_save(role):
        raise SchemeForbidden(f"role {role!r} may not save scoring schemes")
    save_scheme(writable_engine(), scheme, user)


def official_weights_scheme(weights: dict[str, float], user: str, now: datetime | None = None) -> Scheme:
    """Seed 002's five transfer factors with the bureau's ``weights`` (code → weight ≥ 0, every factor named), as
    a locked scheme named for the time it was set ("official weights 2026-12-03 10:40"): the official scheme from
    then on (``figures.schemes.official_transfer`` reads the newest)."""
    missing = sorted(set(WUHAN_2009.codes) - set(weights))
    unknown = sorted(set(weights) - set(WUHAN_2009.codes))
    if missing or unknown:
        raise SchemeError(
            f"the official weights need exactly the five factors; missing {missing}, unknown {unknown}"
        )
    when = now or datetime.now().replace(microsecond=0)
    description = (
        f"Seed 002 §二(二)'s five factors with the bureau's own weights, set by {user or 'unknown'} on "
        f"{when:%Y-%m-%d %H:%M}."
    )
    name = f"official weights {when:%Y-%m-%d %H:%M:%S}"
    return WUHAN_2009.with_name(name, description).with_weights(weights).replace(locked=True)


def record_official_weights(
    engine: Engine, weights: dict[str, float], user: str, now: datetime | None = None
) -> Scheme:
    """Store the bureau's official transfer weights (:func:`official_weights_scheme`), locked, with who and when."""
    when = now or datetime.now().replace(microsecond=0)
    scheme = official_weights_scheme(weights, user, when)
    save_scheme(engine, scheme, user, when)
    return scheme


def record_official_in_configured_db(weights: dict[str, float], user: str, *, role: str | None) -> Scheme:
    """:func:`record_official_weights` from the page: leaders and administrators only (``SchemeForbidden``)."""
    if not may_save(role):
        raise SchemeForbidden(f"role {role!r} may not record the official weights")
    return record_official_weights(writable_engine(), weights, user)


def add_arguments(parser: Any) -> None:
    """``bureau weights``: record the bureau's official weights of seed 002's five transfer factors."""
    for code, flag in zip(WUHAN_2009.codes, FACTOR_FLAGS, strict=True):
        parser.add_argument(f"--{flag}", type=float, required=True, help=f"weight of {code} (any unit, >= 0)")
    parser.add_argument("--by", required=True, help="who sets them (recorded with the time)")


#: ``bureau weights`` flags, in the order of the five factors.
FACTOR_FLAGS: tuple[str, ...] = ("raised", "workload", "results", "difficulty", "performance")


def run_cli(args: Any, engine: Engine) -> int:
    """Record the weights given on the command line; prints the scheme's name and normalised weights."""
    weights = {
        code: float(getattr(args, flag)) for code, flag in zip(WUHAN_2009.codes, FACTOR_FLAGS, strict=True)
    }
    try:
        scheme = record_official_weights(engine, weights, args.by)
    except ValueError as exc:
        print(f"bureau weights: {exc}")
        return 2
    shares = ", ".join(f"{c} {w:.1%}" for c, w in scheme.normalised_weights().items())
    print(f"recorded {scheme.name!r} by {args.by}: {shares}")
    return 0
