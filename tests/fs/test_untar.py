"""Unpacking a tarball someone else made: only what the caller pins is installed, each file
checked against its pin before it appears under its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from reprocal.errors import CheckFailed, InputError
from reprocal.fs._untar import scan, top_directory, unpack
from reprocal.testing import caldb_tarball


def test_scan_then_unpack_installs_the_pinned_files(tmp_path: Path) -> None:
    tb = caldb_tarball(tmp_path / "c.tar.gz")
    (tmp_path / "out").mkdir()  # the destination is the caller's: it must exist
    files = scan(tb)
    assert top_directory([f.path for f in files]) == "esas_caldb"
    got = unpack(tb, tmp_path / "out", {f.path: (f.size, f.sha256) for f in files})
    assert got == {f.path: (f.size, f.sha256) for f in files}
    assert sorted(p.name for p in (tmp_path / "out" / "esas_caldb").iterdir()) == sorted(
        f.path.split("/")[1] for f in files)


def test_a_member_that_is_not_as_pinned_is_never_installed(tmp_path: Path) -> None:
    tb = caldb_tarball(tmp_path / "c.tar.gz")
    f = scan(tb)[0]
    (tmp_path / "out").mkdir()
    with pytest.raises(CheckFailed):
        unpack(tb, tmp_path / "out", {f.path: (f.size, "00" * 32)})
    target = tmp_path / "out" / f.path
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir()] == []  # no .part left either


def test_a_pinned_file_the_tarball_lacks_is_an_error(tmp_path: Path) -> None:
    tb = caldb_tarball(tmp_path / "c.tar.gz")
    (tmp_path / "out").mkdir()
    with pytest.raises(InputError, match="not in the tarball: esas_caldb/nothing"):
        unpack(tb, tmp_path / "out", {"esas_caldb/nothing": (1, "00" * 32)})


def test_a_plain_tar_reads_as_a_gzipped_one(tmp_path: Path) -> None:
    assert scan(caldb_tarball(tmp_path / "c.tar", compress=False)) == scan(
        caldb_tarball(tmp_path / "c.tar.gz"))
