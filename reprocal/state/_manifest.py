"""Manifests: a pinned calibration state, as canonical JSON.

A manifest pins one or more observations, each with its observation date (pinned, never
re-derived), its analysis date (a literal: ``now`` is resolved when pinning), its category, and the
constituents the rule selected. Constituents shared by observations are listed once, with size,
sha256 and the CALINDEX attributes needed to rewrite every CIF row for row.

The **calibration id** is the sha256 of the canonical calibration content (observations and
constituents only): the same state has the same id on any machine, whatever the repository paths,
the wall clock, the SAS version intended or the reprocal version that wrote it.

Loading validates JSON syntax, then ``schemas/manifest.schema.json`` (errors name the JSON path),
then the content (names, dates, references, the calibration id). Nothing is trusted before that.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from reprocal._version import __version__
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate, parse_optional
from reprocal.core._names import ConstituentName
from reprocal.errors import InputError, ManifestError
from reprocal.fs._atomic import atomic_write
from reprocal.state._schemas import json_path, load_schema, parse_json, read_json

SCHEMA_ID = "reprocal.manifest/v1"
KNOWN_SCHEMAS = (SCHEMA_ID,)


@attrs.frozen
class PinnedFile:
    """One constituent, pinned by its bytes."""

    constituent: Constituent
    """Its CALINDEX attributes (``fsize`` equals ``size``)."""
    size: int
    """Size in bytes."""
    sha256: str
    """Lower-case hex sha256 of the file's bytes."""

    @property
    def filename(self) -> str:
        return self.constituent.filename


@attrs.frozen
class PinnedObservation:
    """One observation's calibration state."""

    obs_id: str | None
    """The observation id (``0201901401``) when known."""
    obs_date: CalDate
    """The pinned observation date (from the ODF summary when pinned; never re-derived)."""
    analysis_date: CalDate
    """The analysis date, a literal."""
    category: str
    """cifbuild's ``category`` (``XMMCCF``)."""
    files: tuple[str, ...]
    """File names of the selected constituents, sorted by (scope, type)."""


@attrs.frozen
class Generator:
    """How the state was obtained (paths are not identity; the tool version is)."""

    tool: str = "reprocal"
    version: str = ""
    method: str = ""
    """E.g. ``pin: selection over a local repository`` or ``audit --pin: from ccf.cif``."""


@attrs.frozen
class Manifest:
    """A pinned calibration state."""

    observations: tuple[PinnedObservation, ...]
    files: tuple[PinnedFile, ...]
    """Every constituent any observation uses, once, sorted by file name."""
    sas_version: str | None = None
    """The SAS version the user intends, when given (not part of the calibration id)."""
    generator: Generator = Generator()

    def file(self, filename: str) -> PinnedFile:
        for f in self.files:
            if f.filename == filename:
                return f
        raise KeyError(filename)

    def constituents_for(self, obs: PinnedObservation) -> list[Constituent]:
        """The CIF rows of one observation, sorted by (scope, type)."""
        by_name = {f.filename: f.constituent for f in self.files}
        return sorted((by_name[n] for n in obs.files), key=lambda c: c.key)

    def labels(self) -> list[str]:
        """Unique output names per observation (obs id, else ``obs<N>``)."""
        return [o.obs_id or f"obs{i + 1}" for i, o in enumerate(self.observations)]

    @property
    def calibration_id(self) -> str:
        """``sha256:<hex>`` of the canonical calibration content."""
        return "sha256:" + hashlib.sha256(_canonical(_content(self))).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        doc = _content(self)
        doc["schema"] = SCHEMA_ID
        doc["calibration_id"] = self.calibration_id
        doc["sas_version"] = self.sas_version
        doc["generator"] = attrs.asdict(self.generator)
        return doc

    def dumps(self) -> bytes:
        """Canonical bytes: sorted keys, fixed separators, ASCII, trailing newline."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1, ensure_ascii=True).encode() + b"\n"

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of :meth:`dumps` (the file's own digest, unlike the calibration id)."""
        return "sha256:" + hashlib.sha256(self.dumps()).hexdigest()


