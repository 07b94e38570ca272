"""Reading an image tar back: an OCI layout, a docker-archive, or both in one tar.

Used for ``--base`` (reuse a base image's blobs byte for byte) and by ``image verify``. Blobs
are never loaded whole: a member is read as a byte range of the outer tar. The tar must be a
regular file; its JSON documents are read through :mod:`reprocal.image._ocidoc` (bounded, every
field type-checked); nested indexes are followed at most ``index-depth`` levels and never in a
cycle (an index that names itself); gzip layers are read through the bounded decompressor
(:mod:`reprocal.fs._gunzip`), never unpacked wholesale.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from reprocal.errors import InputError
from reprocal.fs._gunzip import GunzipReader, gunzip_chunks
from reprocal.fs._inputs import open_input
from reprocal.fs._limits import current_limits
from reprocal.image._oci import (
    DOCKER_LAYER,
    DOCKER_LAYER_GZIP,
    DOCKER_LIST,
    MEDIA_INDEX,
    MEDIA_LAYER,
    MEDIA_LAYER_GZIP,
    Blob,
    Descriptor,
    sha256_digest,
)
from reprocal.image._ocidoc import descriptor, document, manifest_parts, objects, platform_of
from reprocal.image._tarstream import CHUNK

_INDEXES = (MEDIA_INDEX, DOCKER_LIST)
GZIP_LAYERS = (MEDIA_LAYER_GZIP, DOCKER_LAYER_GZIP)
PLAIN_LAYERS = (MEDIA_LAYER, DOCKER_LAYER)


@attrs.frozen
class Member:
    """Where one regular file of the outer tar lies."""

    offset: int
    """Byte offset of its data in the tar."""
    size: int
    """Its length."""


class _Range:
    """A read-only file object over ``[offset, offset+size)`` of a file (for tarfile streams)."""

    def __init__(self, path: Path, member: Member):
        self._fh = open(path, "rb")
        self._start = member.offset
        self._size = member.size
        self._pos = 0
        self._fh.seek(self._start)

    def read(self, n: int = -1) -> bytes:
        left = self._size - self._pos
        if n < 0 or n > left:
            n = left
        data = self._fh.read(n)
        self._pos += len(data)
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, min(self._size, base + pos))
        self._fh.seek(self._start + self._pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> _Range:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@attrs.frozen
class ImageTar:
    """An image tar opened for reading (nothing loaded but its small JSON documents)."""

    path: Path
    """The tar file."""
    members: dict[str, Member] = attrs.field(repr=False)
    """Regular files of the tar by normalised name."""
    layout: str
    """``oci`` (has ``index.json``) or ``docker-archive`` (``manifest.json`` only)."""
    manifest_bytes: bytes | None = attrs.field(repr=False)
    """The OCI/Docker image manifest, exactly as stored (``None`` for a legacy docker save)."""
    manifest_descriptor: Descriptor | None
    """The index's descriptor of that manifest."""
    config_bytes: bytes = attrs.field(repr=False)
    """The image config, exactly as stored."""
    config_path: str
    """Member name of the config."""
    layers: tuple[Descriptor, ...]
    """Layer descriptors in order (from the manifest, or measured for a legacy archive)."""
    layer_paths: tuple[str, ...]
    """Member names of the layers, same order."""
    repo_tags: tuple[str, ...] = ()
    """``RepoTags`` of the docker-archive manifest."""
    name: str | None = None
    """``io.containerd.image.name`` of the index, when present."""

    @property
    def manifest_digest(self) -> str | None:
        return None if self.manifest_bytes is None else sha256_digest(self.manifest_bytes)

    @property
    def config_digest(self) -> str:
        return sha256_digest(self.config_bytes)

    @property
    def config(self) -> dict[str, Any]:
        return document(self.config_bytes, f"{self.path}:{self.config_path}", "image config")

    @property
    def manifest(self) -> dict[str, Any] | None:
        return (None if self.manifest_bytes is None else
                document(self.manifest_bytes, f"{self.path}: image manifest", "image manifest"))

    def chunks(self, name: str) -> Iterator[bytes]:
        """The bytes of member ``name``, streamed."""
        with _Range(self.path, self.members[name]) as r:
            while True:
                chunk = r.read(CHUNK)
                if not chunk:
                    return
                yield chunk

    def read(self, name: str) -> bytes:
        return b"".join(self.chunks(name))

    def layer_blob(self, i: int) -> Blob:
        """Layer ``i`` as a blob for :func:`reprocal.image._oci.write_image_tar` (bytes reused)."""
        d, path = self.layers[i], self.layer_paths[i]
        return Blob(d.digest, d.size, lambda: self.chunks(path))

    def layer_files(self, i: int) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
        """Iterate the entries of layer ``i`` (``tf.extractfile(info)`` reads the current one)."""
        # plain layers are read seekably (member data skipped, not read); gzip ones streamed
        # through the bounded decompressor (a gzip bomb stops at the unpacked-size limit)
        gz = self.layers[i].media_type in GZIP_LAYERS
        with _Range(self.path, self.members[self.layer_paths[i]]) as r:
            source = GunzipReader(r, source=f"{self.path}: layer {i + 1}") if gz else r
            with tarfile.open(fileobj=source, mode="r|" if gz else "r:") as tf:  # type: ignore[call-overload]
                for info in tf:
                    yield info, tf

    def diff_id(self, i: int) -> str:
        """sha256 of layer ``i`` uncompressed."""
        h = hashlib.sha256()
        chunks = self.chunks(self.layer_paths[i])
        if self.layers[i].media_type in GZIP_LAYERS:
            chunks = gunzip_chunks(chunks, source=f"{self.path}: layer {i + 1}")
        for c in chunks:
            h.update(c)
        return "sha256:" + h.hexdigest()


