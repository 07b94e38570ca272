"""Pinned calibration states: the manifest (model, canonical bytes, calibration id, schema),
pinning a state from a repository, and rebuilding its CIFs offline.

May import :mod:`reprocal.repo` and everything below it.
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "ExtraFile": "reprocal.state._manifest",
    "ExtraSet": "reprocal.state._manifest",
    "Generator": "reprocal.state._manifest",
    "Manifest": "reprocal.state._manifest",
    "ObsRequest": "reprocal.state._pin",
    "PinnedFile": "reprocal.state._manifest",
    "PinnedObservation": "reprocal.state._manifest",
    "RebuiltCif": "reprocal.state._rebuild",
    "RecordedGap": "reprocal.state._manifest",
    "V1ManifestNotice": "reprocal.state._manifest",
    "load_manifest": "reprocal.state._manifest",
    "loads": "reprocal.state._manifest",
    "pin": "reprocal.state._pin",
    "pin_resolved": "reprocal.state._pin",
    "rebuild": "reprocal.state._rebuild",
    "save_manifest": "reprocal.state._manifest",
    "upgrade": "reprocal.state._manifest",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
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
