"""Verifying pinned bytes (reprocal.repo._verify) and the whole repository (reprocal.repo._repocheck)."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.constituents import flip_byte, sha256, write_constituent

from reprocal.errors import ConstituentNameError, InputError, RepositoryError
from reprocal.fs._hashing import sha256_file
from reprocal.repo._repocheck import Finding, verify_repository
from reprocal.repo._verify import Expected, Status, VerifyReport, hash_and_remember, verify_files
from reprocal.repo._verifycache import RACY_NS, VerifyCache

A, B, C = "EPN_CTI_0001.CCF", "EPN_CTI_0002.CCF", "EMOS1_QE_0003.CCF"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Three small valid constituents; B is another issue of A's type, larger."""
    d = tmp_path / "ccf"
    write_constituent(d, A, rows=8, seed=1)
    write_constituent(d, B, rows=800, seed=2, subdate="2005-01-01T00:00:00")
    write_constituent(d, C, rows=100, seed=3)
    settle()
    return d


def settle() -> None:
    """Let the kernel's coarse clock (which stamps mtime/ctime) move on past the files' last
    change, as it has for any real repository: the verify cache then trusts what it records
    (see RACY_NS), and a later change always gets a newer ctime than the one recorded."""
    time.sleep(2 * RACY_NS / 1e9)


@pytest.fixture
def pinned(repo: Path) -> list[Expected]:
    return [Expected(n, (repo / n).stat().st_size, sha256(repo / n)) for n in (A, B, C)]


@pytest.fixture
def cache(tmp_path: Path) -> VerifyCache:
    """The verify cache, with its real racy window."""
    with VerifyCache(tmp_path / "verify.sqlite") as c:
        yield c


