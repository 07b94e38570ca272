"""``reprocal index``, ``reprocal cif``, ``reprocal show``: the calibration core."""

from __future__ import annotations

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
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate, resolve
from reprocal.errors import InputError
from reprocal.repo._repository import Repository
from reprocal.repo._resolve import Resolution
from reprocal.repo._walk import DEFAULT_GLOB


def scan_options(f):  # type: ignore[no-untyped-def]
    f = click.option("--recurse", is_flag=True, help="Also scan subdirectories (cifbuild recurse=yes).")(f)
    f = click.option("--fileglob", default=DEFAULT_GLOB, show_default=True,
                     help="File-name patterns, '|'-separated (as cifbuild's fileglob).")(f)
    return catalog_option(ccf_path_option(f))


def open_repository(ccf_path: str | None, catalog_path: str | None, recurse: bool,
                    fileglob: str) -> Repository:
    """Open and refresh the repository, with a progress bar on a terminal; the caller closes it
    (``with open_repository(...) as repo:``)."""
    dirs = option_ccf_dirs(ccf_path)
    with Bar("indexing") as progress:
        return Repository(dirs, catalog=catalog_path, recurse=recurse, fileglob=fileglob,
                          progress=progress)


def observation(obs_date: str | None, odf: str | None) -> tuple[str | None, CalDate]:
    """``--obs-date`` or ``--odf`` (exactly one; ``$SAS_ODF`` when neither): (obs id, date)."""
    from reprocal.fits._odf import observation_date

    if obs_date and odf:
        raise InputError("give --obs-date or --odf, not both")
    if obs_date:
        return None, CalDate.parse(obs_date, field="--obs-date")
    obs = observation_date(odf)
    return obs.obs_id, obs.start


def analysis(value: str, obs_date: CalDate) -> CalDate:
    """Resolve ``--analysis-date`` (``now`` read once here) and warn when before observation."""
    an = resolve(value, field="--analysis-date")
    if an < obs_date:
        warn(f"analysis date {an} is before the observation date {obs_date} "
             "(cifbuild only warns too); no calibration submitted after it will be used")
    return an


def report_gaps(res: Resolution) -> None:
    for gap in res.gaps:
        warn(gap.describe())
    if res.gaps:
        warn(f"{len(res.gaps)} newer eligible issue(s) missing: cifbuild would silently use "
             "older ones; `reprocal fetch` can fill the gaps")


def rows_json(rows: list[Constituent] | tuple[Constituent, ...]) -> list[dict[str, object]]:
    return [
        {"file": c.filename, "scope": c.scope, "typeid": c.typeid, "issue": c.issue,
         "valdate": str(c.valdate), "evaldate": str(c.evaldate) if c.evaldate else None,
         "subdate": str(c.subdate), "size": c.fsize}
        for c in rows
    ]


def print_rows(rows: list[Constituent] | tuple[Constituent, ...]) -> None:
    info(f"  {'SCOPE':<6} {'TYPEID':<18} {'ISSUE':>5}  {'VALDATE':<19}  {'VALDATE-END':<19}  SUBDATE")
    for c in rows:
        end = str(c.evaldate) if c.evaldate else "-"
        info(f"  {c.scope:<6} {c.typeid:<18} {c.issue:>5}  {c.valdate!s:<19}  {end:<19}  {c.subdate}")


@cli.command("index")
@scan_options
@click.option("--import-index", "imports", multiple=True, type=click.Path(dir_okay=False),
              help="Import a master index / CALINDEX table as expected content (repeatable).")
@click.option("--write-master-index", "mif", type=click.Path(dir_okay=False), default=None,
              help="Also write a master index file (one row per constituent present).")
