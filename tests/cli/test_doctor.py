"""``reprocal doctor`` as a user runs it on a site install: what is in effect and whether each
is usable; a catalogue on NFS (the mount table says so) without SQLite's write-ahead log; and
the commands that only read never write into the repository."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from reprocal.fits._odf import demo_summary_path
from reprocal.fs import _mounts
from reprocal.repo._catalog import Catalog

SHIM = Path(sys.executable).with_name("reprocal-cifbuild")


def _by_what(doc: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {f["what"]: f for f in doc["findings"]}


def test_doctor_shows_what_is_in_effect(cli, synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """SAS's variables, the repository, catalogue, caches, mirrors, and which cifbuild runs
    (the drop-in first on PATH); nothing written, nothing contacted; exit 0."""
    odf = tmp_path / "odf"
    odf.mkdir()
    shutil.copy(demo_summary_path(), odf / "0001_0999990101_SCX00000SUM.SAS")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if SHIM.exists():
        (bin_dir / "cifbuild").symlink_to(SHIM)
    env = {"SAS_CCFPATH": str(synthetic_repo.root), "SAS_ODF": str(odf), "SAS_CCF": "",
           "SAS_DIR": "", "XDG_CACHE_HOME": str(tmp_path / "cache"), "REPROCAL_CATALOG": "",
           "REPROCAL_MIRRORS": "http://127.0.0.1:9/ccf/",
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    r = cli("doctor", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["SAS_DIR", "UNSET"]
    assert any(ln.startswith("SAS_ODF ") and "observation 0999990101" in ln for ln in lines)
    doc = _by_what(json.loads(cli("doctor", "--json", env=env).stdout))
    assert doc["repository"]["status"] == "ok"
    assert doc["repository"]["value"] == str(synthetic_repo.root)
    assert doc["catalogue"] == {"what": "catalogue", "value": str(tmp_path / "cache" / "reprocal" /
                                                                   "catalog.sqlite"),
                                "status": "ok", "detail": "created on first use"}
    assert doc["mirrors"]["value"] == "http://127.0.0.1:9/ccf/"
    assert doc["mirrors"]["detail"] == "from $REPROCAL_MIRRORS; not contacted"
    if SHIM.exists():
        assert doc["cifbuild"]["detail"] == "reprocal's drop-in"
    assert not (tmp_path / "cache").exists()  # looked, wrote nothing


def test_doctor_names_what_is_not_usable(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A repository that is not there, an SAS_CCF naming nothing, a broken ODF: each a problem
    with the reason, and exit status 1."""
    (tmp_path / "odf").mkdir()
    env = {"SAS_CCFPATH": str(tmp_path / "nowhere"), "SAS_CCF": str(tmp_path / "ccf.cif"),
           "SAS_ODF": str(tmp_path / "odf"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    r = cli("doctor", "--json", env=env)
    assert r.returncode == 1
    doc = _by_what(json.loads(r.stdout))
    assert doc["SAS_CCF"]["status"] == "problem"
    assert doc["SAS_CCF"]["detail"] == f"{tmp_path / 'ccf.cif'} does not exist"
    assert doc["SAS_ODF"]["status"] == "problem"
    assert doc["repository"]["status"] == "problem"
    assert "nowhere" in doc["repository"]["detail"]


@pytest.fixture
def nfs_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A mount table in which ``tmp_path/home`` is an NFS mount (as a cluster's home)."""
    home = (tmp_path / "home").resolve()
    home.mkdir()
    table = tmp_path / "mounts"
    table.write_text(f"srv:/export/home {home} nfs4 rw,relatime 0 0\n/dev/sda1 / ext4 rw 0 0\n")
    monkeypatch.setattr(_mounts, "MOUNTS", table)
    return home


def test_a_catalogue_on_nfs_has_no_write_ahead_log(nfs_home: Path, cli, synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """SQLite's WAL needs memory shared between processes of one machine: on NFS the catalogue
    uses the rollback journal, doctor says so, and the catalogue still works."""
    db = nfs_home / "catalog.sqlite"
    Catalog(db).close()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    r = cli("index", "--ccf-path", str(synthetic_repo.root), "--catalog", str(db))
    assert r.returncode == 0, r.stderr
    assert not Path(f"{db}-wal").exists()
    doc = _by_what(json.loads(cli("doctor", "--catalog", str(db), "--json",
                                  env={"SAS_CCFPATH": ""}).stdout))
    assert doc["catalogue"]["status"] == "note"
    assert doc["catalogue"]["detail"] == ("on nfs4: SQLite without its write-ahead log (rollback "
                                          "journal; needs the server's locks)")


def test_a_local_catalogue_keeps_its_write_ahead_log(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite"
    Catalog(db).close()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _tree(root: Path) -> list[tuple[str, int, int]]:
    return sorted((str(p.relative_to(root)), p.lstat().st_size, p.lstat().st_mtime_ns)
                  for p in [root, *root.rglob("*")])


def test_reading_commands_never_write_into_the_repository(cli, synthetic_repo, samples: Path,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    """A site's shared repository: every command that only reads it leaves it exactly as it
    was (no lock, catalogue, cache or temporary file in it); what they write goes to the
    user's directories."""
    repo = tmp_path / "site-ccf"
    shutil.copytree(synthetic_repo.root, repo)
    before = _tree(repo)
    env = {"SAS_CCFPATH": str(repo), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "REPROCAL_CATALOG": ""}
    work = tmp_path / "work"
    work.mkdir()
    dates = ["--obs-date", "2010-01-01", "--analysis-date", "2020-01-01"]
    runs = [["index"], ["cif", *dates, "-o", "c.cif"], ["pin", *dates, "-o", "m.json"],
            ["verify", "m.json", "--level", "full"], ["verify", "--repository"],
            ["rebuild", "m.json", "-o", "out"], ["show", "c.cif"], ["audit", "c.cif"],
            ["diff", "obs=2010-01-01,an=2020-01-01", "c.cif"], ["unused", "m.json"],
            ["fetch", "m.json", "--dry-run", "--mirror", str(tmp_path)],
            ["cifbuild", "withobservationdate=yes", "observationdate=2010-01-01",
             "analysisdate=2020-01-01", "calindexset=b.cif"], ["doctor"]]
    for argv in runs:
        r = cli(*argv, env=env, cwd=work)
        assert r.returncode in (0, 1), (argv, r.stderr)
        assert _tree(repo) == before, argv
