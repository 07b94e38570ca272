"""reprocal: reproducible XMM-Newton calibration.

Pin a calibration state (observation date, analysis date, exact constituents by sha256), rebuild
its CIF offline exactly as cifbuild would, verify a local repository holds those bytes, fetch the
gaps from mirrors, package it as a reproducible container image, and record and audit which
calibration produced a result.

The Python API mirrors the CLI; heavy or optional dependencies (docker, gitpython) are imported
lazily by the modules that need them, so ``import reprocal`` works anywhere.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("reprocal")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

from .constituent import Constituent, read_constituent
from .dates import CalDate
from .errors import ReprocalError
from .names import ConstituentName
from .repository import Repository
from .select import Rule, Selection, Selector, select

__all__ = [
    "CalDate",
    "Constituent",
    "ConstituentName",
    "ReprocalError",
    "Repository",
    "Rule",
    "Selection",
    "Selector",
    "__version__",
    "read_constituent",
    "select",
]
