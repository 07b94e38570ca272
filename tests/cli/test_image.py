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


# --- successive states share what did not change ----------------------------------------------

STATE_A, STATE_B = "2018-07-27T17:25:14", "2018-12-31T00:00:00"
"""Two analysis dates of one observation over the repository below: 3 of 118 types move on."""


@pytest.fixture(scope="module")
def successive(tmp_path_factory: pytest.TempPathFactory, synthetic_repo):  # type: ignore[no-untyped-def]
    """Two states pinned and built with the real commands: ``(a.tar, b.tar, changed types)``."""
    from support.invocation import in_process

    from reprocal.state._manifest import load_manifest
    from reprocal.testing._synthetic import generate

    root = tmp_path_factory.mktemp("successive")
    generate(root / "ccf", seed=0, scale=1e-4, files=400)
    env = {"XDG_CACHE_HOME": str(root / "cache")}  # a module fixture: its own caches
    tars, pinned = [], []
    for name, an in (("a", STATE_A), ("b", STATE_B)):
        done = in_process("pin", "--obs-date", "2004-05-09T13:00:16", "--analysis-date", an,
                       "--obs-id", "0201901401", "--ccf-path", str(root / "ccf"),
                       "-o", str(root / f"{name}.json"), env=env)
        assert done.returncode == 0, done.stderr
        done = in_process("image", "build", str(root / f"{name}.json"), "--ccf-path",
                       str(root / "ccf"), "--tag", f"ccf:{name}", "-o", str(root / f"{name}.tar"),
                       env=env)
        assert done.returncode == 0, done.stderr
        tars.append(root / f"{name}.tar")
        pinned.append({(f.constituent.scope, f.constituent.typeid): f.filename
                       for f in load_manifest(root / f"{name}.json").files})
    changed = {k for k in pinned[0] if pinned[0][k] != pinned[1][k]}
    assert len(changed) == 3 and len(pinned[0]) == len(pinned[1]) == 118
    return tars[0], tars[1], changed


def _layers(tar: Path) -> dict[str, tuple[str, str, set[str]]]:
    """Layer name -> (digest, diff id, SCOPE_TYPEID keys), read from the image itself."""
    img = read_image_tar(tar)
    record = json.loads(next(
        tf.extractfile(i).read() for n in range(len(img.layers))  # type: ignore[union-attr]
        for i, tf in img.layer_files(n) if i.name == "ccf/build-record.json"))
    types = {x["name"]: set(x["types"]) for x in record["calibration_layers"]}
    history = [h["created_by"].split(": ", 1)[1].split(" (")[0] for h in img.config["history"]]
    diff_ids = img.config["rootfs"]["diff_ids"]
    return {name: (d.digest, diff, types.get(name, set()))
            for name, d, diff in zip(history, img.layers, diff_ids, strict=True)}


def test_successive_states_share_every_unchanged_layer(successive) -> None:  # type: ignore[no-untyped-def]
    """The README's promise, counted on real tars: every layer whose types did not change
    between the two states is byte-identical (same digest); the layers holding a changed type,
    and the top layer, differ. The dates differ (config, labels), the layers do not care."""
    a_tar, b_tar, changed = successive
    a, b = _layers(a_tar), _layers(b_tar)
    assert set(a) == set(b)
    moved = {f"{s}_{t}" for s, t in changed}
    shared = {n for n in a if a[n][0] == b[n][0]}
    should_change = {n for n in a if a[n][2] & moved} | {"calibration top"}
    assert shared == set(a) - should_change
    assert len(shared) == len(a) - len(should_change) >= len(a) - 4
    ca, cb = read_image_tar(a_tar).config, read_image_tar(b_tar).config
    assert (ca["created"], cb["created"]) == ("2018-07-27T17:25:14Z", "2018-12-31T00:00:00Z")
    assert ca["config"]["Labels"]["org.reprocal.analysis-dates"] == STATE_A
    assert cb["config"]["Labels"]["org.reprocal.analysis-dates"] == STATE_B
    for n in range(len(read_image_tar(a_tar).layers)):
        assert {i.mtime for i, _ in read_image_tar(a_tar).layer_files(n)} == {1}


