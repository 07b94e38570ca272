"""FITS CHECKSUM/DATASUM on raw bytes, fused with sha256 (reprocal.fits._checksum)."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pytest
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.constituents import write_constituent

from reprocal.fits._checksum import check_files, check_fits, scan_file

NAME = "EPN_CTI_0001.CCF"


@pytest.fixture
def ccf(tmp_path: Path) -> Path:
    return write_constituent(tmp_path, NAME, rows=1000)


def test_intact_file_passes_and_hash_is_of_every_byte(ccf: Path) -> None:
    """A valid constituent: no problem, every HDU checked, sha256 of the whole file."""
    scan = scan_file(ccf, sha256=True, chunk=2880)
    assert (scan.problem, scan.unchecked, scan.extnames) == (None, (), ("DATA",))
    assert scan.sha256 == hashlib.sha256(ccf.read_bytes()).hexdigest()
    assert scan.size == ccf.stat().st_size
    fc = check_fits(ccf)
    assert fc.ok and fc.constituent is not None and fc.constituent.filename == NAME


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_bit_flip_is_caught(ccf: Path, data: st.DataObject) -> None:
    """Flip any one bit anywhere: the ones' complement sums (or the structure) always see it,
    and the sha256 still covers the whole file."""
    raw = bytearray(ccf.read_bytes())
    at = data.draw(st.integers(0, len(raw) - 1), label="byte")
    bit = data.draw(st.integers(0, 7), label="bit")
    raw[at] ^= 1 << bit
    bad = ccf.with_name("flipped.fits")
    bad.write_bytes(raw)
    scan = scan_file(bad, sha256=True)
    assert scan.sha256 == hashlib.sha256(raw).hexdigest()
    assert not check_fits(bad, filename=NAME).ok


def test_checksum_keyword_hit_is_caught(ccf: Path) -> None:
    """Found by the property above: a bit flipped in the CHECKSUM keyword's name leaves a
    DATASUM that still matches and no CHECKSUM; that is reported, not passed."""
    raw = bytearray(ccf.read_bytes())
    at = raw.index(b"CHECKSUM=", 2880)
    raw[at] ^= 1
    bad = ccf.with_name("hit.fits")
    bad.write_bytes(raw)
    assert scan_file(bad).problem == "FITS checksum failed: HDU 1 (DATA) has DATASUM but no CHECKSUM"


@pytest.mark.parametrize("sample", ["0201901401/mos1_exp1_clean_evts.fits", "0201901401/ccf.cif"])
def test_real_sas_files_walk_like_astropy(samples: Path, sample: str) -> None:
    """Real SAS files (31 HDUs, no CHECKSUM keywords): the walk finds the HDUs astropy finds
    and reports them unchecked, not corrupt."""
    path = samples / sample
    scan = scan_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as hdul:
            names = tuple(h.name.upper() for h in hdul[1:])
    assert (scan.problem, scan.extnames) == (None, names)
    assert len(scan.unchecked) == len(names) + 1


def _card(key: str, value: int) -> bytes:
    return f"{key:<8}= {value:>20}".ljust(80).encode()


def _replace_card(raw: bytes, key: bytes, card: bytes) -> bytes:
    at = raw.index(key.ljust(8) + b"=", 2880)  # in the extension's header
    return raw[:at] + card + raw[at + 80:]


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda raw: raw + bytes(2880), "2880 bytes after the last HDU are not an extension"),
        (lambda raw: raw[:-1], "truncated: HDU 1 (DATA) needs 8640 bytes, the file has 8639"),
        (lambda raw: raw[:2880 + 1000], "truncated in the header of HDU 1"),
        (lambda raw: raw + b"X" * 100, "100 bytes after the last HDU are not an extension"),
        (lambda raw: b"X" * 2880, "not a FITS file (no SIMPLE card)"),
        (lambda raw: _replace_card(raw, b"NAXIS2", _card("NAXIS2", -1)),
         "HDU 1 (DATA): bad size keywords (negative NAXIS/NAXISn/PCOUNT/GCOUNT)"),
        (lambda raw: _replace_card(raw, b"BITPIX", _card("BITPIX", 7)),
         "HDU 1 (DATA): bad size keywords (BITPIX = 7)"),
        (lambda raw: raw[:2880].replace(b"END     ", b"XND     ") + raw[2880:],
         "the header of HDU 0 has no END card"),
        (lambda raw: raw.replace(b"SIMPLE  =                    T", b"SIMPLE  =                    F"),
         "HDU 0: SIMPLE = F: not standard FITS"),
        (lambda raw: raw.replace(b"XTENSION= 'BINTABLE'", b"XTENSION= 'BINTABLF'"),
         "HDU 1 (DATA): XTENSION = 'BINTABLF' is not a registered extension type"),
        (lambda raw: raw.replace(b"TFORM1  = 'E", b"TFORM1  = 'D"),
         "HDU 1 (DATA): not a readable binary table (the TFORMs add up to 8 bytes a row, "
         "NAXIS1 = 4)"),
    ],
    ids=["trailing-garbage", "short", "cut-in-header", "tail", "not-fits", "bad-naxis",
         "bad-bitpix", "no-end", "simple-f", "xtension", "tform"],
)
def test_structure_problems(tmp_path: Path, mutate, problem: str) -> None:  # type: ignore[no-untyped-def]
    """Damage to the structure is named precisely, before any checksum (so also in HDUs
    without CHECKSUM keywords); the sha256 still covers every byte."""
    good = write_constituent(tmp_path, NAME)
    bad = tmp_path / "bad.fits"
    bad.write_bytes(mutate(good.read_bytes()))
    scan = scan_file(bad, sha256=True)
    assert scan.sha256 == hashlib.sha256(bad.read_bytes()).hexdigest()
    assert scan.problem == problem


def test_files_without_checksums_are_unchecked_not_corrupt(tmp_path: Path) -> None:
    """No CHECKSUM/DATASUM keywords: listed as unchecked, the file passes."""
    p = write_constituent(tmp_path, NAME)
    with fits.open(p) as hdul:
        for h in hdul:
            del h.header["CHECKSUM"]
            del h.header["DATASUM"]
        hdul.writeto(tmp_path / "plain.fits")
    fc = check_fits(tmp_path / "plain.fits", filename=NAME)
    assert (fc.ok, fc.unchecked) == (True, ("HDU 0", "HDU 1 (DATA)"))


def test_scan_files_reports_unreadable(tmp_path: Path, ccf: Path) -> None:
    """Many files in threads; a missing one maps to its OSError."""
    out = check_files([(str(ccf), NAME), (str(tmp_path / "gone"), NAME)], sha256=True, jobs=2)
    assert out[str(ccf)].ok  # type: ignore[union-attr]
    assert out[str(ccf)].sha256 == hashlib.sha256(ccf.read_bytes()).hexdigest()  # type: ignore[union-attr]
    assert isinstance(out[str(tmp_path / "gone")], FileNotFoundError)
    assert check_fits(tmp_path / "gone").problem == "cannot read: No such file or directory"


_CARD_VALUES = st.one_of(st.integers(-10**9, 10**9), st.booleans(),
                         st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(primary=st.binary(max_size=6000), ext=st.binary(max_size=9000),
       cards=st.lists(_CARD_VALUES, max_size=50), table=st.booleans(), data=st.data())
def test_sums_equal_astropys_and_any_bit_flip_is_caught(
        tmp_path: Path, primary: bytes, ext: bytes, cards: list[object], table: bool,
        data: st.DataObject) -> None:
    """For random HDU contents (header cards, data of any length, image or table), astropy
    (the reference) writes CHECKSUM/DATASUM; the engine's DATASUM is the same number, sealing
    the header with the CHECKSUM zeroed gives astropy's bytes back, the file scans clean, and
    one flipped bit anywhere in it is caught."""
    import numpy as np

    from reprocal.fits._checksum import PLACEHOLDER, ones_sum, seal

    first = fits.PrimaryHDU(np.frombuffer(primary, dtype=np.uint8) if primary else None)
    if table:
        second: fits.hdu.base.ExtensionHDU = fits.BinTableHDU.from_columns(
            [fits.Column("B", "B", array=np.frombuffer(ext, dtype=np.uint8))], name="T")
    else:
        second = fits.ImageHDU(np.frombuffer(ext, dtype=np.uint8) if ext else None, name="T")
    for i, value in enumerate(cards):
        second.header[f"KEY{i}"] = value
    path = tmp_path / "ref.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        fits.HDUList([first, second]).writeto(path, checksum=True, overwrite=True)
    raw = path.read_bytes()
    with fits.open(path) as hdul:
        spans = [(h.fileinfo()["hdrLoc"], h.fileinfo()["datLoc"], h.fileinfo()["datSpan"],
                  h.header["DATASUM"], h.header["CHECKSUM"]) for h in hdul]
    for head, start, span, datasum, checksum in spans:
        header, body = raw[head:start], raw[start:start + span]
        assert str(ones_sum(body)) == datasum
        at = header.index(b"CHECKSUM= '") + 11
        zeroed = header[:at] + PLACEHOLDER.encode() + header[at + 16:]
        assert seal(zeroed, ones_sum(body)) == header
        assert header[at:at + 16].decode() == checksum
    scan = scan_file(path)
    assert (scan.problem, scan.unchecked, scan.hdus) == (None, (), 2)
    flipped = bytearray(raw)
    at = data.draw(st.integers(0, len(raw) - 1), label="byte")
    flipped[at] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    path.write_bytes(flipped)
    assert scan_file(path).problem is not None


def test_seal_needs_a_placeholder() -> None:
    """A header without a zeroed CHECKSUM card cannot be sealed (nothing to fill in)."""
    from reprocal.fits._checksum import seal

    header = b"SIMPLE  =                    T".ljust(80) + b"END".ljust(80)
    with pytest.raises(ValueError, match="CHECKSUM = '0000000000000000'"):
        seal(header.ljust(2880), 0)


@pytest.mark.parametrize("chunk", [2880, 4 << 20])
def test_a_file_that_grows_while_read_is_hashed_to_its_end(ccf: Path, chunk: int) -> None:
    """The size is taken once (fstat); a file that then grows is hashed to its real end, in
    the whole-file read (read again as a stream) and in the streaming one."""
    import io

    from reprocal.fits._checksum import _Stream

    data = ccf.read_bytes()
    for content in (data, data + b"\0" * 2880):
        buf = memoryview(bytearray(len(data) + 1 if len(data) < chunk else chunk))
        h = hashlib.sha256()
        s = _Stream(io.BytesIO(content), len(data), buf, h)
        assert bytes(s.read(2880)) == content[:2880]
        s.drain()
        assert h.hexdigest() == hashlib.sha256(content).hexdigest()


def test_a_file_that_shrinks_while_read_is_truncated(ccf: Path, monkeypatch: pytest.MonkeyPatch
                                                     ) -> None:
    """A size taken before the file lost its last blocks: the data unit comes short, the scan
    says so (it looped forever on an empty read before)."""
    import os

    from reprocal.fits import _checksum as engine

    size = ccf.stat().st_size
    real = os.fstat

    def fstat(fd: int) -> os.stat_result:
        st = list(real(fd))
        if st[6] == size - 2880:
            st[6] = size
        return os.stat_result(st)

    with ccf.open("r+b") as f:
        f.truncate(size - 2880)
    for chunk in (2880, 4 << 20):
        monkeypatch.setattr(engine.os, "fstat", fstat)
        scan = scan_file(ccf, sha256=True, chunk=chunk)
        monkeypatch.undo()
        assert scan.broken is not None and "truncated while being read" in scan.broken, scan


# --- the order the worker threads read files in ----------------------------------------------


@given(st.lists(st.integers(min_value=0, max_value=80_000_000), max_size=60),
       st.integers(min_value=0, max_value=4 << 20))
def test_mixed_order_follows_its_rule(sizes: list[int], cost: int) -> None:
    """Every file once; each one is either the largest left (a head) or the smallest left,
    taken after a head while the head's size covers the small files (their size plus
    ``cost`` each), and as many as it covers; whatever order the files came in."""
    from reprocal.fits._checksum import mixed_order

    size = {f"f{i:03d}": s for i, s in enumerate(sizes)}
    order = mixed_order(size, size.__getitem__, small_cost=cost)
    assert sorted(order) == sorted(size)
    assert order == mixed_order(dict(reversed(list(size.items()))), size.__getitem__,
                                small_cost=cost)
    left = sorted(size, key=lambda n: (-size[n], n))  # largest first
    budget = None
    for name in order:
        smallest_fits = budget is not None and size[left[-1]] + cost <= budget
        if smallest_fits and len(left) > 1:
            assert name == left.pop()
            budget -= size[name] + cost
        else:
            assert name == left.pop(0)
            budget = size[name]
    assert not left


def test_mixed_order_spreads_small_files_over_the_large_ones() -> None:
    """A repository's shape, a few large files and many small ones: the small ones go with
    the first large ones, not all at the end (where the threads would queue for the GIL), and
    the last files read are large (the pool stays busy to the end)."""
    from reprocal.fits._checksum import SMALL_FILE_COST, mixed_order

    size = {f"L{i}": 40_000_000 - i for i in range(10)}
    size |= {f"s{i:03d}": 100_000 + i for i in range(300)}
    order = mixed_order(size, size.__getitem__)
    per = 40_000_000 // (100_000 + 300 + SMALL_FILE_COST)  # small files a large one covers
    assert order[:3] == ["L0", "s000", "s001"]
    assert order.index("L1") == per + 1
    assert [n for n in order if n.startswith("L")] == [f"L{i}" for i in range(10)]
    assert order[-5:] == ["L5", "L6", "L7", "L8", "L9"]
    # with no file large enough to pair with, it is largest first, as before
    small = {f"s{i}": 1000 + i for i in range(20)}
    assert mixed_order(small, small.__getitem__) == sorted(small, key=small.__getitem__,
                                                           reverse=True)


def test_in_page_cache_tells_cached_bytes_from_the_disk(tmp_path: Path) -> None:
    """check_files mixes small files among large ones only when the bytes are cached (bound
    by the CPU); from the disk, largest first keeps it streaming."""
    import os

    from reprocal.fs._hashing import in_page_cache

    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(1 << 20))
    path.read_bytes()
    assert in_page_cache(str(path))
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # clean pages can be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    evicted = in_page_cache(str(path))
    if evicted:
        pytest.skip("this file system keeps every page in memory (tmpfs): nothing to evict")
    assert not evicted
    assert not in_page_cache(str(tmp_path / "missing"))
    os.mkfifo(tmp_path / "fifo")
    assert not in_page_cache(str(tmp_path / "fifo"))  # answered at once, never blocking
