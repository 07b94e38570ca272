"""Stamping FITS outputs: checksums stay valid, extensions untouched, atomic, readable back."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import attrs
import numpy as np
import pytest
from astropy.io import fits

from reprocal.errors import FitsFormatError, LocalIOError
from reprocal.fits._checksum import scan_file
from reprocal.fits._stamp import Stamp, read_stamp, stamp_file

STAMP = Stamp(calibration_id="sha256:" + "a1" * 32, manifest_digest="b2" * 32,
              image_digest="sha256:" + "c3" * 32, invocation_id="inv-1",
              record="pn.fits.prov.json", version="0.1.0")


def _product(path: Path, *, checksum: bool = True) -> Path:
    """A small event-list-like file: empty primary, one EVENTS table."""
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = "XMM"
    primary.header.add_history("Created by epevents")
    cols = fits.ColDefs([fits.Column("TIME", "D", array=np.arange(5.0)),
                         fits.Column("PI", "J", array=np.arange(5) * 100)])
    events = fits.BinTableHDU.from_columns(cols, name="EVENTS")
    fits.HDUList([primary, events]).writeto(path, checksum=checksum)
    return path


def _verified(path: Path) -> fits.HDUList:
    """Open with checksum verification, any warning (a bad checksum) an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hdul = fits.open(path, checksum=True)
        hdul.verify("exception")
    return hdul


def test_stamp_keeps_checksums_valid(tmp_path: Path) -> None:
    """After stamping astropy verifies every CHECKSUM/DATASUM; the stamp reads back."""
    p = _product(tmp_path / "pn.fits")
    stamp_file(p, STAMP)
    with _verified(p) as hdul:
        h = hdul[0].header
        assert h["RPCALID"] == "a1" * 32
        assert h["RPMANIF"] == "b2" * 32
        assert h["RPIMAGE"] == "c3" * 32
        assert h["RPVERS"] == "0.1.0"
        assert "CHECKSUM" in h and "DATASUM" in h
        history = "".join(str(x) for x in h["HISTORY"])
        assert STAMP.history() in history
        assert STAMP.history().startswith("reprocal 0.1.0: made with calibration sha256:a1")
        assert list(hdul[1].data["PI"]) == [0, 100, 200, 300, 400]
    assert read_stamp(p) == STAMP


def test_extensions_are_copied_byte_for_byte(tmp_path: Path) -> None:
    """Only the primary HDU changes: everything after it is the original bytes."""
    p = _product(tmp_path / "pn.fits")
    before = p.read_bytes()
    with fits.open(p) as hdul:
        start = hdul.fileinfo(1)["hdrLoc"]
    stamp_file(p, STAMP)
    after = p.read_bytes()
    with fits.open(p) as hdul:
        new_start = hdul.fileinfo(1)["hdrLoc"]
    assert after[new_start:] == before[start:]


def test_restamp_replaces_keywords(tmp_path: Path) -> None:
    """Stamping twice leaves one set of keywords (the second), history accumulates."""
    p = _product(tmp_path / "pn.fits")
    stamp_file(p, STAMP)
    second = Stamp(calibration_id="sha256:" + "d4" * 32, version="0.2.0")
    stamp_file(p, second)
    assert read_stamp(p) == second
    h = fits.getheader(p)
    assert list(h.keys()).count("RPCALID") == 1
    assert "RPIMAGE" not in h


def test_unstamped_file_reads_none(tmp_path: Path) -> None:
    """A file without stamp keywords has no stamp."""
    assert read_stamp(_product(tmp_path / "pn.fits")) is None


def test_file_without_checksums_gets_primary_checksum(tmp_path: Path) -> None:
    """A product written without checksums is stamped with a valid primary CHECKSUM."""
    p = _product(tmp_path / "pn.fits", checksum=False)
    stamp_file(p, STAMP)
    scan = scan_file(p)
    assert (scan.problem, scan.hdus, scan.unchecked, read_stamp(p)) == (
        None, 2, ("HDU 1 (EVENTS)",), STAMP)
    assert "CHECKSUM" in fits.getheader(p)
    with _verified(p):
        pass


