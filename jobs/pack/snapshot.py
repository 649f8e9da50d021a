"""Build a quarter's meeting pack from the database and freeze it in ``pack_snapshot``.

The content is every table the pack shows, computed once (as of the quarter's last month with data) and stored as
JSON, so that what was presented does not move when later data arrives or a figure is corrected. Exports
(``jobs.pack.pdf``, ``jobs.pack.excel``) only ever read a stored snapshot.

Tables (``Pack.table(name)``; columns listed in docs/pack.md): ``key_figures`` (city attainment), ``ranking``
(district × indicator attainment with status and rank change), ``district_cards``, ``exceptions`` (districts red on
any indicator, with empty cause / owner / action fields), ``indicators``, ``fund_scores``, ``allocation``,
``coverage``, ``forecast``, ``city_curve``, ``data_quality`` and ``boundaries`` (district outlines for the map).
Person counts pass through ``privacy.suppress`` by the ``sensitive`` rule of the query that produced them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import DBAPIError

from figures.coverage import month_end
from figures.rules import rules
from store import schema as s
from store.config import settings
from store.db import make_engine

FORMAT = "bureau.pack/1"
CITY = "420100"
CURVE_INDICATOR = "urban_new_employment"
FORECAST_SERIES = ("registered_unemployment_rate", "registered_unemployed")
DEFAULT_SCHEME = "grading_100"
STATUS_ORDER = ("red", "yellow", "green")
_QUARTER = re.compile(r"^\s*(\d{4})\s*[-_ ]?\s*[Qq]([1-4])\s*$")


class PackError(ValueError):
    """A pack that cannot be built or found (bad quarter, no data, unknown snapshot)."""


class WriteRefused(PackError):
    """The database refused to store a snapshot for lack of rights (a read-only connection or role): it is
    reachable, and retrying will not help; the message says so instead of "cannot be reached" (issue #18)."""


# SQLSTATEs of a refused write: read_only_sql_transaction, insufficient_privilege
_REFUSED = {"25006": "permission denied: read-only connection", "42501": "permission denied"}


def refusal(exc: DBAPIError) -> str | None:
    """Why the database refused a write for lack of rights, or None when it failed some other way."""
    orig = exc.orig
    reason = _REFUSED.get(str(getattr(orig, "sqlstate", "") or ""))
    if reason is None and "readonly database" in str(orig).lower():  # SQLite: a read-only file
        reason = _REFUSED["25006"]
    if reason is None:
        return None
    first = (str(orig).strip().splitlines() or [""])[0]
    return f"{reason} ({first})"[:300]


def parse_quarter(text: str) -> tuple[int, int]:
    """``"2026Q3"`` → ``(2026, 3)``; ``PackError`` for anything else (also accepts ``2026-Q3``, ``2026q3``)."""
    found = _QUARTER.match(text or "")
    if not found:
        raise PackError(f"quarter {text!r} is not of the form YYYYQn, e.g. 2026Q3")
    year, q = int(found.group(1)), int(found.group(2))
    if not 1900 <= year <= 9999:
        raise PackError(f"quarter {text!r}: year out of range")
    return year, q


def quarter_label(year: int, q: int) -> str:
    return f"{year}Q{q}"


def quarters_from_months(months: dict[int, list[int]]) -> list[str]:
    """Quarters holding at least one month of data, newest first, from ``{year: [months]}``."""
    out = {quarter_label(y, (m - 1) // 3 + 1) for y, ms in months.items() for m in ms}
    return sorted(out, reverse=True)


# --- JSON for tables ------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-safe scalar: NaN / NA → None, numpy → Python, dates → ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    return value


def table_json(frame: pd.DataFrame) -> dict[str, Any]:
    """``{"columns": [...], "data": [[...], ...]}`` (codes stay text; NaN becomes null)."""
    return {
        "columns": [str(c) for c in frame.columns],
        "data": [[_plain(v) for v in row] for row in frame.itertuples(index=False, name=None)],
    }


def table_frame(data: dict[str, Any] | None) -> pd.DataFrame:
    if not data:
        return pd.DataFrame()
    out = pd.DataFrame(data["data"], columns=data["columns"])
    for col in out.columns:  # numbers stored with nulls come back as object; make them float again
        values = out[col]
        if (
            values.dtype == object
            and values.notna().any()
            and values.map(
                lambda v: v is None or (isinstance(v, int | float) and not isinstance(v, bool))
            ).all()
        ):
            out[col] = pd.to_numeric(values)
    return out


# --- the stored pack --------------------------------------------------------------------------------------------


@dataclass
class Pack:
    """One frozen pack: the ``pack_snapshot`` row and its decoded content."""

    snapshot_id: int | None
    quarter: str
    created_at: datetime
    created_by: str
    cut_off: date
    scheme_name: str | None
    model_version: str | None
    forecast_run_id: int | None
    content: dict[str, Any]
    note: str | None = None
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def table(self, name: str) -> pd.DataFrame:
        """A table of the pack (a copy); empty when the pack has no such table."""
        if name not in self._cache:
            self._cache[name] = table_frame(self.content.get("tables", {}).get(name))
        return self._cache[name].copy()

    @property
    def tables(self) -> list[str]:
        return list(self.content.get("tables", {}))

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self.content.get("meta", {}))


_PLANS: dict[tuple[int, int], Any] = {}  # the linked plan of the pack being built, per engine and k


def _plan(engine: Engine, k: int) -> Any:
    """The city-wide suppression plan (privacy.linked), decided once per pack build."""
    from figures.disclosure import plan_for

    key = (id(engine), k)
    if key not in _PLANS:
        _PLANS[key] = plan_for(engine, k)
    return _PLANS[key]


def _protect(fn: Callable[..., Any], frame: pd.DataFrame, k: int, engine: Engine) -> pd.DataFrame:
    """Small-count suppression by the query's own ``sensitive`` rule and the linked plan, as the pages apply
    them (nothing for other queries)."""
    from privacy import needs_plan, protect

    plan = _plan(engine, k) if needs_plan(frame) else None
    return protect(frame, k, getattr(fn, "sensitive", None), plan)  # type: ignore[no-any-return]


def _as_of(engine: Engine, year: int, q: int) -> int:
    """The quarter's last month that has data; ``PackError`` when the quarter has none."""
    from queries import meta

    months = [m for m in meta.months_available(engine, year) if 3 * q - 2 <= m <= 3 * q]
    if not months:
        raise PackError(f"no data for {quarter_label(year, q)}: the database has no month of that quarter")
    return max(months)


def _scheme(engine: Engine) -> Any:
    """The newest stored locked (official) scoring scheme, else the ``grading_100`` preset."""
    from figures import schemes
    from scoring import PRESETS

    listed = schemes.list_schemes(lambda fn, *args, **kwargs: fn(engine, *args, **kwargs))
    official = listed[(~listed["preset"]) & (listed["locked"]) & (listed["kind"] == "score")]
    if not official.empty:
        return schemes.load_scheme(
            lambda fn, *args, **kwargs: fn(engine, *args, **kwargs), str(official["name"].iloc[0])
        )
    return PRESETS[DEFAULT_SCHEME]


def _names(engine: Engine) -> pd.DataFrame:
    from queries import meta

    return meta.areas(engine, "district")[["area_code", "name_zh", "name_en", "zone"]]


def _runner(engine: Engine, k: int) -> Callable[..., Any]:
    """The pack's query runner (figures.run): each query protected as the pages protect it."""
    return lambda fn, *args, **kwargs: _protect(fn, fn(engine, *args, **kwargs), k, engine)


def _ranking(engine: Engine, year: int, month: int, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    import figures.targets
    from figures.chance import with_chance

    run, bureau_rules = _runner(engine, k), rules()
    district = figures.targets.attainment(run, bureau_rules, year, month)  # type: ignore[arg-type]
    city = figures.targets.attainment(run, bureau_rules, year, month, level="city")  # type: ignore[arg-type]
    district = with_chance(run, district, year, month)  # type: ignore[arg-type]
    city = with_chance(run, city, year, month)  # type: ignore[arg-type]
    cols = [
        "area_code",
        "name_zh",
        "name_en",
        "zone",
        "indicator_code",
        "sort_order",
        "unit",
        "direction",
        "target",
        "actual",
        "completion_rate",
        "time_elapsed_progress",
        "pace_gap",
        "margin_pp",
        "status",
        "rank",
        "peer_rank",
        "rank_prev",
        "rank_change",
        "suppressed",
        "chance",
    ]
    for frame in (district, city):
        if "suppressed" not in frame.columns:
            frame["suppressed"] = False
    ranking = district[cols].sort_values(["sort_order", "rank", "area_code"]).reset_index(drop=True)
    key = city[cols].sort_values("sort_order").reset_index(drop=True)
    return ranking, key


def _cards(engine: Engine, year: int, month: int, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The district cards (figures.targets.cards): weighted statuses per zone, as the Targets page shows them."""
    from figures.targets import cards

    got, exceptions, _statuses = cards(_runner(engine, k), rules(), year, month)  # type: ignore[arg-type]
    return got, exceptions


def _funds(engine: Engine, year: int, month: int, names: pd.DataFrame, k: int) -> dict[str, Any]:
    """Scores and next year's transfer split as the Funds page computes them (figures.funds): the official
    scoring scheme, the bureau's official transfer weights (else seed 002's preset), the year's transfer pot."""
    import figures.funds
    from figures.schemes import official_transfer

    run = _runner(engine, k)
    scheme = _scheme(engine)
    out: dict[str, Any] = {"scheme": scheme, "note": ""}
    try:
        scored, _ = figures.funds.scores(run, scheme, year, month, [])  # type: ignore[arg-type]
    except ValueError as exc:
        out["note"] = f"scores not computed: {exc}"
        out["scores"] = names.iloc[0:0].assign(score=[], rank=[], grade=[])
        out["allocation"] = out["scores"]
        out["pot"] = None
        return out
    keep = ["area_code", "score", "rank", *(["grade"] if "grade" in scored.columns else []), "missing"]
    scores = names.merge(scored[keep], on="area_code", how="right")
    if "grade" not in scores.columns:
        scores["grade"] = None
    scores["rank"] = scores["rank"].astype(float)
    out["scores"] = scores.sort_values(["rank", "area_code"]).reset_index(drop=True)
    pot = figures.funds.transfer_pot(run, year)  # type: ignore[arg-type]
    out["pot"] = pot
    if pot <= 0:
        out["note"] = f"no transfer funds stored for {year}: no pot to split"
        out["allocation"] = names.iloc[0:0]
        return out
    try:
        split = figures.funds.transfer_split(
            run,  # type: ignore[arg-type]
            rules(),
            official_transfer(run),  # type: ignore[arg-type]
            year,
            month,
            pot,
        )
    except ValueError as exc:
        out["note"] = f"allocation not computed: {exc}"
        out["allocation"] = names.iloc[0:0]
        return out
    alloc = split.table
    out["allocation"] = names.merge(
        alloc[["area_code", "share", "amount_yuan", "last_year_yuan", "change_yuan", "bound"]], on="area_code"
    ).sort_values("area_code")
    return out


def _coverage(engine: Engine, on: date, names: pd.DataFrame, k: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Coverage under the official rule (figures.coverage), as the Overview shows it."""
    from figures.coverage import official

    got = official(_runner(engine, k), rules().coverage, on)  # type: ignore[arg-type]
    if got["by_district"].empty:
        return names.iloc[0:0], {"share": None, "points": got["points"]}
    table = names.merge(got["by_district"])
    return table.sort_values("area_code").reset_index(drop=True), {
        "share": got["share"],
        "people": got["people"],
        "covered_people": got["covered_people"],
        "points": got["points"],
    }


def _forecast(engine: Engine, k: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The newest stored city forecast of each series (empty when none is stored)."""
    from figures.forecasts import latest

    parts: list[pd.DataFrame] = []
    info: dict[str, Any] = {"run_id": None, "model_version": None, "cut_off": None}
    for code in FORECAST_SERIES:
        got = latest(_runner(engine, k), CITY, code)  # type: ignore[arg-type]
        if got.empty:
            continue
        if info["run_id"] is None or int(got["run_id"].iloc[0]) > int(info["run_id"]):
            info = {
                "run_id": int(got["run_id"].iloc[0]),
                "model_version": str(got["model_version"].iloc[0]),
                "cut_off": _plain(got["cut_off"].iloc[0]),
            }
        parts.append(got.assign(indicator_code=code))
    cols = ["indicator_code", "run_id", "year", "month", "mean", "lo_80", "hi_80", "lo_95", "hi_95", "model"]
    if not parts:
        return pd.DataFrame(columns=cols), info
    return pd.concat(parts, ignore_index=True)[cols], info


def _curve(engine: Engine, year: int, month: int, k: int) -> pd.DataFrame:
    from queries import targets

    curve = _protect(
        targets.monthly_curve, targets.monthly_curve(engine, year, CITY, CURVE_INDICATOR), k, engine
    ).astype({"month": int})
    target = float(curve["target"].dropna().iloc[0]) if curve["target"].notna().any() else float("nan")
    lines = targets.pace_lines(targets.seasonal_profile(engine, year), CURVE_INDICATOR, target)
    out = lines.merge(
        curve[curve["month"] <= month][["month", "value", "cumulative"]], on="month", how="left"
    )
    return out.assign(target=target)[["month", "value", "cumulative", "linear", "seasonal", "target"]]


def _quality(engine: Engine, year: int, month: int, k: int) -> pd.DataFrame:
    """Missing, late and unreconciled reports and outlying months (figures.quality), as the Targets page lists
    them."""
    from figures.quality import flags

    return flags(_runner(engine, k), year, month)  # type: ignore[arg-type]


def _briefing(engine: Engine, year: int, month: int, k: int) -> pd.DataFrame:
    """The written briefing of the pack's month in both languages (figures.briefing), frozen with the pack:
    ``lang, topic, text``."""
    from figures.briefing import compose, gather

    facts = gather(_runner(engine, k), rules(), year, month)  # type: ignore[arg-type]
    rows = [
        {"lang": lang, "topic": s.topic, "text": s.text}
        for lang in ("zh", "en")
        for s in compose(facts, lang).sentences
    ]
    return pd.DataFrame(rows, columns=["lang", "topic", "text"])


def build(engine: Engine, quarter: str) -> dict[str, Any]:
    """The pack's content for ``quarter`` as of its last month with data (not stored; see :func:`freeze`)."""
    from queries import meta

    year, q = parse_quarter(quarter)
    month = _as_of(engine, year, q)
    status = meta.data_status(engine)
    k = settings().min_cell_persons
    _PLANS.clear()  # decided on the data as it is now
    names = _names(engine)
    inds = meta.indicators(engine)[["code", "name_zh", "name_en", "unit", "direction", "kind", "category"]]
    ranking, key = _ranking(engine, year, month, k)
    cards, exceptions = _cards(engine, year, month, k)
    fund = _funds(engine, year, month, names, k)
    cov, cov_total = _coverage(engine, month_end(year, month), names, k)
    fc, fc_info = _forecast(engine, k)
    bounds = meta.boundaries(engine, "district")[["area_code", "boundary_geojson"]]
    cfg = settings()
    tables = {
        "key_figures": key,
        "ranking": ranking,
        "district_cards": cards,
        "exceptions": exceptions,
        "indicators": inds,
        "fund_scores": fund["scores"],
        "allocation": fund["allocation"],
        "coverage": cov,
        "forecast": fc,
        "city_curve": _curve(engine, year, month, k),
        "data_quality": _quality(engine, year, month, k),
        "boundaries": bounds,
        "briefing": _briefing(engine, year, month, k),
    }
    scheme = fund["scheme"]
    return {
        "format": FORMAT,
        "meta": {
            "quarter": quarter_label(year, q),
            "year": year,
            "quarter_number": q,
            "month": month,
            "partial_quarter": month < 3 * q,
            "as_of": month_end(year, month).isoformat(),
            "cut_off": (status.cut_off or month_end(year, month)).isoformat(),
            "synthetic": bool(status.synthetic),
            "scheme_name": scheme.name,
            "scheme_locked": bool(scheme.locked),
            "scheme_description": scheme.description,
            "funds_note": fund["note"],
            "pot_yuan": fund["pot"],
            "pot_year": year,
            "coverage": cov_total,
            "coverage_rule": rules().coverage.kwargs(),
            "forecast_run_id": fc_info["run_id"],
            "model_version": fc_info["model_version"],
            "forecast_cut_off": fc_info["cut_off"],
            "yellow_margin_pp": cfg.yellow_margin_pp,
            "card_green_score": cfg.card_green_score,
            "card_yellow_score": cfg.card_yellow_score,
            "control_cushion_pp": cfg.control_cushion_pp,
            "min_cell_persons": k,
            "pace": "linear",
        },
        "tables": {name: table_json(frame) for name, frame in tables.items()},
    }


# --- storing and reading snapshots -----------------------------------------------------------------------------


def _row_to_pack(row: Any) -> Pack:
    cut = row.cut_off if isinstance(row.cut_off, date) else date.fromisoformat(str(row.cut_off)[:10])
    return Pack(
        snapshot_id=int(row.snapshot_id),
        quarter=row.quarter,
        created_at=row.created_at,
        created_by=row.created_by,
        cut_off=cut,
        scheme_name=row.scheme_name,
        model_version=row.model_version,
        forecast_run_id=row.forecast_run_id,
        content=json.loads(row.content_json),
        note=row.note,
    )


def freeze(engine: Engine, quarter: str, user: str, note: str | None = None) -> Pack:
    """Build the pack for ``quarter`` and store it as a new snapshot (one transaction); returns it."""
    content = build(engine, quarter)
    m = content["meta"]
    values = dict(
        quarter=m["quarter"],
        created_at=datetime.now().replace(microsecond=0),
        created_by=(user or "unknown").strip()[:128] or "unknown",
        cut_off=date.fromisoformat(m["cut_off"]),
        scheme_name=(m["scheme_name"] or "")[:64] or None,
        model_version=(m["model_version"] or "")[:64] or None,
        forecast_run_id=m["forecast_run_id"],
        content_json=json.dumps(content, ensure_ascii=False, separators=(",", ":")),
        note=note,
    )
    t = s.pack_snapshot
    try:
        with engine.begin() as conn:
            new_id = conn.execute(insert(t).values(**values).returning(t.c.snapshot_id)).scalar_one()
    except DBAPIError as exc:
        reason = refusal(exc)
        if reason is None:
            raise
        raise WriteRefused(reason) from exc
    return Pack(
        snapshot_id=int(new_id), content=content, **{k: v for k, v in values.items() if k != "content_json"}
    )


def load(engine: Engine, snapshot_id: int) -> Pack:
    """The stored snapshot ``snapshot_id``; ``PackError`` when there is none."""
    t = s.pack_snapshot
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.snapshot_id == int(snapshot_id))).first()
    if row is None:
        raise PackError(f"no pack snapshot with id {snapshot_id}")
    return _row_to_pack(row)


def newest(engine: Engine, quarter: str) -> Pack | None:
    """The newest stored snapshot of ``quarter`` (None when it was never frozen)."""
    year, q = parse_quarter(quarter)
    t = s.pack_snapshot
    with engine.connect() as conn:
        row = conn.execute(
            select(t)
            .where(t.c.quarter == quarter_label(year, q))
            .order_by(t.c.created_at.desc(), t.c.snapshot_id.desc())
            .limit(1)
        ).first()
    return _row_to_pack(row) if row is not None else None


def list_snapshots(engine: Engine, quarter: str | None = None) -> pd.DataFrame:
    """Stored snapshots, newest first (without their content): ``snapshot_id, quarter, created_at, created_by,
    cut_off, scheme_name, model_version, forecast_run_id, note``."""
    t = s.pack_snapshot
    stmt = select(
        t.c.snapshot_id,
        t.c.quarter,
        t.c.created_at,
        t.c.created_by,
        t.c.cut_off,
        t.c.scheme_name,
        t.c.model_version,
        t.c.forecast_run_id,
        t.c.note,
    ).order_by(t.c.created_at.desc(), t.c.snapshot_id.desc())
    if quarter is not None:
        year, q = parse_quarter(quarter)
        stmt = stmt.where(t.c.quarter == quarter_label(year, q))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).mappings().all(), columns=list(stmt.selected_columns.keys()))


