"""Pinning calibration that is not in the CCF: an extra set from a directory, a file or a
tarball, hashed, checked, and installed into its home in the repository.

A source is checked whole before anything is written (bad input writes nothing):

* a **directory**: every regular file under it, by its path relative to the directory; a
  symbolic link, FIFO, device or socket anywhere in it is refused (a set holds regular files
  only: a link could point anywhere, and no copy of the set could reproduce it), hidden names
  (``.NAME``) are skipped and reported;
* a **file**: one file, by its base name;
* a **tarball** (an ESAS caldb as HEASARC ships it; plain or gzip): every member checked by
  :func:`reprocal.fs._untar.scan` (no ``..``, absolute, hidden, linked or duplicate members, no
  devices, within ``unpacked-size``); the set records the tarball's name, size and sha256, and
  its files are the tarball's as it unpacks.

Every path is then checked as a manifest checks it (:func:`reprocal.state._manifest.check_extras`).
:func:`install` puts the set into its home (``extras/<label>/`` of the repository, see
:mod:`reprocal.repo._extras`) and a tarball beside it (``extras/<NAME>``: so the repository is
a mirror of the set as it was pinned, tarball included), each file written to
``.NAME.part``, checked against its sha256 and renamed (:func:`reprocal.fs._tree.install`);
files already right are left alone, and nothing else in the home is touched.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

import attrs

from reprocal.core._names import check_label, check_relative_path
from reprocal.errors import InputError, ReprocalError
from reprocal.fs._hashing import hash_files, sha256_file
from reprocal.fs._inputs import kind_of, require_regular
from reprocal.fs._tree import file_chunks
from reprocal.fs._tree import install as install_file
from reprocal.fs._untar import MAX_MEMBERS, UnsafeArchiveError, unpack
from reprocal.fs._untar import scan as scan_tar
from reprocal.state._manifest import EXTRA_KINDS, ExtraFile, ExtraSet, check_extras

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")


@attrs.frozen
class ExtraSource:
    """An extra set to pin, as given: its label, kind, and where its bytes are on this machine."""

    label: str
    kind: str
    path: Path
    """A directory, a file, or a tarball (a local file: one given as a URL is downloaded
    first)."""
    form: str
    """``directory``, ``file`` or ``tarball``."""
    url: str | None = None
    """Where it came from, when it was given as a URL (recorded)."""


@attrs.frozen
class Scanned:
    """A source, read: the set to pin, and what was left out."""

    source: ExtraSource
    set: ExtraSet
    skipped: tuple[str, ...] = ()
    """Hidden names of a directory that were not pinned."""


def is_tarball(path: Path) -> bool:
    """A file whose name says it is a tar (``.tar``, ``.tar.gz``, ``.tgz``)."""
    return path.name.lower().endswith(TAR_SUFFIXES)


def split_option(value: str, *, field: str) -> tuple[str | None, str]:
    """``[LABEL=]PATH`` -> ``(label or None, path)`` (a URL's ``=`` stays in the path).

    >>> split_option("caldb=/data/esas", field="--extra"), split_option("/d/x", field="--extra")
    (('caldb', '/data/esas'), (None, '/d/x'))
    """
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InputError(f"{field}: empty value; give [LABEL=]DIR|FILE")
    label, sep, rest = text.partition("=")
    if sep and "/" not in label and ":" not in label and rest:
        return check_label(label, field=f"{field} label"), rest
    return None, text


def source_of(path: Path, *, kind: str, label: str | None, field: str, url: str | None = None
              ) -> ExtraSource:
    """The source at ``path`` (it must exist): a directory, a tarball (for an ESAS caldb given
    as ``.tar``/``.tar.gz``/``.tgz``) or one file. The label defaults to ``esas-caldb``,
    ``responses`` or the name of the directory or file."""
    if kind not in EXTRA_KINDS:
        raise InputError(f"{field}: kind {kind!r} is not one of {', '.join(EXTRA_KINDS)}")
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InputError(f"{field}: {path}: {exc.strerror or exc}",
                         hint="give a directory, a file or a tarball") from None
    if stat.S_ISDIR(st.st_mode):
        form = "directory"
    else:
        require_regular(path, what=f"{field} source")
        form = "tarball" if kind == "esas-caldb" and is_tarball(path) else "file"
    name = label or _default_label(kind, path, form, field)
    return ExtraSource(check_label(name, field=f"{field} label"), kind, path, form, url)


def _default_label(kind: str, path: Path, form: str, field: str) -> str:
    if kind == "esas-caldb":
        return "esas-caldb"
    if kind == "canned-response":
        return "responses"
    name = path.resolve().name if form == "directory" else path.name
    try:
        return check_label(name)
    except InputError:
        raise InputError(f"{field}: {name!r} cannot be a set's label", hint="give one: "
                         "LABEL=PATH (1-64 letters, digits, '.', '_' or '-')") from None


def scan(source: ExtraSource, *, jobs: int | None = None) -> Scanned:
    """Read ``source`` into the set to pin (see the module docstring); nothing is written."""
    try:
        if source.form == "tarball":
            files = [ExtraFile(f.path, f.size, f.sha256)
                     for f in scan_tar(source.path, source=str(source.path))]
            tarball = ExtraFile(source.path.name, source.path.stat().st_size,
                                sha256_file(source.path))
            x = ExtraSet(source.label, source.kind, tuple(files), source.url, tarball)
            skipped: tuple[str, ...] = ()
        elif source.form == "directory":
            x, skipped = _directory_set(source, jobs)
        else:
            st = source.path.stat()
            x = ExtraSet(source.label, source.kind,
                         (ExtraFile(source.path.name, st.st_size, sha256_file(source.path)),),
                         source.url)
            skipped = ()
    except UnsafeArchiveError:
        raise
    except OSError as exc:
        raise InputError(f"{source.path}: cannot read: {exc.strerror or exc}") from None
    try:
        check_extras([x], [], where=f"{source.label}")
    except ReprocalError as exc:
        raise InputError(f"{source.path}: {exc.message}") from None
    if source.form == "tarball":
        tb = x.tarball
        assert tb is not None
        try:
            check_label(tb.path, field="tarball name")
        except InputError:
            raise InputError(f"{source.path}: the tarball's name cannot be kept in extras/",
                             hint="rename it to 1-64 letters, digits, '.', '_' or '-'") from None
    return Scanned(source, x, skipped)


def _directory_set(source: ExtraSource, jobs: int | None) -> tuple[ExtraSet, tuple[str, ...]]:
    top = source.path
    rels: list[str] = []
    skipped: list[str] = []
    for root, dirs, names in os.walk(top):
        here = Path(root)
        rel_root = here.relative_to(top).as_posix()
        for name in sorted(dirs + names):
            rel = name if rel_root == "." else f"{rel_root}/{name}"
            if name.startswith("."):
                skipped.append(rel)
                continue
            st = os.lstat(here / name)
            if stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                raise InputError(f"{source.path}: {rel} is {kind_of(st.st_mode)}; a calibration "
                                 "set holds regular files only; nothing was pinned",
                                 hint="put the file itself there (a link could point anywhere)")
            check_relative_path(rel, field=f"{source.path}: a path")
            rels.append(rel)
            if len(rels) > MAX_MEMBERS:
                raise InputError(f"{source.path}: more than {MAX_MEMBERS} files")
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and stat.S_ISDIR(os.lstat(here / d).st_mode))
    if not rels:
        raise InputError(f"{source.path}: the directory holds no files to pin")
    digests = hash_files([top / r for r in rels], jobs=jobs)
    files: list[ExtraFile] = []
    for rel in sorted(rels):
        got = digests[os.fspath(top / rel)]
        if isinstance(got, OSError):
            raise InputError(f"{top / rel}: cannot read: {got.strerror or got}")
        files.append(ExtraFile(rel, (top / rel).stat().st_size, got))
    return ExtraSet(source.label, source.kind, tuple(files), source.url), tuple(skipped)


def install(scanned: Scanned, home: Path) -> list[tuple[Path, str]]:
    """Put the set into ``home`` (``D/extras/<label>``: made below the repository directory
    ``D``, each component a real directory); files already there with the pinned size and
    sha256 are left alone. Returns each file installed now, with its sha256."""
    src, x = scanned.source, scanned.set
    if src.form == "directory" and home.is_dir() and os.path.samefile(src.path, home):
        return []
    from reprocal.fs._tree import safe_dir

    root = safe_dir(home.parent.parent, f"{home.parent.name}/{home.name}")
    done: list[tuple[Path, str]] = []
    tb = x.tarball
    if src.form == "tarball" and tb is not None:
        kept = root.parent / tb.path  # a repository keeps the tarball: it is a mirror of it
        if not (kept.exists() and os.path.samefile(kept, src.path)) and not _right(kept, tb):
            install_file(root.parent, tb.path, file_chunks(src.path), size=tb.size,
                         sha256=tb.sha256)
            done.append((kept, tb.sha256))
    needed = {f.path: (f.size, f.sha256) for f in x.files if not _right(root / f.path, f)}
    if not needed:
        return done
    if src.form == "tarball":
        unpack(src.path, root, needed, source=str(src.path),
               done=lambda rel, _n, sha: done.append((root / rel, sha)))
        return done
    for rel, (size, sha) in sorted(needed.items()):
        origin = src.path if src.form == "file" else src.path / rel
        install_file(root, rel, file_chunks(origin), size=size, sha256=sha)
        done.append((root / rel, sha))
    return done


def _right(path: Path, f: ExtraFile) -> bool:
    """``path`` is a regular file of the pinned size and sha256 already."""
    try:
        st = os.lstat(path)
        return stat.S_ISREG(st.st_mode) and st.st_size == f.size and sha256_file(path) == f.sha256
    except OSError:
        return False


def unique_labels(scanned: Sequence[Scanned]) -> None:
    """Two sources given the same label is an error naming it."""
    seen: dict[str, Path] = {}
    for s in scanned:
        other = seen.setdefault(s.set.label, s.source.path)
        if other is not s.source.path:
            raise InputError(f"two extra sets are labelled {s.set.label!r} ({other} and "
                             f"{s.source.path})", hint="label them: --extra LABEL=PATH")


__all__ = ["ExtraSource", "Scanned", "install", "is_tarball", "scan", "source_of",
           "split_option", "unique_labels"]