class CountingHasher:
    """Counts the files it hashes (the cache-hit path must hash none)."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, path: str) -> str:
        self.paths.append(path)
        return sha256_file(path)


def statuses(report: VerifyReport) -> dict[str, str]:
    return {r.filename: r.status.value for r in report.results}


@pytest.mark.parametrize("level", ["stat", "fits", "full"])
def test_untouched_repository_is_ok_at_every_level(repo: Path, pinned: list[Expected],
                                                   cache: VerifyCache, level: str) -> None:
    """Every pinned file present with its bytes: ok, exit-worthy report is ok."""
    report = verify_files(pinned, str(repo), level=level, cache=cache)
    assert report.ok
    assert report.counts() == {"ok": 3, "missing": 0, "duplicate": 0, "wrong-size": 0,
                               "corrupt": 0, "modified": 0}
    assert report.result(A).path == repo / A


def test_stat_on_a_cold_cache_rests_on_sizes(repo: Path, pinned: list[Expected],
                                             cache: VerifyCache) -> None:
    """Never verified here: ok by size, and the report says so."""
    r = verify_files(pinned, repo, cache=cache).result(A)
    assert (r.status, r.basis, r.detail) == (
        Status.OK, "size", "pinned size; never verified here (run --level full once)")


# --- tampering ----------------------------------------------------------------------------


def _flip(repo: Path) -> None:
    flip_byte(repo / A)  # data area, mtime and atime restored with os.utime


def _truncate(repo: Path) -> None:
    with open(repo / A, "r+b") as f:
        f.truncate(2880)


def _delete(repo: Path) -> None:
    (repo / A).unlink()


def _replace_other_issue(repo: Path) -> None:
    shutil.copyfile(repo / B, repo / A)  # B renamed as A: another size


def _replace_same_size(repo: Path) -> None:
    # Another issue of the same type, the same size: only the header and the bytes differ.
    tmp = write_constituent(repo.parent / "elsewhere", B, rows=8, seed=1)
    os.replace(tmp, repo / A)


CHEAT_SIZE = "size {actual}, pinned {pinned}"
HEADER = "header says EPN_CTI_0002.CCF but the file is named EPN_CTI_0001.CCF"
CHECKSUM = "FITS checksum failed: HDU 1 (DATA) DATASUM/CHECKSUM mismatch"

TAMPERING: list[tuple[str, Callable[[Path], None], str, str, str]] = [
    # (what, tamper, level, status, detail prefix)
    ("flip", _flip, "stat", "modified", "changed since last verified"),
    ("flip", _flip, "fits", "corrupt", CHECKSUM),
    ("flip", _flip, "full", "corrupt", CHECKSUM + "; sha256 differs from the pinned one"),
    ("truncate", _truncate, "stat", "wrong-size", "size 2880, pinned 8640"),
    ("truncate", _truncate, "full", "wrong-size", "size 2880, pinned 8640"),
    ("delete", _delete, "stat", "missing", "not in "),
    ("delete", _delete, "full", "missing", "not in "),
    ("other issue", _replace_other_issue, "stat", "wrong-size", "size 11520, pinned 8640"),
    ("other issue", _replace_other_issue, "fits", "wrong-size", "size 11520, pinned 8640"),
    ("same-size issue", _replace_same_size, "stat", "modified", "changed since last verified"),
    ("same-size issue", _replace_same_size, "fits", "corrupt", HEADER),
    ("same-size issue", _replace_same_size, "full", "corrupt", HEADER),
]


@pytest.mark.parametrize(("what", "tamper", "level", "status", "detail"), TAMPERING,
                         ids=[f"{t[0]}-{t[2]}" for t in TAMPERING])
def test_tampering_after_a_full_verify(repo: Path, pinned: list[Expected], cache: VerifyCache,
                                       what: str, tamper: Callable[[Path], None], level: str,
                                       status: str, detail: str) -> None:
    """After a full verify, each tampering is caught at each level; the others stay ok."""
    assert verify_files(pinned, repo, level="full", cache=cache).ok
    tamper(repo)
    report = verify_files(pinned, repo, level=level, cache=cache)
    r = report.result(A)
    assert (r.status.value, r.detail[:len(detail)]) == (status, detail)
    assert statuses(report)[B] == statuses(report)[C] == "ok"
    assert not report.ok


def test_flip_without_any_previous_verify_is_invisible_at_stat(
        repo: Path, pinned: list[Expected], cache: VerifyCache) -> None:
    """What stat cannot see: bytes changed (same size, mtime restored) before the first
    verification on this machine. fits and full see it."""
    _flip(repo)
    settle()
    assert statuses(verify_files(pinned, repo, level="stat", cache=cache))[A] == "ok"
    assert statuses(verify_files(pinned, repo, level="fits", cache=cache))[A] == "corrupt"
    assert statuses(verify_files(pinned, repo, level="full", cache=cache))[A] == "corrupt"
    # and once seen, the cache remembers it for stat
    r = verify_files(pinned, repo, level="stat", cache=cache).result(A)
    assert (r.status, r.basis) == (Status.CORRUPT, "cache")


def _offset(path: Path, text: bytes) -> int:
    return path.read_bytes().index(text)


def test_flip_in_a_header_card_caught_by_checksum(repo: Path, pinned: list[Expected],
                                                  cache: VerifyCache) -> None:
    """A byte flipped in a primary-header card (not the data) fails that HDU's CHECKSUM."""
    flip_byte(repo / A, offset=_offset(repo / A, b"reprocal tests"))
    r = verify_files(pinned, repo, level="fits", cache=cache).result(A)
    assert (r.status, r.detail) == (Status.CORRUPT, "FITS checksum failed: HDU 0 CHECKSUM mismatch")


def test_flip_in_header_padding_caught_on_raw_bytes(repo: Path, pinned: list[Expected]) -> None:
    """A byte in the blank padding after END changes no keyword, but the checksum is
    computed on the raw bytes, so fits sees it (astropy's re-serialising check would not)."""
    flip_byte(repo / A, offset=2879)
    r = verify_files(pinned, repo, level="fits").result(A)
    assert (r.status, r.detail) == (Status.CORRUPT, "FITS checksum failed: HDU 0 CHECKSUM mismatch")


