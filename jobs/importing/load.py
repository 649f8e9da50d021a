"""Loading a validated batch: idempotent upsert by natural key, all in one transaction.

For each template the rows already in the database with the same key are read and compared column by column
(only the columns the file gave). New keys are inserted (``bulk_insert``: COPY on PostgreSQL); changed rows are
updated and each replacement is written to ``data_change`` (key, previous values, new values, when, by whom);
identical rows are left alone, so re-importing a file changes nothing and writes nothing. After the writes, the
aggregates are refreshed when records they are built from changed, and a ``data_load`` row (kind ``import``)
records the rows, the data cut-off, who loaded and the files with their encodings and datums.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath

import numpy as np
import pandas as pd
from sqlalchemy import Engine, String, and_, bindparam, cast, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from jobs import refresh as refresh_job
from jobs.importing.problems import UNREADABLE, WARNING, Problem, ReadError
from jobs.importing.readers import Sheet, read_upload
from jobs.importing.templates import LOAD_ORDER, Entity
from jobs.importing.validate import LEVEL_ORDER, Parsed, validate
from store import schema as s
from store.db import bulk_insert, missing_tables
from store.indicators import INDICATORS

EXIT_LOADED, EXIT_INVALID, EXIT_UNREADABLE, EXIT_DATABASE = 0, 1, 2, 3


@dataclass
class TablePlan:
    """What loading one template will do."""

    entity: Entity
    inserts: pd.DataFrame
    updates: pd.DataFrame  # key + compared columns, new values
    changes: list[dict[str, object]]  # data_change rows (without load_id)
    unchanged: int


@dataclass
class FileInfo:
    file: str
    template: str
    rows: int
    encoding: str | None
    datums: list[str]


@dataclass
class ImportReport:
    """The outcome of an import: exit code, problems, what each file was, and what was (or would be) written."""

    exit_code: int
    problems: list[Problem] = field(default_factory=list)
    files: list[FileInfo] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # template → inserted/replaced/unchanged
    load_id: int | None = None
    cut_off: date | None = None
    refreshed_rows: int | None = None
    refresh_scope: refresh_job.Scope | None = None  # what the refresh recomputed (Scope() = everything)
    seconds: float = 0.0
    dry_run: bool = False
    database_error: str | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level != WARNING]

    @property
    def written(self) -> int:
        return sum(c["inserted"] + c["replaced"] for c in self.counts.values())


# --- comparing and planning ---------------------------------------------------------------------------------------


def _canon(series: pd.Series, kind: str) -> pd.Series:
    """Values in one comparable form: numbers as float, dates as datetime64, text as object with None."""
    if kind == "bool":  # parsed values are 1.0/0.0, stored ones True/False or 1/0: map by truth, not by key
        return pd.Series(
            [np.nan if pd.isna(v) else float(bool(v)) for v in series], index=series.index, dtype=float
        )
    if kind in ("int", "float"):
        return pd.to_numeric(series, errors="coerce")
    if kind == "date":
        if series.dtype == object:
            return pd.to_datetime(series.astype("string").str[:10], format="%Y-%m-%d", errors="coerce")
        return pd.to_datetime(series, errors="coerce")
    out = series.astype(object)
    return out.where(out.notna(), None)


def _kind(entity: Entity, column: str) -> str:
    names = {c.name: c for c in entity.columns}
    if column in names:
        return names[column].kind
    return {"boundary_geojson": "str", "datum": "str"}.get(column, "str")


def _differs(a: pd.Series, b: pd.Series, kind: str) -> np.ndarray:
    an, bn = a.isna().to_numpy(), b.isna().to_numpy()
    if kind in ("int", "float", "bool"):
        av, bv = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        same = np.isclose(av, bv, rtol=1e-9, atol=1e-9)
    elif kind == "date":
        same = a.to_numpy() == b.to_numpy()
    else:
        same = a.astype(object).to_numpy() == b.astype(object).to_numpy()
    return np.asarray(~((same & ~an & ~bn) | (an & bn)))


def _existing(conn: Connection, entity: Entity, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Rows of the table that may share a key with ``frame`` (a key range, the years, or the whole table)."""
    table = entity.table
    key = list(entity.key)
    # dates come back as ISO text (no per-row conversion in the driver layer); _canon parses them in one go
    stmt = select(
        *[
            cast(table.c[c], String).label(c) if _kind(entity, c) == "date" else table.c[c]
            for c in [*key, *columns]
        ]
    )
    first = key[0]
    if len(key) == 1 and _kind(entity, first) == "int":
        stmt = stmt.where(table.c[first].between(int(frame[first].min()), int(frame[first].max())))
    elif first == "year":
        stmt = stmt.where(table.c.year.in_(sorted({int(y) for y in frame["year"]})))
    result = conn.execute(stmt)
    return pd.DataFrame(result.all(), columns=[*key, *columns])


