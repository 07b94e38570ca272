"""Deterministic OCI image tars: layer writer, canonical JSON, one tar for OCI and Docker.

The image tar is *both* an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/``)
and a docker-archive (``manifest.json`` pointing into ``blobs/sha256/``), so ``docker load``
(classic store and containerd store), skopeo, umoci and podman all read it.

Every byte is a function of the inputs: tar entries sorted by path bytes with parent directories
first, relative paths, only regular files and directories, uid/gid 0, empty user and group
names, modes 0755/0644, one integer mtime (the *epoch*), PAX format; JSON with sorted keys,
``(',', ':')`` separators, ASCII only, no floats. Layers are streamed and hashed while written,
never held in memory: the outer tar is written in two passes (measure every blob's digest,
then write the blobs in digest order, checking each again). Files are checked against their
pinned size and sha256 while they are streamed; any mismatch aborts, and nothing is left at the
target (temp file beside it, then ``os.replace``).

Layers are uncompressed by default. ``gzip=True`` writes ``tar+gzip`` layers with
``GzipFile(filename='', mtime=0)``; deflate output differs between zlib builds (zlib, zlib-ng),
so gzip images are reproducible on one machine but not guaranteed across machines.
DiffIDs and the config digest never depend on compression.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from .errors import HashMismatchError, InputError
from .layers import LayerFile

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

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE
CHUNK = 1 << 20


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


# --- tar entries -----------------------------------------------------------------------------


def _check_path(path: str) -> str:
    parts = path.split("/")
    if (not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts)
            or "\x00" in path):
        raise InputError(f"tar entry {path!r} is not a plain relative path")
    return path


def tar_header(path: str, *, size: int, is_dir: bool, mtime: int,
               executable: bool = False) -> bytes:
    """The PAX-format header block(s) of one entry, with every variable field fixed."""
    if not isinstance(mtime, int) or isinstance(mtime, bool):
        raise InputError(f"tar mtime must be an integer, got {mtime!r}")
    info = tarfile.TarInfo(_check_path(path))
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = 0o755 if is_dir or executable else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = mtime
    info.size = 0 if is_dir else size
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def _end(written: int) -> bytes:
    """Two zero blocks, then zeros up to the record size (as tarfile writes)."""
    total = written + 2 * BLOCK
    return b"\0" * (2 * BLOCK + (-total % RECORD))


def with_parents(paths: Iterable[str]) -> list[tuple[str, bool]]:
    """``(path, is_dir)`` for the files and every parent directory, sorted by path bytes."""
    entries: dict[str, bool] = {}
    for p in paths:
        _check_path(p)
        if p in entries:
            raise InputError(f"tar entry {p!r} appears twice")
        entries[p] = False
        parts = p.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if entries.get(parent) is False:
                raise InputError(f"tar entry {parent!r} is both a file and a directory")
            entries[parent] = True
    return sorted(entries.items(), key=lambda e: e[0].encode("utf-8"))


def _file_chunks(f: LayerFile, check: bool = True) -> Iterator[bytes]:
    """The pinned bytes of ``f``, checked for size (and sha256 when ``check``) while read."""
    if isinstance(f.source, bytes):
        data = f.source
        if len(data) != f.size or hashlib.sha256(data).hexdigest() != f.sha256:
            raise HashMismatchError(f.path, expected=f"{f.size} bytes sha256:{f.sha256}",
                                    actual=f"{len(data)} bytes sha256:"
                                    f"{hashlib.sha256(data).hexdigest()}")
        yield data
        return
    h = hashlib.sha256()
    n = 0
    try:
        fh = open(f.source, "rb")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=f.source) from None
    with fh:
        while True:
            chunk = fh.read(min(CHUNK, f.size - n + 1))
            if not chunk:
                break
            n += len(chunk)
            if n > f.size:
                raise HashMismatchError(f.source, what="size", expected=str(f.size),
                                        actual=f"more than {f.size} bytes")
            if check:
                h.update(chunk)
            yield chunk
    if n != f.size:
        raise HashMismatchError(f.source, what="size", expected=str(f.size), actual=str(n))
    if check and h.hexdigest() != f.sha256:
        raise HashMismatchError(f.source, expected=f.sha256, actual=h.hexdigest())


def layer_chunks(files: Sequence[LayerFile], mtime: int, *, check: bool = True) -> Iterator[bytes]:
    """Stream the uncompressed layer tar holding ``files`` (and their parent directories).

    ``check=False`` skips the per-file sha256 (the second pass, where the whole layer's digest
    is checked instead); sizes are always checked.
    """
    by_path = {f.path: f for f in files}
    written = 0
    for path, is_dir in with_parents(by_path):
        f = by_path.get(path)
        header = tar_header(path, size=0 if f is None else f.size, is_dir=is_dir, mtime=mtime,
                            executable=f is not None and f.executable)
        written += len(header)
        yield header
        if f is not None:
            yield from _file_chunks(f, check)
            pad = _padding(f.size)
            written += f.size + len(pad)
            yield pad
    yield _end(written)


def gzip_chunks(chunks: Iterable[bytes], level: int = 6) -> Iterator[bytes]:
    """Gzip a stream with a fixed header (no name, mtime 0, OS byte as GzipFile writes it)."""
    import gzip

    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=level) as gz:
        for chunk in chunks:
            gz.write(chunk)
            if buf.tell() >= CHUNK:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
    yield buf.getvalue()


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

    The returned blob re-streams the layer without the per-file check: :func:`write_image_tar`
    checks the whole layer's digest instead, so a file changed in between is still caught.
    """

    def produce(check: bool = False) -> Iterator[bytes]:
        return layer_chunks(files, mtime, check=check)

    diff = hashlib.sha256()
    size = 0
    if not gzip:
        for chunk in produce(True):
            diff.update(chunk)
            size += len(chunk)
        digest = "sha256:" + diff.hexdigest()
        return BuiltLayer(Descriptor(MEDIA_LAYER, digest, size), digest, Blob(digest, size, produce))

    def tee() -> Iterator[bytes]:
        for chunk in produce(True):
            diff.update(chunk)
            yield chunk

    comp = hashlib.sha256()
    for chunk in gzip_chunks(tee()):
        comp.update(chunk)
        size += len(chunk)
    digest = "sha256:" + comp.hexdigest()
    return BuiltLayer(Descriptor(MEDIA_LAYER_GZIP, digest, size), "sha256:" + diff.hexdigest(),
                      Blob(digest, size, lambda: gzip_chunks(produce())))


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