@pytest.mark.parametrize(
    ("size", "detail"),
    [
        (5000, "truncated in the header of HDU 1"),
        (5760, "truncated: HDU 1 (DATA) needs 8640 bytes, the file has 5760"),
        (2880, "extension(s) DATA listed in EXTSEQID are missing (truncated?)"),
    ],
)
def test_truncation_seen_by_fits_alone(repo: Path, size: int, detail: str) -> None:
    """Without a pinned size (repository check), truncation anywhere is still caught,
    even exactly at an HDU boundary."""
    with open(repo / A, "r+b") as f:
        f.truncate(size)
    report = verify_repository(repo)
    (entry,) = [e for e in report.entries if e.name == A]
    assert (entry.finding, entry.detail) == (Finding.CORRUPT, detail)


# --- the cache ----------------------------------------------------------------------------


def test_full_verify_reads_every_byte_every_time(repo: Path, pinned: list[Expected],
                                                 cache: VerifyCache) -> None:
    """full is the scrub: a second full verify right after the first hashes every file again
    (the cache vouches for nothing at full); a touched file is modified at stat until then."""
    hasher = CountingHasher()
    first = verify_files(pinned, repo, level="full", cache=cache, hasher=hasher)
    assert (len(hasher.paths), first.hashed, first.reused) == (3, 3, 0)
    second = verify_files(pinned, repo, level="full", cache=cache, hasher=hasher)
    assert (len(hasher.paths), second.hashed, second.fits_checked, second.reused) == (6, 3, 3, 0)
    assert second.ok and {r.basis for r in second.results} == {"sha256"}
    st = os.stat(repo / C)
    os.utime(repo / C, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touch
    assert statuses(verify_files(pinned, repo, level="stat", cache=cache))[C] == "modified"
    verify_files(pinned, repo, level="full", cache=cache, hasher=hasher)
    assert len(hasher.paths) == 9
    assert verify_files(pinned, repo, level="stat", cache=cache).ok


def test_reuse_lets_the_cache_stand_in_for_a_read(repo: Path, pinned: list[Expected],
                                                  cache: VerifyCache) -> None:
    """reuse (rebuild, run: the facts, not a scrub): a second full verify hashes nothing, and
    only a touched file is read again."""
    hasher = CountingHasher()
    verify_files(pinned, repo, level="full", cache=cache, hasher=hasher, reuse=True)
    again = verify_files(pinned, repo, level="full", cache=cache, hasher=hasher, reuse=True)
    assert (len(hasher.paths), again.hashed, again.fits_checked, again.reused) == (3, 0, 0, 3)
    st = os.stat(repo / C)
    os.utime(repo / C, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    verify_files(pinned, repo, level="full", cache=cache, hasher=hasher, reuse=True)
    assert hasher.paths[3:] == [os.path.realpath(repo / C)]


def test_full_sees_bytes_the_stat_key_cannot(repo: Path, pinned: list[Expected],
                                            cache: VerifyCache) -> None:
    """Bit rot: bytes changed with size, mtime, inode and ctime as the cache remembers them (the
    cache entry is re-keyed to the rotten file's stat, which is what a change under the file
    system leaves). stat vouches for it; fits and full read it and say corrupt."""
    from reprocal.repo._verifycache import CacheEntry, FileStat, now_ns

    assert verify_files(pinned, repo, level="full", cache=cache).ok
    real = os.path.realpath(repo / A)
    (good,) = cache.lookup([real]).values()
    flip_byte(repo / A)
    cache.store([CacheEntry(real, FileStat.of(os.stat(real)), now_ns() + 10**12, good.sha256,
                            good.fits_ok, good.fits_problem, good.fits_kind)])
    assert statuses(verify_files(pinned, repo, level="stat", cache=cache))[A] == "ok"
    assert statuses(verify_files(pinned, repo, level="fits", cache=cache))[A] == "corrupt"
    assert statuses(verify_files(pinned, repo, level="full", cache=cache))[A] == "corrupt"


def test_fits_reads_what_it_checks(repo: Path, pinned: list[Expected],
                                   cache: VerifyCache) -> None:
    """After a full verify a fits one still computes every file's checksums (reused 0); with
    reuse it reads nothing; after a fits verify, a full one with reuse reads each file once
    (FITS sums and sha256 in the same pass)."""
    verify_files(pinned, repo, level="full", cache=cache)
    fits_now = verify_files(pinned, repo, level="fits", cache=cache)
    assert (fits_now.fits_checked, fits_now.hashed, fits_now.reused) == (3, 0, 0)
    assert verify_files(pinned, repo, level="fits", cache=cache, reuse=True).reused == 3
    fresh = VerifyCache(cache.path.parent / "other.sqlite")
    verify_files(pinned, repo, level="fits", cache=fresh)
    report = verify_files(pinned, repo, level="full", cache=fresh, reuse=True)
    assert (report.fits_checked, report.hashed, report.reused) == (3, 3, 0)
    fresh.close()


def test_stat_warm_cache_reads_no_file(repo: Path, pinned: list[Expected], cache: VerifyCache,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm stat verify rests on the cache, opening no constituent."""
    verify_files(pinned, repo, level="full", cache=cache)
    monkeypatch.setattr("reprocal.fits._checksum.check_files", lambda *a, **k: pytest.fail("read"))
    report = verify_files(pinned, repo, level="stat", cache=cache,
                          hasher=lambda p: pytest.fail("hashed"))
    assert report.ok and report.reused == 3
    assert {r.basis for r in report.results} == {"cache"}
    assert report.result(A).detail == "unchanged since verified at level full"


def test_racily_clean_facts_are_not_reused(repo: Path, pinned: list[Expected],
                                           tmp_path: Path) -> None:
    """Facts about a file changed within the racy window of its check are re-established."""
    with VerifyCache(tmp_path / "racy.sqlite", racy_ns=10**18) as c:
        hasher = CountingHasher()
        verify_files(pinned, repo, level="full", cache=c, hasher=hasher, reuse=True)
        verify_files(pinned, repo, level="full", cache=c, hasher=hasher, reuse=True)
        assert len(hasher.paths) == 6
        r = verify_files(pinned, repo, level="stat", cache=c).result(A)
        assert (r.status, r.basis) == (Status.OK, "size")


def test_corrupt_cache_is_rebuilt_and_verify_still_works(repo: Path, pinned: list[Expected],
                                                        tmp_path: Path) -> None:
    """A garbage cache file: one warning, a normal verify."""
    path = tmp_path / "bad.sqlite"
    path.write_bytes(b"\x00garbage" * 1000)
    warnings: list[str] = []
    with VerifyCache(path, warn=warnings.append) as c:
        assert verify_files(pinned, repo, level="full", cache=c).ok
        assert verify_files(pinned, repo, level="stat", cache=c).reused == 3
    assert len(warnings) == 1 and "is corrupt" in warnings[0]


def test_no_cache_means_nothing_remembered(repo: Path, pinned: list[Expected]) -> None:
    """cache=None: every full verify hashes everything; stat rests on sizes."""
    hasher = CountingHasher()
    verify_files(pinned, repo, level="full", hasher=hasher)
    verify_files(pinned, repo, level="full", hasher=hasher)
    assert len(hasher.paths) == 6
    assert {r.basis for r in verify_files(pinned, repo).results} == {"size"}


# --- where files are found ----------------------------------------------------------------


def test_duplicate_across_directories_is_reported_not_picked(
        repo: Path, pinned: list[Expected], tmp_path: Path) -> None:
    """One name in two directories of the path: duplicate, both paths listed."""
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy2(repo / A, other / A)
    report = verify_files(pinned, f"{repo}:{other}", level="full")
    r = report.result(A)
    assert r.status is Status.DUPLICATE
    assert r.paths == (repo / A, other / A)
    assert r.detail == f"present 2 times: {repo / A}, {other / A}"


def test_first_directories_in_order_and_lower_case_names(repo: Path, pinned: list[Expected],
                                                         tmp_path: Path) -> None:
    """Files are found in any directory of the path; names are case-insensitive."""
    other = tmp_path / "other"
    other.mkdir()
    (repo / C).rename(other / C.lower())
    report = verify_files(pinned, [repo, other], level="full")
    assert report.ok
    assert report.result(C).path == other / C.lower()


def test_symlinked_file_verifies_its_target(repo: Path, pinned: list[Expected],
                                            tmp_path: Path, cache: VerifyCache) -> None:
    """A symlink is followed; the cache is keyed by the target's real path."""
    store = tmp_path / "store"
    store.mkdir()
    (repo / A).rename(store / A)
    (repo / A).symlink_to(store / A)
    assert verify_files(pinned, repo, level="full", cache=cache).ok
    assert os.path.realpath(store / A) in cache.lookup([os.path.realpath(store / A)])


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("../EPN_CTI_0001.CCF", 1, "a" * 64), ConstituentNameError,
         "'../EPN_CTI_0001.CCF' is not a bare constituent file name (it holds a path)"),
        (("EPN_CTI_1.CCF", 1, "a" * 64), ConstituentNameError,
         "'EPN_CTI_1.CCF' is not a constituent name; expected SCOPE_TYPEID_NNNN.CCF "
         "(e.g. EPN_QUANTUMEF_0017.CCF)"),
        ((A, -1, "a" * 64), InputError, "size -1 is not a non-negative integer"),
        ((A, True, "a" * 64), InputError, "size True is not a non-negative integer"),
        ((A, 1, "xyz"), InputError, "sha256 'xyz' is not 64 hexadecimal digits"),
        ((A, 1, "g" * 64), InputError, f"sha256 '{'g' * 64}' is not 64 hexadecimal digits"),
    ],
)
def test_expected_refuses_bad_items(args: tuple, error: type, message: str) -> None:
    """Names, sizes and digests are validated before any file is touched."""
    with pytest.raises(error) as exc:
        Expected(*args)
    assert str(exc.value) == message


