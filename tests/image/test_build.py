"""Calibration images: reproducible builds, layer sharing, base images, verify, real consumers
(a private dockerd, umoci, skopeo)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from support.components import needs, program
from support.daemons import Daemon, dockerd  # noqa: F401
from support.imagekit import TYPES, busybox_base, fake_cifs, make_state

from reprocal.errors import CheckFailed, HashMismatchError, InputError
from reprocal.image._archive import read_image_tar
from reprocal.image._build import build_image
from reprocal.image._daemon import check_in_docker, export_image
from reprocal.image._layers import type_group
from reprocal.image._layout import ENV, LABEL_BASE_DIGEST, LABEL_CALIBRATION_ID
from reprocal.image._verify import verify_image

needs_busybox = needs("busybox")


def _build(tmp: Path, name: str = "img.tar", issues=None, **kw):
    manifest, repo = make_state(tmp / "repo", issues)
    kw.setdefault("cifs", fake_cifs(manifest))
    return manifest, build_image(manifest, [repo], tmp / name, **kw)


def _ccf_listing(tar: Path) -> list[str]:
    img = read_image_tar(tar)
    return sorted(i.name for n in range(len(img.layers)) for i, _ in img.layer_files(n)
                  if i.isreg())


def test_same_inputs_same_tar_anywhere(tmp_path, monkeypatch):
    """Two builds in different directories, files touched, umask changed: same tar sha256."""
    m1, a = _build(tmp_path / "one")
    for p in (tmp_path / "one" / "repo").iterdir():
        os.utime(p, (1, 1))
    old = os.umask(0o077)
    try:
        manifest, repo = make_state(tmp_path / "two" / "repo")
        for p in repo.iterdir():
            os.utime(p, (2_000_000_000, 2_000_000_000))
        b = build_image(manifest, [tmp_path / "empty", repo], tmp_path / "two" / "x.tar",
                        cifs=fake_cifs(manifest))
    finally:
        os.umask(old)
    assert a.tar_sha256 == b.tar_sha256
    assert a.manifest_digest == b.manifest_digest
    assert hashlib.sha256(b.path.read_bytes()).hexdigest() == b.tar_sha256


def test_source_date_epoch_sets_the_timestamps(tmp_path, monkeypatch):
    """SOURCE_DATE_EPOCH changes created/mtimes; otherwise the latest analysis date is used."""
    _, a = _build(tmp_path, "a.tar")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    _, b = _build(tmp_path, "b.tar")
    assert a.tar_sha256 != b.tar_sha256
    assert read_image_tar(a.path).config["created"] == "2014-05-01T00:00:00Z"
    assert read_image_tar(b.path).config["created"] == "2023-11-14T22:13:20Z"


def test_ccf_holds_exactly_the_state(tmp_path):
    """/ccf: the pinned files, one CIF per observation, ccf.cif, manifest, sums, record."""
    manifest, repo = make_state(tmp_path / "repo", obs_ids=("0201901401", "0404910601"))
    result = build_image(manifest, [repo], tmp_path / "i.tar", cifs=fake_cifs(manifest))
    expected = sorted([f"ccf/{f.filename}" for f in manifest.files] + [
        "ccf/SHA256SUMS", "ccf/build-record.json", "ccf/ccf.cif", "ccf/manifest.json",
        "ccf/cif/0201901401.cif", "ccf/cif/0404910601.cif"])
    assert _ccf_listing(result.path) == expected
    config = read_image_tar(result.path).config
    assert config["config"]["Env"] == [f"{k}={v}" for k, v in ENV.items()]
    labels = config["config"]["Labels"]
    assert labels[LABEL_CALIBRATION_ID] == manifest.calibration_id
    assert labels["org.reprocal.analysis-dates"] == "2014-05-01T00:00:00"
    assert "org.reprocal.version" in labels
    assert len(result.layers) == len({type_group(s, t) for s, t in TYPES}) + 1


def test_one_changed_type_shares_every_other_calibration_layer(tmp_path):
    """A new issue of one type: only its group's layer and the top layer differ."""
    _, a = _build(tmp_path / "a")
    _, b = _build(tmp_path / "b", issues={("EPN", "REDIST"): 2})
    changed = f"calibration group {type_group('EPN', 'REDIST'):02d}/32"
    differ = [x.name for x, y in zip(a.layers, b.layers, strict=True) if x.digest != y.digest]
    assert differ == [changed, "calibration top"]


def test_file_changed_after_pinning_aborts_and_writes_nothing(tmp_path):
    """Same size, different bytes: caught while streamed, no image and no temp file left."""
    manifest, repo = make_state(tmp_path / "repo")
    victim = repo / manifest.files[0].filename
    data = bytearray(victim.read_bytes())
    data[0] ^= 1
    victim.write_bytes(bytes(data))
    out = tmp_path / "out" / "i.tar"
    out.parent.mkdir()
    with pytest.raises(HashMismatchError) as err:
        build_image(manifest, [repo], out, cifs=fake_cifs(manifest))
    assert err.value.path == str(victim)
    assert list(out.parent.iterdir()) == []


