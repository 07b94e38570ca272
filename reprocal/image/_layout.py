"""Where things are inside a calibration image: the ``/ccf`` tree, its environment, its labels.

Shared by building, verifying, the daemon check and running in an image, so none of them needs
another's module for a name.
"""

from __future__ import annotations

from reprocal.image._layers import CCF_DIR

ENV = {"SAS_CCFPATH": f"/{CCF_DIR}", "SAS_CCF": f"/{CCF_DIR}/ccf.cif"}
LABEL = "org.reprocal"
LABEL_CALIBRATION_ID = f"{LABEL}.calibration-id"
LABEL_ANALYSIS_DATES = f"{LABEL}.analysis-dates"
LABEL_VERSION = f"{LABEL}.version"
LABEL_SAS_VERSION = f"{LABEL}.sas-version"
"""The SAS version the manifest was pinned for (only when it records one)."""
LABEL_BASE_DIGEST = f"{LABEL}.base.digest"
LABEL_BASE_CONFIG = f"{LABEL}.base.config-digest"
RECORD_SCHEMA = "reprocal.image-build/v1"
RECORD_SCHEMA_FILE = "image-build-record.schema.json"
"""The published schema of ``/ccf/build-record.json`` (in ``schemas/``)."""
MANIFEST_PATH = f"{CCF_DIR}/manifest.json"
SUMS_PATH = f"{CCF_DIR}/SHA256SUMS"
RECORD_PATH = f"{CCF_DIR}/build-record.json"
