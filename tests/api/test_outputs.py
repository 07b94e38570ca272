"""Every ``--json`` document has a published JSON Schema (``schemas/*-output.schema.json``,
``reprocal.api.OUTPUTS``): one per command, each naming the API result it describes. The parity
table (test_parity.py) validates every command's document against its schema; here, documents
with what that table's leave empty (changes, findings on real files, failures, stamps, signed
records) are held to theirs too, every field documented (:func:`support.validators.strict`)."""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import jsonschema
import pytest
from support.validators import SCHEMAS, assert_output_valid, check_jsonschema, strict

from reprocal import api
from reprocal.testing._synthetic import corrupt

OBS, AN = "2010-01-01T00:00:00", "2015-01-01T00:00:00"


def test_every_command_has_a_schema_and_every_schema_a_command() -> None:
    """The table names each command (with its variants), an exported result class with
    ``to_json()``, and a schema file; every output schema in schemas/ is in the table."""
    import click

    from reprocal.cli import cli

    ctx = click.Context(cli)
    commands = set()
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        commands |= ({f"{name} {s}" for s in cmd.list_commands(ctx)}
                     if isinstance(cmd, click.Group) else {name})
    assert {c.split(" --")[0].replace("bundle create", "bundle") for c in api.OUTPUTS} \
        == {c.replace("bundle create", "bundle") for c in commands}
    for result, schema in api.OUTPUTS.values():
        assert result in api.__all__ and hasattr(getattr(api, result), "to_json"), result
        assert (SCHEMAS / schema).is_file(), schema
        assert api.output_schema(result) == json.loads((SCHEMAS / schema).read_text())
    assert {s for _, s in api.OUTPUTS.values()} == {p.name for p in SCHEMAS.glob("*-output.schema.json")}
    results = {n for n in api.__all__ if n.endswith("Result")}
    assert results == {r for r, _ in api.OUTPUTS.values()}


def test_output_schema_takes_a_result_its_class_or_its_name(tmp_path: Path) -> None:
    pair = api.key_generate(tmp_path / "k")
    schema = api.output_schema(pair)
    assert schema["title"] == "reprocal key generate --json"
    assert api.output_schema(api.KeyGenerateResult) == api.output_schema("KeyGenerateResult") == schema
    schema["title"] = "changed"  # a copy: the next caller gets the published one
    assert api.output_schema(pair)["title"] == "reprocal key generate --json"
    jsonschema.validate(pair.to_json(), api.output_schema(pair))
    with pytest.raises(KeyError, match="AuditEntry is not a result of reprocal.api with a "
                                       "published JSON document"):
        api.output_schema("AuditEntry")


def test_strict_holds_every_field_to_its_documentation() -> None:
    """The test form of a schema refuses an undocumented field; the published one accepts it
    (a newer reprocal may add fields)."""
    doc = {"private": "k.key", "public": "k.pub", "keyid": "0" * 64, "new_field": 1}
    published = api.output_schema("KeyGenerateResult")
    jsonschema.validate(doc, published)
    with pytest.raises(jsonschema.ValidationError, match="'new_field' was unexpected"):
        jsonschema.validate(doc, strict(published))
    with pytest.raises(AssertionError, match=r"\$keyid: 'x' does not match"):
        assert_output_valid({**doc, "keyid": "x"}, "KeyGenerateResult")


