"""``reprocal.api``'s surface: one function per command, every name exported and typed, loaded
lazily; the CLI's options are the API's parameters; ``--version`` imports no command."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reprocal import api
from reprocal.cli import COMMANDS, cli

API_INIT = Path(api.__file__)

# command -> the API function(s) it calls
CALLS = {
    "index": ["index"], "cif": ["cif"], "cifbuild": ["cifbuild"], "show": ["show"], "pin": ["pin"],
    "rebuild": ["rebuild"], "response": ["response"],
    "manifest upgrade": ["upgrade_manifest"], "verify": ["verify", "verify_repository"],
    "fetch": ["fetch", "fetch_plan", "fetch_script"], "unused": ["unused"],
    "image build": ["image_build"], "image verify": ["image_verify"],
    "image push": ["image_push"], "image pull": ["image_pull"], "run": ["run"], "diff": ["diff"],
    "audit": ["audit", "audit_pin", "audit_uses"], "bundle create": ["bundle"],
    "bundle verify": ["bundle_verify"], "key generate": ["key_generate"],
    "record verify": ["record_verify"], "sync": ["sync"], "history": ["history"],
    "fingerprint": ["fingerprint"], "timeline": ["timeline"], "view": ["view"],
    "notes": ["notes"], "cite": ["cite"], "doctor": ["doctor"],
}
# options that choose which function runs or how the result is shown, not parameters
CLI_ONLY = {"as_json", "verbose", "repository", "dry_run", "script", "pin", "uses", "no_stamp",
            "command",
            # cifbuild's SAS-style arguments (name=value, generic options), parsed into the
            # API's cifbuild parameters; `cif` takes the same style with a hint
            "args", "sas_params"}


def _commands() -> dict[str, click.Command]:
    ctx = click.Context(cli)
    out: dict[str, click.Command] = {}
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        assert cmd is not None
        if isinstance(cmd, click.Group):
            out.update({f"{name} {sub}": cmd.commands[sub] for sub in cmd.list_commands(ctx)})
        else:
            out[name] = cmd
    return out


def test_exports_are_listed_typed_and_resolve() -> None:
    """``__all__`` is the lazy table; each name is imported for type checkers too, and loads."""
    tree = ast.parse(API_INIT.read_text())
    typed = {alias.asname or alias.name for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom) and node.module != "__future__"
             and node.module and node.module.startswith("reprocal.") and node.module != "reprocal._lazy"
             for alias in node.names}
    assert sorted(api.__all__) == sorted(api._EXPORTS) == sorted(typed)
    for name in api.__all__:
        assert getattr(api, name) is not None
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        api.nothing  # noqa: B018


def test_one_function_per_command() -> None:
    """Every command calls functions the API exports; each returns a result with to_json()."""
    assert set(CALLS) == set(_commands())
    for functions in CALLS.values():
        for name in functions:
            fn = getattr(api, name)
            assert name in api.__all__
            result = inspect.signature(fn).return_annotation
            assert hasattr(getattr(api, result), "to_json"), name


def test_cli_options_are_api_parameters() -> None:
    """Each option of a command is a parameter of the API function it calls (so the CLI can
    name a parameter by its option, read off the command)."""
    commands = _commands()
    for command, functions in CALLS.items():
        params = set().union(*(inspect.signature(getattr(api, f)).parameters for f in functions))
        options = {p.name for p in commands[command].params} - CLI_ONLY
        assert options <= params, (command, options - params)


def test_every_lazy_command_loads() -> None:
    """Each entry of the lazy map is a click command of that name."""
    ctx = click.Context(cli)
    for name in COMMANDS:
        cmd = cli.get_command(ctx, name)
        assert isinstance(cmd, click.Command) and cmd.name == name


def _imported(code: str) -> set[str]:
    """The reprocal modules a fresh interpreter has imported after ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\n"
         "print(' '.join(m for m in sys.modules if m.startswith('reprocal')))"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


STAGES = {"reprocal.core", "reprocal.fs", "reprocal.fits", "reprocal.repo", "reprocal.state",
          "reprocal.fetch", "reprocal.image", "reprocal.provenance", "reprocal.audit",
          "reprocal.report", "reprocal.bundle", "reprocal.testing"}


def test_importing_the_api_imports_no_stage() -> None:
    """``import reprocal.api`` (and ``import reprocal``) load nothing of the pipeline."""
    assert not _imported("import reprocal, reprocal.api") & STAGES


def test_version_imports_no_command() -> None:
    """``reprocal --version`` imports neither the API nor any command module nor any stage."""
    loaded = _imported("from reprocal.cli import main\n"
                       "import contextlib, io\n"
                       "with contextlib.redirect_stdout(io.StringIO()): main(['--version'])")
    assert not loaded & (STAGES | {"reprocal.api"})
    assert not {m for m in loaded if m.startswith("reprocal.cli.") and m != "reprocal.cli._common"}


def test_help_of_one_command_imports_only_its_module() -> None:
    """``reprocal audit --help`` imports its module, not the other command modules, and no
    stage."""
    loaded = _imported("from reprocal.cli import main\n"
                       "import contextlib, io\n"
                       "with contextlib.redirect_stdout(io.StringIO()): main(['audit', '--help'])")
    assert {m for m in loaded if m.startswith("reprocal.cli.")} == {
        "reprocal.cli._common", "reprocal.cli._progress", "reprocal.cli.audit"}
    assert not loaded & STAGES


def test_group_help_lists_every_command() -> None:
    """``reprocal --help`` still lists each command with its short help."""
    from click.testing import CliRunner

    out = CliRunner().invoke(cli, ["--help"]).output
    for name in COMMANDS:
        assert f"  {name} " in out
    assert "Pin a calibration state: resolve, hash every selected file" in out
