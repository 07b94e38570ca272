"""Writing constituent files: the engine behind :mod:`reprocal.testing._synthetic` (private).

A file is written HDU by HDU: headers rendered by ``astropy.io.fits.Header``, data written as
is, ``CHECKSUM``/``DATASUM`` computed by the checksum engine (:func:`reprocal.fits._checksum.seal`)
on the rendered bytes. astropy's HDU machinery costs ~30 ms per file; this costs a few.
astropy's verifier checks the result in the tests.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reprocal.core._constituent import Constituent
from reprocal.errors import InputError
from reprocal.fits._checksum import with_checksums
from reprocal.fs._atomic import atomic_file

BLOCK = 2880
"""FITS block size: every HDU, and so every file, is a multiple of it."""


def min_size(extnames: Sequence[str]) -> int:
    """Smallest file for these extensions: a header block per HDU and a data block (one table
    row) per extension, so every extension carries data. A file without extensions: one block."""
    return BLOCK * (1 + 2 * len(extnames))


def _data(seed: int, filename: str, index: int, nbytes: int) -> bytes:
    """Deterministic pseudo-random bytes for one HDU (SHAKE-128: the same everywhere)."""
    if nbytes == 0:
        return b""
    key = f"reprocal.synthetic:{seed}:{filename}:{index}".encode()
    return hashlib.shake_128(key).digest(nbytes)


def _card(header: Any, key: str, value: object, comment: str) -> None:
    """Set a keyword, with its comment only when it fits on the card (no truncation warning)."""
    fits_comment = not isinstance(value, str) or len(value) + len(comment) <= 52
    header[key] = (value, comment) if fits_comment else value


def _primary_header(c: Constituent) -> Any:
    from astropy.io import fits

    h = fits.Header()
    _card(h, "TELESCOP", c.telescop, "Telescope (mission) name")
    _card(h, "SCOPE", c.scope, "Calibration scope")
    _card(h, "TYPEID", c.typeid, "Calibration data type")
    _card(h, "ISSUE", c.issue, "Constituent issue number")
    _card(h, "VALDATE", c.valdate.text, "Start of validity")
    if c.evaldate is not None:
        _card(h, "EVALDATE", c.evaldate.text, "End of validity")
    _card(h, "SUBDATE", c.subdate.text, "Submission date")
    if c.date is not None:
        _card(h, "DATE", c.date.text, "Creation date")
    _card(h, "CATEGORY", c.category, "Calibration category")
    _card(h, "CREATOR", c.creator, "File creator")
    _card(h, "EXTSEQU", c.extsequ, "Extension sequence")
    if len(c.extseqid) > 68:
        _card(h, "LONGSTRN", "OGIP 1.0", "The OGIP long string convention may be used")
    _card(h, "EXTSEQID", c.extseqid, "Extension sequence identifiers")
    if c.md5:
        _card(h, "MD5", c.md5, "MD5 digital signature")
    return h


def _hdu_bytes(header: Any, data: bytes, stamp: str) -> bytes:
    """A header with CHECKSUM/DATASUM filled in, rendered (the data follows it unchanged).

    The comments carry ``stamp`` (the file's DATE), not the wall clock: reproducible bytes.
    """
    if len(data) % BLOCK:
        raise AssertionError("HDU parts must be whole FITS blocks")
    return with_checksums(header, data, updated=stamp)


def _layout(c: Constituent, primary: Any, *, seed: int) -> list[int]:
    """Data blocks of each extension (one row each at least, the rest spread, seeded) so the
    file is ``c.fsize`` bytes; for a file without extensions, the primary's data blocks."""
    extnames = c.extseqid.split()
    size = c.fsize if c.fsize is not None else min_size(extnames)
    head_text = primary.tostring(padding=False, endcard=False)
    head_blocks = math.ceil((len(head_text) + 3 * 80) / BLOCK)  # + CHECKSUM, DATASUM, END
    data_blocks = size // BLOCK - head_blocks - len(extnames)
    if size % BLOCK or data_blocks < len(extnames):
        raise InputError(
            f"{c.filename}: size {size} is not a multiple of {BLOCK} of at least "
            f"{BLOCK * (head_blocks + 2 * len(extnames))} bytes "
            "(a header block per HDU, a data block per extension)"
        )
    if not extnames:
        return [data_blocks]
    rng = random.Random(f"reprocal.synthetic:{seed}:{c.filename}:split")
    spare = data_blocks - len(extnames)
    weights = [w * w for w in (rng.random() for _ in extnames)]
    shares = [spare * w / (sum(weights) or 1.0) for w in weights]
    counts = [math.floor(s) for s in shares]
    for i in sorted(range(len(counts)), key=lambda i: (counts[i] - shares[i], i))[
        : spare - sum(counts)
    ]:
        counts[i] += 1
    return [n + 1 for n in counts]


def _ext_header(name: str, rows: int) -> Any:
    from astropy.io import fits

    return fits.Header([
        ("XTENSION", "BINTABLE", "binary table extension"),
        ("BITPIX", 8, "array data type"),
        ("NAXIS", 2, "number of array dimensions"),
        ("NAXIS1", BLOCK, "length of dimension 1"),
        ("NAXIS2", rows, "length of dimension 2"),
        ("PCOUNT", 0, "number of group parameters"),
        ("GCOUNT", 1, "number of groups"),
        ("TFIELDS", 1, "number of table fields"),
        ("TTYPE1", "BLOCK"),
        ("TFORM1", f"{BLOCK}B"),
        ("EXTNAME", name, "extension name"),  # as given: real EXTNAMEs are mixed case
    ])


def write_table_constituent(path: str | os.PathLike[str], c: Constituent,
                            tables: Sequence[tuple[str, Sequence[tuple[str, str, str, Any]]]]
                            ) -> int:
    """Write a constituent whose extensions hold real columns (what ``calview`` plots):
    ``tables`` is ``[(EXTNAME, [(TTYPE, TFORM, TUNIT, values), ...]), ...]``; the primary
    header is the same as :func:`write_constituent`'s (``EXTSEQID`` names the tables).
    astropy writes the HDUs (with CHECKSUM/DATASUM), atomically. Returns the size."""
    import attrs
    import numpy as np
    from astropy.io import fits

    c = attrs.evolve(c, extseqid=" ".join(name for name, _ in tables))
    primary = fits.PrimaryHDU(header=_primary_header(c))
    hdus = [primary]
    for name, columns in tables:
        cols = [fits.Column(ttype, tform, unit=tunit or None, array=np.array(values))
                for ttype, tform, tunit, values in columns]
        hdu = fits.BinTableHDU.from_columns(cols, name=name)
        hdus.append(hdu)
    with atomic_file(path, fsync=False) as f:
        fits.HDUList(hdus).writeto(f, checksum=True)
        written = f.tell()
    return written


def write_constituent(path: str | os.PathLike[str], c: Constituent, *, seed: int = 0) -> int:
    """Write one constituent file atomically (temp file beside it, then ``os.replace``).

    The primary HDU holds the header keywords, then one binary table per EXTSEQID name
    (one ``2880B`` column; the rows are seeded bytes); CHECKSUM/DATASUM on every HDU.
    Returns the size written (``c.fsize``; the minimum when ``None``).
    """
    from astropy.io import fits

    target = Path(path)
    extnames = c.extseqid.split()
    stamp = (c.date or c.subdate).text
    primary = fits.Header([
        ("SIMPLE", True, "conforms to FITS standard"),
        ("BITPIX", 8, "array data type"),
        ("NAXIS", 0, "number of array dimensions"),
        ("EXTEND", True),
    ])
    primary.extend(_primary_header(c))
    blocks = _layout(c, primary, seed=seed)
    if not extnames and blocks[0]:
        primary["NAXIS"] = 1
        primary.insert("EXTEND", ("NAXIS1", blocks[0] * BLOCK, "length of dimension 1"))
    with atomic_file(target, fsync=False) as f:
        data = _data(seed, c.filename, 0, blocks[0] * BLOCK) if not extnames else b""
        f.write(_hdu_bytes(primary, data, stamp))
        f.write(data)
        for i, (name, rows) in enumerate(zip(extnames, blocks[: len(extnames)],
                                             strict=True), start=1):
            data = _data(seed, c.filename, i, rows * BLOCK)
            f.write(_hdu_bytes(_ext_header(name, rows), data, stamp))
            f.write(data)
        written = f.tell()
    return written
