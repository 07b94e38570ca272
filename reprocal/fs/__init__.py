"""File-system primitives every stage shares: atomic writes, streaming sha256, safe opening
(inputs must be regular files; temporary and lock files never follow links), bounded gunzip,
and the limits object that bounds every read.

May import only :mod:`reprocal.errors`, :mod:`reprocal.progress` and the standard library.
"""

from reprocal.fs._atomic import atomic_file, atomic_write, write_failure
from reprocal.fs._gunzip import CorruptGzipError, GunzipReader, InflateLimitError, gunzip_chunks
from reprocal.fs._hashing import default_jobs, hash_files, sha256_file
from reprocal.fs._inputs import (
    NotRegularError,
    UnsafeFileError,
    open_input,
    open_private,
    read_input,
    require_regular,
)
from reprocal.fs._limits import DEFAULT_LIMITS, Limits, current_limits, set_limits, use_limits
from reprocal.fs._mounts import filesystem_of, on_network

__all__ = [
    "DEFAULT_LIMITS", "CorruptGzipError", "GunzipReader", "InflateLimitError", "Limits",
    "NotRegularError", "UnsafeFileError", "atomic_file", "atomic_write", "current_limits",
    "default_jobs", "filesystem_of", "gunzip_chunks", "hash_files", "on_network",
    "open_input", "open_private", "read_input",
    "require_regular", "set_limits", "sha256_file", "use_limits", "write_failure",
]
