"""Synthetic calibration beyond the CCF, for tests, the demo and the benchmarks: an ESAS caldb
tree (and its tarball, as HEASARC ships one), a canned-response area (``extras/responses/``
with a ``Version.txt``), and spectra whose ``RESPFILE`` names a canned matrix.

Everything is deterministic for a seed (bytes from SHAKE-128, gzip members with mtime 0, tar
members with one fixed mtime and owner), so a test can pin, change one byte, and compare ids.

* **ESAS caldb**: what ESAS tasks read through ``ESAS_CALDB``: filter-wheel-closed event files
  (``mos1-fwc.fits.gz``, ``mos2-fwc.fits.gz``, ``pn-fwc.fits.gz``) and diagonal responses
  (``mos1-diag.rsp.gz``, ``mos2-diag.rsp.gz``, ``pn-diag.rsp.gz``), gzip-compressed FITS; the
  tarball holds them under one top directory (``esas_caldb/``), as a download unpacks.
* **Canned responses**: ESA's naming scheme (``<camera>_<epoch>_<mode><adu>_<pattern><rows>``
  for pn, ``<camera>_<epoch>_<mode>_<patterns>_<position>`` for MOS) in ``PN/`` and ``MOS/``:
  pn's three epochs in full frame, large and small window and extended full frame, singles,
  doubles and both, rows Y9, Y5 and Y0; MOS1 and MOS2 in ``mos_epochs`` epochs. Each matrix is
  an OGIP-shaped FITS file (``MATRIX`` and ``EBOUNDS`` extensions) whose ``CVSD0001`` gives its
  epoch's start: ESA's dates for pn; for MOS, **synthetic dates** (:data:`MOS_STARTS`, one
  epoch every 400 days from 2000-01-01), test data only, never a claim about the real epochs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

from reprocal.fs._atomic import atomic_write

BLOCK = 2880
CALDB_FILES = ("mos1-diag.rsp.gz", "mos1-fwc.fits.gz", "mos2-diag.rsp.gz", "mos2-fwc.fits.gz",
               "pn-diag.rsp.gz", "pn-fwc.fits.gz")
CALDB_TOP = "esas_caldb"
TAR_MTIME = 946684800
"""2000-01-01T00:00:00Z: the mtime of every member of a synthetic tarball."""

PN_STARTS = {1: "2000-02-01", 2: "2007-01-01", 3: "2014-01-01"}
"""ESA's pn epochs (the package table's), written into the pn matrices' CVSD0001."""
MOS_STARTS = {k: (date(2000, 1, 1) + timedelta(days=400 * (k - 1))).isoformat()
              for k in range(1, 20)}
"""Synthetic MOS epoch starts (test data: not the real epochs, which ESA's slides do not date)."""
PN_MODES = ("ff20", "ef20", "lw20", "sw20")
PN_PATTERNS = ("s", "d", "sd")
PN_ROWS = ("Y9", "Y5", "Y0")
MOS_KINDS = ("im_pall_c", "im_pall_w", "im_pall_o", "im_p0_c", "im_p0_w", "im_p0_o", "tu_p0_o")


def _card(key: str, value: object, comment: str = "") -> bytes:
    if isinstance(value, bool):
        text = "T" if value else "F"
        text = f"{text:>20}"
    elif isinstance(value, int):
        text = f"{value:>20}"
    else:
        text = "'" + str(value).replace("'", "''").ljust(8) + "'"
    card = f"{key:<8}= {text}" + (f" / {comment}" if comment else "")
    return card[:80].ljust(80).encode("ascii")


def _header(cards: Iterable[bytes]) -> bytes:
    body = b"".join(cards) + b"END".ljust(80)
    return body + b" " * (-len(body) % BLOCK)


def _data(seed: int, name: str, index: int, nbytes: int) -> bytes:
    raw = hashlib.shake_128(f"reprocal.extras:{seed}:{name}:{index}".encode()).digest(nbytes)
    return raw + b"\0" * (-nbytes % BLOCK)


def fits_bytes(name: str, *, seed: int = 0, keywords: Sequence[tuple[str, object]] = (),
               tables: Sequence[tuple[str, int]] = (("DATA", 64),)) -> bytes:
    """A small, valid FITS file: a primary header with ``keywords``, then one binary table of
    ``rows`` 8-byte rows per ``(EXTNAME, rows)``, its bytes seeded."""
    out = [_header([_card("SIMPLE", True), _card("BITPIX", 8), _card("NAXIS", 0),
                    _card("EXTEND", True), *(_card(k, v) for k, v in keywords),
                    _card("CREATOR", "reprocal.testing", "synthetic")])]
    for i, (extname, rows) in enumerate(tables, start=1):
        out.append(_header([
            _card("XTENSION", "BINTABLE"), _card("BITPIX", 8), _card("NAXIS", 2),
            _card("NAXIS1", 8), _card("NAXIS2", rows), _card("PCOUNT", 0), _card("GCOUNT", 1),
            _card("TFIELDS", 1), _card("TTYPE1", "VALUE"), _card("TFORM1", "8B"),
            _card("EXTNAME", extname), *(_card(k, v) for k, v in keywords)]))
        out.append(_data(seed, name, i, 8 * rows))
    return b"".join(out)


# --- ESAS caldb -------------------------------------------------------------------------------


