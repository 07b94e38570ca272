"""Stamping FITS outputs with their calibration, so the link survives if the record is lost.

Primary-header keywords (values are bare hex, so each fits on one 80-character card)::

    RPCALID  = the calibration id's digest: of the observation's state (one observation), else
               of the whole manifest's state
    RPCALSCH = the id's scheme and level (``rpcal:2:obs`` or ``rpcal:2:state``), so RPCALSCH:RPCALID
               is the id; absent in files stamped by reprocal 0.1, whose RPCALID is a v1 id
    RPMANIF  = sha256 of the manifest file
    RPCIF    = canonical rows digest of the CIF the command was given
    RPIMAGE  = digest of the container image the command ran in
    RPINVOC  = invocation id of the provenance record
    RPRECORD = file name of the provenance record
    RPVERS   = reprocal version

plus a ``HISTORY`` line saying the same in words. Every card keeps its whole comment: a value
too long to leave room for it (a 64-digit hex digest) is written in the OGIP long-string form
(``&`` then a ``CONTINUE`` card holding the comment, declared by ``LONGSTRN``). The cards that
were there (``SIMPLE``, ``BITPIX``, ``NAXIS``, ``EXTEND`` and the rest) keep their images,
comments included.

Stamping never corrupts a file: only the primary header is re-rendered (by astropy, with fresh
``CHECKSUM``/``DATASUM`` from the checksum engine, :mod:`reprocal.fits._checksum`, and no wall
clock in them: the same file stamped the same way gives the same bytes); every byte after it is
copied verbatim, so the data and the extensions' own checksums stay valid. The engine scans the
file first: one that is not well-formed FITS (truncated, bytes after its last HDU) is not
stamped; checksums that already fail are left failing. The result is written to a temp file
beside the original, scanned again (well-formed, HDU count, no checksum newly broken, stamp read
back), and only then renamed over it. On any error the original is untouched and the temp file
is removed.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import attrs

from reprocal.core._calid import CalibrationId
from reprocal.errors import FitsFormatError, InputError
from reprocal.fits._cards import CARD, keywords
from reprocal.fits._checksum import Scan, scan_file, with_checksums
from reprocal.fits._headers import read_primary_header
from reprocal.fs._atomic import atomic_file
from reprocal.fs._inputs import open_regular

KEYWORDS: dict[str, tuple[str, str]] = {
    # attribute: (keyword, comment: written whole, on a CONTINUE card when the value is long)
    "calibration_id": ("RPCALID", "reprocal calibration id, sha256 part (RPCALSCH:RPCALID)"),
    "manifest_digest": ("RPMANIF", "sha256 of the reprocal manifest file used"),
    "cif_digest": ("RPCIF", "sha256 rows digest of the CIF the command was given"),
    "image_digest": ("RPIMAGE", "sha256 digest of the calibration image used"),
    "invocation_id": ("RPINVOC", "invocation id of the provenance record"),
    "record": ("RPRECORD", "provenance record file, relative to this file"),
    "version": ("RPVERS", "reprocal version that stamped this file"),
}
_DIGESTS = ("manifest_digest", "cif_digest", "image_digest")
SCHEME_KEYWORD = ("RPCALSCH", "reprocal calibration id: scheme and level")
_FITS_MAGIC = b"SIMPLE  ="


def _digest(value: str | None) -> str | None:
    if value is None:
        return None
    return value if value.startswith("sha256:") else f"sha256:{value}"


def _calibration_id(value: str | None) -> str | None:
    """A calibration id in its text form; a bare hex digest is a reprocal 0.1 (v1) id."""
    if value is None:
        return None
    if ":" not in value:
        value = f"sha256:{value}"
    return str(CalibrationId.parse(value, field="RPCALID"))


@attrs.frozen
class Stamp:
    """What a stamp says; digests are ``sha256:<hex>``."""

    calibration_id: str | None = attrs.field(default=None, converter=_calibration_id)
    """The calibration id (``rpcal:2:obs:<hex>``; ``sha256:<hex>`` in a reprocal 0.1 stamp)."""
    manifest_digest: str | None = attrs.field(default=None, converter=_digest)
    """sha256 of the manifest file's bytes."""
    cif_digest: str | None = attrs.field(default=None, converter=_digest)
    """Rows digest of the CIF, for runs without a manifest."""
    image_digest: str | None = attrs.field(default=None, converter=_digest)
    """The image the command ran in."""
    invocation_id: str | None = None
    """The provenance record's invocation id."""
    record: str | None = None
    """The provenance record's file name."""
    version: str = ""
    """reprocal version."""

    def cards(self) -> list[tuple[str, str, str]]:
        """``(keyword, value, comment)`` for every attribute that is set."""
        out = []
        for attr, (key, comment) in KEYWORDS.items():
            value = getattr(self, attr)
            if value:
                if attr in _DIGESTS:
                    value = value.split(":", 1)[1]
                if attr == "calibration_id":
                    cid = CalibrationId.parse(value)
                    value = cid.hex
                    if not cid.is_v1:
                        out.append((SCHEME_KEYWORD[0], f"rpcal:{cid.version}:{cid.level}",
                                    SCHEME_KEYWORD[1]))
                out.append((key, str(value), comment))
        return out

    def history(self) -> str:
        what = self.calibration_id or (f"CIF rows {self.cif_digest}" if self.cif_digest else "none")
        text = f"reprocal {self.version}: made with calibration {what}"
        if self.image_digest:
            text += f" in image {self.image_digest}"
        if self.record:
            text += f"; record {self.record}"
        return text


def is_fits(path: str | os.PathLike[str]) -> bool:
    """An uncompressed FITS file (compressed products are never stamped)."""
    try:
        with open_regular(path) as f:
            return f.read(len(_FITS_MAGIC)) == _FITS_MAGIC
    except OSError:
        return False