def test_a_registry_receives_only_the_changed_layers(cli, successive, registry: Daemon) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """`reprocal image push` of the second state after the first uploads the changed layers and
    the config; the registry already holds every shared layer, whatever its position."""
    a_tar, b_tar, _ = successive
    a, b = _layers(a_tar), _layers(b_tar)
    host = registry.url
    assert cli("image", "push", str(a_tar), f"{host}/ccf:a").returncode == 0
    done = cli("image", "push", str(b_tar), f"{host}/ccf:b", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    changed = {b[n][0] for n in b if b[n][0] != a[n][0]}
    assert set(doc["skipped"]) == {b[n][0] for n in b} - changed
    assert set(doc["uploaded"]) - changed == {read_image_tar(b_tar).config_digest}


def test_docker_load_finds_the_shared_layers_present(successive, dockerd: Daemon) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """`docker load` of the second image after the first: the daemon loads (reports progress
    for) only the layers from the first changed one up, and finds the ones below it already
    present. Docker's layer store keys a layer by the layers beneath it (its chain id), so an
    unchanged layer above a changed one is loaded again; a registry shares it (test above)."""
    import docker

    a_tar, b_tar, _ = successive
    a, b = _layers(a_tar), _layers(b_tar)
    order = list(b)  # bottom first
    first_change = next(i for i, n in enumerate(order) if a[n][0] != b[n][0])
    client = docker.APIClient(base_url=dockerd.url)
    try:
        def loaded(tar: Path) -> set[str]:
            with open(tar, "rb") as fh:
                events = list(client.load_image(fh, quiet=False))
            assert any("Loaded image" in str(e.get("stream", "")) for e in events), events
            return {e["id"] for e in events if e.get("status") == "Loading layer"}

        def short(diff_id: str) -> str:
            return diff_id.split(":")[1][:12]

        for name in ("ccf:a", "ccf:b"):
            try:
                client.remove_image(name, force=True)
            except docker.errors.ImageNotFound:
                pass
        assert loaded(a_tar) == {short(diff) for _, diff, _ in a.values()}
        second = loaded(b_tar)
        assert second == {short(b[n][1]) for n in order[first_change:]}
        assert first_change >= 1 and not second & {short(b[n][1]) for n in order[:first_change]}
    finally:
        client.close()


def test_build_with_a_layer_cache(cli, state, tmp_path, monkeypatch):
    """--layer-cache (or $REPROCAL_LAYER_CACHE): the second build says every layer was reused,
    --json counts them, and the image is the same; a cache path that is a file is bad input."""
    m, repo = state
    cache = tmp_path / "layers"
    first = cli("image", "build", str(m), "--ccf-path", str(repo), "-o", str(tmp_path / "a.tar"),
                "--layer-cache", str(cache), "--json")
    assert first.returncode == 0, first.stderr
    a = json.loads(first.stdout)
    assert a["layers_cached"] == 0
    monkeypatch.setenv("REPROCAL_LAYER_CACHE", str(cache))
    second = cli("image", "build", str(m), "--ccf-path", str(repo), "-o", str(tmp_path / "b.tar"))
    assert second.returncode == 0, second.stderr
    ours = len(a["layers"])
    assert f"layer cache     {ours} of {ours} calibration layers reused" in second.stdout
    b = json.loads(cli("image", "build", str(m), "--ccf-path", str(repo), "-o",
                       str(tmp_path / "c.tar"), "--json").stdout)
    assert b["tar_sha256"] == a["tar_sha256"] and b["layers_cached"] == ours
    (tmp_path / "f").write_text("x")
    bad = cli("image", "build", str(m), "--ccf-path", str(repo), "-o", str(tmp_path / "d.tar"),
              "--layer-cache", str(tmp_path / "f"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "--layer-cache" in bad.stderr and f"{tmp_path / 'f'}' is a file" in bad.stderr
    assert not (tmp_path / "d.tar").exists()
