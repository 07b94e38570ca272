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
from reprocal.errors import InputError


def scan_options(f: Any) -> Any:
    f = click.option("--recurse", is_flag=True, help="Also scan subdirectories (cifbuild recurse=yes).")(f)
    f = click.option("--fileglob", default=api.DEFAULT_GLOB, show_default=True,
                     help="File-name patterns, '|'-separated (as cifbuild's fileglob).")(f)
    return catalog_option(ccf_path_option(f))


def print_rows(rows: Any, fnames: Any = None) -> None:
    info(f"  {'SCOPE':<6} {'TYPEID':<18} {'ISSUE':>5}  {'VALDATE':<19}  {'VALDATE-END':<19}  "
         f"{'SUBDATE':<19}" + ("  FNAME" if fnames is not None else ""))
    for i, c in enumerate(rows):
        end = str(c.evaldate) if c.evaldate else "-"
        fname = f"  {fnames[i]}" if fnames is not None else ""
        info(f"  {c.scope:<6} {c.typeid:<18} {c.issue:>5}  {c.valdate!s:<19}  {end:<19}  "
             f"{c.subdate!s:<19}{fname}".rstrip())


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
    elif r.ok:  # an empty repository is the error alone, not a count of nothing first
        info(f"Indexed {':'.join(map(str, r.dirs))}: {r.constituents} constituents of "
             f"{r.types} types ({r.report.read} read, {r.report.unchanged} unchanged, "
             f"{len(r.report.removed)} gone)")
        for path, n in r.imported.items():
            info(f"Imported {n} expected constituents from {path}")
        if r.master_index:
            info(f"Wrote master index {r.master_index}")
    if not as_json:
        for p in r.report.problems:
            warn(f"{p.kind}: {p.message} ({', '.join(p.paths)})")
    r.raise_if_failed()


CIF_SPELLINGS = {
    "analysisdate": "analysis_date", "observationdate": "obs_date", "calindexset": "output",
    "fullpath": "fullpath", "category": "category", "ignorecategory": "ignore_category",
    "recurse": "recurse", "fileglob": "fileglob", "ccfpath": "ccf_path",
    "masterindexset": "master_index",
}
"""cifbuild's parameter -> the ``cif`` option taking the same value."""
CIF_SWITCHES = {"withccfpath", "withobservationdate", "withmasterindexset"}
"""cifbuild's switches: ``cif`` has none (giving the value is enough)."""


def _sas_style(ctx: click.Context, options: dict[str, Any], sas_params: tuple[str, ...]) -> None:
    """``reprocal cif analysisdate=...``: cifbuild's spelling, read as the option it names,
    with a note saying so; what ``cif`` has no option for is refused, naming ``reprocal
    cifbuild``, which takes cifbuild's parameters as they are."""
    from reprocal.cli._sastask import boolean, parse

    task = parse(sas_params, [*CIF_SPELLINGS, *CIF_SWITCHES, *(p.name for p in api.CIFBUILD_PARAMETERS)],
                 task="reprocal cif", described_by="reprocal cifbuild -h")
    if task.options:
        raise InputError(f"reprocal cif: {', '.join('--' + o for o in task.options)} is a SAS "
                         "task option; run `reprocal cifbuild` (or reprocal-cifbuild) for "
                         "cifbuild's syntax")
    opts = {p.name: p for p in ctx.command.params if isinstance(p, click.Option)}
    for name, value in task.params.items():
        if name in CIF_SWITCHES:
            boolean(name, value)  # a switch: giving its value is what turns it on here
            continue
        if name not in CIF_SPELLINGS:
            raise InputError(f"{name}= is a cifbuild parameter `reprocal cif` has no option for",
                             hint="run `reprocal cifbuild` (or reprocal-cifbuild), which takes "
                                  "cifbuild's parameters as they are")
        param = CIF_SPELLINGS[name]
        option = opts[param].opts[-1]
        got: Any = boolean(name, value) if opts[param].is_flag else value
        if param == "ccf_path":
            got = ":".join(api.split_ccfpath(value))
        if (ctx.get_parameter_source(param) is click.core.ParameterSource.COMMANDLINE
                and options[param] != got):
            raise InputError(f"{name}={value} and {option} {options[param]} disagree",
                             hint="give one of them")
        options[param] = got
        shown = option if opts[param].is_flag else f"{option} {got}"
        click.echo(f"reprocal: note: {name}={value} is cifbuild's spelling; reprocal cif reads "
                   f"it as {shown if got is not False else 'no ' + option} (reprocal cifbuild "
                   "takes cifbuild's parameters as they are)", err=True)


@click.command("cif")
@click.argument("sas_params", nargs=-1, metavar="[name=value]...")
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
              help="Select from a master index file instead of the files (cifbuild "
              "withmasterindexset=yes; its documented rule omits the end-of-validity test).")
@click.option("--held-on", "held_on", default=None, metavar="DATE|now",
              help="Select only among the files the repository's mirror history says it held "
                   "then: the CIF cifbuild would have written that day.")
@scan_options
@json_option
def cif_cmd(as_json: bool, sas_params: tuple[str, ...], **options: Any) -> None:
    """Write the CIF cifbuild would write for an observation and analysis date, offline.

    cifbuild's spelling (analysisdate=DATE, calindexset=FILE, ...) is read as the matching
    option, with a note; `reprocal cifbuild` takes cifbuild's parameters as they are."""
    if sas_params:
        _sas_style(click.get_current_context(), options, sas_params)
    with Bar("indexing") as progress:
        r = api.cif(**options, progress=progress, names=option_names())
    if as_json:
        echo_json(r.to_json())
    else:
        info(f"Wrote {r.output}: {len(r.constituents)} constituents for observation "
             f"{r.obs_id + ' ' if r.obs_id else ''}{r.obs_date}, analysis date "
             f"{r.analysis_date} ({r.category})")


@click.command("show")
@click.argument("path", type=click.Path(dir_okay=False), required=False)
@click.option("--scope", default=None, help="Only this calibration scope (EPN, EMOS1, RGS1, ...).")
@click.option("--type", "typeid", default=None, help="Only this calibration type (CTI, REDIST, ...).")
@json_option
def show_cmd(as_json: bool, **options: Any) -> None:
    """List the CALINDEX of a CIF, event list, master index or product (default: $SAS_CCF),
    or each observation's constituents of a manifest (M.json)."""
    r = api.show(**options, names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    for label, t in r.tables:
        what = f"{r.path} observation {label}" if r.manifest else r.path
        info(f"{what}: {len(t.rows)} constituents; OBSVDATE {t.obs_date or '-'}, "
             f"ANALDATE {t.analysis_date or '-'}, CATEGORY {t.category or '-'}")
        print_rows(t.rows, t.fnames)
