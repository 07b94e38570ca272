"""``reprocal image`` as a user runs it: build, verify (--docker), push, pull; exit codes."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from support.daemons import Daemon, dockerd, registry  # noqa: F401
from support.imagekit import busybox_base, fake_cifs, make_state

from reprocal.image._archive import read_image_tar
from reprocal.image._build import build_image
from reprocal.state._manifest import save_manifest


@pytest.fixture
def state(tmp_path: Path) -> tuple[Path, Path]:
    manifest, repo = make_state(tmp_path / "repo")
    return save_manifest(manifest, tmp_path / "m.json"), repo


@pytest.fixture
def image(tmp_path: Path) -> Path:
    manifest, repo = make_state(tmp_path / "repo2")
    return build_image(manifest, [repo], tmp_path / "lib.tar", cifs=fake_cifs(manifest)).path


@pytest.mark.parametrize(("args", "code", "stderr"), [
    (("--tag", "Bad:tag"), 2,
     "reprocal: error: --tag: 'Bad:tag' is not NAME:TAG (lower-case name, e.g. ccf:2014-05)\n"),
    (("--tag", "ccf"), 2,
     "reprocal: error: --tag: 'ccf' is not NAME:TAG (lower-case name, e.g. ccf:2014-05)\n"),
])
def test_build_refuses_bad_tags(cli, state, tmp_path, args, code, stderr):
    """A malformed --tag is bad input (exit 2), before anything is read."""
    m, repo = state
    done = cli("image", "build", str(m), "--ccf-path", str(repo), "-o", str(tmp_path / "i.tar"),
               *args)
    assert (done.returncode, done.stderr) == (code, stderr)


def test_build_of_a_missing_manifest(cli, tmp_path):
    """No such manifest: exit 2, one line naming it."""
    done = cli("image", "build", str(tmp_path / "none.json"), "--ccf-path", str(tmp_path),
               "-o", str(tmp_path / "i.tar"))
    assert done.returncode == 2
    assert done.stderr == f"reprocal: error: {tmp_path / 'none.json'}: cannot read: No such file " \
        "or directory\n"


def test_build_then_verify(cli, state, tmp_path):
    """build --json reports the digests; verify --json agrees; the same build twice is equal."""
    pytest.importorskip("reprocal.fits._calindex", reason="CIF writer (reprocal.fits._calindex) not merged yet")
    m, repo = state
    outs = []
    for name in ("a.tar", "b.tar"):
        done = cli("image", "build", str(m), "--ccf-path", str(repo), "--tag", "ccf:t",
                   "-o", str(tmp_path / name), "--json")
        assert done.returncode == 0, done.stderr
        outs.append(json.loads(done.stdout))
    assert outs[0]["tar_sha256"] == outs[1]["tar_sha256"]
    done = cli("image", "verify", str(tmp_path / "a.tar"), "--json")
    assert done.returncode == 0, done.stdout
    report = json.loads(done.stdout)
    assert report["ok"] and report["manifest_digest"] == outs[0]["manifest_digest"]


def test_verify_failure_exit_code(cli_process, image):
    """A corrupted blob: FAIL lines, a summary, exit 1."""
    img = read_image_tar(image)
    member = img.members[img.config_path]
    with open(image, "r+b") as fh:
        fh.seek(member.offset + 2)
        fh.write(b"#")
    done = cli_process("image", "verify", str(image))
    assert done.returncode == 1
    assert f"FAIL blob {img.config_digest[:19]}: content hashes to sha256:" in done.stdout
    assert done.stderr == f"reprocal: error: {image}: 2 check(s) failed\n"


@pytest.mark.docker
def test_verify_with_docker(cli, tmp_path, dockerd: Daemon):  # noqa: F811
    """verify --docker loads the image in the daemon ($DOCKER_HOST) and runs its checks."""
    manifest, repo = make_state(tmp_path / "repo3")
    tar = build_image(manifest, [repo], tmp_path / "d.tar", cifs=fake_cifs(manifest),
                      base=busybox_base(tmp_path / "bb.tar"), tag="ccf:cli").path
    done = cli("image", "verify", str(tar), "--docker", "--json",
               env={"DOCKER_HOST": dockerd.url})
    assert done.returncode == 0, done.stdout + done.stderr
    names = [c["name"] for c in json.loads(done.stdout)["checks"]]
    assert "docker: sha256sum -c SHA256SUMS" in names


def test_verify_docker_without_a_daemon(cli, image, tmp_path):
    """No daemon at $DOCKER_HOST: component unavailable, exit 6."""
    done = cli("image", "verify", str(image), "--docker",
               env={"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert done.returncode == 6
    assert done.stderr.startswith("reprocal: error: no Docker daemon answers")


@pytest.mark.network
def test_push_and_pull(cli, image, tmp_path, registry: Daemon):  # noqa: F811
    """push then pull through a loopback registry: the same manifest digest."""
    ref = f"{registry.url}/reprocal/ccf:cli"
    pushed = cli("image", "push", str(image), ref, "--json")
    assert pushed.returncode == 0, pushed.stderr
    pulled = cli("image", "pull", ref, "-o", str(tmp_path / "p.tar"), "--json")
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads(pushed.stdout)["digest"] == json.loads(pulled.stdout)["digest"] == \
        read_image_tar(image).manifest_digest


def test_push_to_nothing(cli, image):
    """Nothing listening: network error, exit 5."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = cli("image", "push", str(image), f"127.0.0.1:{port}/a:b")
    assert done.returncode == 5
    assert done.stderr.startswith("reprocal: error: blob check: HEAD http://127.0.0.1:")
