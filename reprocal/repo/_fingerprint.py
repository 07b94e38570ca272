"""Fingerprints: one digest of what a repository holds, to compare sites and mirrors.

A fingerprint lists every constituent of a repository (or a mirror's listing, or a fingerprint
document saved at another site) as ``(name, size, sha256)``, sorted by name, and digests it:

``rpfp:1:content:<hex>``
    sha256 of the lines ``NAME SIZE SHA256\\n``: equal exactly when both hold the same files
    with the same bytes (a mirror listing has no sha256, so it has no content digest);
``rpfp:1:names-sizes:<hex>``
    sha256 of the lines ``NAME SIZE\\n`` (``?`` for a size the listing does not give): what a
    repository and a mirror listing can share.

:func:`compare` says what differs: names only one side has, sizes that differ, bytes that
differ (both sides' sha256 known). Repositories of two sites compare by content; a repository
and a mirror (ESA's, HEASARC's) by names and sizes only. The files' sha256 come from the verify
cache where it vouches for the bytes, so fingerprinting an untouched, verified repository reads
nothing; a fingerprint document (``--json``) is what one site sends another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from reprocal.errors import InputError
from reprocal.fs._json import read_json

VERSION = "rpfp:1"
Kind = Literal["repository", "listing", "document"]


@attrs.frozen
class Facts:
    """What is known of one file."""

    name: str
    size: int | None
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


@attrs.frozen
class Fingerprint:
    """The files of a repository, a listing or a document, and their digests."""

    source: str
    kind: Kind
    files: tuple[Facts, ...] = attrs.field(converter=lambda fs: tuple(sorted(fs, key=lambda f: f.name)))

    @property
    def content(self) -> str | None:
        """``rpfp:1:content:<hex>``, or ``None`` when a sha256 or a size is not known."""
        if any(f.sha256 is None or f.size is None for f in self.files):
            return None
        text = "".join(f"{f.name} {f.size} {f.sha256}\n" for f in self.files)
        return f"{VERSION}:content:{hashlib.sha256(text.encode()).hexdigest()}"

    @property
    def names_sizes(self) -> str:
        """``rpfp:1:names-sizes:<hex>``."""
        text = "".join(f"{f.name} {'?' if f.size is None else f.size}\n" for f in self.files)
        return f"{VERSION}:names-sizes:{hashlib.sha256(text.encode()).hexdigest()}"

    def by_name(self) -> dict[str, Facts]:
        return {f.name: f for f in self.files}

    @property
    def bytes(self) -> int:
        return sum(f.size or 0 for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {"fingerprint": VERSION, "source": self.source, "kind": self.kind,
                "content": self.content, "names_sizes": self.names_sizes,
                "files": [f.to_json() for f in self.files]}


def _facts(doc: Any, where: str) -> Facts:
    from reprocal.core._names import ConstituentName

    if not isinstance(doc, dict) or set(doc) - {"name", "size", "sha256"} or "name" not in doc:
        raise InputError(f"{where}: not a file entry (name, size, sha256)")
    name, size, sha = doc["name"], doc.get("size"), doc.get("sha256")
    try:
        canonical = isinstance(name, str) and ConstituentName.parse(name).filename == name
    except InputError:
        canonical = False
    if not canonical:
        raise InputError(f"{where}: {name!r} is not a canonical constituent name")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise InputError(f"{where}: size {size!r} is not a non-negative integer")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 64
                            or any(c not in "0123456789abcdef" for c in sha)):
        raise InputError(f"{where}: sha256 {sha!r} is not 64 lower-case hex digits")
    return Facts(name, size, sha)


def load(path: str | Path) -> Fingerprint:
    """A fingerprint document (what ``reprocal fingerprint --json`` prints), checked: its
    entries, and its digests against them (a document edited by hand is refused)."""
    doc = read_json(path)
    if not isinstance(doc, dict) or doc.get("fingerprint") != VERSION:
        raise InputError(f"not a fingerprint document (no \"fingerprint\": {VERSION!r})", path=path)
    files = doc.get("files")
    if not isinstance(files, list):
        raise InputError("fingerprint document without a files list", path=path)
    facts = [_facts(f, f"{path}: files[{i}]") for i, f in enumerate(files)]
    if len({f.name for f in facts}) != len(facts):
        raise InputError("a name appears twice in the fingerprint document", path=path)
    fp = Fingerprint(str(doc.get("source", path)), "document", facts)
    for key, mine in (("content", fp.content), ("names_sizes", fp.names_sizes)):
        if doc.get(key) != mine:
            raise InputError(f"its {key} digest does not match its files (edited?)", path=path,
                             hint="make it again with `reprocal fingerprint --json`")
    return fp


@attrs.frozen
class Comparison:
    """What differs between two fingerprints."""

    a: Fingerprint
    b: Fingerprint
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]
    sizes: tuple[tuple[str, int | None, int | None], ...]
    """``(name, size in a, size in b)`` where both sizes are known and differ."""
    contents: tuple[tuple[str, str, str], ...]
    """``(name, sha256 in a, sha256 in b)`` where both are known and differ."""
    unjudged: int
    """Names on both sides whose bytes cannot be compared (a side has no sha256)."""

    @property
    def same(self) -> bool:
        return not (self.only_a or self.only_b or self.sizes or self.contents)

    @property
    def level(self) -> str:
        """``content`` when bytes were compared throughout, else ``names-sizes``."""
        return "content" if not self.unjudged else "names-sizes"

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a.source, "b": self.b.source, "same": self.same, "level": self.level,
                "only_a": list(self.only_a), "only_b": list(self.only_b),
                "sizes_differ": [{"name": n, "a": x, "b": y} for n, x, y in self.sizes],
                "bytes_differ": [{"name": n, "a": x, "b": y} for n, x, y in self.contents],
                "unjudged": self.unjudged}


def compare(a: Fingerprint, b: Fingerprint) -> Comparison:
    """Compare two fingerprints (pure)."""
    fa, fb = a.by_name(), b.by_name()
    both = sorted(set(fa) & set(fb))
    sizes = tuple((n, fa[n].size, fb[n].size) for n in both
                  if fa[n].size is not None and fb[n].size is not None
                  and fa[n].size != fb[n].size)
    sized = {n for n, _, _ in sizes}
    contents = tuple((n, fa[n].sha256, fb[n].sha256) for n in both if n not in sized
                     and fa[n].sha256 and fb[n].sha256 and fa[n].sha256 != fb[n].sha256)
    unjudged = sum(1 for n in both if n not in sized and not (fa[n].sha256 and fb[n].sha256))
    return Comparison(a, b, tuple(sorted(set(fa) - set(fb))), tuple(sorted(set(fb) - set(fa))),
                      sizes, contents, unjudged)  # type: ignore[arg-type]


def of_repository(dirs: Sequence[Path], *, jobs: int | None = None, rehash: bool = False,
                  progress: Any = None) -> Fingerprint:
    """The fingerprint of the constituents in ``dirs`` (first in path order where a name is
    present twice), hashed through the verify cache."""
    from reprocal.repo._verify import known_hashes
    from reprocal.repo._verifycache import VerifyCache
    from reprocal.repo._walk import constituent_files

    found = {name: files[0] for name, files in constituent_files(dirs).items()}
    with VerifyCache() as cache:
        digests = known_hashes(list(found.values()), cache=cache, jobs=jobs, rehash=rehash,
                               progress=progress)
    facts = []
    for name, f in found.items():
        d = digests.get(str(f.path))
        facts.append(Facts(name, f.stat.size, d if isinstance(d, str) else None))
    return Fingerprint(":".join(map(str, dirs)), "repository", facts)


def of_listing(source: str, entries: Iterable[Any]) -> Fingerprint:
    """A mirror listing's fingerprint: names and sizes, no bytes."""
    return Fingerprint(source, "listing", [Facts(e.name, e.size) for e in entries])


__all__ = ["VERSION", "Comparison", "Facts", "Fingerprint", "compare", "load", "of_listing",
           "of_repository"]