@pytest.mark.parametrize(("content", "message"), [
    (b"not fits at all", "not an uncompressed FITS file; not stamped"),
    (b"\x1f\x8b\x08\x00compressed", "not an uncompressed FITS file; not stamped"),
])
def test_refuses_non_fits(tmp_path: Path, content: bytes, message: str) -> None:
    """Text and gzip files are refused, untouched."""
    p = tmp_path / "x.fits"
    p.write_bytes(content)
    with pytest.raises(FitsFormatError) as exc:
        stamp_file(p, STAMP)
    assert exc.value.one_line() == f"{p}: {message}"
    assert p.read_bytes() == content


def test_failure_leaves_original_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the stamped copy fails its check, the original bytes stay and no temp file is left."""
    p = _product(tmp_path / "pn.fits")
    before = p.read_bytes()

    def lossy(path, **kw):  # type: ignore[no-untyped-def]
        scan = scan_file(path, **kw)  # the copy scans as if an HDU had been lost
        return scan if Path(path) == p else attrs.evolve(scan, extnames=())

    monkeypatch.setattr("reprocal.fits._stamp.scan_file", lossy)
    with pytest.raises(FitsFormatError) as exc:
        stamp_file(p, STAMP)
    assert exc.value.one_line() == f"{p}: stamped copy has 1 HDUs, expected 2; original kept"
    assert p.read_bytes() == before
    assert [x.name for x in tmp_path.iterdir()] == ["pn.fits"]


def test_rename_failure_leaves_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing rename (e.g. read-only directory) keeps the original and cleans up."""
    p = _product(tmp_path / "pn.fits")
    before = p.read_bytes()

    def boom(*a: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("reprocal.fits._stamp.os.replace", boom)
    with pytest.raises(LocalIOError, match=r": cannot write: (No space left on device|Read-only file system); "):
        stamp_file(p, STAMP)
    assert p.read_bytes() == before
    assert [x.name for x in tmp_path.iterdir()] == ["pn.fits"]


def test_keeps_file_mode(tmp_path: Path) -> None:
    """The stamped file keeps the original permissions."""
    p = _product(tmp_path / "pn.fits")
    p.chmod(0o640)
    stamp_file(p, STAMP)
    assert p.stat().st_mode & 0o777 == 0o640


def test_real_event_list(samples: Path, tmp_path: Path) -> None:
    """The real SAS event list (32 HDUs) stamps with every checksum valid."""
    p = tmp_path / "evts.fits"
    shutil.copyfile(samples / "0201901401" / "mos1_exp1_clean_evts.fits", p)
    p.chmod(0o644)
    before = scan_file(p)
    stamp_file(p, STAMP)
    after = scan_file(p)
    assert (before.problem, before.hdus, len(before.unchecked)) == (None, 32, 32)
    assert (after.problem, after.hdus, after.unchecked) == (None, 32, before.unchecked[1:])
    assert read_stamp(p) == STAMP
    with _verified(p) as hdul:
        assert hdul["CALINDEX"].header["ANALDATE"] == "2015-01-26T11:36:21"


def test_same_file_same_stamp_same_bytes(tmp_path: Path) -> None:
    """No wall clock in the checksum comments: stamping two copies of a file the same way gives
    the same bytes."""
    a = _product(tmp_path / "a.fits")
    b = tmp_path / "b.fits"
    shutil.copyfile(a, b)
    stamp_file(a, STAMP)
    stamp_file(b, STAMP)
    assert a.read_bytes() == b.read_bytes()
    assert "HDU checksum" == fits.getheader(a).comments["CHECKSUM"]


def test_primary_data_is_kept_byte_for_byte(tmp_path: Path) -> None:
    """A product with an image in its primary HDU: the header changes, the image bytes and
    everything after them do not, and every checksum verifies."""
    p = tmp_path / "img.fits"
    image = np.arange(3000, dtype=">i2").reshape(50, 60)
    fits.HDUList([fits.PrimaryHDU(image), fits.ImageHDU(image[:5], name="SMALL")]).writeto(
        p, checksum=True)
    before = p.read_bytes()
    with fits.open(p) as hdul:
        start = hdul.fileinfo(0)["datLoc"]
    stamp_file(p, STAMP)
    with _verified(p) as hdul:
        new_start = hdul.fileinfo(0)["datLoc"]
        assert (hdul[0].data == image).all()
    assert p.read_bytes()[new_start:] == before[start:]


def _cut(raw: bytes) -> bytes:
    return raw[:-1000]


@pytest.mark.parametrize(("damage", "message"), [
    (_cut, "truncated: HDU 1 (EVENTS) needs 8640 bytes, the file has 7640"),
    (lambda raw: raw + b"junk" * 10, "40 bytes after the last HDU are not an extension"),
    (lambda raw: raw[:2880 + 1000], "truncated in the header of HDU 1"),
])
def test_damaged_product_is_not_stamped(tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    """A product the checksum engine finds damaged is left untouched with the reason. (The
    astropy-based check stamping used before stamped the last two, and refused the first as
    'stamped copy has 1 HDUs'.)"""
    p = _product(tmp_path / "pn.fits")
    p.write_bytes(damage(p.read_bytes()))
    before = p.read_bytes()
    with pytest.raises(FitsFormatError) as exc:
        stamp_file(p, STAMP)
    assert exc.value.one_line() == f"{p}: {message}; not stamped; re-run the step that wrote it"
    assert p.read_bytes() == before
    assert [x.name for x in tmp_path.iterdir()] == ["pn.fits"]


def test_checksum_already_failing_is_stamped_and_still_fails(tmp_path: Path) -> None:
    """A byte changed in an extension's header before stamping: its checksum failed and still
    fails (stamping neither hides nor adds a failure); the primary is stamped and valid."""
    p = _product(tmp_path / "pn.fits")
    raw = bytearray(p.read_bytes())
    at = raw.index(b"END" + b" " * 77, 2880) + 200
    raw[at] = ord("!")
    p.write_bytes(bytes(raw))
    stamp_file(p, STAMP)
    assert scan_file(p).failed == ("HDU 1 (EVENTS) CHECKSUM mismatch",)
    assert read_stamp(p) == STAMP


def test_original_cards_keep_their_comments(tmp_path: Path) -> None:
    """SIMPLE/BITPIX/NAXIS/EXTEND (and the other cards) keep their exact images, own comments
    included, for an image primary too."""
    p = tmp_path / "img.fits"
    primary = fits.PrimaryHDU(np.arange(6, dtype=np.int16).reshape(2, 3))
    for key, comment in (("SIMPLE", "written by epproc"), ("BITPIX", "16-bit ints"),
                         ("NAXIS", "an image"), ("NAXIS1", "columns"), ("EXTEND", "tables follow")):
        primary.header.comments[key] = comment
    fits.HDUList([primary, fits.BinTableHDU.from_columns(
        [fits.Column("X", "J", array=np.arange(3))], name="EVENTS")]).writeto(p)
    before = scan_file(p).primary
    stamp_file(p, STAMP)
    after = scan_file(p).primary
    cards = [before[i:i + 80] for i in range(0, 6 * 80, 80)]
    assert cards[0].startswith(b"SIMPLE  =") and b"written by epproc" in cards[0]
    assert after.startswith(b"".join(cards))
    with _verified(p) as hdul:
        assert hdul[0].header.comments["EXTEND"] == "tables follow"


def test_stamp_keywords_have_full_comments(tmp_path: Path) -> None:
    """Each RP* keyword carries its whole comment (a long value continues onto a CONTINUE card),
    as astropy reads it; the values read back unchanged."""
    from reprocal.fits._stamp import KEYWORDS, SCHEME_KEYWORD

    p = _product(tmp_path / "pn.fits")
    stamp_file(p, attrs.evolve(STAMP, calibration_id="rpcal:2:obs:" + "d4" * 32))
    with _verified(p) as hdul:
        h = hdul[0].header
        for key, comment in KEYWORDS.values():
            if key != "RPCIF":
                assert h.comments[key] == comment, key
        assert h.comments[SCHEME_KEYWORD[0]] == SCHEME_KEYWORD[1]
        assert h["RPCALID"] == "d4" * 32 and h["LONGSTRN"] == "OGIP 1.0"
    assert read_stamp(p).calibration_id == "rpcal:2:obs:" + "d4" * 32  # type: ignore[union-attr]


def test_doctests() -> None:
    """The card_image examples hold."""
    import doctest

    from reprocal.fits import _stamp

    assert doctest.testmod(_stamp).failed == 0
