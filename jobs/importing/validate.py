"""Whole-batch validation: every problem with file, row and column, before anything is written.

Checks, in order: which template a sheet follows; headers (missing, renamed, duplicated, units); each cell's type,
unit and range; codes that must exist (areas, streets, districts, indicators, from the database or the same batch);
dates in range; row-level consistency (due after issue, cleared ≤ identified, …); duplicates of the natural key
within and across files; street figures that must add up to their district (targets and monthly reports).
Vectorised with pandas so that a million-row file is checked in seconds; at most ``MAX_PER_KIND`` rows are listed
for one kind of problem in one column, followed by a count of the rest.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import String, select
from sqlalchemy.engine import Connection

from jobs.importing import datum as dt
from jobs.importing.problems import ERROR, WARNING, Problem
from jobs.importing.readers import Sheet
from jobs.importing.templates import (
    BY_NAME,
    ENTITIES,
    LOAD_ORDER,
    UNIT_FACTORS,
    UNIT_LABEL,
    Col,
    Entity,
    header_names,
    norm_header,
    template_header,
)
from jobs.spreadsheet import TRIGGERS, is_formula_like
from store import schema as s
from store.indicators import INDICATORS

MAX_PER_KIND = 20
MIN_DATE = date(2000, 1, 1)
LEVEL_ORDER = {"city": 0, "district": 1, "street": 2, "community": 3}
TRUE = {"1", "true", "t", "yes", "y", "是", "有", "√", "1.0"}
FALSE = {"0", "false", "f", "no", "n", "否", "无", "0.0"}


@dataclass
class Parsed:
    """A sheet after validation: typed columns named as in the schema, plus ``_row`` (row number) and ``_file``."""

    entity: Entity
    sheet: Sheet
    frame: pd.DataFrame
    present: set[str]  # schema columns the file gave (or the importer derived): compared on re-import
    labels: dict[str, str] = field(default_factory=dict)  # schema column → header as written in the file


@dataclass
class Refs:
    """What codes must match: areas (database and batch) and indicators."""

    areas: pd.DataFrame  # index area_code; columns level, district_code, parent_code
    indicators: pd.DataFrame  # index code; columns unit, kind, category
    today: date


def load_refs(conn: Connection | None, today: date | None = None) -> Refs:
    """Areas and indicators from the database (empty when there is none), plus the built-in indicator list."""
    a, i = s.area, s.indicator
    areas = pd.DataFrame(columns=["area_code", "level", "district_code", "parent_code"])
    inds = pd.DataFrame([(x.code, x.unit, x.kind, x.category) for x in INDICATORS],
                        columns=["code", "unit", "kind", "category"])  # fmt: skip
    if conn is not None:
        rows = conn.execute(select(a.c.area_code, a.c.level, a.c.district_code, a.c.parent_code)).all()
        areas = pd.DataFrame(rows, columns=["area_code", "level", "district_code", "parent_code"])
        db_inds = pd.DataFrame(conn.execute(select(i.c.code, i.c.unit, i.c.kind, i.c.category)).all(),
                               columns=["code", "unit", "kind", "category"])  # fmt: skip
        inds = pd.concat([db_inds, inds]).drop_duplicates("code")
    return Refs(areas.set_index("area_code"), inds.set_index("code"), today or date.today())


class Collector:
    """Problems, with at most ``MAX_PER_KIND`` rows listed per (file, column, message)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def rows(
        self,
        parsed: Parsed | Sheet,
        mask: pd.Series | np.ndarray,
        column: str | None,
        key: str,
        values: Callable[[int], dict[str, object]] | None = None,
        level: str = ERROR,
    ) -> int:
        """One problem per row where ``mask`` holds (positions in the frame); returns how many rows."""
        sheet = parsed.sheet if isinstance(parsed, Parsed) else parsed
        frame = parsed.frame
        where = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(where):
            return 0
        rows = frame["_row"].to_numpy() if "_row" in frame else (frame.index.to_numpy() + sheet.first_row)
        label = _label(parsed, column)
        for pos in where[:MAX_PER_KIND]:
            self.add(
                Problem(sheet.file, int(rows[pos]), label, key, values(int(pos)) if values else {}, level)
            )
        if len(where) > MAX_PER_KIND:
            self.add(Problem(sheet.file, None, label, "import_more_rows",
                             {"count": len(where) - MAX_PER_KIND}, level))  # fmt: skip
        return len(where)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level != WARNING]


