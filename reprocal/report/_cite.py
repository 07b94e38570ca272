"""A sentence for the paper: the methods paragraph that says which calibration was used and how
to reproduce it, and a BibTeX entry for the bundle when it has a DOI.

Pure: a manifest and the bundle's credits in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs

from reprocal.errors import InputError
from reprocal.state._manifest import Manifest

_DOI = re.compile(r"^10\.\d{4,9}/[-._;()/:A-Za-z0-9]+\Z")


def parse_doi(text: str, *, field: str = "doi") -> str:
    """A DOI (``10.5281/zenodo.123``; a ``https://doi.org/`` URL or ``doi:`` prefix is
    dropped)."""
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", "", text.strip(), flags=re.I)
    if not _DOI.match(doi):
        raise InputError(f"{field}: {text!r} is not a DOI (10.<registrant>/<suffix>)")
    return doi


@attrs.frozen
class Credits:
    """What a BibTeX entry needs of a bundle, as its crate says it."""

    authors: tuple[str, ...] = ()
    publisher: str | None = None
    date: str | None = None
    """``YYYY-MM-DD``, the publication date."""
    title: str | None = None


@attrs.frozen
class Citation:
    """The methods paragraph and, with a DOI, the BibTeX entry."""

    paragraph: str
    bibtex: str | None
    doi: str | None
    notes: tuple[str, ...] = ()
    """What the paragraph could not say (no SAS version recorded, ...)."""

    def lines(self) -> list[str]:
        return [self.paragraph] + (["", self.bibtex] if self.bibtex else [])

    def to_json(self) -> dict[str, Any]:
        return {"paragraph": self.paragraph, "bibtex": self.bibtex, "doi": self.doi,
                "notes": list(self.notes)}


def _dates(values: Sequence[str], what: str) -> str:
    unique = sorted(set(values))
    if len(unique) == 1:
        return f"the {what} {unique[0]}"
    if len(unique) <= 3:
        return f"the {what}s {', '.join(unique[:-1])} and {unique[-1]}"
    return f"{what}s from {unique[0]} to {unique[-1]}"


def _observations(m: Manifest) -> str:
    labels = [o.label for o in m.observations if o.label]
    obs = [o.obs_date.text for o in m.observations]
    if len(m.observations) == 1:
        name = f"observation {labels[0]}" if labels else "the observation"
        return f"{name} (observation date {obs[0]} UTC)"
    shown = f" ({', '.join(labels)})" if labels and len(labels) <= 5 else ""
    return (f"{len(m.observations)} observations{shown}, with observation dates from "
            f"{min(obs)} to {max(obs)} UTC")


def paragraph(m: Manifest, *, sas_version: str | None, version: str, doi: str | None,
              manifest_name: str = "manifest.json") -> tuple[str, tuple[str, ...]]:
    """The methods paragraph, and what it could not say."""
    notes = []
    sas = sas_version or m.sas_version
    an = _dates([o.analysis_date.text for o in m.observations], "analysis date")
    text = (f"The XMM-Newton data were calibrated with the Current Calibration Files (CCF) "
            f"that the selection rule of the SAS task cifbuild gives for {_observations(m)} at "
            f"{an} UTC" + (f", using SAS {sas}" if sas else "") + ": "
            f"{len(m.files)} CCF constituents, calibration state {m.calibration_id}")
    if m.extras:
        kinds = ", ".join(f"{x.label} ({x.kind})" for x in m.extras)
        text += (f", together with {len(m.extras)} calibration set(s) outside the CCF: {kinds}")
    g = m.generator
    if g.version:  # the version that pinned it, which a later reprocal citing it is not
        text += (f". The state was pinned with {g.tool or 'reprocal'} {g.version} (every "
                 f"constituent by its SHA-256 digest, in {manifest_name})")
    else:
        text += (f". Every constituent is recorded by its SHA-256 digest in {manifest_name}")
        notes.append(f"the manifest records no tool version, so the paragraph names none "
                     f"(cited with reprocal {version})")
    text += (f" and can be reproduced offline by running reprocal fetch and then reprocal "
             f"rebuild on {manifest_name}")
    text += f"; it is archived at https://doi.org/{doi}." if doi else "."
    if not sas:
        notes.append("the manifest records no SAS version, so the paragraph names none: give "
                     "the SAS version you used, or pin with it")
    return text, tuple(notes)


_BIB_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "%": r"\%", "&": r"\&",
                "$": r"\$", "#": r"\#", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}


def bib_escape(text: str) -> str:
    """``text`` safe inside a BibTeX field (LaTeX specials escaped, one line).

    >>> bib_escape("a_b {x} 50%")
    'a\\\\_b \\\\{x\\\\} 50\\\\%'
    """
    return "".join(_BIB_SPECIAL.get(ch, ch) for ch in " ".join(text.split()))


def _bib_name(name: str) -> str:
    """``Jane Doe`` as ``Doe, Jane`` (a one-word or organisation name braced whole)."""
    parts = name.split()
    if len(parts) < 2:
        return "{" + bib_escape(name) + "}"
    return f"{bib_escape(parts[-1])}, {bib_escape(' '.join(parts[:-1]))}"


def bibtex(m: Manifest, doi: str, credits: Credits, *, version: str) -> str:
    """A ``@misc`` entry for the bundle with ``doi``."""
    year = (credits.date or max(o.analysis_date for o in m.observations).text)[:4]
    fields = [("author", " and ".join(_bib_name(a) for a in credits.authors) or None),
              ("title", "{" + bib_escape(credits.title or
                                         f"XMM-Newton calibration state {m.calibration_id}")
               + "}"),
              ("year", year),
              ("publisher", bib_escape(credits.publisher) if credits.publisher else None),
              ("doi", bib_escape(doi)), ("url", f"https://doi.org/{doi}"),
              ("note", bib_escape(f"XMM-Newton CCF calibration state {m.calibration_id}, "
                                  f"{len(m.files)} constituents; "
                                  + (f"pinned with {m.generator.tool or 'reprocal'} "
                                     f"{m.generator.version}" if m.generator.version
                                     else f"reprocal {version}")))]
    key = "rpcal_" + m.calibration_id.rsplit(":", 1)[-1][:12]
    body = ",\n".join(f"  {k:<9} = {{{v}}}" for k, v in fields if v)
    return f"@misc{{{key},\n{body}\n}}"


def citation(m: Manifest, *, version: str, doi: str | None = None,
             sas_version: str | None = None, credits: Credits | None = None) -> Citation:
    """The paragraph, and the BibTeX entry when there is a DOI."""
    text, notes = paragraph(m, sas_version=sas_version, version=version, doi=doi)
    bib = bibtex(m, doi, credits or Credits(), version=version) if doi else None
    return Citation(text, bib, doi, notes)


def crate_credits(doc: Any) -> tuple[Credits, str | None]:
    """The credits and DOI (``cite-as``) a bundle's crate gives; nothing it lacks is guessed."""
    graph = doc.get("@graph") if isinstance(doc, dict) else None
    if not isinstance(graph, list):
        return Credits(), None
    by_id = {e.get("@id"): e for e in graph if isinstance(e, dict)}
    root = by_id.get("./", {})

    def names(ref: Any) -> list[str]:
        refs = ref if isinstance(ref, list) else [ref]
        out = []
        for r in refs:
            entity = by_id.get(r.get("@id")) if isinstance(r, dict) else None
            if isinstance(entity, dict) and isinstance(entity.get("name"), str):
                out.append(entity["name"])
        return out

    publisher = names(root.get("publisher"))
    date = root.get("datePublished")
    title = root.get("name")
    cite_as = root.get("cite-as")
    doi = None
    if isinstance(cite_as, str):
        try:
            doi = parse_doi(cite_as, field="ro-crate-metadata.json: cite-as")
        except InputError:
            doi = None
    return Credits(tuple(names(root.get("author"))), publisher[0] if publisher else None,
                   date[:10] if isinstance(date, str) else None,
                   title if isinstance(title, str) else None), doi


__all__ = ["Citation", "Credits", "bib_escape", "bibtex", "citation", "crate_credits",
           "paragraph", "parse_doi"]