def caldb_file(name: str, *, seed: int = 0, version: int = 1) -> bytes:
    """One caldb file's bytes (gzip of a FITS file, mtime 0): ``version`` changes them."""
    camera = name.split("-", 1)[0].upper()
    ext = "MATRIX" if "diag" in name else "EVENTS"
    body = fits_bytes(f"{name}:v{version}", seed=seed,
                      keywords=[("TELESCOP", "XMM"), ("INSTRUME", camera)],
                      tables=[(ext, 96)])
    return gzip.compress(body, compresslevel=6, mtime=0)


def write_caldb(root: str | os.PathLike[str], *, seed: int = 0, top: str | None = None,
                changed: Sequence[str] = ()) -> Path:
    """An ESAS caldb tree in ``root`` (under ``top`` when given); the files of ``changed``
    get other bytes (a newer caldb); returns the directory holding the files."""
    where = Path(root) / top if top else Path(root)
    where.mkdir(parents=True, exist_ok=True)
    for name in CALDB_FILES:
        atomic_write(where / name, caldb_file(name, seed=seed, version=2 if name in changed else 1))
    return where


def caldb_tarball(path: str | os.PathLike[str], *, seed: int = 0, top: str = CALDB_TOP,
                  changed: Sequence[str] = (), compress: bool = True) -> Path:
    """The caldb as a tarball (``top/`` then its files; fixed mtime and owner): the same bytes
    for the same arguments."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        d = tarfile.TarInfo(top)
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, TAR_MTIME
        tar.addfile(d)
        for name in CALDB_FILES:
            data = caldb_file(name, seed=seed, version=2 if name in changed else 1)
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, TAR_MTIME
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    if compress:
        data = gzip.compress(data, compresslevel=6, mtime=0)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(Path(path), data)


# --- canned responses -------------------------------------------------------------------------


def response_names(*, mos_epochs: int = 14) -> list[str]:
    """The area's matrices, as paths (``PN/epn_e1_ff20_sY9.rmf``, ``MOS/m1_e1_im_pall_c.rmf``)."""
    out = [f"PN/epn_e{e}_{m}_{p}{r}.rmf" for e in PN_STARTS for m in PN_MODES
           for p in PN_PATTERNS for r in PN_ROWS]
    out += [f"MOS/{cam}_e{e}_{k}.rmf" for cam in ("m1", "m2") for e in range(1, mos_epochs + 1)
            for k in MOS_KINDS]
    return sorted(out)


def matrix_bytes(path: str, *, seed: int = 0, version: int = 1) -> bytes:
    """One matrix: OGIP-shaped (MATRIX, EBOUNDS), its ``CVSD0001`` its epoch's start."""
    name = path.rsplit("/", 1)[-1]
    camera, epoch = name.split("_")[:2]
    k = int(epoch[1:])
    start = PN_STARTS.get(k, "") if camera == "epn" else MOS_STARTS.get(k, "")
    instrume = {"epn": "EPN", "m1": "EMOS1", "m2": "EMOS2"}[camera]
    keywords: list[tuple[str, object]] = [
        ("TELESCOP", "XMM"), ("INSTRUME", instrume), ("HDUCLASS", "OGIP"),
        ("HDUCLAS1", "RESPONSE")]
    if start:
        keywords += [("CVSD0001", start), ("CVST0001", "00:00:00")]
    return fits_bytes(f"{path}:v{version}", seed=seed, keywords=keywords,
                      tables=[("MATRIX", 32), ("EBOUNDS", 8)])


def write_responses(root: str | os.PathLike[str], *, seed: int = 0, mos_epochs: int = 14,
                    changed: Sequence[str] = (), version: str = "synthetic-1") -> list[str]:
    """A canned-response area in ``root``: ``Version.txt`` and every matrix of
    :func:`response_names` (those in ``changed`` with other bytes); the paths written."""
    base = Path(root)
    paths = response_names(mos_epochs=mos_epochs)
    for rel in paths:
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(matrix_bytes(rel, seed=seed,
                                              version=2 if rel in changed else 1))
    (base / "Version.txt").write_text(f"canned responses {version} (synthetic, seed {seed})\n")
    return ["Version.txt", *paths]


def write_spectrum(path: str | os.PathLike[str], *, respfile: str, ancrfile: str = "NONE",
                   seed: int = 0, cif: str | os.PathLike[str] | None = None) -> Path:
    """A spectrum (a ``SPECTRUM`` extension with OGIP ``RESPFILE``/``ANCRFILE``) naming a
    matrix, as ``arfgen withrmfset=yes rmfset=...`` leaves one; with ``cif``, the CIF's
    ``CALINDEX`` extension follows, as SAS carries it into its products."""
    data = fits_bytes(os.fspath(path), seed=seed,
                      keywords=[("TELESCOP", "XMM"), ("INSTRUME", "EPN"),
                                ("RESPFILE", respfile), ("ANCRFILE", ancrfile)],
                      tables=[("SPECTRUM", 16)])
    if cif is not None:
        raw = Path(cif).read_bytes()
        at = 0
        while raw[at:at + 8] != b"END     ":  # the end of the CIF's primary header (no data)
            at += 80
        data += raw[(at // BLOCK + 1) * BLOCK:]
    return atomic_write(Path(path), data)


__all__ = ["CALDB_FILES", "CALDB_TOP", "MOS_STARTS", "PN_STARTS", "caldb_file", "caldb_tarball",
           "fits_bytes", "matrix_bytes", "response_names", "write_caldb", "write_responses",
           "write_spectrum"]
