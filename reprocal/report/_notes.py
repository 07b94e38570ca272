"""Release notes: which ESA note (``XMM-CCF-REL-<number>``) released a constituent, and where
it is.

Where ESA publishes them is data, not code: ``reprocal/data/release_notes.json`` holds the URL
of ESA's index of release notes and the pattern of one note's document
(``CAL-SRN-{number:04d}-{version}.pdf``), overridable with ``$REPROCAL_RELEASE_NOTES_INDEX`` and
``$REPROCAL_RELEASE_NOTE_URL``. Nothing is fetched: which note released which constituent comes
from a *local list* the user gives (``--release-notes FILE``, or ``$REPROCAL_RELEASE_NOTES``), a
CSV file::

    # release, document version, constituents (space-separated), title [, url]
    release,version,constituents,title
    XMM-CCF-REL-312,1-4,EPN_PHA_0001.CCF,EPIC-pn rate-dependent PHA correction

A constituent the list names links to its note's document (the pattern filled with the number
and version, or the row's own ``url``); any other links to the index, and says so.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import attrs

from reprocal._html import safe_href
from reprocal.core._names import ConstituentName
from reprocal.errors import InputError
from reprocal.fs._inputs import read_input
from reprocal.fs._limits import current_limits

ENV_LIST = "REPROCAL_RELEASE_NOTES"
ENV_INDEX = "REPROCAL_RELEASE_NOTES_INDEX"
ENV_NOTE = "REPROCAL_RELEASE_NOTE_URL"
_REL = re.compile(r"^(?:XMM-CCF-REL-)?(\d{1,5})\Z", re.IGNORECASE)
_VERSION = re.compile(r"^\d{1,3}(?:-\d{1,3}){0,3}\Z")


@attrs.frozen
class Places:
    """Where ESA publishes release notes."""

    index: str
    """The index page of every note."""
    note: str
    """One note's document: a pattern with ``{number}`` (and ``{version}``)."""

    def note_url(self, number: int, version: str | None) -> str | None:
        """The document of note ``number``, when the pattern can be filled."""
        if version is None and "{version" in self.note:
            return None
        return self.note.format(number=number, version=version or "")


def _check_pattern(text: str, where: str) -> str:
    if safe_href(text.replace("{", "").replace("}", "")) is None:
        raise InputError(f"{where}: {text!r} is not an http(s) URL")
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        text.format(number=1, version="1-0")
    except (ValueError, KeyError, IndexError) as exc:
        raise InputError(f"{where}: {text!r} is not a URL pattern with {{number}} and "
                         f"{{version}} ({exc})") from None
    if not fields <= {"number", "version"}:
        raise InputError(f"{where}: {text!r} names {', '.join(sorted(fields))}; a pattern may "
                         "use only {number} and {version}")
    return text


@cache
def _shipped() -> dict[str, Any]:
    data = resources.files("reprocal").joinpath("data/release_notes.json").read_text("utf-8")
    return dict(json.loads(data))


def places(environ: Mapping[str, str] | None = None) -> Places:
    """The shipped URLs, with the environment's overrides (checked)."""
    env = os.environ if environ is None else environ
    shipped = _shipped()
    index = env.get(ENV_INDEX) or shipped["index"]
    if safe_href(index) is None:
        raise InputError(f"${ENV_INDEX}: {index!r} is not an http(s) URL")
    note = _check_pattern(env.get(ENV_NOTE) or shipped["note"], f"${ENV_NOTE}")
    return Places(index, note)


@attrs.frozen
class ReleaseNote:
    """One release note of the local list."""

    number: int
    version: str | None
    title: str
    constituents: tuple[str, ...]
    """Canonical constituent names it released."""
    url: str | None = None
    """The row's own URL, when given."""

    @property
    def name(self) -> str:
        return f"XMM-CCF-REL-{self.number}"


@attrs.frozen
class NoteLink:
    """What a report says of one constituent's release note."""

    constituent: str
    note: ReleaseNote | None
    """The note the local list names (``None``: no list, or not in it)."""
    url: str
    """The note's document, else ESA's index."""

    @property
    def text(self) -> str:
        """The link's words: the note's number, else ``release notes (ESA index)``."""
        return self.note.name if self.note is not None else "release notes (ESA index)"

    def describe(self) -> str:
        if self.note is None:
            return f"{self.constituent}: no local release note; see ESA's index {self.url}"
        title = f" ({self.note.title})" if self.note.title else ""
        return f"{self.constituent}: {self.note.name}{title} {self.url}"

    def to_json(self) -> dict[str, Any]:
        n = self.note
        return {"constituent": self.constituent, "release": n.name if n else None,
                "title": n.title if n else None, "url": self.url}