def test_missing_file_is_reported_by_name(tmp_path):
    """A pinned file absent from the repository: one line naming it."""
    manifest, repo = make_state(tmp_path / "repo")
    (repo / "XMM_MISCDATA_0001.CCF").unlink()
    with pytest.raises(CheckFailed) as err:
        build_image(manifest, [repo], tmp_path / "i.tar", cifs=fake_cifs(manifest))
    assert err.value.message == "1 pinned constituent(s) not as pinned: XMM_MISCDATA_0001.CCF: missing"


def test_corrupted_blob_is_caught_by_verify(tmp_path):
    """A flipped byte inside a layer blob fails its blob check (and nothing else passes silently)."""
    _, result = _build(tmp_path)
    assert verify_image(result.path).ok
    img = read_image_tar(result.path)
    member = img.members[img.layer_paths[0]]
    with open(result.path, "r+b") as fh:
        fh.seek(member.offset + 600)
        byte = fh.read(1)
        fh.seek(member.offset + 600)
        fh.write(bytes([byte[0] ^ 0xFF]))
    report = verify_image(result.path)
    failed = [c.name for c in report.failures]
    assert f"blob {img.layers[0].digest[:19]}" in failed
    assert "constituents" in failed and "SHA256SUMS" in failed


def test_verify_reports_a_non_image(tmp_path):
    """verify on something that is not an image tar: one failed 'structure' check."""
    p = tmp_path / "x.tar"
    p.write_bytes(b"nope")
    report = verify_image(p)
    assert [c.name for c in report.failures] == ["structure"]


@needs_busybox
def test_base_image_is_reused_byte_for_byte(tmp_path):
    """Base layers, env, labels and history are inherited; SAS_CCF is replaced; base pinned."""
    base = busybox_base(tmp_path / "bb.tar")
    _, result = _build(tmp_path, base=base)
    b, img = read_image_tar(base), read_image_tar(result.path)
    assert img.layers[0] == b.layers[0]
    assert img.read(img.layer_paths[0]) == b.read(b.layer_paths[0])
    inner = img.config["config"]
    assert inner["Env"] == ["PATH=/bin", "SAS_CCFPATH=/ccf", "SAS_CCF=/ccf/ccf.cif"]
    assert inner["Labels"]["base"] == "busybox"
    assert inner["Labels"][LABEL_BASE_DIGEST] == b.manifest_digest
    assert img.config["history"][0] == b.config["history"][0]
    assert len(img.config["history"]) == len(img.layers)
    record = json.loads(next(tf.extractfile(i).read() for i, tf in img.layer_files(
        len(img.layers) - 1) if i.name == "ccf/build-record.json"))
    assert record["base"]["manifest_digest"] == b.manifest_digest
    assert verify_image(result.path).ok


@needs_busybox
def test_base_with_ccf_is_refused(tmp_path):
    """A base that already has /ccf would mix stale calibration in: refused, clearly."""
    base = busybox_base(tmp_path / "bb.tar", extra={"ccf/OLD.CCF": b"old"})
    with pytest.raises(InputError) as err:
        _build(tmp_path, base=base)
    assert err.value.one_line() == (
        f"{base}: the base image already has /ccf (layer 1: ccf); use a base image without "
        "/ccf; reprocal will not mix stale calibration files into the image")
    assert not (tmp_path / "img.tar").exists()


def test_gzip_image_verifies(tmp_path):
    """gzip layers: verify recomputes DiffIDs through gunzip."""
    _, result = _build(tmp_path, gzip=True)
    assert {x.digest != x.diff_id for x in result.layers} == {True}
    assert verify_image(result.path).ok


def test_umoci_unpacks_it(tmp_path):
    """umoci (which checks DiffIDs) unpacks the layout; the unpacked /ccf passes sha256sum -c."""
    program("umoci")
    _, result = _build(tmp_path, tag="ccf:umoci")
    layout = tmp_path / "layout"
    layout.mkdir()
    with tarfile.open(result.path) as tf:
        tf.extractall(layout, filter="data")
    cmd = ["umoci", "unpack", "--image", f"{layout}:umoci", str(tmp_path / "bundle")]
    if os.geteuid() != 0:
        cmd.insert(2, "--rootless")
    subprocess.run(cmd, check=True, capture_output=True)
    done = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path / "bundle/rootfs/ccf",
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_skopeo_reads_it(tmp_path):
    """skopeo inspect oci-archive: sees our manifest digest and labels."""
    program("skopeo")
    manifest, result = _build(tmp_path)
    out = subprocess.run(["skopeo", "inspect", f"oci-archive:{result.path}"], check=True,
                         capture_output=True, text=True)
    doc = json.loads(out.stdout)
    assert doc["Digest"] == result.manifest_digest
    assert doc["Labels"][LABEL_CALIBRATION_ID] == manifest.calibration_id
    assert len(doc["Layers"]) == len(result.layers)


COPIES = [
    # (skopeo copy options, destination transport, manifest digest kept?)
    ((), "oci-archive", False),  # skopeo recompresses the layers: a new manifest digest
    (("--preserve-digests",), "oci-archive", True),
    ((), "docker-archive", False),  # a legacy docker save: no OCI manifest at all
]