def _pick(**cols: object) -> Callable[[int], dict[str, object]]:
    """Message values for the row at a position: Series are indexed, other values passed as they are."""

    def values(i: int) -> dict[str, object]:
        return {k: (v.iloc[i] if isinstance(v, pd.Series) else v) for k, v in cols.items()}

    return values


def _label(parsed: Parsed | Sheet, column: str | None) -> str | None:
    if column is None:
        return None
    if isinstance(parsed, Parsed):
        return parsed.labels.get(column, column)
    return column


# --- which template, which columns ------------------------------------------------------------------------------


def _column_map(entity: Entity) -> dict[str, Col]:
    return {name: c for c in entity.columns for name in header_names(c)}


def choose_entity(sheet: Sheet) -> tuple[Entity | None, Entity | None]:
    """(entity, closest): the template the sheet follows (the file name wins), else the best header match."""
    heads = {norm_header(h)[0] for h in sheet.headers}
    if sheet.kind == "boundaries":
        return BY_NAME["boundaries"], None
    if sheet.entity_hint and sheet.entity_hint in BY_NAME and sheet.entity_hint != "boundaries":
        return BY_NAME[sheet.entity_hint], None
    best, best_score, closest, closest_score = None, -1.0, None, -1.0
    for e in ENTITIES:
        if e.table_only:
            continue
        cmap = _column_map(e)
        matched = {cmap[h].name for h in heads if h in cmap}
        score = len(matched) / len(e.columns) + 0.01 * len(matched)
        if all(c in matched for c in e.required) and score > best_score:
            best, best_score = e, score
        if score > closest_score:
            closest, closest_score = e, score
    return best, closest


def _parse_headers(
    sheet: Sheet, entity: Entity, out: Collector
) -> tuple[dict[str, int], dict[str, float]] | None:
    """Schema column → position in the sheet, and unit factors; ``None`` when required columns are missing."""
    cmap = _column_map(entity)
    positions: dict[str, int] = {}
    factors: dict[str, float] = {}
    for i, head in enumerate(sheet.headers):
        base, unit = norm_header(head)
        col = cmap.get(base)
        if not base:
            if sheet.frame[i].notna().any() if i in sheet.frame else False:
                out.add(
                    Problem(sheet.file, sheet.first_row - 1, sheet.column_label(i), "import_empty_header", {})
                )
            continue
        if col is None:
            out.add(Problem(sheet.file, sheet.first_row - 1, sheet.column_label(i), "import_unknown_column",
                            {"template": entity.name}, WARNING))  # fmt: skip
            continue
        if col.name in positions:
            out.add(Problem(sheet.file, sheet.first_row - 1, sheet.column_label(i), "import_duplicate_column",
                            {"other": sheet.column_label(positions[col.name])}))  # fmt: skip
            continue
        positions[col.name] = i
        if unit and col.unit:
            accepted = UNIT_FACTORS.get(col.unit, {})
            if unit not in accepted:
                out.add(Problem(sheet.file, sheet.first_row - 1, sheet.column_label(i), "import_bad_unit",
                                {"unit": unit, "accepted": " / ".join(accepted)}))  # fmt: skip
                continue
            factors[col.name] = accepted[unit]
    missing = [c for c in entity.columns if c.required and c.name not in positions]
    for c in missing:
        written = [h for h in sheet.headers if h]
        guess = difflib.get_close_matches(c.name, written, n=1, cutoff=0.5) or difflib.get_close_matches(
            c.zh, written, n=1, cutoff=0.4
        )
        out.add(
            Problem(
                sheet.file,
                sheet.first_row - 1,
                c.name,
                "import_missing_column",
                {
                    "column": c.name,
                    "zh": template_header(c, "zh"),
                    "found": guess[0] if guess else "—",
                    "template": entity.name,
                },
            )  # fmt: skip
        )
    return None if missing else (positions, factors)


