"""Every package that exports lazily (:mod:`reprocal._lazy`) lists each public name three times,
and the three agree: ``__all__`` (plus what the package binds at import), the table
``_EXPORTS`` (name -> the module defining it), and the ``if TYPE_CHECKING:`` imports type
checkers read (the same object). Each name loads from its module."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAZY = sorted(
    ".".join(p.relative_to(ROOT).parent.parts)
    for p in (ROOT / "reprocal").rglob("__init__.py")
    if "_EXPORTS" in p.read_text()
)


def _typed(package: str) -> dict[str, str]:
    """Name -> module of the ``TYPE_CHECKING`` imports of ``package``'s ``__init__.py``."""
    path = ROOT / Path(*package.split(".")) / "__init__.py"
    out: dict[str, str] = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in ast.walk(node):
                if isinstance(imp, ast.ImportFrom) and imp.module:
                    out.update({a.asname or a.name: imp.module for a in imp.names})
    return out


def test_the_lazy_packages_are_found() -> None:
    assert {"reprocal", "reprocal.api", "reprocal.core", "reprocal.repo", "reprocal.state"} <= set(LAZY)


@pytest.mark.parametrize("package", LAZY)
def test_all_table_and_typed_imports_agree(package: str) -> None:
    module = importlib.import_module(package)
    table, typed = module._EXPORTS, _typed(package)
    eager = set(module.__all__) - set(table)  # bound at import (the root's __version__)
    assert all(name in vars(module) for name in eager), eager
    assert set(module.__all__) >= set(table) and set(typed) == set(table)
    for name, home in table.items():
        value = getattr(module, name)
        assert value is getattr(importlib.import_module(home), name)
        assert value is getattr(importlib.import_module(typed[name]), name)
