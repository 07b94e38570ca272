"""Small, valid constituent files for the verify tests (until reprocal.testing._synthetic lands).

Each file has the reconstructed CCF primary header (SCOPE/TYPEID/ISSUE/VALDATE/SUBDATE...), one
binary-table extension, and valid CHECKSUM/DATASUM in every HDU.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from astropy.io import fits

from reprocal.core._names import ConstituentName


def write_constituent(directory: Path, name: str, *, valdate: str = "2000-01-01T00:00:00",
                      subdate: str = "2001-01-01T00:00:00", evaldate: str | None = None,
                      rows: int = 8, seed: int = 0, filename: str | None = None) -> Path:
    """Write ``directory/name`` (or ``filename``) and return its path. ``rows`` sets the size
    (each 720 rows of 4 bytes adds one 2880-byte block); ``seed`` the data."""
    n = ConstituentName.parse(name)
    h = fits.Header()
    h["TELESCOP"] = "XMM"
    h["SCOPE"] = n.scope
    h["TYPEID"] = n.typeid
    h["ISSUE"] = n.issue
    h["VALDATE"] = valdate
    if evaldate:
        h["EVALDATE"] = evaldate
    h["SUBDATE"] = subdate
    h["DATE"] = subdate
    h["CATEGORY"] = "XMMCCF"
    h["CREATOR"] = "reprocal tests"
    h["EXTSEQU"] = "ANY"
    h["EXTSEQID"] = "DATA"
    data = np.random.default_rng(seed).random(rows).astype(">f4")
    table = fits.BinTableHDU.from_columns([fits.Column(name="VALUE", format="E", array=data)],
                                          name="DATA")
    path = Path(directory) / (filename or n.filename)
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList([fits.PrimaryHDU(header=h), table]).writeto(path, checksum=True, overwrite=True)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def flip_byte(path: Path, offset: int = -100, *, keep_mtime: bool = True) -> None:
    """Flip one bit of one byte in place (data area by default), restoring mtime/atime."""
    import os

    st = os.stat(path)
    with open(path, "r+b") as f:
        f.seek(offset, os.SEEK_END if offset < 0 else os.SEEK_SET)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0x01]))
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
