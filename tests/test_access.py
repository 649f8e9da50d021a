"""Who may see what: login modes, roles, a planner's district filter applied in SQL, and the audit log."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from jobs import geo
from store import auth, schema
from store.db import make_engine
from tests.conftest import ROOT


def test_passwords_are_salted_scrypt_hashes() -> None:
    a, b = auth.hash_password("correct horse"), auth.hash_password("correct horse")
    assert a != b and a.startswith("scrypt$") and "correct" not in a
    assert auth.verify_password("correct horse", a) and not auth.verify_password("wrong", a)
    assert not auth.verify_password("x", None) and not auth.verify_password("x", "plain-text")


def _user(demo_url: str, role: str | None, district: str | None = None, password: str = "s3cret-pass") -> str:
    name = f"u_{uuid.uuid4().hex[:8]}"
    auth.add_user(make_engine(demo_url), name, role, password, district)
    return name


def _app(monkeypatch: pytest.MonkeyPatch, demo_url: str, mode: str) -> AppTest:
    monkeypatch.setenv("EMPLOYMENT_DB_URL", demo_url)
    monkeypatch.setenv("EMPLOYMENT_LANG", "en")
    monkeypatch.setenv("EMPLOYMENT_AUTH", mode)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)


def _login(at: AppTest, name: str, password: str) -> None:
    at.text_input(key="auth_username").input(name)
    at.text_input(key="auth_password").input(password)
    at.button[0].click().run()


def test_builtin_login_guards_every_page(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    name = _user(demo_url, "leader")
    at = _app(monkeypatch, demo_url, "builtin")
    at.run()
    assert not at.exception
    assert len(at.metric) == 0 and len(at.dataframe) == 0  # nothing shown before login
    assert at.text_input(key="auth_password") is not None
    _login(at, name, "wrong password")
    assert any("not right" in e.value for e in at.error) and len(at.metric) == 0
    _login(at, name, "s3cret-pass")
    assert not at.exception and len(at.metric) >= 3
    with make_engine(demo_url).connect() as conn:
        actions = {
            r.action
            for r in conn.execute(select(schema.audit_log).where(schema.audit_log.c.username == name))
        }
    assert {"failed_login", "login", "view"} <= actions


def test_a_user_without_a_role_sees_nothing(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    name = _user(demo_url, None)
    at = _app(monkeypatch, demo_url, "builtin")
    at.run()
    _login(at, name, "s3cret-pass")
    assert any("has no role" in e.value for e in at.error)
    assert len(at.metric) == 0 and len(at.dataframe) == 0


def test_planner_sees_only_own_district_even_through_the_url(
    monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    name = _user(demo_url, "planner", "420116")
    at = _app(monkeypatch, demo_url, "builtin")
    at.run()
    _login(at, name, "s3cret-pass")
    at.query_params["district"] = "420102"  # another district's drill-down asked for in the link
    at.switch_page("pages/targets.py").run()
    assert not at.exception
    shown = [df.value for df in at.dataframe]
    names = {v for df in shown for v in df.iloc[:, 1] if isinstance(v, str)}
    assert names, "the planner's own figures are shown"
    places = {n for n in names if any(w in n for w in ("District", "Township", "Street", "Subdistrict"))}
    assert places and all(n.startswith("Huangpi") for n in places), sorted(places)
    assert any("only see your own district" in i.value for i in at.info)  # fair comparison withheld


def test_sso_user_gets_the_role_from_the_user_table(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    email = f"{uuid.uuid4().hex[:6]}@bureau.example"
    auth.add_user(make_engine(demo_url), email, "analyst")
    at = _app(monkeypatch, demo_url, "oidc")
    at.user = {"is_logged_in": False}
    at.run()
    assert len(at.metric) == 0
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    at.run()
    assert not at.exception and len(at.metric) >= 3


def test_proxy_mode_refuses_requests_without_the_header(
    monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    monkeypatch.setenv("EMPLOYMENT_PROXY_SECRET", "x" * 40)  # set; without it: test_login_security
    at = _app(monkeypatch, demo_url, "proxy")
    at.run()
    assert any("authenticating proxy" in e.value for e in at.error)
    assert len(at.metric) == 0


def test_open_demo_mode_says_so(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    at = _app(monkeypatch, demo_url, "open")
    at.run()
    assert any("Open demo mode" in w.value for w in at.sidebar.warning)


def test_users_cli(demo_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from jobs.cli import main

    assert main(["users", "add", "bad", "--role", "planner", "--sso", "--url", demo_url]) == 2  # no district
    assert "needs --district" in capsys.readouterr().err
    assert (
        main(["users", "add", "p1", "--role", "planner", "--district", "420102", "--sso", "--url", demo_url])
        == 0
    )
    assert main(["users", "list", "--url", demo_url]) == 0
    assert "p1" in capsys.readouterr().out


def test_admins_see_the_audit_log_and_others_do_not(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    admin = _user(demo_url, "admin")
    at = _app(monkeypatch, demo_url, "builtin")
    at.run()
    _login(at, admin, "s3cret-pass")
    at.switch_page("pages/data.py").run()
    log = next(df.value for df in at.dataframe if "Action" in df.value.columns)
    assert {"login", "view"} <= set(log.loc[log["User"] == admin, "Action"])
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", "leader")
    leader = _app(monkeypatch, demo_url, "open")
    leader.run()
    leader.switch_page("pages/data.py").run()
    assert not any("Action" in df.value.columns for df in leader.dataframe)


OTHER_DISTRICTS = [
    "Jianghan",
    "Qiaokou",
    "Hanyang",
    "Wuchang",
    "Qingshan",
    "Hongshan",
    "Dongxihu",
    "Hannan",
    "Caidian",
    "Jiangxia",
    "Huangpi",
    "Xinzhou",
]
PAGES = ["overview", "targets", "funds", "service_circle", "forecasts", "explore", "pack", "data"]


@pytest.mark.parametrize("page", PAGES)
def test_a_planner_never_sees_another_district(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, page: str
) -> None:
    """Open mode as a Jiang'an planner; links ask for Huangpi everywhere; no other district's figures show."""
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", "planner")
    monkeypatch.setenv("EMPLOYMENT_OPEN_DISTRICT", "420102")
    at = _app(monkeypatch, demo_url, "open")
    at.run()
    for key in ("district", "area"):
        at.query_params[key] = "420116"
    at.query_params["districts"] = "420116,420111"
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown: list[str] = []
    for df in at.dataframe:
        frame = df.value
        shown += [str(v) for col in frame.columns for v in frame[col].tolist()]
        shown += [str(c) for c in frame.columns]
    shown += [m.value for m in at.markdown] + [m.label for m in at.metric] + [h.value for h in at.header]
    leaked = sorted({name for name in OTHER_DISTRICTS for text in shown if name in text})
    assert leaked == [], (page, leaked)


# --- every element, every download, every URL parameter and selection (issue #8) ---------------------------

CODES = dict(geo.NAMES_EN)  # every district, by code: none but the planner's may appear
OWN, OTHER = "420102", "420116"
# pages with figures for a planner, and how many downloads they offer at least
PLANNER_CONTENT = {"overview": 0, "targets": 2, "service_circle": 1, "forecasts": 0, "explore": 2}


def _element_bytes(at: AppTest) -> bytes:
    """Every element the page sent (tables as Arrow, charts' data and specs, maps' JSON with their tooltips,
    widgets with their options), serialised: whatever reaches the browser."""
    out: list[bytes] = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and type(node).__name__ != "Toast":  # a toast echoes the link's own bad value
            out.append(proto.SerializeToString())
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return b"\n".join(out)


def _payload_text(data: object) -> str:
    """A download's content as text (CSV, Excel cells, PDF text)."""
    raw = data() if callable(data) else data
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, bytes):
        return str(raw)
    if raw[:2] == b"PK":
        from io import BytesIO

        from openpyxl import load_workbook

        book = load_workbook(BytesIO(raw), read_only=True)
        return "\n".join(
            " ".join(str(v) for v in row if v is not None) for ws in book.worksheets for row in ws.values
        )
    if raw[:4] == b"%PDF":
        import subprocess

        done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=raw, capture_output=True, check=True)
        return done.stdout.decode("utf-8")
    return raw.decode("utf-8-sig", errors="replace")


