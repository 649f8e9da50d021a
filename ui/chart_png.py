"""A chart as a PNG a leader can paste into a report (issue #19): rendered offline by vl-convert with the shipped
Chinese font, handed out through the audited download button (ui/downloads.py)."""

from __future__ import annotations

from datetime import datetime

import altair as alt

from i18n import t
from ui.downloads import download_button

WIDTH = 900  # a chart drawn "stretch" on the page has no width of its own


def png_bytes(chart: alt.TopLevelMixin, width: int = WIDTH) -> bytes:
    """The chart as a PNG (twice the pixels, for print), with the shipped Chinese font."""
    import vl_convert

    from jobs.pack import fonts

    family = fonts.register_for_charts()
    spec = chart.properties(width=width).configure(font=family).to_dict()
    return bytes(vl_convert.vegalite_to_png(spec, scale=2))


def png_button(chart: alt.TopLevelMixin, name: str, key: str, lang: str) -> None:
    """A "download the chart as a picture" button; the PNG is drawn only when clicked."""
    download_button(
        t("download_png", lang),
        lambda: png_bytes(chart),
        file_name=f"{name}-{datetime.now():%Y%m%d}.png",
        mime="image/png",
        key=key,
        export=f"png:{name}",
        icon=":material/image:",
    )