@pytest.mark.parametrize(("options", "dest", "same_manifest"), COPIES)
def test_archives_written_by_skopeo_verify(tmp_path, options, dest, same_manifest):
    """An OCI layout without a docker manifest.json (skopeo's oci-archive:) and a plain
    docker-archive pass image verify; the config digest (the image ID) survives every copy, the
    manifest digest only --preserve-digests."""
    program("skopeo")
    _, result = _build(tmp_path)
    copy = tmp_path / f"copy-{dest}.tar"
    subprocess.run(["skopeo", "copy", "--quiet", *options, f"oci-archive:{result.path}",
                    f"{dest}:{copy}" + (":ccf:copy" if dest == "docker-archive" else "")],
                   check=True, capture_output=True)
    report = verify_image(copy)
    assert report.ok, report.failures
    assert report.config_digest == result.config_digest
    assert (report.manifest_digest == result.manifest_digest) is same_manifest
    names = [c.name for c in report.checks]
    assert ("docker-archive manifest" in names) is (dest == "oci-archive")
    assert {"constituents", "SHA256SUMS", "build record", "diff_ids"} <= set(names)


@pytest.mark.docker
@needs_busybox
def test_loads_in_docker_and_passes_its_own_checks(tmp_path, dockerd: Daemon):  # noqa: F811
    """docker load; a container (no network) runs sha256sum -c SHA256SUMS and sees the env."""
    _, result = _build(tmp_path, base=busybox_base(tmp_path / "bb.tar"), tag="ccf:docker")
    checks = check_in_docker(result.path, base_url=dockerd.url)
    assert [(c.name, c.ok) for c in checks] == [
        ("docker: load", True), ("docker: DiffIDs", True), ("docker: calibration id label", True),
        ("docker: sha256sum -c SHA256SUMS", True), ("docker: environment", True)]
    assert checks[3].detail == "12 files OK"


@pytest.mark.docker
def test_image_without_shell_is_checked_from_its_files(tmp_path, dockerd: Daemon):  # noqa: F811
    """No base, no shell: the daemon check reads /ccf out of a created container instead."""
    _, result = _build(tmp_path, tag="ccf:noshell")
    checks = check_in_docker(result.path, base_url=dockerd.url, remove=True)
    assert all(c.ok for c in checks), checks
    assert checks[-1].name == "docker: SHA256SUMS (read from the container)"


@pytest.mark.docker
@needs_busybox
def test_base_by_name_from_the_daemon(tmp_path, dockerd: Daemon, monkeypatch):  # noqa: F811
    """--base NAME: exported from the daemon (a legacy `docker save` on 20.10), then reused."""
    base = busybox_base(tmp_path / "bb.tar", name="reprocal-test/busybox:name")
    import docker

    client = docker.DockerClient(base_url=dockerd.url)
    try:
        with open(base, "rb") as fh:
            client.images.load(fh)
    finally:
        client.close()
    monkeypatch.setenv("DOCKER_HOST", dockerd.url)
    saved = export_image("reprocal-test/busybox:name", tmp_path / "saved.tar")
    assert read_image_tar(saved).config_digest == read_image_tar(base).config_digest
    _, result = _build(tmp_path, base="reprocal-test/busybox:name", tag="ccf:byname")
    img = read_image_tar(result.path)
    assert img.config["config"]["Labels"]["org.reprocal.base.config-digest"] == \
        read_image_tar(base).config_digest
    assert all(c.ok for c in check_in_docker(result.path, base_url=dockerd.url))


@pytest.mark.parametrize("base", ["missing.tar", "./nothing", "/no/such/base"])
def test_missing_base_tar(tmp_path, base):
    """A base that looks like a file but is not there: bad input, no daemon consulted."""
    with pytest.raises(InputError) as err:
        _build(tmp_path, base=base)
    assert err.value.one_line() == (f"{base}: no such base image tar; give a `docker save`/OCI "
                                    "tar file or an image name the daemon has")


def test_base_name_without_a_daemon(tmp_path, monkeypatch):
    """A base given by name with no daemon answering: component unavailable (exit 6)."""
    from reprocal.errors import ComponentUnavailable

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    with pytest.raises(ComponentUnavailable) as err:
        _build(tmp_path, base="xmmsas:21.0.0")
    assert err.value.exit_code == 6


@pytest.mark.parametrize(("out", "message"), [
    ("nodir/i.tar", "{tmp}/nodir/i.tar: directory {tmp}/nodir does not exist; create it first"),
    (".", "{tmp}: is a directory; give the image tar's file name"),
])
def test_output_path_is_checked_first(tmp_path, out, message):
    """A missing output directory or a directory as output: one line, before any work."""
    manifest, repo = make_state(tmp_path / "repo")
    with pytest.raises(InputError) as err:
        build_image(manifest, [repo], tmp_path / out, cifs=fake_cifs(manifest))
    assert err.value.one_line() == message.format(tmp=tmp_path)