@pytest.fixture()
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every download button a page offers, with its payload built as if it were clicked."""
    import streamlit
    from streamlit.delta_generator import DeltaGenerator

    got: list[tuple[str, str]] = []
    real = DeltaGenerator.download_button

    def spy(self: DeltaGenerator, label: str, data: object = None, *args: object, **kwargs: object) -> object:
        got.append((str(kwargs.get("file_name") or label), _payload_text(data)))
        return real(self, label, data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    monkeypatch.setattr(streamlit, "download_button", lambda *a, **k: spy(streamlit._main, *a, **k))
    return got


def _others(text: str | bytes, own: str) -> list[str]:
    """Other districts' codes (also as street-code prefixes) and names found in ``text``."""
    blob = text if isinstance(text, bytes) else text.encode("utf-8")
    return sorted(
        {
            f"{code}/{name}"
            for code, name in CODES.items()
            if code != own and (code.encode() in blob or name.encode() in blob)
        }
    )


@pytest.mark.parametrize("page", PAGES)
def test_a_planner_gets_nothing_of_another_district_anywhere(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, page: str, downloads: list[tuple[str, str]]
) -> None:
    """A Jiang'an planner; every URL parameter names Huangpi, and the selection state (what a click on a table
    row or a map sets) names Huangpi too: no element, chart, map tooltip or download holds another district."""
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", "planner")
    monkeypatch.setenv("EMPLOYMENT_OPEN_DISTRICT", OWN)
    at = _app(monkeypatch, demo_url, "open")
    at.run()
    for key in ("district", "area", "quarter_district", "drill"):
        at.query_params[key] = OTHER
    at.query_params["districts"] = f"{OTHER},420111"
    at.session_state["district"] = OTHER  # what a click on a ranking row or a map polygon sets
    at.session_state["_url_district"] = OTHER  # as if the URL had already been synced to it
    at.session_state["area"] = OTHER
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    blob = _element_bytes(at)
    leaked = _others(blob, OWN)
    assert leaked == [], (page, "elements", leaked)
    for name, text in downloads:
        assert _others(text, OWN) == [], (page, name, _others(text, OWN))
    if page in PLANNER_CONTENT:  # the scan is not vacuous: the planner's own district is there, downloads too
        assert CODES[OWN].encode() in blob or OWN.encode() in blob, page
        assert len(downloads) >= PLANNER_CONTENT[page], (page, [n for n, _ in downloads])


