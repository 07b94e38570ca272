"""Provenance records: schema, round trip, secrets, git state, records of reprocal commands."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.errors import LocalIOError, RecordError
from reprocal.provenance._environment import (
    is_secret,
    parse_sas_version,
    recorded_environment,
    sas_version,
)
from reprocal.provenance._gitstate import git_state, strip_credentials
from reprocal.provenance._record import (
    Artifact,
    Record,
    from_dict,
    is_record,
    load_record,
    loads,
    record_errors,
    save_record,
)
from reprocal.provenance._recorder import default_record_path, record_command
from reprocal.state._manifest import build

T0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
T1 = datetime(2024, 1, 2, 3, 5, 6, 500000, tzinfo=timezone.utc)
SHA = "ab" * 32


def _record(**kw: object) -> Record:
    base: dict[str, object] = dict(
        kind="run", command=("epchain", "withoutoftime=yes"), workdir="/w",
        subjects=(Artifact("pn.fits", SHA),),
        dependencies=(Artifact("EPN_CTI_0045.CCF", "cd" * 32, None, {
            "role": "constituent", "scope": "EPN", "typeid": "CTI", "issue": 45,
            "subdate": "2014-09-06T06:00:05"}),
            Artifact("m.json", "ef" * 32, "file:///w/m.json", {"role": "manifest"})),
        started=T0, finished=T1, exit_status=0, calibration_id="sha256:" + "12" * 32,
        environment={"SAS_CCF": "/w/ccf.cif"}, host={"hostname": "h", "platform": "p"},
        invocation_id="id-1", builder_version="0.1.0",
    )
    base.update(kw)
    return Record(**base)  # type: ignore[arg-type]


def _manifest():  # type: ignore[no-untyped-def]
    c = Constituent(ConstituentName("EPN", "CTI", 45), valdate="2000-01-01",
                    subdate="2014-09-06T06:00:05")
    obs = [("0201903501", CalDate.parse("2004-06-17"), CalDate.parse("2015-01-01"), "XMMCCF", [c])]
    return build(obs, {c.filename: (2880, "cd" * 32)})


def test_round_trip_keeps_every_field() -> None:
    """A record written and read back is the same record."""
    rec = _record()
    assert loads(rec.dumps()) == rec
    assert rec.manifest_digest == "sha256:" + "ef" * 32
    assert rec.image_digest is None
    assert [d.name for d in rec.by_role("constituent")] == ["EPN_CTI_0045.CCF"]


def test_dumps_is_canonical_and_schema_valid() -> None:
    """Sorted keys, one-space indent, trailing newline; the statement validates."""
    data = _record().dumps()
    doc = json.loads(data)
    assert data == json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=True).encode() + b"\n"
    assert record_errors(doc) == []
    assert doc["_type"] == "https://in-toto.io/Statement/v1"
    assert doc["predicateType"] == "https://slsa.dev/provenance/v1"
    assert doc["predicate"]["runDetails"]["metadata"]["startedOn"] == "2024-01-02T03:04:05.000Z"
    assert doc["predicate"]["runDetails"]["metadata"]["finishedOn"] == "2024-01-02T03:05:06.500Z"


def _set(path: str, value: object):  # type: ignore[no-untyped-def]
    def edit(doc: dict) -> None:  # type: ignore[type-arg]
        *parents, last = path.split(".")
        node = doc
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        if value is KeyError:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return edit


BROKEN = [
    (_set("_type", KeyError), "$: '_type' is a required property"),
    (_set("subject.0.digest.sha256", "XYZ"),
     "$.subject[0].digest.sha256: 'XYZ' does not match '^[0-9a-f]{64}$'"),
    (_set("predicateType", "https://slsa.dev/provenance/v0.2"),
     "$.predicateType: 'https://slsa.dev/provenance/v1' was expected"),
    (_set("predicate.buildDefinition.internalParameters.environment.SAS_TOKEN", "x"),
     "$.predicate.buildDefinition.internalParameters.environment: 'SAS_TOKEN' looks like a "
     "secret; records never hold secrets"),
    (_set("predicate.runDetails.byproducts.0.annotations.exitStatus", "0"),
     "$.predicate.runDetails.byproducts[0].annotations.exitStatus: '0' is not of type 'integer'"),
    (_set("predicate.buildDefinition.resolvedDependencies.0", {"name": "a"}),
     "$.predicate.buildDefinition.resolvedDependencies[0]: a dependency needs a digest or a uri"),
    (_set("predicate.buildDefinition.buildType", "https://x"),
     "$.predicate.buildDefinition.buildType: 'https://x' does not match "
     "'^urn:reprocal:[a-z][a-z-]*:v1$'"),
    (_set("predicate.runDetails.metadata", {}),
     "$.predicate.runDetails.metadata: 'invocationId' is a required property"),
    (_set("predicate.runDetails.byproducts", KeyError),
     "$.predicate.runDetails: {'builder': {'id': 'urn:reprocal:cli', 'version': {'reprocal': '0.1.0'}}, 'metadata': {'finishedOn': '2024-01-02T03:05:06.500Z', 'invocationId': 'id-1', 'startedOn': '2024-01-02T03:04:05.000Z'}} is not valid under any of the given schemas"),
    (_set("predicate.buildDefinition.internalParameters.git",
          {"commit": None, "branch": None, "dirty": [],
           "remotes": [{"name": "o", "url": "https://u:p@h/r.git"}]}),
     "$.predicate.buildDefinition.internalParameters.git: {'commit': None, 'branch': None, "
     "'dirty': [], 'remotes': [{'name': 'o', 'url': 'https://u:p@h/r.git'}]} is not valid "
     "under any of the given schemas"),
]


@pytest.mark.parametrize(("edit", "message"), BROKEN)
def test_broken_records_name_the_json_path(edit, message) -> None:  # type: ignore[no-untyped-def]
    """Each schema violation is reported with its JSON path, and loading refuses it."""
    doc = json.loads(_record().dumps())
    bad = copy.deepcopy(doc)
    edit(bad)
    assert message in record_errors(bad)
    with pytest.raises(RecordError) as exc:
        from_dict(bad, source="r.json")
    assert exc.value.one_line().startswith("r.json: $")


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    """A file that is not JSON: line and column, exit code 2."""
    p = tmp_path / "r.json"
    p.write_text('{\n  "_type": ,\n}')
    with pytest.raises(RecordError) as exc:
        load_record(p)
    assert exc.value.one_line() == f"{p}: line 2 column 12: not valid JSON (Expecting value)"
    assert exc.value.exit_code == 2


@pytest.mark.parametrize(("name", "secret"), [
    ("SAS_CCFPATH", False), ("SAS_ODF", False), ("REPROCAL_MIRRORS", False),
    ("REPROCAL_TOKEN", True), ("SAS_API_KEY", True), ("REPROCAL_PASSWORD", True),
    ("sas_secret_thing", True), ("REPROCAL_CREDENTIALS", True), ("SAS_AUTH", True),
])
def test_secret_names(name: str, secret: bool) -> None:
    """Names holding TOKEN/SECRET/PASSWORD/KEY/CREDENTIAL/AUTH are secrets."""
    assert is_secret(name) is secret


def test_secrets_never_reach_a_record(tmp_path: Path) -> None:
    """Secret variables and URL credentials are absent from the written bytes."""
    out = tmp_path / "out.txt"
    out.write_text("x")
    env = {"SAS_CCFPATH": "/ccf", "REPROCAL_TOKEN": "s3cr3t-token", "SAS_KEY": "s3cr3t-key",
           "REPROCAL_MIRRORS": "https://alice:s3cr3t-pw@mirror.example/ccf", "HOME": "/home/x",
           "AWS_SECRET_ACCESS_KEY": "s3cr3t-aws"}
    path = record_command("pin", outputs=[out], argv=["reprocal", "pin"], environ=env,
                          cwd=tmp_path)
    data = path.read_text()
    assert "s3cr3t" not in data
    rec = load_record(path)
    assert rec.environment == {"REPROCAL_MIRRORS": "https://mirror.example/ccf",
                               "SAS_CCFPATH": "/ccf"}
    assert recorded_environment(env) == rec.environment


def test_record_command_for_pin(tmp_path: Path) -> None:
    """pin's record: the manifest is the subject, its constituents the dependencies."""
    m = _manifest()
    out = tmp_path / "m.json"
    out.write_bytes(m.dumps())
    path = record_command("pin", outputs=[out], manifest=m, argv=["reprocal", "pin"],
                          environ={}, cwd=tmp_path)
    assert path == tmp_path / "m.json.prov.json"
    rec = load_record(path)
    assert rec.kind == "pin"
    assert rec.calibration_id == m.calibration_id
    assert [s.sha256 for s in rec.subjects] == [m.digest.split(":")[1]]
    (dep,) = rec.dependencies
    assert dep.to_json() == {"name": "EPN_CTI_0045.CCF", "digest": {"sha256": "cd" * 32},
                             "annotations": {"role": "constituent", "scope": "EPN",
                                             "typeid": "CTI", "issue": 45,
                                             "subdate": "2014-09-06T06:00:05"}}
    assert is_record(path) and not is_record(out)


