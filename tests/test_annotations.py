"""Every record class's annotations resolve at run time (``typing.get_type_hints``).

The API reference (``make docs``, autodoc) links each field's type. When one name of a class's
annotations is bound only under ``if TYPE_CHECKING:``, the whole class falls back to its
annotations as text, and Sphinx then looks each name up by its short form: ``VerifyReport`` is
both :class:`reprocal.repo.VerifyReport` and :class:`reprocal.image.VerifyReport`, and the docs
build fails (the CI failure this test was written for). ``make test`` catches it here first.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing

import pytest

import reprocal

SKIP = ("reprocal.__main__", "reprocal.demo")  # running them is the program, not a definition


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(reprocal.__path__, "reprocal.")
                  if not m.name.startswith(SKIP))


def test_the_walk_finds_the_house() -> None:
    found = _modules()
    assert {"reprocal.api._verify", "reprocal.fetch._engine", "reprocal.repo._verify"} <= set(found)


@pytest.mark.parametrize("name", _modules())
def test_record_annotations_resolve(name: str) -> None:
    module = importlib.import_module(name)
    unresolved = []
    for cls_name, cls in vars(module).items():
        if not (inspect.isclass(cls) and cls.__module__ == name):
            continue
        if not ("__attrs_attrs__" in vars(cls) or "__dataclass_fields__" in vars(cls)):
            continue
        try:
            typing.get_type_hints(cls)
        except NameError as exc:
            unresolved.append(f"{cls_name}: {exc} (import it at run time, not under TYPE_CHECKING)")
    assert not unresolved, unresolved
