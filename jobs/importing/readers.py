"""Reading the files of a batch into raw text tables: CSV, Excel, GeoJSON and zipped Shapefile.

Nothing is interpreted here beyond the file format: cells stay text (``None`` when empty) so that validation can
say exactly which cell is wrong. Encodings of text files are detected (UTF-8, UTF-8 with BOM, GBK) and stated.
"""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.polygon import orient

from jobs.importing import datum as dt
from jobs.importing.problems import UNREADABLE, WARNING, Problem, ReadError
from jobs.importing.templates import BY_NAME, ENTITIES, header_names, norm_header

HEADER_SCAN_ROWS = 10
MAX_LISTED = 20  # rows listed for one kind of problem found while reading
_GEOD = Geod(ellps="WGS84")
_KNOWN = set().union(*(header_names(c) for e in ENTITIES for c in e.columns))


@dataclass
class Sheet:
    """One table read from a file (a CSV file, one sheet of a workbook, or the features of a GeoJSON file)."""

    file: str  # label used in problems: the file name, plus the sheet name for workbooks
    filename: str
    headers: list[str]  # as written in the file
    frame: pd.DataFrame  # columns 0..n-1, cells as text or None
    first_row: int  # row number (as a spreadsheet shows it) of frame row 0
    encoding: str | None = None
    datums: set[str] = field(default_factory=set)
    kind: str = "table"  # table / boundaries
    letters: bool = False  # Excel: say the column letter too
    problems: list[Problem] = field(default_factory=list)  # merged cells, short rows: found while reading
    entity_hint: str | None = None

    def column_label(self, i: int) -> str:
        head = self.headers[i] if i < len(self.headers) else ""
        if self.letters:
            from openpyxl.utils import get_column_letter

            return f"{head} ({get_column_letter(i + 1)})" if head else get_column_letter(i + 1)
        return head or f"#{i + 1}"


def _unreadable(file: str, key: str, row: int | None = None, **values: object) -> ReadError:
    return ReadError(Problem(file, row, None, key, dict(values), UNREADABLE))


def read_upload(name: str, data: bytes, datum_override: str | None = None) -> list[Sheet]:
    """Read one uploaded file (its name and bytes) into sheets; raises ``ReadError`` when it cannot be read."""
    suffix = PurePath(name).suffix.lower()
    label = PurePath(name).name
    if not data:
        raise _unreadable(label, "import_empty_file")
    if suffix in (".csv", ".txt"):
        sheets = [read_csv(label, data)]
    elif suffix in (".xlsx", ".xlsm"):
        sheets = read_excel(label, data)
    elif suffix == ".xls":
        raise _unreadable(label, "import_xls_old")
    elif suffix in (".geojson", ".json"):
        sheets = [read_geojson(label, data, datum_override)]
    elif suffix == ".zip":
        sheets = [read_shapefile_zip(label, data, datum_override)]
    else:
        raise _unreadable(label, "import_unknown_format", suffix=suffix or "?")
    hint = entity_from_name(label)
    for sheet in sheets:
        sheet.entity_hint = sheet.entity_hint or hint
    return sheets


def entity_from_name(name: str) -> str | None:
    """The template a file name points to (``targets_2026.csv`` → targets), longest hint first."""
    stem = PurePath(name).stem.lower()
    hints = sorted(((h, e.name) for e in ENTITIES for h in e.file_hints), key=lambda p: -len(p[0]))
    for hint, entity in hints:
        if hint in stem:
            return entity
    return None


# --- text encodings ---------------------------------------------------------------------------------------------


