"""What other people's tools say of reprocal's outputs: every schema in ``schemas/`` passes
``check-jsonschema --check-metaschema`` (ECMA-262 regexes), real outputs validate against them
with the same tool, and every kind of record parses strictly with the in-toto bindings.

The validators and how they run offline: tests/support/validators.py.
"""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

import pytest
from support.invocation import in_process
from support.validators import SCHEMAS, assert_schema_valid, check_jsonschema, strict_statement

from reprocal.image._archive import read_image_tar
from reprocal.image._layout import RECORD_PATH

WRITE = "import sys; open(sys.argv[1], 'w').write('spectrum')"


def test_every_schema_passes_its_metaschema() -> None:
    """``check-jsonschema --check-metaschema schemas/*.json``: the metaschema, and every pattern
    a valid ECMA-262 regex (what ajv and check-jsonschema use; no Python-only ``(?i)``)."""
    schemas = sorted(SCHEMAS.glob("*.schema.json"))
    assert {p.name for p in schemas} >= {"manifest.schema.json", "record.schema.json",
                                          "ro-crate.schema.json",
                                          "image-build-record.schema.json"}
    done = check_jsonschema("--check-metaschema", *schemas)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_python_only_regex_is_what_the_check_catches(tmp_path: Path) -> None:
    """The check is real: the inline flag the record schema used to have is refused."""
    bad = tmp_path / "bad.schema.json"
    bad.write_text(json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema",
                               "type": "string", "pattern": "(?i)token"}))
    done = check_jsonschema("--check-metaschema", bad)
    assert done.returncode == 1 and "is not a 'regex'" in done.stdout


@pytest.fixture(scope="module")
def outputs(synthetic_repo, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A manifest, its image, and the pin, image-build and run records, written by the CLI;
    the image's /ccf/build-record.json extracted beside them."""
    work = tmp_path_factory.mktemp("outputs")
    ccf = str(synthetic_repo.root)
    # a module fixture runs outside the per-test isolation: give it its own caches
    env = {"XDG_CACHE_HOME": str(tmp_path_factory.mktemp("outputs-cache"))}
    for args in (["pin", "--ccf-path", ccf, "--obs-date", "2010-01-01", "--analysis-date",
                  "2020-01-01", "-o", "m.json"],
                 ["image", "build", "m.json", "--ccf-path", ccf, "-o", "img.tar"],
                 ["run", "--manifest", "m.json", "--ccf-path", ccf, "--", sys.executable, "-c",
                  WRITE, "out.txt"],
                 ["run", "--record", "failed.prov.json", "--", sys.executable, "-c",
                  "import sys; open('x.txt', 'w').write('x'); sys.exit(3)"]):
        done = in_process(*args, cwd=work, env=env)
        assert done.returncode in (0, 3), done.stderr
    img = read_image_tar(work / "img.tar")
    for i in range(len(img.layers)):
        for info, tf in img.layer_files(i):
            if info.name == RECORD_PATH:
                (work / "build-record.json").write_bytes(tf.extractfile(info).read())  # type: ignore[union-attr]
    return work


RECORDS = ["m.json.prov.json", "img.tar.prov.json", "out.txt.prov.json", "failed.prov.json"]


def test_outputs_validate_with_check_jsonschema(outputs: Path) -> None:
    """The manifest, every record and the image's build record, against their published schemas
    by check-jsonschema (not reprocal's own jsonschema call)."""
    assert_schema_valid("manifest.schema.json", outputs / "m.json")
    assert_schema_valid("record.schema.json", *(outputs / r for r in RECORDS))
    assert_schema_valid("image-build-record.schema.json", outputs / "build-record.json")


@pytest.mark.parametrize("name", RECORDS)
def test_records_parse_strictly_with_the_in_toto_bindings(outputs: Path, name: str) -> None:
    """Statement and SLSA Provenance v1 protobufs, unknown fields rejected; the exit status is
    the exit-status byproduct, not a field SLSA lacks."""
    doc = json.loads((outputs / name).read_text())
    statement = strict_statement(doc)
    assert statement.predicate_type == "https://slsa.dev/provenance/v1"
    byproducts = doc["predicate"]["runDetails"]["byproducts"]
    assert [b["name"] for b in byproducts] == ["exit-status"]
    assert byproducts[0]["annotations"]["exitStatus"] == (3 if name == "failed.prov.json" else 0)
    assert "exitStatus" not in doc["predicate"]["runDetails"]["metadata"]


def test_the_strict_parse_catches_what_slsa_does_not_define(outputs: Path) -> None:
    """A record as reprocal 0.1 wrote it (exitStatus in runDetails.metadata) is refused by the
    bindings, so the test above is not vacuous; reprocal itself still reads such a record."""
    from google.protobuf.json_format import ParseError

    from reprocal.provenance._record import from_dict

    doc = json.loads((outputs / "out.txt.prov.json").read_text())
    del doc["predicate"]["runDetails"]["byproducts"]
    doc["predicate"]["runDetails"]["metadata"]["exitStatus"] = 0
    with pytest.raises(ParseError, match="no field named \"exitStatus\""):
        strict_statement(doc)
    assert from_dict(doc).exit_status == 0


def test_image_tar_build_record_is_the_one_in_the_tar(outputs: Path) -> None:
    """The extracted build record came from the image (the fixture found it)."""
    with tarfile.open(outputs / "img.tar") as tar:
        assert "index.json" in tar.getnames()
    assert json.loads((outputs / "build-record.json").read_text())["schema"] == \
        "reprocal.image-build/v1"


def test_a_bundle_crate_validates_with_check_jsonschema(tmp_path: Path) -> None:
    """The crate of a real bundle against schemas/ro-crate.schema.json, by check-jsonschema (the
    RO-Crate validator itself runs on every bundle in tests/bundle)."""
    from support.imagekit import make_state

    from reprocal.bundle._credits import resolve_credits
    from reprocal.bundle._write import make_bundle
    from reprocal.state._manifest import save_manifest

    manifest, _ = make_state(tmp_path / "ccf")
    m = save_manifest(manifest, tmp_path / "m.json")
    b = make_bundle(m, tmp_path / "b", credits=resolve_credits(
        license="CC-BY-4.0", authors=["Jane Doe"], publisher="X <https://x.example.org>"))
    assert_schema_valid("ro-crate.schema.json", b.directory / "ro-crate-metadata.json")