def _stamp_from_header(header: Mapping[str, object]) -> Stamp | None:
    values: dict[str, str] = {}
    for attr, (key, _comment) in KEYWORDS.items():
        if key in header and str(header[key]).strip():
            values[attr] = str(header[key]).strip()
    if not values:
        return None
    scheme = str(header.get(SCHEME_KEYWORD[0], "")).strip()
    if scheme and "calibration_id" in values:
        values["calibration_id"] = f"{scheme}:{values['calibration_id']}"
    try:
        return Stamp(**values)
    except InputError as exc:
        raise FitsFormatError(f"its reprocal stamp is malformed: {exc.message}") from None


def read_stamp(path: str | os.PathLike[str]) -> Stamp | None:
    """The stamp in a FITS file's primary header, or ``None`` when it has none."""
    try:
        return _stamp_from_header(read_primary_header(path))
    except FitsFormatError as exc:
        if exc.path:
            raise
        raise FitsFormatError(exc.message, path=path) from None


def card_image(key: str, value: str, comment: str) -> str:
    """A string-valued card with its whole comment: one 80-character card when both fit, else
    the OGIP long-string form (value ended by ``&``, the comment on a ``CONTINUE`` card; FITS
    4.0 section 4.2.1.2), which astropy, cfitsio and :func:`reprocal.fits._cards.keywords` read
    back as the same value and comment. Values here have no quotes to escape.

    >>> len(card_image("RPVERS", "0.2", "reprocal version"))
    80
    >>> card = card_image("RPCALID", "a" * 64, "calibration id: sha256 part")
    >>> len(card), card[80:].rstrip()
    (160, "CONTINUE  '' / calibration id: sha256 part")
    """
    value_text = f"'{value:<8}'"
    one = f"{key:<8}= {value_text:<20} / {comment}"
    if len(one) <= CARD:
        return one.ljust(CARD)
    return (f"{key:<8}= '{value}&'".ljust(CARD) + f"CONTINUE  '' / {comment}".ljust(CARD))


def _scan(path: Path) -> Scan:
    """The checksum engine's pass over a file that is about to be (or was just) stamped."""
    try:
        return scan_file(path)
    except OSError as exc:
        raise FitsFormatError(f"cannot read: {exc.strerror or exc}", path=path) from None


def _restamped_primary(path: Path, before: Scan, stamp: Stamp) -> bytes:
    """The new primary HDU: its header re-rendered with the stamp and fresh checksums, its data
    unit the original bytes."""
    from astropy.io import fits

    with open(path, "rb") as f:
        f.seek(len(before.primary))
        data = f.read(before.primary_end - len(before.primary))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = fits.Header.fromstring(before.primary)
        for key, _comment in (*KEYWORDS.values(), SCHEME_KEYWORD):
            header.remove(key, ignore_missing=True, remove_all=True)
        cards = stamp.cards()
        if any(len(card_image(*c)) > CARD for c in cards) and "LONGSTRN" not in header:
            header["LONGSTRN"] = ("OGIP 1.0", "CONTINUE long string convention may be used")
        for key, value, comment in cards:
            # appended as rendered here: a card astropy parsed keeps its image
            header.append(fits.Card.fromstring(card_image(key, value, comment)))
        header.add_history(stamp.history())
        return with_checksums(header, data) + data


def _check(tmp: Path, original: Path, stamp: Stamp, before: Scan) -> None:
    """Scan the written copy: well-formed, every HDU present, no checksum broken that held in
    the original, the stamp readable."""
    after = _scan(tmp)
    if after.broken:
        raise FitsFormatError(f"stamped copy is damaged ({after.broken}); original kept",
                              path=original)
    if after.hdus != before.hdus:
        raise FitsFormatError(f"stamped copy has {after.hdus} HDUs, expected {before.hdus}; "
                              "original kept", path=original)
    new = [f for f in after.failed if f not in before.failed]
    if new:
        raise FitsFormatError(f"stamped copy fails its checksum ({new[0]}); original kept",
                              path=original)
    if _stamp_from_header(keywords(after.primary)) != stamp:
        raise FitsFormatError("stamp did not read back; original kept", path=original)


def stamp_file(path: str | os.PathLike[str], stamp: Stamp) -> Path:
    """Stamp one FITS file in place, atomically; the original is untouched on any error."""
    target = Path(path)
    if not is_fits(target):
        raise FitsFormatError("not an uncompressed FITS file; not stamped", path=target)
    if not target.stat().st_mode & 0o222:  # whoever made it read-only meant it (root too)
        raise FitsFormatError("read-only; not stamped", path=target,
                              hint="make it writable (chmod u+w) and stamp it again, or run "
                                   "with --no-stamp")
    before = _scan(target)
    if before.broken:
        raise FitsFormatError(f"{before.broken}; not stamped", path=target,
                              hint="re-run the step that wrote it")
    try:
        primary = _restamped_primary(target, before, stamp)
    except Exception as exc:  # astropy raises many types on a header it cannot re-render
        raise FitsFormatError(f"cannot stamp ({type(exc).__name__}: {exc})", path=target) from None
    mode = target.stat().st_mode & 0o7777
    with atomic_file(target, mode=mode) as out, open(target, "rb") as src:
        out.write(primary)
        src.seek(before.primary_end)
        while block := src.read(1 << 20):
            out.write(block)
        out.flush()
        try:
            _check(Path(out.name), target, stamp, before)
        except FitsFormatError:
            raise
        except Exception as exc:
            raise FitsFormatError(f"stamped copy failed its check ({exc}); original kept",
                                  path=target) from None
    return target


__all__ = ["KEYWORDS", "Stamp", "is_fits", "read_stamp", "stamp_file"]
