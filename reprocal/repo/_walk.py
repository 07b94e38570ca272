"""The repository walker: how reprocal lists calibration directories, and its one name rule.

**The name rule.** Constituent names are case-insensitive: ``emos1_calsourcedata_0001.ccf`` and
``EMOS1_CALSOURCEDATA_0001.CCF`` are the same constituent, and names are compared in their
canonical form (:meth:`reprocal.core._names.ConstituentName.parse`: upper case, four-digit
issue). cifbuild only reads a file when its name matches ``fileglob`` (default ``*.ccf|*.CCF``:
lower- and upper-case extensions, matched as written, as a shell glob matches). So one file is
one of four :class:`Kind`\\ s:

=================  ==========================================================================
``constituent``    matches the glob and is a constituent name: cifbuild reads it
``misnamed``       a constituent name in a case the glob misses (``EPN_X_0001.Ccf``) although
                   the canonical name would match it: cifbuild does not see it; renaming it
                   to its canonical name fixes that
``not-ccf``        matches the glob but is not a constituent name: cifbuild tries to read it
``other``          anything else: not a calibration file as far as cifbuild knows
=================  ==========================================================================

**The walk.** :func:`list_files` lists the directories in order (``SAS_CCFPATH`` order, so "the
first in path order" is the first a list holds), each directory's entries sorted by name,
recursing in place into subdirectories when asked. It skips hidden names (``.NAME.part``,
``.NAME.xxxx.tmp``, ``.reprocal-fetch.lock``, hidden subdirectories), anything that is not a
regular file (FIFOs, sockets, devices, dangling symlinks) and never follows a symbolic link to a
directory (no loops); a symbolic link to a regular file is listed, with the real path of its
target. Each file costs one ``stat`` (following links), taken when it is listed.

Every command that looks for constituents in a repository goes through here: the catalogue
refresh, ``verify`` (a manifest and the whole repository), the fetch plan and engine,
``unused``, the image build and ``run``'s provenance. It is a module of its own rather than the
catalogue's walker extended because most of those never open the catalogue (verify, fetch and
``unused`` must work without its SQLite database, and the fetch plan sits a layer above it);
the catalogue is one more caller.
"""

from __future__ import annotations

import enum
import fnmatch
import functools
import os
import re
import stat as stat_mod
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import attrs

from reprocal.core._names import canonical_filename
from reprocal.errors import RepositoryError
from reprocal.repo._verifycache import FileStat

DEFAULT_GLOB = "*.ccf|*.CCF"
"""cifbuild's default ``fileglob``."""


class Kind(enum.Enum):
    """What a listed file is to cifbuild (see the module's table)."""

    CONSTITUENT = "constituent"
    MISNAMED = "misnamed"
    NOT_CCF = "not-ccf"
    OTHER = "other"


def patterns(fileglob: str) -> tuple[str, ...]:
    """cifbuild's ``fileglob`` split into its ``|``-separated patterns.

    >>> patterns("*.ccf|*.CCF")
    ('*.ccf', '*.CCF')
    """
    return tuple(p for p in fileglob.split("|") if p)


def canonical_name(filename: str) -> str | None:
    """The canonical constituent name of a bare file name, or ``None`` when it is not one.

    >>> canonical_name("emos1_calsourcedata_0001.ccf")
    'EMOS1_CALSOURCEDATA_0001.CCF'
    >>> canonical_name("README.txt") is None
    True
    """
    return canonical_filename(filename)


def classify(filename: str, globs: Sequence[str]) -> tuple[Kind, str | None]:
    """The :class:`Kind` of a file name under the glob patterns, and its canonical name (pure).

    >>> classify("epn_qe_0001.ccf", patterns(DEFAULT_GLOB))
    (<Kind.CONSTITUENT: 'constituent'>, 'EPN_QE_0001.CCF')
    >>> classify("EPN_QE_0001.Ccf", patterns(DEFAULT_GLOB))
    (<Kind.MISNAMED: 'misnamed'>, 'EPN_QE_0001.CCF')
    >>> classify("JUNK.CCF", patterns(DEFAULT_GLOB))
    (<Kind.NOT_CCF: 'not-ccf'>, None)
    """
    name = canonical_filename(filename)
    matches = _matcher(tuple(globs))
    globbed = matches(filename) is not None
    if name is None:
        return (Kind.NOT_CCF if globbed else Kind.OTHER), None
    if globbed:
        return Kind.CONSTITUENT, name
    if matches(name) is not None:
        return Kind.MISNAMED, name
    return Kind.OTHER, name


