"""Push to and pull from an OCI registry: a real docker-registry on loopback, and fakes that lie."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from support.components import program
from support.daemons import (  # noqa: F401
    REGISTRY_PASSWORD,
    REGISTRY_USER,
    Daemon,
    auth_registry,
    dockerd,
    registry,
)
from support.imagekit import fake_cifs, make_state

from reprocal.errors import HashMismatchError, InputError, NetworkError
from reprocal.image._build import build_image
from reprocal.image._registry import Reference, pull_image, push_image
from reprocal.image._verify import verify_image


@pytest.fixture
def image(tmp_path: Path) -> Path:
    manifest, repo = make_state(tmp_path / "repo")
    return build_image(manifest, [repo], tmp_path / "img.tar", cifs=fake_cifs(manifest)).path


@pytest.mark.parametrize(("ref", "parts"), [
    ("127.0.0.1:5000/reprocal/ccf:v1", ("127.0.0.1:5000", "reprocal/ccf", "v1", None)),
    ("localhost/ccf", ("localhost", "ccf", "latest", None)),
    ("registry.example.org/a/b-c_d.e:2014-05", ("registry.example.org", "a/b-c_d.e", "2014-05",
                                               None)),
    ("r.io/x@sha256:" + "a" * 64, ("r.io", "x", None, "sha256:" + "a" * 64)),
])
def test_reference_parsing(ref, parts):
    """REGISTRY/NAME[:TAG|@DIGEST], the tag defaulting to latest."""
    r = Reference.parse(ref)
    assert (r.registry, r.repository, r.tag, r.digest) == parts
    assert str(r) == (ref if ":" in ref.split("/")[-1] or "@" in ref else ref + ":latest")


@pytest.mark.parametrize(("ref", "message"), [
    ("ccf:v1", "image reference 'ccf:v1' names no registry"),
    ("r.io/CCF:v1", "image reference 'r.io/CCF:v1': bad repository name 'CCF' (lower-case "
     "letters, digits, '.', '_', '-', '/')"),
    ("r.io/ccf:-x", "image reference 'r.io/ccf:-x': bad tag '-x'"),
    ("r.io/ccf@sha256:12", "image reference 'r.io/ccf@sha256:12': bad digest 'sha256:12'"),
])
def test_bad_references(ref, message):
    """Malformed references are refused before any request."""
    with pytest.raises(InputError) as err:
        Reference.parse(ref)
    assert err.value.message == message


@pytest.mark.parametrize(("registry_", "scheme"), [
    ("127.0.0.1:5000", "http"), ("localhost:1", "http"), ("[::1]:5000", "http"),
    ("registry.example.org", "https"),
])
def test_http_only_for_loopback(registry_, scheme):
    """Loopback registries are spoken to over http, others over https."""
    assert Reference.parse(f"{registry_}/a:b").base_url.startswith(f"{scheme}://")


@pytest.mark.network
def test_push_and_pull_keep_the_manifest_digest(image, tmp_path, registry: Daemon):  # noqa: F811
    """Push, push again (every blob skipped), pull: the digest is ours at every step."""
    first = push_image(image, f"{registry.url}/reprocal/ccf:one")
    again = push_image(image, f"{registry.url}/reprocal/ccf:two")
    assert again.digest == first.digest
    assert again.uploaded == () and set(again.skipped) == set(first.uploaded)
    pulled = pull_image(f"{registry.url}/reprocal/ccf:one", tmp_path / "pulled.tar")
    assert pulled.digest == first.digest
    by_digest = pull_image(f"{registry.url}/reprocal/ccf@{first.digest}", tmp_path / "d.tar")
    assert by_digest.digest == first.digest
    report = verify_image(pulled.path)
    assert report.ok and report.manifest_digest == first.digest


@pytest.mark.network
def test_pull_of_an_unknown_tag(tmp_path, registry: Daemon):  # noqa: F811
    """A 404 is a network-class error naming the URL; no tar is written."""
    with pytest.raises(NetworkError, match=r"manifest: GET http://.*/v2/none/manifests/x "
                       "answered 404"):
        pull_image(f"{registry.url}/none:x", tmp_path / "x.tar")
    assert not (tmp_path / "x.tar").exists()


def test_unreachable_registry(image, monkeypatch):
    """Nothing listening: NetworkError (exit 5), after the retries."""
    from reprocal.image import _registry

    monkeypatch.setattr(_registry, "BACKOFF", 0.01)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(NetworkError) as err:
        push_image(image, f"127.0.0.1:{port}/a:b")
    assert err.value.exit_code == 5


class _Response:
    def __init__(self, status: int, content: bytes = b"", headers: dict | None = None):
        self.status_code, self.content, self.headers = status, content, headers or {}
        self.text = content.decode("latin-1")

    def iter_content(self, n: int):
        yield self.content

    def json(self):
        import json

        return json.loads(self.content)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


class _LyingRegistry:
    """A registry that has every blob and answers the manifest PUT with another digest, and
    serves corrupt blobs."""

    def __init__(self, manifest: bytes = b"", config: bytes = b""):
        self.manifest, self.config = manifest, config

    def request(self, method, url, **kw):
        if method == "HEAD":
            return _Response(200)
        if method == "PUT" and "/manifests/" in url:
            return _Response(201, headers={"Docker-Content-Digest": "sha256:" + "0" * 64})
        if method == "GET" and "/manifests/" in url:
            return _Response(200, self.manifest)
        if method == "GET" and url.endswith(self.config_digest):
            return _Response(200, self.config)
        return _Response(200, b"corrupt")

    @property
    def config_digest(self) -> str:
        import hashlib

        return hashlib.sha256(self.config).hexdigest()


def test_registry_reporting_another_digest_is_an_error(image):
    """The registry's Docker-Content-Digest must be the digest we computed."""
    with pytest.raises(HashMismatchError, match="registry manifest digest mismatch: expected "
                       "sha256:[0-9a-f]{64}, got sha256:0{64}"):
        push_image(image, "127.0.0.1:1/a:b", session=_LyingRegistry())