def test_expected_normalises_name_and_digest() -> None:
    """Lower-case names and digests are made canonical."""
    e = Expected("epn_cti_0001.ccf", 5, "AB" * 32)
    assert (e.filename, e.sha256) == (A, "ab" * 32)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda d, p: verify_files(p, d, level="fast"), InputError,
         "level 'fast' is not one of stat, fits, full"),
        (lambda d, p: verify_files(p + p[:1], d), InputError,
         "EPN_CTI_0001.CCF is expected twice; each constituent is listed once"),
        (lambda d, p: verify_files(p, f"{d}/nope"), RepositoryError,
         "dirs: {d}/nope is not a directory; check the path or create it"),
        (lambda d, p: verify_files(p, ""), RepositoryError,
         "no calibration directory given (dirs is empty); pass dirs=DIR or set SAS_CCFPATH"),
    ],
)
def test_verify_files_bad_input(repo: Path, pinned: list[Expected], call: Callable, error: type,
                                message: str) -> None:
    """Bad level, repeated items, bad directories: one clear message each."""
    with pytest.raises(error) as exc:
        call(repo, pinned)
    assert str(exc.value) == message.format(d=repo)


def test_report_json(repo: Path, pinned: list[Expected]) -> None:
    """The JSON report lists every constituent with status, path and detail."""
    (repo / B).unlink()
    doc = verify_files(pinned, repo, level="fits").to_json()
    assert doc["ok"] is False
    assert doc["counts"]["missing"] == 1 and doc["counts"]["ok"] == 2
    assert doc["results"][1] == {"file": B, "status": "missing", "path": None,
                                 "detail": f"not in {repo}", "basis": "", "paths": []}
    assert doc["results"][0]["path"] == str(repo / A)


