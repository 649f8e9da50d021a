"""The one place configuration is read.

Database URL, in order: ``EMPLOYMENT_DB_URL``; ``.streamlit/secrets.toml`` ``[connections.employment] url``;
else the demo SQLite file under ``data/``. Other settings come from ``EMPLOYMENT_*`` environment variables with
defaults documented in the README.
"""

from __future__ import annotations

import logging
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from store import stations

ROOT = Path(__file__).resolve().parent.parent
DEMO_DB_PATH = ROOT / "data" / "demo.sqlite"
SECRETS_PATH = ROOT / ".streamlit" / "secrets.toml"
log = logging.getLogger(__name__)


def _secrets_url(path: Path = SECRETS_PATH) -> str | None:
    if not path.exists():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    url = data.get("connections", {}).get("employment", {}).get("url")
    return str(url) if url else None


def database_url() -> str:
    """The SQLAlchemy URL of the employment database (may contain a password: never display it)."""
    return os.environ.get("EMPLOYMENT_DB_URL") or _secrets_url() or f"sqlite:///{DEMO_DB_PATH}"


def safe_url(url: str) -> str:
    """The URL with any password masked, for display and logs."""
    return make_url(url).render_as_string(hide_password=True)


MIN_CELL_DEFAULT = 10
MIN_CELL_FLOOR = 5
MIN_CELL_CEILING = 1_000_000  # more hides everything anyway; keeps the number a bound SQL integer
_warned: set[str] = set()


def _min_cell() -> int:
    """``EMPLOYMENT_MIN_CELL`` as a whole number of persons, never below 5; never raises.

    Not a finite number (``nan``, ``inf``, text) or not positive: the default 10, with a warning in the log. A
    positive value below 5 becomes 5 (the floor), one above a million a million, a fraction is rounded up
    (fewer than 7.5 persons hides 7): with a warning too, once per value and process.
    """
    raw = os.environ.get("EMPLOYMENT_MIN_CELL")
    if raw is None or raw.strip() == "":
        return MIN_CELL_DEFAULT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        chosen = MIN_CELL_DEFAULT
    else:
        chosen = min(MIN_CELL_CEILING, max(MIN_CELL_FLOOR, math.ceil(value)))
    if chosen != value and raw not in _warned:
        _warned.add(raw)
        log.warning("EMPLOYMENT_MIN_CELL=%r is not a whole number from %d to %d: using %d", raw[:40],
                    MIN_CELL_FLOOR, MIN_CELL_CEILING, chosen)  # fmt: skip
    return chosen


def _station_types() -> tuple[str, ...]:
    """``EMPLOYMENT_COVERAGE_STATION_TYPES``: comma-separated station type codes (store/stations.py) the official
    coverage counts; unset or naming no known type: all but partner (unknown codes are dropped with a warning)."""
    raw = os.environ.get("EMPLOYMENT_COVERAGE_STATION_TYPES", "")
    named = [part.strip() for part in raw.split(",") if part.strip()]
    known = tuple(code for code in stations.CODES if code in named)
    unknown = sorted(set(named) - set(known))
    if unknown and raw not in _warned:
        _warned.add(raw)
        log.warning("EMPLOYMENT_COVERAGE_STATION_TYPES names unknown types %s: ignored", unknown[:5])
    return known or stations.COUNTED


def _float_env(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Settings:
    """Tunable behaviour; every field has an ``EMPLOYMENT_*`` environment variable."""

    db_url: str
    yellow_margin_pp: float  # completion may trail the pace line by this many points and still be yellow
    control_cushion_pp: float  # a control-line rate closer to the line than this is yellow
    statement_timeout_s: float
    language: str
    tile_url: str | None
    min_cell_persons: int  # figures resting on fewer persons are suppressed (never below 5)
    coverage_station_types: tuple[str, ...] = stations.COUNTED  # station types the official coverage counts
    card_green_score: float = 80.0  # a district card is green from this weighted score (of 100) up
    card_yellow_score: float = 60.0  # yellow from this score up, red below

    @property
    def is_demo(self) -> bool:
        """True when the database is the bundled synthetic demo (the UI then shows a badge)."""
        return os.environ.get("EMPLOYMENT_DEMO", "") == "1" or self.db_url == f"sqlite:///{DEMO_DB_PATH}"


def settings() -> Settings:
    """Read the current settings (cheap; call freely)."""
    lang = os.environ.get("EMPLOYMENT_LANG", "zh")
    return Settings(
        db_url=database_url(),
        yellow_margin_pp=_float_env("EMPLOYMENT_YELLOW_MARGIN_PP", 5.0),
        control_cushion_pp=_float_env("EMPLOYMENT_CONTROL_CUSHION_PP", 0.2),
        statement_timeout_s=_float_env("EMPLOYMENT_STATEMENT_TIMEOUT_S", 20.0),
        language=lang if lang in ("zh", "en") else "zh",
        tile_url=os.environ.get("EMPLOYMENT_TILE_URL") or None,
        min_cell_persons=_min_cell(),
        coverage_station_types=_station_types(),
        card_green_score=_float_env("EMPLOYMENT_CARD_GREEN_SCORE", 80.0),
        card_yellow_score=_float_env("EMPLOYMENT_CARD_YELLOW_SCORE", 60.0),
    )