def test_corrupt_blob_on_pull_leaves_nothing(image, tmp_path):
    """A layer whose bytes do not hash to its digest aborts the pull; no tar is left."""
    from reprocal.image._archive import read_image_tar

    img = read_image_tar(image)
    lying = _LyingRegistry(img.manifest_bytes, img.config_bytes)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(HashMismatchError, match="blob digest mismatch"):
        pull_image("127.0.0.1:1/a:b", out / "p.tar", session=lying)
    assert list(out.iterdir()) == []


class _TokenRegistry:
    """A registry that wants a bearer token from its realm (or basic credentials)."""

    def __init__(self, scheme: str = "Bearer"):
        self.headers: dict[str, str] = {}
        self.scheme = scheme
        self.token_requests: list[tuple[dict, object]] = []

    def request(self, method, url, **kw):
        import hashlib

        if url == "http://auth.test/token":
            self.token_requests.append((kw.get("params"), kw.get("auth")))
            return _Response(200, b'{"token": "T1"}')
        if self.headers.get("Authorization") not in ("Bearer T1", "Basic dTpw"):
            challenge = ('Bearer realm="http://auth.test/token",service="reg",'
                         'scope="repository:a:pull,push"' if self.scheme == "Bearer"
                         else 'Basic realm="reg"')
            return _Response(401, b"unauthorized", {"WWW-Authenticate": challenge})
        if method == "PUT":
            return _Response(201, headers={
                "Docker-Content-Digest": "sha256:" + hashlib.sha256(kw["data"]).hexdigest()})
        return _Response(200)


@pytest.mark.parametrize(("creds", "auth"), [({}, None), ({"REPROCAL_REGISTRY_USER": "u",
                                                          "REPROCAL_REGISTRY_PASSWORD": "p"},
                                                         ("u", "p"))])
def test_bearer_token_challenge(image, monkeypatch, creds, auth):
    """A 401 Bearer challenge: a token from the realm (anonymous or with credentials), then retry."""
    for k, v in creds.items():
        monkeypatch.setenv(k, v)
    fake = _TokenRegistry()
    result = push_image(image, "127.0.0.1:1/a:b", session=fake)
    assert result.uploaded == ()
    assert fake.token_requests[0] == ({"service": "reg", "scope": "repository:a:pull,push"}, auth)


def test_basic_challenge_needs_credentials(image, monkeypatch):
    """A Basic challenge without credentials: a network error saying which variables to set."""
    with pytest.raises(NetworkError) as err:
        push_image(image, "127.0.0.1:1/a:b", session=_TokenRegistry("Basic"))
    assert err.value.hint == ("the registry refused the credentials, or needs some: docker "
                              "login REGISTRY (~/.docker/config.json, or $DOCKER_CONFIG), or set "
                              "REPROCAL_REGISTRY_USER and REPROCAL_REGISTRY_PASSWORD")
    monkeypatch.setenv("REPROCAL_REGISTRY_USER", "u")
    monkeypatch.setenv("REPROCAL_REGISTRY_PASSWORD", "p")
    assert push_image(image, "127.0.0.1:1/a:b", session=_TokenRegistry("Basic")).digest


def _docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doc: dict) -> None:
    import json

    cfg = tmp_path / "docker"
    cfg.mkdir(exist_ok=True)
    (cfg / "config.json").write_text(json.dumps(doc))
    monkeypatch.setenv("DOCKER_CONFIG", str(cfg))


