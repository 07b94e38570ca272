"""Manifests: a pinned calibration state, its ids, its canonical bytes, and loading it safely.

A manifest pins one or more observations, each with its observation date (pinned, never
re-derived), its analysis date (a literal: ``now`` is resolved when pinning), its category and the
constituents the rule selected; each constituent with its size, sha256 and every CALINDEX
attribute its CIF row is written from. It may also pin *extra* calibration sets that are not in
the CCF (an ESAS caldb, canned response matrices).

**Ids** (:mod:`reprocal.core._calid`): every observation has an observation id
(``rpcal:2:obs:<hex>``) over its dates, category and constituents' content; the manifest has a
state id (``rpcal:2:state:<hex>``) over its observation ids and extra sets. Labels, paths, the
clock, the SAS version and the generator never enter an id, so the same state pinned by two
people, from an ODF or a date, under any label, in any order, gets the same ids.

**Version 2 layout.** Observations that select the same constituents share one entry of
``sets`` (lists of indices into the sorted ``constituents`` list), so 10,000 observations with a
few hundred distinct selections stay a small file. The file's bytes are canonical: members in
sorted order, one array element per line, each element in RFC 8785 form (see :func:`dumps`).

**Version 1** manifests (reprocal 0.1: constituents listed per observation, an id that hashed
labels) still load, with a :class:`V1ManifestNotice` warning; the model remembers their v1 id
(``upgraded_from``) and saving writes version 2.

Loading validates JSON syntax, then ``schemas/manifest.schema.json`` (errors name the JSON path),
then the content (names, dates, labels, references, one issue per type per observation, and the
state id against the content: a hand edit is refused). Nothing is trusted before that.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import attrs

from reprocal._version import __version__
from reprocal.core._calid import (
    CalibrationId,
    canonical,
    constituent_digest,
    constituent_fields,
    extra_id,
    observation_id,
    set_digest,
    state_id,
)
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate, parse_optional
from reprocal.core._names import ConstituentName, check_label, check_relative_path
from reprocal.errors import InputError, ManifestError, ReprocalNotice
from reprocal.fs._atomic import atomic_write
from reprocal.state._schemas import inline_refs, json_path, load_schema, parse_json, read_document
from reprocal.state._validated import memo_key, remember, seen

SCHEMA_V1 = "reprocal.manifest/v1"
SCHEMA_V2 = "reprocal.manifest/v2"
SCHEMA_ID = SCHEMA_V2
"""The schema this reprocal writes."""
KNOWN_SCHEMAS = (SCHEMA_V1, SCHEMA_V2)
EXTRA_KINDS = ("esas-caldb", "canned-response", "other")


class V1ManifestNotice(ReprocalNotice):
    """A version-1 manifest was loaded: it works, and ``reprocal manifest upgrade`` rewrites it."""


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
class RecordedGap:
    """A newer eligible issue that was known but missing when the observation was pinned with
    ``--allow-incomplete`` (the silent downgrade cifbuild would make, written down)."""

    missing: str
    """The issue the rule selects with a complete repository."""
    selected: str | None
    """The issue pinned instead (``None``: the type is absent)."""


@attrs.frozen
class PinnedObservation:
    """One observation's calibration state."""

    label: str | None
    """A label for the observation, usually its XMM ObsID (``0201901401``); in no id."""
    obs_date: CalDate
    """The pinned observation date (from the ODF summary when pinned; never re-derived)."""
    analysis_date: CalDate
    """The analysis date, a literal."""
    category: str
    """cifbuild's ``category`` (``XMMCCF``)."""
    files: tuple[str, ...]
    """File names of the selected constituents, sorted by (scope, type): the CIF's rows."""
    gaps: tuple[RecordedGap, ...] = ()
    """Known-but-missing newer issues at pin time (empty for a complete state)."""


@attrs.frozen
class ExtraFile:
    """One file of an extra calibration set."""

    path: str
    """Relative path inside the set (``/``-separated; no ``..``, never absolute)."""
    size: int
    sha256: str


