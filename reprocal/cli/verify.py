"""``reprocal verify``: a manifest's pinned bytes against the repository, or the whole repository."""

from __future__ import annotations

from typing import Any

import click

from reprocal.cli._common import (
    catalog_option,
    ccf_path_option,
    cli,
    echo_json,
    info,
    json_option,
    option_ccf_dirs,
    warn,
)
from reprocal.cli._progress import Bar
from reprocal.core._drift import NewerIssue, newer_issues
from reprocal.errors import CheckFailed, InputError, ReprocalError
from reprocal.repo._verify import LEVELS, Expected, VerifyReport, verify_files
from reprocal.repo._verifycache import VerifyCache


def load_expected(manifest_path: str) -> tuple[Any, list[Expected]]:
    """The manifest and its pinned files as :class:`Expected` items (the one place the CLI
    touches the manifest model)."""
    from reprocal.state._manifest import load_manifest

    manifest = load_manifest(manifest_path)
    return manifest, [Expected.from_pinned(f) for f in manifest.files]


def _newer(manifest: Any, dirs: Any, catalog_path: str | None) -> list[NewerIssue] | None:
    """Newer eligible issues present in the repository now (``None`` if it cannot be told)."""
    from reprocal.core._dates import resolve
    from reprocal.repo._repository import Repository

    try:
        with Bar("indexing") as progress, \
                Repository(dirs, catalog=catalog_path, progress=progress) as repo:
            present = [lf.constituent for lf in repo.present()]
    except ReprocalError as exc:
        warn(f"cannot tell whether newer issues exist: {exc.one_line()}")
        return None
    labelled = list(zip(manifest.labels(), manifest.observations, strict=True))
    return newer_issues(labelled, present, today=resolve("now"))


NEWER_SHOWN = 5
"""Newer-issue lines shown without -v (a state pinned years ago may have dozens)."""


def _print_report(report: VerifyReport, newer: list[NewerIssue] | None, verbose: bool) -> None:
    rows = list(report.results) if verbose else report.problems()
    if rows:
        width = max(len(r.filename) for r in rows)
        info(f"  {'STATUS':<10} {'CONSTITUENT':<{width}}  DETAIL")
        for r in rows:
            detail = r.detail or (f"({r.basis})" if r.basis else "")
            info(f"  {r.status.value:<10} {r.filename:<{width}}  {detail}")
    counts = "  ".join(f"{k} {v}" for k, v in report.counts().items() if v)
    info(f"Level {report.level}: {len(report.results)} pinned constituents: {counts}")
    size_only = sum(1 for r in report.results if r.ok and r.basis == "size")
    if size_only:
        info(f"  {size_only} checked by size only (never verified on this machine): "
             "run `reprocal verify --level full` once")
    if report.hashed or report.fits_checked or report.reused:
        info(f"  read now: {report.fits_checked} FITS-checked, {report.hashed} hashed; "
             f"{report.reused} vouched for by the verify cache")
    newer = newer or []
    shown = newer if verbose else newer[:NEWER_SHOWN]
    for n in shown:
        info(f"Newer: {n.describe()}")
    if len(newer) > len(shown):
        info(f"Newer: ... and {len(newer) - len(shown)} more type(s) (-v or --json lists all)")
    if newer:
        info("  The pinned state stays reproducible; re-pin to move to the newer calibration.")


def _verify_manifest(manifest_path: str, ccf_path: str | None, level: str, jobs: int | None,
                     rehash: bool, cache_path: str | None, catalog_path: str | None,
                     as_json: bool, verbose: bool) -> None:
    manifest, expected = load_expected(manifest_path)
    dirs = option_ccf_dirs(ccf_path)
    with VerifyCache(cache_path, warn=warn) as cache:
        with Bar(f"verify ({level})", total=len(expected)) as progress:
            report = verify_files(expected, dirs, level=level, jobs=jobs, cache=cache,
                                  rehash=rehash, progress=progress)
    newer = _newer(manifest, dirs, catalog_path)
    if as_json:
        doc = report.to_json()
        doc.update(manifest=manifest_path, calibration_id=manifest.calibration_id,
                   newer=[n.to_json() for n in newer] if newer is not None else None)
        echo_json(doc)
    else:
        _print_report(report, newer, verbose)
    if not report.ok:
        bad = len(report.problems())
        raise CheckFailed(f"{bad} of {len(report.results)} pinned constituents are not as pinned",
                          hint="`reprocal fetch` can restore them")


