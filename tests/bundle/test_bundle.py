"""Paper bundles: round trip, determinism, RO-Crate validity, tamper detection."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import jsonschema
import pytest
from support.validators import assert_valid_crate

from reprocal.bundle._credits import Credits, License, Organization, Person
from reprocal.bundle._verify import parse_sums, verify_bundle
from reprocal.bundle._write import Bundle
from reprocal.bundle._write import make_bundle as _make_bundle
from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.errors import InputError, RecordError
from reprocal.state._manifest import Manifest, build, save_manifest
from reprocal.state._schemas import load_schema


def _manifest() -> Manifest:
    rows = [
        Constituent(ConstituentName("EPN", "CTI", 45), valdate="2000-01-01",
                    subdate="2014-09-06T06:00:05", fsize=2880),
        Constituent(ConstituentName("XRT3", "XAREAEF", 12), valdate="2000-01-01",
                    evaldate="2030-01-01", subdate="2014-09-20T06:00:05", fsize=5760),
    ]
    hashes = {rows[0].filename: (2880, "a" * 64), rows[1].filename: (5760, "b" * 64)}
    obs = [("0201903501", CalDate.parse("2004-06-17T10:38:28"),
            CalDate.parse("2018-07-27T17:50:42"), "XMMCCF", rows),
           ("0404910601", CalDate.parse("2006-05-27T09:57:27"),
            CalDate.parse("2018-07-27T18:24:32"), "XMMCCF", rows[:1])]
    return build(obs, hashes)


ESAC = Organization("ESA ESAC", "https://www.cosmos.esa.int/web/esac")
CREDITS = Credits(License("CC-BY-4.0"), (Person("Jane Doe", "jane@example.org"),), ESAC, ESAC)


def make_bundle(manifest, out, **kw) -> Bundle:  # type: ignore[no-untyped-def]
    """``make_bundle`` with the test credits; every bundle written passes rocrate-validator
    (REQUIRED and RECOMMENDED) before the test goes on."""
    b = _make_bundle(manifest, out, **{"credits": CREDITS, **kw})
    assert_valid_crate(b.directory)
    return b


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    return save_manifest(_manifest(), tmp_path / "m.json")


@pytest.fixture
def bundle_dir(tmp_path: Path, manifest_path: Path) -> Path:
    image = tmp_path / "calib.tar"
    image.write_bytes(b"not really an image, but bytes to carry")
    return make_bundle(manifest_path, tmp_path / "out" / "bundle", image=image).directory


FILES = ["README.md", "SHA256SUMS", "cif/0201903501/ccf.cif", "cif/0404910601/ccf.cif",
         "image/calib.tar", "manifest.json", "report.html", "ro-crate-metadata.json"]


def test_round_trip(tmp_path: Path, manifest_path: Path) -> None:
    """A bundle as written verifies, as a directory and as its tar."""
    b = make_bundle(manifest_path, tmp_path / "out" / "bundle")
    assert b.calibration_id == _manifest().calibration_id
    assert b.tarball == tmp_path / "out" / "bundle.tar"
    for target in (b.directory, b.tarball):
        check = verify_bundle(target)
        assert check.problems == ()
        assert check.calibration_id == b.calibration_id


def test_contents_and_sums(bundle_dir: Path) -> None:
    """Every file is listed in SHA256SUMS (sha256sum -c format), the sums file itself is not."""
    files = sorted(p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*")
                   if p.is_file())
    assert files == FILES
    text = (bundle_dir / "SHA256SUMS").read_text()
    assert all(re.match(r"^[0-9a-f]{64}  \S+$", line) for line in text.splitlines())
    sums, problems = parse_sums(text)
    assert problems == [] and sorted(sums) == [f for f in FILES if f != "SHA256SUMS"]


def test_crate_is_ro_crate_1_1(bundle_dir: Path) -> None:
    """The crate validates; the root dataset names the calibration id and has every part."""
    doc = json.loads((bundle_dir / "ro-crate-metadata.json").read_text())
    jsonschema.Draft202012Validator(load_schema("ro-crate.schema.json")).validate(doc)
    assert doc["@context"] == ["https://w3id.org/ro/crate/1.1/context",
                               {"sha256": "https://w3id.org/ro/terms/workflow-run#sha256"}]
    by_id = {e["@id"]: e for e in doc["@graph"]}
    root = by_id["./"]
    assert root["license"] == {"@id": "https://spdx.org/licenses/CC-BY-4.0"}
    assert by_id["https://spdx.org/licenses/CC-BY-4.0"]["@type"] == "CreativeWork"
    assert root["author"] == {"@id": "#jane-doe"}
    assert by_id["#jane-doe"] == {"@id": "#jane-doe", "@type": "Person", "name": "Jane Doe",
                                  "email": "jane@example.org", "affiliation": {"@id": ESAC.url}}
    assert root["publisher"] == {"@id": ESAC.url}
    assert by_id[ESAC.url] == {"@id": ESAC.url, "@type": "Organization", "name": "ESA ESAC",
                               "url": ESAC.url}
    assert by_id["ro-crate-metadata.json"]["conformsTo"] == {"@id": "https://w3id.org/ro/crate/1.1"}
    root = by_id["./"]
    assert root["identifier"] == _manifest().calibration_id
    assert root["datePublished"] == "2018-07-27"
    assert {p["@id"] for p in root["hasPart"]} == set(FILES) - {"SHA256SUMS",
                                                                  "ro-crate-metadata.json"}
    assert by_id["image/calib.tar"]["encodingFormat"] == "application/x-tar"
    assert by_id["report.html"]["encodingFormat"] == "text/html"
    assert "cite-as" not in root  # no DOI given


def test_readme_has_the_commands(bundle_dir: Path) -> None:
    """The README gives the exact commands to check and reproduce."""
    text = (bundle_dir / "README.md").read_text()
    for line in ["By Jane Doe (ESA ESAC); published by ESA ESAC under CC-BY-4.0 "
                 "(<https://spdx.org/licenses/CC-BY-4.0>).", "sha256sum -c SHA256SUMS", "reprocal bundle verify .",
                 "reprocal fetch manifest.json --ccf-path ccf",
                 "reprocal rebuild manifest.json --ccf-path ccf -o rebuilt",
                 "reprocal diff cif/0201903501/ccf.cif rebuilt/0201903501/ccf.cif",
                 "reprocal image verify image/calib.tar", "docker load -i image/calib.tar"]:
        assert line in text


def test_tarball_is_deterministic(tmp_path: Path, manifest_path: Path) -> None:
    """The same manifest bundled twice (elsewhere, later) gives the same tar bytes."""
    one = make_bundle(manifest_path, tmp_path / "a" / "bundle").tarball.read_bytes()
    two = make_bundle(manifest_path, tmp_path / "b" / "bundle").tarball.read_bytes()
    assert one == two
    with tarfile.open(fileobj=io.BytesIO(one)) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {(0, 0, "", "", 0o644)}
    assert {m.mtime for m in members} == {CalDate.parse("2018-07-27T18:24:32").epoch()}


def _edit(rel: str, how: str):  # type: ignore[no-untyped-def]
    def apply(root: Path) -> None:
        p = root / rel
        if how == "append":
            with open(p, "ab") as f:
                f.write(b" ")
        elif how == "delete":
            p.unlink()
        elif how == "create":
            p.write_text("new")
    return apply


TAMPER = [
    (_edit("cif/0201903501/ccf.cif", "append"),
     ["cif/0201903501/ccf.cif: sha256 differs from SHA256SUMS: tampered or corrupt",
      "ro-crate-metadata.json: File cif/0201903501/ccf.cif has contentSize 11520, the file has "
      "11521 bytes"]),
    (_edit("image/calib.tar", "delete"), ["image/calib.tar: listed in SHA256SUMS but missing"]),
    (_edit("notes.txt", "create"), ["notes.txt: not listed in SHA256SUMS (added after bundling?)"]),
]


@pytest.mark.parametrize(("edit", "problems"), TAMPER)
def test_tampered_directory(bundle_dir: Path, edit, problems: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Each kind of tampering is named."""
    edit(bundle_dir)
    assert list(verify_bundle(bundle_dir).problems) == problems