def plan_entity(conn: Connection, entity: Entity, parts: list[Parsed], user: str) -> TablePlan:
    """Compare the batch's rows of one template with the database: inserts, replacements, unchanged."""
    key = list(entity.key)
    present = sorted(set.union(*(p.present for p in parts)) - set(key))
    table_cols = set(entity.table.c.keys())
    columns = [c for c in present if c in table_cols]
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    for c in columns:
        if c not in frame:
            frame[c] = None
    kinds = {c: _kind(entity, c) for c in [*key, *columns]}
    for c in key:
        frame[c] = _canon(frame[c], kinds[c])
        if kinds[c] == "int":
            frame[c] = frame[c].astype("int64")
    old = _existing(conn, entity, frame, columns)
    for c in [*key, *columns]:
        old[c] = _canon(old[c], kinds[c])
        if kinds[c] == "int" and c in key:
            old[c] = old[c].astype("int64")
    for c in columns:
        frame[c] = _canon(frame[c], kinds[c])
    merged = frame.merge(old, on=key, how="left", suffixes=("", "__old"), indicator=True)
    is_new = (merged["_merge"] == "left_only").to_numpy()
    inserts = merged.loc[is_new, [*key, *columns, "_row", "_file"]]
    both = merged.loc[~is_new]
    changed_cols: dict[str, np.ndarray] = {}
    any_change = np.zeros(len(both), dtype=bool)
    for c in columns:
        if c in entity.key:
            continue
        # a column the file left empty for an existing row keeps its value (optional columns)
        diff = _differs(both[c], both[f"{c}__old"], kinds[c]) & both[c].notna().to_numpy()
        changed_cols[c] = diff
        any_change |= diff
    upd = both.loc[any_change]
    changes = []
    now = datetime.now()
    if len(upd):
        masks = {c: m[any_change] for c, m in changed_cols.items()}
        for n, row in enumerate(upd.itertuples(index=False)):
            r = row._asdict()
            cols = [c for c in columns if c in masks and masks[c][n]]
            if all(_jsonable(r[f"{c}__old"]) is None for c in cols):
                continue  # filling an empty field is not a replacement
            changes.append(
                {
                    "table_name": entity.table.name,
                    "row_key": json.dumps({k: _jsonable(r[k]) for k in key}, ensure_ascii=False),
                    "previous_json": json.dumps(
                        {c: _jsonable(r[f"{c}__old"]) for c in cols}, ensure_ascii=False
                    ),
                    "new_json": json.dumps({c: _jsonable(r[c]) for c in cols}, ensure_ascii=False),
                    "changed_at": now,
                    "changed_by": user,
                }
            )
        keep = upd[[*key, *columns]].copy()
        for c in columns:  # empty cells keep the stored value
            keep[c] = keep[c].where(keep[c].notna(), upd[f"{c}__old"])
        upd = keep
    return TablePlan(entity, inserts, upd, changes, int(len(both) - any_change.sum()))


def _jsonable(v: object) -> object:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


# --- writing -------------------------------------------------------------------------------------------------------


def _python_columns(
    frame: pd.DataFrame, entity: Entity, columns: Sequence[str], dates_as_text: bool
) -> list[list[object]]:
    """Columns as lists of plain Python values the drivers accept (dates as ISO text for COPY/executemany)."""
    out = []
    table = entity.table
    for c in columns:
        series = frame[c]
        kind = _kind(entity, c)
        sql_type = table.c[c].type.python_type if c in table.c else str
        if kind == "date":
            text = series.dt.strftime("%Y-%m-%d")
            values = text.astype(object).where(series.notna(), None).tolist()
            if not dates_as_text:
                values = [date.fromisoformat(v) if v else None for v in values]
        elif sql_type is bool:
            values = [None if v != v else bool(v) for v in series.tolist()]
        elif sql_type is int:
            arr = series.to_numpy(dtype=float, na_value=np.nan)
            values = [None if v != v else int(v) for v in arr.tolist()]
        elif sql_type is float:
            arr = series.to_numpy(dtype=float, na_value=np.nan)
            values = [None if v != v else v for v in arr.tolist()]
        else:
            values = [None if v is None or (isinstance(v, float) and v != v) else v for v in series.tolist()]
        out.append(values)
    return out


