"""The employment bureau dashboard: routing, language and the frame shared by every page."""

from pathlib import Path

import streamlit as st

from i18n import t
from store.config import settings
from ui.common import NAVIGATION, url_widget
from ui.layout import inject

st.set_page_config(
    page_title="就业局驾驶舱 · Employment bureau",
    page_icon=str(Path(__file__).parent / "ui" / "favicon.png"),
    layout="wide",
)

with st.sidebar:
    # ?lang= carries the code (zh, en), not the display name: a link with ?lang=en opens in English.
    url_widget(
        st.selectbox,
        "语言 / Language",
        ["zh", "en"],
        key="lang",
        default=settings().language,
        format_func=lambda v: {"zh": "中文", "en": "English"}[v],
    )
lang = st.session_state.get("lang") or settings().language
inject(lang)  # print stylesheet, tablet layout, the upload box in Chinese

PAGES = [
    ("pages/overview.py", "page_overview", ":material/dashboard:"),
    ("pages/targets.py", "page_targets", ":material/flag:"),
    ("pages/funds.py", "page_funds", ":material/account_balance:"),
    ("pages/service_circle.py", "page_circle", ":material/share_location:"),
    ("pages/forecasts.py", "page_forecasts", ":material/trending_up:"),
    ("pages/explore.py", "page_explore", ":material/query_stats:"),
    ("pages/pack.py", "page_pack", ":material/picture_as_pdf:"),
    ("pages/data.py", "page_data", ":material/database:"),
]
nav = st.navigation(
    [
        st.Page(path, title=t(key, lang), icon=icon, default=(i == 0), url_path=path[6:-3])
        for i, (path, key, icon) in enumerate(PAGES)
    ]
)
NAVIGATION["active"] = True
nav.run()
