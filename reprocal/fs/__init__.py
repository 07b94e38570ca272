"""File-system primitives every stage shares: atomic writes and streaming sha256.

May import only :mod:`reprocal.errors`, :mod:`reprocal.progress` and the standard library.
"""

from reprocal.fs._atomic import atomic_file, atomic_write
from reprocal.fs._hashing import default_jobs, hash_files, sha256_file

__all__ = ["atomic_file", "atomic_write", "default_jobs", "hash_files", "sha256_file"]
