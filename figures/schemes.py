"""Scoring schemes as a page and the pack list them: the locked presets of ``scoring.PRESETS`` plus the stored
ones (``queries.schemes``); saving is a job (``jobs.schemes``)."""

from __future__ import annotations

import json

import pandas as pd

from figures.run import Run
from queries import schemes as q
from scoring import PRESETS, Scheme

PRESET_AUTHOR = "preset"


def list_schemes(run: Run) -> pd.DataFrame:
    """Presets first (in ``PRESETS`` order), then stored schemes newest first.

    Columns ``name, preset`` (bool), ``locked`` (bool), ``created_by, created_at`` (None for presets),
    ``description``. A stored row whose name clashes with a preset is not listed (the preset wins).
    """
    rows = [
        {
            "name": name,
            "preset": True,
            "locked": True,
            "created_by": PRESET_AUTHOR,
            "created_at": None,
            "description": scheme.description,
        }
        for name, scheme in PRESETS.items()
    ]
    for r in run(q.stored_schemes).itertuples():
        if r.name in PRESETS:
            continue
        try:
            description = str(json.loads(r.definition_json).get("description", ""))
        except (ValueError, AttributeError):
            description = ""
        rows.append(
            {
                "name": r.name,
                "preset": False,
                "locked": bool(r.locked),
                "created_by": r.created_by,
                "created_at": r.created_at,
                "description": description,
            }
        )
    return pd.DataFrame(rows, columns=["name", "preset", "locked", "created_by", "created_at", "description"])


def load_scheme(run: Run, name: str) -> Scheme:
    """The preset or stored scheme called ``name``; ``KeyError`` when there is none.

    A stored scheme takes its name and locked flag from the table row (the row is the record of truth).
    """
    if name in PRESETS:
        return PRESETS[name]
    stored = run(q.stored_schemes)
    row = stored[stored["name"] == name]
    if row.empty:
        raise KeyError(f"no scoring scheme called {name!r}")
    data = json.loads(str(row["definition_json"].iloc[0]))
    data.update(name=name, locked=bool(row["locked"].iloc[0]))
    return Scheme.from_dict(data)
