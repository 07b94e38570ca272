"""Fetching a state given by dates (no manifest): its gaps, and how unpinned bytes are judged."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from astropy.io import fits
from support.constituents import write_constituent
from support.servers import Fault, MirrorServer

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.core._select import Rule
from reprocal.fetch._engine import FetchItem
from reprocal.fetch._gaps import constituent_check, items, missing_constituents
from reprocal.fetch._transports import TransferError
from reprocal.fits._calindex import write_master_index
from reprocal.fits._checksum import check_fits
from reprocal.fits._headers import read_constituent
from reprocal.repo._catalog import LocalFile
from reprocal.testing._synthetic import corrupt, truncate

OBS, AN = "2012-03-04T05:06:07", "2020-01-01T00:00:00"


def c(name: str, valdate: str, subdate: str) -> Constituent:
    return Constituent(ConstituentName.parse(name), valdate=valdate, subdate=subdate)


def test_missing_constituents_are_the_gaps_of_each_rule():
    """The best known eligible issue of each type that is not present, once, by file name."""
    a1 = c("EPN_CTI_0001.CCF", "2000-01-01", "2000-01-01")
    a2 = c("EPN_CTI_0002.CCF", "2005-01-01", "2005-01-01")
    a3 = c("EPN_CTI_0003.CCF", "2005-01-01", "2019-01-01")  # submitted after the first analysis
    b1 = c("OM_FILTER_0001.CCF", "2000-01-01", "2000-01-01")
    present = [LocalFile(Path("/r") / x.filename, x) for x in (a1,)]
    rules = [Rule(CalDate.parse("2010-01-01"), CalDate.parse("2010-01-01")),
             Rule(CalDate.parse("2010-01-01"), CalDate.parse("2020-01-01"))]
    assert [m.filename for m in missing_constituents(present, [a1, a2, a3, b1], rules)] == [
        "EPN_CTI_0002.CCF", "EPN_CTI_0003.CCF", "OM_FILTER_0001.CCF"]
    assert missing_constituents(present, [a1], rules) == ()
    assert items([a2]) == [FetchItem("EPN_CTI_0002.CCF", None, None)]


@pytest.fixture
def files(synthetic_repo, tmp_path):
    """Copies of three synthetic constituents with extensions, and their index rows."""
    chosen = [x for x in synthetic_repo.constituents if len(x.extseqid.split()) >= 2][:3]
    for x in chosen:
        shutil.copy(synthetic_repo.root / x.filename, tmp_path)
    return tmp_path, chosen


def test_intact_unpinned_file_passes(files):
    """Header identity and FITS checksums hold for an intact file."""
    root, chosen = files
    check = constituent_check({x.filename: x for x in chosen})
    for x in chosen:
        check(root / x.filename, FetchItem(x.filename, None, None))
        assert check_fits(root / x.filename).ok


@pytest.mark.parametrize("damage", ["flip", "cut-block", "cut-half", "pad", "other-file"])
def test_damaged_unpinned_file_is_a_content_mismatch(files, damage):
    """A flipped data byte, a cut, padding, or another constituent's bytes are refused."""
    root, chosen = files
    x = chosen[0]
    path = root / x.filename
    if damage == "flip":
        corrupt(path)
    elif damage == "cut-block":
        truncate(path, path.stat().st_size - 2880)
    elif damage == "cut-half":
        truncate(path, path.stat().st_size // 2880 // 2 * 2880)
    elif damage == "pad":
        with path.open("ab") as f:
            f.write(b"\0" * 2880)
    else:
        shutil.copy(root / chosen[1].filename, path)
    check = constituent_check({x.filename: x for x in chosen})
    with pytest.raises(TransferError) as info:
        check(path, FetchItem(x.filename, None, None))
    assert info.value.kind == "content-mismatch"


def _damaged(path: Path, damage: str) -> None:
    raw = path.read_bytes()
    end = raw.index(b"END" + b" " * 77)
    if damage == "header-padding":  # a blank after END in the primary header
        raw = raw[:end + 400] + b"!" + raw[end + 401:]
    elif damage == "end-card":  # a blank of the END card
        raw = raw[:end + 40] + b"!" + raw[end + 41:]
    elif damage == "checksum-keyword":
        at = raw.index(b"CHECKSUM=", 2880)
        raw = raw[:at] + b"CHECKSUN=" + raw[at + 9:]
    elif damage in ("renamed-extension", "extra-extension"):
        with fits.open(path) as hdul:
            if damage == "renamed-extension":
                hdul[1].name = "OTHER"
            else:
                hdul.append(fits.BinTableHDU.from_columns(
                    [fits.Column("X", "J", array=[1])], name="EXTRA"))
            hdul.writeto(path, checksum=True, overwrite=True)
        return
    path.write_bytes(raw)


@pytest.mark.parametrize(("damage", "problem"), [
    ("header-padding", "FITS checksum failed: HDU 0 CHECKSUM mismatch"),
    ("end-card", "not the expected constituent: the primary header has no END card"),
    ("checksum-keyword", "FITS checksum failed: HDU 1 (DATA) has DATASUM but no CHECKSUM"),
    ("renamed-extension", "extension(s) DATA listed in EXTSEQID are missing (truncated?)"),
    ("extra-extension", "2 extensions, EXTSEQID names 1"),
])
def test_damage_the_astropy_check_passed_is_refused(tmp_path, damage, problem):
    """Found by flipping every bit of a small constituent (3,300 of 8,640 flips passed): the
    astropy-based check these fetches used re-serialised each header, so a byte changed after
    END or in the CHECKSUM keyword passed it (a blank of the END card was blamed on the next
    HDU's checksum), and it counted extensions instead of naming them, so a renamed one
    passed. The raw-byte engine refuses each, naming the damage (a file with an extension
    EXTSEQID does not name stays refused, as before)."""
    path = write_constituent(tmp_path, "EPN_CTI_0001.CCF")
    want = read_constituent(path)
    _damaged(path, damage)
    with pytest.raises(TransferError) as info:
        constituent_check({want.filename: want})(path, FetchItem(want.filename, None, None))
    assert (info.value.kind, str(info.value)) == ("content-mismatch",
                                                  f"content-mismatch: {problem}")


def test_damaged_files_checked_by_parallel_workers_are_all_refused(synthetic_repo, tmp_path):
    """The fetch engine runs the check in worker threads: each corrupted file is still refused.
    The astropy-based check before the raw-byte engine read its verdict from warnings caught
    process-wide: checked four at a time, about a third of corrupted files passed."""
    chosen = [x for x in synthetic_repo.constituents if x.extseqid][:12]
    for x in chosen:
        shutil.copy(synthetic_repo.root / x.filename, tmp_path)
        corrupt(tmp_path / x.filename)
    check = constituent_check({x.filename: x for x in chosen})

    def verdict(x: Constituent) -> str:
        try:
            check(tmp_path / x.filename, FetchItem(x.filename, None, None))
        except TransferError as exc:
            return exc.kind
        return "accepted"

    with ThreadPoolExecutor(4) as pool:
        verdicts = [v for _ in range(5) for v in pool.map(verdict, chosen)]
    assert verdicts == ["content-mismatch"] * len(verdicts)


def test_pinned_items_are_left_to_their_hash(files):
    """A pinned item is judged by its sha256 alone; the check does not read it again."""
    root, chosen = files
    x = chosen[0]
    (root / x.filename).write_bytes(b"anything")
    constituent_check({x.filename: x})(root / x.filename, FetchItem(x.filename, 8, "a" * 64))


def test_not_fits_is_named(tmp_path):
    """Bytes that are not FITS at all (an HTML error page) say so."""
    x = c("EPN_CTI_0001.CCF", "2000-01-01", "2000-01-01")
    page = tmp_path / "page"
    page.write_bytes(b"<html>Not Found</html>")
    with pytest.raises(TransferError) as info:
        constituent_check({x.filename: x})(page, FetchItem(x.filename, None, None))
    assert str(info.value).startswith("content-mismatch: not the expected constituent: ")


# --- the CLI form ---------------------------------------------------------------------------


@pytest.fixture
def stale(synthetic_repo, tmp_path, cli):
    """A master index of the whole synthetic archive and a repository lacking part of a state."""
    mif = write_master_index(tmp_path / "master.fits", synthetic_repo.constituents)
    selected = [x.filename for x in synthetic_repo.selected(OBS, AN).chosen]
    repo = tmp_path / "repo"
    repo.mkdir()
    for x in synthetic_repo.constituents:
        shutil.copy(synthetic_repo.root / x.filename, repo)
    for name in selected[::4]:
        (repo / name).unlink()
    return repo, mif, selected[::4]


def test_fetch_by_dates_fills_the_gaps(synthetic_repo, stale, tmp_path, cli):
    """``fetch --obs-date --analysis-date --master-index`` brings the state's missing issues; a
    mirror serving a damaged copy is refused (content-mismatch) and the next one used; ``cif``
    then reports no gap."""
    repo, mif, missing = stale
    bad = tmp_path / "bad-mirror"
    bad.mkdir()
    shutil.copy(synthetic_repo.root / missing[0], bad)
    corrupt(bad / missing[0])
    with MirrorServer(synthetic_repo.root) as good:
        good.faults = {missing[1]: Fault("corrupt")}
        proc = cli("fetch", "--obs-date", OBS, "--analysis-date", AN, "--master-index", str(mif),
                   "--ccf-path", str(repo), "--mirror", str(bad), "--mirror", good.url,
                   "--json")
        assert proc.returncode == 1, proc.stderr
        report = json.loads(proc.stdout)
        files = {f["filename"]: f for f in report["files"]}
        assert sorted(files) == sorted(missing)
        assert [a["kind"] for a in files[missing[0]]["attempts"]] == ["content-mismatch"]
        assert files[missing[0]]["mirror"] == good.url
        assert [a["kind"] for a in files[missing[1]]["attempts"]] == [
            "not-found", "content-mismatch"]
        assert not (repo / missing[1]).exists()
        good.faults = {}
        proc = cli("fetch", "--obs-date", OBS, "--analysis-date", AN, "--master-index", str(mif),
                   "--ccf-path", str(repo), "--mirror", good.url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == ("1 file(s) had no pin: checked by FITS header and "
                                            "checksums only; `reprocal pin` records their sha256")
    proc = cli("cif", "--obs-date", OBS, "--analysis-date", AN, "--master-index", str(mif),
               "--ccf-path", str(repo), "-o", str(tmp_path / "ccf.cif"))
    assert proc.returncode == 0 and "missing" not in proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--obs-date", OBS], "--analysis-date is required with --obs-date/--odf (a date, or 'now')"),
    ([], "give a MANIFEST, or --obs-date/--odf with --analysis-date; see `reprocal fetch --help`"),
    (["m.json", "--obs-date", OBS],
     "give a MANIFEST or --obs-date/--odf with --analysis-date, not both"),
    (["--obs-date", OBS, "--analysis-date", AN],
     "nothing says which constituents exist beyond the files present; give --master-index FILE, "
     "or import one with `reprocal index --import-index FILE`"),
])
def test_state_form_usage_errors(synthetic_repo, cli, args, message):
    """Each misuse is one line, exit 2."""
    proc = cli("fetch", *args, "--ccf-path", str(synthetic_repo.root), "--mirror", "http://h/")
    assert (proc.returncode, proc.stderr.strip()) == (2, f"reprocal: error: {message}")
