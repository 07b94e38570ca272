"""Errors name what the caller gave: the same bad input through the API names the parameter
(``analysis_date``), through the CLI the option (``--analysis-date``)."""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reprocal import api
from reprocal.cli import main
from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.errors import PARAMETERS, IncompleteStateError, Names, ReprocalError
from reprocal.state._manifest import build, save_manifest

OBS, AN = "2010-01-01", "2020-01-01"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding a one-constituent manifest ``m.json``."""
    data = b"SIMPLE  = T" + b" " * 2869
    c = Constituent(ConstituentName("EPN", "CTI", 45), valdate="2000-01-01",
                    subdate="2014-09-06T06:00:05")
    m = build([("0201903501", CalDate.parse("2004-06-17"), CalDate.parse("2015-01-01"), "XMMCCF",
                [c])], {c.filename: (len(data), hashlib.sha256(data).hexdigest())})
    save_manifest(m, tmp_path / "m.json")
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


# (id, API call, the same through the CLI, the API's message, the CLI's message)
CASES: list[tuple[str, Callable[[], Any], list[str], str, str]] = [
    ("date", lambda: api.cif(obs_date="2004-13-01", analysis_date="now"),
     ["cif", "--obs-date", "2004-13-01"],
     "obs_date: '2004-13-01' has month 13; expected 01..12",
     "--obs-date: '2004-13-01' has month 13; expected 01..12"),
    ("analysis date", lambda: api.cif(obs_date=OBS, analysis_date="2020-02-30"),
     ["cif", "--obs-date", OBS, "--analysis-date", "2020-02-30"],
     "analysis_date: '2020-02-30' has day 30; 2020-02 has 29 days",
     "--analysis-date: '2020-02-30' has day 30; 2020-02 has 29 days"),
    ("empty ccf path", lambda: api.cif(obs_date=OBS, analysis_date=AN, ccf_path=""),
     ["cif", "--obs-date", OBS, "--analysis-date", AN, "--ccf-path", ""],
     "no calibration directory given (ccf_path is empty); pass ccf_path=DIR or set SAS_CCFPATH",
     "no calibration directory given (--ccf-path is empty); pass --ccf-path DIR or set "
     "SAS_CCFPATH"),
    ("missing directory", lambda: api.index(ccf_path="nowhere"),
     ["index", "--ccf-path", "nowhere"],
     "ccf_path: nowhere is not a directory; check the path or create it",
     "--ccf-path: nowhere is not a directory; check the path or create it"),
    ("no observation", lambda: api.cif(analysis_date=AN),
     ["cif", "--analysis-date", AN],
     "no ODF given and SAS_ODF is not set; pass odf=DIR (or a *SUM.SAS file), set SAS_ODF, or "
     "give the date with obs_date",
     "no ODF given and SAS_ODF is not set; pass --odf DIR (or a *SUM.SAS file), set SAS_ODF, or "
     "give the date with --obs-date"),
    ("date and odf", lambda: api.cif(obs_date=OBS, odf="x", analysis_date=AN),
     ["cif", "--obs-date", OBS, "--odf", "x"],
     "give obs_date or odf, not both", "give --obs-date or --odf, not both"),
    ("fullpath", lambda: api.cif(obs_date=OBS, analysis_date=AN, master_index="m.fits",
                                 fullpath=True),
     ["cif", "--obs-date", OBS, "--analysis-date", AN, "--master-index", "m.fits", "--fullpath"],
     "fullpath needs the files; it does not go with master_index",
     "--fullpath needs the files; it does not go with --master-index"),
    ("pin without analysis date", lambda: api.pin(obs_date=OBS, output="p.json"),
     ["pin", "--obs-date", OBS, "-o", "p.json"],
     "analysis_date is required (a date, or 'now' to pin today's state)",
     "--analysis-date is required (a date, or 'now' to pin today's state)"),
    ("pin two forms", lambda: api.pin(obs_date=OBS, obs_list="l.csv", output="p.json"),
     ["pin", "--obs-date", OBS, "--obs-list", "l.csv", "-o", "p.json"],
     "give one of obs_date, odf, obs_list", "give one of --obs-date, --odf, --obs-list"),
    ("pin label with a list", lambda: api.pin(obs_list="l.csv", obs_id="a", output="p.json"),
     ["pin", "--obs-list", "l.csv", "--obs-id", "a", "-o", "p.json"],
     "obs_id goes with obs_date/odf, not obs_list", "--obs-id goes with --obs-date/--odf, not --obs-list"),
    ("hostile label", lambda: api.pin(obs_date=OBS, analysis_date=AN, obs_id="..",
                                      output="p.json"),
     ["pin", "--obs-date", OBS, "--analysis-date", AN, "--obs-id", "..", "-o", "p.json"],
     "obs_id: '..' is not a label; use 1-64 letters, digits, '.', '_' or '-', starting with a "
     "letter or digit",
     "--obs-id: '..' is not a label; use 1-64 letters, digits, '.', '_' or '-', starting with a "
     "letter or digit"),
    ("fetch by dates without analysis date",
     lambda: api.fetch(obs_date=OBS, mirrors=["http://h/"], ccf_path="empty"),
     ["fetch", "--obs-date", OBS, "--mirror", "http://h/", "--ccf-path", "empty"],
     "analysis_date is required with obs_date/odf (a date, or 'now')",
     "--analysis-date is required with --obs-date/--odf (a date, or 'now')"),
    ("fetch of nothing", lambda: api.fetch(mirrors=["http://h/"]),
     ["fetch", "--mirror", "http://h/"],
     "give a manifest, or obs_date/odf with analysis_date; see `reprocal fetch --help`",
     "give a MANIFEST, or --obs-date/--odf with --analysis-date; see `reprocal fetch --help`"),
    ("fetch two forms", lambda: api.fetch("m.json", obs_date=OBS),
     ["fetch", "m.json", "--obs-date", OBS],
     "give a manifest or obs_date/odf with analysis_date, not both",
     "give a MANIFEST or --obs-date/--odf with --analysis-date, not both"),
    ("mirror", lambda: api.fetch("m.json", mirrors=["ftp://x/"]),
     ["fetch", "m.json", "--mirror", "ftp://x/"],
     "mirrors: mirror 'ftp://x/' has unsupported scheme 'ftp'; use http(s)://, file://, "
     "rsync://, host::module or a directory",
     "--mirror: mirror 'ftp://x/' has unsupported scheme 'ftp'; use http(s)://, file://, "
     "rsync://, host::module or a directory"),
    ("tag", lambda: api.image_build("m.json", output="i.tar", tag="Bad:tag"),
     ["image", "build", "m.json", "-o", "i.tar", "--tag", "Bad:tag"],
     "tag: 'Bad:tag' is not NAME:TAG (lower-case name, e.g. ccf:2014-05)",
     "--tag: 'Bad:tag' is not NAME:TAG (lower-case name, e.g. ccf:2014-05)"),
    ("today", lambda: api.audit(["m.json"], today="2026-13-01"),
     ["audit", "m.json", "--today", "2026-13-01"],
     "today: '2026-13-01' has month 13; expected 01..12",
     "--today: '2026-13-01' has month 13; expected 01..12"),
    ("bundle date", lambda: api.bundle("m.json", output="b", date="2026-01-32", license="CC-BY-4.0", authors=["Jane Doe"], publisher="ESA ESAC <https://www.cosmos.esa.int/web/esac>"),
     ["bundle", "m.json", "-o", "b", "--date", "2026-01-32", "--license", "CC-BY-4.0", "--author", "Jane Doe", "--publisher", "ESA ESAC <https://www.cosmos.esa.int/web/esac>"],
     "date: '2026-01-32' has day 32; 2026-01 has 31 days",
     "--date: '2026-01-32' has day 32; 2026-01 has 31 days"),
    ("bundle licence", lambda: api.bundle("m.json", output="b", publisher="X <https://x.org>"),
     ["bundle", "m.json", "-o", "b", "--publisher", "X <https://x.org>"],
     "a bundle needs a licence: give license with an SPDX id, e.g. license=CC-BY-4.0; journals "
     "and Zenodo will not take data without one",
     "a bundle needs a licence: give --license with an SPDX id, e.g. --license CC-BY-4.0; "
     "journals and Zenodo will not take data without one"),
    ("diff over an empty catalogue",
     lambda: api.diff(f"obs={OBS},an={AN}", "m.json"),
     ["diff", f"obs={OBS},an={AN}", "m.json"],
     f"obs={OBS},an={AN}: the catalogue knows no constituents to select from; give ccf_path, or "
     "import_index a master index",
     f"obs={OBS},an={AN}: the catalogue knows no constituents to select from; give --ccf-path, "
     "or --import-index a master index"),
    ("fetch other directory",
     lambda: api.fetch("m.json", mirrors=["http://h/"], ccf_path="empty:nowhere"),
     ["fetch", "m.json", "--mirror", "http://h/", "--ccf-path", "empty:nowhere"],
     "ccf_path: nowhere is not a directory; check the path or create it",
     "--ccf-path: nowhere is not a directory; check the path or create it"),
    ("uses name", lambda: api.audit_uses("EPN_CTI_12345"),
     ["audit", "--uses", "EPN_CTI_12345"],
     "name 'EPN_CTI_12345': 'EPN_CTI_12345.CCF' is not a constituent name; expected "
     "SCOPE_TYPEID_NNNN.CCF (e.g. EPN_QUANTUMEF_0017.CCF); give EPN_CTI_0045.CCF (one issue) or "
     "EPN_CTI (every issue)",
     "--uses 'EPN_CTI_12345': 'EPN_CTI_12345.CCF' is not a constituent name; expected "
     "SCOPE_TYPEID_NNNN.CCF (e.g. EPN_QUANTUMEF_0017.CCF); give EPN_CTI_0045.CCF (one issue) or "
     "EPN_CTI (every issue)"),
    ("run output", lambda: api.run([sys.executable, "-c", ""], outputs=["nope.fits"]),
     ["run", "--output", "nope.fits", "--", sys.executable, "-c", ""],
     "outputs {t}/nope.fits was not written by the command",
     "--output {t}/nope.fits was not written by the command"),
]


@pytest.mark.parametrize(("api_call", "argv", "as_api", "as_cli"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_api_names_parameters_cli_names_options(work: Path, capsys, api_call, argv,  # type: ignore[no-untyped-def]
                                                as_api: str, as_cli: str) -> None:
    """One bad input, two spellings of the same one-line error, the same exit code."""
    with pytest.raises(ReprocalError) as info:
        api_call()
    assert info.value.one_line() == as_api.format(t=work)
    capsys.readouterr()
    assert main(argv) == info.value.exit_code
    assert capsys.readouterr().err.splitlines()[-1] == f"reprocal: error: {as_cli.format(t=work)}"


@pytest.mark.parametrize(("api_call", "as_api"), [
    (lambda: api.fetch("m.json", mirrors=["http://h/"], ccf_path="empty", jobs=0),
     "jobs 0 is not an integer in 1..64"),
    (lambda: api.verify("m.json", ccf_path="empty", level="bytes"),
     "level 'bytes' is not one of stat, fits, full"),
], ids=["fetch jobs", "verify level"])
def test_api_only_values_name_the_parameter(work: Path, api_call: Callable[[], Any],
                                            as_api: str) -> None:
    """Values the CLI's own option types refuse first (click ranges and choices) still get the
    parameter's name, not an option's, when they come through Python."""
    with pytest.raises(ReprocalError) as info:
        api_call()
    assert info.value.one_line() == as_api


def test_the_refusal_to_pin_a_downgrade_names_the_flag(synthetic_repo, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        monkeypatch, capsys) -> None:
    """pin's hint: ``allow_incomplete=True`` from Python, ``--allow-incomplete`` on the CLI."""
    monkeypatch.chdir(tmp_path)
    copy = Path(shutil.copytree(synthetic_repo.root, tmp_path / "ccf"))
    first = api.pin(obs_date=OBS, analysis_date=AN, ccf_path=copy, output="a.json")
    (copy / first.manifest.files[-1].filename).unlink()
    with pytest.raises(IncompleteStateError) as info:
        api.pin(obs_date=OBS, analysis_date=AN, ccf_path=copy, output="b.json")
    assert info.value.hint == ("fetch them (`reprocal fetch`) or pass allow_incomplete=True to "
                               "pin the downgrade")
    capsys.readouterr()
    assert main(["pin", "--obs-date", OBS, "--analysis-date", AN, "--ccf-path", str(copy),
                 "-o", "b.json"]) == 4
    assert capsys.readouterr().err.rstrip().endswith(
        "; fetch them (`reprocal fetch`) or pass --allow-incomplete to pin the downgrade")