def _row(row: Mapping[str, str | None], where: str) -> ReleaseNote:
    rel = (row.get("release") or "").strip()
    m = _REL.match(rel)
    if m is None:
        raise InputError(f"{where}: release {rel!r} is not XMM-CCF-REL-<number>")
    version = (row.get("version") or "").strip() or None
    if version is not None and not _VERSION.match(version):
        raise InputError(f"{where}: version {version!r} is not a document version (1-4)")
    names = []
    for raw in (row.get("constituents") or "").split():
        try:
            names.append(ConstituentName.parse(raw).filename)
        except InputError as exc:
            raise InputError(f"{where}: {exc.message}") from None
    url = (row.get("url") or "").strip() or None
    if url is not None and safe_href(url) is None:
        raise InputError(f"{where}: url {url!r} is not an http(s) URL")
    title = " ".join((row.get("title") or "").split())
    return ReleaseNote(int(m.group(1)), version, title[:200], tuple(names), url)


def parse_notes(text: str, *, source: str = "release notes") -> tuple[ReleaseNote, ...]:
    """The notes of a local list (``#`` lines are comments)."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    if not reader.fieldnames or not {"release", "constituents"} <= {
            (f or "").strip() for f in reader.fieldnames}:
        raise InputError(f"{source}: expected a header line release,version,constituents,title")
    reader.fieldnames = [(f or "").strip() for f in reader.fieldnames]
    return tuple(_row(row, f"{source}: data line {n}") for n, row in enumerate(reader, start=1))


def load_notes(path: str | os.PathLike[str]) -> tuple[ReleaseNote, ...]:
    """Read a local list of release notes (a regular file, within ``document-size``)."""
    data = read_input(path, limit=current_limits().document_size, what="release-note list",
                      error=InputError, name="document-size")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    return parse_notes(text, source=os.fspath(path))


@attrs.frozen
class Notes:
    """The local list (maybe empty) and where ESA publishes notes: links for constituents."""

    notes: tuple[ReleaseNote, ...]
    places: Places
    source: str | None = None
    """The list's file (``None``: no list given)."""

    def link(self, filename: str) -> NoteLink:
        """The link of one constituent: its note (the last of the list naming it), else the
        index."""
        found = [n for n in self.notes if filename in n.constituents]
        if not found:
            return NoteLink(filename, None, self.places.index)
        note = found[-1]
        url = note.url or self.places.note_url(note.number, note.version) or self.places.index
        return NoteLink(filename, note, url)

    def for_type(self, key: tuple[str, str]) -> list[NoteLink]:
        """A link per issue of ``key`` the list names, by issue."""
        prefix = f"{key[0]}_{key[1]}_"
        names = sorted({c for n in self.notes for c in n.constituents if c.startswith(prefix)})
        return [self.link(c) for c in names]


def notes_from(path: str | os.PathLike[str] | None) -> Notes:
    """The notes of ``path`` (``None``: ``$REPROCAL_RELEASE_NOTES``, else no list)."""
    chosen = path if path is not None else (os.environ.get(ENV_LIST) or None)
    notes = load_notes(chosen) if chosen is not None else ()
    return Notes(notes, places(), os.fspath(chosen) if chosen is not None else None)


def lookup(notes: Notes, queries: Iterable[str], *, field: str = "names") -> list[NoteLink]:
    """Links for each query: a constituent name, or a type (``EPN_CTI``: each issue the list
    names; the index when it names none)."""
    out: list[NoteLink] = []
    for q in queries:
        try:
            out.append(notes.link(ConstituentName.parse(q.strip()).filename))
            continue
        except InputError:
            pass
        from reprocal.report._timeline import parse_type

        key = parse_type(q, field=field)
        out += notes.for_type(key) or [NoteLink(f"{key[0]}_{key[1]}", None, notes.places.index)]
    return out


def links(notes: Notes, filenames: Sequence[str]) -> dict[str, NoteLink]:
    return {f: notes.link(f) for f in filenames}


__all__ = ["ENV_INDEX", "ENV_LIST", "ENV_NOTE", "NoteLink", "Notes", "Places", "ReleaseNote",
           "links", "load_notes", "lookup", "notes_from", "parse_notes", "places"]