# --- cells ----------------------------------------------------------------------------------------------------


def _numbers(raw: pd.Series, pct: bool = False) -> pd.Series:
    """Numbers from text; thousands separators, blanks and (for %) a percent sign are allowed."""
    fast = pd.to_numeric(raw, errors="coerce")
    retry = fast.isna() & raw.notna()
    if not retry.any():
        return fast.astype(float)
    fast = fast.astype(float)
    fast[retry] = _clean_numbers(raw[retry], pct)
    return fast


def _clean_numbers(raw: pd.Series, pct: bool) -> pd.Series:
    text = raw.astype("string").str.replace(",", "", regex=False).str.replace("，", "", regex=False)
    text = text.str.replace(" ", "", regex=False)
    if pct:
        text = text.str.rstrip("%").str.rstrip("％")
    return pd.to_numeric(text, errors="coerce").astype(float)


def _dates(raw: pd.Series) -> pd.Series:
    text = raw.astype("string")
    out = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    todo = out.isna() & text.notna()
    if todo.any():
        alt = text[todo].str.replace(r"[./年月]", "-", regex=True).str.replace("日", "", regex=False)
        alt = alt.str.split(" ").str[0]
        got = pd.to_datetime(alt, format="%Y-%m-%d", errors="coerce")
        still = got.isna()
        if still.any():
            got[still] = pd.to_datetime(alt[still], format="%Y%m%d", errors="coerce")
        out[todo] = got
    return out


def _parse_column(
    p: Parsed, col: Col, raw: pd.Series, factor: float, refs: Refs, out: Collector
) -> pd.Series:
    """Typed values of one column; bad cells reported (and left empty)."""
    present = raw.notna()
    name = col.name
    if col.required and not col.derived:
        out.rows(p, ~present, name, "import_empty_cell")
    shown: Callable[[int], dict[str, object]] = lambda i: {"value": str(raw.iloc[i])[:40]}  # noqa: E731
    if col.kind in ("int", "float"):
        values = _numbers(raw, pct=col.unit == "pct") * factor
        bad = present & values.isna()
        out.rows(p, bad, name, "import_not_number" if col.kind == "float" else "import_not_integer", shown)
        if col.kind == "int":
            frac = present & ~bad & (values % 1 != 0)
            out.rows(p, frac, name, "import_not_integer", shown)
            values = values.where(~frac)
        if col.lo is not None:
            below = values < col.lo
            key = "import_negative" if col.lo == 0 else "import_below_min"
            out.rows(p, below, name, key, lambda i: {"value": _num(values.iloc[i]), "min": _num(col.lo)})
        if col.hi is not None:
            out.rows(p, values > col.hi, name, "import_above_max",
                     lambda i: {"value": _num(values.iloc[i]), "max": _num(col.hi)})  # fmt: skip
        return values
    if col.kind == "date":
        values = _dates(raw)
        bad = present & values.isna()
        out.rows(p, bad, name, "import_not_date", shown)
        low, high = pd.Timestamp(MIN_DATE), pd.Timestamp(refs.today)
        out.rows(p, values < low, name, "import_date_too_early",
                 lambda i: {"value": str(values.iloc[i].date()), "min": MIN_DATE.isoformat()})  # fmt: skip
        out.rows(p, values > high, name, "import_date_future",
                 lambda i: {"value": str(values.iloc[i].date()), "today": refs.today.isoformat()})  # fmt: skip
        return values
    if col.kind == "bool":
        low = raw.astype("string").str.lower()
        values = pd.Series(
            np.where(low.isin(TRUE), 1.0, np.where(low.isin(FALSE), 0.0, np.nan)), index=raw.index
        )
        out.rows(p, present & values.isna(), name, "import_not_yes_no", shown)
        return values
    if col.kind == "choice":
        lookup = {code.lower(): code for code in col.choices}
        lookup.update({label.lower(): code for code, labels in col.choices.items() for label in labels})
        values = raw.astype("string").str.lower().map(lookup).astype(object)
        values = values.where(values.notna(), None)
        out.rows(p, present & values.isna(), name, "import_bad_choice",
                 lambda i: {"value": str(raw.iloc[i])[:40], "choices": " / ".join(col.choices)})  # fmt: skip
        return values
    values = raw.astype(object)
    if not col.ref and present.any():  # a name a spreadsheet would run as a formula: loaded, with a warning
        text = raw.astype("string")
        formula = present & text.str.startswith(TRIGGERS).fillna(False)
        if formula.any():
            formula &= raw.map(is_formula_like, na_action="ignore").fillna(False).astype(bool)
        out.rows(p, formula, name, "import_formula_text", shown, WARNING)
    length = getattr(p.entity.table.c[name].type, "length", None) if name in p.entity.table.c else None
    if length and isinstance(p.entity.table.c[name].type, String):
        too_long = present & (raw.astype("string").str.len() > length)
        out.rows(
            p, too_long, name, "import_too_long", lambda i: {"value": str(raw.iloc[i])[:40], "max": length}
        )
    return values


