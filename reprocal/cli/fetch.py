"""``reprocal fetch`` and ``reprocal unused``: fill a repository's gaps; report what no pin needs."""

from __future__ import annotations

from typing import Any

import click

from reprocal import api
from reprocal.cli._common import (
    catalog_option,
    ccf_path_option,
    echo_json,
    info,
    json_option,
    mb,
    option_names,
)
from reprocal.cli._progress import Bar


def _summary(r: api.FetchRunResult) -> None:
    report = r.report
    info(f"{report.dest}: fetched {report.count('fetched')}, already present "
         f"{report.count('present')}, failed {report.count('failed')} "
         f"({mb(report.bytes)} in {r.seconds:.1f} s)")
    for x in report.results:
        if x.status == "fetched" and x.attempts:
            before = ", ".join(f"{a.kind} from {a.mirror}" for a in x.attempts)
            info(f"  {x.filename}: from {x.mirror}, after {before}")
    for mirror, why in report.down:
        info(f"  mirror {mirror} is down for this run: {why}")
    unreached = set(report.unreached)
    for x in report.failed:
        if x in unreached:  # said once for all, above and below
            continue
        info(f"  FAILED {x.filename}:")
        for a in x.attempts:
            info(f"    {a.kind}: {a.message}")
    if unreached:
        info(f"  {len(unreached)} file(s) not fetched: no mirror could be reached for them")
    if r.unpinned:
        info(f"{r.unpinned} file(s) had no pin: checked by FITS header and checksums only; "
             "`reprocal pin` records their sha256")


def _plan(r: api.FetchPlanResult) -> None:
    for p in r.planned:
        resume = f", resuming at byte {p.entry.partial}" if p.entry.partial else ""
        size = "?" if p.entry.item.size is None else p.entry.item.size
        info(f"{p.entry.item.name:<32} {p.entry.state:<10} {size:>10} bytes{resume}  "
             f"<- {p.url}")
    info(f"{len(r.planned)} of {r.files} files to fetch into {r.dest} ({mb(r.bytes)}); "
         f"{len(r.mirrors)} mirror(s), first {r.mirrors[0]}; nothing written (dry run)")


@click.command("fetch")
@click.argument("manifest", required=False, type=click.Path(dir_okay=False))
@click.option("--obs-date", metavar="DATE", help="Without MANIFEST: the observation date.")
@click.option("--odf", metavar="PATH", help="Without MANIFEST: ODF summary or directory.")
@click.option("--analysis-date", metavar="DATE|now", help="Without MANIFEST: the analysis date.")
@click.option("--master-index", "master_index", multiple=True, type=click.Path(dir_okay=False),
              help="Without MANIFEST: a master index (or any CALINDEX) listing what exists "
                   "(repeatable; added to what `reprocal index --import-index` recorded).")
@click.option("--category", default=api.DEFAULT_CATEGORY, show_default=True,
              help="Without MANIFEST: the calibration category.")
@ccf_path_option
@catalog_option
@click.option("--mirror", "mirrors", multiple=True, metavar="URL",
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
def fetch_cmd(jobs: int, retries: int, level: str, dry_run: bool, script: str | None,
              as_json: bool, **wanted: Any) -> None:
    """Bring every file MANIFEST pins that is missing or wrong into the repository.

    Files go to the first directory of --ccf-path ($SAS_CCFPATH). Each is downloaded to
    .NAME.part beside its target, checked against the pinned size and sha256, then renamed into
    place; nothing is ever deleted. Exit 1 when a file could not be fetched.

    Without MANIFEST, --obs-date (or --odf) and --analysis-date give the state, and a master
    index says what exists: the constituents that state needs and the repository lacks are
    fetched, checked by their FITS header and checksums (no sha256 is known for them yet).
    """
    names = option_names()
    if script:
        s = api.fetch_script(**wanted, output=script, names=names)
        if as_json:
            echo_json(s.to_json())
        else:
            info(f"wrote {s.path}: {s.files} files from {len(s.mirrors)} mirror(s); "
                 f"run: sh {s.path} DEST")
        return
    if dry_run:
        p = api.fetch_plan(**wanted, level=level, names=names)  # type: ignore[arg-type]
        if as_json:
            echo_json(p.to_json())
        else:
            _plan(p)
        return
    with Bar("fetch", unit="B", unit_scale=True) as progress:
        r = api.fetch(**wanted, jobs=jobs, retries=retries, level=level,  # type: ignore[arg-type]
                      progress=progress, names=names)
    if as_json:
        echo_json(r.to_json())
    else:
        _summary(r)
    r.raise_if_failed()


@click.command("unused")
@click.argument("manifests", nargs=-1, required=True, type=click.Path(dir_okay=False))
@ccf_path_option
@json_option
def unused_cmd(manifests: tuple[str, ...], ccf_path: str | None, as_json: bool) -> None:
    """List constituent files in the repository that none of MANIFESTS pins. Deletes nothing.

    Paths go to stdout, one a line; the count to stderr.
    """
    r = api.unused(manifests, ccf_path=ccf_path, names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    for path in r.files:
        info(str(path))
    # the count goes to stderr so that stdout is only paths (safe to pipe)
    click.echo(f"{len(r.files)} constituent file(s), {mb(r.bytes)}, not needed "
               f"by {len(r.manifests)} manifest(s); nothing was deleted", err=True)
