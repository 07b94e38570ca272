"""``reprocal verify``: a manifest's pinned bytes against the repository, or the whole repository."""

from __future__ import annotations

import click

from reprocal import api
from reprocal.cli._common import (
    catalog_option,
    ccf_path_option,
    echo_json,
    info,
    json_option,
    option_names,
)
from reprocal.cli._progress import Bar
from reprocal.errors import InputError

NEWER_SHOWN = 5
"""Newer-issue lines shown without -v (a state pinned years ago may have dozens)."""


def _print_newer(r: api.VerifyResult, verbose: bool) -> None:
    newer = list(r.newer or [])
    shown = newer if verbose else newer[:NEWER_SHOWN]
    for n in shown:
        info(f"Newer: {n.describe()}")
    if len(newer) > len(shown):
        info(f"Newer: ... and {len(newer) - len(shown)} more type(s) (-v or --json lists all)")
    if newer:
        info("  The pinned state stays reproducible; re-pin to move to the newer calibration.")


def _print_report(r: api.VerifyResult, verbose: bool) -> None:
    report = r.report
    rows = list(report.results) if verbose else report.problems()
    if rows:
        width = max(len(x.filename) for x in rows)
        info(f"  {'STATUS':<10} {'CONSTITUENT':<{width}}  DETAIL")
        for x in rows:
            detail = x.detail or (f"({x.basis})" if x.basis else "")
            info(f"  {x.status.value:<10} {x.filename:<{width}}  {detail}")
    counts = "  ".join(f"{k} {v}" for k, v in report.counts().items() if v)
    info(f"Level {report.level}: {len(report.results)} pinned constituents: {counts}")
    size_only = sum(1 for x in report.results if x.ok and x.basis == "size")
    if size_only:
        info(f"  {size_only} checked by size only (never verified on this machine): "
             "run `reprocal verify --level full` once")
    if report.hashed or report.fits_checked or report.reused:
        info(f"  read now: {report.fits_checked} FITS-checked, {report.hashed} hashed; "
             f"{report.reused} vouched for by the verify cache")
    if r.extras is not None:
        _print_extras(r, verbose)
    _print_newer(r, verbose)


def _print_extras(r: api.VerifyResult, verbose: bool) -> None:
    """Each extra calibration set: its problems (every file with -v), then one count line."""
    extras = r.extras
    assert extras is not None
    for label, results in extras.by_set().items():
        x = r.manifest.extra(label)
        rows = results if verbose else [e for e in results if not e.ok]
        for e in rows:
            detail = e.detail or (f"({e.basis})" if e.basis else "")
            info(f"  {e.status.value:<10} {e.name}  {detail}")
        counts = "  ".join(f"{k} {n}" for k, n in _counts(results).items())
        info(f"Extra set {label} ({x.kind}): {len(results)} pinned files: {counts}")
    if extras.unpinned:
        info(f"  {len(extras.unpinned)} file(s) in the sets' directories are not pinned (not "
             f"judged): {', '.join(extras.unpinned[:3])}"
             + (" ..." if len(extras.unpinned) > 3 else ""))


def _counts(results: list) -> dict[str, int]:  # type: ignore[type-arg]
    out: dict[str, int] = {}
    for e in results:
        out[e.status.value] = out.get(e.status.value, 0) + 1
    return out


def _print_repository(r: api.RepositoryVerifyResult, verbose: bool) -> None:
    report = r.report
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


def _check_usage(manifest: str | None, repository: bool, level: str | None, jobs: int | None,
                 recurse: bool) -> None:
    """MANIFEST or --repository, each with its own options."""
    if repository and manifest:
        raise InputError("give a MANIFEST or --repository, not both")
    if repository and (level or jobs):
        raise InputError("--level and --jobs go with a MANIFEST; --repository always checks "
                         "FITS checksums")
    if not repository and not manifest:
        raise InputError("give a MANIFEST to verify, or --repository")
    if not repository and recurse:
        raise InputError("--recurse goes with --repository")


@click.command("verify")
@click.argument("manifest", metavar="[MANIFEST]", required=False, type=click.Path(dir_okay=False))
@click.option("--repository", is_flag=True,
              help="Check the whole repository instead of a manifest's files.")
@ccf_path_option
@click.option("--level", type=click.Choice(api.LEVELS), default=None,
              help="stat (default): pinned size, unchanged since verified (the verify cache); "
                   "fits: + FITS CHECKSUM/DATASUM of every HDU, read now; full: + sha256 of "
                   "every byte, read now (the scrub).")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Hashing threads (default: one per core).")
@click.option("--rehash", is_flag=True,
              help="Do not trust the verify cache: with a MANIFEST at level stat, read and hash "
                   "every file (that is --level full; fits and full always read every file); "
                   "with --repository, read every file's checksums again.")
@click.option("--recurse", is_flag=True, help="--repository: also scan subdirectories.")
@click.option("--cache", "cache", default=None, metavar="FILE",
              help="Verify cache (default: $REPROCAL_VERIFY_CACHE or the user cache directory).")
@click.option("-v", "--verbose", is_flag=True, help="List every constituent, not only problems.")
@catalog_option
@json_option
def verify_cmd(manifest: str | None, repository: bool, ccf_path: str | None, level: str | None,
               jobs: int | None, rehash: bool, recurse: bool, cache: str | None, verbose: bool,
               catalog: str | None, as_json: bool) -> None:
    """Verify a manifest's pinned constituents (or, with --repository, every file) in the
    repository. Exits 1 if anything is not ok."""
    _check_usage(manifest, repository, level, jobs, recurse)
    names = option_names()
    if repository:
        with Bar("verify repository") as progress:
            whole = api.verify_repository(ccf_path=ccf_path, recurse=recurse, rehash=rehash,
                                          cache=cache, catalog=catalog, progress=progress,
                                          names=names)
        if as_json:
            echo_json(whole.to_json())
        else:
            _print_repository(whole, verbose)
        whole.raise_if_failed()
        return
    assert manifest is not None
    with Bar(f"verify ({level or 'stat'})") as progress:
        r = api.verify(manifest, ccf_path=ccf_path, level=level or "stat", jobs=jobs,
                       rehash=rehash, cache=cache, catalog=catalog, progress=progress,
                       names=names)
    if as_json:
        echo_json(r.to_json())
    else:
        _print_report(r, verbose)
    r.raise_if_failed()
