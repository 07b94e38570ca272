"""RO-Crate as other people's tools read it: rocrate-validator (offline, ro-crate-1.1 profile,
REQUIRED and RECOMMENDED; see tests/support/validators.py for how it runs without network),
ro-crate-py, and ``bundle verify`` never passing a crate the validator rejects at REQUIRED level.
Credits (licence, authors, publisher) are parsed and refused with messages naming the option."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from support.components import program
from support.validators import assert_valid_crate, required_issues, rocrate_validate

from reprocal.bundle._credits import License, Organization, Person, resolve_credits
from reprocal.bundle._verify import verify_bundle
from reprocal.bundle._write import make_bundle
from reprocal.errors import InputError, Names
from reprocal.fs._hashing import sha256_file
from reprocal.state._manifest import save_manifest

from .test_bundle import CREDITS, V1_BUNDLE, _manifest

CRATE = "ro-crate-metadata.json"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    m = save_manifest(_manifest(), tmp_path / "m.json")
    return make_bundle(m, tmp_path / "out" / "bundle", credits=CREDITS).directory


def test_ro_crate_py_loads_the_bundle(bundle: Path) -> None:
    """ro-crate-py reads the crate: root licence, author, publisher, every file with its sha256."""
    rocrate = pytest.importorskip("rocrate.rocrate", reason="rocrate (ro-crate-py) not installed")
    crate = rocrate.ROCrate(str(bundle))
    root = crate.root_dataset
    assert root["license"].id == "https://spdx.org/licenses/CC-BY-4.0"
    assert root["author"].id == "#jane-doe" and root["author"]["name"] == "Jane Doe"
    assert root["publisher"]["url"] == "https://www.cosmos.esa.int/web/esac"
    assert root["identifier"] == _manifest().calibration_id
    files = {e.id: e for e in crate.data_entities}
    assert files["manifest.json"]["sha256"] == sha256_file(bundle / "manifest.json")
    assert set(files) == {"manifest.json", "cif/0201903501/ccf.cif", "cif/0404910601/ccf.cif",
                          "README.md", "report.html"}


def _rehash(root: Path) -> None:
    """Rewrite SHA256SUMS after an edit, so only the crate checks can catch it."""
    lines = (root / "SHA256SUMS").read_text().splitlines()
    out = [f"{sha256_file(root / rel)}  {rel}" for rel in (ln.split("  ", 1)[1] for ln in lines)]
    (root / "SHA256SUMS").write_text("\n".join(out) + "\n")


def _graph_edit(fn):  # type: ignore[no-untyped-def]
    def apply(doc: dict) -> None:  # type: ignore[type-arg]
        fn({e["@id"]: e for e in doc["@graph"]}, doc)
    return apply


NONCONFORMING = [
    ("no context extension", lambda d: d.update({"@context": d["@context"][0]})),
    ("no licence", _graph_edit(lambda g, d: g["./"].pop("license"))),
    ("an undefined term", _graph_edit(lambda g, d: g["manifest.json"].update(checksum="x"))),
    ("no name", _graph_edit(lambda g, d: g["./"].pop("name"))),
    ("a bad datePublished", _graph_edit(lambda g, d: g["./"].update(datePublished="27/07/2018"))),
    ("no conformsTo", _graph_edit(lambda g, d: g[CRATE].pop("conformsTo"))),
]


@pytest.mark.parametrize(("what", "edit"), NONCONFORMING, ids=[n for n, _ in NONCONFORMING])
def test_verify_rejects_what_the_validator_rejects(bundle: Path, what, edit) -> None:  # type: ignore[no-untyped-def]
    """Differential: a crate edited (and re-summed) so that rocrate-validator fails it at
    REQUIRED level is refused by ``bundle verify`` too, as non-conformance."""
    from support.validators import _SHARED, rocrate_cache

    doc = json.loads((bundle / CRATE).read_text())
    edit(doc)
    (bundle / CRATE).write_text(json.dumps(doc, indent=1))
    _rehash(bundle)
    cache = _SHARED[0][1] if _SHARED else rocrate_cache(bundle.parent)
    assert required_issues(rocrate_validate(bundle, cache)), what
    check = verify_bundle(bundle)
    assert not check.ok and check.nonconforming, (what, check.problems)


def test_the_v1_bundle_is_rejected_by_both(tmp_path: Path) -> None:
    """The reprocal 0.1 bundle's crate fails the validator at REQUIRED (the undefined sha256
    term), as ``bundle verify`` says."""
    from support.validators import rocrate_cache

    with tarfile.open(V1_BUNDLE) as tar:
        tar.extractall(tmp_path, filter="data")
    report = rocrate_validate(tmp_path / "v1-bundle", rocrate_cache(tmp_path))
    assert any('"sha256" are not allowed in the compacted format' in i
               for i in required_issues(report))
    assert not verify_bundle(tmp_path / "v1-bundle").ok


def test_several_authors_and_an_orcid(tmp_path: Path) -> None:
    """Two authors (one with an ORCID as its @id), an affiliation other than the publisher:
    the validator still finds nothing to say."""
    m = save_manifest(_manifest(), tmp_path / "m.json")
    credits = resolve_credits(
        license="CC0-1.0", authors=["Jane Doe <jane@example.org> 0000-0002-1825-0097",
                                     "Wang Li"],
        affiliation="University of Leicester <https://ror.org/04h699437>",
        publisher="ESA ESAC <https://www.cosmos.esa.int/web/esac>")
    b = make_bundle(m, tmp_path / "b", credits=credits)
    assert_valid_crate(b.directory)
    doc = json.loads((b.directory / CRATE).read_text())
    root = next(e for e in doc["@graph"] if e["@id"] == "./")
    assert root["author"] == [{"@id": "https://orcid.org/0000-0002-1825-0097"}, {"@id": "#wang-li"}]
    assert verify_bundle(b.tarball).ok


@pytest.mark.parametrize(("text", "spdx"), [
    ("CC-BY-4.0", "CC-BY-4.0"), ("cc0-1.0", "CC0-1.0"), ("mit", "MIT"),
    ("https://spdx.org/licenses/CC-BY-SA-4.0.html", "CC-BY-SA-4.0"),
])
def test_licences_are_spdx_ids(text: str, spdx: str) -> None:
    """Any case, or the SPDX page URL; canonicalised."""
    assert License.parse(text).spdx == spdx


@pytest.mark.parametrize(("text", "message"), [
    ("CC-BY-5.0", "--license 'CC-BY-5.0' is not an SPDX licence id; e.g. CC-BY-4.0, CC0-1.0, "
     "MIT (see https://spdx.org/licenses/)"),
    ("MIT OR CC0-1.0", "--license 'MIT OR CC0-1.0': give one SPDX licence id, e.g. CC-BY-4.0 "
     "(see https://spdx.org/licenses/)"),
    ("LicenseRef-mine", "--license 'LicenseRef-mine': a LicenseRef has no public page; give an "
     "SPDX licence id"),
])
def test_bad_licences(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        License.parse(text)
    assert err.value.one_line() == message


@pytest.mark.parametrize(("text", "person"), [
    ("Jane Doe", Person("Jane Doe")),
    ("Jane Doe <jane@example.org>", Person("Jane Doe", "jane@example.org")),
    ("Jane  Doe https://orcid.org/0000-0002-1825-009X <j@x.org>",
     Person("Jane Doe", "j@x.org", "0000-0002-1825-009X")),
])
def test_authors(text: str, person: Person) -> None:
    assert Person.parse(text) == person


CLI_NAMES = Names({"license": "--license", "authors": "--author", "publisher": "--publisher",
                   "affiliation": "--affiliation"})
"""The spellings the CLI passes (the API default names the Python parameters)."""


@pytest.mark.parametrize(("kw", "message"), [
    ({"license": None}, "a bundle needs a licence: give --license with an SPDX id, e.g. --license "
     "CC-BY-4.0; journals and Zenodo will not take data without one"),
    ({"publisher": None}, "a bundle needs a publisher: give --publisher 'NAME <URL>' (the "
     "institute or archive publishing it; also the authors' affiliation unless --affiliation "
     "is given)"),
    ({"publisher": "ESA ESAC"}, "--publisher 'ESA ESAC': give NAME <URL>, e.g. --publisher 'ESA "
     "ESAC <https://www.cosmos.esa.int/web/esac>'"),
    ({"authors": ["<jane@example.org>"]}, "--author '<jane@example.org>': give NAME [<EMAIL>] "
     "[ORCID], e.g. --author 'Jane Doe <jane@example.org> 0000-0002-1825-0097'"),
])
def test_missing_or_bad_credits(kw, message) -> None:  # type: ignore[no-untyped-def]
    """Refused with one line naming the option; never a prompt."""
    args = {"license": "CC-BY-4.0", "authors": ["Jane Doe"],
            "publisher": "ESA ESAC <https://www.cosmos.esa.int/web/esac>", **kw}
    with pytest.raises(InputError) as err:
        resolve_credits(**args, names=CLI_NAMES)
    assert err.value.one_line() == message


def _git_env(tmp_path: Path, name: str | None) -> dict[str, str]:
    cfg = tmp_path / "gitconfig"
    cfg.write_text(f"[user]\n\tname = {name}\n\temail = ada@example.org\n" if name else "")
    return {"GIT_CONFIG_GLOBAL": str(cfg), "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}


def test_authors_default_to_the_git_identity(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """No --author: git's user.name/user.email, as a commit would have them; none set: refused
    naming --author."""
    program("git")
    for k, v in _git_env(tmp_path, "Ada Lovelace").items():
        monkeypatch.setenv(k, v)
    c = resolve_credits(license="MIT", publisher="X <https://x.example.org>", cwd=tmp_path)
    assert c.authors == (Person("Ada Lovelace", "ada@example.org"),)
    for k, v in _git_env(tmp_path, None).items():
        monkeypatch.setenv(k, v)
    with pytest.raises(InputError, match=r"give --author 'NAME <EMAIL>' \(repeatable\)"):
        resolve_credits(license="MIT", publisher="X <https://x.example.org>", cwd=tmp_path,
                        names=CLI_NAMES)


def test_cli_refuses_a_bundle_without_a_licence(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Exit 2, one line naming --license, nothing written; no prompt (stdin is closed)."""
    m = save_manifest(_manifest(), tmp_path / "m.json")
    done = cli("bundle", str(m), "-o", str(tmp_path / "b"), "--author", "Jane Doe",
               "--publisher", "X <https://x.example.org>", input="")
    assert done.returncode == 2
    assert done.stderr.startswith("reprocal: error: a bundle needs a licence: give --license")
    assert not (tmp_path / "b").exists()