# --- the whole repository -----------------------------------------------------------------


def findings(report) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {e.name: e.finding.value for e in report.entries}


def test_repository_clean(repo: Path) -> None:
    """A clean repository: every constituent ok."""
    report = verify_repository(repo)
    assert report.ok
    assert findings(report) == {A: "ok", B: "ok", C: "ok"}


def test_repository_finds_every_kind_of_problem(repo: Path, tmp_path: Path,
                                                cache: VerifyCache) -> None:
    """Checksum failure, truncation, header/name disagreement, duplicate, a CCF-named
    stranger, a harmless other file, and an expected name that is gone."""
    other = tmp_path / "other"
    other.mkdir()
    flip_byte(repo / A)
    shutil.copyfile(repo / B, other / C)  # B under C's name, and a duplicate of C
    write_constituent(other, "EPN_CTI_0007.CCF")
    with open(other / "EPN_CTI_0007.CCF", "r+b") as f:
        f.truncate(5760)
    (other / "JUNK.CCF").write_bytes(b"x")
    (other / "README.txt").write_text("notes")
    report = verify_repository([repo, other], cache=cache,
                               expected=["XMM_MISCDATA_0022.CCF", A])
    assert not report.ok
    got = sorted((e.finding.value, e.name, tuple(p.name for p in e.paths)) for e in report.entries)
    assert got == sorted([
        ("corrupt", A, (A,)),
        ("corrupt", "EPN_CTI_0007.CCF", ("EPN_CTI_0007.CCF",)),
        ("duplicate", C, (C, C)),
        ("header-mismatch", C, (C,)),
        ("ok", B, (B,)),  # the intact copy of duplicated C is in its duplicate entry, not "ok"
        ("not-ccf", "JUNK.CCF", ("JUNK.CCF",)),
        ("other", "README.txt", ("README.txt",)),
        ("gone", "XMM_MISCDATA_0022.CCF", ()),
    ])
    by = {(e.finding, e.name): e for e in report.entries}
    assert by[(Finding.HEADER, C)].detail == (
        "header says EPN_CTI_0002.CCF but the file is named EMOS1_QE_0003.CCF")
    assert by[(Finding.CORRUPT, "EPN_CTI_0007.CCF")].detail == (
        "truncated: HDU 1 (DATA) needs 8640 bytes, the file has 5760")
    assert report.counts()["corrupt"] == 2
    assert [e.finding for e in report.problems()][:2] == [Finding.CORRUPT, Finding.CORRUPT]


