"""Reading a constituent's indexing keywords from its FITS primary header.

Reading is fast: only the primary header's blocks are read, never the data, and they are parsed
by the one header parser (:mod:`reprocal.fits._cards`, the one the checksum engine uses), so the
catalogue, ``verify`` and ``fetch`` read a header the same way. The keywords become a
:class:`~reprocal.core.Constituent` through :func:`reprocal.core.from_header`.
"""

from __future__ import annotations

import os

from reprocal.core._constituent import Constituent, from_header
from reprocal.errors import FitsFormatError
from reprocal.fits._cards import BLOCK, HeaderError, keywords, read_header
from reprocal.fs._inputs import open_regular


def read_primary_header(path: str | os.PathLike[str]) -> dict[str, object]:
    """Every keyword of a FITS file's primary header and its value as text (see
    :func:`reprocal.fits._cards.keywords`), reading only the header blocks.

    Raises :class:`FitsFormatError` naming the file when it is not FITS or its primary header
    is cut short.
    """
    try:
        with open_regular(path) as f:
            first = f.read(BLOCK)
            if not first.startswith(b"SIMPLE  ="):
                raise FitsFormatError("not a FITS file (no SIMPLE card)", path=path)
            try:
                if len(first) < BLOCK:
                    raise HeaderError("truncated")
                header = read_header(first, lambda: f.read(BLOCK))
            except HeaderError as exc:
                problem = ("truncated: the file ends inside the primary header"
                           if str(exc) == "truncated" else f"the primary header has {exc}")
                raise FitsFormatError(problem, path=path) from None
    except OSError as exc:
        raise FitsFormatError(f"cannot read: {exc.strerror or exc}", path=path) from None
    found = keywords(header)
    if found.get("SIMPLE") != "T":
        raise FitsFormatError(f"not a standard FITS file (SIMPLE = {found.get('SIMPLE')})",
                              path=path)
    return dict(found)


def read_constituent(path: str | os.PathLike[str], *, fsize: int | None = None) -> Constituent:
    """Read one constituent file's indexing attributes (header only); ``fsize``: its size as
    just listed (default: a stat of it)."""
    header = read_primary_header(path)
    text = os.fspath(path)
    return from_header(header, os.path.basename(text), path=text,
                       fsize=os.stat(text).st_size if fsize is None else fsize)
