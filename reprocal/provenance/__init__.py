"""Provenance: in-toto/SLSA records of what was made from which calibration, their inputs (git
state, environment, SAS version), and recorded runs on the host or in a calibration image.

May import :mod:`reprocal.image` and everything below it; gitpython is imported lazily.
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "Artifact": "reprocal.provenance._record",
    "ImageContext": "reprocal.provenance._run",
    "KeyPair": "reprocal.provenance._signature",
    "Record": "reprocal.provenance._record",
    "RunResult": "reprocal.provenance._run",
    "SignatureError": "reprocal.provenance._signature",
    "build_record": "reprocal.provenance._recorder",
    "generate_key": "reprocal.provenance._signature",
    "image_context": "reprocal.provenance._runimage",
    "is_record": "reprocal.provenance._record",
    "load_public_key": "reprocal.provenance._signature",
    "load_record": "reprocal.provenance._record",
    "load_signer": "reprocal.provenance._signature",
    "record_command": "reprocal.provenance._recorder",
    "record_image_build": "reprocal.provenance._recorder",
    "run": "reprocal.provenance._run",
    "save_record": "reprocal.provenance._record",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reprocal.provenance._record import Artifact, Record, is_record, load_record, save_record
    from reprocal.provenance._recorder import build_record, record_command, record_image_build
    from reprocal.provenance._run import ImageContext, RunResult, run
    from reprocal.provenance._runimage import image_context
    from reprocal.provenance._signature import (
        KeyPair,
        SignatureError,
        generate_key,
        load_public_key,
        load_signer,
    )

__all__ = [
    "Artifact", "ImageContext", "KeyPair", "Record", "RunResult", "SignatureError", "build_record",
    "generate_key", "image_context", "is_record", "load_public_key", "load_record", "load_signer",
    "record_command", "record_image_build", "run", "save_record",
]