def write_image_tar(out: str | os.PathLike[str], blobs: Iterable[Blob], docs: ImageDocs,
                    *, mtime: int, progress: Any = None) -> str:
    """Write the one tar (OCI layout + docker-archive) atomically; return its sha256 hex.

    Blobs are written in digest order, each checked again against its digest and size; a
    mismatch raises and leaves nothing at ``out``.
    """
    out = Path(out)
    every: dict[str, Blob] = {}
    for b in [*blobs, Blob.of_bytes(docs.config), Blob.of_bytes(docs.manifest)]:
        every.setdefault(b.digest, b)
    files: dict[str, Blob] = {f"blobs/sha256/{d.split(':', 1)[1]}": b for d, b in every.items()}
    for name, data in (("index.json", docs.index), ("manifest.json", docs.docker_manifest),
                       ("oci-layout", OCI_LAYOUT)):
        files[name] = Blob.of_bytes(data)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    h = hashlib.sha256()
    written = 0
    try:
        with open(tmp, "wb") as fh:

            def put(data: bytes) -> None:
                nonlocal written
                fh.write(data)
                h.update(data)
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
                    check.update(chunk)
                    n += len(chunk)
                    if n > blob.size:
                        break
                    put(chunk)
                    if progress is not None:
                        progress.update(len(chunk))
                if n != blob.size or "sha256:" + check.hexdigest() != blob.digest:
                    raise HashMismatchError(
                        path, expected=f"{blob.digest} ({blob.size} bytes)",
                        actual=f"sha256:{check.hexdigest()} ({n} bytes)",
                        what="blob digest")
                put(_padding(blob.size))
            put(_end(written))
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return h.hexdigest()


def decompress_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Gunzip a stream (for DiffIDs of gzip layers)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for chunk in chunks:
        yield d.decompress(chunk)
    yield d.flush()
