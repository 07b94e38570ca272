"""FITS integrity of one constituent file: CHECKSUM/DATASUM of every HDU, header/name agreement.

One pass through astropy (data memory-mapped, never copied): each HDU's ``verify_datasum`` and
``verify_checksum`` (the FITS checksum convention: 32-bit ones' complement sums), then the primary
header's SCOPE/TYPEID/ISSUE against the file name (:func:`reprocal.constituent.from_header`, the
same rule as :func:`~reprocal.constituent.read_constituent`).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import attrs

from .constituent import Constituent, from_header
from .errors import ReprocalError


@attrs.frozen
class FitsCheck:
    """The outcome of checking one file."""

    problem: str | None
    """Why the file is corrupt or not the constituent its name says; ``None`` when it passed."""
    unchecked: tuple[str, ...] = ()
    """HDUs without CHECKSUM/DATASUM keywords (their bytes are only covered by a sha256)."""
    constituent: Constituent | None = None
    """The indexing attributes read from the primary header, when readable."""
    kind: str = ""
    """``corrupt`` (unreadable, truncated, checksum mismatch) or ``header`` (valid FITS whose
    header is not the constituent its name says); empty when it passed."""

    @property
    def ok(self) -> bool:
        return self.problem is None


def _hdu_label(i: int, name: str) -> str:
    return f"HDU {i}" + (f" ({name})" if name and name != "PRIMARY" else "")


BLOCK = 2880
"""Every FITS file is a whole number of 2880-byte blocks."""

_DAMAGE = re.compile(r"truncated|corrupted|extra bytes|not multiple of 2880", re.IGNORECASE)


def _truncation(caught: list[warnings.WarningMessage]) -> str:
    """The first astropy warning that says the file is cut or damaged (astropy reads on)."""
    for w in caught:
        if _DAMAGE.search(str(w.message)):
            return " ".join(str(w.message).split())
    return ""


def check_fits(path: str | os.PathLike[str], *, filename: str | None = None) -> FitsCheck:
    """Verify every HDU's CHECKSUM/DATASUM and the header/name agreement of one file.

    ``filename`` is the name the file is known by (default: its base name). Never raises for a
    bad file: the problem is returned. Must run in one thread at a time (astropy reports
    truncation through :mod:`warnings`, which are process-global).
    """
    from astropy.io import fits  # heavy import kept at the I/O edge

    p = Path(path)
    name = filename or p.name
    failed: list[str] = []
    extnames: list[str] = []
    unchecked: list[str] = []
    constituent: Constituent | None = None
    caught: list[warnings.WarningMessage] = []
    try:
        size = os.stat(p).st_size
    except OSError as exc:
        return FitsCheck(f"cannot read: {exc.strerror}", kind="corrupt")
    if size % BLOCK:
        return FitsCheck(f"size {size} is not a multiple of {BLOCK} bytes: truncated or "
                         "padded", kind="corrupt")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # astropy reports truncation only as a warning
            with fits.open(p, checksum=False, memmap=True, lazy_load_hdus=False) as hdul:
                for i, hdu in enumerate(hdul):
                    label = _hdu_label(i, hdu.name)
                    has = "CHECKSUM" in hdu.header or "DATASUM" in hdu.header
                    if not has:
                        unchecked.append(label)
                        continue
                    bad = [k for k, r in (("DATASUM", hdu.verify_datasum()),
                                          ("CHECKSUM", hdu.verify_checksum())) if r == 0]
                    if bad:
                        failed.append(f"{label} {'/'.join(bad)} mismatch")
                header = dict(hdul[0].header)
                extnames = [hdu.name for hdu in hdul[1:]]
    except OSError as exc:
        if exc.errno is not None:
            return FitsCheck(f"cannot read: {exc.strerror}", kind="corrupt")
        return FitsCheck(f"not a FITS file ({' '.join(str(exc).split())})", kind="corrupt")
    except Exception as exc:  # astropy raises many types (and warnings) on damaged files
        damage = _truncation(caught)
        if damage:
            return FitsCheck(f"damaged FITS file ({damage})", kind="corrupt")
        return FitsCheck(f"not a readable FITS file ({' '.join(str(exc).split())})",
                         kind="corrupt")
    damage = _truncation(caught)
    if damage:
        return FitsCheck(f"damaged FITS file ({damage})", tuple(unchecked), kind="corrupt")
    if failed:
        return FitsCheck("FITS checksum failed: " + "; ".join(failed), tuple(unchecked),
                         kind="corrupt")
    try:
        constituent = from_header(header, name, path=p)
    except ReprocalError as exc:
        return FitsCheck(exc.message, tuple(unchecked), kind="header")
    # A file cut exactly at an HDU boundary is valid FITS with fewer HDUs: the primary
    # header's EXTSEQID says which extensions must follow.
    gone = [n for n in constituent.extseqid.split() if n.upper() not in extnames]
    if gone:
        return FitsCheck(f"extension(s) {', '.join(gone)} listed in EXTSEQID are missing "
                         "(truncated?)", tuple(unchecked), constituent, kind="corrupt")
    return FitsCheck(None, tuple(unchecked), constituent)
