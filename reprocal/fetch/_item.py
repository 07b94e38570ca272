"""One file a fetch must bring: its canonical name and, when pinned, its size and sha256."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs

from reprocal.core._names import ConstituentName, check_relative_path
from reprocal.errors import InputError

_SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")


def _filename(value: str) -> str:
    return ConstituentName.parse(value).filename


def _sha256(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lower() if isinstance(value, str) else ""
    text = text.removeprefix("sha256:")
    if not _SHA256_RE.match(text):
        raise InputError(f"sha256 {value!r} is not 64 hexadecimal digits")
    return text


def _size(_inst: Any, _attr: Any, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"size {value!r} is not a non-negative integer")


@attrs.frozen
class FetchItem:
    """One file to bring into the repository, as pinned by a manifest."""

    filename: str = attrs.field(converter=_filename)
    """Canonical constituent name (validated: never a path)."""
    size: int | None = attrs.field(validator=_size)
    """Pinned size in bytes (None: not known, e.g. a file a master index lists but no pin)."""
    sha256: str | None = attrs.field(converter=_sha256)
    """Pinned sha256, 64 lower-case hex digits (a ``sha256:`` prefix is accepted and dropped);
    None when the file is not pinned: then only ``size`` (if known) and the engine's ``check``
    can judge the bytes."""

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    @property
    def name(self) -> str:
        """How reports name it: the constituent's name."""
        return self.filename

    @property
    def remote(self) -> str:
        """Its path on a mirror, relative to the mirror's base: the constituent's name."""
        return self.filename

    @classmethod
    def of(cls, pinned: Any) -> FetchItem:
        """From anything with ``.filename``, ``.size`` and ``.sha256`` (a manifest's PinnedFile)."""
        return cls(pinned.filename, pinned.size, pinned.sha256)


def _relative(value: str) -> str:
    return check_relative_path(value, field="extra file path")


@attrs.frozen
class ExtraItem:
    """One file of an extra calibration set (or the tarball it comes as) to bring into the
    repository: read from ``remote`` below a mirror's base, installed as ``filename`` in the
    directory its plan entry names. The same interface as :class:`FetchItem`, so the engine
    fetches both alike (mirrors with fallback, resume, verified rename)."""

    name: str
    """How reports name it: ``label/path`` (a tarball: ``label: NAME``)."""
    remote: str = attrs.field(converter=_relative)
    """Its path below a mirror's base (validated: relative, no ``..``)."""
    size: int | None = attrs.field(validator=_size)
    sha256: str | None = attrs.field(converter=_sha256)

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    @property
    def filename(self) -> str:
        """The file's own name (its ``.NAME.part`` sits beside it)."""
        return self.remote.rsplit("/", 1)[-1]


Wanted = FetchItem | ExtraItem
"""Anything the engine fetches: a constituent, or a file of an extra set."""


def _unique(items: Iterable[FetchItem]) -> tuple[FetchItem, ...]:
    seen: dict[str, FetchItem] = {}
    for item in items:
        other = seen.setdefault(item.filename, item)
        if other != item:
            raise InputError(f"{item.filename} is pinned twice with different size or sha256")
    return tuple(sorted(seen.values(), key=lambda i: i.filename))
