"""A calibration repository: its directories (one walker, one name rule), the catalogue that
indexes them, cifbuild's rule applied to them (with the gaps cifbuild hides), and verifying the
bytes they hold.

May import :mod:`reprocal.core`, :mod:`reprocal.fits` and :mod:`reprocal.fs`.
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "Catalog": "reprocal.repo._catalog",
    "DEFAULT_GLOB": "reprocal.repo._walk",
    "Expected": "reprocal.repo._verify",
    "FileResult": "reprocal.repo._verify",
    "Finding": "reprocal.repo._repocheck",
    "Gap": "reprocal.repo._resolve",
    "Kind": "reprocal.repo._walk",
    "LEVELS": "reprocal.repo._verify",
    "ListedFile": "reprocal.repo._walk",
    "LocalFile": "reprocal.repo._catalog",
    "Problem": "reprocal.repo._catalog",
    "Repository": "reprocal.repo._repository",
    "RepositoryReport": "reprocal.repo._repocheck",
    "Resolution": "reprocal.repo._resolve",
    "ScanReport": "reprocal.repo._catalog",
    "Status": "reprocal.repo._verify",
    "VerifyCache": "reprocal.repo._verifycache",
    "VerifyReport": "reprocal.repo._verify",
    "ccf_dirs": "reprocal.repo._ccfpath",
    "constituent_files": "reprocal.repo._walk",
    "default_cache_path": "reprocal.repo._verifycache",
    "default_catalog_path": "reprocal.repo._catalog",
    "list_files": "reprocal.repo._walk",
    "resolve": "reprocal.repo._resolve",
    "verify_files": "reprocal.repo._verify",
    "verify_repository": "reprocal.repo._repocheck",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
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