def test_tampered_manifest_is_caught_twice(bundle_dir: Path) -> None:
    """An edited manifest fails its sum and its own calibration id."""
    p = bundle_dir / "manifest.json"
    p.write_text(p.read_text().replace('"EPN_CTI_0045.CCF"', '"EPN_CTI_0046.CCF"'))
    problems = verify_bundle(bundle_dir).problems
    assert problems[0] == "manifest.json: sha256 differs from SHA256SUMS: tampered or corrupt"
    assert problems[-1].startswith("manifest.json: $.state_id is rpcal:2:state:")


def test_tampered_sums_line(bundle_dir: Path) -> None:
    """A line of SHA256SUMS that does not parse is named with its number."""
    p = bundle_dir / "SHA256SUMS"
    p.write_text(p.read_text() + "garbage\n")
    assert verify_bundle(bundle_dir).problems == (
        "SHA256SUMS line 8: not '<sha256>  <relative path>': 'garbage'",)


def test_tampered_tar(tmp_path: Path, manifest_path: Path) -> None:
    """A tar with one member's bytes changed fails, naming the member."""
    b = make_bundle(manifest_path, tmp_path / "out" / "bundle")
    bad = tmp_path / "bad.tar"
    with tarfile.open(b.tarball) as src, tarfile.open(bad, "w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()  # type: ignore[union-attr]
            if m.name.endswith("README.md"):
                data = data.replace(b"Calibration bundle", b"Calibration bundlE")
            m.size = len(data)
            dst.addfile(m, io.BytesIO(data))
    check = verify_bundle(bad)
    assert check.problems == ("README.md: sha256 differs from SHA256SUMS: tampered or corrupt",)


def test_unsafe_tar_member(tmp_path: Path, manifest_path: Path) -> None:
    """A member escaping the bundle directory is refused and reported, never written."""
    b = make_bundle(manifest_path, tmp_path / "out" / "bundle")
    bad = tmp_path / "bad.tar"
    with tarfile.open(b.tarball) as src, tarfile.open(bad, "w") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m))
        evil = tarfile.TarInfo("bundle/../../evil.txt")
        evil.size = 4
        dst.addfile(evil, io.BytesIO(b"evil"))
    check = verify_bundle(bad)
    assert check.problems == ("bundle/../../evil.txt: unsafe member name, not unpacked",)
    assert not (tmp_path / "evil.txt").exists()


