"""Deterministic OCI image tars: layer writer, canonical JSON, one tar for OCI and Docker.

The image tar is *both* an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/``)
and a docker-archive (``manifest.json`` pointing into ``blobs/sha256/``), so ``docker load``
(classic store and containerd store), skopeo, umoci and podman all read it.

Every byte is a function of the inputs: tar entries sorted by path bytes with parent directories
first, relative paths, only regular files and directories, uid/gid 0, empty user and group
names, modes 0755/0644, one integer mtime (the *epoch*), PAX format; JSON with sorted keys,
``(',', ':')`` separators, ASCII only, no floats. Layers are streamed and hashed while written,
never held in memory: the outer tar is written in two passes (measure every blob's digest,
then write the blobs in digest order). Files are checked against their pinned size and sha256
while streamed in the first pass, and in the second their identity (inode, size, mtime, ctime)
must be unchanged; other blobs (base layers, pulled blobs) are hashed again as written. Any
mismatch aborts, and nothing is left at the target (temp file beside it, then ``os.replace``).

Layers are uncompressed by default. ``gzip=True`` writes ``tar+gzip`` layers with
``GzipFile(filename='', mtime=0)``; deflate output differs between zlib builds (zlib, zlib-ng),
so gzip images are reproducible on one machine but not guaranteed across machines.
DiffIDs and the config digest never depend on compression.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from reprocal.errors import HashMismatchError, InputError
from reprocal.fs._atomic import atomic_file
from reprocal.image._layers import LayerFile
from reprocal.image._tarstream import (
    BackgroundHash,
    gzip_chunks,
    layer_chunks,
    padding,
    tar_end,
    tar_header,
    with_parents,
)
from reprocal.progress import Progress, or_null

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'



# --- JSON and time ---------------------------------------------------------------------------


def _no_floats(obj: Any, where: str = "$") -> None:
    if isinstance(obj, float):
        raise InputError(f"canonical JSON: float at {where}; use an integer or a string")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _no_floats(v, f"{where}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _no_floats(v, f"{where}[{i}]")


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, ``(',', ':')``, ASCII, no floats: the bytes that get hashed.

    >>> canonical_json({"b": 1, "a": ["é"]})
    b'{"a":["\\\\u00e9"],"b":1}'
    """
    _no_floats(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def resolve_epoch(env: Mapping[str, str], fallback: int) -> int:
    """``SOURCE_DATE_EPOCH`` when set (an integer), else ``fallback`` (from the pinned state)."""
    value = env.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return fallback
    if not value.isdigit():
        raise InputError(f"SOURCE_DATE_EPOCH: {value!r} is not a non-negative integer")
    return int(value)


def epoch_of(caldate_text: str) -> int:
    """Seconds since 1970 of a canonical ``YYYY-MM-DDThh:mm:ss`` (UTC; a leap second clamps)."""
    text = caldate_text[:17] + min(caldate_text[17:19], "59")
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp())


