"""The module names of reprocal 0.1 (a flat package), kept importable for one minor release.

``import reprocal.pin`` and ``from reprocal.dates import CalDate`` still work: each old name is a
thin module that re-exports the public names of its new home and warns (``DeprecationWarning``)
where to import them from now. Names that are now subpackages (``reprocal.fetch``,
``reprocal.image``, ``reprocal.provenance``, ``reprocal.audit``, ``reprocal.bundle``) need no
alias: the subpackage exports what the module did.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types
import warnings

MOVED: dict[str, str] = {
    "dates": "reprocal.core", "names": "reprocal.core", "constituent": "reprocal.core",
    "select": "reprocal.core", "drift": "reprocal.core",
    "calindex": "reprocal.fits", "fitscheck": "reprocal.fits", "odf": "reprocal.fits",
    "stamp": "reprocal.fits",
    "atomic": "reprocal.fs", "hashing": "reprocal.fs",
    "catalog": "reprocal.repo", "resolve": "reprocal.repo", "repository": "reprocal.repo",
    "verify": "reprocal.repo", "verifycache": "reprocal.repo", "repocheck": "reprocal.repo",
    "manifest": "reprocal.state", "pin": "reprocal.state", "rebuild": "reprocal.state",
    "mirrors": "reprocal.fetch", "transports": "reprocal.fetch", "fetchplan": "reprocal.fetch",
    "fetchscript": "reprocal.fetch",
    "imagetar": "reprocal.image", "imageverify": "reprocal.image", "registry": "reprocal.image",
    "run": "reprocal.provenance", "runimage": "reprocal.provenance",
    "diff": "reprocal.audit", "impact": "reprocal.audit", "product": "reprocal.audit",
    "bundleverify": "reprocal.bundle",
    "synthetic": "reprocal.testing",
}
"""Old module (``reprocal.<key>``) -> the subpackage that now exports its public names."""


class _Finder:
    """A meta path finder and loader for the old names (duck-typed: ``importlib.abc`` costs
    a quarter of ``reprocal --version``, importing ``importlib.resources``)."""

    def find_spec(self, fullname: str, path: object, target: object = None
                  ) -> importlib.machinery.ModuleSpec | None:
        prefix, _, old = fullname.partition(".")
        if prefix != "reprocal" or old not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)  # type: ignore[arg-type]

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        new = MOVED[module.__name__.partition(".")[2]]
        warnings.warn(f"{module.__name__} is deprecated: import from {new} (reprocal 0.2 laid the "
                      "package out by pipeline stage)", DeprecationWarning, stacklevel=2)
        target = importlib.import_module(new)
        module.__dict__.update({n: getattr(target, n) for n in target.__all__})
        module.__all__ = list(target.__all__)  # type: ignore[attr-defined]


class _Package(types.ModuleType):
    """The ``reprocal`` package module: importing an old module name must not bind a function
    of the same name (``reprocal.pin``, ``reprocal.select``, loaded or not yet) to the alias
    module, as the import system otherwise does for every submodule it loads."""

    def __setattr__(self, name: str, value: object) -> None:
        if (name in MOVED and isinstance(value, types.ModuleType)
                and isinstance(value.__spec__.loader, _Finder)  # type: ignore[union-attr]
                and (name in self.__dict__ or name in self.__dict__.get("__all__", ()))):
            return
        super().__setattr__(name, value)


_FINDER = _Finder()


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    sys.modules["reprocal"].__class__ = _Package
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
