"""``reprocal run``: run a command with the manifest's calibration, stamp its FITS outputs,
write its provenance record."""

from __future__ import annotations

import click

from reprocal import api
from reprocal.cli._common import (
    ccf_path_option,
    echo_json,
    json_option,
    option_names,
    sign_option,
    warn,
)


@click.command("run", context_settings={"ignore_unknown_options": True,
                                        "allow_interspersed_args": False})
@click.option("--manifest", "manifest", type=click.Path(dir_okay=False), default=None,
              help="Give the command this manifest's calibration: its CIF (written for the "
                   "run), SAS_CCF, SAS_CCFPATH and REPROCAL_CALIBRATION_ID exported; recorded "
                   "and stamped.")
@click.option("--obs", "obs", default=None, metavar="LABEL",
              help="The manifest observation to use (needed when it holds several).")
@ccf_path_option
@click.option("--use-env-ccf", "use_env_ccf", is_flag=True,
              help="Run with the SAS_CCF the shell has set, even if it is not the manifest's "
                   "(the record and stamp then describe that CIF).")
@click.option("--cif", "cif", type=click.Path(dir_okay=False), default=None,
              help="Write the CIF the command gets here and keep it (default: a private "
                   "directory, removed after the run).")
@click.option("--image", default=None, metavar="IMAGE.tar|NAME",
              help="Run inside this calibration image (through the Docker daemon).")
@click.option("--record", "record", type=click.Path(dir_okay=False), default=None,
              help="Where to write the record (default: <first output>.prov.json, else "
                   "reprocal-run-<time>.json).")
@click.option("--output", "outputs", multiple=True, type=click.Path(dir_okay=False),
              help="An output file (repeatable), in addition to files created or modified in "
                   "the working directory.")
@click.option("--no-stamp", is_flag=True, help="Do not stamp FITS outputs.")
@click.option("--jobs", type=click.IntRange(1, 64), default=None,
              help="Threads checking the manifest's constituents.")
@sign_option
@json_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run_cmd(manifest: str | None, obs: str | None, ccf_path: str | None, use_env_ccf: bool,
            cif: str | None, image: str | None, record: str | None, outputs: tuple[str, ...],
            no_stamp: bool, jobs: int | None, sign: str | None, as_json: bool,
            command: tuple[str, ...]) -> None:
    """Run COMMAND (after `--`), stamp its FITS outputs and write a provenance record.

    Exits with the command's own exit status, or 1 when it succeeded but a FITS output could
    not be stamped (read-only, truncated, damaged). With --json, the command's standard output
    goes to standard error, so that standard output holds one JSON document (an error too).
    """
    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    r = api.run(argv, manifest=manifest, obs=obs, ccf_path=ccf_path, use_env_ccf=use_env_ccf,
                cif=cif, image=image, record=record, outputs=outputs, stamp=not no_stamp,
                jobs=jobs, sign=sign, stdout_to_stderr=as_json, names=option_names())
    if as_json:
        echo_json(r.to_json())
    else:
        x = r.run
        click.echo(f"reprocal: {len(x.outputs)} output(s), {len(x.stamped)} stamped; "
                   f"record {x.record_path} (exit status {x.exit_status})", err=True)
        for p, why in x.not_stamped:
            warn(f"{p} not stamped: {why}")
    raise click.exceptions.Exit(r.exit_code)