def rfc3339(epoch: int) -> str:
    """``1970-01-01T00:00:00Z`` form used in config ``created`` and history."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- blobs and descriptors -------------------------------------------------------------------


@attrs.frozen
class Descriptor:
    """An OCI content descriptor."""

    media_type: str
    """e.g. ``application/vnd.oci.image.layer.v1.tar``."""
    digest: str
    """``sha256:<hex>`` of the exact bytes."""
    size: int
    """Length of the exact bytes."""

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}

    @property
    def hex(self) -> str:
        return self.digest.split(":", 1)[1]


@attrs.frozen
class Blob:
    """A blob to write into ``blobs/sha256/``: its identity and how to produce its bytes."""

    digest: str
    """``sha256:<hex>``; checked again while the bytes are written."""
    size: int
    """Exact length."""
    chunks: Callable[[], Iterable[bytes]] = attrs.field(eq=False, repr=False)
    """Produces the bytes (called once, at write time)."""
    verify: bool = True
    """Hash the bytes again while writing them; ``False`` only when the producer guarantees
    them (a measured layer whose files are checked unchanged)."""

    @classmethod
    def of_bytes(cls, data: bytes) -> Blob:
        return cls(sha256_digest(data), len(data), lambda: (data,))


@attrs.frozen
class BuiltLayer:
    """A measured layer: its descriptor, its DiffID and how to write it again."""

    descriptor: Descriptor
    """Blob descriptor (compressed when gzip)."""
    diff_id: str
    """sha256 of the uncompressed tar."""
    blob: Blob
    """The blob, ready for :func:`write_image_tar`."""


def measure_layer(files: Sequence[LayerFile], mtime: int, *, gzip: bool = False) -> BuiltLayer:
    """First pass: stream the layer through the hashers (files checked against their pins).

    The returned blob re-streams the layer without hashing again (``verify=False``): each
    file's identity recorded in the first pass must be unchanged (see :func:`_file_chunks`).
    """
    seen: dict[str, tuple[int, ...]] = {}

    def produce() -> Iterator[bytes]:
        return layer_chunks(files, mtime, seen)

    diff = BackgroundHash()
    size = 0
    if not gzip:
        try:
            for chunk in produce():
                diff.update(chunk)
                size += len(chunk)
        finally:
            diff.close()
        digest = "sha256:" + diff.hexdigest()
        return BuiltLayer(Descriptor(MEDIA_LAYER, digest, size), digest,
                          Blob(digest, size, produce, verify=False))

    def tee() -> Iterator[bytes]:
        for chunk in produce():
            diff.update(chunk)
            yield chunk

    comp = hashlib.sha256()
    try:
        for chunk in gzip_chunks(tee()):
            comp.update(chunk)
            size += len(chunk)
    finally:
        diff.close()
    digest = "sha256:" + comp.hexdigest()
    return BuiltLayer(Descriptor(MEDIA_LAYER_GZIP, digest, size), "sha256:" + diff.hexdigest(),
                      Blob(digest, size, lambda: gzip_chunks(produce()), verify=False))


# --- manifests, index, the image tar ---------------------------------------------------------


@attrs.frozen
class ImageDocs:
    """The JSON documents of one image, as the exact bytes that are hashed."""

    config: bytes
    manifest: bytes
    index: bytes
    docker_manifest: bytes

    @property
    def manifest_digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def config_digest(self) -> str:
        return sha256_digest(self.config)


def image_docs(config: bytes, layers: Sequence[Descriptor], *, name: str,
               manifest_bytes: bytes | None = None,
               manifest_media_type: str = MEDIA_MANIFEST) -> ImageDocs:
    """Manifest, index (with the image name annotations) and docker-archive manifest.

    ``name`` is ``[registry/]repo:tag``; the index carries it fully qualified in
    ``io.containerd.image.name`` and the tag in ``org.opencontainers.image.ref.name``.
    ``manifest_bytes`` keeps an existing manifest byte for byte (a pulled image).
    """
    config_desc = Descriptor(MEDIA_CONFIG, sha256_digest(config), len(config))
    if manifest_bytes is None:
        manifest_bytes = canonical_json({
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": config_desc.to_json(),
            "layers": [d.to_json() for d in layers],
        })
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
    ref = name if ":" in name.rsplit("/", 1)[-1] else f"{name}:{tag}"
    index = canonical_json({
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [{
            "mediaType": manifest_media_type,
            "digest": sha256_digest(manifest_bytes),
            "size": len(manifest_bytes),
            "annotations": {
                "io.containerd.image.name": qualify(ref),
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    })
    docker_manifest = canonical_json([{
        "Config": f"blobs/sha256/{config_desc.hex}",
        "RepoTags": [ref],
        "Layers": [f"blobs/sha256/{d.hex}" for d in layers],
    }])
    return ImageDocs(config, manifest_bytes, index, docker_manifest)


def qualify(ref: str) -> str:
    """``ccf:tag`` -> ``docker.io/library/ccf:tag``; names with a registry part are kept."""
    first, sep, rest = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return ref
    if not sep:
        return f"docker.io/library/{ref}"
    return f"docker.io/{ref}"


def check_output(out: str | os.PathLike[str]) -> Path:
    """The output path, refused up front when its directory is missing or it is a directory."""
    p = Path(out)
    if p.is_dir():
        raise InputError("is a directory; give the image tar's file name", path=p)
    if not p.parent.is_dir():
        raise InputError(f"directory {p.parent} does not exist", path=p,
                         hint="create it first")
    return p


def write_image_tar(out: str | os.PathLike[str], blobs: Iterable[Blob], docs: ImageDocs,
                    *, mtime: int, progress: Progress | None = None) -> str:
    """Write the one tar (OCI layout + docker-archive) atomically; return its sha256 hex.

    Blobs are written in digest order, each checked again against its digest and size; a
    mismatch raises and leaves nothing at ``out``.
    """
    out = check_output(out)
    every: dict[str, Blob] = {}
    for b in [*blobs, Blob.of_bytes(docs.config), Blob.of_bytes(docs.manifest)]:
        every.setdefault(b.digest, b)
    files: dict[str, Blob] = {f"blobs/sha256/{d.split(':', 1)[1]}": b for d, b in every.items()}
    for name, data in (("index.json", docs.index), ("manifest.json", docs.docker_manifest),
                       ("oci-layout", OCI_LAYOUT)):
        files[name] = Blob.of_bytes(data)
    bar = or_null(progress)
    written = 0
    # not fsynced (a multi-GB tar, as before): `image verify` checks what a power cut may
    # leave; kill -9 leaves the old file or none
    with atomic_file(out, fsync=False) as fh:
        h = BackgroundHash(write=fh.write)
        queued = False  # writes are queued on h's thread, not yet all done
        try:

            def put(data: bytes, offload: bool | None = None) -> None:
                """Write and hash ``data``: on h's thread while a blob to check is copied (this
                thread reads and checks it), else here (a layer built from files keeps this
                thread's time for the files' own checks: measured faster so); ``None``: as the
                last chunk went."""
                nonlocal written, queued
                offload = queued if offload is None else offload
                if offload:
                    h.update(data, write=True)
                else:
                    if queued:
                        h.drain()  # the queued writes first: the tar's bytes stay in order
                    fh.write(data)
                    h.update(data)
                queued = offload
                written += len(data)

            for path, is_dir in with_parents(files):
                blob = files.get(path)
                put(tar_header(path, size=0 if blob is None else blob.size, is_dir=is_dir,
                               mtime=mtime))
                if blob is None:
                    continue
                check = hashlib.sha256()
                n = 0
                for chunk in blob.chunks():
                    if blob.verify:
                        check.update(chunk)
                    n += len(chunk)
                    if n > blob.size:
                        break
                    put(chunk, blob.verify)
                    bar.update(len(chunk))
                if n != blob.size or blob.verify and "sha256:" + check.hexdigest() != blob.digest:
                    raise HashMismatchError(
                        path, expected=f"{blob.digest} ({blob.size} bytes)",
                        actual=f"sha256:{check.hexdigest()} ({n} bytes)",
                        what="blob digest")
                put(padding(blob.size))
            put(tar_end(written))
            digest = h.hexdigest()
        finally:
            h.close()  # before the file is closed or removed
    return digest
