"""Find one FITS extension by EXTNAME, reading nothing but headers on the way.

astropy's ``fits.open`` is lenient where reprocal must be exact: a file cut short can read as
"extension not found" or as a short table with only a warning. This walker reads each header
with the one header parser (:mod:`reprocal.fits._cards`: its structural keywords and data size),
skips every other HDU's data by seeking, and says *truncated* whenever the file ends inside a
header or inside data it needs. Only the wanted HDU is handed to astropy. Plain and
gzip-compressed files (``.gz``, ``.FTZ``) are read the same way, recognised by their magic
bytes, not their names.
"""

from __future__ import annotations

import gzip
import os
import warnings
import zlib
from collections.abc import Iterator, Mapping
from typing import IO, Any

import attrs

from reprocal.errors import FitsFormatError
from reprocal.fits._cards import (
    BLOCK,
    HeaderError,
    data_size,
    keywords,
    padded,
    read_header,
    structure,
)
from reprocal.fs._inputs import open_input
from reprocal.fs._limits import current_limits

_GZIP_MAGIC = b"\x1f\x8b"
_HINT_TRUNCATED = "the file is incomplete; copy or download it again"


class Table:
    """One binary table HDU: its header (an astropy Header) and its rows, parsed on demand."""

    def __init__(self, header: Any, hdu: Any):
        self.header = header
        self._hdu = hdu
        self.nrows: int = int(header.get("NAXIS2", 0))

    def columns(self) -> list[str]:
        """Column names, upper case, stripped, in table order."""
        return [str(n).strip().upper() for n in self._hdu.columns.names]

    def column(self, name: str) -> list[Any]:
        """One column as a list of Python values (strings stripped of trailing blanks)."""
        data = self._hdu.data
        if data is None:
            return []
        values = data.field(name)
        return [v.decode("ascii", "replace") if isinstance(v, bytes) else v
                for v in values.tolist()]


def _open(path: str | os.PathLike[str]) -> tuple[IO[bytes], int | None]:
    """The decompressed byte stream and, for a plain file, its size. Only a regular file is
    opened (a FIFO or a device is refused before a byte is read)."""
    f: IO[bytes] = open_input(path, what="FITS file", error=FitsFormatError)
    magic = f.read(2)
    f.seek(0)
    if magic == _GZIP_MAGIC:
        g = gzip.GzipFile(fileobj=f, mode="rb")
        g.myfileobj = f  # type: ignore[assignment]  # closed with it, as gzip.open does
        return g, None  # type: ignore[return-value]
    return f, os.fstat(f.fileno()).st_size


def _read(f: IO[bytes], n: int, path: str | os.PathLike[str]) -> bytes:
    try:
        return f.read(n)
    except EOFError:
        raise FitsFormatError("truncated: the compressed stream ends early", path=path,
                              hint=_HINT_TRUNCATED) from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise FitsFormatError(f"corrupt gzip compression ({exc})", path=path) from None


def _skip(f: IO[bytes], n: int, size: int | None, path: str | os.PathLike[str]) -> int:
    """Skip ``n`` bytes; return how many were there."""
    here = f.tell()
    if size is not None:
        f.seek(min(here + n, size))
    else:
        limit = current_limits().unpacked_size
        if here + n > limit:
            raise FitsFormatError(
                f"the compressed file announces more than the unpacked-size limit of {limit} "
                "bytes", path=path, hint="raise it with --limit unpacked-size=SIZE if genuine")
        try:
            f.seek(here + n)
        except EOFError:
            raise FitsFormatError("truncated: the compressed stream ends early", path=path,
                                  hint=_HINT_TRUNCATED) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise FitsFormatError(f"corrupt gzip compression ({exc})", path=path) from None
    return f.tell() - here


@attrs.frozen
class Column:
    """One column of a binary or ASCII table, as its header describes it."""

    name: str
    format: str
    unit: str = ""
    dim: str = ""


@attrs.frozen
class Hdu:
    """One HDU, as its header describes it (nothing of its data is read)."""

    index: int
    name: str
    """``EXTNAME`` (``PRIMARY`` for the first HDU, ``#<index>`` when unnamed)."""
    kind: str
    """``PRIMARY``, or the ``XTENSION`` value (``BINTABLE``, ``IMAGE``, ...)."""
    rows: int
    """``NAXIS2`` of a table; 0 otherwise."""
    shape: tuple[int, ...]
    """``NAXIS1..n`` of an image (empty for a table or an empty HDU)."""
    columns: tuple[Column, ...]
    nbytes: int
    """Bytes of data, padding excluded."""


@attrs.define
class _Found:
    index: int
    header: bytes
    found: Mapping[str, str]
    name: str
    nbytes: int
    taken: bool = False


