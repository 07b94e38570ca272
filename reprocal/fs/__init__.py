"""File-system primitives every stage shares: atomic writes, streaming sha256, safe opening
(inputs must be regular files; temporary and lock files never follow links), bounded gunzip,
and the limits object that bounds every read.

May import only :mod:`reprocal.errors`, :mod:`reprocal.progress` and the standard library.
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "CorruptGzipError": "reprocal.fs._gunzip",
    "DEFAULT_LIMITS": "reprocal.fs._limits",
    "GunzipReader": "reprocal.fs._gunzip",
    "InflateLimitError": "reprocal.fs._gunzip",
    "Limits": "reprocal.fs._limits",
    "NotRegularError": "reprocal.fs._inputs",
    "UnsafeFileError": "reprocal.fs._inputs",
    "atomic_file": "reprocal.fs._atomic",
    "atomic_write": "reprocal.fs._atomic",
    "current_limits": "reprocal.fs._limits",
    "default_jobs": "reprocal.fs._hashing",
    "filesystem_of": "reprocal.fs._mounts",
    "gunzip_chunks": "reprocal.fs._gunzip",
    "hash_files": "reprocal.fs._hashing",
    "on_network": "reprocal.fs._mounts",
    "open_input": "reprocal.fs._inputs",
    "open_private": "reprocal.fs._inputs",
    "read_input": "reprocal.fs._inputs",
    "require_regular": "reprocal.fs._inputs",
    "set_limits": "reprocal.fs._limits",
    "sha256_file": "reprocal.fs._hashing",
    "use_limits": "reprocal.fs._limits",
    "write_failure": "reprocal.fs._atomic",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
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
