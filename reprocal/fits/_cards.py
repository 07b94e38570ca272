"""FITS headers as raw bytes: 2880-byte blocks of 80-character cards, ending at an ``END`` card.

The one header parser in reprocal, pure (bytes in, text out): the checksum engine
(:mod:`reprocal.fits._checksum`), the CALINDEX locator (:mod:`reprocal.fits._walk`) and the
primary-header readers (:mod:`reprocal.fits._headers`) all read headers through it. astropy is
used only to read table data and to write headers, never to find or check them.

Values are returned as text, exactly as written: strings unquoted (``''`` read as ``'``, trailing
blanks dropped, leading ones kept, as the FITS standard says), other values stripped of blanks
and of their ``/ comment``. Converting them (an integer, a date) is the caller's business.

>>> card = lambda text: text.ljust(CARD).encode()
>>> header = b"".join(card(c) for c in ("SIMPLE  =                    T / conforms",
...     "BITPIX  =                   16", "NAXIS   = 1", "NAXIS1  = 3", "OBJECT  = 'M 31  '", "END"))
>>> keywords(header)
{'SIMPLE': 'T', 'BITPIX': '16', 'NAXIS': '1', 'NAXIS1': '3', 'OBJECT': 'M 31'}
>>> data_size(structure(header)), padded(data_size(structure(header)))
(6, 2880)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

from reprocal.fs._limits import current_limits

BLOCK = 2880
"""Every FITS header, data unit and file is a whole number of 2880-byte blocks."""
CARD = 80
"""A header is a sequence of 80-character cards."""
END_CARD = b"END" + b" " * 77
"""The card that ends a header (blank after ``END``, as the standard requires)."""

_STRING = re.compile(rb"'((?:[^']|'')*)'")
_STRUCTURAL = {name.ljust(8).encode("ascii"): name for name in (
    "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "GROUPS", "EXTNAME", "TFIELDS",
    "CHECKSUM", "DATASUM", *(f"{n}{i}" for n in ("NAXIS", "TFORM") for i in range(1, 1000)))}
"""The keywords that say what an HDU is and how big, and carry its sums, by their 8-byte key
field."""


class HeaderError(ValueError):
    """A header that cannot be read to its end, or whose size keywords make no sense."""


def padded(nbytes: int) -> int:
    """``nbytes`` rounded up to whole blocks."""
    return -(-nbytes // BLOCK) * BLOCK


def end_card(header: bytes | bytearray, start: int = 0) -> int:
    """Offset of the ``END`` card at or after ``start`` (on a card boundary), or -1."""
    at = header.find(END_CARD, start)
    while at >= 0 and at % CARD:
        at = header.find(END_CARD, at + 1)
    return at


def read_header(first: bytes | memoryview, more: Callable[[], bytes | memoryview], *,
                limit: int | None = None) -> bytes:
    """The whole header that begins with the full block ``first``, reading further blocks with
    ``more()`` until the one that holds the ``END`` card.

    Raises :class:`HeaderError` ``truncated`` when a block comes short (the file ends inside the
    header), ``no END card`` when the next HDU's ``XTENSION`` starts where a block was due, and
    ``no END card within the header-size limit of N bytes`` past ``limit`` bytes (default: the
    ``header-size`` limit in force), so a header of gigabytes is never held.
    """
    if limit is None:
        limit = current_limits().header_size
    header = bytearray(first)
    while end_card(header, len(header) - BLOCK) < 0:
        if len(header) + BLOCK > limit:
            raise HeaderError(f"no END card within the header-size limit of {limit} bytes")
        block = more()
        if len(block) < BLOCK:
            raise HeaderError("truncated")
        if block[:9] == b"XTENSION=":
            raise HeaderError("no END card")
        header += block
    return bytes(header)


def card_value(card: bytes) -> str:
    """A card's value as text (see the module docstring); empty for a card without ``= ``."""
    if card[8:10] != b"= ":
        return ""
    rest = card[10:].lstrip()
    if rest[:1] == b"'":
        if b"''" in rest:  # an escaped quote: the regular expression finds where it ends
            m = _STRING.match(rest)
            text = m.group(1).replace(b"''", b"'") if m else rest[1:]
        else:  # the common case, without a regular expression (the engine's hot path)
            end = rest.find(b"'", 1)
            text = rest[1:end] if end > 0 else rest[1:]
        return text.decode("ascii", "replace").rstrip()
    return rest.split(b"/", 1)[0].strip().decode("ascii", "replace")


def keywords(header: bytes) -> dict[str, str]:
    """Every keyword of a raw header up to its ``END`` card (:func:`end_card`) and its value as
    text (the first occurrence wins; OGIP long strings continued with ``&`` and ``CONTINUE``
    cards are joined)."""
    out: dict[str, str] = {}
    last = ""
    end = end_card(header)
    for i in range(0, (end if end >= 0 else len(header)) - CARD + 1, CARD):
        field = header[i:i + 8]
        if field == b"CONTINUE" and last and out[last].endswith("&"):
            m = _STRING.match(header[i + 8:i + CARD].lstrip())
            if m:
                out[last] = out[last][:-1] + m.group(1).replace(b"''", b"'").decode(
                    "ascii", "replace").rstrip()
            continue
        if header[i + 8:i + 10] != b"= ":  # commentary and blank cards: no key decoded
            continue
        key = field.rstrip().decode("ascii", "replace")
        if key and key not in out:
            out[key] = card_value(header[i:i + CARD])
            last = key
    return out


