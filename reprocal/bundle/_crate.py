"""A bundle's RO-Crate 1.1 metadata (``ro-crate-metadata.json``): writing it, and the checks of
it that ``bundle verify`` makes without the reference validator.

What is written passes ``rocrate-validator``'s ``ro-crate-1.1`` profile at REQUIRED and
RECOMMENDED severity (the tests run it on every bundle they write):

* the ``@context`` is the 1.1 context extended with the one term it lacks, ``sha256`` (the
  Workflow Run RO-Crate term ``https://w3id.org/ro/terms/workflow-run#sha256``), since JSON-LD
  in compacted form may use only terms its context defines;
* the root data entity has ``name``, ``description``, ``datePublished``, ``license`` (a
  CreativeWork entity for the SPDX licence), ``author`` (Person entities, each with an
  ``affiliation``) and a ``publisher`` (an Organization with a ``url``), single values where
  there is one (RO-Crate prefers them to one-element arrays);
* one File entity per file, with ``contentSize``, ``encodingFormat`` and ``sha256``.

:func:`crate_problems` is the part of the validator's REQUIRED level a reprocal crate can break
(context, terms, root properties, the descriptor): ``bundle verify`` never passes a crate those
reject. ``schemas/ro-crate.schema.json`` holds the structural part of the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from reprocal.bundle._credits import Credits
from reprocal.core._dates import CalDate
from reprocal.state._manifest import Manifest

CRATE = "ro-crate-metadata.json"
CRATE_CONTEXT_URL = "https://w3id.org/ro/crate/1.1/context"
CRATE_SPEC = "https://w3id.org/ro/crate/1.1"
SHA256_TERM = "https://w3id.org/ro/terms/workflow-run#sha256"
CRATE_CONTEXT: list[Any] = [CRATE_CONTEXT_URL, {"sha256": SHA256_TERM}]
_FORMATS = {".json": "application/json", ".cif": "application/fits", ".tar": "application/x-tar",
            ".md": "text/markdown", ".html": "text/html"}
TERMS = frozenset({
    # the RO-Crate 1.1 context terms a reprocal crate uses (all schema.org / dcterms)
    "about", "affiliation", "author", "cite-as", "conformsTo", "contentSize", "datePublished",
    "description", "email", "encodingFormat", "hasPart", "identifier", "license", "name",
    "publisher", "url",
})
"""Terms of the 1.1 context that a reprocal crate may use; any other key must be defined by
the crate's own context extension, or the crate is not valid compacted JSON-LD for reprocal."""
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?\Z")


def _one_or_many(ids: Sequence[str]) -> Any:
    refs = [{"@id": i} for i in ids]
    return refs[0] if len(refs) == 1 else refs