@attrs.frozen
class ResponseChoice:
    """Why a canned response matrix was pinned (provenance: in no id). The matrix's bytes are
    the set's content; which observations it was chosen for and the epoch that decided it are
    how it was chosen, which the manifest keeps so that anyone can check the choice."""

    path: str
    """The matrix: a path of the set's files."""
    observations: tuple[str, ...]
    """The labels (:meth:`Manifest.labels`) of the observations it was chosen for."""
    camera: str
    """``pn``, ``m1`` or ``m2``."""
    mode: str
    """The mode asked for (``ff``; with the ADU threshold when asked, ``ff20``)."""
    patterns: str
    position: str
    epoch: str
    """``e1``: the epoch containing the observations' dates."""
    epoch_start: CalDate
    """The epoch's start (included)."""
    epoch_end: CalDate | None
    """Its end (excluded; ``None``: open-ended)."""
    epoch_source: str
    """Where the epoch's dates come from (ESA's slides, a table, the matrices' headers)."""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "observations": list(self.observations),
                "camera": self.camera, "mode": self.mode, "patterns": self.patterns,
                "position": self.position, "epoch": self.epoch,
                "epoch_start": self.epoch_start.text,
                "epoch_end": self.epoch_end.text if self.epoch_end else None,
                "epoch_source": self.epoch_source}


@attrs.frozen
class ExtraSet:
    """Calibration that is not in the CCF (an ESAS caldb, canned responses), pinned by bytes.

    Its id (``rpcal:2:extra:<hex>``) is over its ``kind`` and its files' paths, sizes and
    sha256 only; its label, where it came from (``url``, ``tarball``) and why its matrices were
    chosen (``choices``) are provenance, in no id. On disk it lives in ``extras/<label>/`` of a
    repository directory, a rebuilt state (``OUT/extras/<label>/``) or an image
    (``/ccf/extras/<label>/``), laid out as its paths say (a caldb as its tarball unpacks)."""

    label: str
    """The set's name in this manifest (``esas-caldb``); in no id."""
    kind: str
    """``esas-caldb``, ``canned-response`` or ``other``."""
    files: tuple[ExtraFile, ...]
    """Its files, sorted by path."""
    url: str | None = None
    """Where it came from, when known (provenance; in no id): the tarball's URL, or the base
    URL of the files (a mirror's ``extras/responses/``)."""
    tarball: ExtraFile | None = None
    """The tarball it was unpacked from, when it came as one (``path`` is its file name;
    provenance; in no id). Fetching the set fetches this tarball, checks it and unpacks it."""
    choices: tuple[ResponseChoice, ...] = ()
    """Why each canned matrix was pinned (canned-response sets only; provenance; in no id)."""

    @property
    def id(self) -> CalibrationId:
        return extra_id(self.kind, ((f.path, f.size, f.sha256) for f in self.files))

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def root(self) -> str:
        """Where the set's files are, relative to its directory: ``""``, or the one top
        directory every file is in (a caldb tarball that unpacks into ``esas_caldb/``): what
        ``ESAS_CALDB`` points at."""
        tops = {f.path.split("/", 1)[0] for f in self.files}
        if len(tops) == 1 and all("/" in f.path for f in self.files):
            return tops.pop()
        return ""

    def file(self, path: str) -> ExtraFile:
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)


@attrs.frozen
class Generator:
    """How the state was obtained (paths are not identity; the tool version is)."""

    tool: str = "reprocal"
    version: str = ""
    method: str = ""
    """E.g. ``pin: selection over a local repository`` or ``audit --pin: from ccf.cif``."""


@attrs.frozen
class _Ids:
    observations: tuple[CalibrationId, ...]
    state: CalibrationId