def test_cli_verify_exit_codes(cli_process, bundle_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """`bundle verify`: exit 0 when intact; exit 1 naming the tampered file."""
    ok = cli_process("bundle", "verify", str(bundle_dir))
    assert ok.returncode == 0, ok.stderr
    assert "all 7 files match SHA256SUMS" in ok.stdout
    with open(bundle_dir / "manifest.json", "ab") as f:
        f.write(b"\n")
    bad = cli_process("bundle", "verify", str(bundle_dir))
    assert bad.returncode == 1
    assert "  manifest.json: sha256 differs from SHA256SUMS: tampered or corrupt" in bad.stdout
    assert bad.stderr.startswith(f"reprocal: error: {bundle_dir}: 2 problem(s) found")


def test_cli_bundle_create(cli, tmp_path: Path, manifest_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`bundle MANIFEST -o DIR` (no subcommand word) writes the bundle; --json describes it."""
    done = cli("bundle", str(manifest_path), "-o", str(tmp_path / "b"), "--json",
               "--license", "cc-by-4.0", "--author", "Jane Doe <jane@example.org>",
               "--publisher", "ESA ESAC <https://www.cosmos.esa.int/web/esac>")
    assert done.returncode == 0, done.stderr
    assert_valid_crate(tmp_path / "b")
    doc = json.loads(done.stdout)
    assert doc["tarball"] == str(tmp_path / "b.tar")
    assert doc["calibration_id"] == _manifest().calibration_id


def test_records_are_validated(tmp_path: Path, manifest_path: Path) -> None:
    """A broken record in --records is refused, not bundled."""
    recs = tmp_path / "recs"
    recs.mkdir()
    (recs / "r.json").write_text('{"_type": "https://in-toto.io/Statement/v1", "subject": []}')
    with pytest.raises(RecordError) as exc:
        make_bundle(manifest_path, tmp_path / "b", records=recs)
    assert exc.value.one_line().startswith(f"{recs / 'r.json'}: $: 'predicateType' is a required")


def test_refuses_non_empty_output(tmp_path: Path, manifest_path: Path) -> None:
    """An existing non-empty directory is not overwritten."""
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("mine")
    with pytest.raises(InputError):
        make_bundle(manifest_path, tmp_path / "b")
    assert (tmp_path / "b" / "x").read_text() == "mine"


def test_image_digest_in_crate(tmp_path: Path, manifest_path: Path) -> None:
    """A real image tar is identified in the crate by its manifest digest and its config digest
    (the image ID, which survives recompression); a non-image file has no identifier."""
    from support.imagekit import stand_in_base

    from reprocal.image._archive import read_image_tar

    tar = stand_in_base(tmp_path / "base.tar")
    b = make_bundle(manifest_path, tmp_path / "b", image=tar)
    doc = json.loads((b.directory / "ro-crate-metadata.json").read_text())
    entity = next(e for e in doc["@graph"] if e["@id"] == "image/base.tar")
    img = read_image_tar(tar)
    assert entity["identifier"] == [img.manifest_digest, img.config_digest]
    assert verify_bundle(b.tarball).problems == ()


V1_BUNDLE = Path(__file__).parent / "data" / "v1-bundle.tar.gz"
"""A bundle written by reprocal 0.1 (commit 66b3c73) from tests/state/data/v1-manifest.json as it
was then (before the synthetic constituents carried an MD5 keyword, which changed their bytes
and so that fixture's sha256 values and v1 id; the bundle keeps the manifest it was written
with)."""


def test_a_reprocal_0_1_bundle_still_verifies_and_says_it_is_v1() -> None:
    """Bundles published with version-1 ids stay verifiable: every file, the manifest and the
    CIFs check out and the check names the v1 id; but its crate used ``sha256`` without
    defining it, which the RO-Crate validator rejects at REQUIRED level, so verify does not
    pass it either: that is its one problem, marked as non-conformance, not damage."""
    check = verify_bundle(V1_BUNDLE)
    assert check.problems == check.nonconforming == (
        "ro-crate-metadata.json: property 'sha256' (on 4 entities, e.g. manifest.json) is not a "
        "term of the RO-Crate 1.1 context and the crate's @context does not define it: not "
        "valid compacted JSON-LD",)
    assert check.intact and not check.ok
    assert check.v1_id == "sha256:d18f6abc6a2ee781b45fd2e813132c14299b276e2846ca43bfd5b112232833c4"
    assert check.calibration_id.startswith("rpcal:2:state:")  # type: ignore[union-attr]


def test_cli_v1_bundle(cli) -> None:  # type: ignore[no-untyped-def]
    """Through the CLI: exit 1 for the crate, saying the files are intact, the v1 id described
    as such, no advice to upgrade the bundle's manifest."""
    done = cli("bundle", "verify", str(V1_BUNDLE))
    assert done.returncode == 1, done.stderr
    assert "published under sha256:d18f6abc" in done.stdout and "(a version-1 id" in done.stdout
    assert "every file is as it was written, but its RO-Crate metadata is not valid RO-Crate " \
        "1.1" in done.stderr and "written by reprocal 0.1" in done.stderr
    assert "upgrade" not in done.stderr


def test_crate_identifier_must_be_the_manifest_id(bundle_dir: Path) -> None:
    """A crate naming another calibration than its manifest is a problem."""
    crate = bundle_dir / "ro-crate-metadata.json"
    doc = json.loads(crate.read_text())
    root = next(e for e in doc["@graph"] if e["@id"] == "./")
    root["identifier"] = "rpcal:2:state:" + "0" * 64
    crate.write_text(json.dumps(doc))
    problems = verify_bundle(bundle_dir).problems
    assert any("the crate's identifier rpcal:2:state:0000" in p for p in problems)
