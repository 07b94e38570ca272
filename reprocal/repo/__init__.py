"""A calibration repository: its directories (one walker, one name rule), the catalogue that
indexes them, cifbuild's rule applied to them (with the gaps cifbuild hides), and verifying the
bytes they hold.

May import :mod:`reprocal.core`, :mod:`reprocal.fits` and :mod:`reprocal.fs`.
"""

from reprocal.repo._catalog import (
    Catalog,
    LocalFile,
    Problem,
    ScanReport,
    default_catalog_path,
)
from reprocal.repo._ccfpath import ccf_dirs
from reprocal.repo._repocheck import Finding, RepositoryReport, verify_repository
from reprocal.repo._repository import Repository
from reprocal.repo._resolve import Gap, Resolution, resolve
from reprocal.repo._verify import LEVELS, Expected, FileResult, Status, VerifyReport, verify_files
from reprocal.repo._verifycache import VerifyCache, default_cache_path
from reprocal.repo._walk import DEFAULT_GLOB, Kind, ListedFile, constituent_files, list_files

__all__ = [
    "DEFAULT_GLOB", "LEVELS", "Catalog", "Expected", "FileResult", "Finding", "Gap", "Kind",
    "ListedFile", "LocalFile", "Problem", "Repository", "RepositoryReport", "Resolution",
    "ScanReport", "Status", "VerifyCache", "VerifyReport", "ccf_dirs", "constituent_files",
    "default_cache_path", "default_catalog_path", "list_files", "resolve", "verify_files",
    "verify_repository",
]
