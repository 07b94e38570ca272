"""Reading an image tar back: an OCI layout, a docker-archive, or both in one tar.

Used for ``--base`` (reuse a base image's blobs byte for byte) and by ``image verify``. Blobs
are never loaded whole: a member is read as a byte range of the outer tar.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from reprocal.errors import InputError
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
from reprocal.image._tarstream import CHUNK, decompress_chunks

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
        return json.loads(self.config_bytes)

    @property
    def manifest(self) -> dict[str, Any] | None:
        return None if self.manifest_bytes is None else json.loads(self.manifest_bytes)

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
        mode = "r|gz" if self.layers[i].media_type in GZIP_LAYERS else "r:"
        with _Range(self.path, self.members[self.layer_paths[i]]) as r:
            with tarfile.open(fileobj=r, mode=mode) as tf:  # type: ignore[call-overload]
                for info in tf:
                    yield info, tf

    def diff_id(self, i: int) -> str:
        """sha256 of layer ``i`` uncompressed."""
        h = hashlib.sha256()
        chunks = self.chunks(self.layer_paths[i])
        if self.layers[i].media_type in GZIP_LAYERS:
            chunks = decompress_chunks(chunks)
        for c in chunks:
            h.update(c)
        return "sha256:" + h.hexdigest()


def _norm(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def _json(img_path: Path, members: dict[str, Member], name: str, what: str) -> tuple[bytes, Any]:
    if name not in members:
        raise InputError(f"{what} {name} is missing from the image tar", path=img_path,
                         hint="is this a docker save / OCI image tar?")
    with _Range(img_path, members[name]) as r:
        data = r.read()
    try:
        return data, json.loads(data)
    except ValueError as exc:
        raise InputError(f"{what} {name} is not JSON ({exc})", path=img_path) from None


def _blob_path(desc: dict[str, Any], img_path: Path) -> str:
    digest = str(desc.get("digest", ""))
    algo, _, hexd = digest.partition(":")
    if algo != "sha256" or len(hexd) != 64:
        raise InputError(f"unsupported or malformed digest {digest!r}", path=img_path)
    return f"blobs/sha256/{hexd}"


def _descriptor(desc: dict[str, Any]) -> Descriptor:
    return Descriptor(str(desc.get("mediaType", "")), str(desc["digest"]), int(desc["size"]))


def _pick(manifests: list[dict[str, Any]], img_path: Path) -> dict[str, Any]:
    if not manifests:
        raise InputError("index.json lists no image", path=img_path)
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    for m in manifests:
        p = m.get("platform") or {}
        if p.get("os") == "linux" and p.get("architecture") == arch:
            return m
    return manifests[0]


def read_image_tar(path: str | os.PathLike[str]) -> ImageTar:
    """Open an image tar (OCI layout, docker-archive, or both); refuse anything else clearly."""
    path = Path(path)
    try:
        with tarfile.open(path, mode="r:") as tf:
            members = {_norm(m.name): Member(m.offset_data, m.size) for m in tf if m.isreg()}
    except FileNotFoundError:
        raise InputError("no such image tar", path=path) from None
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"not an uncompressed tar ({exc})", path=path,
                         hint="give a `docker save` or OCI image tar (gunzip it first)") from None
    if "index.json" in members:
        _, index = _json(path, members, "index.json", "image index")
        top = _pick(list(index.get("manifests") or []), path)
        name = (top.get("annotations") or {}).get("io.containerd.image.name")
        desc = top
        while desc.get("mediaType") in _INDEXES:
            _, nested = _json(path, members, _blob_path(desc, path), "nested index")
            desc = _pick(list(nested.get("manifests") or []), path)
        mbytes, manifest = _json(path, members, _blob_path(desc, path), "image manifest")
        cpath = _blob_path(manifest.get("config") or {}, path)
        cbytes, _ = _json(path, members, cpath, "image config")
        layers = tuple(_descriptor(d) for d in manifest.get("layers") or [])
        tags: tuple[str, ...] = ()
        if "manifest.json" in members:
            _, dm = _json(path, members, "manifest.json", "docker-archive manifest")
            if isinstance(dm, list) and dm:
                tags = tuple(dm[0].get("RepoTags") or ())
        return ImageTar(path, members, "oci", mbytes, _descriptor(desc), cbytes, cpath, layers,
                        tuple(_blob_path(d.to_json(), path) for d in layers), tags, name)
    if "manifest.json" in members:
        _, dm = _json(path, members, "manifest.json", "docker-archive manifest")
        if not isinstance(dm, list) or len(dm) != 1:
            raise InputError("manifest.json must describe exactly one image", path=path)
        cpath = _norm(str(dm[0].get("Config", "")))
        cbytes, _ = _json(path, members, cpath, "image config")
        lpaths = tuple(_norm(str(p)) for p in dm[0].get("Layers") or [])
        img = ImageTar(path, members, "docker-archive", None, None, cbytes, cpath, (), lpaths,
                       tuple(dm[0].get("RepoTags") or ()))
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