def test_default_record_path_without_outputs(tmp_path: Path) -> None:
    """No output: ``reprocal-<kind>-<UTC time>.json`` in the working directory."""
    assert default_record_path([], "image build", cwd=tmp_path, when=T0) == \
        tmp_path / "reprocal-image-build-20240102T030405Z.json"
    assert default_record_path(["a/pn.fits"], "run", cwd=tmp_path, when=T0) == \
        Path("a/pn.fits.prov.json")


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while writing leaves the old record and no temp file."""
    target = tmp_path / "r.json"
    target.write_text("old")

    def boom(*a: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(LocalIOError, match=r": cannot write: (No space left on device|Read-only file system); "):
        save_record(_record(), target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.parametrize(("text", "version"), [
    ("sasversion:- Executing (routine): sasversion  -w 1 -V 4\nsasversion:- "
     "sasversion (sasversion-1.3)  [xmmsas_20230412_1735-21.0.0] started", "21.0.0"),
    ("/opt/xmmsas_20141104_1833-14.0.0", "14.0.0"),
    ("nothing here", None),
])
def test_parse_sas_version(text: str, version: str | None) -> None:
    """The release is read from sasversion output or an install path."""
    assert parse_sas_version(text) == version


def test_sas_version_best_effort() -> None:
    """sasversion first, then $SAS_DIR; unknown but installed is said so; absent is None."""
    assert sas_version({}, run_sasversion=lambda: "[xmmsas_20230412_1735-21.0.0]") == \
        {"version": "21.0.0", "source": "sasversion"}
    assert sas_version({"SAS_DIR": "/o/xmmsas_20141104_1833-14.0.0"}, run_sasversion=lambda: None) \
        == {"version": "14.0.0", "source": "SAS_DIR"}
    assert sas_version({"SAS_DIR": "/opt/sas"}, run_sasversion=lambda: None) == \
        {"version": "unknown", "source": "SAS_DIR=/opt/sas"}
    assert sas_version({}, run_sasversion=lambda: None) is None


# --- git state ----------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    git = pytest.importorskip("git")
    r = git.Repo.init(tmp_path / "work", initial_branch="analysis")
    with r.config_writer() as cw:
        cw.set_value("user", "name", "T")
        cw.set_value("user", "email", "t@example.invalid")
    (tmp_path / "work" / "run.sh").write_text("epchain\n")
    r.index.add(["run.sh"])
    r.index.commit("first")
    r.create_remote("origin", "https://bob:hunter2@git.example/x.git")
    yield r
    r.close()


def test_git_state_clean(repo) -> None:  # type: ignore[no-untyped-def]
    """A clean checkout: commit, branch, no dirty files, remote without credentials."""
    state = git_state(repo.working_tree_dir)
    assert state is not None
    assert state.commit == repo.head.commit.hexsha
    assert state.branch == "analysis"
    assert state.dirty == ()
    assert state.remotes == (("origin", "https://git.example/x.git"),)


def test_git_state_dirty(repo) -> None:  # type: ignore[no-untyped-def]
    """Modified, staged and untracked files are all listed, from a subdirectory too."""
    root = Path(repo.working_tree_dir)
    (root / "run.sh").write_text("epchain withoutoftime=yes\n")
    (root / "sub").mkdir()
    (root / "sub" / "new.txt").write_text("n")
    (root / "staged.txt").write_text("s")
    repo.index.add(["staged.txt"])
    state = git_state(root / "sub")
    assert state is not None and state.is_dirty
    assert state.dirty == ("run.sh", "staged.txt", "sub/new.txt")


def test_git_state_detached_and_none(repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Detached HEAD has no branch; a directory outside any repository has no state."""
    repo.git.checkout(repo.head.commit.hexsha)
    assert git_state(repo.working_tree_dir).branch is None  # type: ignore[union-attr]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert git_state(outside) is None