@functools.lru_cache(maxsize=64)
def _matcher(globs: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    """One compiled pattern for all of ``globs`` (``fnmatchcase`` of each, in one match)."""
    if not globs:
        return lambda _name: None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in globs)).match


@attrs.frozen
class ListedFile:
    """A regular file found by the walk, with the stat taken when it was listed."""

    where: str
    """Its path as listed, as text: the directory as given, then the names walked."""
    real: str
    """Its real path (symbolic links resolved): the verify cache's key."""
    stat: FileStat
    """Size, mtime, inode and ctime when listed (of the link's target for a link)."""
    name: str | None
    """Canonical constituent name; ``None`` when the file name is not a constituent name."""
    kind: Kind
    """What the file is to cifbuild."""

    @functools.cached_property  # a Path for each of 6,000 files was a third of a walk
    def path(self) -> Path:
        """Its path as listed (:attr:`where` as a :class:`~pathlib.Path`)."""
        return Path(self.where)

    @property
    def globbed(self) -> bool:
        """cifbuild's ``fileglob`` matches it (it reads the file)."""
        return self.kind in (Kind.CONSTITUENT, Kind.NOT_CCF)

    @classmethod
    def at(cls, path: str | os.PathLike[str], *, fileglob: str = DEFAULT_GLOB) -> ListedFile:
        """One file named directly (not found by a walk); raises ``OSError`` like ``os.stat``."""
        p = Path(path)
        kind, name = classify(p.name, patterns(fileglob))
        return cls(str(p), os.path.realpath(p), FileStat.of(os.stat(p)), name, kind)


def list_files(
    dirs: Iterable[str | os.PathLike[str]],
    *,
    recurse: bool = False,
    fileglob: str = DEFAULT_GLOB,
) -> list[ListedFile]:
    """Every regular, non-hidden file of ``dirs``, in path order (see the module docstring).

    A directory that does not exist holds nothing (a fetch destination not made yet, or a
    subdirectory removed during the walk); one that cannot be listed is a
    :class:`~reprocal.errors.RepositoryError`.
    """
    globs = patterns(fileglob)
    out: list[ListedFile] = []

    def walk(directory: str, real_dir: str) -> None:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise RepositoryError(f"cannot list the directory: {exc.strerror}", path=directory,
                                  hint="check its permissions") from None
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recurse:
                        walk(entry.path, os.path.join(real_dir, entry.name))
                    continue
                st = entry.stat()  # follows a symbolic link: the one stat of this file
            except OSError:  # vanished, or a dangling symbolic link
                continue
            if not stat_mod.S_ISREG(st.st_mode):
                continue
            real = (os.path.realpath(entry.path) if entry.is_symlink()
                    else os.path.join(real_dir, entry.name))
            kind, name = classify(entry.name, globs)
            out.append(ListedFile(entry.path, real, FileStat.of(st), name, kind))

    for d in dirs:
        walk(os.fspath(d), os.path.realpath(d))
    return out


def by_name(files: Iterable[ListedFile], kind: Kind = Kind.CONSTITUENT
            ) -> dict[str, list[ListedFile]]:
    """The files of ``kind`` (default: constituents) by canonical name, each list in path order
    (more than one file: a duplicate)."""
    out: dict[str, list[ListedFile]] = {}
    for f in files:
        if f.kind is kind and f.name is not None:
            out.setdefault(f.name, []).append(f)
    return out


def constituent_files(
    dirs: Iterable[str | os.PathLike[str]],
    *,
    recurse: bool = False,
    fileglob: str = DEFAULT_GLOB,
) -> dict[str, list[ListedFile]]:
    """The constituents of ``dirs`` by canonical name: :func:`by_name` of :func:`list_files`."""
    return by_name(list_files(dirs, recurse=recurse, fileglob=fileglob))


__all__ = ["DEFAULT_GLOB", "Kind", "ListedFile", "by_name", "canonical_name", "classify",
           "constituent_files", "list_files", "patterns"]
