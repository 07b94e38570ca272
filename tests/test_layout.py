"""The tests mirror the package: ``tests/<stage>/`` for each stage subpackage ``reprocal/<stage>/``
and for nothing else but the suites named in :data:`SUITES`; tests of the top-level modules sit
in ``tests/`` itself, helpers in ``tests/support/``."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELPERS = "support"
SUITES = {"adversarial": "hostile inputs for every stage, run in a memory-limited worker"}
"""Test directories that cut across the stages on purpose, each with why."""


def stages(package: Path) -> set[str]:
    """The stage subpackages: directories of the package with an ``__init__.py``."""
    return {p.parent.name for p in package.glob("*/__init__.py")}


def untested_stages(package: Path, tests: Path) -> list[str]:
    """Stages with no ``tests/<stage>/test_*.py``, as messages."""
    tested = {p.parent.name for p in tests.glob("*/test_*.py")}
    return [f"reprocal/{s}/ has no tests/{s}/test_*.py" for s in sorted(stages(package) - tested)]


def misplaced_tests(package: Path, tests: Path) -> list[str]:
    """Test modules that are not in ``tests/``, directly in ``tests/<stage>/`` of a stage that
    exists or in one of the :data:`SUITES` (``tests/support/`` holds helpers, no tests), as
    messages."""
    known = stages(package)
    out = []
    for p in sorted(p.relative_to(tests) for p in tests.rglob("test_*.py")):
        if len(p.parts) == 1:
            continue
        if len(p.parts) > 2:
            out.append(f"tests/{p}: test modules sit directly in tests/<stage>/")
        elif p.parts[0] == HELPERS:
            out.append(f"tests/{p}: tests/{HELPERS}/ holds helpers, not tests")
        elif p.parts[0] not in known and p.parts[0] not in SUITES:
            out.append(f"tests/{p}: there is no stage reprocal/{p.parts[0]}/")
    return out


def test_every_stage_has_its_tests_directory() -> None:
    """Each ``reprocal/<stage>/`` has a ``tests/<stage>/`` holding at least one test module."""
    assert untested_stages(ROOT / "reprocal", ROOT / "tests") == []


def test_every_test_directory_is_a_stage() -> None:
    """Each test module under a subdirectory of ``tests/`` tests a stage that exists."""
    assert misplaced_tests(ROOT / "reprocal", ROOT / "tests") == []


def test_the_layout_rules_see_what_breaks_them(tmp_path: Path) -> None:
    """A stage without tests, tests of a stage that is gone, a test among the helpers and one
    nested too deep are each named; package data and top-level test modules are not stages, and
    a named suite is not misplaced."""
    package, tests = tmp_path / "reprocal", tmp_path / "tests"
    for stage in ("core", "repo", "fits"):
        (package / stage).mkdir(parents=True)
        (package / stage / "__init__.py").touch()
    (package / "data").mkdir()
    for test in ("core/test_names.py", "fits/test_stamp.py", "gone/test_old.py", "test_top.py",
                 "adversarial/test_hostile.py",
                 "support/test_helper.py", "fits/deep/test_deep.py", "repo/helpers.py"):
        (tests / test).parent.mkdir(parents=True, exist_ok=True)
        (tests / test).touch()
    assert untested_stages(package, tests) == ["reprocal/repo/ has no tests/repo/test_*.py"]
    assert misplaced_tests(package, tests) == [
        "tests/fits/deep/test_deep.py: test modules sit directly in tests/<stage>/",
        "tests/gone/test_old.py: there is no stage reprocal/gone/",
        "tests/support/test_helper.py: tests/support/ holds helpers, not tests",
    ]