def structure(header: bytes) -> dict[str, str]:
    """The structural keywords of a raw header (``SIMPLE``/``XTENSION``, ``BITPIX``, ``NAXIS*``,
    ``PCOUNT``, ``GCOUNT``, ``GROUPS``, ``EXTNAME``, ``TFIELDS``, ``TFORMn``, ``CHECKSUM``,
    ``DATASUM``) up to ``END``, exactly as :func:`keywords` reads them.

    The checksum engine's hot path: one dictionary lookup of each card's key field, a value
    parsed only for these (measured 2x faster than a regular-expression scan of the header).
    """
    end = end_card(header)
    found: dict[str, str] = {}
    for i in range(0, end if end >= 0 else len(header) - CARD + 1, CARD):
        key = _STRUCTURAL.get(header[i:i + 8])
        if key is not None and key not in found and header[i + 8:i + 10] == b"= ":
            found[key] = card_value(header[i:i + CARD])
    return found


def _int(keys: Mapping[str, str], key: str, default: int | None = None) -> int:
    raw = keys.get(key)
    if raw is None:
        if default is None:
            raise HeaderError(f"missing {key}")
        return default
    try:
        return int(raw)
    except ValueError:
        raise HeaderError(f"{key} = {raw}") from None


def data_size(keys: Mapping[str, str]) -> int:
    """Bytes of data (heap included, padding excluded) that an HDU's structural keywords announce
    (FITS 4.0 eq. 2): ``|BITPIX|/8 * GCOUNT * (PCOUNT + NAXIS1 * ... * NAXISn)``, random groups
    skipping ``NAXIS1 = 0``.

    Raises :class:`HeaderError` for a missing or impossible ``BITPIX``/``NAXIS``/``NAXISn`` or a
    negative count.
    """
    bitpix = _int(keys, "BITPIX")
    naxis = _int(keys, "NAXIS")
    if bitpix not in (8, 16, 32, 64, -32, -64):  # mandatory and checked even without data
        raise HeaderError(f"BITPIX = {bitpix}")
    if not 0 <= naxis <= 999:
        raise HeaderError(f"NAXIS = {naxis}")
    if naxis == 0:
        return 0
    dims = [_int(keys, f"NAXIS{i}") for i in range(1, naxis + 1)]
    gcount, pcount = _int(keys, "GCOUNT", 1), _int(keys, "PCOUNT", 0)
    if min(dims + [gcount, pcount, naxis]) < 0:
        raise HeaderError("negative NAXIS/NAXISn/PCOUNT/GCOUNT")
    if keys.get("GROUPS") == "T" and dims[0] == 0:  # random groups
        dims = dims[1:]
    return abs(bitpix) // 8 * gcount * (pcount + math.prod(dims))


_TFORM = re.compile(r"(\d*)([LXBIJKAEDCMPQ])(.*)")
_WIDTH = {"L": 1, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8, "C": 8, "M": 16,
          "P": 8, "Q": 16}
"""Bytes per element of each binary-table type (FITS 4.0 table 18; ``X`` counts bits)."""


EXTENSION_TYPES = frozenset({"IMAGE", "TABLE", "BINTABLE", "IUEIMAGE", "A3DTABLE", "FOREIGN",
                             "DUMP"})
"""The registered ``XTENSION`` values (FITS 4.0 section 3.4.1 and appendix F)."""


def hdu_problem(keys: Mapping[str, str]) -> str | None:
    """Why an HDU's structural keywords break a rule every reader relies on, or ``None``: a
    primary header says ``SIMPLE = T``, an extension's type is registered, a binary table's
    ``TFORMn`` describe its rows (:func:`table_problem`). The size keywords are
    :func:`data_size`'s business."""
    if "XTENSION" not in keys:
        simple = keys.get("SIMPLE")
        return None if simple == "T" else f"SIMPLE = {simple}: not standard FITS"
    xtension = keys["XTENSION"]
    if xtension not in EXTENSION_TYPES:
        return f"XTENSION = {xtension!r} is not a registered extension type"
    table = table_problem(keys)
    return None if table is None else f"not a readable binary table ({table})"


def table_problem(keys: Mapping[str, str]) -> str | None:
    """Why a ``BINTABLE`` header cannot describe its rows, or ``None``: ``TFIELDS`` must be a
    count, each ``TFORMn`` a binary-table format, and their widths must add up to ``NAXIS1``
    (FITS 4.0 section 7.3.1). Other extensions: ``None``."""
    if keys.get("XTENSION") != "BINTABLE":
        return None
    try:
        fields = int(keys.get("TFIELDS", ""))
    except ValueError:
        return f"TFIELDS = {keys.get('TFIELDS', '(missing)')}"
    width = 0
    for n in range(1, fields + 1):
        tform = keys.get(f"TFORM{n}", "").strip()
        m = _TFORM.fullmatch(tform.upper())
        if m is None:
            return f"TFORM{n} = {tform or '(missing)'}"
        repeat = int(m.group(1) or 1)
        width += -(-repeat // 8) if m.group(2) == "X" else repeat * _WIDTH[m.group(2)]
    if str(width) != keys.get("NAXIS1", "").strip():
        return f"the TFORMs add up to {width} bytes a row, NAXIS1 = {keys.get('NAXIS1')}"
    return None
