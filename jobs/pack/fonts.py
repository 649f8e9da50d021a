"""The Chinese font of the PDF pack and its charts, shipped with the project: no system font is needed.

Which font, in this order:

1. ``EMPLOYMENT_PACK_FONT``: a bureau's own TrueType file or collection (index 0 is used);
2. the shipped font: Noto Sans CJK SC from the pinned PyPI package ``manimgx-fonts-cjk`` (SIL Open Font License
   1.1). Its outlines are PostScript (CFF2, variable), which ReportLab cannot embed, so the first use converts the
   Regular weight of the Simplified Chinese face, for the characters of GB 2312, the message catalogue and the demo
   city's names (``CHARSET``), to TrueType outlines with fontTools (about 20 s, once; ``make install`` does it
   ahead) and keeps the file in a cache (``cache_dirs``). A converted font is a modified version under the OFL, so
   it carries its own family name, ``Bureau Sans SC``, and the licence text beside it;
3. a system TrueType font with Chinese glyphs (``SYSTEM_FONTS``, e.g. Debian's ``fonts-wqy-microhei``), used only
   when the shipped package is not installed.

A missing font is an error that says what to do, never a PDF full of empty boxes. Nothing here imports Streamlit.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from importlib import metadata, resources
from pathlib import Path

FONT = "BureauSC"  # the name the font is registered under in ReportLab
FAMILY = "Bureau Sans SC"  # the family name of the converted font (charts ask for it)
PACKAGE = "manimgx-fonts-cjk"  # the PyPI package the shipped font comes from
SOURCE_MODULE = "manimgx_fonts_cjk"
SOURCE_FILE = "NotoSansCJK-VF.otf.ttc"
SOURCE_FACE = "Noto Sans CJK SC"
WEIGHT = 400  # Regular
SYSTEM_FONTS: tuple[Path, ...] = (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),)
CONVERTER_VERSION = "1"  # bump when the conversion below changes: the cached file is rebuilt
# Characters outside GB 2312 that the bureau's names use (硚口区 is one of Wuhan's districts).
EXTRA = "硚垸埇堌湉珺璟昶琤喆堃"
LATIN_AND_SYMBOLS = (
    (0x0020, 0x024F),  # Latin
    (0x2000, 0x2BFF),  # punctuation, currency, arrows, mathematical operators, shapes (▲▼), symbols
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF00, 0xFFEF),  # full-width forms
)


class FontMissing(RuntimeError):
    """No TrueType font with Chinese glyphs can be had."""


def _gb2312() -> Iterator[str]:
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                yield bytes((hi, lo)).decode("gb2312")


def _catalogue_chars() -> set[str]:
    import i18n

    folder = resources.files(i18n) / "messages"
    return {ch for f in folder.iterdir() if f.name.endswith(".toml") for ch in f.read_text("utf-8")}


def _area_name_chars() -> set[str]:
    import jobs

    geojson = resources.files(jobs) / "data"
    return {ch for f in geojson.iterdir() if f.name.endswith(".geojson") for ch in f.read_text("utf-8")}


def charset() -> str:
    """The characters the converted font carries, sorted (GB 2312, the catalogue, the demo names, symbols)."""
    chars = set(_gb2312()) | set(EXTRA) | _catalogue_chars() | _area_name_chars()
    chars |= {chr(c) for lo, hi in LATIN_AND_SYMBOLS for c in range(lo, hi + 1)}
    return "".join(sorted(c for c in chars if c.isprintable() and ord(c) <= 0xFFFF))


def source_path() -> Path | None:
    """The shipped OpenType collection (Noto Sans CJK) when its package is installed."""
    try:
        path = Path(str(resources.files(SOURCE_MODULE) / SOURCE_FILE))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def source_dir() -> Path | None:
    """The folder of the shipped collection (for fontconfig and the browser, which read CFF2 fonts directly)."""
    path = source_path()
    return path.parent if path else None


def cache_dirs() -> list[Path]:
    """Where the converted font is kept, in order of preference: ``EMPLOYMENT_FONT_CACHE``, the virtual
    environment (``share/employment-bureau/fonts``), the user's cache, the temporary folder."""
    given = os.environ.get("EMPLOYMENT_FONT_CACHE")
    dirs = [Path(given)] if given else []
    dirs.append(Path(sys.prefix) / "share" / "employment-bureau" / "fonts")
    dirs.append(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "employment-bureau" / "fonts"
    )
    dirs.append(Path(tempfile.gettempdir()) / "employment-bureau-fonts")
    return dirs


