"""Page styling every page shares (issue #19): a print stylesheet (no sidebar, no cut tables, A4 landscape), a
tablet layout (1024 px: filters wrap instead of being squeezed to "2(" and "1"), the upload box's English
chrome replaced in Chinese, and tables as tall as their rows (no inner scroll box, on screen or on paper).

Streamlit's own UI text cannot be translated; where it shows on a page a leader uses, it is hidden with CSS and
the app's own words are put in its place.
"""

from __future__ import annotations

import streamlit as st

from i18n import t

ROW_PX = 35  # st.dataframe's row height

PRINT_CSS = """
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
  [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
  [data-testid="stDownloadButton"], [data-testid="stFileUploader"], [data-testid="stElementToolbar"],
  [data-testid="stBaseButton-header"], .stDownloadButton { display: none !important; }
  [data-testid="stAppViewContainer"], [data-testid="stMain"], [data-testid="stMainBlockContainer"],
  .block-container { max-width: 100% !important; width: 100% !important; padding: 0 !important;
    margin: 0 !important; overflow: visible !important; }
  [data-testid="stDataFrame"], [data-testid="stDataFrameResizable"], [data-testid="stTable"] {
    height: auto !important; max-height: none !important; overflow: visible !important; }
  [data-testid="stElementContainer"], [data-testid="stDataFrame"], [data-testid="stVegaLiteChart"],
  [data-testid="stDeckGlJsonChart"], table, tr { break-inside: avoid; page-break-inside: avoid; }
  [data-testid="stExpander"] details > div { display: block !important; }
}
"""

TABLET_CSS = """
@media (max-width: 1280px) {
  /* filters: a row of boxes wraps onto two lines instead of squeezing each box below its text */
  [data-testid="stHorizontalBlock"] { flex-wrap: wrap !important; row-gap: 0.5rem; }
  [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] { min-width: 160px !important; }
  [data-testid="stMainBlockContainer"] { padding-left: 1.5rem; padding-right: 1.5rem; }
}
/* a tile's label, change and links wrap instead of ending in "…" on a narrow column */
[data-testid="stMetricDelta"] > div, [data-testid="stMetricLabel"] p, [data-testid="stMetricLabel"] div,
[data-testid="stPageLink"] p, [data-testid="stPageLink-NavLink"] span {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
[data-testid="stMetricDelta"] { height: auto !important; }
"""


def upload_css(lang: str) -> str:
    """The upload box in the reader's language: Streamlit's "Drag and drop files here", "Limit 200MB per file"
    and "Browse files"/"Upload" hidden, the catalogue's words shown instead (Chinese only; English keeps them)."""
    if lang != "zh":
        return ""
    drop, button = t("upload_drop", lang), t("upload_browse", lang)
    return f"""
[data-testid="stFileUploaderDropzoneInstructions"] span,
[data-testid="stFileUploaderDropzoneInstructions"] small {{ display: none !important; }}
[data-testid="stFileUploaderDropzoneInstructions"] > div::after {{ content: "{drop}"; font-size: 0.9rem; }}
[data-testid="stFileUploaderDropzone"] button {{ font-size: 0 !important; }}
[data-testid="stFileUploaderDropzone"] button::after {{ content: "{button}"; font-size: 0.875rem; }}
[data-testid="stFileUploaderDropzone"] button svg, [data-testid="stFileUploaderDropzone"] button span
  {{ display: none !important; }}
"""


def stylesheet(lang: str) -> str:
    return PRINT_CSS + TABLET_CSS + upload_css(lang)


def inject(lang: str) -> None:
    """Put the shared stylesheet on the page, in the sidebar: a style-only ``st.html`` would go to the event
    container, which a page switch clears; the empty span keeps it an element of its own (no visible room)."""
    st.sidebar.html(f'<span class="bureau-style"></span><style>{stylesheet(lang)}</style>')


def full_height(rows: int) -> int:
    """A ``st.dataframe`` height that shows every row (header included): no inner scroll box, nothing cut
    when printed."""
    return ROW_PX * (max(rows, 1) + 1) + 3
