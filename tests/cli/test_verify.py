"""``reprocal verify`` through the real command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support.constituents import flip_byte, sha256, write_constituent

from reprocal.core._dates import CalDate
from reprocal.fits._headers import read_constituent
from reprocal.state._manifest import build, save_manifest

A, B, C = "EPN_CTI_0001.CCF", "EPN_CTI_0002.CCF", "EMOS1_QE_0003.CCF"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    """A repository and a manifest pinning A and C for one observation analysed in 2002;
    B (submitted 2005) is a newer issue of A's type."""
    repo = tmp_path / "ccf"
    write_constituent(repo, A, rows=8, seed=1)
    write_constituent(repo, B, rows=800, seed=2, subdate="2005-01-01T00:00:00")
    write_constituent(repo, C, rows=100, seed=3)
    chosen = [read_constituent(repo / n) for n in (C, A)]
    manifest = build(
        [("0201901401", CalDate.parse("2003-01-01"), CalDate.parse("2002-01-01"), "XMMCCF",
          chosen)],
        {n: ((repo / n).stat().st_size, sha256(repo / n)) for n in (A, C)})
    path = tmp_path / "m.json"
    save_manifest(manifest, path)
    return repo, path


def test_verify_full_ok_then_stat_from_cache(cli_process, setup: tuple[Path, Path]) -> None:  # type: ignore[no-untyped-def]
    """An intact repository: exit 0, a summary, the newer issue named; the next stat verify
    rests on the cache."""
    repo, manifest = setup
    r = cli_process("verify", str(manifest), "--ccf-path", str(repo), "--level", "full")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Level full: 2 pinned constituents: ok 2"
    assert "Newer: 0201901401: EPN_CTI_0002.CCF is newer than the pinned EPN_CTI_0001.CCF " \
           "(with today's analysis date)" in lines
    r = cli_process("verify", str(manifest), "--ccf-path", str(repo), "-v")
    assert r.stdout.splitlines()[:3] == [
        "  STATUS     CONSTITUENT        DETAIL",
        "  ok         EMOS1_QE_0003.CCF  unchanged since verified at level full",
        "  ok         EPN_CTI_0001.CCF   unchanged since verified at level full",
    ]
    r = cli_process("verify", str(manifest), "--ccf-path", str(repo), "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0
    assert doc["level"] == "stat" and doc["reused"] == 2 and doc["ok"] is True
    assert {x["basis"] for x in doc["results"]} == {"cache"}
    assert doc["calibration_id"].startswith("rpcal:2:state:")
    assert doc["newer"] == [{"observation": "0201901401", "pinned": A, "newer": B,
                             "at_pinned_dates": False}]


def test_verify_tampered_exits_1_with_a_table(cli, setup: tuple[Path, Path]) -> None:  # type: ignore[no-untyped-def]
    """A flipped byte: corrupt at full, one table row, exit 1 with one error line."""
    repo, manifest = setup
    flip_byte(repo / A)
    r = cli("verify", str(manifest), "--ccf-path", str(repo), "--level", "full", "--jobs", "2")
    assert r.returncode == 1
    assert r.stdout.splitlines()[:3] == [
        "  STATUS     CONSTITUENT       DETAIL",
        "  corrupt    EPN_CTI_0001.CCF  FITS checksum failed: HDU 1 (DATA) DATASUM/CHECKSUM "
        "mismatch; sha256 differs from the pinned one",
        "Level full: 2 pinned constituents: ok 1  corrupt 1",
    ]
    assert r.stderr == ("reprocal: error: 1 of 2 pinned constituents are not as pinned; "
                        "`reprocal fetch` can restore them\n")


def test_verify_repository(cli, setup: tuple[Path, Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--repository: a duplicate across directories fails the check (exit 1, JSON report)."""
    repo, _ = setup
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy2(repo / C, other / C)
    r = cli("verify", "--repository", "--ccf-path", f"{repo}:{other}", "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    # C's two copies are its one "duplicate" entry; "ok" counts the two other constituents
    assert doc["counts"]["duplicate"] == 1 and doc["counts"]["ok"] == 2
    text = cli("verify", "--repository", "--ccf-path", f"{repo}:{other}")
    assert text.stdout.splitlines()[-2] == (f"Repository {repo}:{other}: ok 2  duplicate 1")
    assert r.stderr == ("reprocal: error: 1 problem(s) in the repository; see the report "
                        "above\n")
    r = cli("verify", "--repository", "--ccf-path", str(repo), "--verbose")
    assert r.returncode == 0
    assert r.stdout.splitlines()[:2] == [
        "  FINDING          NAME               DETAIL",
        f"  ok               EMOS1_QE_0003.CCF   [{repo / C}]",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repository", "m.json"], "give a MANIFEST or --repository, not both"),
        ([], "give a MANIFEST to verify, or --repository"),
        (["--repository", "--level", "full"],
         "--level and --jobs go with a MANIFEST; --repository always checks FITS checksums"),
        (["m.json", "--recurse"], "--recurse goes with --repository"),
        (["m.json", "--level", "fast"],
         "Invalid value for '--level': 'fast' is not one of 'stat', 'fits', 'full'; see 'reprocal verify --help'"),
    ],
)
def test_verify_usage_errors(cli, setup: tuple[Path, Path], args: list[str],  # type: ignore[no-untyped-def]
                             message: str) -> None:
    """Wrong combinations: exit 2, one line."""
    repo, manifest = setup
    r = cli("verify", *args, "--ccf-path", str(repo), cwd=manifest.parent)
    assert (r.returncode, r.stderr) == (2, f"reprocal: error: {message}\n")


def test_verify_malformed_manifest(cli, setup: tuple[Path, Path]) -> None:  # type: ignore[no-untyped-def]
    """A manifest that is not JSON: exit 2, the file and line named, nothing verified."""
    repo, manifest = setup
    manifest.write_text("{not json")
    r = cli("verify", str(manifest), "--ccf-path", str(repo))
    assert r.returncode == 2
    assert r.stderr == (f"reprocal: error: {manifest}: line 1 column 2: not valid JSON "
                        "(Expecting property name enclosed in double quotes)\n")


def _rot(path: Path, cache: Path) -> None:
    """Bit rot as the verify cache sees it: one byte changed while size, mtime, inode and ctime
    stay what the cache remembers. A change under the file system (a failing disk) keeps the
    stat; a test cannot, so the cache entry is re-keyed to the changed file's stat instead,
    which leaves the cache in exactly the state real rot leaves it."""
    import os

    from reprocal.repo._verifycache import CacheEntry, FileStat, VerifyCache, now_ns

    real = os.path.realpath(path)
    with VerifyCache(cache) as vc:
        (good,) = vc.lookup([real]).values()
        flip_byte(path)
        vc.store([CacheEntry(real, FileStat.of(os.stat(real)), now_ns() + 10**12, good.sha256,
                             good.fits_ok, good.fits_problem, good.fits_kind)])


def test_full_reads_every_byte_every_time(cli, setup: tuple[Path, Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`verify --level full` reports the bytes it read: every pinned file hashed, also right
    after another verify; and it catches a file whose bytes rotted under an unchanged stat,
    which `stat` (the cache) cannot."""
    repo, manifest = setup
    cache = tmp_path / "verify.sqlite"
    args = (str(manifest), "--ccf-path", str(repo), "--cache", str(cache))
    for _ in range(2):
        r = cli("verify", *args, "--level", "full", "--json")
        doc = json.loads(r.stdout)
        assert (r.returncode, doc["hashed"], doc["fits_checked"], doc["reused"]) == (0, 2, 2, 0)
        assert {x["basis"] for x in doc["results"]} == {"sha256"}
    r = cli("verify", *args, "--level", "full")
    assert "  read now: 2 FITS-checked, 2 hashed; 0 vouched for by the verify cache" in \
        r.stdout.splitlines()
    _rot(repo / A, cache)
    stat = json.loads(cli("verify", *args, "--json").stdout)
    assert (stat["ok"], stat["reused"]) == (True, 2)  # the cache vouches: what stat can see
    r = cli("verify", *args, "--level", "full")
    assert r.returncode == 1
    assert r.stdout.splitlines()[1].startswith("  corrupt    EPN_CTI_0001.CCF  FITS checksum failed")
    r = cli("verify", *args, "--level", "fits", "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["fits_checked"] == 2


def test_rehash_at_stat_reads_like_full(cli, setup: tuple[Path, Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`--rehash` at the default level does not trust the cache: it is `--level full`."""
    repo, manifest = setup
    cache = tmp_path / "verify.sqlite"
    args = (str(manifest), "--ccf-path", str(repo), "--cache", str(cache))
    assert cli("verify", *args, "--level", "full").returncode == 0
    _rot(repo / A, cache)
    r = cli("verify", *args, "--rehash", "--json")
    doc = json.loads(r.stdout)
    assert (r.returncode, doc["level"], doc["hashed"], doc["counts"]["corrupt"]) == (1, "full", 2, 1)
