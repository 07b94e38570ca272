"""Find one FITS extension by EXTNAME, reading nothing but headers on the way; atomic writes.

astropy's ``fits.open`` is lenient where reprocal must be exact: a file cut short can read as
"extension not found" or as a short table with only a warning. This walker reads the header
cards itself (a handful of structural keywords), skips every other HDU's data by seeking, and
says *truncated* whenever the file ends inside a header or inside data it needs. Only the
wanted HDU is handed to astropy. Plain and gzip-compressed files (``.gz``, ``.FTZ``) are read
the same way, recognised by their magic bytes, not their names.
"""

from __future__ import annotations

import gzip
import os
import warnings
import zlib
from collections.abc import Callable
from typing import IO, Any

from reprocal.errors import FitsFormatError
from reprocal.fs._atomic import atomic_file

BLOCK = 2880
CARD = 80
_GZIP_MAGIC = b"\x1f\x8b"
_STRUCTURE = (b"SIMPLE", b"XTENSION", b"BITPIX", b"NAXIS", b"PCOUNT", b"GCOUNT", b"GROUPS",
              b"EXTNAME")
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
    """The decompressed byte stream and, for a plain file, its size."""
    try:
        f: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as exc:
        raise FitsFormatError(f"cannot read: {exc.strerror or exc}", path=path) from None
    with f:
        magic = f.read(2)
    if magic == _GZIP_MAGIC:
        return gzip.open(path, "rb"), None  # type: ignore[return-value]
    f = open(path, "rb")  # noqa: SIM115
    return f, os.fstat(f.fileno()).st_size


def _parse_cards(block: bytes, found: dict[bytes, Any]) -> bool:
    """Pick the structural keywords out of one header block; True at the END card."""
    for start in range(0, BLOCK, CARD):
        card = block[start:start + CARD]
        key = card[:8].rstrip()
        if key == b"END":
            return True
        if card[8:10] != b"= " or not (key in _STRUCTURE or key.startswith(b"NAXIS")):
            continue
        value = card[10:].strip()
        if value.startswith(b"'"):
            end = value.find(b"'", 1)
            while end != -1 and value[end + 1:end + 2] == b"'":  # '' is an escaped quote
                end = value.find(b"'", end + 2)
            found[key] = value[1:end].replace(b"''", b"'").decode("ascii", "replace").strip()
        else:
            token = value.split(b"/", 1)[0].strip()
            if token in (b"T", b"F"):
                found[key] = token == b"T"
            else:
                try:
                    found[key] = int(token)
                except ValueError:
                    found[key] = token.decode("ascii", "replace")
    return False


def _data_size(found: dict[bytes, Any]) -> int:
    """Bytes of data (heap included, padding excluded) that the header announces."""
    naxis = found.get(b"NAXIS", 0)
    if not isinstance(naxis, int) or naxis == 0:
        return 0
    axes = [found.get(b"NAXIS%d" % i, 0) for i in range(1, naxis + 1)]
    if found.get(b"GROUPS") is True and axes[0] == 0:
        axes = axes[1:]  # random groups: NAXIS1 = 0 is not an axis
    count = 1
    for n in axes:
        count *= int(n)
    bitpix = abs(int(found.get(b"BITPIX", 8)))
    return bitpix // 8 * int(found.get(b"GCOUNT", 1)) * (int(found.get(b"PCOUNT", 0)) + count)


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
        try:
            f.seek(here + n)
        except EOFError:
            raise FitsFormatError("truncated: the compressed stream ends early", path=path,
                                  hint=_HINT_TRUNCATED) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise FitsFormatError(f"corrupt gzip compression ({exc})", path=path) from None
    return f.tell() - here


def find_table(path: str | os.PathLike[str], extname: str) -> Table:
    """The binary table ``EXTNAME = extname`` of a (possibly gzip-compressed) FITS file.

    Raises :class:`FitsFormatError`: not FITS, truncated, no such extension, not a table.
    """
    f, size = _open(path)
    with f:
        names: list[str] = []
        index = 0
        while True:
            blocks: list[bytes] = []
            found: dict[bytes, Any] = {}
            while True:
                block = _read(f, BLOCK, path)
                if not blocks:
                    if index == 0 and not block:
                        raise FitsFormatError("empty file, not FITS", path=path)
                    if index == 0 and not block.startswith(b"SIMPLE  ="):
                        raise FitsFormatError(
                            "not a FITS file (it does not start with SIMPLE =)", path=path,
                            hint="expected a CIF, an event list or a master index")
                    if index > 0 and not block.startswith(b"XTENSION="):
                        # The end of the file, or bytes after the last HDU (ignored, as
                        # astropy does).
                        raise _not_found(path, extname, names)
                if len(block) < BLOCK:
                    raise FitsFormatError(
                        f"truncated: the file ends inside the header of HDU #{index}",
                        path=path, hint=_HINT_TRUNCATED)
                blocks.append(block)
                if _parse_cards(block, found):
                    break
            name = str(found.get(b"EXTNAME", "PRIMARY" if index == 0 else "")).strip()
            names.append(name or f"#{index}")
            nbytes = _data_size(found)
            if index > 0 and name.upper() == extname.upper():
                return _table(path, b"".join(blocks), _read(f, nbytes, path), nbytes, index,
                              found)
            padded = -(-nbytes // BLOCK) * BLOCK
            if _skip(f, padded, size, path) < nbytes:
                raise FitsFormatError(
                    f"truncated: the file ends inside the data of HDU #{index} ({names[-1]})",
                    path=path, hint=_HINT_TRUNCATED)
            index += 1


def _not_found(path: str | os.PathLike[str], extname: str, names: list[str]) -> FitsFormatError:
    shown = ", ".join(names[:8]) + (f", ... ({len(names)} HDUs)" if len(names) > 8 else "")
    return FitsFormatError(
        f"no {extname} extension (HDUs: {shown})", path=path,
        hint="expected a CIF (ccf.cif), an event list, a master index or a *CALIND* product")


def _table(path: str | os.PathLike[str], header: bytes, data: bytes, nbytes: int, index: int,
           found: dict[bytes, Any]) -> Table:
    from astropy.io import fits
    from astropy.units import UnitsWarning

    if len(data) < nbytes:
        raise FitsFormatError(
            f"truncated: the file ends inside the data of HDU #{index} "
            f"({len(data)} of {nbytes} bytes)", path=path, hint=_HINT_TRUNCATED)
    if found.get(b"XTENSION") != "BINTABLE":
        raise FitsFormatError(
            f"HDU #{index} is not a binary table (XTENSION = {found.get(b'XTENSION')!r})",
            path=path)
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


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then rename it over ``path``.

    On any error the temporary file is removed and ``path`` is untouched.
    """
    with atomic_file(path, mode=0o644) as f:
        write(f)