def _key(chars: str) -> str:
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        version = "?"
    text = f"{version}|{CONVERTER_VERSION}|{WEIGHT}|{chars}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def converted_name(chars: str | None = None) -> str:
    return f"BureauSansSC-Regular-{_key(chars if chars is not None else charset())}.ttf"


def _find_converted(name: str) -> Path | None:
    for folder in cache_dirs():
        path = folder / name
        if path.is_file():
            return path
    return None


def shipped_path() -> Path:
    """The shipped font as TrueType: converted on first use and cached (``FontMissing`` without the package)."""
    source = source_path()
    if source is None:
        raise FontMissing(
            f"the shipped Chinese font is missing: reinstall the project (pip install -e .) so that the "
            f"{PACKAGE} package is installed, or set EMPLOYMENT_PACK_FONT to a TrueType font with Chinese glyphs"
        )
    chars = charset()
    name = converted_name(chars)
    found = _find_converted(name)
    if found:
        return found
    errors = []
    for folder in cache_dirs():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / ".lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # another process converting waits here, then finds the file
                target = folder / name
                if not target.is_file():
                    convert(source, target, chars)
            return target
        except OSError as exc:
            errors.append(f"{folder}: {exc}")
    raise FontMissing("the Chinese font could not be converted and cached: " + "; ".join(errors))


def convert(source: Path, target: Path, chars: str) -> Path:
    """Write ``target``: the Regular weight of the SC face of ``source`` for ``chars``, with TrueType outlines.

    The glyphs are drawn at the Regular weight from the variable CFF2 outlines and their cubic curves turned into
    quadratic ones (``cu2qu``, within 1 unit of 1000); metrics come from the same weight. Written to a temporary
    file and renamed, so a reader never sees half a font.
    """
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(source), lazy=True)
    faces = [f for f in collection.fonts if f["name"].getDebugName(1) == SOURCE_FACE]
    if not faces:
        raise FontMissing(f"{source} has no {SOURCE_FACE} face")
    src = faces[0]
    cmap = src.getBestCmap()
    mapping = {ord(c): cmap[ord(c)] for c in chars if ord(c) in cmap}
    order = [".notdef", *sorted(set(mapping.values()) - {".notdef"}, key=src.getGlyphID)]
    location = {"wght": WEIGHT} if "fvar" in src else None
    glyph_set = src.getGlyphSet(location=location)
    glyphs, advances = {}, {}
    for name in order:
        glyph = glyph_set[name]
        pen = TTGlyphPen(None)
        glyph.draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
        advances[name] = round(glyph.width)
    fb = FontBuilder(src["head"].unitsPerEm, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(mapping)
    fb.setupGlyf(glyphs)
    glyf = fb.font["glyf"]
    fb.setupHorizontalMetrics({n: (advances[n], getattr(glyf[n], "xMin", 0)) for n in order})
    hhea, os2 = src["hhea"], src["OS/2"]
    fb.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent)
    copyright_ = src["name"].getDebugName(0) or ""
    fb.setupNameTable(
        {
            "copyright": copyright_,
            "familyName": FAMILY,
            "styleName": "Regular",
            "uniqueFontIdentifier": f"{FAMILY} Regular {_key(chars)}",
            "fullName": f"{FAMILY} Regular",
            "psName": "BureauSansSC-Regular",
            "version": f"Version {CONVERTER_VERSION}; converted from {src['name'].getDebugName(4)}",
            "description": f"{SOURCE_FACE} (Regular) with TrueType outlines, converted for the dashboard's PDF pack",
            "licenseDescription": "This Font Software is licensed under the SIL Open Font License, Version 1.1.",
            "licenseInfoURL": "https://openfontlicense.org",
        }
    )
    fb.setupOS2(
        sTypoAscender=os2.sTypoAscender,
        sTypoDescender=os2.sTypoDescender,
        sTypoLineGap=os2.sTypoLineGap,
        usWinAscent=os2.usWinAscent,
        usWinDescent=os2.usWinDescent,
        usWeightClass=WEIGHT,
        fsType=0,  # installable embedding, as the OFL allows
        achVendID="NONE",
        ulCodePageRange1=os2.ulCodePageRange1,
        ulCodePageRange2=os2.ulCodePageRange2,
    )
    fb.setupPost()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    os.close(fd)
    try:
        fb.save(tmp)
        os.chmod(tmp, 0o644)  # readable by the service user too
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    licence = _licence_text()
    if licence:
        (target.parent / "OFL.txt").write_text(licence, encoding="utf-8")
    return target