def test_repository_reuses_cache_and_rehash_forces(repo: Path, cache: VerifyCache) -> None:
    """A second repository check reads nothing; --rehash reads everything."""
    assert verify_repository(repo, cache=cache).checked == 3
    again = verify_repository(repo, cache=cache)
    assert (again.checked, again.reused, again.ok) == (0, 3, True)
    assert verify_repository(repo, cache=cache, rehash=True).checked == 3


def test_repository_recurse(repo: Path) -> None:
    """Subdirectories are checked only with recurse."""
    write_constituent(repo / "sub", "XMM_MISC_0001.CCF")
    assert "XMM_MISC_0001.CCF" not in findings(verify_repository(repo))
    assert findings(verify_repository(repo, recurse=True))["XMM_MISC_0001.CCF"] == "ok"


def test_repository_json(repo: Path) -> None:
    """The JSON form carries counts and entries."""
    doc = verify_repository(repo).to_json()
    assert doc["ok"] is True and doc["counts"]["ok"] == 3
    assert doc["entries"][0] == {"finding": "ok", "name": C, "paths": [str(repo / C)],
                                 "detail": ""}


def test_hash_and_remember_primes_the_cache(repo: Path, pinned: list[Expected],
                                            cache: VerifyCache, tmp_path: Path) -> None:
    """Hashing for a pin through hash_and_remember: same digests as hash_files, and the first
    verify afterwards reads nothing."""
    paths = [repo / A, repo / B, repo / C, tmp_path / "gone"]
    got = hash_and_remember(paths, cache=cache)
    assert [got[str(p)] for p in paths[:3]] == [e.sha256 for e in pinned]
    assert isinstance(got[str(tmp_path / "gone")], FileNotFoundError)
    assert {r.basis for r in verify_files(pinned, repo, cache=cache).results} == {"cache"}
    report = verify_files(pinned, repo, level="full", cache=cache, reuse=True)
    assert (report.ok, report.hashed, report.reused) == (True, 0, 3)


