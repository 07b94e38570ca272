"""The fetch script's check of files no manifest pins: the FITS checks `reprocal fetch` makes
(size, header identity, every HDU's CHECKSUM/DATASUM, EXTSEQID), not "not empty"."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reprocal.core._constituent import Constituent
from reprocal.fetch._engine import FetchItem
from reprocal.fetch._mirrors import parse_mirror
from reprocal.fetch._script import FITS_CHECKER, identity, write_script
from reprocal.fits._checksum import check_fits
from reprocal.testing._synthetic import corrupt, truncate


def _check(path: Path, name: str, ident: str) -> subprocess.CompletedProcess[str]:
    """The script's checker, as the script runs it (python3, the program on stdin)."""
    python = shutil.which("python3") or sys.executable
    return subprocess.run([python, "-", str(path), name, ident], input=FITS_CHECKER,
                          capture_output=True, text=True, timeout=60)


def _flip_header_byte(p: Path) -> None:
    """Change one character inside the primary header's SUBDATE value (a header-only edit)."""
    data = bytearray(p.read_bytes())
    at = data.index(b"SUBDATE = '") + len(b"SUBDATE = '") + 3
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    p.write_bytes(bytes(data))


def _tail_byte(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[-1] ^= 0x01
    p.write_bytes(bytes(data))


TAMPERING = {
    "intact": lambda p: None,
    "data byte flipped": corrupt,
    "header byte flipped": _flip_header_byte,
    "last byte flipped": _tail_byte,
    "cut at a block": lambda p: truncate(p, p.stat().st_size - 2880),
    "cut mid-block": lambda p: truncate(p, p.stat().st_size - 100),
    "not FITS": lambda p: p.write_bytes(b"<html>not found</html>" + b" " * 2858),
}


@pytest.fixture(scope="module")
def constituent(synthetic_repo) -> Constituent:  # type: ignore[no-untyped-def]
    """A constituent with extensions and data (several HDUs to sum)."""
    return next(c for c in synthetic_repo.constituents if len(c.extseqid.split()) >= 2)


@pytest.mark.parametrize("case", list(TAMPERING))
def test_checker_agrees_with_reprocal(synthetic_repo, constituent: Constituent, tmp_path: Path,  # type: ignore[no-untyped-def]
                                      case: str) -> None:
    """Over a tampering table, the script's checker accepts exactly what reprocal's own FITS
    check accepts (with the index's identity and size the intact file has)."""
    p = tmp_path / constituent.filename
    shutil.copy(synthetic_repo.paths[constituent.filename], p)
    item = FetchItem(constituent.filename, None, None)
    TAMPERING[case](p)
    mine = check_fits(p, filename=constituent.filename)
    got = _check(p, constituent.filename, identity(item, constituent))
    assert (got.returncode == 0) is mine.ok, (case, got.stderr, mine.problem)
    if not mine.ok:
        assert got.stderr.startswith(f"fetch: {constituent.filename}: ")
        assert len(got.stderr.splitlines()) == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("subdate", "2001-01-01T00:00:00", "header SUBDATE is {got}, the index says 2001-01-01T00:00:00"),
    ("category", "SCISIMCCF", "header CATEGORY is XMMCCF, the index says SCISIMCCF"),
    ("size", 2880, "{size} bytes, the index says 2880"),
])
def test_checker_refuses_another_constituent(synthetic_repo, constituent: Constituent,  # type: ignore[no-untyped-def]
                                             tmp_path: Path, field: str, value: object,
                                             message: str) -> None:
    """Intact FITS that is not the constituent the index describes is refused, naming the
    field, as `reprocal fetch` refuses it (content-mismatch)."""
    import attrs

    from reprocal.core._dates import CalDate

    p = synthetic_repo.paths[constituent.filename]
    item = FetchItem(constituent.filename, value if field == "size" else None, None)  # type: ignore[arg-type]
    want = constituent
    if field in ("subdate", "category"):
        want = attrs.evolve(constituent, **{field: CalDate.parse(str(value)) if field == "subdate" else value})
    got = _check(p, constituent.filename, identity(item, want))
    assert got.returncode == 1
    assert got.stderr == f"fetch: {constituent.filename}: " + message.format(
        got=constituent.subdate.text, size=p.stat().st_size) + "\n"


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_script_fetches_an_unpinned_file_only_when_its_fits_checks_pass(  # type: ignore[no-untyped-def]
        synthetic_repo, constituent: Constituent, tmp_path: Path, shell: str) -> None:
    """A gap (no sha256): a corrupt copy on the first mirror is refused with its reason, the
    intact copy on the second is installed; nothing else appears."""
    bad, good = tmp_path / "bad", tmp_path / "good"
    bad.mkdir()
    good.mkdir()
    shutil.copy(synthetic_repo.paths[constituent.filename], bad)
    shutil.copy(synthetic_repo.paths[constituent.filename], good)
    corrupt(bad / constituent.filename)
    item = FetchItem(constituent.filename, constituent.fsize, None)
    script = write_script([item], [parse_mirror(str(bad)), parse_mirror(str(good))],
                          tmp_path / "get.sh", expected={constituent.filename: constituent})
    dest = tmp_path / "repo"
    proc = subprocess.run([shell, str(script), str(dest)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"fetched {constituent.filename}"]
    assert f"fetch: {constituent.filename}: HDU " in proc.stderr and "mismatch" in proc.stderr
    assert (dest / constituent.filename).read_bytes() == (good / constituent.filename).read_bytes()
    assert {p.name for p in dest.iterdir()} == {constituent.filename}


def test_script_without_python3_accepts_no_unpinned_file(synthetic_repo, constituent: Constituent,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    """Without python3 an unpinned file cannot be checked, so it is not accepted (exit 1),
    where the script used to take any non-empty file."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("sha256sum", "mkdir", "rm", "mv", "cp", "curl"):
        found = shutil.which(tool)
        if found:
            (tools / tool).symlink_to(found)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(synthetic_repo.paths[constituent.filename], mirror)
    item = FetchItem(constituent.filename, constituent.fsize, None)
    script = write_script([item], [parse_mirror(str(mirror))], tmp_path / "get.sh",
                          expected={constituent.filename: constituent})
    proc = subprocess.run([shutil.which("sh") or "/bin/sh", str(script), str(tmp_path / "repo")],
                          capture_output=True, text=True, timeout=60, env={"PATH": str(tools)})
    assert proc.returncode == 1
    assert "python3 (which checks its FITS checksums) is not installed: not accepted" in proc.stderr
    assert not (tmp_path / "repo" / constituent.filename).exists()