def obtain(
    engine: Engine, quarter: str, user: str, refreeze: bool = False, snapshot_id: int | None = None
) -> tuple[Pack, bool]:
    """The pack to export and whether it was frozen just now.

    ``snapshot_id`` reopens that snapshot (it must be of ``quarter``); otherwise the newest snapshot of the
    quarter is reused, or a new one frozen the first time (or always with ``refreeze``).
    """
    year, q = parse_quarter(quarter)
    label = quarter_label(year, q)
    if snapshot_id is not None:
        if refreeze:
            raise PackError("--snapshot reopens a stored snapshot; it cannot be combined with --refreeze")
        pack = load(engine, snapshot_id)
        if pack.quarter != label:
            raise PackError(f"snapshot {snapshot_id} is of {pack.quarter}, not {label}")
        return pack, False
    if not refreeze:
        found = newest(engine, label)
        if found is not None:
            return found, False
    return freeze(engine, label, user), True


def compare(a: Pack, b: Pack) -> pd.DataFrame:
    """The ranking tables of two snapshots side by side: one row per district and indicator with ``_a`` / ``_b``
    columns for actual, completion, margin, status and rank, and the differences ``d_actual, d_rank`` (b − a;
    for ranks, negative = moved up) and ``changed`` (any figure or status differs)."""
    keys = ["area_code", "indicator_code"]
    cols = ["actual", "completion_rate", "margin_pp", "status", "rank"]
    ra = a.table("ranking")
    rb = b.table("ranking")
    names = pd.concat([ra, rb])[[*keys, "name_zh", "name_en", "sort_order"]].drop_duplicates(keys)
    both = names.merge(ra[keys + cols], on=keys, how="left").merge(
        rb[keys + cols], on=keys, how="left", suffixes=("_a", "_b")
    )
    both["d_actual"] = both["actual_b"] - both["actual_a"]
    both["d_rank"] = both["rank_b"] - both["rank_a"]
    changed = both["status_a"].ne(both["status_b"])
    for c in ("actual", "completion_rate", "margin_pp", "rank"):
        x, y = both[f"{c}_a"].astype(float), both[f"{c}_b"].astype(float)
        changed |= ~(np.isclose(x, y, equal_nan=True))
    both["changed"] = changed
    return both.sort_values(["sort_order", "area_code"]).reset_index(drop=True)


@cache
def _writable(url: str) -> Engine:
    return make_engine(url)


def writable_engine(url: str | None = None) -> Engine:
    """A read-write engine for the configured database (the page's shared engine is read-only on PostgreSQL)."""
    return _writable(url or settings().db_url)