def _licence_text() -> str | None:
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        if f.name.upper().startswith("LICENSE"):
            return str(f.read_text(encoding="utf-8"))
    return None


def _system_font(system: Sequence[Path]) -> Path | None:
    return next((p for p in system if p.is_file()), None)


def check(system: Sequence[Path] | None = None) -> None:
    """Raise ``FontMissing`` when no font can be had; cheap (converts nothing), for a page or a command to call
    before doing any work."""
    own = os.environ.get("EMPLOYMENT_PACK_FONT")
    if own:
        if not Path(own).is_file():
            raise FontMissing(
                f"the font {own} named by EMPLOYMENT_PACK_FONT is missing: point it at a TrueType font with "
                "Chinese glyphs, or unset it to use the shipped font"
            )
        return
    if source_path() is None and _system_font(SYSTEM_FONTS if system is None else system) is None:
        shipped_path()  # raises, naming the package


def font_path(system: Sequence[Path] | None = None) -> Path:
    """The TrueType file to embed (see the module's docstring for the order); ``FontMissing`` when none."""
    check(system)
    own = os.environ.get("EMPLOYMENT_PACK_FONT")
    if own:
        return Path(own)
    if source_path() is not None:
        return shipped_path()
    found = _system_font(SYSTEM_FONTS if system is None else system)
    assert found is not None  # check() said so
    return found


_registered: dict[str, str] = {}  # font file → ReportLab name


def register(system: Sequence[Path] | None = None) -> str:
    """Register the font with ReportLab (once per file) and return its name."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = str(font_path(system))
    if path in _registered:
        return _registered[path]
    name = f"{FONT}{len(_registered)}" if _registered else FONT
    pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
    for bold in (0, 1):
        for italic in (0, 1):
            addMapping(name, bold, italic, name)  # one weight: <b> and <i> keep the Chinese glyphs
    _registered[path] = name
    return name


def family() -> str:
    """The family name charts ask for: the one inside the font file in use."""
    from fontTools.ttLib import TTFont as Reader

    path = font_path()
    reader = Reader(str(path), fontNumber=0, lazy=True) if path.suffix.lower() == ".ttc" else None
    font = reader or Reader(str(path), lazy=True)
    return str(font["name"].getDebugName(1) or FAMILY)


def register_for_charts() -> str:
    """Let vl-convert find the same font for chart text (call before rendering a chart); returns the family."""
    import vl_convert

    vl_convert.register_font_directory(str(font_path().parent))
    return family()


def fontconfig_file(folder: Path, system: bool = True) -> Path:
    """Write ``folder/fonts.conf``, a fontconfig file that adds the shipped Chinese font (and, with ``system``,
    keeps the system's fonts); point ``FONTCONFIG_FILE`` at it so a headless browser draws Chinese on a machine
    with no CJK font. Without ``system`` only the shipped font is seen (a test of a fresh machine)."""
    from xml.sax.saxutils import escape

    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">',
        "<fontconfig>",
    ]
    if system:
        lines.append('  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>')
    shipped = source_dir()
    if shipped is not None:
        lines.append(f"  <dir>{escape(str(shipped))}</dir>")
    lines.append(f"  <cachedir>{escape(str(folder / 'cache'))}</cachedir>")
    for generic in ("sans-serif", "serif"):  # Chinese glyphs in the Simplified Chinese style, Latin unchanged
        lines.append(
            f"  <alias><family>{generic}</family><accept><family>{SOURCE_FACE}</family></accept></alias>"
        )
    lines.append("</fontconfig>")
    path = folder / "fonts.conf"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":  # ``python -m jobs.pack.fonts``: convert and cache the shipped font ahead of use
    print(font_path())