@attrs.frozen
class Manifest:
    """A pinned calibration state."""

    observations: tuple[PinnedObservation, ...]
    files: tuple[PinnedFile, ...]
    """Every constituent any observation uses, once, sorted by file name."""
    extras: tuple[ExtraSet, ...] = ()
    """Extra calibration sets (not in the CCF), sorted by label."""
    sas_version: str | None = None
    """The SAS version the state was pinned for, when known (in no id)."""
    generator: Generator = Generator()
    upgraded_from: str | None = None
    """The version-1 id of the manifest this one was upgraded from."""
    source_schema: str = attrs.field(default=SCHEMA_V2, eq=False)
    """The schema of the file it was loaded from (version 1 files load too)."""
    _ids: _Ids = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_ids", _compute_ids(self))

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
        """Unique output names per observation (its label, else ``obs<N>``)."""
        return [o.label or f"obs{i + 1}" for i, o in enumerate(self.observations)]

    def extra(self, label: str) -> ExtraSet:
        """The extra calibration set labelled ``label``."""
        for x in self.extras:
            if x.label == label:
                return x
        raise KeyError(label)

    @property
    def caldb(self) -> ExtraSet | None:
        """The ESAS caldb set, when the state pins one (``ESAS_CALDB`` points at it)."""
        return next((x for x in self.extras if x.kind == "esas-caldb"), None)

    @property
    def observation_ids(self) -> tuple[CalibrationId, ...]:
        """The observation id of each observation, in order."""
        return self._ids.observations

    def observation_id(self, obs: PinnedObservation | int) -> CalibrationId:
        """The observation id of ``obs`` (an observation of this manifest, or its index)."""
        index = obs if isinstance(obs, int) else self.observations.index(obs)
        return self._ids.observations[index]

    @property
    def state_id(self) -> CalibrationId:
        """The id of the whole state: its observations and extra calibration sets."""
        return self._ids.state

    @property
    def calibration_id(self) -> str:
        """The state id as text (``rpcal:2:state:<hex>``): the manifest's calibration id."""
        return str(self._ids.state)

    def to_dict(self) -> dict[str, Any]:
        """The version-2 document."""
        files = list(self.files)
        index = {f.filename: i for i, f in enumerate(files)}
        sets: list[list[int]] = []
        set_of: dict[tuple[int, ...], int] = {}
        observations = []
        set_of_rows: dict[tuple[str, ...], int] = {}  # 10,000 observations, a few hundred sets
        for o in self.observations:
            k = set_of_rows.get(o.files, -1)
            if k < 0:
                key = tuple(sorted(index[n] for n in o.files))
                k = set_of_rows[o.files] = set_of.setdefault(key, len(sets))
                if k == len(sets):
                    sets.append(list(key))
            entry: dict[str, Any] = {"label": o.label, "obs_date": o.obs_date.text,
                                     "analysis_date": o.analysis_date.text,
                                     "category": o.category, "set": k}
            if o.gaps:
                entry["gaps"] = [{"missing": g.missing, "selected": g.selected} for g in o.gaps]
            observations.append(entry)
        return {
            "schema": SCHEMA_V2,
            "state_id": self.calibration_id,
            "observations": observations,
            "sets": sets,
            "constituents": [constituent_fields(f.constituent, f.sha256) for f in files],
            "extras": [_extra_dict(x) for x in self.extras],
            "sas_version": self.sas_version,
            "generator": attrs.asdict(self.generator),
            "upgraded_from": self.upgraded_from,
        }

    def dumps(self) -> bytes:
        """The canonical bytes of the file (see :func:`dumps`)."""
        return dumps(self.to_dict())

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of :meth:`dumps` (the file's own digest, unlike the ids)."""
        return "sha256:" + hashlib.sha256(self.dumps()).hexdigest()

    def to_table(self) -> Any:
        """Every pinned constituent, with its size and sha256, as an astropy ``Table``."""
        from reprocal.fits._tabular import constituent_table

        return constituent_table([f.constituent for f in self.files],
                                 size=[f.size for f in self.files],
                                 sha256=[f.sha256 for f in self.files])

    def to_pandas(self) -> Any:
        """:meth:`to_table` as a pandas ``DataFrame`` (pandas must be installed)."""
        from reprocal.fits._tabular import to_pandas

        return to_pandas(self.to_table())

    def _repr_html_(self) -> str:
        from reprocal._html import element, join, table

        obs = [[label, str(oid), o.obs_date.text, o.analysis_date.text, o.category, len(o.files)]
               for label, oid, o in zip(self.labels(), self.observation_ids, self.observations,
                                        strict=True)]
        files = [[f.filename, f.constituent.valdate.text,
                  f.constituent.evaldate.text if f.constituent.evaldate else "open",
                  f.constituent.subdate.text, f.size, f.sha256[:16] + "..."] for f in self.files]
        return str(join([
            element("p", f"Calibration state {self.calibration_id}: {len(self.observations)} "
                         f"observation(s), {len(self.files)} constituents"
                         + (f", {len(self.extras)} extra set(s)" if self.extras else "")),
            table(["observation", "observation id", "OBSVDATE", "ANALDATE", "category",
                   "constituents"], obs),
            table(["constituent", "valid from", "valid to", "submitted", "bytes", "sha256"],
                  files)]))


def _compute_ids(m: Manifest) -> _Ids:
    digests = {f.filename: constituent_digest(attrs.evolve(f.constituent, fsize=f.size), f.sha256)
               for f in m.files}
    sets: dict[tuple[str, ...], str] = {}
    obs_ids = []
    for o in m.observations:
        set_hex = sets.get(o.files)
        if set_hex is None:
            set_hex = sets[o.files] = set_digest(digests[n] for n in o.files)
        obs_ids.append(observation_id(o.obs_date.text, o.analysis_date.text, o.category, set_hex))
    return _Ids(tuple(obs_ids), state_id(obs_ids, (x.id for x in m.extras)))


def _extra_dict(x: ExtraSet) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "label": x.label, "kind": x.kind, "url": x.url,
        "tarball": ({"name": x.tarball.path, "size": x.tarball.size,
                     "sha256": x.tarball.sha256} if x.tarball else None),
        "files": [attrs.asdict(f) for f in x.files],
    }
    if x.choices:  # written only when there are any: older sets keep their bytes
        doc["choices"] = [c.to_dict() for c in x.choices]
    return doc


