"""reprocal: reproducible XMM-Newton calibration.

Pin a calibration state (observation date, analysis date, exact constituents by sha256), rebuild
its CIF offline exactly as cifbuild would, verify a local repository holds those bytes, fetch the
gaps from mirrors, package it as a reproducible container image, and record and audit which
calibration produced a result.

The package is laid out in the order of that pipeline; each stage is a subpackage whose
``__all__`` is its public API:

==================  ===============================================================================
``core``            dates, constituent names and attributes, the selection rule, drift (pure)
``fs``              atomic writes, streaming sha256
``fits``            constituent headers, CALINDEX tables, FITS checksums, ODF summaries, stamping
``repo``            directories, the catalogue, resolution, verifying a repository's bytes
``state``           manifests, pinning, offline rebuild
``fetch``           mirrors, transports, the fetch engine
``image``           reproducible OCI/Docker images, verification, daemon, registries
``provenance``      in-toto/SLSA records, recorded runs
``audit``           judging a product's calibration, diffs, reverse impact
``report``          timelines, calview-like plots, release notes, citations, HTML pages
``bundle``          paper bundles
``testing``         synthetic repositories (tests, demo, benchmarks)
``api``             one function per command, the same result as the CLI's (the notebook's door)
``cli``             the ``reprocal`` command, a thin shell over ``api``
==================  ===============================================================================

The names most used in a notebook are re-exported here, imported when first used (so
``import reprocal`` and ``reprocal --version`` cost almost nothing). Heavy or optional
dependencies (astropy, docker, gitpython) are imported by the modules that need them, when they
need them.
"""

from typing import TYPE_CHECKING

from reprocal import _compat
from reprocal._lazy import exports
from reprocal._version import __version__

_EXPORTS = {
    "CalDate": "reprocal.core._dates",
    "Constituent": "reprocal.core._constituent",
    "ConstituentName": "reprocal.core._names",
    "Manifest": "reprocal.state._manifest",
    "ObsRequest": "reprocal.state._pin",
    "ReprocalError": "reprocal.errors",
    "Repository": "reprocal.repo._repository",
    "Rule": "reprocal.core._select",
    "Selection": "reprocal.core._select",
    "Selector": "reprocal.core._select",
    "load_manifest": "reprocal.state._manifest",
    "pin": "reprocal.state._pin",
    "read_constituent": "reprocal.fits._headers",
    "save_manifest": "reprocal.state._manifest",
    "select": "reprocal.core._select",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reprocal.core import CalDate, Constituent, ConstituentName, Rule, Selection, Selector, select
    from reprocal.errors import ReprocalError
    from reprocal.fits import read_constituent
    from reprocal.repo import Repository
    from reprocal.state import Manifest, ObsRequest, load_manifest, pin, save_manifest

_compat.install()

__all__ = [
    "CalDate",
    "Constituent",
    "ConstituentName",
    "Manifest",
    "ObsRequest",
    "ReprocalError",
    "Repository",
    "Rule",
    "Selection",
    "Selector",
    "__version__",
    "load_manifest",
    "pin",
    "read_constituent",
    "save_manifest",
    "select",
]
