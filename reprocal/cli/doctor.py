"""``reprocal doctor``: what is in effect, and whether each is usable."""

from __future__ import annotations

from typing import Any

import click

from reprocal import api
from reprocal.cli._common import catalog_option, ccf_path_option, echo_json, info, json_option, option_names


@click.command("doctor")
@ccf_path_option
@catalog_option
@json_option
def doctor_cmd(as_json: bool, **options: Any) -> None:
    """What is in effect (SAS's environment variables, the repository, catalogue, caches,
    mirrors, SAS version, which cifbuild runs) and whether each is usable. Writes nothing,
    contacts no mirror; exit status 1 when something is not usable."""
    r = api.doctor(**options, names=option_names())
    if as_json:
        echo_json(r.to_json())
    else:
        for line in r.lines():
            info(line)
    if not r.ok:
        raise click.exceptions.Exit(1)
