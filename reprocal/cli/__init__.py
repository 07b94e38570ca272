"""The ``reprocal`` command: a thin shell over the Python API.

Each command group lives in its own module and registers itself on :data:`main`. Errors are
mapped to exit codes by :func:`run` (see :mod:`reprocal.errors`): one line on stderr, no traceback.
"""

from __future__ import annotations

import sys
import warnings

import click

from reprocal._version import __version__
from reprocal.cli._common import cli
from reprocal.errors import EXIT_CODES, ReprocalError, ReprocalNotice


def _epilog() -> str:
    rows = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())
    return f"\b\nExit codes:\n{rows}"


# Importing the command modules registers their commands on `cli`.
from reprocal.cli import core, fetch, image, manifest, provenance, record, verify  # noqa: E402,F401

cli.epilog = _epilog()


def _show_notice(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    """Notices are one ``reprocal: note:`` line; other warnings keep Python's format."""
    if issubclass(category, ReprocalNotice):
        click.echo(f"reprocal: note: {' '.join(str(message).split())}", err=True)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising (``python -m reprocal``)."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_notice
        warnings.simplefilter("default", ReprocalNotice)
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    try:
        rv = cli.main(args=argv, prog_name="reprocal", standalone_mode=False)
    except ReprocalError as exc:
        click.echo(f"reprocal: error: {exc.one_line()}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        where = f"; see '{exc.ctx.command_path} --help'" if exc.ctx else ""
        click.echo(f"reprocal: error: {exc.format_message().rstrip('.')}{where}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"reprocal: error: {exc.format_message()}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("reprocal: interrupted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("reprocal: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    return rv if isinstance(rv, int) else 0


__all__ = ["cli", "main", "__version__"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
