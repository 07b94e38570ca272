"""The in-process ``cli`` fixture stands in for a real ``python -m reprocal`` process: the same
exit status, stdout and stderr for the same invocation, and nothing left behind in the test
process (environment, working directory, argv, warnings, logging, signal handlers)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

import click
import pytest
from support.invocation import ARGV0, as_process, fresh_warning_filters, in_process

from reprocal.cli import cli as group

ROOT = Path(__file__).resolve().parent
V1 = ROOT / "state" / "data" / "v1-manifest.json"


@pytest.mark.parametrize(("args", "env"), [
    (["--version"], {}),
    (["--help"], {}),
    (["verify", "--help"], {"COLUMNS": "132"}),
    (["image"], {}),
    (["cif", "--no-such-option"], {}),
    (["verify", "missing.json", "--ccf-path", "."], {}),
    (["verify", str(V1), "--ccf-path", "."], {}),  # a version-1 note, then a repository error
], ids=["version", "help", "help-at-132-columns", "group-without-command", "usage-error",
        "input-error", "notice-then-error"])
def test_in_process_run_answers_as_a_process_does(args, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Exit status, stdout and stderr are identical, byte for byte."""
    real = as_process(*args, env=env, cwd=tmp_path)
    here = in_process(*args, env=env, cwd=tmp_path)
    assert (here.returncode, here.stdout, here.stderr) == (real.returncode, real.stdout, real.stderr)
    assert real.stdout or real.stderr


@pytest.mark.parametrize("command", group.list_commands(click.Context(group)))
def test_every_command_loads_in_a_new_process_as_here(command: str) -> None:
    """Each command the group lists answers ``--help`` in a new process exactly as here: every
    command group is registered and importable in a fresh interpreter."""
    real = as_process(command, "--help")
    here = in_process(command, "--help")
    assert real.returncode == 0, real.stderr
    assert (here.returncode, here.stdout, here.stderr) == (real.returncode, real.stdout, real.stderr)


@pytest.fixture
def command():  # type: ignore[no-untyped-def]
    """A throw-away command on the real group, removed afterwards."""
    added: list[click.Command] = []

    def add(fn):  # type: ignore[no-untyped-def]
        cmd = click.command("zz-invocation", context_settings={"ignore_unknown_options": True})(
            click.argument("rest", nargs=-1, type=click.UNPROCESSED)(fn))
        group.add_command(cmd)
        added.append(cmd)
        return cmd

    yield add
    for cmd in added:
        group.commands.pop(cmd.name or "", None)


