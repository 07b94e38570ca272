"""What the CLI adds to the API it calls: its own command line in provenance records, option
names in errors, JSON alone on stdout."""

from __future__ import annotations

import json
from pathlib import Path

from reprocal import api
from reprocal.cli import main
from reprocal.provenance._record import load_record

OBS, AN = "2010-01-01", "2015-01-01T00:00:00"


def test_records_give_the_command_line(synthetic_repo, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """pin and image build called in-process record the arguments they were given (not the
    host process's sys.argv)."""
    monkeypatch.chdir(tmp_path)
    pin = ["pin", "--obs-date", OBS, "--analysis-date", AN, "--ccf-path",
           str(synthetic_repo.root), "-o", "m.json"]
    build = ["image", "build", "m.json", "--ccf-path", str(synthetic_repo.root), "-o", "i.tar"]
    assert main(pin) == 0 and main(build) == 0
    assert load_record(tmp_path / "m.json.prov.json").command == ("reprocal", *pin)
    assert load_record(tmp_path / "i.tar.prov.json").command == ("reprocal", *build)


def test_audit_pin_json_is_one_document(synthetic_repo, tmp_path: Path, monkeypatch,  # type: ignore[no-untyped-def]
                                        capsys) -> None:
    """``audit --pin --json`` prints the JSON document only (it used to print the "Wrote ..."
    lines before it, which no JSON parser reads)."""
    monkeypatch.chdir(tmp_path)
    api.pin(obs_date=OBS, analysis_date=AN, ccf_path=synthetic_repo.root, output="m.json")
    capsys.readouterr()
    assert main(["audit", "m.json", "--pin", "-o", "again.json", "--ccf-path",
                 str(synthetic_repo.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "manifest"
    assert (tmp_path / "again.json").is_file()


def test_audit_pin_of_two_products(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """``--pin`` takes one product, refused before any is read."""
    assert main(["audit", "a.fits", "b.fits", "--pin", "-o", str(tmp_path / "x.json")]) == 2
    assert capsys.readouterr().err == (
        "reprocal: error: --pin needs exactly one product (got 2)\n")
