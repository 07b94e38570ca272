"""Every command reads ``--ccf-path`` / ``$SAS_CCFPATH`` through the one parser, and its errors
name what the user gave: the option, or the environment variable."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from reprocal.cli import main
from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.state._manifest import build, save_manifest

COMMANDS = [
    ["index"],
    ["cif", "--obs-date", "2010-01-01", "--analysis-date", "2020-01-01", "-o", "{t}/c.cif"],
    ["pin", "--obs-date", "2010-01-01", "--analysis-date", "2020-01-01", "-o", "{t}/p.json"],
    ["rebuild", "{t}/m.json", "-o", "{t}/out"],
    ["verify", "{t}/m.json"],
    ["verify", "--repository"],
    ["fetch", "{t}/m.json", "--mirror", "http://127.0.0.1:9/"],
    ["fetch", "--obs-date", "2010-01-01", "--analysis-date", "2020-01-01"],
    ["unused", "{t}/m.json"],
    ["image", "build", "{t}/m.json", "-o", "{t}/i.tar"],
    ["diff", "obs=2010-01-01,an=2020-01-01", "obs=2010-01-01,an=2021-01-01"],
]


@pytest.fixture
def t(tmp_path: Path) -> Path:
    data = b"SIMPLE  = T" + b" " * 2869
    c = Constituent(ConstituentName("EPN", "CTI", 45), valdate="2000-01-01",
                    subdate="2014-09-06T06:00:05")
    m = build([("0201903501", CalDate.parse("2004-06-17"), CalDate.parse("2015-01-01"), "XMMCCF",
                [c])], {c.filename: (len(data), hashlib.sha256(data).hexdigest())})
    save_manifest(m, tmp_path / "m.json")
    return tmp_path


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_empty_option_is_named(t: Path, args: list[str], capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``--ccf-path ""``: exit 3, the message names ``--ccf-path`` (not the API parameter)."""
    monkeypatch.setenv("REPROCAL_CATALOG", str(t / "c.sqlite"))
    argv = [a.replace("{t}", str(t)) for a in args] + ["--ccf-path", ""]
    assert main(argv) == 3
    assert capsys.readouterr().err.splitlines()[-1] == (
        "reprocal: error: no calibration directory given (--ccf-path is empty); pass --ccf-path "
        "DIR or set SAS_CCFPATH")


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_missing_directory_in_the_environment_is_named(t: Path, args: list[str], capsys,  # type: ignore[no-untyped-def]
                                                       monkeypatch) -> None:
    """``SAS_CCFPATH`` naming a missing directory: exit 3, the message names ``SAS_CCFPATH``."""
    monkeypatch.setenv("REPROCAL_CATALOG", str(t / "c.sqlite"))
    monkeypatch.setenv("SAS_CCFPATH", f"{t}:{t}/missing")
    argv = [a.replace("{t}", str(t)) for a in args]
    assert main(argv) == 3
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"reprocal: error: SAS_CCFPATH: {t}/missing is not a directory; check the path or "
        "create it")
