"""``reprocal pin``, ``reprocal rebuild`` and ``reprocal manifest upgrade``: manifests."""

from __future__ import annotations

from typing import Any

import click

from reprocal import api
from reprocal.cli._common import (
    ccf_path_option,
    command_line,
    echo_json,
    info,
    json_option,
    mb,
    option_names,
    sign_option,
)
from reprocal.cli._progress import Bar
from reprocal.cli.core import scan_options

OBS_SHOWN = 5
"""Observation ids printed by pin without --json."""


@click.command("pin")
@click.option("--obs-date", metavar="DATE", help="Observation date.")
@click.option("--odf", metavar="PATH", help="ODF summary or directory (default: $SAS_ODF).")
@click.option("--obs-list", metavar="FILE.csv", help="Several observations: CSV with obs_id, "
              "obs_date or odf, and optional analysis_date columns.")
@click.option("--analysis-date", metavar="DATE|now", help="Analysis date; 'now' is resolved "
              "once and written as a literal.")
@click.option("--obs-id", metavar="ID", help="Label to record for the observation (usually its "
              "XMM ObsID; default: from the ODF). Labels are in no calibration id.")
@click.option("--category", default=api.DEFAULT_CATEGORY, show_default=True)
@click.option("--sas-version", metavar="V", help="The SAS version to record (default: what "
              "`sasversion` on PATH reports, else the release named in $SAS_DIR).")
@click.option("--allow-incomplete", is_flag=True,
              help="Pin even if newer eligible issues are known but missing locally.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Hashing threads.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Manifest to write.")
@click.option("--esas-caldb", "esas_caldb", metavar="DIR|TARBALL|URL", default=None,
              help="Also pin an ESAS calibration (caldb): a directory, or the tarball HEASARC "
                   "ships (a file or its URL), checked member by member and kept in "
                   "extras/esas-caldb/ of the repository.")
@click.option("--extra", "extras", multiple=True, metavar="[LABEL=]DIR|FILE",
              help="Also pin other calibration that is not in the CCF (repeatable); kept in "
                   "extras/LABEL/ of the repository.")
@scan_options
@sign_option
@json_option
def pin_cmd(as_json: bool, **options: Any) -> None:
    """Pin a calibration state: resolve, hash every selected file, write a manifest."""
    with Bar("pin") as progress:
        r = api.pin(**options, argv=command_line(), progress=progress, names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    m = r.manifest
    info(f"Pinned {len(m.observations)} observation(s), {len(m.files)} constituents "
         f"({mb(r.bytes)}) to {r.path}")
    info(f"state id {m.calibration_id}")
    if m.sas_version:
        info(f"SAS version {m.sas_version} (from {r.sas_version_source})")
    ids = r.observation_ids()
    for label, obs_id in ids[:OBS_SHOWN]:
        info(f"  observation {label}: {obs_id}")
    if len(ids) > OBS_SHOWN:
        info(f"  ... and {len(ids) - OBS_SHOWN} more (--json lists all)")
    for x in m.extras:
        info(f"  extra set {x.label} ({x.kind}): {len(x.files)} files ({mb(x.bytes)}), {x.id}")


@click.command("rebuild")
@click.argument("manifest", metavar="MANIFEST", type=click.Path(dir_okay=False))
@ccf_path_option
@click.option("-o", "--output", default="cif", show_default=True, type=click.Path(file_okay=False),
              help="Directory for OUT/<obs>/ccf.cif.")
@click.option("--fullpath", is_flag=True, help="Absolute paths in FNAME.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Hashing threads.")
@json_option
def rebuild_cmd(as_json: bool, **options: Any) -> None:
    """Rewrite each observation's CIF from a manifest alone (offline, no clock)."""
    with Bar("checking") as progress:
        r = api.rebuild(**options, progress=progress, names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    info(f"All {len(r.manifest.files)} pinned constituents present with their pinned sha256.")
    for c in r.cifs:
        info(f"Wrote {c.path} ({c.rows} constituents; observation id {c.observation_id})")
    for label, where in r.extras:
        info(f"Copied extra set {label} to {where}")
    if r.cifs:
        _print_exports(r)


def _print_exports(r: api.RebuildResult) -> None:
    """One ``export`` line per observation, absolute and quoted, to paste into the shell that
    runs SAS for it."""
    import os
    import shlex

    dirs = shlex.quote(":".join(os.path.abspath(d) for d in r.dirs))
    info("Use it (in the shell that runs SAS for each observation):")
    for c in r.cifs:
        info(f"  {c.label}: export SAS_CCFPATH={dirs} SAS_CCF={shlex.quote(os.path.abspath(c.path))}")


@click.group("manifest")
def manifest_group() -> None:
    """Manifest files: upgrade reprocal 0.1 manifests."""


@manifest_group.command("upgrade")
@click.argument("manifest", metavar="MANIFEST", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Where to write the version-2 manifest (default: replace MANIFEST, atomically).")
@json_option
def upgrade_cmd(manifest: str, output: str | None, as_json: bool) -> None:
    """Rewrite a manifest as version 2: the same constituents, the new ids, the old id kept."""
    r = api.upgrade_manifest(manifest, output=output)
    if as_json:
        echo_json(r.to_json())
        return
    was = f" (was {r.old.upgraded_from})" if r.old.upgraded_from else ""
    info(f"Wrote {r.path}: version 2, state id {r.new.calibration_id}{was}")


@click.command("response")
@click.argument("manifest", metavar="MANIFEST", type=click.Path(dir_okay=False))
@click.option("--source", required=True, metavar="DIR|URL",
              help="The canned-response area: a directory, or a mirror's extras/responses/ "
                   "(http(s) index pages are read).")
@click.option("--camera", required=True, metavar="pn|m1|m2", help="EPIC camera.")
@click.option("--mode", required=True, metavar="MODE",
              help="ff, ef, lw, sw, ti, bu (pn) or im, tu (MOS); with the ADU threshold to "
                   "choose between them (ff20).")
@click.option("--patterns", required=True, metavar="P",
              help="s, d, sd (pn); pall, p0, pA-B (MOS).")
@click.option("--position", required=True, metavar="POS",
              help="pn rows Y<n> (Y9 on-axis, Y5 centre of the CCD, Y0 edge of the field); "
                   "MOS c, w, o (centre, wings, off the patch).")
@click.option("--obs", multiple=True, metavar="LABEL",
              help="Observations of the manifest to choose for (repeatable; default: all).")
@click.option("--version", "version", default=None, metavar="V",
              help="Only matrices of this version token.")
@click.option("--epochs", default=None, metavar="TABLE.csv",
              help="Epochs camera,epoch,start,end[,source] replacing the package's for the "
                   "cameras they give (reprocal ships pn's three, from ESA's slides).")
@click.option("--label", default="responses", show_default=True,
              help="The set's label (kept in extras/LABEL/ of the repository).")
@ccf_path_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Manifest to write (may be MANIFEST itself).")
@json_option
def response_cmd(as_json: bool, **options: Any) -> None:
    """Choose the canned response matrix of each observation's epoch, say why, and pin it.

    ESA advises against canned matrices for analysis (they are for proposal preparation):
    rmfgen makes the matrix of an analysis. Pinning the one used makes a result that used one
    reproducible.
    """
    r = api.response(**options, names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    for c in r.chosen:
        info(f"{', '.join(c.observations)}: {c.path}")
        info(f"  because {c.choice.reason}")
    info(f"Pinned set {r.set.label} ({len(r.set.files)} files"
         + (", with Version.txt" if r.version_file else "") + f") to {r.output}")
    info(f"state id {r.manifest.calibration_id}")
