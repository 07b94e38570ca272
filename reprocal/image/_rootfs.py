"""The merged filesystem view of an image's layers, as a container runtime would see it.

A layer is a tar applied over the ones below: an entry replaces whatever was at its path,
``.wh.NAME`` deletes ``NAME`` (and what is under it) from the lower layers, ``.wh..wh..opq``
empties its directory of what the lower layers put there, and a symbolic link in a lower
layer is followed when a later entry's *parent* path goes through it (``data -> /ccf`` and then
``data/X`` is ``/ccf/X``). Entry names are normalised first as runtimes do it (leading ``/`` and
``./`` dropped, ``.`` and ``..`` resolved, ``..`` stopping at the root).

Only what matters is kept: every symbolic link (to resolve later paths through it) and every
entry under a *watched* prefix (``ccf``), with the size and sha256 of regular files there, so a
base of a hundred thousand files costs its links, not its files. :func:`touching` answers the
build's question (does a base put anything at ``/ccf``?); :attr:`MergedView.files` the verifier's
(what exactly is under ``/ccf`` once every layer is applied?).
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

import attrs

MAX_HOPS = 40
"""Symbolic links followed while resolving one path (Linux's own bound)."""
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


@attrs.frozen
class Entry:
    """One entry of the merged view."""

    path: str
    """Normalised path, relative to the root, no leading ``/`` (``ccf/EPN_CTI_0045.CCF``)."""
    kind: str
    """``file``, ``dir``, ``symlink``, ``hardlink`` or ``other`` (device, FIFO)."""
    layer: int
    """The layer (from 0) that put it there."""
    size: int = 0
    sha256: str | None = None
    """Lower-case hex, for regular files under a watched prefix."""
    target: str | None = None
    """A link's target as written (symlink) or normalised (hard link)."""
    name: str = ""
    """The entry's name as written in the layer tar."""
    data: bytes | None = attrs.field(default=None, eq=False, repr=False)
    """The bytes of a watched regular file of at most ``keep`` bytes (:class:`MergedView`)."""


def normalise(name: str) -> str:
    """``/ccf/X``, ``./ccf/X``, ``etc/../ccf/X`` -> ``ccf/X``; ``..`` stops at the root."""
    return posixpath.normpath("/" + name).lstrip("/") if name.strip("/") else ""


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _kind(info: tarfile.TarInfo) -> str:
    if info.isdir():
        return "dir"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    return "file" if info.isreg() else "other"


class MergedView:
    """Layers applied in order (:meth:`apply`); links and watched entries kept."""

    def __init__(self, watch: Iterable[str] = ("ccf",), *, keep: int = 0):
        self.watch = tuple(normalise(w) for w in watch)
        self.keep = keep
        """Watched regular files up to this size keep their bytes (:attr:`Entry.data`)."""
        self.links: dict[str, Entry] = {}
        """Symbolic links anywhere, by path."""
        self.files: dict[str, Entry] = {}
        """Every entry (any kind) whose path is under a watched prefix."""
        self.loops: list[str] = []
        """Entry names whose path could not be resolved (too many links)."""

    # --- paths ---------------------------------------------------------------------------------

    def resolve(self, path: str, *, follow_last: bool = False) -> str | None:
        """``path`` with every symbolic link among its parents (and the last component, when
        ``follow_last``) replaced by its target; ``None`` past :data:`MAX_HOPS` links."""
        parts = [p for p in path.split("/") if p]
        done: list[str] = []
        hops = 0
        while parts:
            head = parts.pop(0)
            candidate = "/".join([*done, head])
            link = self.links.get(candidate)
            if link is not None and (parts or follow_last):
                hops += 1
                if hops > MAX_HOPS:
                    return None
                target = link.target or ""
                base = "" if target.startswith("/") else "/".join(done)
                rest = normalise(posixpath.join("/" + base, target))
                parts = [p for p in rest.split("/") if p] + parts
                done = []
                continue
            if head == "..":
                if done:
                    done.pop()
            elif head != ".":
                done.append(head)
        return "/".join(done)

    def watched(self, path: str) -> bool:
        return any(_under(path, w) for w in self.watch)

    # --- applying a layer ----------------------------------------------------------------------

    def _remove(self, path: str, below_layer: int, subtree: bool = True) -> None:
        for store in (self.links, self.files):
            for p in [p for p, e in store.items()
                      if (p == path or (subtree and p.startswith(path + "/")))
                      and e.layer < below_layer]:
                del store[p]

    def _place(self, info: tarfile.TarInfo) -> str | None:
        """Where an entry lands: its normalised name with the links among its parents
        resolved (``None`` for the root, or a path through a loop of links)."""
        name = normalise(info.name)
        if not name:
            return None
        parent, _, base = name.rpartition("/")
        where = self.resolve(parent, follow_last=True) if parent else ""
        if where is None:
            self.loops.append(info.name)
            return None
        return f"{where}/{base}" if where else base

    def _whiteout(self, path: str, layer: int) -> bool:
        """Apply ``path`` as a whiteout when it is one (``.wh..wh..opq`` or ``.wh.NAME``)."""
        where, _, base = path.rpartition("/")
        if base == OPAQUE:
            prefix = where + "/" if where else ""
            for store in (self.links, self.files):
                for p in [p for p, e in store.items() if p.startswith(prefix) and e.layer < layer]:
                    del store[p]
            return True
        if base.startswith(WHITEOUT):
            self._remove(f"{where}/{base[len(WHITEOUT):]}" if where else base[len(WHITEOUT):],
                         layer)
            return True
        return False

    def _replace(self, path: str, kind: str, layer: int) -> None:
        """A non-directory replaces the path and everything under it; a directory replaces
        only what is not one."""
        if kind != "dir":
            self._remove(path, layer + 1)
            return
        self.links.pop(path, None)
        old = self.files.get(path)
        if old is not None and old.kind != "dir":
            del self.files[path]

    def _hash(self, content: IO[bytes], size: int) -> tuple[str, bytes | None]:
        """sha256 of a file's bytes, and the bytes themselves when at most ``keep``."""
        h = hashlib.sha256()
        kept: list[bytes] | None = [] if size <= self.keep else None
        while chunk := content.read(1 << 20):
            h.update(chunk)
            if kept is not None:
                kept.append(chunk)
        return h.hexdigest(), None if kept is None else b"".join(kept)

    def add(self, info: tarfile.TarInfo, layer: int, content: IO[bytes] | None = None) -> Entry | None:
        """Apply one layer entry; ``content`` reads a regular file's bytes (hashed when its
        path is watched). Returns the entry as placed (``None`` for a whiteout)."""
        path = self._place(info)
        if path is None or self._whiteout(path, layer):
            return None
        kind = _kind(info)
        self._replace(path, kind, layer)
        size = info.size if kind == "file" else 0
        digest: str | None = None
        data: bytes | None = None
        target = info.linkname if kind == "symlink" else None
        if kind == "hardlink":
            target = self.resolve(normalise(info.linkname)) or ""
            source = self.files.get(target)
            if source is not None and source.kind == "file":
                size, digest, data = source.size, source.sha256, source.data
        watched = self.watched(path)
        if kind == "file" and watched and content is not None:
            digest, data = self._hash(content, size)
        entry = Entry(path, kind, layer, size, digest, target, info.name, data)
        if kind == "symlink":
            self.links[path] = entry
        if watched:
            self.files[path] = entry
        return entry

    def apply(self, entries: Iterable[tuple[tarfile.TarInfo, Any]], layer: int) -> None:
        """Apply one layer: ``(info, tarfile)`` pairs as :meth:`ImageTar.layer_files` yields."""
        for info, tf in entries:
            content = tf.extractfile(info) if info.isreg() else None
            self.add(info, layer, content)

    # --- questions -----------------------------------------------------------------------------

    def touching(self) -> Iterator[tuple[Entry, str]]:
        """Entries that put something at a watched prefix: ``(entry, resolved path)`` for every
        watched entry, and every symbolic link whose target resolves there."""
        for e in self.files.values():
            yield e, e.path
        for e in self.links.values():
            if self.watched(e.path):
                continue
            resolved = self.resolve(e.path, follow_last=True)
            if resolved is not None and self.watched(resolved):
                yield e, resolved
