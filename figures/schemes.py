"""Scoring schemes as a page and the pack list them: the locked presets of ``scoring.PRESETS`` plus the stored
ones (``queries.schemes``); saving is a job (``jobs.schemes``)."""

from __future__ import annotations

import json

import pandas as pd

from figures.run import Run
from queries import schemes as q
from scoring import PRESETS, TRANSFER_PRESETS, WUHAN_2009, Scheme

PRESET_AUTHOR = "preset"


def list_schemes(run: Run) -> pd.DataFrame:
    """Presets first (in ``PRESETS`` order), then stored schemes newest first.

    Columns ``name, preset`` (bool), ``locked`` (bool), ``created_by, created_at`` (None for presets),
    ``description`` and ``kind``: ``"score"`` (scores districts) or ``"transfer"`` (seed 002's five factors:
    splits the transfer pot and scores nobody). A stored row whose name clashes with a preset is not listed
    (the preset wins). The transfer presets come after the scoring ones.
    """
    rows = [
        {
            "name": name,
            "preset": True,
            "locked": True,
            "created_by": PRESET_AUTHOR,
            "created_at": None,
            "description": scheme.description,
            "kind": "score",
        }
        for name, scheme in PRESETS.items()
    ]
    rows.append(
        {**rows[0], "name": WUHAN_2009.name, "description": WUHAN_2009.description, "kind": "transfer"}
    )
    for r in run(q.stored_schemes).itertuples():
        if r.name in PRESETS or r.name in TRANSFER_PRESETS:
            continue
        try:
            data = json.loads(r.definition_json)
            description = str(data.get("description", ""))
            codes = {str(i.get("code")) for i in data.get("indicators", [])}
        except (ValueError, AttributeError, TypeError):
            description, codes = "", set()
        kind = "transfer" if codes and codes <= set(WUHAN_2009.codes) else "score"
        rows.append(
            {
                "name": r.name,
                "preset": False,
                "locked": bool(r.locked),
                "created_by": r.created_by,
                "created_at": r.created_at,
                "description": description,
                "kind": kind,
            }
        )
    columns = ["name", "preset", "locked", "created_by", "created_at", "description", "kind"]
    return pd.DataFrame(rows, columns=columns)


def load_scheme(run: Run, name: str) -> Scheme:
    """The preset or stored scheme called ``name``; ``KeyError`` when there is none.

    A stored scheme takes its name and locked flag from the table row (the row is the record of truth).
    """
    if name in PRESETS:
        return PRESETS[name]
    if name in TRANSFER_PRESETS:
        return TRANSFER_PRESETS[name]
    stored = run(q.stored_schemes)
    row = stored[stored["name"] == name]
    if row.empty:
        raise KeyError(f"no scoring scheme called {name!r}")
    data = json.loads(str(row["definition_json"].iloc[0]))
    data.update(name=name, locked=bool(row["locked"].iloc[0]))
    return Scheme.from_dict(data)


def official_transfer(run: Run) -> Scheme:
    """The transfer split's official weights: the newest locked scheme of seed 002's five factors the bureau
    recorded (``jobs.schemes.record_official_weights``), else the ``wuhan_2009`` preset's default weights."""
    listed = list_schemes(run)
    recorded = listed[(listed["kind"] == "transfer") & (~listed["preset"]) & (listed["locked"])]
    return load_scheme(run, str(recorded["name"].iloc[0])) if not recorded.empty else WUHAN_2009
