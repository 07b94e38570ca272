"""The ``reprocal`` command: a thin shell over the Python API (:mod:`reprocal.api`).

Each command parses its options, calls one API function, prints the result (text, or the
result's ``to_json()`` with ``--json``) and maps the outcome to an exit code. Command groups
live in their own modules, imported only when their command runs (:class:`LazyGroup`). Errors
are mapped to exit codes by :func:`main` (see :mod:`reprocal.errors`): one line on stderr, no
traceback; warnings are ``reprocal: warning:`` lines, notices ``reprocal: note:`` lines.
"""

from __future__ import annotations

import contextvars
import os
import sys
import warnings

import click

from reprocal._version import __version__, version_text
from reprocal.cli._common import LazyGroup, echo_json
from reprocal.errors import (
    EXIT_CODES,
    LocalIOError,
    ReprocalError,
    ReprocalNotice,
    ReprocalWarning,
)

COMMANDS = {
    "index": "reprocal.cli.core:index_cmd",
    "cif": "reprocal.cli.core:cif_cmd",
    "cifbuild": "reprocal.cli.cifbuild:cifbuild_cmd",
    "show": "reprocal.cli.core:show_cmd",
    "pin": "reprocal.cli.manifest:pin_cmd",
    "rebuild": "reprocal.cli.manifest:rebuild_cmd",
    "response": "reprocal.cli.manifest:response_cmd",
    "manifest": "reprocal.cli.manifest:manifest_group",
    "verify": "reprocal.cli.verify:verify_cmd",
    "fetch": "reprocal.cli.fetch:fetch_cmd",
    "unused": "reprocal.cli.fetch:unused_cmd",
    "sync": "reprocal.cli.mirror:sync_cmd",
    "history": "reprocal.cli.mirror:history_cmd",
    "fingerprint": "reprocal.cli.mirror:fingerprint_cmd",
    "image": "reprocal.cli.image:image",
    "run": "reprocal.cli.run:run_cmd",
    "diff": "reprocal.cli.audit:diff_cmd",
    "audit": "reprocal.cli.audit:audit_cmd",
    "bundle": "reprocal.cli.bundle:bundle",
    "key": "reprocal.cli.record:key",
    "record": "reprocal.cli.record:record",
    "timeline": "reprocal.cli.report:timeline_cmd",
    "view": "reprocal.cli.report:view_cmd",
    "notes": "reprocal.cli.report:notes_cmd",
    "cite": "reprocal.cli.report:cite_cmd",
    "doctor": "reprocal.cli.doctor:doctor_cmd",
}
"""Command name -> ``module:attribute`` of its click command."""


def _epilog() -> str:
    rows = "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())
    return f"\b\nExit codes:\n{rows}"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


@click.group(cls=LazyGroup, lazy=COMMANDS, epilog=_epilog(),
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_print_version,
              help="Show the version (and the git commit when run from a checkout) and exit.")
@click.option("--limit", "limits", multiple=True, metavar="NAME=VALUE",
              help="Change a bound on what is read (repeatable; also $REPROCAL_LIMITS): "
                   "download-size, min-rate, rate-window, file-deadline, connect-timeout, "
                   "read-timeout, document-size, json-depth, header-size, table-size, "
                   "unpacked-size, index-depth, catalog-wait (defaults: the README's "
                   "reliability section).")
def cli(limits: tuple[str, ...]) -> None:
    """Reproducible XMM-Newton calibration: pin, rebuild, verify, fetch, package, audit."""
    env = os.environ.get("REPROCAL_LIMITS")
    if limits or env:  # the defaults need nothing loaded (`--version`, `--help` stay light)
        from reprocal import api

        api.set_limits(api.Limits.from_env(env, limits))


def _show_warning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    """reprocal's warnings and notices are one line each; other warnings keep Python's format."""
    text = " ".join(str(message).split())
    if issubclass(category, ReprocalWarning):
        click.echo(f"reprocal: warning: {text}", err=True)
    elif issubclass(category, ReprocalNotice):
        click.echo(f"reprocal: note: {text}", err=True)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code instead of raising (``python -m reprocal``).

    Runs in a fresh copy of the caller's context, so what a command sets there (the limits of
    ``--limit``) ends with it."""
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            warnings.simplefilter("default", ReprocalNotice)
            warnings.simplefilter("always", ReprocalWarning)
            args = sys.argv[1:] if argv is None else list(argv)
            return contextvars.copy_context().run(_main, args)
    except KeyboardInterrupt:  # Ctrl-C while the handlers themselves were being set up
        _last_line("reprocal: interrupted")
        return 130


def _invoke(argv: list[str], obj: dict[str, object]) -> object:
    """Parse and run, as ``click``'s ``main`` does but leaving every exception to
    :func:`_main` (click's own handling exits 1 on a closed pipe and prints a blank line on
    Ctrl-C)."""
    with cli.make_context("reprocal", list(argv), obj=obj) as ctx:
        return cli.invoke(ctx)


def wants_json(argv: list[str]) -> bool:
    """Whether the command line asks for ``--json`` (before a ``--``: what follows is a
    command's, as with ``reprocal run``).

    >>> wants_json(["run", "--json", "--", "x"]), wants_json(["run", "--", "x", "--json"])
    (True, False)
    """
    return "--json" in (argv[:argv.index("--")] if "--" in argv else argv)


def _error(message: str, code: int, kind: str, obj: dict[str, object], argv: list[str]) -> int:
    """One ``reprocal: error:`` line on stderr; under ``--json``, unless the command already
    printed its document, the error as the one JSON document on stdout too."""
    _last_line(f"reprocal: error: {message}")
    if wants_json(argv) and not obj.get("json_printed"):
        try:
            echo_json({"error": {"message": message, "exit_code": code, "kind": kind}})
        except (OSError, ValueError):
            pass
    return code


def _main(argv: list[str]) -> int:
    obj: dict[str, object] = {"argv": argv}
    try:
        rv = _invoke(argv, obj)
    except ReprocalError as exc:
        return _error(exc.one_line(), exc.exit_code, type(exc).__name__, obj, argv)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.UsageError as exc:
        where = f"; see '{exc.ctx.command_path} --help'" if exc.ctx else ""
        return _error(f"{exc.format_message().rstrip('.')}{where}", 2, "UsageError", obj, argv)
    except click.ClickException as exc:
        return _error(exc.format_message(), 2, "UsageError", obj, argv)
    except click.exceptions.Abort:
        click.echo("reprocal: interrupted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("reprocal: interrupted", err=True)
        return 130
    except BrokenPipeError:  # a reader that closed the pipe early (`| head`) is not an error
        from click.utils import PacifyFlushWrapper

        sys.stdout = PacifyFlushWrapper(sys.stdout)  # type: ignore[operator]  # nor the flush at exit
        return 0
    except OSError as exc:
        # The last resort: an OSError no stage turned into a ReprocalError (a cache directory
        # that cannot be created, a full disk, a read-only home) is still one line with its
        # path and a documented exit code, never a traceback.
        err = LocalIOError.of(exc)
        return _error(err.one_line(), err.exit_code, type(err).__name__, obj, argv)
    return rv if isinstance(rv, int) else 0


def _last_line(text: str) -> None:
    """Write one line to stderr, whatever state the streams are in."""
    try:
        click.echo(text, err=True)
    except (OSError, ValueError):
        pass


__all__ = ["COMMANDS", "cli", "main", "__version__"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
