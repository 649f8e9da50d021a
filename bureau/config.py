"""The one place configuration is read.

Database URL, in order: ``EMPLOYMENT_DB_URL``; ``.streamlit/secrets.toml`` ``[connections.employment] url``;
else the demo SQLite file under ``data/``. Other settings come from ``EMPLOYMENT_*`` environment variables with
defaults documented in the README.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEMO_DB_PATH = ROOT / "data" / "demo.sqlite"
SECRETS_PATH = ROOT / ".streamlit" / "secrets.toml"


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
        min_cell_persons=max(5, int(_float_env("EMPLOYMENT_MIN_CELL", 10))),
    )