def _basic(user: str, password: str) -> str:
    import base64

    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.network
def test_authenticated_registry_refuses_anonymous_pushes(image, auth_registry: Daemon):  # noqa: F811
    """htpasswd registry, no credentials anywhere: exit 5 saying where credentials go."""
    with pytest.raises(NetworkError) as err:
        push_image(image, f"{auth_registry.url}/reprocal/ccf:anon")
    assert "answered 401" in err.value.message
    assert "docker login REGISTRY (~/.docker/config.json" in (err.value.hint or "")


@pytest.mark.network
def test_push_and_pull_with_docker_config_auths(image, tmp_path, monkeypatch,  # type: ignore[no-untyped-def]
                                               auth_registry: Daemon):  # noqa: F811
    """Credentials as `docker login` stores them (config.json "auths", base64 user:password):
    push then pull through the authenticated registry, digests kept."""
    _docker_config(tmp_path, monkeypatch, {"auths": {auth_registry.url: {
        "auth": _basic(REGISTRY_USER, REGISTRY_PASSWORD)}}})
    pushed = push_image(image, f"{auth_registry.url}/reprocal/ccf:auth")
    pulled = pull_image(f"{auth_registry.url}/reprocal/ccf:auth", tmp_path / "p.tar")
    assert pulled.digest == pushed.digest
    assert verify_image(pulled.path).ok


@pytest.mark.network
def test_wrong_password_is_refused(image, tmp_path, monkeypatch, auth_registry: Daemon):  # type: ignore[no-untyped-def]  # noqa: F811
    """A wrong password in config.json: 401, exit 5, nothing pushed."""
    _docker_config(tmp_path, monkeypatch, {"auths": {auth_registry.url: {
        "auth": _basic(REGISTRY_USER, "wrong")}}})
    with pytest.raises(NetworkError, match="answered 401"):
        push_image(image, f"{auth_registry.url}/reprocal/ccf:bad")


@pytest.mark.network
def test_credential_helper(image, tmp_path, monkeypatch, auth_registry: Daemon):  # type: ignore[no-untyped-def]  # noqa: F811
    """config.json "credHelpers": the helper program (docker-credential-<name>, the protocol
    Docker's helpers speak: server URL on stdin, JSON out) supplies the credentials."""
    import json

    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-reprocaltest"
    asked = tmp_path / "asked"
    helper.write_text("#!/bin/sh\n"
                      f'[ "$1" = get ] || exit 1\ncat > {asked}\n'
                      f"echo '{json.dumps({'Username': REGISTRY_USER, 'Secret': REGISTRY_PASSWORD})}'\n")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    _docker_config(tmp_path, monkeypatch, {"credHelpers": {auth_registry.url: "reprocaltest"}})
    pushed = push_image(image, f"{auth_registry.url}/reprocal/ccf:helper")
    assert asked.read_text().strip() == auth_registry.url
    assert pull_image(f"{auth_registry.url}/reprocal/ccf:helper",
                      tmp_path / "h.tar").digest == pushed.digest