def _fill_defaults(frame: pd.DataFrame, entity: Entity) -> pd.DataFrame:
    """Values for columns a new row needs but the file did not give (defaults, English name = Chinese name)."""
    frame = frame.copy()
    for col in entity.columns:
        if col.default is not None and col.name in entity.table.c:
            if col.name not in frame:
                frame[col.name] = col.default
            else:
                frame[col.name] = frame[col.name].astype(object).where(frame[col.name].notna(), col.default)
    if "name_en" in entity.table.c and "name_zh" in frame:
        if "name_en" not in frame:
            frame["name_en"] = frame["name_zh"]
        frame["name_en"] = frame["name_en"].where(frame["name_en"].notna(), frame["name_zh"])
    if "reported_on" in entity.table.c and entity.name == "reported_monthly":
        today = pd.Timestamp(date.today())
        frame["reported_on"] = frame["reported_on"].where(frame["reported_on"].notna(), today) if (
            "reported_on" in frame) else today  # fmt: skip
    if "datum" in entity.table.c and "datum" not in frame:
        frame["datum"] = "GCJ-02"
    if entity.table is s.area:
        frame = frame.assign(_o=frame["level"].map(LEVEL_ORDER)).sort_values("_o").drop(columns="_o")
    return frame


def write_plan(conn: Connection, plan: TablePlan, load_id: int) -> None:
    entity, table = plan.entity, plan.entity.table
    if len(plan.inserts):
        frame = _fill_defaults(plan.inserts, entity)
        cols = [c.name for c in table.c if c.name in frame]
        bulk_insert(conn, table, cols, zip(*_python_columns(frame, entity, cols, True), strict=True))
    if len(plan.updates):
        key = list(entity.key)
        cols = [c for c in plan.updates.columns if c not in key]
        stmt = (
            update(table)
            .where(and_(*[table.c[k] == bindparam(f"k_{k}") for k in key]))
            .values({c: bindparam(f"v_{c}") for c in cols})
        )
        values = _python_columns(plan.updates, entity, [*key, *cols], False)
        names = [f"k_{k}" for k in key] + [f"v_{c}" for c in cols]
        conn.execute(stmt, [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)])
    if plan.changes:
        conn.execute(insert(s.data_change), [dict(c, load_id=load_id) for c in plan.changes])


def _ensure_indicators(conn: Connection, parsed: list[Parsed]) -> None:
    """Built-in indicators a batch refers to but the database lacks (a fresh database has none)."""
    used = set()
    for p in parsed:
        if "indicator_code" in p.frame:
            used |= set(p.frame["indicator_code"].dropna())
    if not used:
        return
    have = {r[0] for r in conn.execute(select(s.indicator.c.code))}
    missing = [dict(i._asdict(), sort_order=n) for n, i in enumerate(INDICATORS) if i.code in used - have]
    if missing:
        conn.execute(insert(s.indicator), missing)


