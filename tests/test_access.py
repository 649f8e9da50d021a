"""Who may see what: login modes, roles, a planner's district filter applied in SQL, and the audit log."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from bureau import auth, schema
from bureau.db import make_engine
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
    assert all(n.startswith("Huangpi") for n in names), names
    assert any("only see your own district" in i.value for i in at.info)  # fair comparison withheld


def test_sso_user_gets_the_role_from_the_user_table(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    email = f"{uuid.uuid4().hex[:6]}@bureau.example"
    auth.add_user(make_engine(demo_url), email, "analyst")
    at = _app(monkeypatch, demo_url, "oidc")
    at.user = {"is_logged_in": False}
    at.run()
    assert len(at.metric) == 0
    at.user = {"is_logged_in": True, "email": email}
    at.run()
    assert not at.exception and len(at.metric) >= 3


def test_proxy_mode_refuses_requests_without_the_header(
    monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    at = _app(monkeypatch, demo_url, "proxy")
    at.run()
    assert any("authenticating proxy" in e.value for e in at.error)
    assert len(at.metric) == 0


def test_open_demo_mode_says_so(monkeypatch: pytest.MonkeyPatch, demo_url: str) -> None:
    at = _app(monkeypatch, demo_url, "open")
    at.run()
    assert any("Open demo mode" in w.value for w in at.sidebar.warning)


def test_users_cli(demo_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from bureau.cli import main

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
