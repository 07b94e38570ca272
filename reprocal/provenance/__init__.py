"""Provenance: in-toto/SLSA records of what was made from which calibration, their inputs (git
state, environment, SAS version), and recorded runs on the host or in a calibration image.

May import :mod:`reprocal.image` and everything below it; gitpython is imported lazily.
"""

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
