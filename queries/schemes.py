"""Stored scoring schemes: the rows of ``scoring_scheme`` (definitions, not figures)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from queries import frame, non_person
from store import schema as s


@non_person("scoring scheme definitions: weights and who set them, no figures")
def stored_schemes(engine: Engine) -> pd.DataFrame:
    """Every stored scheme, newest first: ``name, definition_json, locked, created_by, created_at``."""
    t = s.scoring_scheme
    stmt = select(t.c.name, t.c.definition_json, t.c.locked, t.c.created_by, t.c.created_at).order_by(
        t.c.created_at.desc(), t.c.name
    )
    with engine.connect() as conn:
        return frame(conn, stmt)
