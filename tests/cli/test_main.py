"""The CLI shell: exit codes from errors and from click, one-line messages."""

from __future__ import annotations

import click
import pytest

from reprocal.cli import cli, main
from reprocal.errors import EXIT_CODES, RepositoryError


@pytest.fixture
def command():  # type: ignore[no-untyped-def]
    """Register a throw-away command on the real group, removed afterwards."""
    added = []

    def add(fn):  # type: ignore[no-untyped-def]
        cmd = click.command("zz-test")(fn)
        cli.add_command(cmd)
        added.append(cmd)
        return cmd

    yield add
    for cmd in added:
        cli.commands.pop(cmd.name, None)


def test_ctx_exit_code_is_returned(command) -> None:  # type: ignore[no-untyped-def]
    """A command ending with ctx.exit(N) exits N (fixed: the shell used to return 0)."""

    @click.pass_context
    def f(ctx):  # type: ignore[no-untyped-def]
        ctx.exit(1)

    command(f)
    assert main(["zz-test"]) == 1


def test_reprocal_error_maps_to_its_exit_code(command, capsys) -> None:  # type: ignore[no-untyped-def]
    """A ReprocalError becomes its class's exit code and one line on stderr."""

    def f():  # type: ignore[no-untyped-def]
        raise RepositoryError("nothing here", path="/x", hint="look elsewhere")

    command(f)
    assert main(["zz-test"]) == 3
    assert capsys.readouterr().err == "reprocal: error: /x: nothing here; look elsewhere\n"


def test_usage_error_is_exit_2(capsys) -> None:  # type: ignore[no-untyped-def]
    """Unknown options are usage errors (exit 2), one line."""
    assert main(["cif", "--no-such-option"]) == 2
    assert capsys.readouterr().err == (
        "reprocal: error: No such option '--no-such-option'; see 'reprocal cif --help'\n")


def test_exit_code_table_is_in_help() -> None:
    """--help documents every exit code."""
    from click.testing import CliRunner

    out = CliRunner().invoke(cli, ["--help"]).output
    for code, meaning in EXIT_CODES.items():
        assert f"{code:>3}  {meaning}" in out
