"""A calibration repository: its directories, the catalogue that indexes them, cifbuild's rule
applied to them (with the gaps cifbuild hides), and verifying the bytes they hold.

May import :mod:`reprocal.core`, :mod:`reprocal.fits` and :mod:`reprocal.fs`.
"""

from reprocal.repo._catalog import (
    DEFAULT_GLOB,
    Catalog,
    LocalFile,
    Problem,
    ScanReport,
    ccf_dirs,
    default_catalog_path,
)
from reprocal.repo._repocheck import Finding, RepositoryReport, verify_repository
from reprocal.repo._repository import Repository
from reprocal.repo._resolve import Gap, Resolution, resolve
from reprocal.repo._verify import LEVELS, Expected, FileResult, Status, VerifyReport, verify_files
from reprocal.repo._verifycache import VerifyCache, default_cache_path

__all__ = [
    "DEFAULT_GLOB", "LEVELS", "Catalog", "Expected", "FileResult", "Finding", "Gap", "LocalFile",
    "Problem", "Repository", "RepositoryReport", "Resolution", "ScanReport", "Status",
    "VerifyCache", "VerifyReport", "ccf_dirs", "default_cache_path", "default_catalog_path",
    "resolve", "verify_files", "verify_repository",
]