def crate(manifest: Manifest, files: Sequence[str], sums: Mapping[str, str],
          sizes: Mapping[str, int], *, name: str, date: CalDate | None, credits: Credits,
          image_digests: Sequence[str] = (), doi: str | None = None) -> dict[str, Any]:
    """The RO-Crate 1.1 metadata: descriptor, root dataset, credits, one File per file.
    ``image_digests``: the image's manifest and config digests (its ``identifier``); ``doi``:
    the DOI the bundle is published under (the root's ``cite-as``)."""
    published = (date or max(o.analysis_date for o in manifest.observations)).date
    orgs = {credits.affiliation.url: credits.affiliation, credits.publisher.url: credits.publisher}
    root: dict[str, Any] = {
        "@id": "./", "@type": "Dataset", "name": name,
        "description": (f"XMM-Newton calibration state {manifest.calibration_id}: a reprocal "
                        f"manifest of {len(manifest.files)} CCF constituents, its CIFs and "
                        "provenance, with the commands to reproduce it."),
        "datePublished": published, "identifier": manifest.calibration_id,
        "license": {"@id": credits.license.url},
        "author": _one_or_many([p.id for p in credits.authors]),
        "publisher": {"@id": credits.publisher.url},
        "hasPart": [{"@id": f} for f in files],
    }
    if doi:
        root["cite-as"] = f"https://doi.org/{doi}"
    graph: list[dict[str, Any]] = [
        {"@id": CRATE, "@type": "CreativeWork", "conformsTo": {"@id": CRATE_SPEC},
         "about": {"@id": "./"}},
        root,
        credits.license.to_json(),
        *(p.to_json(credits.affiliation) for p in credits.authors),
        *(o.to_json() for _, o in sorted(orgs.items())),
    ]
    for f in files:
        entity: dict[str, Any] = {
            "@id": f, "@type": "File", "name": Path(f).name, "contentSize": str(sizes[f]),
            "sha256": sums[f],
            "encodingFormat": _FORMATS.get(Path(f).suffix, "application/octet-stream")}
        if f == "manifest.json":
            entity["description"] = "reprocal manifest: the pinned calibration state"
            entity["identifier"] = manifest.calibration_id
        elif f.startswith("records/"):
            entity["encodingFormat"] = "application/vnd.in-toto+json"
            entity["description"] = "provenance record (in-toto Statement, SLSA Provenance v1)"
        elif f.startswith("campaign/"):
            entity["description"] = ("campaign summary: which observation ran with which "
                                     "calibration id, image digest and SAS version")
        elif f == "report.html":
            entity["description"] = ("the bundle as one self-contained page: dates, calibration "
                                     "id, constituents, timelines, the commands to reproduce")
        elif f.startswith("cif/"):
            entity["description"] = "Calibration Index File (CALINDEX), as cifbuild writes it"
        elif f.startswith("image/"):
            entity["description"] = ("OCI/docker-archive calibration image, identified by its "
                                     "manifest digest and its config digest (the image ID)")
            if image_digests:
                entity["identifier"] = (image_digests[0] if len(image_digests) == 1
                                        else list(image_digests))
        graph.append(entity)
    return {"@context": CRATE_CONTEXT, "@graph": graph}


def _context_terms(context: Any) -> tuple[set[str], list[str]]:
    """Terms the crate's ``@context`` adds to 1.1, and what is wrong with the context."""
    if context == CRATE_CONTEXT_URL:
        return set(), []
    if not (isinstance(context, list) and context and context[0] == CRATE_CONTEXT_URL
            and all(isinstance(c, dict) for c in context[1:])):
        return set(), [f"{CRATE}: @context is neither {CRATE_CONTEXT_URL!r} nor a list "
                       "starting with it and followed by term definitions"]
    terms, problems = set(), []
    for extension in context[1:]:
        for term, iri in extension.items():
            if not (isinstance(iri, str) and re.match(r"^[a-z][a-z0-9+.-]*:", iri)):
                problems.append(f"{CRATE}: @context term {term!r} is not mapped to an IRI")
            terms.add(term)
    return terms, problems


def crate_problems(doc: Any) -> list[str]:
    """What the reference validator's REQUIRED level would refuse in a reprocal crate (beyond
    the structure ``schemas/ro-crate.schema.json`` checks): the context, and every property
    being a term the context defines (compacted JSON-LD)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("@graph"), list):
        return []  # the schema reports it
    defined, problems = _context_terms(doc.get("@context"))
    undefined: dict[str, list[str]] = {}
    for entity in doc["@graph"]:
        if not isinstance(entity, dict):
            continue
        for key in entity:
            if not key.startswith("@") and key not in TERMS and key not in defined:
                undefined.setdefault(key, []).append(str(entity.get("@id")))
    for key, ids in sorted(undefined.items()):
        problems.append(f"{CRATE}: property {key!r} (on {len(ids)} entities, e.g. {ids[0]}) is "
                        "not a term of the RO-Crate 1.1 context and the crate's @context does "
                        "not define it: not valid compacted JSON-LD")
    root = next((e for e in doc["@graph"] if isinstance(e, dict) and e.get("@id") == "./"), {})
    if "license" not in root:
        problems.append(f"{CRATE}: the root dataset has no license (RO-Crate 1.1 requires one)")
    date = root.get("datePublished")
    if isinstance(date, str) and not _DATE_RE.match(date):
        problems.append(f"{CRATE}: datePublished {date!r} is not an ISO 8601 date")
    return problems


__all__ = ["CRATE", "CRATE_CONTEXT", "CRATE_CONTEXT_URL", "CRATE_SPEC", "SHA256_TERM", "TERMS",
           "crate", "crate_problems"]