def _num(v: object) -> str:
    f = float(v)  # type: ignore[arg-type]
    return f"{f:,.0f}" if f.is_integer() else f"{f:,.4g}"


def parse_sheet(sheet: Sheet, refs: Refs, out: Collector, datum_override: str | None) -> Parsed | None:
    """Typed frame of one sheet, or ``None`` when its template or required columns cannot be found."""
    for problem in sheet.problems:
        out.add(problem)
    entity, closest = choose_entity(sheet)
    if entity is None:
        out.add(Problem(sheet.file, sheet.first_row - 1, None, "import_unknown_table",
                        {"closest": closest.name if closest else "—",
                         "headers": ", ".join(h for h in sheet.headers if h)[:200]}))  # fmt: skip
        return None
    parsed_headers = _parse_headers(sheet, entity, out)
    if parsed_headers is None:
        return None
    positions, factors = parsed_headers
    raw = sheet.frame
    if raw.empty and sheet.kind == "table":
        out.add(Problem(sheet.file, None, None, "import_no_data_rows", {}, WARNING))
    p = Parsed(entity, sheet, pd.DataFrame(index=raw.index), set(positions),
               {c: sheet.column_label(i) for c, i in positions.items()})  # fmt: skip
    p.frame["_row"] = raw.index.to_numpy() + sheet.first_row
    p.frame["_file"] = sheet.file
    for name, i in positions.items():
        col = entity.col(name)
        p.frame[name] = _parse_column(p, col, raw[i], factors.get(name, 1.0), refs, out)
    _datums(p, out, datum_override)
    return p


def _datums(p: Parsed, out: Collector, override: str | None) -> None:
    """Convert WGS84 coordinates to GCJ-02 (the stored datum); record which datums the file used."""
    has_points = {"lon", "lat"} <= p.present or {"centroid_lon", "centroid_lat"} <= p.present
    if p.sheet.kind == "boundaries" or "datum" not in {c.name for c in p.entity.columns}:
        return
    if "datum" in p.present:
        text = p.frame["datum"]
        parsed = text.map(lambda v: dt.parse_datum(v) if v is not None else None)
        bad = text.notna() & parsed.isna()
        out.rows(p, bad, "datum", "import_bad_datum", lambda i: {"value": str(text.iloc[i])[:20]})
    else:
        parsed = pd.Series([None] * len(p.frame), index=p.frame.index, dtype=object)
    fallback = override or dt.GCJ02
    if has_points and parsed.isna().any() and not override:
        out.add(Problem(p.sheet.file, None, None, "import_datum_assumed", {"datum": dt.GCJ02}, WARNING))
    parsed = parsed.where(parsed.notna(), fallback)
    p.sheet.datums |= (
        set(parsed[p.frame.index.isin(p.frame.index)].dropna().unique()) if has_points else set()
    )
    for lon_c, lat_c in (("lon", "lat"), ("centroid_lon", "centroid_lat")):
        if {lon_c, lat_c} <= p.present:
            wgs = (parsed == dt.WGS84).to_numpy() & p.frame[lon_c].notna().to_numpy()
            if wgs.any():
                lon, lat = dt.wgs84_to_gcj02(p.frame.loc[wgs, lon_c], p.frame.loc[wgs, lat_c])
                p.frame.loc[wgs, lon_c] = lon
                p.frame.loc[wgs, lat_c] = lat
    p.frame["datum"] = dt.STORED
    p.present.add("datum")


