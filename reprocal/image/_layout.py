"""Where things are inside a calibration image: the ``/ccf`` tree, its environment, its labels.

Shared by building, verifying, the daemon check and running in an image, so none of them needs
another's module for a name.
"""

from __future__ import annotations

from typing import Any

from reprocal.image._layers import CCF_DIR

ENV = {"SAS_CCFPATH": f"/{CCF_DIR}", "SAS_CCF": f"/{CCF_DIR}/ccf.cif"}
EXTRAS_PATH = f"{CCF_DIR}/extras"
"""Where the extra calibration sets are: ``/ccf/extras/<label>/``, laid out as their paths say."""
ESAS_CALDB = "ESAS_CALDB"


def extra_path(label: str, path: str) -> str:
    """A file of an extra set inside the image (``ccf/extras/<label>/<path>``)."""
    return f"{EXTRAS_PATH}/{label}/{path}"


def image_env(manifest: Any) -> dict[str, str]:
    """The environment an image of ``manifest`` sets: :data:`ENV`, and ``ESAS_CALDB`` naming
    ``/ccf/extras/<label>[/<top>]`` when the manifest pins an ESAS caldb."""
    env = dict(ENV)
    caldb = manifest.caldb
    if caldb is not None:
        env[ESAS_CALDB] = "/" + f"{EXTRAS_PATH}/{caldb.label}" + (f"/{caldb.root}" if caldb.root
                                                                  else "")
    return env
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
