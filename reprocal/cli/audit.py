"""``reprocal audit`` and ``reprocal diff``: which calibration produced a product; how two
calibration states differ."""

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
    key_option,
    option_names,
    warn,
)
from reprocal.cli._progress import Bar
from reprocal.errors import InputError, Names


def html_options(f: Any) -> Any:
    """``--html PAGE`` and ``--release-notes FILE``."""
    f = click.option("--release-notes", "release_notes", default=None, metavar="FILE",
                     type=click.Path(dir_okay=False),
                     help="Local list of release notes for the page's links (see `reprocal "
                          "notes`; default $REPROCAL_RELEASE_NOTES).")(f)
    return click.option("--html", "html", default=None, metavar="PAGE",
                        type=click.Path(dir_okay=False),
                        help="Also write a self-contained HTML page: dates, calibration ids, "
                             "explanations, timelines of what differs, constituents.")(f)


def catalogue_options(f: Any) -> Any:
    f = click.option("--import-index", "import_index", multiple=True,
                     type=click.Path(dir_okay=False),
                     help="Import a master index or CALINDEX table into the catalogue first "
                          "(repeatable).")(f)
    return catalog_option(ccf_path_option(f))


# --- diff -----------------------------------------------------------------------------------


@click.command("diff")
@click.argument("a")
@click.argument("b")
@catalogue_options
@html_options
@json_option
def diff_cmd(as_json: bool, **options: Any) -> None:
    """Compare two calibration states: CIFs, products, manifests (M.json[#OBS]) or dates
    (obs=DATE,an=DATE|now, selected over the catalogue). Exits 0 when they are identical, 1
    when they differ (as diff does)."""
    with Bar("indexing") as progress:
        r = api.diff(**options, progress=progress, names=option_names())
    if as_json:
        echo_json(r.to_json())
    else:
        for line in r.lines():
            info(line)
        if r.html is not None:
            info(f"Wrote {r.html}")
    if not r.ok:  # as diff(1): 0 identical, 1 different, 2 and up trouble
        raise click.exceptions.Exit(1)


# --- audit ----------------------------------------------------------------------------------


def _print_entry(e: api.AuditEntry) -> None:
    p, lines = e.product, e.lines()
    info(f"{lines[0]} [{p.kind}]")
    first = 1 + len(e.report.withdrawal_lines())  # withdrawn constituents: said first
    for line in lines[1:first]:
        info(line)
    if e.calibration_id is not None:
        info(f"  calibration id {e.calibration_id.describe()}")
    if e.content_mismatch is not None:
        info(f"  note: its content hashes to {e.content_mismatch}, not to the id it carries: "
             "the product's calibration rows or the pinned bytes differ from what was stamped")
    if p.upgraded_from:
        info(f"  upgraded from the version-1 id {p.upgraded_from}")
    if p.image_digest:
        info(f"  image {p.image_digest}")
    if p.image_record is not None:
        b = p.image_record
        info(f"  image built by record {b.path} from manifest {b.manifest} ({b.calibration_id})")
    if p.record_path:
        signed = p.record.signed_by if p.record else ()
        info(f"  record {p.record_path}" + (f" (signature verified: key {signed[0][:16]}...)"
                                            if signed else ""))
    for note in p.notes:
        info(f"  note: {note}")
    if p.unresolved:
        info(f"  {len(p.unresolved)} constituent(s) named by the record are unknown to the "
             f"catalogue: {', '.join(p.unresolved[:5])}")
    for line in lines[first:]:
        info(line)
    for use in e.matrices:
        info(f"  {use.line()}")


def _print_pinned(r: api.AuditPinResult) -> None:
    obs_id = r.manifest.observation_ids[0]
    carried = r.carried
    same = ("the id the product carries" if carried == str(obs_id) else
            f"the product carries {carried}" if carried else "")
    info(f"Wrote {r.path}: observation id {obs_id}" + (f" ({same})" if same else ""))
    info(f"  state id {r.manifest.calibration_id}")
    if not r.reproduces:
        info(f"  it does NOT reproduce the product: {len(r.differing)} constituent(s) pinned "
             "from local bytes that differ from what the product used:")
        for d in r.differing:
            info(f"    {d}")


def _uses(name: str, roots: tuple[str, ...], as_json: bool) -> None:
    with Bar("scanning") as progress:
        r = api.audit_uses(name, roots, progress=progress, names=Names({"name": "--uses"}))
    report = r.report
    if as_json:
        echo_json(r.to_json())
        return
    info(f"{len(report.uses)} use(s) of {report.target} in {report.scanned} candidate file(s); "
         f"{len(report.could_have_used())} by a product of an instrument that reads it:")
    for u in report.uses:
        if u.relevance == "listed":
            info(f"  {u.path}: {u.kind} lists {u.constituent} ({u.detail})")
        elif u.relevance == "only lists":
            info(f"  {u.path}: {u.kind} of {u.instrument} only lists {u.constituent}: it embeds "
                 f"the whole CIF, and the constituent is not {u.instrument}'s ({u.detail})")
        else:
            info(f"  {u.path}: {u.kind} of {u.instrument} could have used {u.constituent} "
                 f"({u.detail})")
    for path, problem in report.problems:
        warn(f"{path}: {problem}")


@click.command("audit")
@click.argument("products", nargs=-1)
@catalogue_options
@click.option("--today", default="now", show_default=True, metavar="DATE|now",
              help="The analysis date of 'today's calibration' to compare with.")
@click.option("--pin", "pin", is_flag=True,
              help="Write the manifest reproducing the product's calibration state (-o).")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Manifest to write with --pin.")
@click.option("--pin-local", "pin_local", is_flag=True,
              help="With --pin: pin local constituents even where they differ from what the "
                   "product used (the manifest then says it does not reproduce the product).")
@click.option("--uses", default=None, metavar="NAME",
              help="Reverse impact: list products, manifests and records under the given "
                   "directories that used NAME (EPN_CTI_0045.CCF, or EPN_CTI for any issue).")
@key_option
@html_options
@json_option
def audit_cmd(products: tuple[str, ...], pin: bool, output: str | None, pin_local: bool,
              uses: str | None, as_json: bool, html: str | None, release_notes: str | None,
              **options: Any) -> None:
    """Which calibration produced PRODUCT..., judged against the catalogue and explained.

    PRODUCT: an event list, spectrum, CIF, PPS CALIND product, stamped file, record or manifest
    (none: $SAS_CCF).
    Exit status 1 when a product disagrees with the selection rule or a constituent is missing.
    """
    if uses is not None:
        _uses(uses, products or (".",), as_json)
        return
    if pin and not output:
        raise InputError("--pin needs -o MANIFEST")
    if pin and len(products) != 1:
        raise InputError(f"--pin needs exactly one product (got {len(products)})")
    if pin_local and not pin:
        raise InputError("--pin-local goes with --pin")
    if pin and html:
        raise InputError("--html goes with an audit, not with --pin; run the audit with --html")
    names = option_names()
    with Bar("indexing") as progress:
        if pin:
            pinned = api.audit_pin(products[0], output=output, progress=progress,  # type: ignore[arg-type]
                                   pin_local=pin_local, names=names, **options)
            r = pinned.audit
        else:
            r = api.audit(products, progress=progress, names=names, html=html,
                          release_notes=release_notes, **options)
    if as_json:
        echo_json(pinned.to_json() if pin else r.to_json())
    else:
        for e in r.entries:
            _print_entry(e)
        if pin:
            _print_pinned(pinned)
        if r.html is not None:
            info(f"Wrote {r.html}")
    if not r.ok:
        raise click.exceptions.Exit(1)