# --- references, consistency and the batch ------------------------------------------------------------------------


def _batch_areas(parsed: list[Parsed], refs: Refs, out: Collector) -> None:
    """Add the batch's areas to the references (parents first) and derive their district codes."""
    rows = [p for p in parsed if p.entity.name == "areas"]
    if not rows:
        return
    frame = pd.concat([p.frame.assign(_pi=i) for i, p in enumerate(rows)])
    frame = frame.dropna(subset=["area_code"]).drop_duplicates("area_code", keep="last")
    frame = frame.assign(_order=frame["level"].map(LEVEL_ORDER).fillna(9)).sort_values("_order")
    known = refs.areas.copy()
    new_rows = []
    for row in frame.itertuples(index=False):
        parent = getattr(row, "parent_code", None) if "parent_code" in frame else None
        level = row.level
        if level == "city":
            district = None
        elif level == "district":
            district = row.area_code
        else:
            parent_row = known.loc[parent] if parent in known.index else None
            district = None
            if parent_row is not None:
                district = parent if parent_row["level"] == "district" else parent_row["district_code"]
        known.loc[row.area_code] = {"level": level, "district_code": district, "parent_code": parent}
        new_rows.append((row.area_code, district))
    refs.areas = known
    derived = dict(new_rows)
    for b in (q for q in parsed if q.entity.name == "boundaries"):  # the areas template's figures win
        for col in ("area_km2", "centroid_lon", "centroid_lat"):
            if col in frame and col in b.frame:
                given = b.frame["area_code"].map(frame.set_index("area_code")[col])
                b.frame[col] = b.frame[col].where(given.isna(), None)
    for p in rows:
        given = p.frame.get("district_code")
        p.frame["district_code"] = p.frame["area_code"].map(derived)
        if given is not None:
            wrong = given.notna() & p.frame["district_code"].notna() & (given != p.frame["district_code"])
            out.rows(p, wrong, "district_code", "import_district_mismatch",
                     _pick(given=given, expected=p.frame["district_code"]))  # fmt: skip
        p.present.add("district_code")


def _check_refs(p: Parsed, refs: Refs, out: Collector) -> None:
    areas = refs.areas
    f = p.frame
    for col in p.entity.columns:
        if not col.ref or col.name not in f or col.derived:
            continue
        codes = f[col.name]
        given = codes.notna()
        if col.ref == "indicator":
            known = codes.isin(refs.indicators.index)
            out.rows(
                p,
                given & ~known,
                col.name,
                "import_unknown_indicator",
                _pick(code=codes),
            )
            continue
        level = codes.map(areas["level"]) if len(areas) else pd.Series(None, index=codes.index, dtype=object)
        unknown = given & level.isna()
        key = {"street": "import_unknown_street", "district": "import_unknown_district"}.get(col.ref,
                                                                                            "import_unknown_area")  # fmt: skip
        out.rows(p, unknown, col.name, key, _pick(code=codes))
        if col.ref in ("street", "district"):
            wrong = given & level.notna() & (level != col.ref)
            out.rows(p, wrong, col.name, "import_wrong_level",
                     _pick(code=codes, level=level, expected=col.ref))  # fmt: skip
    if p.entity.name == "boundaries":
        unknown = f["area_code"].notna() & ~f["area_code"].isin(areas.index)
        if {"level", "name_zh"} <= p.present:
            unknown &= f["level"].isna() | f["name_zh"].isna()
        out.rows(
            p,
            unknown,
            "area_code",
            "import_boundary_unknown_area",
            lambda i: {"code": f["area_code"].iloc[i]},
        )
    if p.entity.name == "areas" and "parent_code" in f:
        parent_level = f["parent_code"].map(areas["level"]).map(LEVEL_ORDER)
        own = f["level"].map(LEVEL_ORDER)
        bad = f["parent_code"].notna() & parent_level.notna() & (parent_level != own - 1)
        out.rows(p, bad, "parent_code", "import_bad_parent", lambda i: {"code": f["parent_code"].iloc[i]})
        orphan = f["parent_code"].isna() & (f["level"] != "city")
        out.rows(p, orphan, "parent_code", "import_empty_cell")


