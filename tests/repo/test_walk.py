"""The repository walker and its name rule, and every caller seeing the same constituents."""

from __future__ import annotations

import doctest
import fnmatch
import hashlib
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import reprocal.repo._walk as walk_module
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.errors import CheckFailed, RepositoryError, ReprocalError
from reprocal.fetch._item import FetchItem
from reprocal.fetch._plan import plan
from reprocal.fetch._unused import unused_files
from reprocal.fits._calindex import write_cif
from reprocal.fits._headers import read_constituent
from reprocal.image._build import _locate
from reprocal.provenance._calibration import cif_artifacts
from reprocal.repo._repocheck import Finding, verify_repository
from reprocal.repo._repository import Repository
from reprocal.repo._verify import Expected, Status, verify_files
from reprocal.repo._walk import (
    DEFAULT_GLOB,
    Kind,
    ListedFile,
    canonical_name,
    classify,
    constituent_files,
    list_files,
    patterns,
)
from reprocal.state._manifest import Manifest, build
from reprocal.testing._synthetic import generate


def test_doctests() -> None:
    """The examples in the module's docstrings hold."""
    result = doctest.testmod(walk_module)
    assert result.attempted >= 5 and result.failed == 0


@pytest.mark.parametrize(
    ("filename", "fileglob", "kind", "name"),
    [
        ("EPN_QE_0001.CCF", DEFAULT_GLOB, Kind.CONSTITUENT, "EPN_QE_0001.CCF"),
        ("epn_qe_0001.ccf", DEFAULT_GLOB, Kind.CONSTITUENT, "EPN_QE_0001.CCF"),
        ("Epn_Qe_0001.ccf", DEFAULT_GLOB, Kind.CONSTITUENT, "EPN_QE_0001.CCF"),
        ("EPN_QE_0001.Ccf", DEFAULT_GLOB, Kind.MISNAMED, "EPN_QE_0001.CCF"),
        ("JUNK.CCF", DEFAULT_GLOB, Kind.NOT_CCF, None),
        ("EPN_QE_1.CCF", DEFAULT_GLOB, Kind.NOT_CCF, None),
        ("notes.txt", DEFAULT_GLOB, Kind.OTHER, None),
        ("EPN_QE_0001.CCF", "*.ccf", Kind.OTHER, "EPN_QE_0001.CCF"),
        ("epn_qe_0001.ccf", "*.ccf", Kind.CONSTITUENT, "EPN_QE_0001.CCF"),
        ("EPN_QE_0001.CCF", "EPN_*|", Kind.CONSTITUENT, "EPN_QE_0001.CCF"),
        ("EMOS1_QE_0001.CCF", "EPN_*", Kind.OTHER, "EMOS1_QE_0001.CCF"),
    ],
)
def test_name_rule(filename: str, fileglob: str, kind: Kind, name: str | None) -> None:
    """One rule: any case of a constituent name is that constituent (canonical name); cifbuild's
    glob, matched as written, decides whether it is read; a case the glob misses although the
    canonical name would match is "misnamed"; another glob's exclusions are just "other"."""
    assert classify(filename, patterns(fileglob)) == (kind, name)
    assert canonical_name(filename) == name


# --- the mixed directory ----------------------------------------------------------------------


@attrs.frozen
class Mixed:
    top: Path
    pins: tuple[tuple[str, Path], ...]
    """(canonical name, path) of every generated constituent where it is now."""
    lower: Path
    sub: Path
    link: Path
    target: Path
    misnamed: Path


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Mixed:
    """A generated repository, then: one constituent renamed to lower case, one moved into a
    subdirectory, one reached through a symbolic link from outside, one in a case the glob
    misses (``.Ccf``); beside them hidden files named like constituents (a ``.part``, a
    ``.tmp``, a lock), a FIFO and a dangling link with constituent names, a hidden subdirectory,
    a link to a directory, a CCF-named non-constituent and a text file."""
    base = tmp_path_factory.mktemp("mixed")
    repo = generate(base / "ccf", seed=5, scale=1e-4, files=12)
    top = repo.root
    names = sorted(repo.paths)
    where = {n: top / n for n in names}
    where[names[0]] = top / names[0].lower()
    where[names[1]] = top / "sub" / names[1]
    where[names[3]] = top / (names[3][:-4] + ".Ccf")
    for n in (names[0], names[1], names[3]):
        where[n].parent.mkdir(exist_ok=True)
        os.replace(top / n, where[n])
    outside = base / "elsewhere"
    outside.mkdir()
    shutil.move(top / names[2], outside / names[2])
    (top / names[2]).symlink_to(outside / names[2])
    (top / f".{names[4]}.part").write_bytes(b"partial")
    (top / f".{names[4]}.1234abcd.tmp").write_bytes(b"temporary")
    (top / ".reprocal-fetch.lock").write_bytes(b"")
    os.mkfifo(top / "EPN_FIFO_0001.CCF")
    (top / "EPN_DANGLING_0001.CCF").symlink_to(base / "nowhere")
    (top / ".hidden").mkdir()
    shutil.copy(top / names[5], top / ".hidden" / names[5])
    (top / "linked").symlink_to(outside, target_is_directory=True)
    (top / "JUNK.CCF").write_bytes(b"not a constituent")
    (top / "notes.txt").write_text("notes")
    return Mixed(top, tuple(sorted(where.items())), where[names[0]], where[names[1]],
                 top / names[2], outside / names[2], where[names[3]])