def test_cli_bundle_with_git_author(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Through the CLI: the author comes from git; the crate passes the validator."""
    program("git")
    m = save_manifest(_manifest(), tmp_path / "m.json")
    env = {**os.environ, **_git_env(tmp_path, "Ada Lovelace")}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    done = cli("bundle", str(m), "-o", str(tmp_path / "b"), "--license", "CC-BY-4.0",
               "--publisher", "Example <https://example.org>", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert_valid_crate(tmp_path / "b")
    assert '"name": "Ada Lovelace"' in (tmp_path / "b" / CRATE).read_text()
    assert Organization.parse("Example <https://example.org>").url == "https://example.org"


@pytest.mark.parametrize(("named", "ok"), [("config", True), ("manifest", True),
                                          ("other", False)])
def test_bundle_verify_accepts_either_image_digest(tmp_path: Path, named: str, ok: bool) -> None:
    """A crate naming the bundled image by its config digest alone (the image ID, e.g. after a
    recompressing copy) or by its manifest digest alone verifies; naming another image is a
    problem."""
    from support.imagekit import stand_in_base

    from reprocal.image._archive import read_image_tar

    tar = stand_in_base(tmp_path / "base.tar")
    img = read_image_tar(tar)
    m = save_manifest(_manifest(), tmp_path / "m.json")
    b = make_bundle(m, tmp_path / "b", credits=CREDITS, image=tar).directory
    doc = json.loads((b / CRATE).read_text())
    entity = next(e for e in doc["@graph"] if e["@id"] == "image/base.tar")
    entity["identifier"] = {"config": img.config_digest, "manifest": img.manifest_digest,
                            "other": "sha256:" + "0" * 64}[named]
    (b / CRATE).write_text(json.dumps(doc))
    _rehash(b)
    problems = verify_bundle(b).problems
    assert (problems == ()) is ok, problems
    if not ok:
        assert problems[0].startswith("ro-crate-metadata.json: File image/base.tar: the crate "
                                      "names the image sha256:0000")


def test_doctests() -> None:
    """The examples in the credits and crate docstrings hold."""
    import doctest

    from reprocal.bundle import _crate, _credits

    for module in (_credits, _crate):
        assert doctest.testmod(module).failed == 0, module.__name__
