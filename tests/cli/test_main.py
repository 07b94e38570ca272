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


def test_an_unexpected_oserror_is_one_line_with_its_path_and_code_7(command, capsys) -> None:  # type: ignore[no-untyped-def]
    """The last resort: an OSError no stage translated is still one line naming its path."""

    def f():  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device", "/data/out/ccf.tar")

    command(f)
    assert main(["zz-test"]) == 7
    err = capsys.readouterr().err
    assert err.splitlines() == ["reprocal: error: /data/out/ccf.tar: No space left on device; "
                                "free some space (or point the output elsewhere) and run again"]


def test_ctrl_c_in_a_command_is_130_and_one_line(command, capsys) -> None:  # type: ignore[no-untyped-def]
    def f():  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    command(f)
    assert main(["zz-test"]) == 130
    assert capsys.readouterr().err == "reprocal: interrupted\n"


def test_limits_set_by_one_run_end_with_it(command) -> None:  # type: ignore[no-untyped-def]
    """``--limit`` applies to its own run only (main runs in a copy of the context)."""
    from reprocal.fs._limits import current_limits

    seen = []
    command(lambda: seen.append(current_limits().download_size))
    assert main(["--limit", "download-size=1KiB", "zz-test"]) == 0
    assert main(["zz-test"]) == 0
    assert seen == [1024, 1 << 30] and current_limits().download_size == 1 << 30


@pytest.mark.parametrize("value", ["nope", "download-size", "download-size=big",
                                   "min-rate=-1", "json-depth=1.5"])
def test_a_bad_limit_is_a_usage_error(capsys, value: str) -> None:  # type: ignore[no-untyped-def]
    assert main(["--limit", value, "show", "x"]) == 2
    assert capsys.readouterr().err.startswith("reprocal: error: --limit: ")


def test_limits_from_the_environment(monkeypatch, command) -> None:  # type: ignore[no-untyped-def]
    from reprocal.fs._limits import current_limits

    seen = []
    command(lambda: seen.append((current_limits().read_timeout, current_limits().json_depth)))
    monkeypatch.setenv("REPROCAL_LIMITS", "read-timeout=5s, json-depth=9")
    assert main(["--limit", "json-depth=12", "zz-test"]) == 0
    assert seen == [(5.0, 12)]