def _norm(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def _json(img_path: Path, members: dict[str, Member], name: str, what: str
          ) -> tuple[bytes, dict[str, Any]]:
    """A JSON object member, read within the ``document-size`` limit."""
    if name not in members:
        raise InputError(f"{what} {name} is missing from the image tar", path=img_path,
                         hint="is this a docker save / OCI image tar?")
    limit = current_limits().document_size
    if members[name].size > limit:
        raise InputError(f"{what} {name} is {members[name].size} bytes, more than the "
                         f"document-size limit of {limit}", path=img_path)
    with _Range(img_path, members[name]) as r:
        data = r.read()
    return data, document(data, f"{img_path}:{name}", what)


def _json_list(img_path: Path, members: dict[str, Member], name: str, what: str) -> list[Any]:
    """The docker-archive ``manifest.json``: a JSON array of objects."""
    if members[name].size > current_limits().document_size:
        raise InputError(f"{what} {name} is larger than the document-size limit", path=img_path)
    with _Range(img_path, members[name]) as r:
        data = r.read()
    from reprocal.state._schemas import parse_json

    doc = parse_json(data, source=f"{img_path}:{name}", error=InputError)
    if not isinstance(doc, list) or not all(isinstance(x, dict) for x in doc):
        raise InputError(f"{what} must be a JSON array of objects", path=f"{img_path}:{name}")
    return doc


def _blob_path(desc: Descriptor) -> str:
    return f"blobs/sha256/{desc.hex}"


def _strings(value: Any, where: str, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where} must be a list of strings", path=source)
    return tuple(value)


def _pick(manifests: list[dict[str, Any]], source: str) -> dict[str, Any]:
    if not manifests:
        raise InputError("the image index lists no image", path=source)
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    for m in manifests:
        if platform_of(m) == ("linux", arch):
            return m
    return manifests[0]


def _image_manifest(path: Path, members: dict[str, Member]) -> tuple[Descriptor, str | None]:
    """The descriptor of the image manifest the index leads to, through nested indexes (at most
    ``index-depth`` of them, never one already seen), and the image name annotation."""
    source = f"{path}:index.json"
    _, index = _json(path, members, "index.json", "image index")
    top = _pick(objects(index, "manifests", "$", source), source)
    annotations = top.get("annotations")
    name = annotations.get("io.containerd.image.name") if isinstance(annotations, dict) else None
    desc = descriptor(top, "$.manifests[]", source)
    seen: set[str] = set()
    depth = current_limits().index_depth
    while desc.media_type in _INDEXES:
        if desc.digest in seen:
            raise InputError(f"the image index {desc.digest} names itself (an index cycle)",
                             path=path)
        if len(seen) >= depth:
            raise InputError(f"image indexes nested more than {depth} deep", path=path,
                             hint="raise it with --limit index-depth=N if genuine")
        seen.add(desc.digest)
        blob = _blob_path(desc)
        _, nested = _json(path, members, blob, "nested index")
        source = f"{path}:{blob}"
        desc = descriptor(_pick(objects(nested, "manifests", "$", source), source),
                          "$.manifests[]", source)
    return desc, name if isinstance(name, str) else None


def identity_of(docs: dict[str, bytes], source: str) -> tuple[str | None, str]:
    """``(manifest digest, config digest)`` of an image known only by its small documents
    (``index.json``, ``manifest.json``, the blobs of its manifests and config, by member name),
    as read from a stream without the layers; the same rules as :func:`read_image_tar`."""

    def get(name: str, what: str) -> bytes:
        if name not in docs:
            raise InputError(f"{what} {name} is missing from the image tar", path=source)
        return docs[name]

    if "index.json" in docs:
        where = f"{source}:index.json"
        index = document(docs["index.json"], where, "image index")
        desc = descriptor(_pick(objects(index, "manifests", "$", where), where),
                          "$.manifests[]", where)
        seen: set[str] = set()
        while desc.media_type in _INDEXES:
            if desc.digest in seen or len(seen) >= current_limits().index_depth:
                raise InputError("image indexes nested too deep or in a cycle", path=source)
            seen.add(desc.digest)
            where = f"{source}:{_blob_path(desc)}"
            nested = document(get(_blob_path(desc), "nested index"), where, "nested index")
            desc = descriptor(_pick(objects(nested, "manifests", "$", where), where),
                              "$.manifests[]", where)
        mbytes = get(_blob_path(desc), "image manifest")
        config, _ = manifest_parts(document(mbytes, source, "image manifest"), source)
        return sha256_digest(mbytes), config.digest
    from reprocal.state._schemas import parse_json

    dm = parse_json(get("manifest.json", "docker-archive manifest"), source=source,
                    error=InputError)
    if not (isinstance(dm, list) and len(dm) == 1 and isinstance(dm[0], dict)
            and isinstance(dm[0].get("Config"), str)):
        raise InputError("manifest.json must describe exactly one image", path=source)
    return None, sha256_digest(get(_norm(dm[0]["Config"]), "image config"))


def read_image_tar(path: str | os.PathLike[str]) -> ImageTar:
    """Open an image tar (OCI layout, docker-archive, or both); refuse anything else clearly."""
    path = Path(path)
    if not os.path.lexists(path):
        raise InputError("no such image tar", path=path)
    with open_input(path, what="image tar") as raw:
        try:
            with tarfile.open(fileobj=raw, mode="r:") as tf:
                members = {_norm(m.name): Member(m.offset_data, m.size) for m in tf if m.isreg()}
        except (tarfile.TarError, OSError) as exc:
            raise InputError(f"not an uncompressed tar ({exc})", path=path,
                             hint="give a `docker save` or OCI image tar (gunzip it first)"
                             ) from None
    if "index.json" in members:
        desc, name = _image_manifest(path, members)
        mpath = _blob_path(desc)
        mbytes, manifest = _json(path, members, mpath, "image manifest")
        config_desc, layers = manifest_parts(manifest, f"{path}:{mpath}")
        cpath = _blob_path(config_desc)
        cbytes, _ = _json(path, members, cpath, "image config")
        tags: tuple[str, ...] = ()
        if "manifest.json" in members:
            dm = _json_list(path, members, "manifest.json", "docker-archive manifest")
            if dm:
                tags = _strings(dm[0].get("RepoTags"), "$[0].RepoTags", f"{path}:manifest.json")
        return ImageTar(path, members, "oci", mbytes, desc, cbytes, cpath, layers,
                        tuple(_blob_path(d) for d in layers), tags, name)
    if "manifest.json" in members:
        source = f"{path}:manifest.json"
        dm = _json_list(path, members, "manifest.json", "docker-archive manifest")
        if len(dm) != 1:
            raise InputError("manifest.json must describe exactly one image", path=path)
        config = dm[0].get("Config")
        if not isinstance(config, str):
            raise InputError("$[0].Config must be a string", path=source)
        cpath = _norm(config)
        cbytes, _ = _json(path, members, cpath, "image config")
        lpaths = tuple(_norm(p) for p in _strings(dm[0].get("Layers"), "$[0].Layers", source))
        img = ImageTar(path, members, "docker-archive", None, None, cbytes, cpath, (), lpaths,
                       _strings(dm[0].get("RepoTags"), "$[0].RepoTags", source))
        descs = []
        for lp in lpaths:
            if lp not in members:
                raise InputError(f"layer {lp} is missing from the image tar", path=path)
            h = hashlib.sha256()
            first = b""
            for chunk in img.chunks(lp):
                first = first or chunk[:2]
                h.update(chunk)
            media = MEDIA_LAYER_GZIP if first == b"\x1f\x8b" else MEDIA_LAYER
            descs.append(Descriptor(media, "sha256:" + h.hexdigest(), members[lp].size))
        return attrs.evolve(img, layers=tuple(descs))
    raise InputError("neither index.json nor manifest.json in the tar", path=path,
                     hint="give a `docker save` or OCI image tar")
