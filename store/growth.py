"""District population growth from the census trend (seed 004 §(十三): plan the 15-minute circle with the
urbanisation trend in view): the data file ``store/data/district_growth.csv`` and its reader.

The file states its source in its header lines; a bureau replaces it with its own districts' figures.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

import pandas as pd

COLUMNS = ["district_code", "name_zh", "name_en", "population_2010", "population_2020", "annual_growth"]


@cache
def _text() -> str:
    return resources.files("store").joinpath("data", "district_growth.csv").read_text(encoding="utf-8")


def district_growth() -> pd.DataFrame:
    """One row per district: ``district_code`` (text), names, the two census populations and ``annual_growth``
    (a fraction per year, e.g. 0.0603 = 6.03 %)."""
    lines = [line for line in _text().splitlines() if line and not line.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    out = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("population_2010", "population_2020"):
        out[col] = out[col].astype("int64")
    out["annual_growth"] = out["annual_growth"].astype(float)
    return out


def source() -> str:
    """The header lines of the data file (its source and method), without the comment marks."""
    return " ".join(line[2:] for line in _text().splitlines() if line.startswith("# "))