def check_extras(extras: Sequence[ExtraSet], labels: Sequence[str], *, where: str = "$.extras"
                 ) -> None:
    """What a manifest's extra sets must be, whoever made them (pin, ``response``, a load):
    unique labels; paths relative, without ``..``, hidden or empty parts, unique and never both
    a file and a directory; a tarball named by a plain file name that is no set's label; at most
    one ESAS caldb (``ESAS_CALDB`` names one); choices only in canned-response sets, each about
    a file of the set and observations of the manifest. :class:`ManifestError` naming the
    field."""
    seen: set[str] = set()
    known = set(labels)
    set_labels = {x.label for x in extras}
    for i, x in enumerate(extras):
        at = f"{where}[{i}]"
        try:
            check_label(x.label, field=f"{at}.label")
        except InputError as exc:
            raise ManifestError(exc.message) from None
        if x.label in seen:
            raise ManifestError(f"{at}.label: {x.label!r} is the label of two sets")
        seen.add(x.label)
        if x.kind not in EXTRA_KINDS:
            raise ManifestError(f"{at}.kind: {x.kind!r} is not one of {', '.join(EXTRA_KINDS)}")
        _check_paths(x, at)
        if x.tarball is not None:
            try:
                check_label(x.tarball.path, field=f"{at}.tarball.name")
            except InputError as exc:
                raise ManifestError(exc.message) from None
            if x.tarball.path in set_labels:
                raise ManifestError(f"{at}.tarball.name: {x.tarball.path!r} is also the label of "
                                    "a set (both live in extras/)")
        paths = {f.path for f in x.files}
        for j, c in enumerate(x.choices):
            if x.kind != "canned-response":
                raise ManifestError(f"{at}.choices: only canned-response sets record choices")
            if c.path not in paths:
                raise ManifestError(f"{at}.choices[{j}].path: {c.path!r} is not a file of the set")
            strange = [o for o in c.observations if o not in known]
            if strange:
                raise ManifestError(f"{at}.choices[{j}].observations: {strange[0]!r} is not an "
                                    "observation of the manifest")
    caldbs = [x.label for x in extras if x.kind == "esas-caldb"]
    if len(caldbs) > 1:
        raise ManifestError(f"{where}: {len(caldbs)} ESAS caldb sets ({', '.join(caldbs)}); "
                            "ESAS_CALDB names one")


