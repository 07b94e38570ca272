"""``reprocal fetch`` and ``reprocal unused``: fill a repository's gaps; report what no pin needs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

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
from reprocal.core._constituent import DEFAULT_CATEGORY
from reprocal.errors import CheckFailed, InputError
from reprocal.fetch._engine import Check, FetchItem, FetchReport, fetch
from reprocal.fetch._engine import dry_run as plan_dry_run
from reprocal.fetch._mirrors import Mirror, configured_mirrors
from reprocal.fetch._script import write_script
from reprocal.fetch._transports import RetryPolicy
from reprocal.state._manifest import load_manifest


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _summary(report: FetchReport, seconds: float) -> None:
    info(f"{report.dest}: fetched {report.count('fetched')}, already present "
         f"{report.count('present')}, failed {report.count('failed')} "
         f"({_mb(report.bytes)} in {seconds:.1f} s)")
    for r in report.results:
        if r.status == "fetched" and r.attempts:
            before = ", ".join(f"{a.kind} from {a.mirror}" for a in r.attempts)
            info(f"  {r.filename}: from {r.mirror}, after {before}")
    for r in report.failed:
        info(f"  FAILED {r.filename}:")
        for a in r.attempts:
            info(f"    {a.kind}: {a.message}")


def _state_items(obs_date: str | None, odf: str | None, analysis_date: str | None,
                 master_indexes: tuple[str, ...], category: str, ccf_path: str | None,
                 catalog_path: str | None) -> tuple[list[FetchItem], Check, Path, list[Path]]:
    """The no-manifest form: the gaps of the state given by dates, judged by master indexes."""
    from reprocal.cli.core import analysis, observation, open_repository
    from reprocal.core._dates import CalDate
    from reprocal.core._select import Rule
    from reprocal.fetch._gaps import constituent_check, items, missing_constituents
    from reprocal.fits._calindex import read_calindex
    from reprocal.repo._walk import DEFAULT_GLOB

    if not analysis_date:
        raise InputError("--analysis-date is required with --obs-date/--odf (a date, or 'now')")
    _obs_id, obs = observation(obs_date, odf)
    an: CalDate = analysis(analysis_date, obs)
    with open_repository(ccf_path, catalog_path, False, DEFAULT_GLOB) as repo:
        known = list(repo.catalog.expected())
        present = repo.present()
    for path in master_indexes:
        known.extend(read_calindex(path).rows)
    if not known:
        raise InputError("nothing says which constituents exist beyond the files present",
                         hint="give --master-index FILE, or import one with "
                              "`reprocal index --import-index FILE`")
    missing = missing_constituents(present, known, [Rule(obs, an, category)])
    return (items(missing), constituent_check({c.filename: c for c in missing}), repo.dirs[0],
            list(repo.dirs[1:]))


@cli.command("fetch")
@click.argument("manifest", required=False, type=click.Path(dir_okay=False))
@click.option("--obs-date", metavar="DATE", help="Without MANIFEST: the observation date.")
@click.option("--odf", metavar="PATH", help="Without MANIFEST: ODF summary or directory.")
@click.option("--analysis-date", metavar="DATE|now", help="Without MANIFEST: the analysis date.")
@click.option("--master-index", "master_indexes", multiple=True, type=click.Path(dir_okay=False),
              help="Without MANIFEST: a master index (or any CALINDEX) listing what exists "
                   "(repeatable; added to what `reprocal index --import-index` recorded).")
@click.option("--category", default=DEFAULT_CATEGORY, show_default=True,
              help="Without MANIFEST: the calibration category.")
@ccf_path_option
@catalog_option
@click.option("--mirror", "mirror_values", multiple=True, metavar="URL",
              help="Mirror to try, in order (repeatable): http(s) URL, directory, file:// URL, "
                   "rsync://host/module/ or host::module. Default: $REPROCAL_MIRRORS, else "
                   "~/.config/reprocal/mirrors.txt, else ESA then HEASARC.")
@click.option("--jobs", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Files downloaded at once.")
@click.option("--retries", type=click.IntRange(0, 20), default=3, show_default=True,
              help="Retries per mirror after a transient failure (5xx, 429, dropped connection, "
                   "timeout), with exponential backoff from 0.5 s.")
@click.option("--verify", "level", type=click.Choice(["sha256", "size"]), default="sha256",
              show_default=True, help="How present files are checked before deciding to fetch.")
@click.option("--dry-run", is_flag=True, help="List what would be fetched and from where.")
@click.option("--script", "script", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write a POSIX sh script (curl or wget, sha256sum) that fetches and checks "
                   "the same files, instead of fetching.")
@json_option
def fetch_cmd(manifest: str | None, obs_date: str | None, odf: str | None,
              analysis_date: str | None, master_indexes: tuple[str, ...], category: str,
              ccf_path: str | None, catalog_path: str | None, mirror_values: tuple[str, ...],
              jobs: int, retries: int, level: str, dry_run: bool, script: str | None,
              as_json: bool) -> None:
    """Bring every file MANIFEST pins that is missing or wrong into the repository.

    Files go to the first directory of --ccf-path ($SAS_CCFPATH). Each is downloaded to
    .NAME.part beside its target, checked against the pinned size and sha256, then renamed into
    place; nothing is ever deleted. Exit 1 when a file could not be fetched.

    Without MANIFEST, --obs-date (or --odf) and --analysis-date give the state, and a master
    index says what exists: the constituents that state needs and the repository lacks are
    fetched, checked by their FITS header and checksums (no sha256 is known for them yet).
    """
    check: Check | None = None
    dest: Path | None = None
    also: list[Path] = []
    if manifest is not None:
        if obs_date or odf or analysis_date or master_indexes:
            raise InputError("give a MANIFEST or --obs-date/--odf with --analysis-date, not both")
        items = [FetchItem.of(f) for f in load_manifest(manifest).files]
        mirrors = configured_mirrors(mirror_values)
    elif obs_date or odf or analysis_date:
        mirrors = configured_mirrors(mirror_values)
        items, check, dest, also = _state_items(obs_date, odf, analysis_date, master_indexes, category,
                                          ccf_path, catalog_path)
    else:
        raise InputError("give a MANIFEST, or --obs-date/--odf with --analysis-date",
                         hint="see `reprocal fetch --help`")
    if script:
        path = write_script(items, mirrors, script)
        if as_json:
            echo_json({"script": str(path), "files": len(items),
                       "mirrors": [str(m) for m in mirrors]})
        else:
            info(f"wrote {path}: {len(items)} files from {len(mirrors)} mirror(s); "
                 f"run: sh {path} DEST")
        return
    if dest is None:
        dest, *also = option_ccf_dirs(ccf_path, create_first=True)
    if dry_run:
        _dry_run(items, dest, also, mirrors, level, as_json)
        return
    if not dest.exists():
        warn(f"creating repository directory {dest}")
    started = time.monotonic()
    with Bar("fetch", unit="B", unit_scale=True) as progress:
        report = fetch(items, dest, mirrors, jobs=jobs, progress=progress, level=level,  # type: ignore[arg-type]
                       policy=RetryPolicy(retries=retries), check=check, also=also,
                       on_wait=lambda: warn(f"another fetch into {dest} is running; waiting"))
    if as_json:
        echo_json(report.to_json())
    else:
        _summary(report, time.monotonic() - started)
        unpinned = sum(1 for i in items if not i.pinned)
        if unpinned:
            info(f"{unpinned} file(s) had no pin: checked by FITS header and checksums only; "
                 "`reprocal pin` records their sha256")
    if not report.ok:
        raise CheckFailed(f"{len(report.failed)} of {len(report.results)} files could not be "
                          f"fetched into {report.dest}",
                          hint="see the failures above; try another --mirror")


def _dry_run(items: list[FetchItem], dest: Path, also: list[Path], mirrors: Sequence[Mirror],
             level: str, as_json: bool) -> None:
    planned = plan_dry_run(items, dest, mirrors, level=level, also=also)  # type: ignore[arg-type]
    if as_json:
        echo_json({"dest": str(dest), "files": len(items),
                   "to_fetch": [p.to_json() for p in planned]})
        return
    for p in planned:
        resume = f", resuming at byte {p.entry.partial}" if p.entry.partial else ""
        size = "?" if p.entry.item.size is None else p.entry.item.size
        info(f"{p.entry.item.filename:<32} {p.entry.state:<10} {size:>10} bytes{resume}  "
             f"<- {p.url}")
    total = sum(p.entry.item.size or 0 for p in planned)
    info(f"{len(planned)} of {len(items)} files to fetch into {dest} ({_mb(total)}); "
         f"{len(mirrors)} mirror(s), first {mirrors[0]}; nothing written (dry run)")


@cli.command("unused")
@click.argument("manifests", nargs=-1, required=True, type=click.Path(dir_okay=False))
@ccf_path_option
@json_option
def unused_cmd(manifests: tuple[str, ...], ccf_path: str | None, as_json: bool) -> None:
    """List constituent files in the repository that none of MANIFESTS pins. Deletes nothing.

    Paths go to stdout, one a line; the count to stderr.
    """
    from reprocal.fetch._unused import unused_files

    report = unused_files((load_manifest(m) for m in manifests), option_ccf_dirs(ccf_path))
    if as_json:
        echo_json({"manifests": list(manifests), "unused": [
            {"path": str(f.path), "size": f.stat.size} for f in report.files],
            "bytes": report.bytes})
        return
    for f in report.files:
        info(str(f.path))
    # the count goes to stderr so that stdout is only paths (safe to pipe)
    click.echo(f"{len(report.files)} constituent file(s), {_mb(report.bytes)}, not needed "
               f"by {report.manifests} manifest(s); nothing was deleted", err=True)