def test_list_files_skips_what_it_must(mixed: Mixed) -> None:
    """Hidden files and directories, FIFOs, dangling links and links to directories are not
    listed; a link to a file is, with its target's real path and stat; names are canonical."""
    top = mixed.top
    listed = {f.path.name: f for f in list_files([top])}
    assert sorted(listed) == sorted(
        [*(p.name for _, p in mixed.pins if p.parent == top), "JUNK.CCF", "notes.txt"])
    lower = listed[mixed.lower.name]
    assert (lower.name, lower.kind) == (mixed.lower.name.upper(), Kind.CONSTITUENT)
    assert lower.stat.size == mixed.lower.stat().st_size
    assert lower.real == os.path.join(os.path.realpath(top), mixed.lower.name)
    link = listed[mixed.link.name]
    assert link.real == os.path.realpath(mixed.target) and link.kind is Kind.CONSTITUENT
    assert link.stat.ino == mixed.target.stat().st_ino
    assert listed[mixed.misnamed.name].kind is Kind.MISNAMED
    assert (listed["JUNK.CCF"].kind, listed["JUNK.CCF"].name) == (Kind.NOT_CCF, None)
    assert listed["notes.txt"].kind is Kind.OTHER
    deep = [f.path for f in list_files([top], recurse=True)]
    assert mixed.sub in deep and len(deep) == len(listed) + 1
    assert not any(".hidden" in p.parts or "linked" in p.parts for p in deep)
    assert deep == sorted(deep, key=lambda p: p.relative_to(top).parts)  # path order


def test_missing_directory_holds_nothing_and_unlistable_is_an_error(tmp_path: Path) -> None:
    """A directory not made yet holds nothing; one that cannot be listed is a one-line error."""
    assert list_files([tmp_path / "not-yet"]) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(RepositoryError) as err:
        list_files([tmp_path / "file"])
    assert err.value.one_line() == (f"{tmp_path / 'file'}: cannot list the directory: Not a "
                                    "directory; check its permissions")


def test_listed_file_at(tmp_path: Path) -> None:
    """One file named directly gets the same fields a walk gives it."""
    p = tmp_path / "epn_qe_0001.ccf"
    p.write_bytes(b"x" * 7)
    (got,) = list_files([tmp_path])
    assert ListedFile.at(p) == got
    assert (got.name, got.stat.size, got.globbed) == ("EPN_QE_0001.CCF", 7, True)


# --- every caller sees the same constituents --------------------------------------------------


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _manifest(pins: Iterable[tuple[str, Path]]) -> Manifest:
    """A manifest pinning ``pins`` (one observation each, so types never clash)."""
    pins = list(pins)
    return build([(f"{i:010d}", CalDate.parse("2004-01-01"), CalDate.parse("2020-01-01"),
                   "XMMCCF", [read_constituent(p)]) for i, (n, p) in enumerate(pins)],
                 {n: (p.stat().st_size, _digest(p)) for n, p in pins})


def seen_by_catalog(m: Mixed, recurse: bool, tmp: Path) -> set[str]:
    repo = Repository(m.top, catalog=tmp / "c.sqlite", recurse=recurse)
    return {lf.filename for lf in repo.present()}


def seen_by_repository_check(m: Mixed, recurse: bool, tmp: Path) -> set[str]:
    report = verify_repository(m.top, recurse=recurse)
    return {e.name for e in report.entries if e.finding is Finding.OK}