def test_record_holds_git_state(repo) -> None:  # type: ignore[no-untyped-def]
    """A record made in a repository carries its commit; credentials stay out."""
    root = Path(repo.working_tree_dir)
    path = record_command("pin", argv=["reprocal", "pin"], environ={}, cwd=root,
                          record=root / "r.json")
    rec = load_record(path)
    assert rec.git is not None and rec.git["commit"] == repo.head.commit.hexsha
    assert "hunter2" not in path.read_text()


def test_strip_credentials() -> None:
    """Only the userinfo part of a URL is removed."""
    assert strip_credentials("https://a:b@h/p") == "https://h/p"
    assert strip_credentials("ssh://git@h/p") == "ssh://h/p"
    assert strip_credentials("/local/path") == "/local/path"


def test_pin_leaves_a_record(cli, synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`reprocal pin` writes <manifest>.prov.json: the manifest as subject, every pinned
    constituent as a dependency, the calibration id, the command line."""
    done = cli("pin", "--ccf-path", str(synthetic_repo.root), "--obs-date", "2010-01-01",
               "--analysis-date", "2020-01-01", "-o", "m.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "m.json").read_text())
    rec = load_record(tmp_path / "m.json.prov.json")
    assert rec.kind == "pin"
    assert rec.command[:2] == ("reprocal", "pin")
    assert rec.calibration_id == manifest["state_id"]
    assert [s.name for s in rec.subjects] == ["m.json"]
    assert sorted(d.name for d in rec.by_role("constituent")) == [c["name"] for c in manifest["constituents"]]


def test_image_build_leaves_a_record(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`reprocal image build` writes <image>.prov.json: the tar, the image's OCI manifest digest
    and its config digest (the image ID) as subjects, the manifest and its constituents as
    dependencies."""
    import hashlib

    from reprocal.state._manifest import save_manifest

    ccf = tmp_path / "ccf"
    ccf.mkdir()
    data = b"SIMPLE  = T" + b" " * 2869
    (ccf / "EPN_CTI_0045.CCF").write_bytes(data)
    c = Constituent(ConstituentName("EPN", "CTI", 45), valdate="2000-01-01",
                    subdate="2014-09-06T06:00:05")
    m = build([("0201903501", CalDate.parse("2004-06-17"), CalDate.parse("2015-01-01"), "XMMCCF",
                [c])], {c.filename: (len(data), hashlib.sha256(data).hexdigest())})
    save_manifest(m, tmp_path / "m.json")
    done = cli("image", "build", "m.json", "--ccf-path", "ccf", "-o", "img.tar", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rec = load_record(tmp_path / "img.tar.prov.json")
    assert (rec.kind, rec.calibration_id) == ("image-build", m.calibration_id)
    from reprocal.image._archive import read_image_tar

    img = read_image_tar(tmp_path / "img.tar")
    name = img.repo_tags[0]
    assert [(s.name, s.sha256, s.media_type, s.role) for s in rec.subjects] == [
        ("img.tar", hashlib.sha256((tmp_path / "img.tar").read_bytes()).hexdigest(), None, None),
        (name, img.manifest_digest.split(":")[1],  # type: ignore[union-attr]
         "application/vnd.oci.image.manifest.v1+json", "image-manifest"),
        (name, img.config_digest.split(":")[1], "application/vnd.oci.image.config.v1+json",
         "image-config")]
    assert [(d.name, d.role) for d in rec.dependencies] == [
        ("EPN_CTI_0045.CCF", "constituent"), ("m.json", "manifest")]


def test_doctests() -> None:
    """The exit-status byproduct example holds."""
    import doctest

    from reprocal.provenance import _record

    assert doctest.testmod(_record).failed == 0
