"""Pinned calibration states: the manifest (model, canonical bytes, calibration id, schema),
pinning a state from a repository, and rebuilding its CIFs offline.

May import :mod:`reprocal.repo` and everything below it.
"""

from reprocal.state._manifest import (
    ExtraFile,
    ExtraSet,
    Generator,
    Manifest,
    PinnedFile,
    PinnedObservation,
    RecordedGap,
    V1ManifestNotice,
    load_manifest,
    loads,
    save_manifest,
    upgrade,
)
from reprocal.state._pin import ObsRequest, pin, pin_resolved
from reprocal.state._rebuild import RebuiltCif, rebuild

__all__ = [
    "ExtraFile", "ExtraSet", "Generator", "Manifest", "ObsRequest", "PinnedFile",
    "PinnedObservation", "RebuiltCif", "RecordedGap", "V1ManifestNotice", "load_manifest", "loads",
    "pin", "pin_resolved", "rebuild", "save_manifest", "upgrade",
]