def _check_paths(x: ExtraSet, at: str) -> None:
    paths = []
    for j, f in enumerate(x.files):
        try:
            check_relative_path(f.path, field=f"{at}.files[{j}].path")
        except InputError as exc:
            raise ManifestError(exc.message) from None
        if any(part.startswith(".") for part in f.path.split("/")):
            raise ManifestError(f"{at}.files[{j}].path: {f.path!r} has a hidden part ('.NAME'); "
                                "a set's temporary files are hidden, its files never")
        paths.append(f.path)
    if paths != sorted(set(paths)):
        raise ManifestError(f"{at}.files: paths must be unique and sorted")
    dirs = {p.rsplit("/", 1)[0] for p in paths if "/" in p}
    dirs |= {d.rsplit("/", i)[0] for d in list(dirs) for i in range(1, d.count("/") + 1)}
    both = sorted(set(paths) & dirs)
    if both:
        raise ManifestError(f"{at}.files: {both[0]!r} is both a file and a directory")


def with_extras(manifest: Manifest, extras: Iterable[ExtraSet]) -> Manifest:
    """``manifest`` with ``extras`` added, each replacing the set of its label (checked by
    :func:`check_extras`); the state id changes with their content."""
    by_label = {x.label: x for x in manifest.extras}
    by_label.update({x.label: x for x in extras})
    sets = tuple(by_label[k] for k in sorted(by_label))
    check_extras(sets, manifest.labels())
    return attrs.evolve(manifest, extras=sets)


def dumps(doc: Mapping[str, Any]) -> bytes:
    """Canonical manifest bytes: the top-level members in sorted order, one per line; a
    non-empty array value one element per line; every value and element in RFC 8785 (JCS) form;
    a trailing newline. Parsing the bytes gives ``doc`` back, and the same document always gives
    the same bytes."""
    parts = []
    for key in sorted(doc):
        value = doc[key]
        head = json.dumps(key).encode() + b":"
        if isinstance(value, list) and value:
            body = b"[\n" + b",\n".join(canonical(v) for v in value) + b"\n]"
        else:
            body = canonical(value)
        parts.append(head + body)
    return b"{\n" + b",\n".join(parts) + b"\n}\n"


def build(
    observations: Iterable[tuple[str | None, CalDate, CalDate, str, Iterable[Constituent]]],
    hashes: Mapping[str, tuple[int, str]],
    *,
    sas_version: str | None = None,
    generator: Generator | None = None,
    gaps: Sequence[Sequence[RecordedGap]] | None = None,
    extras: Sequence[ExtraSet] = (),
) -> Manifest:
    """Assemble a manifest from selections and ``{filename: (size, sha256)}``.

    Each observation is ``(label, obs_date, analysis_date, category, chosen constituents)``;
    ``gaps[i]`` are the recorded gaps of observation ``i``. Labels are checked here.
    """
    files: dict[str, PinnedFile] = {}
    seen: dict[str, Constituent] = {}  # the object each name was first pinned from
    rows_of: dict[tuple[int, ...], tuple[str, ...]] = {}  # a selection seen before: its rows
    obs = []
    for i, (label, obs_date, an_date, category, chosen) in enumerate(observations):
        if label is not None:
            check_label(label, field=f"observation {i + 1} label")
        chosen = tuple(chosen)
        key = tuple(map(id, chosen))
        names = rows_of.get(key)
        if names is None:
            for c in chosen:
                first = seen.setdefault(c.filename, c)
                if first is not c and first != c:
                    raise InputError(f"{c.filename} is pinned twice with different attributes "
                                     "(two catalogues disagree about it)")
                if c.filename not in files:
                    size, sha = hashes[c.filename]
                    files[c.filename] = PinnedFile(attrs.evolve(c, fsize=size), size, sha)
            names = rows_of[key] = tuple(c.filename for c in sorted(chosen, key=lambda c: c.key))
        recorded = tuple(gaps[i]) if gaps is not None else ()
        obs.append(PinnedObservation(label, obs_date, an_date, category, names, recorded))
    labels = [o.label for o in obs if o.label]
    if len(labels) != len(set(labels)):
        dupe = next(x for x in labels if labels.count(x) > 1)
        raise InputError(f"observation label {dupe!r} is given twice; labels must be unique")
    m = Manifest(
        tuple(obs), tuple(files[k] for k in sorted(files)),
        tuple(sorted(extras, key=lambda x: x.label)), sas_version,
        generator or Generator("reprocal", __version__, "pin"),
    )
    check_extras(m.extras, m.labels(), where="extras")
    return m


