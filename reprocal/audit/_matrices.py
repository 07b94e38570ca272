"""Response matrices a product names: a spectrum's ``RESPFILE``/``ANCRFILE`` keywords that name a
canned matrix (or a file an extra set pins), whether a manifest given beside it pins that file,
and whether the local copy is the pinned one.

A canned matrix is one whose base name follows ESA's scheme
(:meth:`reprocal.core._responses.ResponseName.read`) or that a canned-response set pins. Where
the local copy is looked for: the keyword's path beside the product (only a plain relative path:
no ``..``, not absolute), then the pinning set's home (``extras/<label>/`` of the repository).
Only headers are read (:func:`reprocal.fits._walk.header_keywords`); a file that is not FITS
names no matrix.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import attrs

from reprocal.core._responses import ResponseName
from reprocal.errors import ReprocalError
from reprocal.fits._walk import header_keywords
from reprocal.fs._hashing import sha256_file
from reprocal.repo._extras import extras_home
from reprocal.state._manifest import Manifest

KEYWORDS = ("RESPFILE", "ANCRFILE")
NONE_VALUES = {"", "none", "null"}


@attrs.frozen
class MatrixUse:
    """One ``RESPFILE``/``ANCRFILE`` of a product naming a canned matrix."""

    keyword: str
    value: str
    """As the header gives it."""
    canned: bool
    """Its name follows ESA's canned-matrix scheme."""
    pinned: tuple[str, ...]
    """``manifest: label/path`` of each given manifest's set file of that name."""
    local: str
    """``matches``, ``differs`` (from every pin), ``not pinned`` (found, nothing to compare
    with) or ``absent``."""
    local_path: str | None = None

    def line(self) -> str:
        pins = ("pinned by " + ", ".join(self.pinned)) if self.pinned else \
            "pinned by no manifest given"
        where = f" ({self.local_path})" if self.local_path else ""
        return (f"{self.keyword} = {self.value}: a canned response matrix; {pins}; local copy: "
                f"{self.local}{where}")

    def to_json(self) -> dict[str, Any]:
        return {"keyword": self.keyword, "value": self.value, "canned": self.canned,
                "pinned": list(self.pinned), "local": self.local,
                "local_path": self.local_path}


def _named(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    try:
        headers = header_keywords(path, hdus=8)
    except (ReprocalError, OSError):
        return []
    out: dict[tuple[str, str], None] = {}
    for keys in headers:
        for k in KEYWORDS:
            value = keys.get(k, "").strip()
            if value.lower() not in NONE_VALUES:
                out[(k, value)] = None
    return list(out)


def _beside(product: Path, value: str) -> Path | None:
    rel = PurePosixPath(value)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    return product.parent / rel


def matrix_uses(product: str | os.PathLike[str], manifests: Sequence[tuple[str, Manifest]],
                dirs: Sequence[Path]) -> tuple[MatrixUse, ...]:
    """The canned matrices ``product`` names (see the module docstring)."""
    out = []
    for keyword, value in _named(product):
        base = value.rsplit("/", 1)[-1]
        pins = [(src, x, f) for src, m in manifests for x in m.extras for f in x.files
                if f.path.rsplit("/", 1)[-1] == base]
        canned = ResponseName.read(base) is not None
        if not canned and not any(x.kind == "canned-response" for _, x, _ in pins):
            continue
        places = [p for p in [_beside(Path(product), value)] if p is not None]
        if dirs:
            places += [extras_home(list(dirs), x.label) / f.path for _, x, f in pins]
        found = next((p for p in places if p.is_file()), None)
        if found is None:
            local = "absent"
        elif not pins:
            local = "not pinned"
        else:
            local = "matches" if sha256_file(found) in {f.sha256 for _, _, f in pins} \
                else "differs"
        out.append(MatrixUse(keyword, value, canned,
                             tuple(f"{src}: {x.label}/{f.path}" for src, x, f in pins), local,
                             str(found) if found else None))
    return tuple(out)


__all__ = ["KEYWORDS", "MatrixUse", "matrix_uses"]