def decode(label: str, data: bytes) -> tuple[str, str]:
    """Text and the encoding's name: UTF-8 with BOM, UTF-8 or GBK; anything else is refused with a clear reason."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 BOM"
        except UnicodeDecodeError as exc:
            raise _unreadable(label, "import_bad_encoding", row=_line_of(data, exc.start + 3)) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _unreadable(label, "import_utf16")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gbk")
    except UnicodeDecodeError as exc:
        raise _unreadable(label, "import_bad_encoding", row=_line_of(data, exc.start)) from exc
    if _looks_like_latin1(text):
        raise _unreadable(label, "import_bad_encoding", row=None)
    return text, "GBK"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _looks_like_latin1(text: str) -> bool:
    """GBK decoding of Latin-1 text succeeds by accident but yields rare characters outside GB2312."""
    wide = [ch for ch in text if ord(ch) > 127]
    if not wide:
        return False
    rare = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            rare += 1
    return rare / len(wide) > 0.2


# --- CSV ----------------------------------------------------------------------------------------------------------


def _header_row(rows: Sequence[Sequence[object]]) -> int:
    """Index of the row that looks most like a header (title rows above it are skipped)."""
    best, best_score = 0, 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        score = sum(1 for cell in row if norm_header(cell)[0] in _KNOWN)
        if score > best_score:
            best, best_score = i, score
    return best if best_score >= 2 else 0


def read_csv(label: str, data: bytes) -> Sheet:
    """A CSV file (comma, or tab/semicolon when the header says so) as text cells."""
    text, encoding = decode(label, data)
    head_lines = text[:20000].splitlines()[:HEADER_SCAN_ROWS]
    sample = "\n".join(head_lines)
    sep = max((",", "\t", ";"), key=lambda c: sample.count(c)) if sample else ","
    rows = list(csv.reader(io.StringIO(sample), delimiter=sep))
    if not rows or not text.strip(sep + " \t\r\n\u3000"):
        raise _unreadable(label, "import_empty_file")
    h = _header_row(rows)
    fields = [str(c).strip() for c in rows[h]]
    if not any(fields):
        raise _unreadable(label, "import_no_header", row=h + 1)
    headers = list(fields)
    while headers and not headers[-1]:
        headers.pop()
    n = len(headers)  # named columns: a row needs at least these
    width = len(fields)  # the header's fields, unnamed ones at its end included: a row may have at most these
    _check_cut_off(label, text, sep, n, encoding)
    short, long = _odd_rows(text, sep, n, width, h + 1)
    widest = max([width, *(found for _, found, _ in long)])
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            skiprows=h + 1,
            names=list(range(widest)),  # a longer row is reported below, never shifted into an index
            index_col=False,
            dtype=str,
            keep_default_na=False,
            na_filter=True,
            na_values=[""],
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(range(n)), dtype=object)
    except pd.errors.ParserError as exc:
        msg = str(exc)
        m = re.search(r"line (\d+), saw (\d+)", msg)
        if m:
            raise _unreadable(
                label, "import_too_many_fields", row=int(m.group(1)), expected=n, found=int(m.group(2))
            ) from exc
        m = re.search(r"starting at row (\d+)", msg)
        row = int(m.group(1)) + 1 if m else None
        raise _unreadable(label, "import_unclosed_quote", row=row) from exc
    sheet = Sheet(label, label, fields, frame.iloc[:, :width], first_row=h + 2, encoding=encoding)
    for row, found in short[:MAX_LISTED]:
        sheet.problems.append(Problem(label, row, None, "import_short_row", {"found": found, "expected": n}))
    for row, found, empty in long[:MAX_LISTED]:
        key = "import_trailing_separator" if empty else "import_too_many_fields"
        sheet.problems.append(Problem(label, row, None, key, {"found": found, "expected": width}))
    for odd in (short, long):
        if len(odd) > MAX_LISTED:
            sheet.problems.append(
                Problem(label, None, None, "import_more_rows", {"count": len(odd) - MAX_LISTED})
            )
    strip = (
        re.search(rf"(^|{re.escape(sep)})[ \t\u3000]|[ \t\u3000]({re.escape(sep)}|\r?$)", text, re.M)
        is not None
    )
    _drop_blank_rows(sheet, strip)
    return sheet


def _odd_rows(
    text: str, sep: str, n: int, width: int, skip: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int, bool]]]:
    """Non-blank lines with fewer fields than the named columns, ``(row, fields)``, and lines with more fields
    than the header, ``(row, fields, extra fields all empty)``: pandas would pad the first silently and read
    the second wrongly (one extra field became the index)."""
    short: list[tuple[int, int]] = []
    long: list[tuple[int, int, bool]] = []
    for i, line in enumerate(text.split("\n")[skip:], start=skip + 1):
        seps = line.count(sep)
        if n - 1 <= seps <= width - 1 or not line.strip("\r"):
            continue
        if '"' in line:
            if line.count('"') % 2:
                break  # a quoted field spans lines: stop checking rather than guess
            cells = next(csv.reader([line.rstrip("\r")], delimiter=sep), [])
            if n <= len(cells) <= width:
                continue
        else:
            cells = line.rstrip("\r").split(sep)
        if len(cells) < n:
            short.append((i, len(cells)))
        else:
            long.append((i, len(cells), not any(c.strip() for c in cells[width:])))
    return short, long


def _check_cut_off(label: str, text: str, sep: str, n: int, encoding: str) -> None:
    """A file that stops in the middle of a line (no final newline and too few fields) was cut off."""
    if not text or text.endswith(("\n", "\r")):
        return
    last = text[text.rfind("\n") + 1 :]
    row = text.count("\n") + 1
    if last.count('"') % 2 == 1:
        raise _unreadable(label, "import_cut_off", row=row, found=0, expected=n)
    fields = next(csv.reader([last], delimiter=sep), [])
    if len(fields) < n:
        raise _unreadable(label, "import_cut_off", row=row, found=len(fields), expected=n)


def _drop_blank_rows(sheet: Sheet, strip: bool = False) -> None:
    """Empty cells become missing values (cells of blanks only too, when ``strip``); blank rows are dropped."""
    frame = sheet.frame.astype(object)
    if strip:
        for col in frame.columns:
            values = frame[col]
            stripped = values.str.strip() if values.notna().any() else values
            frame[col] = stripped.where(stripped.notna() & (stripped != ""), None)
    blank = frame.isna().all(axis=1)
    frame = frame.loc[~blank]
    # trailing blank rows are dropped silently; a blank row in the middle is too (spreadsheets leave them)
    sheet.frame = frame


# --- Excel --------------------------------------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = str(value).strip()
    return text or None


def read_excel(label: str, data: bytes) -> list[Sheet]:
    """Every data sheet of a workbook (the explanation sheet of a template is skipped)."""
    from openpyxl import load_workbook

    try:
        book = pd.read_excel(io.BytesIO(data), sheet_name=None, header=None, dtype=object, engine="openpyxl")
        wb = load_workbook(io.BytesIO(data), data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise _unreadable(label, "import_bad_excel") from exc
    sheets = []
    for name, raw in book.items():
        if re.search(r"说明|readme|columns|instructions", str(name), re.I):
            continue
        rows = raw.map(_cell_text) if not raw.empty else raw
        if rows.empty:
            continue
        as_lists = rows.head(HEADER_SCAN_ROWS).to_numpy().tolist()
        h = _header_row(as_lists)
        headers = ["" if v is None else str(v) for v in as_lists[h]] if as_lists else []
        while headers and not headers[-1]:
            headers.pop()
        frame = rows.iloc[h + 1 :, :].reset_index(drop=True)  # values right of the header: "no header"
        frame.columns = list(range(frame.shape[1]))
        headers += [""] * (frame.shape[1] - len(headers))
        tag = label if len(book) == 1 else f"{label} [{name}]"
        sheet = Sheet(tag, label, headers, frame, first_row=h + 2, letters=True)
        _drop_blank_rows(sheet)  # cells are already stripped text or None
        _merged_cells(sheet, wb[name], h + 1)
        sheets.append(sheet)
    if not sheets:
        raise _unreadable(label, "import_empty_file")
    return sheets


def _merged_cells(sheet: Sheet, ws: Any, header_row: int) -> None:
    """Merged cells hide values from every cell but the first: refuse them in the header and the data."""
    for rng in ws.merged_cells.ranges:
        if rng.max_row < header_row:
            continue  # a title above the header
        where = "header" if rng.min_row <= header_row else "data"
        sheet.problems.append(
            Problem(
                sheet.file,
                rng.min_row,
                sheet.column_label(rng.min_col - 1),
                f"import_merged_{where}",
                {"cells": rng.coord},
            )  # fmt: skip
        )


# --- GeoJSON and Shapefile boundaries --------------------------------------------------------------------------

_BOUNDARY_PROPS = {name: c.name for c in BY_NAME["boundaries"].columns for name in header_names(c)}


def _datum_of(container: dict[str, Any]) -> str | None:
    for key in ("datum", "坐标系", "crs"):
        value = container.get(key)
        if isinstance(value, dict):  # old-style GeoJSON "crs": {"type": "name", "properties": {"name": ...}}
            value = value.get("properties", {}).get("name")
        found = dt.parse_datum(value)
        if found:
            return found
    return None


def boundary_rows(label: str, features: list[tuple[dict[str, Any], Any]], file_datum: str | None,
                  override: str | None) -> Sheet:  # fmt: skip
    """Turn (properties, shapely-or-GeoJSON geometry) pairs into an area-boundary sheet in GCJ-02."""
    records: list[dict[str, object]] = []
    problems: list[Problem] = []
    datums: set[str] = set()
    for n, (props, geom) in enumerate(features, start=1):
        row: dict[str, object] = {}
        for key, value in (props or {}).items():
            col = _BOUNDARY_PROPS.get(norm_header(key)[0])
            if col and col != "datum" and value is not None and col not in row:
                row[col] = _cell_text(value)
        feat_datum = override or _datum_of(props or {}) or file_datum
        if feat_datum is None:
            feat_datum = dt.WGS84
            if not any(p.key == "import_datum_assumed" for p in problems):
                problems.append(
                    Problem(label, None, None, "import_datum_assumed", {"datum": dt.WGS84}, WARNING)
                )
        datums.add(feat_datum)
        try:
            gj = geom if isinstance(geom, dict) else mapping(geom)
            if gj.get("type") not in ("Polygon", "MultiPolygon"):
                raise ValueError(gj.get("type"))
            gj = {"type": gj["type"], "coordinates": json.loads(json.dumps(gj["coordinates"]))}
            poly = shape(gj)
            lon_min, lat_min, lon_max, lat_max = poly.bounds
            if lon_min < 73 or lon_max > 136 or lat_min < 3 or lat_max > 54:
                problems.append(Problem(label, n, "geometry", "import_geometry_outside", {}))
                continue
            if not poly.is_valid:
                problems.append(Problem(label, n, "geometry", "import_geometry_invalid",
                                        {"reason": shapely.is_valid_reason(poly)}))  # fmt: skip
                continue
            area_m2 = abs(_GEOD.geometry_area_perimeter(poly)[0])
            converted = dt.convert_geometry(gj, feat_datum)
            centre = shape(converted).representative_point() if not shape(converted).centroid.within(
                shape(converted)) else shape(converted).centroid  # fmt: skip
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.GEOSException):
            problems.append(Problem(label, n, "geometry", "import_geometry_bad", {}))
            continue
        row["boundary_geojson"] = json.dumps(converted, separators=(",", ":"))
        row.setdefault("area_km2", f"{area_m2 / 1e6:.4f}")
        row["centroid_lon"] = f"{centre.x:.7f}"
        row["centroid_lat"] = f"{centre.y:.7f}"
        row["datum"] = dt.GCJ02
        row["_feature"] = str(n)
        records.append(row)
    headers = sorted({k for r in records for k in r if k != "_feature"}, key=_boundary_order)
    frame = pd.DataFrame([[r.get(h) for h in headers] for r in records], columns=list(range(len(headers))),
                         dtype=object)  # fmt: skip
    frame.index = pd.Index([int(str(r["_feature"])) - 1 for r in records])
    sheet = Sheet(label, label, headers, frame, first_row=1, kind="boundaries", datums=datums, problems=problems,
                  entity_hint="boundaries")  # fmt: skip
    return sheet


def _boundary_order(name: str) -> int:
    names = [c.name for c in BY_NAME["boundaries"].columns]
    return names.index(name) if name in names else len(names)


def read_geojson(label: str, data: bytes, override: str | None = None) -> Sheet:
    """A GeoJSON FeatureCollection of area boundaries (datum from --datum, a property or the file, else WGS84)."""
    text, _ = decode(label, data)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _unreadable(label, "import_bad_json", row=exc.lineno) from exc
    if not isinstance(doc, dict):
        raise _unreadable(label, "import_bad_json", row=None)
    features = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
    if not isinstance(features, list) or not features:
        raise _unreadable(label, "import_no_features")
    pairs = [(f.get("properties") or {}, f.get("geometry") or {}) for f in features if isinstance(f, dict)]
    return boundary_rows(label, pairs, _datum_of(doc), override)


def read_shapefile_zip(label: str, data: bytes, override: str | None = None) -> Sheet:
    """A zipped ESRI Shapefile of polygons (.shp + .dbf, optional .prj and .cpg), read without extra libraries."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = {PurePath(n).suffix.lower(): n for n in zf.namelist() if not n.startswith("__MACOSX")}
        if ".shp" not in names or ".dbf" not in names:
            raise _unreadable(label, "import_shapefile_parts")
        shp, dbf = zf.read(names[".shp"]), zf.read(names[".dbf"])
        prj = zf.read(names[".prj"]).decode("latin-1") if ".prj" in names else ""
        cpg = zf.read(names[".cpg"]).decode("latin-1").strip() if ".cpg" in names else ""
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise _unreadable(label, "import_bad_zip") from exc
    if prj.upper().startswith("PROJCS"):
        raise _unreadable(label, "import_projected")
    file_datum = dt.parse_datum(prj) if prj else None
    if prj and "GCS_WGS_1984" in prj.upper():
        file_datum = dt.WGS84
    try:
        geoms = _shp_polygons(shp)
        records = _dbf_records(dbf, cpg)
    except (struct.error, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise _unreadable(label, "import_bad_shapefile") from exc
    if len(geoms) != len(records):
        raise _unreadable(label, "import_bad_shapefile")
    return boundary_rows(label, list(zip(records, geoms, strict=True)), file_datum, override)


def _shp_polygons(shp: bytes) -> list[Any]:
    """Polygons of a .shp file (types 5, 15, 25): clockwise rings are shells, the others holes."""
    if struct.unpack(">i", shp[0:4])[0] != 9994:
        raise ValueError("not a shapefile")
    length = struct.unpack(">i", shp[24:28])[0] * 2
    pos, out = 100, list[Any]()
    while pos + 8 <= min(length, len(shp)):
        content_len = struct.unpack(">i", shp[pos + 4 : pos + 8])[0] * 2
        body = shp[pos + 8 : pos + 8 + content_len]
        pos += 8 + content_len
        kind = struct.unpack("<i", body[0:4])[0]
        if kind == 0:
            out.append(None)
            continue
        if kind not in (5, 15, 25):
            raise ValueError(f"shape type {kind}")
        n_parts, n_points = struct.unpack("<2i", body[36:44])
        parts = list(struct.unpack(f"<{n_parts}i", body[44 : 44 + 4 * n_parts]))
        start = 44 + 4 * n_parts
        pts = np.frombuffer(body[start : start + 16 * n_points], dtype="<f8").reshape(n_points, 2)
        rings = [pts[a:b] for a, b in zip(parts, [*parts[1:], n_points], strict=True)]
        shells: list[list[Any]] = []
        for ring in rings:
            coords = [tuple(p) for p in ring.tolist()]
            if shapely.LinearRing(coords).is_ccw and shells:
                hole = Polygon(coords)
                target = next(
                    (s for s in shells if Polygon(s[0]).contains(hole.representative_point())), shells[-1]
                )
                target.append(coords)
            else:
                shells.append([coords])
        polys = [orient(Polygon(s[0], s[1:])) for s in shells]
        out.append(polys[0] if len(polys) == 1 else MultiPolygon(polys))
    return out


def _dbf_records(dbf: bytes, cpg: str) -> list[dict[str, Any]]:
    """Attribute records of a dBASE III file; text in the .cpg's encoding, else UTF-8, else GBK."""
    n_records, header_len, record_len = struct.unpack("<IHH", dbf[4:12])
    fields = []
    pos = 32
    while dbf[pos] != 0x0D:
        name = dbf[pos : pos + 11].split(b"\x00")[0].decode("latin-1")
        ftype = chr(dbf[pos + 11])
        size = dbf[pos + 16]
        fields.append((name, ftype, size))
        pos += 32
    encodings = [cpg] if cpg else ["utf-8", "gbk"]
    out: list[dict[str, Any]] = []
    for i in range(n_records):
        rec = dbf[header_len + i * record_len : header_len + (i + 1) * record_len]
        if not rec or rec[0:1] == b"*":
            continue
        off, row = 1, {}
        for name, ftype, size in fields:
            raw = rec[off : off + size]
            off += size
            value: object = None
            for enc in encodings:
                try:
                    value = raw.decode(enc).strip()
                    break
                except (UnicodeDecodeError, LookupError):
                    continue
            if value is None:
                raise UnicodeDecodeError("dbf", raw, 0, 1, "undecodable")
            if ftype in "NF" and value:
                value = float(str(value)) if "." in str(value) else int(str(value))
            row[name] = value if value != "" else None
        out.append(row)
    return out
