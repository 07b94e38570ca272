"""Hostile images: bases that put files into ``/ccf``, images whose layers smuggle files past
``image verify``, malformed image tars, and a registry that answers nonsense.

``/ccf`` is reserved: a base whose merged filesystem view touches it, however the path is spelt
(``/ccf/X``, ``etc/../ccf/X``, a link to ``/ccf`` and then ``data/X``), is refused by ``image
build`` (exit 2, nothing written); ``image verify`` judges the merged view of every layer, so an
unpinned constituent beside the pinned ones fails it (exit 1). A malformed index, a self-naming
index or a gzip bomb in a base layer is one line, bounded; a registry answering HTML, endless
JSON or fields of the wrong type is one line (exit 5) and writes no image.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.hostile import check
from support.imagekit import make_state
from support.servers import Answer, FakeRegistry

from reprocal.image._archive import read_image_tar
from reprocal.image._oci import (
    MEDIA_INDEX,
    MEDIA_LAYER,
    MEDIA_LAYER_GZIP,
    MEDIA_MANIFEST,
    Blob,
    Descriptor,
    canonical_json,
    image_docs,
    sha256_digest,
    write_image_tar,
)
from reprocal.state._manifest import save_manifest

# --- crafting layers and images -----------------------------------------------------------------

Entry = tuple[str, bytes, bytes | str | None]
"""``(name, tar type, content or link target)``."""


def layer(*entries: Entry) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, content in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            data = content if isinstance(content, bytes) else b""
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = str(content)
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


def f(name: str, data: bytes = b"x") -> Entry:
    return (name, tarfile.REGTYPE, data)


def d(name: str) -> Entry:
    return (name, tarfile.DIRTYPE, None)


def ln(name: str, target: str) -> Entry:
    return (name, tarfile.SYMTYPE, target)


def hard(name: str, target: str) -> Entry:
    return (name, tarfile.LNKTYPE, target)


def image(out: Path, layers: list[bytes], *, gz: bool = False,
          config: dict[str, Any] | None = None) -> Path:
    """An OCI/docker image tar of these uncompressed layers (gzip-compressed when ``gz``)."""
    blobs, descs, diffs = [], [], []
    for raw in layers:
        diffs.append(sha256_digest(raw))
        data = gzip.compress(raw, compresslevel=1, mtime=0) if gz else raw
        blobs.append(Blob.of_bytes(data))
        descs.append(Descriptor(MEDIA_LAYER_GZIP if gz else MEDIA_LAYER, sha256_digest(data),
                                len(data)))
    doc = {"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"]},
           "rootfs": {"type": "layers", "diff_ids": diffs}, **(config or {})}
    docs = image_docs(canonical_json(doc), descs, name="hostile/base:1")
    write_image_tar(out, blobs, docs, mtime=0)
    return out


def raw_tar(out: Path, members: dict[str, bytes]) -> Path:
    """A tar of exactly these members (to hand-make a broken image layout)."""
    with tarfile.open(out, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def blob_name(data: bytes) -> str:
    return "blobs/sha256/" + hashlib.sha256(data).hexdigest()


def _layout(index: dict[str, Any] | bytes, extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    body = index if isinstance(index, bytes) else json.dumps(index).encode()
    return {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": body, **(extra or {})}


def _desc(data: bytes, media: str = MEDIA_MANIFEST) -> dict[str, Any]:
    return {"mediaType": media, "digest": sha256_digest(data), "size": len(data)}


def _self_index() -> dict[str, bytes]:
    """An index blob whose one entry is itself: following it used to loop for ever. (A blob
    cannot hold its own digest, so the cycle is two indexes naming each other.)"""
    # index A -> index B -> index A: B's descriptor of A must be computed first
    a_stub = {"schemaVersion": 2, "manifests": []}
    a = json.dumps(a_stub).encode()
    b = json.dumps({"schemaVersion": 2, "manifests": [_desc(a, MEDIA_INDEX)]}).encode()
    a_real = json.dumps({"schemaVersion": 2, "manifests": [_desc(b, MEDIA_INDEX)]}).encode()
    # make A's digest stable: A is the stub that B names; the top entry names B, B names A
    # and A (stub) is empty, so add a cycle by having the top index.json name B and B name
    # the top's own bytes
    top = json.dumps({"schemaVersion": 2, "manifests": [_desc(b, MEDIA_INDEX)]}).encode()
    return _layout(top, {blob_name(b): json.dumps({"schemaVersion": 2, "manifests": [
        _desc(b, MEDIA_INDEX)]}).encode(), blob_name(a): a, blob_name(a_real): a_real})


def _nested(depth: int) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    inner = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    members[blob_name(inner)] = inner
    for _ in range(depth):
        outer = json.dumps({"schemaVersion": 2, "manifests": [_desc(inner, MEDIA_INDEX)]}).encode()
        members[blob_name(outer)] = outer
        inner = outer
    return _layout({"schemaVersion": 2, "manifests": [_desc(inner, MEDIA_INDEX)]}, members)


def _wrong(field: str) -> dict[str, bytes]:
    config = b'{"rootfs":{"diff_ids":[]}}'
    manifest = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST, "config": _desc(config),
                "layers": []}
    entry: Any = None
    if field == "manifest-config-a-string":
        manifest["config"] = "sha256:abc"
    elif field == "manifest-layers-an-object":
        manifest["layers"] = {"0": 1}
    elif field == "layer-size-a-string":
        manifest["layers"] = [{"mediaType": MEDIA_LAYER, "digest": "sha256:" + "0" * 64,
                               "size": "12"}]
    body = json.dumps(manifest).encode()
    entry = _desc(body)
    if field == "index-size-a-string":
        entry["size"] = str(entry["size"])
    if field == "index-digest-malformed":
        entry["digest"] = "sha256:../../etc/passwd"
    index: Any = {"schemaVersion": 2, "manifests": [entry]}
    if field == "index-manifests-an-object":
        index = {"schemaVersion": 2, "manifests": {"a": entry}}
    if field == "index-a-list":
        index = [entry]
    return _layout(index, {blob_name(body): body, blob_name(config): config})


# --- image build: bases that touch /ccf ----------------------------------------------------------

CCF_BASES: dict[str, list[bytes]] = {
    "absolute-ccf-file": [layer(f("/ccf/EPN_CTI_0099.CCF"))],
    "plain-ccf-file": [layer(f("ccf/EPN_CTI_0099.CCF"))],
    "dot-slash-ccf": [layer(f("./ccf/EPN_CTI_0099.CCF"))],
    "dotdot-into-ccf": [layer(d("etc"), f("etc/../ccf/EPN_CTI_0099.CCF"))],
    "dotdot-above-root": [layer(f("../../ccf/EPN_CTI_0099.CCF"))],
    "ccf-directory-only": [layer(d("ccf"))],
    "ccf-a-link-elsewhere": [layer(ln("ccf", "/tmp"))],
    "link-to-ccf-then-file": [layer(ln("data", "/ccf")), layer(f("data/EPN_CTI_0099.CCF"))],
    "relative-link-to-ccf": [layer(d("a"), ln("a/data", "../ccf"), f("a/data/EPN_CTI_0099.CCF"))],
    "link-to-root-then-ccf": [layer(ln("root", "/"), f("root/ccf/EPN_CTI_0099.CCF"))],
    "hardlink-into-ccf": [layer(f("etc/passwd", b"root:x:0:0"), hard("ccf/EPN_CTI_0099.CCF",
                                                                       "etc/passwd"))],
    "link-pointing-into-ccf": [layer(ln("opt/calibration", "/ccf/EPN_CTI_0099.CCF"))],
    "link-loop-path": [layer(ln("loop", "loop"), f("loop/x"))],
}


@pytest.fixture(scope="module")
def pinned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hostile-image")
    manifest, repo = make_state(root / "repo")
    return save_manifest(manifest, root / "manifest.json"), repo


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("case", sorted(CCF_BASES))
def test_a_base_that_touches_ccf_is_refused(runner, box, outside, pinned, case, gz):
    manifest, repo = pinned
    base = image(box / "base.tar", [layer(f("etc/os-release", b"ID=hostile\n")),
                                    *CCF_BASES[case]], gz=gz)
    r = runner("image", "build", manifest, "--ccf-path", repo, "--base", base,
               "-o", box / "out.tar", cwd=box)
    check(r, 2, outside=outside, says="already has /ccf", seconds=15)
    assert not (box / "out.tar").exists()
    assert sorted(p.name for p in box.iterdir()) == ["base.tar"]


def test_a_clean_base_still_builds(runner, box, outside, pinned):
    manifest, repo = pinned
    base = image(box / "base.tar", [layer(d("etc"), f("etc/os-release", b"ID=ok\n"),
                                          ln("data", "/srv"), f("srv/x"))])
    r = runner("image", "build", manifest, "--ccf-path", repo, "--base", base,
               "-o", box / "out.tar", cwd=box)
    check(r, 0, outside=outside, lines=0)
    r = runner("image", "verify", box / "out.tar", cwd=box)
    check(r, 0, outside=outside, lines=0)


# --- image build: malformed or hostile base tars ------------------------------------------------

BAD_BASES: dict[str, Callable[[Path], Path]] = {
    "index-cycle": lambda b: raw_tar(b / "base.tar", _self_index()),
    "index-nested-too-deep": lambda b: raw_tar(b / "base.tar", _nested(12)),
    "index-not-json": lambda b: raw_tar(b / "base.tar", _layout(b"<html>nope</html>")),
    "index-a-list": lambda b: raw_tar(b / "base.tar", _wrong("index-a-list")),
    "index-manifests-an-object": lambda b: raw_tar(b / "base.tar", _wrong("index-manifests-an-object")),
    "index-size-a-string": lambda b: raw_tar(b / "base.tar", _wrong("index-size-a-string")),
    "index-digest-malformed": lambda b: raw_tar(b / "base.tar", _wrong("index-digest-malformed")),
    "manifest-config-a-string": lambda b: raw_tar(b / "base.tar", _wrong("manifest-config-a-string")),
    "manifest-layers-an-object": lambda b: raw_tar(b / "base.tar", _wrong("manifest-layers-an-object")),
    "layer-size-a-string": lambda b: raw_tar(b / "base.tar", _wrong("layer-size-a-string")),
    "index-deeply-nested-json": lambda b: raw_tar(b / "base.tar", _layout(b"[" * 50000 + b"]" * 50000)),
    "gzip-bomb-layer": lambda b: image(b / "base.tar", [layer(f("zeros", b"\0" * (48 << 20)))], gz=True),
    "not-a-tar": lambda b: _write(b / "base.tar", b"not a tar at all\n" * 100),
    "truncated-tar": lambda b: _truncate(image(b / "base.tar", [layer(f("etc/x"))]), 1500),
    "fifo": lambda b: _fifo(b / "base.tar"),
    "dev-zero": lambda b: Path("/dev/zero"),
}


def _write(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


def _truncate(p: Path, n: int) -> Path:
    p.write_bytes(p.read_bytes()[:n])
    return p


def _fifo(p: Path) -> Path:
    os.mkfifo(p)
    return p


@pytest.mark.parametrize("case", sorted(BAD_BASES))
def test_a_malformed_base_is_one_line_and_bounded(runner, box, outside, pinned, case):
    manifest, repo = pinned
    base = BAD_BASES[case](box)
    r = runner("--limit", "unpacked-size=4MiB", "--limit", "index-depth=8", "image", "build",
               manifest, "--ccf-path", repo, "--base", base, "-o", box / "out.tar", cwd=box)
    check(r, 2, outside=outside, seconds=15)
    assert not (box / "out.tar").exists()


# --- image verify: files smuggled into /ccf by other layers -------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, pinned: tuple[Path, Path]) -> Path:
    from reprocal.image._build import build_image
    from reprocal.state._manifest import load_manifest

    manifest, repo = pinned
    out = tmp_path_factory.mktemp("hostile-built") / "ccf.tar"
    build_image(load_manifest(manifest), [repo], out)
    return out


def _repack(img_path: Path, out: Path, below: list[bytes], above: list[bytes]) -> Path:
    """The built image with extra uncompressed layers below (a base) and above its own."""
    img = read_image_tar(img_path)
    config = img.config
    own = [b"".join(img.chunks(p)) for p in img.layer_paths]
    layers = [*below, *own, *above]
    config["rootfs"]["diff_ids"] = [sha256_digest(x) for x in layers]
    config.pop("history", None)
    descs = [Descriptor(MEDIA_LAYER, sha256_digest(x), len(x)) for x in layers]
    docs = image_docs(canonical_json(config), descs, name="hostile/ccf:1")
    write_image_tar(out, [Blob.of_bytes(x) for x in layers], docs, mtime=0)
    return out


SMUGGLED: dict[str, tuple[list[bytes], list[bytes]]] = {
    "base-ccf-file": ([layer(f("ccf/EPN_CTI_0099.CCF"))], []),
    "base-dotdot-ccf-file": ([layer(d("etc"), f("etc/../ccf/EPN_CTI_0099.CCF"))], []),
    "base-link-then-file-above": ([layer(ln("data", "/ccf"))], [layer(f("data/EPN_CTI_0099.CCF"))]),
    "above-absolute-ccf-file": ([], [layer(f("/ccf/EPN_CTI_0099.CCF"))]),
    "above-overwrites-a-pinned-file": ([], [layer(f("ccf/EPN_QUANTUMEF_0001.CCF", b"wrong"))]),
    "above-whiteout-of-a-pinned-file": ([], [layer(f("ccf/.wh.EPN_QUANTUMEF_0001.CCF", b""))]),
    "above-opaque-ccf": ([], [layer(f("ccf/.wh..wh..opq", b""))]),
    "above-link-in-ccf": ([], [layer(ln("ccf/EPN_CTI_0099.CCF", "/etc/passwd"))]),
    "above-extra-cif": ([], [layer(f("ccf/cif/extra.cif"))]),
    "above-link-to-ccf": ([], [layer(ln("opt/cal", "/ccf"))]),
}


@pytest.mark.parametrize("case", sorted(SMUGGLED))
def test_verify_sees_the_merged_view_of_every_layer(runner, box, outside, built, case):
    below, above = SMUGGLED[case]
    tar = _repack(built, box / "smuggled.tar", below, above)
    r = runner("image", "verify", tar, cwd=box)
    check(r, 1, outside=outside, says="check(s) failed", seconds=15)


def test_the_built_image_repacked_unchanged_still_verifies(runner, box, outside, built):
    """The control: the repacking itself changes nothing verify cares about."""
    tar = _repack(built, box / "same.tar", [], [])
    r = runner("image", "verify", tar, cwd=box)
    check(r, 0, outside=outside, lines=0)


# --- image pull from a registry that answers nonsense -------------------------------------------


def _manifest_answers(field: str | None) -> dict[str, Answer]:
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    manifest: dict[str, Any] = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST,
                                "config": _desc(config, "application/vnd.oci.image.config.v1+json"),
                                "layers": []}
    if field == "config-a-string":
        manifest["config"] = "nope"
    elif field == "layers-size-a-string":
        manifest["layers"] = [{"mediaType": MEDIA_LAYER, "digest": "sha256:" + "0" * 64,
                               "size": "12"}]
    body = json.dumps(manifest).encode()
    return {"/v2/r/ccf/manifests/t": Answer(body, headers={
        "Content-Type": MEDIA_MANIFEST, "Docker-Content-Digest": sha256_digest(body)}),
        f"/v2/r/ccf/blobs/{sha256_digest(config)}": Answer(config)}


REGISTRY: dict[str, Callable[[], dict[str, Answer]]] = {
    "html-page": lambda: {"/v2/r/ccf/manifests/t": Answer(
        b"<html><body>Sign in</body></html>", headers={"Content-Type": "text/html"})},
    "truncated-json": lambda: {"/v2/r/ccf/manifests/t": Answer(b'{"schemaVersion": 2, "con')},
    "endless-json": lambda: {"/v2/r/ccf/manifests/t": Answer(b'{"a":"' + b"x" * 65536,
                                                             endless=True)},
    "json-a-list": lambda: {"/v2/r/ccf/manifests/t": Answer(b"[1, 2, 3]")},
    "deep-json": lambda: {"/v2/r/ccf/manifests/t": Answer(b"[" * 100_000 + b"]" * 100_000)},
    "config-a-string": lambda: _manifest_answers("config-a-string"),
    "layer-size-a-string": lambda: _manifest_answers("layers-size-a-string"),
    "index-inside-index": lambda: _index_loop(),
    "endless-config-blob": lambda: {**_manifest_answers(None), **{
        k: Answer(b"x" * 65536, endless=True) for k in _manifest_answers(None) if "/blobs/" in k}},
    "not-found": lambda: {"/v2/r/ccf/manifests/t": Answer(b"<html>404</html>", 404)},
}


def _index_loop() -> dict[str, Answer]:
    inner = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": []}).encode()
    outer = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_INDEX,
                        "manifests": [{**_desc(inner, MEDIA_INDEX),
                                       "platform": {"os": "linux", "architecture": "amd64"}}]}
                       ).encode()
    return {"/v2/r/ccf/manifests/t": Answer(outer),
            f"/v2/r/ccf/manifests/{sha256_digest(inner)}": Answer(inner)}


@pytest.mark.parametrize("case", sorted(REGISTRY))
def test_a_registry_answering_nonsense_writes_no_image(runner, box, outside, case):
    with FakeRegistry() as registry:
        registry.answers = REGISTRY[case]()
        r = runner("--limit", "document-size=1MiB", "--limit", "read-timeout=5s", "image",
                   "pull", f"{registry.url}/r/ccf:t", "-o", box / "pulled.tar", cwd=box)
    check(r, (2, 5), outside=outside, seconds=15)
    assert not (box / "pulled.tar").exists()
    assert [p.name for p in box.iterdir()] == []


@pytest.mark.parametrize("case", sorted(BAD_BASES))
def test_verify_of_a_malformed_image_is_a_failed_check(runner, box, outside, case):
    """``image verify`` reports the same malformed tars as a failed check (exit 1), bounded."""
    tar = BAD_BASES[case](box)
    r = runner("--limit", "unpacked-size=4MiB", "image", "verify", tar, cwd=box)
    check(r, 1, outside=outside, says="check(s) failed", seconds=15)


def test_a_full_disk_during_build_is_one_line_with_code_7(runner, box, outside, pinned):
    from support.filesystems import fill, small_tmpfs

    manifest, repo = pinned
    with small_tmpfs(box / "full", "64k") as full:
        fill(full)
        r = runner("image", "build", manifest, "--ccf-path", repo, "-o", full / "ccf.tar",
                   cwd=box)
        check(r, 7, outside=outside, says="No space left on device")
        assert [p.name for p in full.iterdir()] == [".filler"]


def test_a_full_disk_during_pull_is_one_line_with_code_7(runner, box, outside):
    from support.filesystems import fill, small_tmpfs

    with FakeRegistry() as registry, small_tmpfs(box / "full", "64k") as full:
        registry.answers = _manifest_answers(None)
        fill(full)
        r = runner("image", "pull", f"{registry.url}/r/ccf:t", "-o", full / "pulled.tar",
                   cwd=box)
        check(r, 7, outside=outside, says="No space left on device")
        assert [p.name for p in full.iterdir()] == [".filler"]