def test_missing_credential_helper(image, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A credsStore whose helper is not installed: exit 6 naming the helper problem."""
    from reprocal.errors import ComponentUnavailable
    from reprocal.image._credentials import registry_credentials

    _docker_config(tmp_path, monkeypatch, {"credsStore": "nosuchhelper"})
    with pytest.raises(ComponentUnavailable) as err:
        registry_credentials("127.0.0.1:5000")
    assert err.value.exit_code == 6
    assert err.value.message == ("registry 127.0.0.1:5000: the Docker configuration names the "
                                 "credential helper docker-credential-nosuchhelper, which is not "
                                 "installed or not on PATH")


class _FlakyRegistry:
    """Answers 503 to the first attempt at each blob PUT and manifest PUT; records every body."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.failed: set[str] = set()
        self.bodies: dict[str, list[bytes]] = {}

    def request(self, method, url, **kw):
        import hashlib

        if method == "HEAD":
            return _Response(404)
        if method == "POST":
            return _Response(202, headers={"Location": "/v2/a/blobs/uploads/u1?state=x"})
        data = kw.get("data")
        body = data if isinstance(data, bytes) else data.read()
        self.bodies.setdefault(url, []).append(body)
        if url not in self.failed:
            self.failed.add(url)
            return _Response(503, b"try again")
        return _Response(201, headers={"Docker-Content-Digest":
                                       "sha256:" + hashlib.sha256(body).hexdigest()})


def test_5xx_is_retried_with_the_body_rewound(image, monkeypatch):
    """Each upload fails once with 503 and is sent again whole: the second attempt carries the
    same bytes as the first, from the first byte (the body is rewound, not resumed)."""
    from reprocal.image import _registry
    from reprocal.image._archive import read_image_tar

    monkeypatch.setattr(_registry, "BACKOFF", 0.01)  # the schedule, not the waiting, is tested

    fake = _FlakyRegistry()
    result = push_image(image, "127.0.0.1:1/a:b", session=fake)
    img = read_image_tar(image)
    blobs = [u for u in fake.bodies if "/blobs/uploads/" in u]
    assert len(blobs) == len(img.layers) + 1
    for url, attempts in fake.bodies.items():
        assert len(attempts) == 2 and attempts[0] == attempts[1], url
    layer0 = next(u for u in blobs if img.layers[0].digest in u)
    assert fake.bodies[layer0][1] == img.read(img.layer_paths[0])
    assert result.digest == img.manifest_digest


@pytest.mark.network
@pytest.mark.parametrize(("options", "same_manifest"), [(("--preserve-digests",), True),
                                                        ((), False)])
def test_skopeo_copy_paths_to_a_registry(image, tmp_path, monkeypatch, options, same_manifest,  # type: ignore[no-untyped-def]
                                         auth_registry: Daemon, registry: Daemon):  # noqa: F811
    """What the README's table says, with the real tools: skopeo copy --preserve-digests into the
    authenticated registry keeps the manifest digest; a plain skopeo copy recompresses the layers
    (another manifest digest) but keeps the config digest. reprocal pulls either back (its
    credentials from config.json) and the copy verifies.

    The plain copy goes to the other registry: skopeo remembers which registry holds which blob
    and reuses a blob it pushed there before instead of recompressing, so after the
    --preserve-digests push a plain copy into the same registry would keep the digest."""
    import subprocess

    from reprocal.image._archive import read_image_tar

    program("skopeo")
    ours = read_image_tar(image)
    target = auth_registry if same_manifest else registry
    ref = f"{target.url}/reprocal/skopeo:copy"
    creds = ["--dest-creds", f"{REGISTRY_USER}:{REGISTRY_PASSWORD}"] if same_manifest else []
    subprocess.run(["skopeo", "copy", "--quiet", *options, "--dest-tls-verify=false", *creds,
                    f"oci-archive:{image}", f"docker://{ref}"], check=True, capture_output=True)
    _docker_config(tmp_path, monkeypatch, {"auths": {auth_registry.url: {
        "auth": _basic(REGISTRY_USER, REGISTRY_PASSWORD)}}})
    pulled = pull_image(ref, tmp_path / "p.tar")
    report = verify_image(pulled.path)
    assert report.ok, report.failures
    assert (pulled.digest == ours.manifest_digest) is same_manifest
    assert report.config_digest == ours.config_digest


@pytest.mark.network
@pytest.mark.docker
def test_docker_load_then_push_changes_only_the_manifest_digest(image, tmp_path, registry: Daemon,  # type: ignore[no-untyped-def]  # noqa: F811
                                                               dockerd: Daemon):  # noqa: F811
    """The README's last row, with a real Docker: `docker load` then `docker push` writes its own
    (v2s2, gzip) manifest, so the manifest digest changes; the config digest (the image ID)
    does not. reprocal pulls that v2s2 image and it verifies."""
    import docker

    from reprocal.image._archive import read_image_tar
    from reprocal.image._oci import DOCKER_MANIFEST

    ours = read_image_tar(image)
    client = docker.DockerClient(base_url=dockerd.url)
    try:
        with open(image, "rb") as fh:
            (loaded,) = client.images.load(fh)
        assert loaded.id == ours.config_digest
        repo = f"{registry.url}/reprocal/dockerpush"
        loaded.tag(repo, "v1")
        for line in client.images.push(repo, "v1", stream=True, decode=True):
            assert "error" not in line, line
    finally:
        client.close()
    pulled = pull_image(f"{repo}:v1", tmp_path / "p.tar")
    img = read_image_tar(pulled.path)
    assert (img.manifest or {}).get("mediaType") == DOCKER_MANIFEST
    assert pulled.digest != ours.manifest_digest
    report = verify_image(pulled.path)
    assert report.ok, report.failures
    assert report.config_digest == ours.config_digest


def test_5xx_retries_are_bounded(image, monkeypatch):
    """A registry that keeps answering 503: RETRIES more attempts, then exit 5 naming it."""
    from reprocal.image import _registry

    monkeypatch.setattr(_registry, "BACKOFF", 0.01)
    calls = []

    class Down:
        headers: dict[str, str] = {}

        def request(self, method, url, **kw):
            calls.append(method)
            return _Response(503, b"down for maintenance")

    with pytest.raises(NetworkError, match="blob check: HEAD .* answered 503 down for maintenance"):
        push_image(image, "127.0.0.1:1/a:b", session=Down())
    assert calls == ["HEAD"] * (_registry.RETRIES + 1)