@pytest.fixture
def work(synthetic_repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    warnings.simplefilter("ignore")
    api.pin(obs_date=OBS, analysis_date=AN, ccf_path=synthetic_repo.root, output="m.json")
    return tmp_path


def test_a_diff_with_changes(work: Path, synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    r = api.diff(f"obs={OBS},an={AN}", "obs=2020-01-01,an=2026-01-01", ccf_path=synthetic_repo.root)
    doc = r.to_json()
    assert doc["by_instrument"] and doc["counts"]["changed"]
    assert_output_valid(doc, r)


def test_a_verify_with_every_kind_of_problem(work: Path, synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """Missing (no path), corrupt, wrong size, and the newer issues."""
    from reprocal.state._manifest import load_manifest

    copy = Path(shutil.copytree(synthetic_repo.root, work / "copy"))
    files = load_manifest("m.json").files
    (copy / files[0].filename).unlink()
    corrupt(copy / files[1].filename)
    with open(copy / files[2].filename, "ab") as f:
        f.write(b"x")
    r = api.verify("m.json", ccf_path=copy, level="full")
    statuses = {x["status"] for x in r.to_json()["results"]}
    assert {"missing", "corrupt", "wrong-size"} <= statuses
    assert_output_valid(r.to_json(), r)


def test_a_fetch_that_fails(work: Path) -> None:
    """An empty mirror: every file failed, each with its attempts."""
    (work / "empty").mkdir()
    r = api.fetch("m.json", ccf_path="got", mirrors=[str(work / "empty")])
    doc = r.to_json()
    assert doc["counts"]["failed"] and doc["files"][0]["attempts"]
    assert_output_valid(doc, r)


def test_a_run_that_stamps_and_its_audit(work: Path, synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """A FITS output stamped, a broken one not (saying why); a signed record; the audit of the
    stamped product then names its record, its signer and its calibration id."""
    api.rebuild("m.json", ccf_path=synthetic_repo.root, output="cifs")
    cif = next(work.glob("cifs/*/ccf.cif"))
    key = api.key_generate(work / "k")
    code = ("import shutil, sys; shutil.copyfile(sys.argv[1], 'prod.fits'); "
            "open('broken.fits', 'wb').write(open(sys.argv[1], 'rb').read(1000))")
    r = api.run([sys.executable, "-c", code, str(cif)], manifest="m.json", ccf_path=synthetic_repo.root,
                sign=key.pair.private)
    doc = r.to_json()
    assert doc["stamped"] and doc["not_stamped"]
    assert_output_valid(doc, r)
    audited = api.audit(["prod.fits"], ccf_path=synthetic_repo.root, keys=[key.pair.public],
                        today="2026-01-01")
    doc = audited.to_json()
    assert doc["record"] and doc["record_signed_by"] and doc["calibration_id"]
    assert_output_valid(doc, audited)
    assert_output_valid(api.record_verify([r.run.record_path], keys=[key.pair.public]).to_json(),
                        "RecordVerifyResult")


def test_several_products_and_a_bad_record(work: Path, synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """Two products: a list of reports; a record that is not one: ok false with the problem."""
    api.rebuild("m.json", ccf_path=synthetic_repo.root, output="cifs")
    cif = str(next(work.glob("cifs/*/ccf.cif")))
    both = api.audit(["m.json", cif], ccf_path=synthetic_repo.root, today="2026-01-01")
    assert isinstance(both.to_json(), list)
    assert_output_valid(both.to_json(), both)
    (work / "bad.prov.json").write_text("{}")
    checked = api.record_verify(["bad.prov.json", "m.json.prov.json"])
    assert [c["ok"] for c in checked.to_json()] == [False, True]
    assert_output_valid(checked.to_json(), checked)


def test_the_real_samples_audited(samples: Path, tmp_path: Path) -> None:
    """A real SAS event list against a catalogue replaying the samples: stale findings, a
    changed state today; and its diff with the 2018 CIF; and who used EPN CTI issue 45."""
    warnings.simplefilter("ignore")
    product = samples / "0201903501" / "calindex_from_mos1_exp1_clean_evts.fits"
    tables = sorted(samples.glob("*/ccf.cif")) + sorted(samples.glob("*/calindex_from_*"))
    r = api.audit([product], catalog=tmp_path / "c.db", import_index=tables, today="2026-01-01")
    assert {f["verdict"] for f in r.to_json()["findings"]} >= {"agrees", "stale"}
    assert_output_valid(r.to_json(), r)
    d = api.diff(product, samples / "0201903501" / "ccf.cif")
    assert d.to_json()["affected_tasks"]
    assert_output_valid(d.to_json(), d)
    uses = api.audit_uses("EPN_CTI_0045.CCF", [samples])
    assert uses.to_json()["uses"]
    assert_output_valid(uses.to_json(), uses)
    shown = api.show(product)
    assert_output_valid(shown.to_json(), shown)


def test_check_jsonschema_agrees(work: Path, synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """The reference validator, as a user would run it, on documents the CLI printed."""
    from support.invocation import in_process

    done = in_process("verify", "m.json", "--ccf-path", str(synthetic_repo.root), "--json")
    (work / "verify.json").write_text(done.stdout)
    done = in_process("pin", "--obs-date", OBS, "--analysis-date", AN, "--ccf-path",
                      str(synthetic_repo.root), "-o", "p.json", "--json")
    (work / "pin.json").write_text(done.stdout)
    for doc, schema in (("verify.json", "verify-output"), ("pin.json", "pin-output")):
        checked = check_jsonschema("--schemafile", SCHEMAS / f"{schema}.schema.json", work / doc)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_sync_that_fetches_its_history_and_fingerprints(work: Path, synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """A first sync into an empty directory downloads (its fetch document inside) and reports
    the drift of the manifests here; the history then lists that sync and what was held; the
    fingerprint of the copy compares with the original, and reads back as a document."""
    (work / "drift").mkdir()
    shutil.copyfile("m.json", work / "drift" / "m.json")
    r = api.sync(str(synthetic_repo.root), ccf_path="dest", report_drift=[work / "drift"])
    doc = r.to_json()
    assert doc["fetch"]["counts"]["fetched"] and doc["to_fetch"] and doc["drift"]["drifted"]
    assert_output_valid(doc, r)
    h = api.history(ccf_path="dest", on="now")
    assert h.to_json()["directories"][0]["syncs"] and h.to_json()["held_on"]["files"]
    assert_output_valid(h.to_json(), h)
    fp = api.fingerprint(ccf_path="dest", against=str(synthetic_repo.root))
    assert fp.to_json()["comparison"]["same"] and fp.to_json()["content"]
    assert_output_valid(fp.to_json(), fp)
    (work / "fp.json").write_text(json.dumps(api.fingerprint(ccf_path="dest").to_json()))
    again = api.fingerprint(ccf_path=synthetic_repo.root, against="fp.json")
    assert again.ok and again.to_json()["comparison"]["level"] == "content"
    assert_output_valid(again.to_json(), again)


def test_a_citation_with_a_doi(work: Path) -> None:
    r = api.cite("m.json", doi="https://doi.org/10.5281/zenodo.123", sas_version="21.0.0")
    assert r.to_json()["bibtex"] and r.to_json()["doi"] == "10.5281/zenodo.123"
    assert_output_valid(r.to_json(), r)