def batch_cut_off(parsed: list[Parsed]) -> date | None:
    """The newest month end the batch's dated records cover."""
    ends: list[pd.Timestamp] = []
    for p in parsed:
        cols = p.entity.dated_by
        if cols == ("year", "month"):
            if {"year", "month"} <= set(p.frame) and p.frame["year"].notna().any():
                ym = (p.frame["year"] * 12 + p.frame["month"] - 1).max()
                if ym == ym:
                    ends.append(pd.Period(year=int(ym // 12), month=int(ym % 12) + 1, freq="M").end_time)
            continue
        for c in cols:
            if c in p.frame and p.frame[c].notna().any():
                ends.append(pd.Period(p.frame[c].max(), freq="M").end_time)
    return max(ends).date() if ends else None


def _month(value: object) -> int | None:
    """A date's month as year * 12 + month - 1; None for an empty value."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    day = pd.Timestamp(value)  # type: ignore[arg-type]
    return day.year * 12 + day.month - 1


def _affected(plan: TablePlan) -> tuple[date, set[str] | None] | None:
    """The first day of the earliest month and the districts whose aggregates a plan's writes change.

    Inserted rows count with their dates. An updated row counts with the old and new values of the date columns
    that changed (``data_change`` keeps the old ones), or with all its dates when another column changed (its
    street, group, amount); a row whose only change fills empty fields counts with its nullable dates (a spell's
    end). Rows keyed by year (and month) count from that month; ``area_year`` changes a year's rates from
    January. None (a full refresh) for a change of the area tree; districts None (every district) when a row
    has no district.
    """
    entity = plan.entity
    if entity.table is s.area:
        return None
    cols = list(entity.dated_by or (("year",) if "year" in entity.key else ()))
    if not cols:
        return None
    yearly = "year" in cols
    months: list[int] = []
    districts: set[str] | None = set()
    olds = {c["row_key"]: json.loads(str(c["previous_json"])) for c in plan.changes}
    # vectorised where it can be: a batch may hold millions of rows
    for frame in (plan.inserts, plan.updates):
        if not len(frame):
            continue
        if "district_code" not in frame or frame["district_code"].isna().any():
            districts = None
        elif districts is not None:
            districts |= set(frame["district_code"].astype(str))
        if yearly:
            month = frame.get("month", 1)
            months.append(int((frame["year"] * 12 + month - 1).min()))
    for old in olds.values():
        if districts is not None and old.get("district_code"):
            districts.add(str(old["district_code"]))  # a row moved out of a district changes that one too
    if not yearly:
        months += [
            m for c in cols if c in plan.inserts for m in [_month(plan.inserts[c].min())] if m is not None
        ]
        fill = [c for c in cols if entity.table.c[c].nullable] or cols
        for row in plan.updates.to_dict("records"):
            old = olds.get(json.dumps({k: _jsonable(row[k]) for k in entity.key}, ensure_ascii=False))
            touched = (
                fill if old is None else [c for c in cols if c in old] if set(old) <= set(cols) else cols
            )
            values = [row.get(c) for c in touched] + [(old or {}).get(c) for c in touched]
            months += [m for m in map(_month, values) if m is not None]
    if not months:
        return None
    first = min(months)
    return date(first // 12, first % 12 + 1, 1), districts


def _refresh_bounds(
    affected: list[tuple[date, set[str] | None] | None],
) -> tuple[date | None, set[str] | None]:
    """``since`` and ``districts`` for the refresh after a batch: (None, None), a full refresh, when unknown."""
    known = [a for a in affected if a is not None]
    if not known or len(known) < len(affected):
        return None, None
    districts: set[str] | None = set()
    for _, d in known:
        districts = None if d is None or districts is None else districts | d
    return min(a[0] for a in known), districts


def _source_text(files: list[FileInfo]) -> str:
    parts = []
    for f in files:
        extra = [f.template, f"{f.rows} rows"]
        if f.encoding:
            extra.append(f.encoding)
        if f.datums:
            extra.append("datum " + "+".join(sorted(f.datums)) + "→GCJ-02")
        parts.append(f"{f.file} ({', '.join(extra)})")
    return "; ".join(parts)


# --- the whole import ------------------------------------------------------------------------------------------------


def read_all(files: Sequence[tuple[str, bytes]], datum: str | None) -> tuple[list[Sheet], list[Problem]]:
    sheets: list[Sheet] = []
    problems: list[Problem] = []
    for name, data in files:
        try:
            sheets.extend(read_upload(name, data, datum))
        except ReadError as exc:
            problems.append(exc.problem)
        except (csv.Error, ValueError, TypeError, IndexError, KeyError) as exc:  # a shape no check foresaw
            problems.append(Problem(PurePath(name).name, None, None, "import_read_failed",
                                    {"error": type(exc).__name__}, UNREADABLE))  # fmt: skip
    return sheets, problems


def import_batch(
    engine: Engine,
    files: Sequence[tuple[str, bytes]],
    user: str,
    dry_run: bool = False,
    datum: str | None = None,
    today: date | None = None,
    refresh_forecasts: bool = True,
) -> ImportReport:
    """Read, validate and (unless ``dry_run`` or any error) load a batch of files in one transaction."""
    started = time.perf_counter()
    started_at = datetime.now()
    report = ImportReport(EXIT_LOADED, dry_run=dry_run)
    sheets, read_problems = read_all(files, datum)
    report.problems.extend(read_problems)
    try:
        if missing_tables(engine):
            if dry_run:
                report.exit_code, report.database_error = EXIT_DATABASE, "no schema"
                return report
            from store.db import upgrade

            upgrade(engine)
        with engine.connect() as conn, conn.begin() as tx:
            parsed, problems, _refs = validate(sheets, conn, datum, today)
            report.problems.extend(problems)
            report.files = [
                FileInfo(p.sheet.file, p.entity.name, len(p.frame), p.sheet.encoding, sorted(p.sheet.datums))
                for p in parsed
            ]
            if any(p.level == UNREADABLE for p in report.problems):
                report.exit_code = EXIT_UNREADABLE
                return report
            if report.errors:
                report.exit_code = EXIT_INVALID
                return report
            previous = refresh_job.data_cut_off(conn)
            batch = batch_cut_off(parsed)
            report.cut_off = (
                max(d for d in (previous, batch) if d is not None) if (previous or batch) else None
            )
            if not dry_run:
                _ensure_indicators(conn, parsed)
                load_id = conn.execute(
                    insert(s.data_load).values(
                        kind="import",
                        started_at=started_at,
                        rows=0,
                        cut_off=report.cut_off,
                        synthetic=False,
                        loaded_by=user[:64],
                        source=_source_text(report.files)[:4000],
                        note=f"files: {', '.join(sorted({PurePath(n).name for n, _ in files}))}"[:1000],
                    )  # fmt: skip
                ).inserted_primary_key[0]  # type: ignore[index]
                report.load_id = int(load_id)
            refresh_needed = False
            affected: list[tuple[date, set[str] | None] | None] = []
            for name in LOAD_ORDER:  # plan and write one template at a time: boundaries see the new areas
                parts = [p for p in parsed if p.entity.name == name and len(p.frame)]
                if not parts:
                    continue
                plan = plan_entity(conn, parts[0].entity, parts, user)
                c = report.counts.setdefault(name, {"inserted": 0, "replaced": 0, "unchanged": 0})
                c["inserted"] += len(plan.inserts)
                c["replaced"] += len(plan.updates)
                c["unchanged"] += plan.unchanged
                if report.load_id is not None:
                    write_plan(conn, plan, report.load_id)
                if plan.entity.feeds_refresh and bool(len(plan.inserts) or len(plan.updates)):
                    refresh_needed = True
                    affected.append(_affected(plan))
            if dry_run or report.written == 0:
                tx.rollback()
                report.load_id = None
                return report
            if refresh_needed:
                since, districts = _refresh_bounds(affected)
                report.refresh_scope = refresh_job.scope(conn, since, districts)
                report.refreshed_rows = refresh_job.run(conn, report.refresh_scope)
            conn.execute(
                update(s.data_load)
                .where(s.data_load.c.load_id == report.load_id)
                .values(rows=report.written, finished_at=datetime.now())
            )
    except SQLAlchemyError as exc:
        report.exit_code = EXIT_DATABASE
        report.database_error = str(getattr(exc, "orig", exc)).splitlines()[0][:300]
        report.load_id = None
        return report
    finally:
        report.seconds = time.perf_counter() - started
    if report.load_id is not None and refresh_forecasts:
        _refresh_forecasts(engine, report)
    return report


def import_uploads(
    url: str, files: Sequence[tuple[str, bytes]], user: str, dry_run: bool = False, datum: str | None = None
) -> ImportReport:
    """``import_batch`` on a writable engine of its own (the app's shared engine is read-only)."""
    from store.db import make_engine

    engine = make_engine(url)
    try:
        return import_batch(engine, files, user=user, dry_run=dry_run, datum=datum)
    finally:
        engine.dispose()


def _refresh_forecasts(engine: Engine, report: ImportReport) -> None:
    """Let the forecast job catch up with the new data, when that job is installed (never fails the import)."""
    try:
        from jobs.forecast import refresh_after_load  # type: ignore[attr-defined]
    except ImportError:
        return
    try:
        refresh_after_load(engine)
    except Exception as exc:  # the data is loaded; a forecast failure is reported, not fatal
        report.problems.append(Problem("forecast", None, None, "import_forecast_failed",
                                       {"error": type(exc).__name__}, WARNING))  # fmt: skip


def table_checksums(conn: Connection) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every table's rows in key order (for tests: did anything change?)."""
    import hashlib

    out = {}
    for table in s.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows = conn.execute(select(table).order_by(*order)).all()
        digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
        out[table.name] = (len(rows), digest)
    return out


def row_total(conn: Connection) -> int:
    return sum(
        int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in s.metadata.sorted_tables
    )