def _derive_district(p: Parsed, refs: Refs, out: Collector) -> None:
    """district_code from the street (or area): filled when empty, checked when given."""
    names = {c.name for c in p.entity.columns}
    if "district_code" not in names or p.entity.name == "areas":
        return
    source = "street_code" if "street_code" in p.frame else ("area_code" if "area_code" in p.frame else None)
    if source is None or p.entity.col("district_code").required:
        return
    codes = p.frame[source]
    area_district = refs.areas["district_code"] if len(refs.areas) else pd.Series(dtype=object)
    city = refs.areas.index[refs.areas["level"] == "city"] if len(refs.areas) else []
    derived = codes.map(area_district)
    is_city = codes.isin(list(city))
    derived = derived.where(~is_city, codes)
    if "district_code" in p.present:
        given = p.frame["district_code"]
        wrong = given.notna() & derived.notna() & (given != derived)
        out.rows(p, wrong, "district_code", "import_district_mismatch",
                 lambda i: {"given": given.iloc[i], "expected": derived.iloc[i]})  # fmt: skip
        derived = derived.where(derived.notna(), given)
    elif p.entity.name == "service_points":
        missing = derived.isna() & codes.isna()
        out.rows(p, missing, "street_code", "import_need_street_or_district")
    p.frame["district_code"] = derived
    p.present.add("district_code")