PERSON_COLUMNS = (
    "person_id",
    "birth_year",
    "payment_id",
    "loan_id",
    "spell_id",
    "response_id",
    "training_id",
)


def _copy(demo_url: str, dest: Path) -> str:
    import sqlite3

    src, dst = sqlite3.connect(demo_url.split("///", 1)[1]), sqlite3.connect(dest)
    src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{dest}"


def test_an_analyst_gets_no_person_level_export_anywhere(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, tmp_path: Path, downloads: list[tuple[str, str]]
) -> None:
    """Every page and download an analyst can reach: aggregates only. A replaced person record from an import
    (the Data page's history) is listed for administrators, never for an analyst."""
    from datetime import datetime

    from sqlalchemy import insert

    url = _copy(demo_url, tmp_path / "copy.sqlite")
    engine = make_engine(url)
    with engine.begin() as conn:
        load = conn.execute(select(schema.data_load.c.load_id).limit(1)).scalar_one()
        conn.execute(
            insert(schema.data_change).values(
                load_id=load,
                table_name="person",
                row_key='{"person_id": 424242}',
                previous_json='{"birth_year": 1980}',
                new_json='{"birth_year": 1981}',
                changed_at=datetime(2026, 11, 1),
                changed_by="importer",
            )
        )
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", "analyst")
    at = _app(monkeypatch, url, "open")
    at.run()
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        blob = _element_bytes(at)
        assert b"424242" not in blob, page
        for name, text in downloads:
            assert not [c for c in PERSON_COLUMNS if c in text], (page, name)
    assert len(downloads) >= 5  # the pages' CSV / Excel / PDF downloads were all built and read
    admin = _app(monkeypatch, url, "open")
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", "admin")
    admin.run()
    admin.switch_page("pages/data.py").run()
    assert b"424242" in _element_bytes(admin)  # the administrator checking the import does see it


@pytest.mark.parametrize("page", PAGES)
def test_a_user_without_a_role_gets_nothing_on_any_page(
    monkeypatch: pytest.MonkeyPatch, demo_url: str, page: str, downloads: list[tuple[str, str]]
) -> None:
    name = _user(demo_url, None)
    at = _app(monkeypatch, demo_url, "builtin")
    at.run()
    _login(at, name, "s3cret-pass")
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    assert any("has no role" in e.value for e in at.error), page
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and not downloads
    assert not at.get("arrow_vega_lite_chart") and not at.get("deck_gl_json_chart")
    assert not _others(_element_bytes(at), "")  # not a single district's name or code


def test_a_planner_gets_their_own_overview(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    """Tailored, not refused: the planner's overview tiles are their district's figures, with its rank among
    every district computed independently here, and no other district named."""
    import pandas as pd

    from privacy import protect
    from queries import targets

    raw = targets.attainment(make_engine(demo_url), 2026, 10)
    une = raw[raw["indicator_code"] == "urban_new_employment"].copy()
    une["mine"] = (une["actual"] / une["target"]).rank(ascending=False, method="min")
    own = une[une["area_code"] == OWN].iloc[0]
    shown = protect(raw, 10, targets.attainment.sensitive)  # type: ignore[attr-defined]
    own_shown = shown[(shown["area_code"] == OWN) & (shown["indicator_code"] == "urban_new_employment")].iloc[
        0
    ]
    monkeypatch.setenv("EMPLOYMENT_OPEN_ROLE", "planner")
    monkeypatch.setenv("EMPLOYMENT_OPEN_DISTRICT", OWN)
    at = _app(monkeypatch, demo_url, "open")
    at.run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Your district's rank on urban new employment"] == f"{int(own['mine'])} / 13"
    expected = "—" if pd.isna(own_shown["actual"]) else f"{own_shown['actual']:,.0f}"
    assert metrics["Urban new employment"] == expected
    assert "Districts behind on urban new employment" not in metrics  # the city-wide tile is not shown
    assert _others(_element_bytes(at), OWN) == []
