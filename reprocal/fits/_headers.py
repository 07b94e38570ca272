"""Reading a constituent's indexing keywords from its FITS primary header.

Reading is fast: only the primary header is read (``Header.fromfile`` stops at ``END``), never the
data. The keywords become a :class:`~reprocal.core.Constituent` through
:func:`reprocal.core.from_header`.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from reprocal.core._constituent import Constituent, from_header
from reprocal.errors import FitsFormatError

_INDEX_KEYWORDS = (
    "TELESCOP", "SCOPE", "TYPEID", "ISSUE", "VALDATE", "EVALDATE", "SUBDATE", "DATE",
    "CATEGORY", "CREATOR", "EXTSEQU", "EXTSEQID",
)


def read_primary_header(path: str | os.PathLike[str]) -> dict[str, object]:
    """The indexing keywords of a FITS primary header, reading only the header blocks.

    Raises :class:`FitsFormatError` naming the file when it is not FITS.
    """
    from astropy.io import fits  # heavy import kept local to the I/O edge

    try:
        with open(path, "rb") as f:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                header = fits.Header.fromfile(f)
    except OSError as exc:
        raise FitsFormatError(f"cannot read: {exc.strerror or exc}", path=path) from None
    except Exception as exc:  # astropy raises ValueError/IndexError/... on non-FITS bytes
        raise FitsFormatError(
            f"not a FITS file ({type(exc).__name__}: {exc})", path=path
        ) from None
    if not header.get("SIMPLE", False):
        raise FitsFormatError("not a FITS primary header (SIMPLE missing)", path=path)
    return {k: header[k] for k in _INDEX_KEYWORDS if k in header}


def read_constituent(path: str | os.PathLike[str]) -> Constituent:
    """Read one constituent file's indexing attributes (header only)."""
    p = Path(path)
    header = read_primary_header(p)
    return from_header(header, p.name, path=p, fsize=p.stat().st_size)
