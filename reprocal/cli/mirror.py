"""``reprocal sync``, ``reprocal history`` and ``reprocal fingerprint``: mirror the archive with a
history; say what the repository held and when; compare repositories and mirrors."""

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
    warn,
)
from reprocal.cli._progress import Bar


def _print_sync(r: api.SyncResult) -> None:
    rep = r.report
    p = rep.plan
    c = rep.counts()
    lst = p.listing
    head = "would sync" if rep.dry_run else "synced"
    info(f"{rep.dest}: {head} from {rep.mirror} ({lst.kind} listing, {len(lst.entries)} "
         f"constituents; subset {p.subset.describe()}; {r.mirror_set} archive)")
    if lst.ignored or lst.duplicates:
        info(f"  listing: {lst.ignored} other name(s) ignored"
             + (f", listed twice: {', '.join(lst.duplicates)}" if lst.duplicates else ""))
    if rep.dry_run:
        _print_dry_run(p)
    else:
        info(f"  arrived {c['arrived']}, failed {c['failed']}, newly listed "
             f"{c['new-listed'] if not p.first else len(lst.entries)}, withdrawn "
             f"{c['withdrawn']}, left the valid set {c['superseded']}, found {c['found']}, "
             f"lost {c['lost']}, conflicts {c['conflicts']} ({rep.seconds:.1f} s)")
        for x in rep.fetched.failed if rep.fetched is not None else ():
            info(f"  FAILED {x.filename}:")
            for a in x.attempts:
                info(f"    {a.kind}: {a.message}")
    _print_findings(r)


def _print_dry_run(p: Any) -> None:
    size = sum(e.size or 0 for e in p.to_fetch)
    info(f"  to fetch: {len(p.to_fetch)} file(s), {mb(size)}"
         + (" (sizes not all listed)" if any(e.size is None for e in p.to_fetch) else ""))
    for e in p.to_fetch:
        info(f"    {e.name}  {e.size if e.size is not None else e.shown_size or '?'}")
    if p.departed:
        info(f"  no longer listed: {', '.join(p.departed)}")
    if p.found:
        info(f"  {len(p.found)} file(s) here that the history does not know yet (to record)")
    info("  nothing written (dry run)")


def _print_findings(r: api.SyncResult) -> None:
    rep = r.report
    p = rep.plan
    if p.undated:
        info(f"  {len(p.undated)} listed file(s) had no known dates, so the subset took them")
    for name in p.lost:
        info(f"  LOST {name}: the history holds it but it is no longer here (reprocal never "
             "deletes: it was removed by other means)")
    for conflict in rep.conflicts:
        info(f"  {'known ' if conflict.known else ''}CONFLICT {conflict.describe()}")
    if p.suspects:
        info(f"  {len(p.suspects)} held file(s) changed date upstream with the same size: "
             f"{', '.join(p.suspects[:5])}; `reprocal sync --deep` compares their bytes")
    if r.drift is not None:
        d = r.drift
        info(f"  newer calibration: {len(d.drifted)} of {d.scanned} calibration state(s) under "
             f"{', '.join(d.roots)}")
        for x in d.drifted:
            for n in x.newer:
                info(f"    {x.path} ({x.kind}): {n.describe()}")
        for path, problem in d.problems:
            warn(f"{path}: {problem}")


@click.command("sync")
@click.option("--mirror", default=None, metavar="URL",
              help="The mirror: rsync://host/module/, host::module, an http(s) directory with "
                   "index pages, or a directory. Default: the first of $REPROCAL_MIRRORS, "
                   "~/.config/reprocal/mirrors.txt, ESA.")
@ccf_path_option
@click.option("--subset", default="all", show_default=True, metavar="all|valid-now|DATE",
              help="What to mirror: everything, or what the selection rule can pick with "
                   "analysis date now (or DATE) for some observation date.")
@click.option("--deep", is_flag=True,
              help="Also download every held file again and compare its bytes (sees same-size "
                   "changes; costs a full download).")
@click.option("--master-index", "master_index", multiple=True, type=click.Path(dir_okay=False),
              help="A master index giving constituents' dates (for --subset), and the listing "
                   "of a mirror that serves no index page (repeatable).")
@click.option("--mirror-set", "mirror_set", type=click.Choice(["full", "valid"]), default=None,
              help="Whether the mirror holds the whole archive or ESA's valid set (default: "
                   "valid for XMM_VALID_CCF and valid_constituents, else full).")
@click.option("--accept-departures", "accept_departures", is_flag=True,
              help="Record the withdrawals even when the mirror no longer lists more than half "
                   "of what it listed at the last sync (refused otherwise: a wrong page).")
@click.option("--report-drift", "report_drift", multiple=True, type=click.Path(exists=True),
              metavar="DIR", help="After the sync, list the manifests, records and products "
                                  "under DIR that now have newer calibration (repeatable).")
