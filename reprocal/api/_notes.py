"""``notes`` and ``cite``: the release notes of constituents; the paragraph and BibTeX entry that
say in a paper which calibration was used."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._inputs import PathLike, warn
from reprocal.errors import PARAMETERS, InputError, Names
from reprocal.report._cite import Citation
from reprocal.report._notes import NoteLink, Notes
from reprocal.state._manifest import Manifest


@attrs.frozen
class NotesResult:
    """The release notes :func:`notes` found."""

    links: tuple[NoteLink, ...]
    source: str | None
    """The local list read (``None``: none given, every link is ESA's index)."""

    def lines(self) -> list[str]:
        return [link.describe() for link in self.links]

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "notes": [link.to_json() for link in self.links]}


def notes(constituents: Sequence[str], *, release_notes: PathLike | None = None,
          names: Names = PARAMETERS) -> NotesResult:
    """The release note of each of ``constituents`` (constituent names, or types such as
    ``EPN_CTI`` for every issue the list names), from the local list ``release_notes`` (``None``:
    ``$REPROCAL_RELEASE_NOTES``, else ESA's index for every name)."""
    from reprocal.report._notes import lookup, notes_from

    if not constituents:
        raise InputError(f"{names('constituents')}: give at least one constituent name or type")
    found: Notes = notes_from(release_notes)
    if found.source is None:
        warn("no local list of release notes was given (nor $REPROCAL_RELEASE_NOTES): every "
             "name links to ESA's index of release notes")
    links = lookup(found, constituents, field=names("constituents"))
    return NotesResult(tuple(links), found.source)


@attrs.frozen
class CiteResult:
    """What :func:`cite` wrote for the paper."""

    citation: Citation
    manifest: Manifest

    def lines(self) -> list[str]:
        return self.citation.lines()

    def to_json(self) -> dict[str, Any]:
        doc = self.citation.to_json()
        doc["calibration_id"] = self.manifest.calibration_id
        return doc


def _bundle_crate(directory: Path) -> Any:
    from reprocal.state._schemas import read_json

    crate = directory / "ro-crate-metadata.json"
    return read_json(crate) if crate.exists() else None


def cite(manifest: PathLike, *, doi: str | None = None, sas_version: str | None = None,
         names: Names = PARAMETERS) -> CiteResult:
    """The methods paragraph for ``manifest`` (a manifest file, or a bundle directory or tar:
    its manifest and crate), and a BibTeX entry when there is a DOI (``doi``, else the bundle's
    ``cite-as``)."""
    from reprocal._version import __version__
    from reprocal.bundle._verify import bundle_documents, is_bundle_tar
    from reprocal.report._cite import Credits, citation, crate_credits, parse_doi
    from reprocal.state._manifest import V1ManifestNotice, load_manifest
    from reprocal.state._manifest import loads as loads_manifest

    path = Path(manifest)
    doc: Any = None
    if path.is_dir():
        if not (path / "manifest.json").exists():
            raise InputError(f"{names('manifest')}: {path} is a directory without manifest.json; "
                             "give a manifest or a bundle directory")
        doc = _bundle_crate(path)
        m = load_manifest(path / "manifest.json")
    elif not os.path.lexists(path):
        raise InputError(f"{names('manifest')}: {path}: no such manifest, bundle directory or "
                         "bundle tar")
    elif is_bundle_tar(path):
        data, doc = bundle_documents(path)
        with warnings.catch_warnings():  # a bundle's manifest is as published: never upgraded
            warnings.simplefilter("ignore", V1ManifestNotice)
            m = loads_manifest(data, source=f"{path}: manifest.json")
    else:
        m = load_manifest(path)
    credits, found_doi = crate_credits(doc) if doc is not None else (Credits(), None)
    chosen = parse_doi(doi, field=names("doi")) if doi else found_doi
    result = citation(m, version=__version__, doi=chosen, sas_version=sas_version,
                      credits=credits)
    for note in result.notes:
        warn(note)
    return CiteResult(result, m)


__all__ = ["CiteResult", "NotesResult", "cite", "notes"]