def _hdus(path: str | os.PathLike[str], f: IO[bytes], size: int | None) -> Iterator[_Found]:
    """Each HDU's header in turn; its data is skipped unless the caller read it (``taken``)."""
    index = 0
    while True:
        block = _read(f, BLOCK, path)
        if index == 0 and not block:
            raise FitsFormatError("empty file, not FITS", path=path)
        if index == 0 and not block.startswith(b"SIMPLE  ="):
            raise FitsFormatError(
                "not a FITS file (it does not start with SIMPLE =)", path=path,
                hint="expected a CIF, an event list or a master index")
        if index > 0 and not block.startswith(b"XTENSION="):
            return  # the end of the file, or bytes after the last HDU (ignored, as astropy does)
        try:
            if len(block) < BLOCK:
                raise HeaderError("truncated")
            header = read_header(block, lambda: _read(f, BLOCK, path))
        except HeaderError as exc:
            where = f"the header of HDU #{index}"
            if str(exc) == "truncated":
                raise FitsFormatError(f"truncated: the file ends inside {where}", path=path,
                                      hint=_HINT_TRUNCATED) from None
            raise FitsFormatError(f"{where} has {exc}", path=path) from None
        found = structure(header)
        name = found.get("EXTNAME", "PRIMARY" if index == 0 else "").strip() or f"#{index}"
        try:
            nbytes = data_size(found)
        except HeaderError as exc:
            raise FitsFormatError(f"HDU #{index} ({name}): bad size keywords ({exc})",
                                  path=path) from None
        hdu = _Found(index, header, found, name, nbytes)
        yield hdu
        if not hdu.taken and _skip(f, padded(nbytes), size, path) < nbytes:
            raise FitsFormatError(
                f"truncated: the file ends inside the data of HDU #{index} ({name})",
                path=path, hint=_HINT_TRUNCATED)
        index += 1


def find_table(path: str | os.PathLike[str], extname: str | int) -> Table:
    """The binary table ``EXTNAME = extname`` (any case), or the HDU numbered ``extname``, of a
    (possibly gzip-compressed) FITS file.

    Raises :class:`FitsFormatError`: not FITS, truncated, no such extension, not a table.
    """
    f, size = _open(path)
    with f:
        names: list[str] = []
        for hdu in _hdus(path, f, size):
            names.append(hdu.name)
            wanted = (hdu.index == extname if isinstance(extname, int)
                      else hdu.index > 0 and hdu.name.upper() == extname.upper())
            if wanted:
                if hdu.index == 0:
                    raise FitsFormatError("HDU #0 is the primary HDU, not a table", path=path)
                _check_table_size(path, f, size, hdu.nbytes, hdu.index, hdu.name)
                hdu.taken = True
                return _table(path, hdu.header, _read(f, hdu.nbytes, path), hdu.nbytes,
                              hdu.index, hdu.found)
        raise _not_found(path, str(extname) if isinstance(extname, str) else f"#{extname}",
                         names)


def primary_keywords(path: str | os.PathLike[str]) -> dict[str, str]:
    """The primary header's keywords (values as written, strings unquoted) of a (possibly
    gzip-compressed) FITS file; nothing past that header is read."""
    f, _size = _open(path)
    with f:
        for hdu in _hdus(path, f, None):
            hdu.taken = True  # nothing after it is read
            return keywords(hdu.header)
    return {}  # pragma: no cover - _hdus raises on a file without a primary header


def list_hdus(path: str | os.PathLike[str]) -> list[Hdu]:
    """Every HDU of a (possibly gzip-compressed) FITS file, from its headers alone."""
    f, size = _open(path)
    out = []
    with f:
        for hdu in _hdus(path, f, size):
            keys = keywords(hdu.header)
            kind = "PRIMARY" if hdu.index == 0 else keys.get("XTENSION", "").strip() or "?"
            table = kind in ("BINTABLE", "TABLE")
            columns: list[Column] = []
            if table:
                try:
                    fields = int(keys.get("TFIELDS", "0"))
                except ValueError:
                    raise FitsFormatError(f"HDU #{hdu.index} ({hdu.name}): TFIELDS = "
                                          f"{keys.get('TFIELDS')!r} is not a count",
                                          path=path) from None
                columns = [Column(keys.get(f"TTYPE{n}", f"col{n}").strip(),
                                  keys.get(f"TFORM{n}", "").strip(),
                                  keys.get(f"TUNIT{n}", "").strip(),
                                  keys.get(f"TDIM{n}", "").strip())
                           for n in range(1, min(fields, MAX_FIELDS) + 1)]
            naxis = int(hdu.found.get("NAXIS", "0") or 0)
            dims = tuple(int(hdu.found.get(f"NAXIS{n}", "0") or 0) for n in range(1, naxis + 1))
            out.append(Hdu(hdu.index, hdu.name, kind,
                           dims[1] if table and len(dims) > 1 else 0,
                           () if table else dims, tuple(columns), hdu.nbytes))
    return out