def _rules(p: Parsed, refs: Refs, out: Collector) -> None:
    """Row-level consistency rules of each template."""
    f, name = p.frame, p.entity.name

    def when(a: str, b: str, key: str, strict: bool = False) -> None:
        if a in f and b in f:
            bad = (f[b] <= f[a]) if strict else (f[b] < f[a])
            out.rows(
                p, bad.fillna(False), b, key, lambda i: {"a": _fmt(f[a].iloc[i]), "b": _fmt(f[b].iloc[i])}
            )

    if name == "population_grid":
        when("working_age", "population", "import_more_working_age_than_people")
    if name == "area_year":
        when("working_age_population", "resident_population", "import_more_working_age_than_people")
        if {"secondary_share_pct", "tertiary_share_pct"} <= set(f):
            bad = (f["secondary_share_pct"] + f["tertiary_share_pct"]) > 100.0001
            out.rows(p, bad, "tertiary_share_pct", "import_shares_over_100")
    if name == "service_points":
        when("opened_on", "closed_on", "import_end_before_start")
    if name == "loans":
        when("issued_on", "due_on", "import_end_before_start", strict=True)
        when("issued_on", "repaid_on", "import_end_before_start")
    if name == "unemployment_spells":
        when("registered_on", "ended_on", "import_end_before_start")
    if name == "zero_employment":
        when("cleared", "identified", "import_cleared_over_identified")
    if name in ("reported_monthly", "zero_employment") and {"year", "month"} <= set(f):
        # A month can be reported once it has ended: the current month is refused until its last day is over.
        ym = f["year"] * 12 + f["month"]
        now = refs.today.year * 12 + refs.today.month
        out.rows(p, (ym > now).fillna(False), "month", "import_month_future",
                 lambda i: {"year": int(f["year"].iloc[i]), "month": int(f["month"].iloc[i])})  # fmt: skip
        first_day = date(refs.today.year + refs.today.month // 12, refs.today.month % 12 + 1, 1)
        out.rows(p, (ym == now).fillna(False), "month", "import_month_not_ended",
                 lambda i: {"year": refs.today.year, "month": refs.today.month, "today": refs.today.isoformat(),
                            "first_day": first_day.isoformat()})  # fmt: skip
        if "reported_on" in f:
            start = pd.to_datetime(
                {"year": f["year"].fillna(2000), "month": f["month"].fillna(1).clip(1, 12), "day": 1}
            )
            early = f["reported_on"].notna() & (f["reported_on"] < start)
            out.rows(p, early, "reported_on", "import_reported_before_month")
    if name == "targets" and "year" in f:
        late = f["year"] > refs.today.year + 1
        out.rows(
            p, late.fillna(False), "year", "import_year_future", lambda i: {"value": int(f["year"].iloc[i])}
        )
    if name in ("targets", "reported_monthly") and "indicator_code" in f:
        _indicator_units(p, refs, out)


def _fmt(v: object) -> str:
    if isinstance(v, pd.Timestamp):
        return str(v.date())
    return _num(v) if isinstance(v, int | float | np.number) and v == v else str(v)


def _indicator_units(p: Parsed, refs: Refs, out: Collector) -> None:
    """Values must fit the indicator's unit: persons whole and ≥ 0, yuan ≥ 0, % within 0–100, yes/no 0 or 1."""
    f = p.frame
    value_col = "target_value" if "target_value" in f else "value"
    unit = f["indicator_code"].map(refs.indicators["unit"])
    category = f["indicator_code"].map(refs.indicators["category"])
    v = f[value_col]
    checks = [
        ((unit.isin(["persons", "yuan", "count", "score"])) & (v < 0), "import_negative"),
        ((unit == "persons") & (v % 1 != 0), "import_not_integer"),
        ((unit == "pct") & ((v < 0) | (v > 100)), "import_pct_range"),
        ((unit == "yes_no") & ~v.isin([0.0, 1.0]) & v.notna(), "import_yes_no_value"),
    ]
    for mask, key in checks:
        mask &= v.notna()  # an empty value is reported once, as empty (NaN % 1 is not 0)
        out.rows(p, mask.fillna(False), value_col, key,
                 lambda i: {"value": _num(v.iloc[i]), "min": 0, "unit": unit.iloc[i]})  # fmt: skip
    if p.entity.name == "targets":
        wrong = category.notna() & (category != "target")
        out.rows(p, wrong, "indicator_code", "import_not_target_indicator",
                 lambda i: {"code": f["indicator_code"].iloc[i]})  # fmt: skip


def check_duplicates(parsed: list[Parsed], out: Collector) -> None:
    """The natural key may appear once in the whole batch (within a file and across files)."""
    by_entity: dict[str, list[Parsed]] = {}
    for p in parsed:
        by_entity.setdefault(p.entity.name, []).append(p)
    for name, group in by_entity.items():
        key = list(BY_NAME[name].key)
        if not all(k in p.frame for p in group for k in key):
            continue
        frame = pd.concat([p.frame[[*key, "_row", "_file"]].assign(_pi=i) for i, p in enumerate(group)],
                          ignore_index=True)  # fmt: skip
        frame = frame.dropna(subset=key)
        dup = frame.duplicated(key, keep=False)
        if not dup.any():
            continue
        d = frame[dup]
        first = d.groupby(key, sort=False)[["_file", "_row"]].transform("first")
        later = d[d.duplicated(key, keep="first")]
        for pi, rows in later.groupby("_pi"):
            p = group[int(pi)]  # type: ignore[call-overload]
            pos = p.frame.index.get_indexer(p.frame.index[p.frame["_row"].isin(rows["_row"])])
            mask = np.zeros(len(p.frame), dtype=bool)
            mask[pos] = True
            lookup = first.loc[rows.index]
            firsts = dict(zip(rows["_row"], zip(lookup["_file"], lookup["_row"], strict=True), strict=True))
            key_text = " ".join(f"{k}" for k in key)
            rows_file = p.frame["_row"].map(lambda r, f=firsts: f.get(r, ("", 0))[0])
            rows_row = p.frame["_row"].map(lambda r, f=firsts: int(f.get(r, ("", 0))[1]))
            out.rows(p, mask, key[-1], "import_duplicate_key",
                     _pick(columns=key_text, file=rows_file, row=rows_row))  # fmt: skip


def check_reconciliation(parsed: list[Parsed], refs: Refs, conn: Connection | None, out: Collector) -> None:
    """Streets must add up to their district, where both are given (batch over database), for additive indicators."""
    for name, value_col, period in (("targets", "target_value", ["year"]),
                                    ("reported_monthly", "value", ["year", "month"])):  # fmt: skip
        group = [p for p in parsed if p.entity.name == name]
        if not group:
            continue
        batch = pd.concat([p.frame.assign(_pi=i) for i, p in enumerate(group)], ignore_index=True)
        batch = batch.dropna(subset=[*period, "area_code", "indicator_code", value_col])
        kind = batch["indicator_code"].map(refs.indicators["kind"])
        batch = batch[kind == "flow"]
        if batch.empty:
            continue
        key = [*period, "area_code", "indicator_code"]
        table = BY_NAME[name].table
        existing = pd.DataFrame(columns=[*key, value_col])
        if conn is not None:
            years = sorted({int(y) for y in batch["year"]})
            stmt = select(*[table.c[k] for k in key], table.c[value_col]).where(
                table.c.year.in_(years), table.c.indicator_code.in_(sorted(set(batch["indicator_code"])))
            )
            existing = pd.DataFrame(conn.execute(stmt).all(), columns=[*key, value_col])
        parts = [existing.assign(_pi=-1)] if len(existing) else []
        merged = pd.concat([*parts, batch[[*key, value_col, "_pi", "_row"]]], ignore_index=True)
        merged[period] = merged[period].astype(int)
        merged = merged.drop_duplicates(key, keep="last")
        merged["level"] = merged["area_code"].map(refs.areas["level"])
        merged["district"] = merged["area_code"].map(refs.areas["district_code"])
        streets = merged[merged["level"] == "street"]
        districts = merged[merged["level"] == "district"]
        gk = [*period, "indicator_code", "district"]
        sums = streets.groupby(gk)[value_col].sum().rename("streets")
        touched = pd.concat([streets, districts.assign(district=districts["area_code"])])
        touched = touched[touched["_pi"] >= 0][gk].drop_duplicates()
        dist = districts.assign(district=districts["area_code"]).set_index(gk)
        joined = dist.join(sums, how="inner").reset_index().merge(touched, on=gk)
        tol = np.maximum(0.5, 1e-9 * joined[value_col].abs())
        bad = joined[(joined["streets"] - joined[value_col]).abs() > tol]
        for row in bad.itertuples(index=False):
            d = row._asdict()
            in_batch = batch[(batch["indicator_code"] == d["indicator_code"]) & (batch["year"] == d["year"])]
            if "month" in period:
                in_batch = in_batch[in_batch["month"] == d["month"]]
            in_batch = in_batch[(in_batch["area_code"] == d["district"])
                                | (in_batch["area_code"].map(refs.areas["district_code"]) == d["district"])]  # fmt: skip
            at = in_batch.sort_values("_row").iloc[0]
            p = group[int(at["_pi"])]
            period_text = f"{d['year']}" + (f"-{int(d['month']):02d}" if "month" in period else "")
            out.add(Problem(p.sheet.file, int(at["_row"]), p.labels.get(value_col, value_col),
                            "import_streets_do_not_add_up",
                            {"district": d["district"], "indicator": d["indicator_code"], "period": period_text,
                             "streets": _num(d["streets"]), "total": _num(d[value_col])}))  # fmt: skip


def validate(
    sheets: Iterable[Sheet],
    conn: Connection | None,
    datum_override: str | None = None,
    today: date | None = None,
) -> tuple[list[Parsed], list[Problem], Refs]:
    """Parse and check every sheet of a batch; returns the typed sheets, every problem and the references."""
    out = Collector()
    refs = load_refs(conn, today)
    parsed = []
    for sheet in sheets:
        p = parse_sheet(sheet, refs, out, datum_override)
        if p is not None:
            parsed.append(p)
    parsed.sort(key=lambda p: LOAD_ORDER.index(p.entity.name))
    _batch_areas(parsed, refs, out)
    for p in parsed:
        _check_refs(p, refs, out)
        _derive_district(p, refs, out)
        _rules(p, refs, out)
    check_duplicates(parsed, out)
    if not out.errors:
        check_reconciliation(parsed, refs, conn, out)
    return parsed, out.problems, refs


__all__ = ["Parsed", "Refs", "validate", "UNIT_LABEL"]
