"""``reprocal index``, ``reprocal cif``, ``reprocal show``: the calibration core."""

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
    warn,
)
from reprocal.cli._progress import Bar


def scan_options(f: Any) -> Any:
    f = click.option("--recurse", is_flag=True, help="Also scan subdirectories (cifbuild recurse=yes).")(f)
    f = click.option("--fileglob", default=api.DEFAULT_GLOB, show_default=True,
                     help="File-name patterns, '|'-separated (as cifbuild's fileglob).")(f)
    return catalog_option(ccf_path_option(f))


def print_rows(rows: Any) -> None:
    info(f"  {'SCOPE':<6} {'TYPEID':<18} {'ISSUE':>5}  {'VALDATE':<19}  {'VALDATE-END':<19}  SUBDATE")
    for c in rows:
        end = str(c.evaldate) if c.evaldate else "-"
        info(f"  {c.scope:<6} {c.typeid:<18} {c.issue:>5}  {c.valdate!s:<19}  {end:<19}  {c.subdate}")


@click.command("index")
@scan_options
@click.option("--import-index", "import_index", multiple=True, type=click.Path(dir_okay=False),
              help="Import a master index / CALINDEX table as expected content (repeatable).")
@click.option("--write-master-index", "write_master_index", type=click.Path(dir_okay=False),
              default=None,
              help="Also write a master index file (one row per constituent present).")
@click.option("--rebuild", is_flag=True,
              help="Start the catalogue afresh (a damaged one is moved aside to NAME.damaged).")
@json_option
def index_cmd(as_json: bool, **options: Any) -> None:
    """Index the calibration repository (only new or changed files are read)."""
    with Bar("indexing") as progress:
        r = api.index(**options, progress=progress, names=option_names())
    if as_json:
        echo_json(r.to_json())
    else:
        info(f"Indexed {':'.join(map(str, r.dirs))}: {r.constituents} constituents of "
             f"{r.types} types ({r.report.read} read, {r.report.unchanged} unchanged, "
             f"{len(r.report.removed)} gone)")
        for path, n in r.imported.items():
            info(f"Imported {n} expected constituents from {path}")
        if r.master_index:
            info(f"Wrote master index {r.master_index}")
        for p in r.report.problems:
            warn(f"{p.kind}: {p.message} ({', '.join(p.paths)})")
    r.raise_if_failed()


@click.command("cif")
@click.option("--obs-date", metavar="DATE", help="Observation date YYYY-MM-DD[Thh:mm:ss].")
@click.option("--odf", metavar="PATH", help="ODF summary (*SUM.SAS/*SUM.ASC) or directory "
              "(default: $SAS_ODF).")
@click.option("--analysis-date", default="now", show_default=True, metavar="DATE|now",
              help="Only calibration submitted by this date is used.")
@click.option("--category", default=api.DEFAULT_CATEGORY, show_default=True)
@click.option("--ignore-category", is_flag=True, help="Select regardless of CATEGORY.")
@click.option("--fullpath", is_flag=True, help="Write absolute paths in FNAME (default: base names).")
@click.option("-o", "--output", default="ccf.cif", show_default=True, type=click.Path(dir_okay=False))
@click.option("--master-index", "master_index", type=click.Path(dir_okay=False), default=None,
              help="Select from a master index file instead of the files (cifbuild masterindex=yes; "
              "its documented rule omits the end-of-validity test).")
@click.option("--held-on", "held_on", default=None, metavar="DATE|now",
              help="Select only among the files the repository's mirror history says it held "
                   "then: the CIF cifbuild would have written that day.")
@scan_options
@json_option
def cif_cmd(as_json: bool, **options: Any) -> None:
    """Write the CIF cifbuild would write for an observation and analysis date, offline."""
    with Bar("indexing") as progress:
        r = api.cif(**options, progress=progress, names=option_names())
    if as_json:
        echo_json(r.to_json())
    else:
        info(f"Wrote {r.output}: {len(r.constituents)} constituents for observation "
             f"{r.obs_id + ' ' if r.obs_id else ''}{r.obs_date}, analysis date "
             f"{r.analysis_date} ({r.category})")


@click.command("show")
@click.argument("path", type=click.Path(dir_okay=False))
@json_option
def show_cmd(path: str, as_json: bool) -> None:
    """List the CALINDEX of a CIF, event list, master index or product."""
    r = api.show(path)
    if as_json:
        echo_json(r.to_json())
        return
    t = r.table
    info(f"{path}: {len(t.rows)} constituents; OBSVDATE {t.obs_date or '-'}, "
         f"ANALDATE {t.analysis_date or '-'}, CATEGORY {t.category or '-'}")
    print_rows(t.rows)