def header_keywords(path: str | os.PathLike[str], *, hdus: int = 16) -> list[dict[str, str]]:
    """The keywords (:func:`reprocal.fits._cards.keywords`) of the first ``hdus`` HDUs'
    headers, in order, reading nothing but headers (data is skipped by seeking).

    Raises :class:`FitsFormatError`: not FITS, a header cut short, bad size keywords; a file
    ending after a complete HDU simply ends the list.
    """
    f, size = _open(path)
    out: list[dict[str, str]] = []
    with f:
        while len(out) < hdus:
            block = _read(f, BLOCK, path)
            if not out and not block.startswith(b"SIMPLE  ="):
                raise FitsFormatError("not a FITS file (it does not start with SIMPLE =)",
                                      path=path)
            if out and not block.startswith(b"XTENSION="):
                break
            try:
                if len(block) < BLOCK:
                    raise HeaderError("truncated")
                header = read_header(block, lambda: _read(f, BLOCK, path))
                nbytes = data_size(structure(header))
            except HeaderError as exc:
                raise FitsFormatError(f"the header of HDU #{len(out)} has {exc}"
                                      if str(exc) != "truncated" else
                                      f"truncated: the file ends inside the header of HDU "
                                      f"#{len(out)}", path=path) from None
            out.append(keywords(header))
            if _skip(f, padded(nbytes), size, path) < nbytes:
                break
    return out


def _check_table_size(path: str | os.PathLike[str], f: IO[bytes], size: int | None, nbytes: int,
                      index: int, name: str) -> None:
    """Refuse, before allocating it, a table whose announced size the file cannot hold or that
    is past the ``table-size`` limit (a header claiming 10^15 rows)."""
    if size is not None and nbytes > size - f.tell():
        raise FitsFormatError(
            f"truncated: the file ends inside the data of HDU #{index} "
            f"({max(0, size - f.tell())} of {nbytes} bytes)", path=path, hint=_HINT_TRUNCATED)
    limit = current_limits().table_size
    if nbytes > limit:
        raise FitsFormatError(
            f"HDU #{index} ({name}) announces {nbytes} bytes of data, more than the table-size "
            f"limit of {limit}", path=path, hint="raise it with --limit table-size=SIZE if genuine")


def _not_found(path: str | os.PathLike[str], extname: str, names: list[str]) -> FitsFormatError:
    shown = ", ".join(names[:8]) + (f", ... ({len(names)} HDUs)" if len(names) > 8 else "")
    return FitsFormatError(
        f"no {extname} extension (HDUs: {shown})", path=path,
        hint="expected a CIF (ccf.cif), an event list, a master index or a *CALIND* product")


MAX_FIELDS = 999
"""The most columns a FITS table may have (``TFIELDS``)."""


def _table(path: str | os.PathLike[str], header: bytes, data: bytes, nbytes: int, index: int,
           found: Mapping[str, str]) -> Table:
    from astropy.io import fits
    from astropy.units import UnitsWarning

    if len(data) < nbytes:
        raise FitsFormatError(
            f"truncated: the file ends inside the data of HDU #{index} "
            f"({len(data)} of {nbytes} bytes)", path=path, hint=_HINT_TRUNCATED)
    if found.get("XTENSION") != "BINTABLE":
        raise FitsFormatError(
            f"HDU #{index} is not a binary table (XTENSION = {found.get('XTENSION')!r})",
            path=path)
    # astropy sizes its column list by TFIELDS before reading a column: a damaged TFIELDS of
    # 10^19 made it allocate until the kernel killed the process. The standard allows 999.
    fields = keywords(header).get("TFIELDS", "").strip()
    if not (fields.isascii() and fields.isdigit() and int(fields) <= MAX_FIELDS):
        raise FitsFormatError(f"HDU #{index}: TFIELDS = {fields!r} is not a number of columns "
                              f"(0..{MAX_FIELDS})", path=path)
    padding = b"\0" * (-len(data) % BLOCK)
    with warnings.catch_warnings():
        # cifbuild's date unit 'yyyy:dd:mmZhh:mm:ss' is not a unit astropy knows.
        warnings.simplefilter("ignore", UnitsWarning)
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        try:
            hdu = fits.BinTableHDU.fromstring(header + data + padding)
            hdu.data  # noqa: B018 - parse the TFORMs and rows now, inside the error handling
        except Exception as exc:  # astropy raises many types on a malformed table header
            raise FitsFormatError(
                f"HDU #{index} is not a readable binary table ({type(exc).__name__}: {exc})",
                path=path) from None
    return Table(hdu.header, hdu)