def seen_by_verify(m: Mixed, recurse: bool, tmp: Path) -> set[str]:
    expected = [Expected(n, p.stat().st_size, _digest(p)) for n, p in m.pins]
    report = verify_files(expected, m.top, level="full")
    return {r.filename for r in report.results if r.status is Status.OK}


def seen_by_fetch_plan(m: Mixed, recurse: bool, tmp: Path) -> set[str]:
    items = [FetchItem(n, p.stat().st_size, _digest(p)) for n, p in m.pins]
    return {e.item.filename for e in plan(items, m.top).entries if e.state == "present"}


def seen_by_unused(m: Mixed, recurse: bool, tmp: Path) -> set[str]:
    assert unused_files([_manifest(m.pins)], m.top).files == ()  # all pinned: none unused
    return {f.name for f in unused_files([], m.top).files if f.name is not None}


def seen_by_image_build(m: Mixed, recurse: bool, tmp: Path) -> set[str]:
    seen = set()
    for n, p in m.pins:
        try:
            _locate(_manifest([(n, p)]), [m.top])
        except CheckFailed:
            continue
        seen.add(n)
    return seen


def seen_by_run_provenance(m: Mixed, recurse: bool, tmp: Path) -> set[str]:
    cif = tmp / "ccf.cif"
    write_cif(cif, [read_constituent(p) for n, p in m.pins],
              obs_date="2004-01-01", analysis_date="2020-01-01")
    deps, _ = cif_artifacts(cif, with_constituents=True, ccf_dirs=[m.top], workdir=tmp)
    return {a.name for a in deps[1:] if a.sha256 is not None}


Caller = Callable[[Mixed, bool, Path], set[str]]
RECURSIVE: list[Caller] = [seen_by_catalog, seen_by_repository_check]
FLAT: list[Caller] = [
    seen_by_verify, seen_by_fetch_plan, seen_by_unused, seen_by_image_build,
    seen_by_run_provenance]


@pytest.mark.parametrize(
    ("caller", "recurse"),
    [*((c, r) for c in RECURSIVE for r in (False, True)), *((c, False) for c in FLAT)],
    ids=lambda v: v.__name__ if callable(v) else ("recurse" if v else "flat"),
)
def test_every_caller_sees_the_same_constituents(
        mixed: Mixed, caller: Caller, recurse: bool, tmp_path: Path) -> None:
    """Catalogue, verify, the repository check, the fetch plan, ``unused``, the image build and
    ``run``'s provenance find exactly the walker's constituents in a directory of mixed-case
    names, hidden files, a FIFO, a dangling link, a subdirectory, a file cifbuild's glob misses
    and non-constituents (the subdirectory only when recursing)."""
    want = set(constituent_files([mixed.top], recurse=recurse))
    assert want == {n for n, p in mixed.pins
                    if p != mixed.misnamed and (recurse or p != mixed.sub)}
    assert caller(mixed, recurse, tmp_path) == want


_NAME_CHARS = st.sampled_from("abcEPNQ_01.cCfF*?[]|-ı٠")


@settings(max_examples=400, deadline=None)
@example(name="epn_q_0001.ccf", globs=["*.ccf", "*.CCF"])
@example(name="EPN_Q_0001.Ccf", globs=["*.ccf", "*.CCF"])
@example(name="EPN_Q_0001.CCF", globs=["EPN_[QP]_*"])
@example(name="EPN_Q_0001.CCF", globs=[])
@given(name=st.text(_NAME_CHARS, max_size=20),
       globs=st.lists(st.text(_NAME_CHARS.filter(lambda c: c != "|"), min_size=1, max_size=8),
                      max_size=3))
def test_classify_agrees_with_fnmatch_and_the_name_grammar(name: str, globs: list[str]) -> None:
    """The walk's one compiled glob and its name fast path say what ``fnmatchcase`` of each
    pattern and :meth:`ConstituentName.parse` say."""
    try:
        canonical: str | None = ConstituentName.parse(name).filename
    except ReprocalError:
        canonical = None
    globbed = any(fnmatch.fnmatchcase(name, p) for p in globs)
    kind, got = classify(name, globs)
    assert got == canonical
    if canonical is None:
        assert kind is (Kind.NOT_CCF if globbed else Kind.OTHER)
    elif globbed:
        assert kind is Kind.CONSTITUENT
    else:
        misnamed = any(fnmatch.fnmatchcase(canonical, p) for p in globs)
        assert kind is (Kind.MISNAMED if misnamed else Kind.OTHER)
