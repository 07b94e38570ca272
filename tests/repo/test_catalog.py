"""The catalogue: incremental indexing, expected content, problems, gaps."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from astropy.io import fits

from reprocal.errors import DuplicateConstituentError, InputError, LocalIOError, RepositoryError
from reprocal.fs._limits import Limits, use_limits
from reprocal.repo._catalog import Catalog, set_aside
from reprocal.repo._repository import Repository
from reprocal.testing._synthetic import generate


@pytest.fixture
def repo_dir(synthetic_repo, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the session's synthetic repository (tests here modify it)."""
    return Path(shutil.copytree(synthetic_repo.root, tmp_path / "ccf"))


def _attrs(c):  # type: ignore[no-untyped-def]
    return (c.filename, c.valdate, c.evaldate, c.subdate, c.category, c.extseqid)


def test_index_reads_every_header(synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A cold refresh indexes every generated file with the attributes it was written with."""
    repo = synthetic_repo
    cat = Catalog(tmp_path / "c.sqlite")
    report = cat.refresh([repo.root])
    assert report.scanned == report.read == len(repo.constituents)
    assert report.problems == ()
    got = sorted(_attrs(lf.constituent) for lf in cat.present([repo.root]))
    assert got == sorted(_attrs(c) for c in repo.constituents)


def test_warm_refresh_reads_nothing_then_only_what_changed(repo_dir: Path, tmp_path: Path) -> None:
    """Unchanged (size, mtime, inode) files are not re-read; a touched one is."""
    cat = Catalog(tmp_path / "c.sqlite")
    cat.refresh([repo_dir])
    again = cat.refresh([repo_dir])
    assert again.read == 0 and again.unchanged == again.scanned
    victim = sorted(repo_dir.iterdir())[5]
    st = victim.stat()
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cat.refresh([repo_dir]).read == 1


def test_vanished_file_is_remembered_as_expected(repo_dir: Path, tmp_path: Path) -> None:
    """A file deleted after indexing (rsync --delete) stays known, so its absence is visible."""
    cat = Catalog(tmp_path / "c.sqlite")
    cat.refresh([repo_dir])
    victim = sorted(repo_dir.iterdir())[0]
    victim.unlink()
    report = cat.refresh([repo_dir])
    assert report.removed == (str(victim),)
    assert victim.name in {c.filename for c in cat.expected()}
    assert victim.name in {c.filename for c in cat.known([repo_dir])}


def test_missing_winner_is_a_gap_not_a_silent_downgrade(repo_dir: Path, tmp_path: Path) -> None:
    """Deleting the selected issue makes the resolver report the gap cifbuild would hide."""
    repo = Repository(repo_dir, catalog=tmp_path / "c.sqlite")
    res = repo.resolve("2010-01-01", "2026-01-01")
    assert res.complete
    # Pick a type with several issues, so an older one takes over.
    victim = next(c for c in res.chosen if c.issue > 1)
    (repo_dir / victim.filename).unlink()
    repo.refresh()
    res2 = repo.resolve("2010-01-01", "2026-01-01")
    assert [g.missing.filename for g in res2.gaps] == [victim.filename]
    assert "is eligible but missing locally" in res2.gaps[0].describe()


def test_problems_are_reported_with_paths(repo_dir: Path, tmp_path: Path) -> None:
    """Non-FITS files, header/name disagreements and non-CCF names are problems, not picks."""
    (repo_dir / "EPN_CTI_0999.CCF").write_text("not fits")
    src = sorted(repo_dir.glob("EPN_*.CCF"))[0]
    shutil.copy(src, repo_dir / "EPN_NOTTHIS_0001.CCF")
    fits.PrimaryHDU().writeto(repo_dir / "random.ccf")
    cat = Catalog(tmp_path / "c.sqlite")
    report = cat.refresh([repo_dir])
    msgs = {Path(p.paths[0]).name: p.message for p in report.problems}
    assert set(msgs) == {"EPN_CTI_0999.CCF", "EPN_NOTTHIS_0001.CCF", "random.ccf"}
    assert "not a FITS file" in msgs["EPN_CTI_0999.CCF"]
    assert f"header says {src.name} but the file is named EPN_NOTTHIS_0001.CCF" in msgs["EPN_NOTTHIS_0001.CCF"]
    assert "'random.ccf' is not a constituent name" in msgs["random.ccf"]


def test_duplicates_across_directories(repo_dir: Path, tmp_path: Path) -> None:
    """One constituent in two directories is a problem, and never silently picked."""
    other = tmp_path / "other"
    other.mkdir()
    repo = Repository(repo_dir, catalog=tmp_path / "c.sqlite")
    chosen = repo.resolve("2010-01-01", "2026-01-01").chosen[0]
    shutil.copy(repo_dir / chosen.filename, other / chosen.filename)
    both = Repository([repo_dir, other], catalog=tmp_path / "c.sqlite")
    dup = [p for p in both.last_scan.problems if p.kind == "duplicate"]  # type: ignore[union-attr]
    assert [p.message for p in dup] == [f"{chosen.filename} is present 2 times"]
    with pytest.raises(DuplicateConstituentError, match=f"{chosen.filename} is present 2 times"):
        both.resolve("2010-01-01", "2026-01-01")


def test_duplicates_are_counted_per_directory_as_listed(repo_dir: Path, tmp_path: Path) -> None:
    """The duplicates found in SQL are those the per-directory listing gives: across two
    directories, and a directory given twice (each of its files listed twice)."""
    from reprocal.repo._catalog import Catalog

    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.refresh([repo_dir])
        once = [p for p in cat.problems([repo_dir]) if p.kind == "duplicate"]
        twice = [p for p in cat.problems([repo_dir, repo_dir]) if p.kind == "duplicate"]
    n = len([f for f in repo_dir.iterdir() if f.suffix == ".CCF"])
    assert once == [] and len(twice) == n
    assert all(p.message.endswith("is present 2 times") and len(set(p.paths)) == 1
               for p in twice)


def test_recursion_and_glob(tmp_path: Path) -> None:
    """Subdirectories are scanned only with recurse; the glob filters names as cifbuild's does."""
    repo = generate(tmp_path / "top", seed=3, scale=0.0001, files=40)
    sub = tmp_path / "top" / "sub"
    sub.mkdir()
    moved = sorted(repo.paths)[0]
    shutil.move(repo.paths[moved], sub / moved)
    flat = Repository(tmp_path / "top", catalog=tmp_path / "a.sqlite")
    deep = Repository(tmp_path / "top", catalog=tmp_path / "b.sqlite", recurse=True)
    assert len(flat.present()) == 39 and len(deep.present()) == 40
    none = Repository(tmp_path / "top", catalog=tmp_path / "c.sqlite", fileglob="*.fits")
    assert none.present() == []


def test_empty_repository_refused(tmp_path: Path) -> None:
    """Resolving against a directory without constituents is an error, not an empty CIF."""
    (tmp_path / "empty").mkdir()
    repo = Repository(tmp_path / "empty", catalog=tmp_path / "c.sqlite")
    with pytest.raises(RepositoryError, match="no calibration constituents found in"):
        repo.resolve("2010-01-01", "2026-01-01")


def test_a_file_that_is_not_a_catalogue_is_never_to_be_deleted(tmp_path: Path) -> None:
    """A --catalog path holding something else (a garbage file, a directory such as the
    repository, someone else's SQLite database) is refused without touching it and without
    the advice to delete it."""
    garbage = tmp_path / "c.sqlite"
    garbage.write_bytes(b"garbage" * 1000)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE precious (x)")
    for path in (garbage, tmp_path, other):
        before = path.read_bytes() if path.is_file() else None
        with pytest.raises(InputError, match="not a reprocal catalogue") as err:
            Catalog(path)
        assert "delete" not in err.value.one_line()
        assert (path.read_bytes() if path.is_file() else None) == before


def test_a_damaged_catalogue_says_how_to_rebuild(tmp_path: Path) -> None:
    """An SQLite catalogue whose pages are damaged is a RepositoryError naming the way out
    (``reprocal index --rebuild``), and set_aside keeps the damaged file."""
    db = tmp_path / "c.sqlite"
    Catalog(db).close()
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    db.write_bytes(bytes(data))
    with pytest.raises(RepositoryError, match="catalogue is damaged") as err:
        Catalog(db)
    assert "reprocal index --rebuild" in err.value.one_line()
    assert set_aside(db) == tmp_path / "c.sqlite.damaged"
    assert (tmp_path / "c.sqlite.damaged").read_bytes() == bytes(data)
    Catalog(db).close()  # a fresh one


def test_a_locked_catalogue_waits_with_a_bound_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    Catalog(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with use_limits(Limits(catalog_wait=0.3)), pytest.raises(
                RepositoryError, match=r"locked by another process \(waited 0.3 s\)"):
            Catalog(db)
        assert time.monotonic() - started < 5
    finally:
        holder.close()


def test_a_catalogue_directory_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(LocalIOError, match="cannot create the catalogue's directory"):
        Catalog(tmp_path / "file" / "sub" / "c.sqlite")


def test_master_index_import_makes_missing_files_known(repo_dir: Path, tmp_path: Path) -> None:
    """A master index written from a full repository tells a pruned copy what it lacks."""
    from reprocal.fits._calindex import write_master_index

    full = Repository(repo_dir, catalog=tmp_path / "full.sqlite")
    mif = tmp_path / "XMM_CALINDEX_0001.CCF"
    write_master_index(mif, [lf.constituent for lf in full.present()])
    pruned = tmp_path / "pruned"
    shutil.copytree(repo_dir, pruned)
    best = full.resolve("2010-01-01", "2026-01-01").chosen
    for c in best[:3]:
        (pruned / c.filename).unlink()
    cat = Catalog(tmp_path / "pruned.sqlite")
    assert cat.import_calindex(mif) == len(full.present())
    repo = Repository(pruned, catalog=cat)
    gaps = repo.resolve("2010-01-01", "2026-01-01").gaps
    assert sorted(g.missing.filename for g in gaps) == sorted(c.filename for c in best[:3])


def test_master_index_in_the_repository_is_imported(repo_dir: Path, tmp_path: Path) -> None:
    """An XMM_CALINDEX_nnnn.CCF lying among the constituents is read as expected content."""
    from reprocal.fits._calindex import write_master_index

    full = Repository(repo_dir, catalog=tmp_path / "full.sqlite")
    rows = [lf.constituent for lf in full.present()]
    victim = full.resolve("2010-01-01", "2026-01-01").chosen[0]
    write_master_index(repo_dir / "XMM_CALINDEX_0042.CCF", rows)
    (repo_dir / victim.filename).unlink()
    repo = Repository(repo_dir, catalog=tmp_path / "c.sqlite")
    assert repo.last_scan is not None and repo.last_scan.problems == ()
    gaps = repo.resolve("2010-01-01", "2026-01-01").gaps
    assert [g.missing.filename for g in gaps] == [victim.filename]


def test_import_after_resolve_is_seen(repo_dir: Path, tmp_path: Path) -> None:
    """Resolutions read the catalogue once per refresh; an import through the repository
    invalidates that, so a gap it reveals is reported at once."""
    from reprocal.fits._calindex import write_master_index

    repo = Repository(repo_dir, catalog=tmp_path / "c.sqlite")
    best = repo.resolve("2010-01-01", "2026-01-01").chosen[0]
    write_master_index(tmp_path / "mif.fits", [lf.constituent for lf in repo.present()])
    (repo_dir / best.filename).unlink()
    fresh = Repository(repo_dir, catalog=tmp_path / "fresh.sqlite")
    assert fresh.resolve("2010-01-01", "2026-01-01").gaps == ()
    assert fresh.import_index(tmp_path / "mif.fits") > 0
    assert [g.missing.filename for g in fresh.resolve("2010-01-01", "2026-01-01").gaps] == [best.filename]


def test_every_way_into_expected_records_the_same_rows(repo_dir: Path, tmp_path: Path) -> None:
    """Added, imported from a master index, found as a master index in the repository, or
    remembered when its file vanished: a constituent is expected with the same attributes."""
    from reprocal.fits._calindex import write_master_index

    gone = Catalog(tmp_path / "gone.sqlite")
    gone.refresh([repo_dir])
    files = gone.present([repo_dir])[:5]
    rows = [lf.constituent for lf in files]
    write_master_index(tmp_path / "mif.fits", rows)
    added = Catalog(tmp_path / "added.sqlite")
    assert added.add_expected(rows, "test") == 5
    imported = Catalog(tmp_path / "imported.sqlite")
    assert imported.import_calindex(tmp_path / "mif.fits") == 5
    (tmp_path / "inrepo").mkdir()
    shutil.copy(tmp_path / "mif.fits", tmp_path / "inrepo" / "XMM_CALINDEX_0001.CCF")
    found = Catalog(tmp_path / "found.sqlite")
    found.refresh([tmp_path / "inrepo"])
    for lf in files:
        lf.path.unlink()
    gone.refresh([repo_dir])
    want = sorted(_attrs(c) for c in rows)
    for cat in (added, imported, found, gone):
        assert sorted(_attrs(c) for c in cat.expected()) == want
        cat.close()