@catalog_option
@click.option("--jobs", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Files downloaded at once.")
@click.option("--retries", type=click.IntRange(0, 20), default=3, show_default=True,
              help="Retries per file after a transient failure.")
@click.option("--dry-run", is_flag=True, help="Say what would be fetched and recorded; write nothing.")
@json_option
def sync_cmd(as_json: bool, **options: Any) -> None:
    """Mirror the archive into the repository, recording a history; never deletes.

    Lists the mirror, fetches what is new into the first directory of --ccf-path
    ($SAS_CCFPATH), each file checked by its FITS checksums and recorded with its sha256 in
    DIR/.reprocal/history.jsonl, together with what the mirror no longer lists (withdrawals:
    the files stay) and what changed upstream under the same name (conflicts: ours is kept).
    Exit 1 when a file could not be fetched or a new conflict was found.
    """
    with Bar("sync", unit="B", unit_scale=True) as progress:
        r = api.sync(**options, progress=progress, names=option_names())
    if as_json:
        echo_json(r.to_json())
    else:
        _print_sync(r)
    r.raise_if_failed()


@click.command("history")
@ccf_path_option
@click.option("--on", default=None, metavar="DATE|now",
              help="List what the repository held at that moment.")
@json_option
def history_cmd(as_json: bool, **options: Any) -> None:
    """Check and summarise the repository's mirror history; with --on, what it held then."""
    r = api.history(**options, names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    for h in r.histories:
        d = h.path.parent.parent
        if not h.exists:
            info(f"{d}: no mirror history")
            continue
        syncs = h.syncs()
        open_ = [s for s in syncs if s.finished is None]
        info(f"{d}: {len(h.records)} records"
             + (f" since {h.start}" if h.start else "") + f", {len(syncs)} sync(s)"
             + (f" ({len(open_)} interrupted)" if open_ else "") + f"; holds {len(h.held())} "
             f"file(s); chain and schema checked")
        for s in syncs[-5:]:
            c = s.counts
            info(f"  {s.time} {s.mirror} subset {s.subset}: "
                 + (f"arrived {c.get('arrived', 0)}, withdrawn {c.get('withdrawn', 0)}, "
                    f"conflicts {c.get('conflicts', 0)}" if s.finished else "interrupted"))
        for w in h.withdrawals():
            info(f"  withdrawn: {w.name} {w.describe()}")
        for name, c in h.conflicts().items():
            info(f"  conflict: {name} (recorded {c['time']}, local kept)")
        for t in h.torn:
            info(f"  note: line {t.line}: {t.lines} line(s) of an interrupted append"
                 + (" (recorded)" if t.repaired else " (the last line: recorded by the next "
                                                     "writer)"))
    if r.held is not None:
        held = r.held
        info(f"held on {held.date}: {len(held.files)} file(s)"
             + ("" if held.known else " (before the history began: not known)"))
        for f in held.files.values():
            came = "found" if f.how == "found" else f"from {f.mirror}"
            info(f"  {f.name}  {f.size}  {f.sha256}  since {f.since} ({came})")


@click.command("fingerprint")
@ccf_path_option
@click.option("--against", default=None, metavar="DIR|FILE|URL",
              help="Compare with another repository (DIR: bytes compared), a saved "
                   "fingerprint (FILE, from --json) or a mirror (URL: names and sizes).")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Hashing threads.")
@click.option("--rehash", is_flag=True, help="Read every file again (no verify cache).")
@json_option
def fingerprint_cmd(as_json: bool, **options: Any) -> None:
    """Print a digest of the repository's content (names, sizes, sha256); with --against,
    compare it. Exit 1 when they differ."""
    with Bar("hashing") as progress:
        r = api.fingerprint(**options, progress=progress, names=option_names())
    if as_json:
        echo_json(r.to_json())
    else:
        fp = r.fingerprint
        info(f"{fp.source}: {len(fp.files)} constituents, {mb(fp.bytes)}")
        info(f"  {fp.content}")
        info(f"  {fp.names_sizes}")
        c = r.comparison
        if c is not None:
            verdict = "the same" if c.same else "DIFFERENT"
            info(f"against {c.b.source} ({c.b.kind}): {verdict} (compared: {c.level})")
            for n in c.only_a:
                info(f"  only here: {n}")
            for n in c.only_b:
                info(f"  only there: {n}")
            for n, x, y in c.sizes:
                info(f"  size differs: {n} {x} here, {y} there")
            for n, ha, hb in c.contents:
                info(f"  bytes differ: {n} sha256 {ha[:16]}... here, {hb[:16]}... there")
            if c.unjudged:
                info(f"  {c.unjudged} file(s) compared by name and size only (no sha256 there)")
    r.raise_if_failed()