# --- loading --------------------------------------------------------------------------------

SCHEMA_FILE = "manifest.schema.json"


def schema() -> dict[str, Any]:
    """The manifest JSON Schema (``schemas/manifest.schema.json``, both versions)."""
    return load_schema(SCHEMA_FILE)


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(schema(), format_checker=None)


@cache
def _fast_validator() -> Any:
    """The same schema with its references inlined: the verdict for valid documents; the
    messages of invalid ones still come from :func:`_validator`."""
    import jsonschema

    return jsonschema.Draft202012Validator(inline_refs(schema()), format_checker=None)


def _schema_errors(doc: Any, source: str) -> None:
    import jsonschema

    if _fast_validator().is_valid(doc):
        return
    errors = sorted(_validator().iter_errors(doc), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        raise ManifestError(f"{json_path(err.absolute_path)}: {err.message}", path=source)


def from_dict(doc: Any, *, source: str = "manifest") -> Manifest:
    """Validate a parsed manifest document (version 1 or 2) and build the model."""
    return _build(doc, source, schema_passed=False)


def _build(doc: Any, source: str, *, schema_passed: bool) -> Manifest:
    """:func:`from_dict`; ``schema_passed``: these bytes passed the schema before
    (:mod:`reprocal.state._validated`), so only the model's own checks run."""
    if not isinstance(doc, dict):
        raise ManifestError("top level must be a JSON object", path=source)
    version = doc.get("schema")
    if version not in KNOWN_SCHEMAS:
        raise ManifestError(
            f"$.schema: unknown manifest schema {version!r}; this reprocal reads "
            f"{', '.join(KNOWN_SCHEMAS)}", path=source,
            hint="upgrade reprocal, or check the file is a reprocal manifest",
        )
    if not schema_passed:
        _schema_errors(doc, source)
    try:
        m = _from_v1(doc) if version == SCHEMA_V1 else _from_v2(doc)
    except ManifestError as exc:
        raise ManifestError(exc.message, path=source, hint=exc.hint) from None
    if version == SCHEMA_V1:
        warnings.warn(V1ManifestNotice(
            f"{source}: a version-1 manifest (id {m.upgraded_from}, which hashed observation "
            f"labels too); its version-2 state id is {m.calibration_id}; `reprocal manifest "
            f"upgrade {source}` rewrites it"), stacklevel=2)
    elif doc["state_id"] != m.calibration_id:
        raise ManifestError(
            f"$.state_id is {doc['state_id']} but the content hashes to {m.calibration_id}",
            path=source, hint="the manifest was edited by hand; re-pin it with `reprocal pin`")
    return m


def _constituent(entry: Mapping[str, Any], where: str) -> PinnedFile:
    try:
        name = ConstituentName.parse(entry["name"])
        if name.filename != entry["name"]:
            raise ManifestError(f"{where}.name: {entry['name']!r} is not canonical "
                                f"(use {name.filename})")
        c = Constituent(
            name=name,
            valdate=CalDate.parse(entry["valdate"], field=f"{where}.valdate"),
            evaldate=parse_optional(entry["evaldate"], field=f"{where}.evaldate"),
            subdate=CalDate.parse(entry["subdate"], field=f"{where}.subdate"),
            date=parse_optional(entry["date"], field=f"{where}.date"),
            category=entry["category"], telescop=entry["telescop"], creator=entry["creator"],
            extsequ=entry["extsequ"], extseqid=entry["extseqid"], md5=entry["md5"],
            fsize=entry["size"],
        )
    except ManifestError:
        raise
    except InputError as exc:
        raise ManifestError(exc.message if exc.message.startswith(where)
                            else f"{where}: {exc.message}") from None
    return PinnedFile(c, entry["size"], entry["sha256"])


def _rows(files: Sequence[str], by_name: Mapping[str, PinnedFile], where: str) -> tuple[str, ...]:
    """A set's names in CIF row order, refusing two issues of one type."""
    keys = [by_name[n].constituent.key for n in files]
    if len(keys) != len(set(keys)):
        dupe = next(k for k in keys if keys.count(k) > 1)
        raise ManifestError(f"{where}: selects two issues of {'_'.join(dupe)}; a CIF has one "
                            "row per calibration type")
    return tuple(sorted(files, key=lambda n: by_name[n].constituent.key))


def _observation(o: Mapping[str, Any], where: str, rows: tuple[str, ...]) -> PinnedObservation:
    try:
        label = o["label"]
        if label is not None:
            check_label(label, field=f"{where}.label")
        obs_date = CalDate.parse(o["obs_date"], field=f"{where}.obs_date")
        an_date = CalDate.parse(o["analysis_date"], field=f"{where}.analysis_date")
    except InputError as exc:
        raise ManifestError(exc.message) from None
    gaps = tuple(RecordedGap(g["missing"], g["selected"]) for g in o.get("gaps", ()))
    return PinnedObservation(label, obs_date, an_date, o["category"], rows, gaps)


def _unique_labels(obs: Sequence[PinnedObservation]) -> None:
    labels = [o.label for o in obs if o.label]
    if len(labels) != len(set(labels)):
        raise ManifestError("$.observations: a label is listed twice")


def _extra(x: Mapping[str, Any], where: str) -> ExtraSet:
    try:
        check_label(x["label"], field=f"{where}.label")
        choices = tuple(_choice(c, f"{where}.choices[{j}]")
                        for j, c in enumerate(x.get("choices") or ()))
    except InputError as exc:
        raise ManifestError(exc.message) from None
    tb = x.get("tarball")
    return ExtraSet(x["label"], x["kind"],
                    tuple(ExtraFile(f["path"], f["size"], f["sha256"]) for f in x["files"]),
                    x.get("url"), ExtraFile(tb["name"], tb["size"], tb["sha256"]) if tb else None,
                    choices)


def _choice(c: Mapping[str, Any], where: str) -> ResponseChoice:
    start = CalDate.parse(c["epoch_start"], field=f"{where}.epoch_start")
    end = parse_optional(c["epoch_end"], field=f"{where}.epoch_end")
    if end is not None and not start < end:
        raise ManifestError(f"{where}: the epoch ends ({end}) before it starts ({start})")
    return ResponseChoice(c["path"], tuple(c["observations"]), c["camera"], c["mode"],
                          c["patterns"], c["position"], c["epoch"], start, end,
                          c["epoch_source"])


def _from_v2(doc: Mapping[str, Any]) -> Manifest:
    files = [_constituent(e, f"$.constituents[{i}]") for i, e in enumerate(doc["constituents"])]
    names = [f.filename for f in files]
    if names != sorted(set(names)):
        raise ManifestError("$.constituents: names must be unique and sorted")
    by_name = {f.filename: f for f in files}
    sets: list[tuple[str, ...]] = []
    for k, s in enumerate(doc["sets"]):
        if s != sorted(set(s)):
            raise ManifestError(f"$.sets[{k}]: indices must be unique and ascending")
        if s and s[-1] >= len(files):
            raise ManifestError(f"$.sets[{k}]: index {s[-1]} is past the end of $.constituents "
                                f"({len(files)} entries)")
        sets.append(tuple(names[i] for i in s))
    if len(set(sets)) != len(sets):
        raise ManifestError("$.sets: a set is listed twice")
    obs = []
    rows: dict[int, tuple[str, ...]] = {}
    used_sets: set[int] = set()
    for i, o in enumerate(doc["observations"]):
        k = o["set"]
        if k >= len(sets):
            raise ManifestError(f"$.observations[{i}].set: {k} is past the end of $.sets "
                                f"({len(sets)} entries)")
        if k not in rows:
            rows[k] = _rows(sets[k], by_name, f"$.observations[{i}]")
        used_sets.add(k)
        obs.append(_observation(o, f"$.observations[{i}]", rows[k]))
    _unique_labels(obs)
    if len(used_sets) != len(sets):
        k = min(set(range(len(sets))) - used_sets)
        raise ManifestError(f"$.sets[{k}]: no observation uses it")
    used = {n for s in sets for n in s}
    unused = [n for n in names if n not in used]
    if unused:
        raise ManifestError(f"$.constituents: {unused[0]} is in no set")
    extras = tuple(_extra(x, f"$.extras[{i}]") for i, x in enumerate(doc["extras"]))
    if [x.label for x in extras] != sorted({x.label for x in extras}):
        raise ManifestError("$.extras: labels must be unique and sorted")
    check_extras(extras, [o.label or f"obs{i + 1}" for i, o in enumerate(obs)])
    gen = doc.get("generator") or {}
    return Manifest(tuple(obs), tuple(files), extras, doc.get("sas_version"),
                    Generator(gen.get("tool", ""), gen.get("version", ""), gen.get("method", "")),
                    doc.get("upgraded_from"), SCHEMA_V2)


def _v1_id(doc: Mapping[str, Any]) -> str:
    """The calibration id of a version-1 manifest, as reprocal 0.1 computed it."""
    content = {"observations": doc["observations"], "constituents": doc["constituents"]}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _from_v1(doc: Mapping[str, Any]) -> Manifest:
    files = []
    for name, entry in sorted(doc["constituents"].items()):
        where = f"$.constituents[{name!r}]"
        try:
            cname = ConstituentName.parse(name)
        except InputError as exc:
            raise ManifestError(f"{where}: {exc.message}") from None
        if cname != ConstituentName.parse(
                f"{entry['scope']}_{entry['typeid']}_{entry['issue']:04d}.CCF"):
            raise ManifestError(f"{where}: scope/typeid/issue disagree with the name")
        files.append(_constituent({**entry, "name": name}, where))
    by_name = {f.filename: f for f in files}
    obs = []
    for i, o in enumerate(doc["observations"]):
        where = f"$.observations[{i}]"
        for j, n in enumerate(o["constituents"]):
            if n not in by_name:
                raise ManifestError(f"{where}.constituents[{j}]: {n!r} is not listed in "
                                    "$.constituents")
        obs.append(_observation({**o, "label": o["obs_id"]}, where,
                                _rows(o["constituents"], by_name, where)))
    _unique_labels(obs)
    v1 = _v1_id(doc)
    if doc["calibration_id"] != v1:
        raise ManifestError(
            f"$.calibration_id is {doc['calibration_id']} but the content hashes to {v1}",
            hint="the manifest was edited by hand; re-pin it with `reprocal pin`")
    gen = doc.get("generator") or {}
    return Manifest(tuple(obs), tuple(files), (), doc.get("sas_version"),
                    Generator(gen.get("tool", ""), gen.get("version", ""), gen.get("method", "")),
                    v1, SCHEMA_V1)


def loads(data: bytes | str, *, source: str = "manifest") -> Manifest:
    """Parse and validate manifest text (bytes that passed before skip the schema pass: see
    :mod:`reprocal.state._validated`)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    key = memo_key(SCHEMA_FILE, raw)
    passed = seen(key)
    m = _build(parse_json(data, source=source, error=ManifestError), source,
               schema_passed=passed)
    if not passed:
        remember(key)
    return m


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and validate a manifest file (version 1 or 2)."""
    return loads(read_document(path, error=ManifestError), source=str(path))


def save_manifest(manifest: Manifest, path: str | os.PathLike[str]) -> Path:
    """Write the canonical version-2 bytes atomically (temp file beside the target, rename)."""
    return atomic_write(path, manifest.dumps())


def upgrade(manifest: Manifest) -> Manifest:
    """The version-2 form of a loaded manifest (the same constituents and observations; a
    version-1 id is kept in ``upgraded_from``)."""
    return attrs.evolve(manifest, source_schema=SCHEMA_V2)


__all__ = [
    "DEFAULT_CATEGORY", "EXTRA_KINDS", "ExtraFile", "ExtraSet", "Generator", "KNOWN_SCHEMAS",
    "Manifest", "PinnedFile", "PinnedObservation", "RecordedGap", "ResponseChoice", "SCHEMA_ID",
    "SCHEMA_V1", "SCHEMA_V2", "V1ManifestNotice", "build", "check_extras", "dumps", "from_dict",
    "load_manifest", "loads", "save_manifest", "schema", "upgrade", "with_extras",
]