@json_option
def index_cmd(ccf_path, catalog_path, recurse, fileglob, imports, mif, as_json):  # type: ignore[no-untyped-def]
    """Index the calibration repository (only new or changed files are read)."""
    with open_repository(ccf_path, catalog_path, recurse, fileglob) as repo:
        imported = {path: repo.import_index(path) for path in imports}
        if mif:
            from reprocal.fits._calindex import write_master_index

            write_master_index(mif, [lf.constituent for lf in repo.present()])
        report = repo.last_scan
        assert report is not None
        present = repo.present()
        expected = len(repo.catalog.expected())
    if as_json:
        doc = report.to_json()
        doc.update(catalog=str(repo.catalog.path), constituents=len(present),
                   types=len({lf.constituent.key for lf in present}),
                   imported=imported, expected=expected)
        echo_json(doc)
    else:
        info(f"Indexed {':'.join(map(str, repo.dirs))}: {len(present)} constituents of "
             f"{len({lf.constituent.key for lf in present})} types "
             f"({report.read} read, {report.unchanged} unchanged, {len(report.removed)} gone)")
        for path, n in imported.items():
            info(f"Imported {n} expected constituents from {path}")
        if mif:
            info(f"Wrote master index {mif}")
        for p in report.problems:
            warn(f"{p.kind}: {p.message} ({', '.join(p.paths)})")
    if not present:
        from reprocal.errors import RepositoryError

        raise RepositoryError(f"no calibration constituents in {':'.join(map(str, repo.dirs))}",
                              hint="check --ccf-path / SAS_CCFPATH and --fileglob")


@cli.command("cif")
@click.option("--obs-date", metavar="DATE", help="Observation date YYYY-MM-DD[Thh:mm:ss].")
@click.option("--odf", metavar="PATH", help="ODF summary (*SUM.SAS/*SUM.ASC) or directory "
              "(default: $SAS_ODF).")
@click.option("--analysis-date", default="now", show_default=True, metavar="DATE|now",
              help="Only calibration submitted by this date is used.")
@click.option("--category", default=DEFAULT_CATEGORY, show_default=True)
@click.option("--ignore-category", is_flag=True, help="Select regardless of CATEGORY.")
@click.option("--fullpath", is_flag=True, help="Write absolute paths in FNAME (default: base names).")
@click.option("-o", "--output", default="ccf.cif", show_default=True, type=click.Path(dir_okay=False))
@click.option("--master-index", "mif", type=click.Path(dir_okay=False), default=None,
              help="Select from a master index file instead of the files (cifbuild masterindex=yes; "
              "its documented rule omits the end-of-validity test).")
@scan_options
@json_option
def cif_cmd(obs_date, odf, analysis_date, category, ignore_category, fullpath, output, mif,  # type: ignore[no-untyped-def]
            ccf_path, catalog_path, recurse, fileglob, as_json):
    """Write the CIF cifbuild would write for an observation and analysis date, offline."""
    obs_id, obs = observation(obs_date, odf)
    an = analysis(analysis_date, obs)
    gaps: list[str] = []
    if mif:
        from reprocal.core._select import select
        from reprocal.fits._calindex import read_calindex, write_cif

        if fullpath:
            raise InputError("--fullpath needs the files; it does not go with --master-index")
        chosen = select(read_calindex(mif).rows, obs, an, category=category,
                        ignore_category=ignore_category, master_index=True).chosen
        write_cif(output, chosen, obs_date=obs, analysis_date=an, category=category)
    else:
        with open_repository(ccf_path, catalog_path, recurse, fileglob) as repo:
            res = repo.resolve(obs, an, category=category, ignore_category=ignore_category)
            report_gaps(res)
            repo.write_cif(res, output, fullpath=fullpath)
        chosen, gaps = res.chosen, [g.describe() for g in res.gaps]
    if as_json:
        echo_json({"output": str(Path(output).resolve()), "obs_id": obs_id,
                   "obs_date": str(obs), "analysis_date": str(an), "category": category,
                   "constituents": rows_json(chosen), "gaps": gaps})
    else:
        info(f"Wrote {output}: {len(chosen)} constituents for observation "
             f"{obs_id + ' ' if obs_id else ''}{obs}, analysis date {an} ({category})")


@cli.command("show")
@click.argument("path", type=click.Path(dir_okay=False))
@json_option
def show_cmd(path, as_json):  # type: ignore[no-untyped-def]
    """List the CALINDEX of a CIF, event list, master index or product."""
    from reprocal.fits._calindex import read_calindex

    table = read_calindex(path)
    if as_json:
        echo_json({"path": path, "category": table.category,
                   "obs_date": str(table.obs_date) if table.obs_date else None,
                   "analysis_date": str(table.analysis_date) if table.analysis_date else None,
                   "constituents": rows_json(table.rows)})
        return
    info(f"{path}: {len(table.rows)} constituents; OBSVDATE {table.obs_date or '-'}, "
         f"ANALDATE {table.analysis_date or '-'}, CATEGORY {table.category or '-'}")
    print_rows(table.rows)