def test_files_without_checksums_pass_fits_with_a_note(repo: Path, tmp_path: Path) -> None:
    """Real SAS files may carry no CHECKSUM: fits passes on structure and says so."""
    from astropy.io import fits

    with fits.open(repo / A) as hdul:
        for h in hdul:
            del h.header["CHECKSUM"]
            del h.header["DATASUM"]
        hdul.writeto(tmp_path / "plain.fits")
    (tmp_path / "plain.fits").replace(repo / A)
    e = Expected(A, (repo / A).stat().st_size, sha256(repo / A))
    r = verify_files([e], repo, level="fits").result(A)
    assert (r.status, r.detail) == (Status.OK, "no CHECKSUM/DATASUM in HDU 0, HDU 1 (DATA): "
                                               "structure checked, bytes only by sha256")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["flip", "touch", "restore", "full", "stat"]),
                              st.integers(0, 2)), min_size=1, max_size=6))
def test_cache_never_vouches_for_changed_bytes(tmp_path_factory: pytest.TempPathFactory,
                                               ops: list[tuple[str, int]]) -> None:
    """Whatever happens to the files (bytes flipped with mtime restored, touched, restored),
    ``full`` always tells the truth, and ``stat`` never says ok on the cache's word for bytes
    that differ from the pinned ones."""
    d = tmp_path_factory.mktemp("ops")
    names = [A, B, C]
    for i, n in enumerate(names):
        write_constituent(d, n, rows=8 + 100 * i, seed=i)
    original = {n: (d / n).read_bytes() for n in names}
    pinned = [Expected(n, len(original[n]), hashlib.sha256(original[n]).hexdigest())
              for n in names]
    settle()
    with VerifyCache(d / "v.sqlite") as cache:
        for op, i in ops:
            path = d / names[i]
            if op == "flip":
                flip_byte(path)
            elif op == "touch":
                os.utime(path)
            elif op == "restore":
                path.write_bytes(original[names[i]])
            if op in ("flip", "touch", "restore"):
                settle()
                continue
            report = verify_files(pinned, d, level=op, cache=cache)
            for n in names:
                intact = (d / n).read_bytes() == original[n]
                r = report.result(n)
                if op == "full":
                    assert r.ok is intact
                elif r.basis == "cache" and r.ok:
                    assert intact


# --- names in any case (the walker's rule) ----------------------------------------------------


def test_names_in_any_case_are_the_pinned_constituent(repo: Path, pinned: list[Expected],
                                                      cache: VerifyCache) -> None:
    """A lower-case copy verifies as the pinned file; the same name in two cases is a
    duplicate (for the manifest check and the repository check alike), never two files."""
    os.replace(repo / A, repo / A.lower())
    report = verify_files(pinned, repo, level="full", cache=cache)
    assert report.ok and report.result(A).path == repo / A.lower()
    shutil.copyfile(repo / A.lower(), repo / A)
    dup = verify_files(pinned, repo, level="stat", cache=cache).result(A)
    assert (dup.status, dup.paths) == (Status.DUPLICATE, (repo / A, repo / A.lower()))
    entry = next(e for e in verify_repository(repo).entries if e.finding is Finding.DUPLICATE)
    assert (entry.name, entry.paths) == (A, (repo / A, repo / A.lower()))


def test_a_case_the_glob_misses_is_misnamed_not_present(repo: Path, pinned: list[Expected]
                                                        ) -> None:
    """``NAME.Ccf`` is not read by cifbuild (glob ``*.ccf|*.CCF``): verify says missing, the
    repository check says misnamed (a problem) with the name to rename it to."""
    odd = repo / (A[:-4] + ".Ccf")
    os.replace(repo / A, odd)
    assert verify_files(pinned, repo).result(A).status is Status.MISSING
    report = verify_repository(repo)
    assert not report.ok
    (entry,) = report.problems()
    assert (entry.finding, entry.name, entry.paths, entry.detail) == (
        Finding.MISNAMED, odd.name, (odd,),
        f"cifbuild's file glob does not match this case, so it does not see the file; rename it "
        f"to {A}")
