"""``reprocal pin`` and ``reprocal rebuild``: manifests."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from reprocal.cli._common import (
    cli,
    echo_json,
    info,
    json_option,
    option_ccf_dirs,
    sign_option,
    signer_of,
)
from reprocal.cli._progress import Bar
from reprocal.cli.core import analysis, observation, open_repository, report_gaps, scan_options
from reprocal.core._constituent import DEFAULT_CATEGORY
from reprocal.core._dates import resolve
from reprocal.core._names import check_label
from reprocal.errors import InputError
from reprocal.state._manifest import load_manifest, save_manifest
from reprocal.state._pin import ObsRequest, pin
from reprocal.state._rebuild import rebuild


def _requests(obs_date, odf, obs_list, analysis_date, obs_id) -> list[ObsRequest]:  # type: ignore[no-untyped-def]
    given = [x for x in (obs_date, odf, obs_list) if x]
    if len(given) > 1:
        raise InputError("give one of --obs-date, --odf, --obs-list")
    if obs_list:
        from reprocal.fits._odf import read_obs_list

        if obs_id:
            raise InputError("--obs-id goes with --obs-date/--odf, not --obs-list")
        default_an = resolve(analysis_date, field="--analysis-date") if analysis_date else None
        out = []
        for spec in read_obs_list(obs_list):
            raw = spec.analysis_date or None
            if raw is None and default_an is None:
                raise InputError(f"{obs_list}: observation {spec.obs_id or spec.obs_date} has no "
                                 "analysis_date and no --analysis-date was given")
            an = resolve(raw, field=f"{obs_list}: analysis_date") if raw else default_an
            assert an is not None
            out.append(ObsRequest(spec.obs_id, spec.obs_date, an))
        return out
    if not analysis_date:
        raise InputError("--analysis-date is required (a date, or 'now' to pin today's state)")
    if obs_id is not None:
        check_label(obs_id, field="--obs-id")
    found_id, obs = observation(obs_date, odf)
    return [ObsRequest(obs_id or found_id, obs, analysis(analysis_date, obs))]


@cli.command("pin")
@click.option("--obs-date", metavar="DATE", help="Observation date.")
@click.option("--odf", metavar="PATH", help="ODF summary or directory (default: $SAS_ODF).")
@click.option("--obs-list", metavar="FILE.csv", help="Several observations: CSV with obs_id, "
              "obs_date or odf, and optional analysis_date columns.")
@click.option("--analysis-date", metavar="DATE|now", help="Analysis date; 'now' is resolved "
              "once and written as a literal.")
@click.option("--obs-id", metavar="ID", help="Label to record for the observation (usually its "
              "XMM ObsID; default: from the ODF). Labels are in no calibration id.")
@click.option("--category", default=DEFAULT_CATEGORY, show_default=True)
@click.option("--sas-version", metavar="V", help="The SAS version you intend to use (recorded).")
@click.option("--allow-incomplete", is_flag=True,
              help="Pin even if newer eligible issues are known but missing locally.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Hashing threads.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Manifest to write.")
@scan_options
@sign_option
@json_option
def pin_cmd(obs_date, odf, obs_list, analysis_date, obs_id, category, sas_version,  # type: ignore[no-untyped-def]
            allow_incomplete, jobs, output, ccf_path, catalog_path, recurse, fileglob, sign_key,
            as_json):
    """Pin a calibration state: resolve, hash every selected file, write a manifest."""
    started = datetime.now(timezone.utc)
    signer = signer_of(sign_key)
    requests = _requests(obs_date, odf, obs_list, analysis_date, obs_id)
    with open_repository(ccf_path, catalog_path, recurse, fileglob) as repo, \
            Bar("hashing") as progress:
        manifest, resolutions = pin(repo, requests, category=category,
                                    allow_incomplete=allow_incomplete, sas_version=sas_version,
                                    jobs=jobs, progress=progress)
    for res in resolutions:
        report_gaps(res)
    save_manifest(manifest, output)
    _record("pin", output, manifest, started, signer)
    if as_json:
        echo_json({"manifest": str(Path(output).resolve()),
                   "calibration_id": manifest.calibration_id,
                   "observation_ids": {label: str(i) for label, i in
                                       zip(manifest.labels(), manifest.observation_ids,
                                           strict=True)},
                   "observations": len(manifest.observations),
                   "constituents": len(manifest.files),
                   "bytes": sum(f.size for f in manifest.files)})
    else:
        total = sum(f.size for f in manifest.files) / 1e6
        info(f"Pinned {len(manifest.observations)} observation(s), {len(manifest.files)} "
             f"constituents ({total:.1f} MB) to {output}")
        info(f"state id {manifest.calibration_id}")
        for label, obs_id in list(zip(manifest.labels(), manifest.observation_ids,
                                      strict=True))[:OBS_SHOWN]:
            info(f"  observation {label}: {obs_id}")
        if len(manifest.observations) > OBS_SHOWN:
            info(f"  ... and {len(manifest.observations) - OBS_SHOWN} more (--json lists all)")


OBS_SHOWN = 5
"""Observation ids printed by pin and rebuild without --json."""


def _record(command: str, output: str, manifest, started: datetime, signer) -> None:  # type: ignore[no-untyped-def]
    """Leave a provenance record of this command when the provenance module is present."""
    try:
        from reprocal.provenance._recorder import record_command
    except ImportError:
        return
    record_command(command, outputs=[output], manifest=manifest, started=started, signer=signer)


@cli.command("rebuild")
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(dir_okay=False))
@click.option("--ccf-path", default=None, metavar="DIRS",
              help="Colon-separated calibration directories (default: $SAS_CCFPATH).")
@click.option("-o", "--output", default="cif", show_default=True, type=click.Path(file_okay=False),
              help="Directory for OUT/<obs>/ccf.cif.")
@click.option("--fullpath", is_flag=True, help="Absolute paths in FNAME.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="Hashing threads.")
@json_option
def rebuild_cmd(manifest_path, ccf_path, output, fullpath, jobs, as_json):  # type: ignore[no-untyped-def]
    """Rewrite each observation's CIF from a manifest alone (offline, no clock)."""
    manifest = load_manifest(manifest_path)
    dirs = option_ccf_dirs(ccf_path)
    with Bar("checking", total=len(manifest.files)) as progress:
        cifs = rebuild(manifest, dirs, output, fullpath=fullpath, jobs=jobs, progress=progress)
    if as_json:
        echo_json({"calibration_id": manifest.calibration_id,
                   "cifs": [{"label": c.label, "observation_id": c.observation_id,
                             "path": str(c.path.resolve()), "rows": c.rows} for c in cifs]})
        return
    info(f"All {len(manifest.files)} pinned constituents present with their pinned sha256.")
    for c in cifs:
        info(f"Wrote {c.path} ({c.rows} constituents; observation id {c.observation_id})")
    if cifs:
        info(f"Use it: export SAS_CCFPATH={':'.join(map(str, dirs))} SAS_CCF={cifs[0].path}")



@cli.group("manifest")
def manifest_group() -> None:
    """Manifest files: upgrade reprocal 0.1 manifests."""


@manifest_group.command("upgrade")
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Where to write the version-2 manifest (default: replace MANIFEST, atomically).")
@json_option
def upgrade_cmd(manifest_path, output, as_json):  # type: ignore[no-untyped-def]
    """Rewrite a manifest as version 2: the same constituents, the new ids, the old id kept."""
    import warnings

    from reprocal.state._manifest import V1ManifestNotice, upgrade

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", V1ManifestNotice)
        old = load_manifest(manifest_path)
    new = upgrade(old)
    target = output or manifest_path
    save_manifest(new, target)
    if as_json:
        echo_json({"manifest": str(Path(target).resolve()), "from_schema": old.source_schema,
                   "calibration_id": new.calibration_id, "upgraded_from": new.upgraded_from})
        return
    was = f" (was {old.upgraded_from})" if old.upgraded_from else ""
    info(f"Wrote {target}: version 2, state id {new.calibration_id}{was}")
