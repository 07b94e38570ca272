"""``reprocal run``: run a command, stamp its FITS outputs, write its provenance record."""

from __future__ import annotations

import click

from reprocal import api
from reprocal.cli._common import echo_json, json_option, option_names, sign_option, warn


@click.command("run", context_settings={"ignore_unknown_options": True,
                                        "allow_interspersed_args": False})
@click.option("--manifest", "manifest", type=click.Path(dir_okay=False), default=None,
              help="The manifest whose calibration the command uses (recorded, stamped).")
@click.option("--image", default=None, metavar="IMAGE.tar|NAME",
              help="Run inside this calibration image (through the Docker daemon).")
@click.option("--record", "record", type=click.Path(dir_okay=False), default=None,
              help="Where to write the record (default: <first output>.prov.json, else "
                   "reprocal-run-<time>.json).")
@click.option("--output", "outputs", multiple=True, type=click.Path(dir_okay=False),
              help="An output file (repeatable), in addition to files created or modified in "
                   "the working directory.")
@click.option("--no-stamp", is_flag=True, help="Do not stamp FITS outputs.")
@sign_option
@json_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run_cmd(manifest: str | None, image: str | None, record: str | None,
            outputs: tuple[str, ...], no_stamp: bool, sign: str | None, as_json: bool,
            command: tuple[str, ...]) -> None:
    """Run COMMAND (after `--`), stamp its FITS outputs and write a provenance record.

    Exits with the command's own exit status, or 1 when it succeeded but a FITS output could
    not be stamped (read-only, truncated, damaged).
    """
    argv = list(command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    r = api.run(argv, manifest=manifest, image=image, record=record, outputs=outputs,
                stamp=not no_stamp, sign=sign, names=option_names())
    if as_json:
        echo_json(r.to_json())
    else:
        x = r.run
        click.echo(f"reprocal: {len(x.outputs)} output(s), {len(x.stamped)} stamped; "
                   f"record {x.record_path} (exit status {x.exit_status})", err=True)
        for p, why in x.not_stamped:
            warn(f"{p} not stamped: {why}")
    raise click.exceptions.Exit(r.exit_code)
