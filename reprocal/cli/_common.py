"""Shared pieces of the CLI: the lazily loading group, common options, how errors name options,
output helpers."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from reprocal.errors import Names


class LazyGroup(click.Group):
    """A group whose commands are imported when used, from a ``name -> "module:attr"`` map
    (click's "lazily loading subcommands" pattern): ``reprocal --version`` imports no command
    and ``reprocal pin --help`` only ``pin``'s; ``--help`` of the group lists them all."""

    def __init__(self, *args: Any, lazy: Mapping[str, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module, _, attr = self.lazy[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), attr)
        if not isinstance(command, click.Command):  # pragma: no cover - a wrong map entry
            raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
        return command


def option_names(ctx: click.Context | None = None) -> Names:
    """How errors of the API spell the parameters of the running command: each by the option
    (its first spelling: ``-o``, ``--ccf-path``) or argument (``MANIFEST``) whose value it is.
    Options are named after the API's parameters, so the map is read off the command."""
    ctx = ctx or click.get_current_context()
    spelled: dict[str, str] = {}
    for p in ctx.command.params:
        if p.name is None:
            continue
        if isinstance(p, click.Option):
            spelled[p.name] = p.opts[0]
        elif isinstance(p, click.Argument):
            spelled[p.name] = p.human_readable_name.strip("[]").rstrip(".")
    return Names(spelled)


def command_line(ctx: click.Context | None = None) -> list[str]:
    """The command line being run, as provenance records give it (``reprocal pin ...``)."""
    ctx = ctx or click.get_current_context()
    obj = ctx.find_root().obj
    args = obj.get("argv") if isinstance(obj, dict) else None
    return ["reprocal", *(sys.argv[1:] if args is None else args)]


def ccf_path_option(f: Any) -> Any:
    """``--ccf-path``: colon-separated directories; defaults to ``$SAS_CCFPATH``."""
    return click.option(
        "--ccf-path",
        "ccf_path",
        default=None,
        metavar="DIRS",
        help="Colon-separated calibration directories (default: $SAS_CCFPATH).",
    )(f)


def catalog_option(f: Any) -> Any:
    return click.option(
        "--catalog",
        "catalog",
        default=None,
        metavar="FILE",
        help="Catalogue database (default: $REPROCAL_CATALOG or the user cache directory).",
    )(f)


def json_option(f: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(f)


def echo_json(data: Any) -> None:
    """Canonical JSON on stdout (sorted keys), one document; noted in the context, so an error
    after it does not print a second one."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    if isinstance(obj, dict):
        obj["json_printed"] = True


def warn(message: str) -> None:
    click.echo(f"reprocal: warning: {message}", err=True)


def info(message: str) -> None:
    click.echo(message)


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def stderr_is_tty() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def sign_option(f: Any) -> Any:
    """``--sign KEY``: write the provenance record as a DSSE envelope signed with KEY."""
    return click.option("--sign", "sign", default=None, metavar="KEY",
                        type=click.Path(dir_okay=False),
                        help="Sign the provenance record with this private key (a DSSE "
                             "envelope; make keys with `reprocal key generate`).")(f)


def key_option(f: Any) -> Any:
    """``--key PUB`` (repeatable): records must carry a signature one of these verifies."""
    return click.option("--key", "keys", multiple=True, metavar="PUB",
                        type=click.Path(dir_okay=False),
                        help="Require records signed by this public key (repeatable: any one "
                             "of them); a bad or missing signature fails (exit 1).")(f)
