"""One record builder: pin, run and image-build records come out of ``build_record`` with one
shape, one naming rule, and validate against ``schemas/record.schema.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from reprocal.provenance._record import load_record, record_errors
from reprocal.provenance._recorder import artifact_name, record_command
from reprocal.provenance._run import run

WRITE = "import sys; open(sys.argv[1], 'w').write('spectrum')"


def shape(node: Any) -> Any:
    """The structure of a JSON document: keys and value types, not values."""
    if isinstance(node, dict):
        return {k: shape(v) for k, v in sorted(node.items())}
    if isinstance(node, list):
        return [shape(node[0])] if node else []
    return type(node).__name__


def _records(cli, synthetic_repo, tmp_path: Path) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    ccf = str(synthetic_repo.root)
    for args in (["pin", "--ccf-path", ccf, "--obs-date", "2010-01-01", "--analysis-date",
                  "2020-01-01", "-o", "m.json"],
                 ["image", "build", "m.json", "--ccf-path", ccf, "-o", "img.tar"],
                 ["run", "--manifest", "m.json", "--ccf-path", ccf, "--", sys.executable, "-c",
                  WRITE, "out.txt"]):
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    return {kind: json.loads((tmp_path / name).read_text()) for kind, name in (
        ("pin", "m.json.prov.json"), ("image-build", "img.tar.prov.json"),
        ("run", "out.txt.prov.json"))}


def test_pin_run_and_image_build_records_share_one_shape(cli, synthetic_repo,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    """Each validates; builder, metadata, parameters and host have the same shape in all
    three; each records when it began and ended; files are named relative to the working directory; the manifest and the
    constituents are described alike wherever they appear."""
    docs = _records(cli, synthetic_repo, tmp_path)
    for kind, doc in docs.items():
        assert record_errors(doc) == [], kind
        assert doc["predicate"]["buildDefinition"]["buildType"] == f"urn:reprocal:{kind}:v1"
    preds = {k: d["predicate"] for k, d in docs.items()}
    run_details = {k: shape(p["runDetails"]) for k, p in preds.items()}
    assert run_details["pin"] == run_details["run"] == run_details["image-build"]
    builders = {json.dumps(p["runDetails"]["builder"], sort_keys=True) for p in preds.values()}
    assert len(builders) == 1
    for kind, p in preds.items():  # pin and image build record when they began, as run does
        meta = p["runDetails"]["metadata"]
        assert meta["startedOn"] < meta["finishedOn"], kind
    for part in ("externalParameters", "internalParameters"):
        keys = {k: sorted(p["buildDefinition"][part]) for k, p in preds.items()}
        assert keys["pin"] == keys["run"] == keys["image-build"], part
    hosts = {k: sorted(p["buildDefinition"]["internalParameters"]["host"]) for k, p in preds.items()}
    assert hosts["pin"] == hosts["run"] == hosts["image-build"]
    tag = docs["image-build"]["subject"][1]["name"]
    assert {k: [s["name"] for s in d["subject"]] for k, d in docs.items()} == {
        "pin": ["m.json"], "image-build": ["img.tar", tag, tag], "run": ["out.txt"]}
    subjects = {k: shape(d["subject"]) for k, d in docs.items()}
    assert subjects["pin"] == subjects["run"] == subjects["image-build"]
    deps = {k: p["buildDefinition"]["resolvedDependencies"] for k, p in preds.items()}
    manifests = {k: [d for d in v if d["annotations"]["role"] == "manifest"] for k, v in deps.items()}
    assert manifests["pin"] == []  # the manifest is pin's output, not its input
    assert [d["name"] for d in manifests["run"]] == [d["name"] for d in manifests["image-build"]] \
        == ["m.json"]
    assert shape(manifests["run"]) == shape(manifests["image-build"])
    constituents = {k: [d for d in v if d["annotations"]["role"] == "constituent"]
                    for k, v in deps.items()}
    assert constituents["pin"] == constituents["run"] == constituents["image-build"] != []


def test_files_are_named_relative_to_the_working_directory(tmp_path: Path) -> None:
    """Inside the working directory a file is named by its relative path (as given, or made
    relative), outside it by its absolute path; relative paths and the record's own path are
    relative to the working directory, not the process's."""
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    (work / "sub").mkdir(parents=True)
    elsewhere.mkdir()
    for p in (work / "sub" / "a.txt", work / "b.txt", elsewhere / "c.txt"):
        p.write_text(p.name)
    path = record_command("pin", outputs=["sub/a.txt", work / "b.txt", elsewhere / "c.txt"],
                          inputs=["b.txt"], argv=["reprocal", "pin"], environ={}, cwd=work,
                          record="r.json")
    assert path == work / "r.json"
    rec = load_record(path)
    assert [s.name for s in rec.subjects] == ["sub/a.txt", "b.txt", str(elsewhere / "c.txt")]
    assert [(d.name, d.role) for d in rec.dependencies] == [("b.txt", "input")]
    assert rec.subjects[0].uri == (work / "sub" / "a.txt").as_uri()
    assert artifact_name(work / "x", work) == "x"


def test_run_reads_a_relative_sas_ccf_in_its_working_directory(tmp_path: Path,  # type: ignore[no-untyped-def]
                                                               monkeypatch) -> None:
    """``SAS_CCF=ccf.cif`` means the CIF in the directory the command runs in, as the command
    itself reads it, wherever reprocal was started."""
    from reprocal.core._constituent import Constituent
    from reprocal.core._names import ConstituentName
    from reprocal.fits._calindex import write_cif

    work = tmp_path / "work"
    work.mkdir()
    rows = [Constituent(ConstituentName("EPN", "CTI", 45), valdate="2000-01-01",
                        subdate="2014-09-06T06:00:05")]
    write_cif(work / "ccf.cif", rows, obs_date="2004-06-17", analysis_date="2018-07-27")
    monkeypatch.chdir(tmp_path)

    def execute(command, cwd, env, stdout_to_stderr=False):  # type: ignore[no-untyped-def]
        (cwd / "out.txt").write_text("x")
        return 0

    result = run(["task"], cwd=work, environ={"SAS_CCF": "ccf.cif"}, executor=execute)
    (cif,) = result.record.by_role("cif")
    assert (cif.name, cif.uri) == ("ccf.cif", (work / "ccf.cif").as_uri())
