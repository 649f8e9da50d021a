"""The Chinese font of the PDF pack: Debian's ``fonts-wqy-microhei`` (TrueType outlines, which ReportLab embeds).

``EMPLOYMENT_PACK_FONT`` may point at another TrueType file or collection (index 0 is used). A missing font is an
error with the package to install, never a PDF full of empty boxes.
"""

from __future__ import annotations

import os
from pathlib import Path

WQY_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FONT = "WQY"
PACKAGE = "fonts-wqy-microhei"
FAMILY = "WenQuanYi Micro Hei"  # the family name charts (vl-convert) ask for


class FontMissing(RuntimeError):
    """The Chinese TrueType font is not installed."""


def font_path() -> Path:
    """The TrueType file to embed; ``FontMissing`` (naming the Debian package) when it is absent."""
    path = Path(os.environ.get("EMPLOYMENT_PACK_FONT") or WQY_PATH)
    if not path.is_file():
        raise FontMissing(
            f"the Chinese font {path} is missing: install Debian's {PACKAGE} package "
            f"(apt-get install {PACKAGE}) or set EMPLOYMENT_PACK_FONT to a TrueType font with Chinese glyphs"
        )
    return path


def register() -> str:
    """Register the font with ReportLab (once) and return its name."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    pdfmetrics.registerFont(TTFont(FONT, str(font_path()), subfontIndex=0))
    for bold in (0, 1):
        for italic in (0, 1):
            addMapping(FONT, bold, italic, FONT)  # one weight: <b> and <i> keep the Chinese glyphs
    return FONT


def register_for_charts() -> None:
    """Let vl-convert find the same font for chart text (call before rendering a chart)."""
    import vl_convert

    vl_convert.register_font_directory(str(font_path().parent))
