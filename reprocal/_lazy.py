"""Lazy re-exports: a package's public names, each imported from its module when first used.

``import reprocal`` and ``import reprocal.api`` then cost almost nothing, so ``reprocal
--version`` and ``reprocal pin --help`` do not import the whole pipeline (PEP 562)::

    __getattr__, __dir__ = exports(__name__, {"pin": "reprocal.api._pin", ...})

The package also imports the same names under ``if TYPE_CHECKING:``, for type checkers.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def exports(package: str, table: Mapping[str, str]) -> tuple[Callable[[str], object],
                                                            Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``name`` comes from module ``table[name]``
    and is cached in the package, so each name is looked up once."""

    def __getattr__(name: str) -> object:
        try:
            module = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *table})

    return __getattr__, __dir__


__all__ = ["exports"]