def _canonical(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _constituent_dict(f: PinnedFile) -> dict[str, Any]:
    c = f.constituent
    return {
        "scope": c.scope, "typeid": c.typeid, "issue": c.issue, "size": f.size,
        "sha256": f.sha256, "valdate": c.valdate.text,
        "evaldate": c.evaldate.text if c.evaldate else None, "subdate": c.subdate.text,
        "date": c.date.text if c.date else None, "category": c.category,
        "telescop": c.telescop, "creator": c.creator, "extsequ": c.extsequ,
        "extseqid": c.extseqid, "md5": c.md5,
    }


def _content(m: Manifest) -> dict[str, Any]:
    return {
        "observations": [
            {"obs_id": o.obs_id, "obs_date": o.obs_date.text,
             "analysis_date": o.analysis_date.text, "category": o.category,
             "constituents": list(o.files)}
            for o in m.observations
        ],
        "constituents": {f.filename: _constituent_dict(f) for f in m.files},
    }


def build(
    observations: Iterable[tuple[str | None, CalDate, CalDate, str, Iterable[Constituent]]],
    hashes: Mapping[str, tuple[int, str]],
    *,
    sas_version: str | None = None,
    generator: Generator | None = None,
) -> Manifest:
    """Assemble a manifest from selections and ``{filename: (size, sha256)}``."""
    files: dict[str, PinnedFile] = {}
    obs = []
    for obs_id, obs_date, an_date, category, chosen in observations:
        names = []
        for c in sorted(chosen, key=lambda c: c.key):
            size, sha = hashes[c.filename]
            files[c.filename] = PinnedFile(attrs.evolve(c, fsize=size), size, sha)
            names.append(c.filename)
        obs.append(PinnedObservation(obs_id, obs_date, an_date, category, tuple(names)))

    return Manifest(
        tuple(obs), tuple(files[k] for k in sorted(files)), sas_version,
        generator or Generator("reprocal", __version__, "pin"),
    )


# --- loading --------------------------------------------------------------------------------


def schema() -> dict[str, Any]:
    """The manifest JSON Schema (``schemas/manifest.schema.json``)."""
    return load_schema("manifest.schema.json")


def from_dict(doc: Any, *, source: str = "manifest") -> Manifest:
    """Validate a parsed manifest document and build the model."""
    import jsonschema

    if not isinstance(doc, dict):
        raise ManifestError("top level must be a JSON object", path=source)
    version = doc.get("schema")
    if version not in KNOWN_SCHEMAS:
        raise ManifestError(
            f"$.schema: unknown manifest schema {version!r}; this reprocal reads "
            f"{', '.join(KNOWN_SCHEMAS)}", path=source,
            hint="upgrade reprocal, or check the file is a reprocal manifest",
        )
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        raise ManifestError(f"{json_path(err.absolute_path)}: {err.message}", path=source)
    try:
        files = []
        for name, entry in sorted(doc["constituents"].items()):
            where = f"$.constituents[{name!r}]"
            try:
                cname = ConstituentName.parse(name)
                if cname != ConstituentName(entry["scope"], entry["typeid"], entry["issue"]):
                    raise ManifestError(f"{where}: scope/typeid/issue disagree with the name")
                if cname.filename != name:
                    raise ManifestError(f"{where}: name is not canonical (use {cname.filename})")
                c = Constituent(
                    name=cname,
                    valdate=CalDate.parse(entry["valdate"], field=f"{where}.valdate"),
                    evaldate=parse_optional(entry["evaldate"], field=f"{where}.evaldate"),
                    subdate=CalDate.parse(entry["subdate"], field=f"{where}.subdate"),
                    date=parse_optional(entry["date"], field=f"{where}.date"),
                    category=entry["category"], telescop=entry["telescop"],
                    creator=entry["creator"], extsequ=entry["extsequ"],
                    extseqid=entry["extseqid"], md5=entry["md5"], fsize=entry["size"],
                )
            except ManifestError:
                raise
            except InputError as exc:
                raise ManifestError(f"{where}: {exc.message}") from None
            files.append(PinnedFile(c, entry["size"], entry["sha256"]))
        names = {f.filename for f in files}
        obs = []
        for i, o in enumerate(doc["observations"]):
            where = f"$.observations[{i}]"
            for j, n in enumerate(o["constituents"]):
                if n not in names:
                    raise ManifestError(
                        f"{where}.constituents[{j}]: {n!r} is not listed in $.constituents")
            try:
                obs_date = CalDate.parse(o["obs_date"], field=f"{where}.obs_date")
                an_date = CalDate.parse(o["analysis_date"], field=f"{where}.analysis_date")
            except InputError as exc:
                raise ManifestError(exc.message) from None
            obs.append(PinnedObservation(o["obs_id"], obs_date, an_date, o["category"],
                                         tuple(o["constituents"])))
        ids = [o.obs_id for o in obs if o.obs_id]
        if len(ids) != len(set(ids)):
            raise ManifestError("$.observations: an obs_id is listed twice")
        gen = doc.get("generator") or {}
        m = Manifest(tuple(obs), tuple(files), doc.get("sas_version"),
                     Generator(gen.get("tool", ""), gen.get("version", ""), gen.get("method", "")))
    except ManifestError as exc:
        raise ManifestError(exc.message, path=source) from None
    if doc["calibration_id"] != m.calibration_id:
        raise ManifestError(
            f"$.calibration_id is {doc['calibration_id']} but the content hashes to "
            f"{m.calibration_id}", path=source,
            hint="the manifest was edited by hand; re-pin it with `reprocal pin`",
        )
    return m


def loads(data: bytes | str, *, source: str = "manifest") -> Manifest:
    """Parse and validate manifest text."""
    return from_dict(parse_json(data, source=source, error=ManifestError), source=source)


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and validate a manifest file."""
    return from_dict(read_json(path, error=ManifestError), source=str(path))


def save_manifest(manifest: Manifest, path: str | os.PathLike[str]) -> Path:
    """Write the canonical bytes atomically (temp file beside the target, then rename)."""
    return atomic_write(path, manifest.dumps())


__all__ = [
    "DEFAULT_CATEGORY", "Generator", "Manifest", "PinnedFile", "PinnedObservation", "SCHEMA_ID",
    "atomic_write", "build", "from_dict", "load_manifest", "loads", "save_manifest", "schema",
]
