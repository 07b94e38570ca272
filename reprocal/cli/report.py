"""``reprocal timeline``, ``view``, ``notes`` and ``cite``: the calibration as pictures, release
notes, and a sentence for the paper."""

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
    option_names,
)
from reprocal.cli._progress import Bar


def release_notes_option(f: Any) -> Any:
    """``--release-notes FILE``: the local list naming each constituent's release note."""
    return click.option("--release-notes", "release_notes", default=None, metavar="FILE",
                        type=click.Path(dir_okay=False),
                        help="Local list of release notes (CSV: release,version,constituents,"
                             "title; default $REPROCAL_RELEASE_NOTES) naming each "
                             "constituent's XMM-CCF-REL note.")(f)


@click.command("timeline")
@click.argument("types", nargs=-1, metavar="TYPE...")
@ccf_path_option
@catalog_option
@click.option("--import-index", "import_index", multiple=True, type=click.Path(dir_okay=False),
              help="Import a master index or CALINDEX table into the catalogue first "
                   "(repeatable).")
@click.option("--manifest", default=None, type=click.Path(dir_okay=False),
              help="Mark the observations of this manifest (and what each pinned).")
@click.option("--obs-date", "obs_date", default=None, metavar="DATE",
              help="Mark the state of this observation date (with --analysis-date).")
@click.option("--analysis-date", "analysis_date", default=None, metavar="DATE|now",
              help="The analysis date of that state.")
@click.option("--state", "states", multiple=True, metavar="SPEC",
              help="Mark the state of a CIF, product, M.json#OBS or obs=DATE,an=DATE "
                   "(repeatable; as `reprocal diff` takes them).")
@click.option("--category", default="XMMCCF", show_default=True,
              help="cifbuild's category, for --obs-date.")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Write the figure (.png, .svg or .pdf); without it, print a text version.")
@json_option
def timeline_cmd(as_json: bool, **options: Any) -> None:
    """Draw every issue of each calibration TYPE (EPN_CTI): validity windows, submission dates,
    the states' dates, the issue each used and the missing ones the rule would select."""
    with Bar("indexing") as progress:
        r = api.timeline(**options, progress=progress, names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    if r.output is not None:
        t = r.timeline
        info(f"Wrote {r.output}: {len(t.types)} type(s), "
             f"{sum(len(tl.issues) for tl in t.types)} issue(s), {len(t.marks)} state(s)")
        return
    for line in r.lines():
        info(line)


@click.command("view")
@click.argument("constituent", metavar="CONSTITUENT")
@click.option("--hdu", default=None, metavar="EXT",
              help="The table to plot from: an EXTNAME or an HDU number (default: the first "
                   "holding both columns).")
@click.option("--x", "x", default=None, metavar="COL", help="Column on the x axis.")
@click.option("--y", "y", default=None, metavar="COL", help="Column on the y axis.")
@click.option("--vs", "vs", multiple=True, metavar="OTHER",
              help="Overlay another issue of the same type (a path or a name; repeatable).")
@ccf_path_option
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Write the plot (.png, .svg or .pdf); without it, print the values.")
@json_option
def view_cmd(as_json: bool, **options: Any) -> None:
    """List CONSTITUENT's extensions and columns; with --x and --y, plot one column against
    another (as calview does), other issues overlaid with --vs."""
    r = api.view(**options, names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    if r.output is not None:
        assert r.plot is not None
        info(f"Wrote {r.output}: {r.plot.ylabel} against {r.plot.xlabel} for "
             f"{', '.join(s.label for s in r.plot.series)}")
        return
    for line in r.lines():
        info(line)


@click.command("notes")
@click.argument("constituents", nargs=-1, metavar="NAME...")
@release_notes_option
@json_option
def notes_cmd(as_json: bool, **options: Any) -> None:
    """Print the release note of each constituent NAME (EPN_CTI_0045.CCF) or type (EPN_CTI)."""
    r = api.notes(**options, names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    for line in r.lines():
        info(line)


@click.command("cite")
@click.argument("manifest", metavar="MANIFEST|BUNDLE")
@click.option("--doi", default=None, metavar="DOI",
              help="The DOI the bundle is published under (default: the bundle's cite-as).")
@click.option("--sas-version", "sas_version", default=None, metavar="V",
              help="The SAS version used (default: the one the manifest records).")
@json_option
def cite_cmd(as_json: bool, **options: Any) -> None:
    """Print a methods paragraph for MANIFEST (or a bundle directory), and a BibTeX entry when
    the bundle has a DOI."""
    r = api.cite(**options, names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    for line in r.lines():
        info(line)
