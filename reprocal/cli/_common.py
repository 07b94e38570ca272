"""Shared pieces of the CLI: the root group, common options, output helpers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from reprocal._version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reprocal")
def cli() -> None:
    """Reproducible XMM-Newton calibration: pin, rebuild, verify, fetch, package, audit."""


def ccf_path_option(f: Any) -> Any:
    """``--ccf-path``: colon-separated directories; defaults to ``$SAS_CCFPATH``."""
    return click.option(
        "--ccf-path",
        "ccf_path",
        default=None,
        metavar="DIRS",
        help="Colon-separated calibration directories (default: $SAS_CCFPATH).",
    )(f)


def option_ccf_dirs(ccf_path: str | None, *, create_first: bool = False) -> tuple[Path, ...]:
    """The directories of ``--ccf-path`` (``None``: ``$SAS_CCFPATH``), by the one parser
    (:func:`reprocal.repo._ccfpath.ccf_dirs`), its errors naming ``--ccf-path``."""
    from reprocal.repo._ccfpath import ccf_dirs

    return ccf_dirs(ccf_path, option="--ccf-path", create_first=create_first)


def catalog_option(f: Any) -> Any:
    return click.option(
        "--catalog",
        "catalog_path",
        default=None,
        metavar="FILE",
        help="Catalogue database (default: $REPROCAL_CATALOG or the user cache directory).",
    )(f)


def json_option(f: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(f)


def echo_json(data: Any) -> None:
    """Canonical JSON on stdout (sorted keys), one document."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def warn(message: str) -> None:
    click.echo(f"reprocal: warning: {message}", err=True)


def info(message: str) -> None:
    click.echo(message)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def sign_option(f: Any) -> Any:
    """``--sign KEY``: write the provenance record as a DSSE envelope signed with KEY."""
    return click.option("--sign", "sign_key", default=None, metavar="KEY",
                        type=click.Path(dir_okay=False),
                        help="Sign the provenance record with this private key (a DSSE "
                             "envelope; make keys with `reprocal key generate`).")(f)


def key_option(f: Any) -> Any:
    """``--key PUB`` (repeatable): records must carry a signature one of these verifies."""
    return click.option("--key", "key_paths", multiple=True, metavar="PUB",
                        type=click.Path(dir_okay=False),
                        help="Require records signed by this public key (repeatable: any one "
                             "of them); a bad or missing signature fails (exit 1).")(f)


def signer_of(path: str | None) -> Any:
    """The signer of ``--sign`` (loaded before any work, so a bad key fails first)."""
    if path is None:
        return None
    from reprocal.provenance._signature import load_signer

    return load_signer(path)


def public_keys(paths: tuple[str, ...]) -> tuple[Any, ...]:
    from reprocal.provenance._signature import load_public_key

    return tuple(load_public_key(p) for p in paths)