def test_an_empty_index_says_what_to_check(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """An empty repository is reported (not raised) by the API, its failure naming
    ``ccf_path`` and ``fileglob``; the CLI says the error alone (no count of nothing first),
    naming the options."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    r = api.index(ccf_path="empty")
    assert not r.ok and r.constituents == 0
    assert r.failure is not None and r.failure.exit_code == 3
    assert r.failure.one_line() == (f"no calibration constituents in {tmp_path / 'empty'}; check "
                                    "ccf_path / SAS_CCFPATH and fileglob")
    capsys.readouterr()
    assert main(["index", "--ccf-path", "empty"]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"reprocal: error: no calibration constituents in {tmp_path / 'empty'}; check "
                   "--ccf-path / SAS_CCFPATH and --fileglob\n")


@pytest.mark.parametrize(("names", "expected"), [
    (PARAMETERS, ("analysis_date", "output=MANIFEST", "allow_incomplete=True")),
    (Names({"analysis_date": "--analysis-date", "output": "-o",
            "allow_incomplete": "--allow-incomplete"}),
     ("--analysis-date", "-o MANIFEST", "--allow-incomplete")),
])
def test_names_spell_parameters(names: Names, expected: tuple[str, str, str]) -> None:
    """A Names spells a parameter, and how to give it (with a value, or as a flag)."""
    assert (names("analysis_date"), names.given("output", "MANIFEST"),
            names.given("allow_incomplete")) == expected