def test_the_command_sees_what_a_new_process_would(command, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``env`` on top of the environment, ``cwd``, ``input`` as stdin, ``sys.argv`` as
    ``python -m`` sets it, a fresh interpreter's warnings filters, no logging handlers."""
    seen: dict[str, Any] = {}

    def f(rest):  # type: ignore[no-untyped-def]
        seen.update(cwd=os.getcwd(), argv=list(sys.argv), filters=list(warnings.filters),
                    handlers=logging.getLogger().handlers[:], stdin=sys.stdin.read(),
                    stdin_tty=sys.stdin.isatty(), stderr_tty=sys.stderr.isatty(),
                    env=(os.environ.get("ZZ_GIVEN"), os.environ.get("ZZ_OUTER")))
        click.echo("out")
        click.echo("err", err=True)

    command(f)
    os.environ["ZZ_OUTER"] = "outer"
    try:
        done = in_process("zz-invocation", "a", Path("b"), env={"ZZ_GIVEN": "1"}, cwd=tmp_path,
                          input="line\n")
    finally:
        del os.environ["ZZ_OUTER"]
    assert (done.returncode, done.stdout, done.stderr) == (0, "out\n", "err\n")
    assert done.args == ["reprocal", "zz-invocation", "a", "b"]
    assert seen["cwd"] == str(tmp_path)
    assert seen["argv"] == [ARGV0, "zz-invocation", "a", "b"] and ARGV0.endswith("__main__.py")
    assert seen["env"] == ("1", "outer")
    assert (seen["stdin"], seen["stdin_tty"], seen["stderr_tty"]) == ("line\n", False, False)
    assert seen["handlers"] == []
    # main() adds its own filter for notices on top of the interpreter's
    fresh = [(a, c) for a, _m, c, _mod, _n in fresh_warning_filters()]
    assert [(a, c) for a, _m, c, _mod, _n in seen["filters"]][-len(fresh):] == fresh
    assert ("error", Warning) not in [(a, c) for a, _m, c, _mod, _n in seen["filters"]]


def test_nothing_the_command_changes_is_left_behind(command, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A command that changes the process's state leaves the test process as it found it."""
    def f(rest):  # type: ignore[no-untyped-def]
        os.environ["ZZ_LEAK"] = "1"
        os.environ.pop("HOME", None)
        os.chdir(tmp_path)
        signal.signal(signal.SIGTERM, lambda *a: None)
        logging.getLogger("reprocal").addHandler(logging.NullHandler())
        logging.getLogger("reprocal.zz-new").addHandler(logging.NullHandler())
        logging.getLogger().setLevel(logging.DEBUG)
        warnings.simplefilter("ignore")
        sys.argv.append("zz")

    command(f)
    before = (dict(os.environ), os.getcwd(), list(sys.argv), signal.getsignal(signal.SIGTERM),
              logging.getLogger().handlers[:], logging.getLogger().level,
              logging.getLogger("reprocal").handlers[:], list(warnings.filters))
    assert in_process("zz-invocation").returncode == 0
    after = (dict(os.environ), os.getcwd(), list(sys.argv), signal.getsignal(signal.SIGTERM),
             logging.getLogger().handlers[:], logging.getLogger().level,
             logging.getLogger("reprocal").handlers[:], list(warnings.filters))
    assert after == before
    assert logging.getLogger("reprocal.zz-new").handlers == []


@pytest.mark.parametrize(("body", "code", "stderr"), [
    (lambda: sys.exit(300), 44, ""),  # an exit status is a byte
    (lambda: sys.exit("gave up"), 1, "gave up\n"),
    (lambda: sys.exit(None), 0, ""),
    (lambda: click.get_current_context().exit(3), 3, ""),
])
def test_exit_status_is_the_interpreters(command, body, code, stderr) -> None:  # type: ignore[no-untyped-def]
    """``SystemExit`` ends the run as it would end the interpreter."""
    command(lambda rest: body())
    done = in_process("zz-invocation")
    assert (done.returncode, done.stderr) == (code, stderr)


def test_an_uncaught_exception_is_a_traceback_and_exit_1(command) -> None:  # type: ignore[no-untyped-def]
    """A bug the CLI does not map: exit 1 and Python's traceback, as from a process (so a test
    asserting "no traceback" sees it)."""
    def f(rest):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    command(f)
    done = in_process("zz-invocation")
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert done.stderr.endswith("RuntimeError: a bug\n")


def test_a_library_warning_logged_reaches_stderr(command) -> None:  # type: ignore[no-untyped-def]
    """With no logging configured, a warning logged by the library is printed on stderr (by
    logging's last resort), as in a process; pytest's capture handlers do not swallow it."""
    command(lambda rest: logging.getLogger("reprocal.repo._verifycache").warning("rebuilt it"))
    assert in_process("zz-invocation").stderr == "rebuilt it\n"


def test_version_loads_neither_click_nor_the_package(tmp_path: Path) -> None:
    """``reprocal --version`` in a new process imports only the version module: no click, no
    ``importlib.abc`` (which pulls in ``importlib.resources``), no stage."""
    import subprocess

    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "reprocal", "--version"],
                         capture_output=True, text=True, cwd=tmp_path, check=True)
    loaded = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()
              if line.startswith("import time:")}
    from reprocal._version import version_text

    assert out.stdout == version_text() + "\n"
    assert not {"click", "importlib.abc", "reprocal.cli", "reprocal.core"} & loaded