def _verify_repository(ccf_path: str | None, recurse: bool, rehash: bool,
                       cache_path: str | None, catalog_path: str | None, as_json: bool,
                       verbose: bool) -> None:
    from reprocal.repo._catalog import Catalog
    from reprocal.repo._repocheck import verify_repository

    dirs = option_ccf_dirs(ccf_path)
    expected: list[str] = []
    try:
        with Catalog.open(catalog_path) as cat:  # what was indexed here before, not refreshed
            expected = [lf.filename for lf in cat.present(list(dirs), recurse=recurse)]
    except ReprocalError as exc:
        warn(f"no catalogue to compare with: {exc.one_line()}")
    with VerifyCache(cache_path, warn=warn) as cache:
        with Bar("verify repository") as progress:
            report = verify_repository(dirs, recurse=recurse, expected=expected, cache=cache,
                                       rehash=rehash, progress=progress)
    if as_json:
        echo_json(report.to_json())
    else:
        rows = list(report.entries) if verbose else report.problems()
        if rows:
            width = max(len(e.name) for e in rows)
            info(f"  {'FINDING':<16} {'NAME':<{width}}  DETAIL")
            for e in rows:
                where = ", ".join(map(str, e.paths))
                info(f"  {e.finding.value:<16} {e.name:<{width}}  {e.detail}"
                     + (f" [{where}]" if where else ""))
        counts = "  ".join(f"{k} {v}" for k, v in report.counts().items() if v)
        info(f"Repository {':'.join(map(str, report.dirs))}: {counts or 'empty'}")
        info(f"  read now: {report.checked} FITS-checked; {report.reused} vouched for by the "
             "verify cache")
    if not report.ok:
        raise CheckFailed(f"{len(report.problems())} problem(s) in the repository",
                          hint="see the report above")


@cli.command("verify")
@click.argument("manifest_path", metavar="[MANIFEST]", required=False,
                type=click.Path(dir_okay=False))
@click.option("--repository", is_flag=True,
              help="Check the whole repository instead of a manifest's files.")
@ccf_path_option
@click.option("--level", type=click.Choice(LEVELS), default=None,
              help="stat (default): pinned size, unchanged since verified; fits: + FITS "
                   "CHECKSUM/DATASUM of every HDU; full: + sha256.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Hashing threads (default: one per core).")
@click.option("--rehash", is_flag=True,
              help="Read every file again even when the verify cache vouches for it.")
@click.option("--recurse", is_flag=True, help="--repository: also scan subdirectories.")
@click.option("--cache", "cache_path", default=None, metavar="FILE",
              help="Verify cache (default: $REPROCAL_VERIFY_CACHE or the user cache directory).")
@click.option("-v", "--verbose", is_flag=True, help="List every constituent, not only problems.")
@catalog_option
@json_option
def verify_cmd(manifest_path, repository, ccf_path, level, jobs, rehash, recurse,  # type: ignore[no-untyped-def]
               cache_path, verbose, catalog_path, as_json):
    """Verify a manifest's pinned constituents (or, with --repository, every file) in the
    repository. Exits 1 if anything is not ok."""
    if repository and manifest_path:
        raise InputError("give a MANIFEST or --repository, not both")
    if repository:
        if level or jobs:
            raise InputError("--level and --jobs go with a MANIFEST; --repository always checks "
                             "FITS checksums")
        _verify_repository(ccf_path, recurse, rehash, cache_path, catalog_path, as_json,
                           verbose)
        return
    if not manifest_path:
        raise InputError("give a MANIFEST to verify, or --repository")
    if recurse:
        raise InputError("--recurse goes with --repository")
    _verify_manifest(manifest_path, ccf_path, level or "stat", jobs, rehash, cache_path, catalog_path,
                     as_json, verbose)
