"""The layers and their arrows (docs/architecture.md), enforced on the source: every import of a project package
by another, at module level or inside a function, must point downward.

    app.py, pages/, ui/  →  jobs/ (writes) and figures/  →  queries/ and the computation packages  →  store/

``i18n`` (the message catalogue) is a leaf every layer may read. Nothing below ``ui`` imports Streamlit.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import ROOT

COMPUTATION = {"forecasting", "service_circle", "scoring", "privacy", "adjustment"}
# package → the project packages it may import
ALLOWED: dict[str, set[str]] = {
    "app": {"pages", "ui", "jobs", "figures", "queries", "store", "i18n"},
    "pages": {"ui", "jobs", "figures", "queries", "store", "i18n", *COMPUTATION},
    "ui": {"jobs", "figures", "queries", "store", "i18n", *COMPUTATION},
    "jobs": {"figures", "queries", "store", "i18n", *COMPUTATION},
    "figures": {"queries", "store", "i18n", *COMPUTATION},
    "queries": {"store"},
    "forecasting": set(),
    "service_circle": set(),
    "scoring": set(),
    "adjustment": set(),
    "privacy": {"store"},
    "store": set(),
    "i18n": set(),
}
STREAMLIT_ALLOWED = {"app", "pages", "ui"}


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _sources() -> list[Path]:
    found = [ROOT / "app.py"]
    for package in ALLOWED:
        if (ROOT / package).is_dir():
            found += sorted((ROOT / package).rglob("*.py"))
    return found


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def _edges() -> dict[str, dict[str, list[str]]]:
    """package → imported project package → where (file:line)."""
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in _sources():
        own = _package(path)
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top in ALLOWED and top != own and top != "app":
                edges[own][top].append(f"{path.relative_to(ROOT)}:{line}")
    return edges


def test_every_package_has_a_layer() -> None:
    """A new top-level package must be placed in a layer here before it may be imported."""
    skip = {"tests", "bench", "docs", "deploy", "data", "build"}
    packages = {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in skip and not p.name.startswith(".")
    }
    assert packages <= set(ALLOWED), sorted(packages - set(ALLOWED))


def test_the_old_bureau_package_is_gone() -> None:
    left = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bureau").rglob("*.py"))
    assert not left, f"bureau/ was split into store/ and jobs/ (docs/architecture.md): {left}"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_arrows_point_downward(package: str) -> None:
    wrong = {
        target: where for target, where in _edges().get(package, {}).items() if target not in ALLOWED[package]
    }
    assert not wrong, f"{package} may not import {sorted(wrong)}: {wrong}"


def test_no_package_cycles() -> None:
    graph = {pkg: set(targets) for pkg, targets in _edges().items()}
    seen: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if seen.get(nxt) == 1:
                raise AssertionError("import cycle: " + " → ".join([*stack, node, nxt]))
            if nxt not in seen:
                visit(nxt, [*stack, node])
        seen[node] = 2

    for pkg in sorted(graph):
        if pkg not in seen:
            visit(pkg, [])
    assert graph and all(state == 2 for state in seen.values())  # every package visited, no cycle met


def test_nothing_below_ui_imports_streamlit() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources()
        if _package(path) not in STREAMLIT_ALLOWED
        for line, module in _imports(path)
        if module.split(".")[0] == "streamlit"
    ]
    assert not found, found


def test_pages_write_no_sql() -> None:
    """Pages read through queries/ and figures/: no SQLAlchemy statement is built there (catching its errors
    is fine)."""
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _sources()
        if _package(path) in {"app", "pages"}
        for line, module in _imports(path)
        if module.split(".")[0] == "sqlalchemy" and module != "sqlalchemy.exc"
    ]
    assert not found, found


def test_pages_are_short() -> None:
    """A page reads like its description: at most 500 lines (split sections into ui/ or figures/)."""
    long = {
        str(p.relative_to(ROOT)): n
        for p in sorted((ROOT / "pages").glob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert not long, long
