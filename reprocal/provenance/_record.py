"""Provenance records: an in-toto Statement v1 whose predicate is SLSA Provenance v1.

A record says which files a command produced (the *subjects*, by sha256) from what (the
*resolved dependencies*: calibration constituents, CIFs, the manifest, the container image, the
inputs named on the command line), how (the command, the calibration id) and where (the
environment variables that matter, the SAS version, the host, the git state).

Layout (``schemas/record.schema.json`` is the contract)::

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": "pn.fits", "digest": {"sha256": "..."}}],
     "predicateType": "https://slsa.dev/provenance/v1",
     "predicate": {
       "buildDefinition": {
         "buildType": "urn:reprocal:run:v1",
         "externalParameters": {"command": [...], "workdir": ..., "calibrationId": ...,
                                "image": ...},
         "internalParameters": {"environment": {...}, "sas": ..., "host": {...}, "git": ...},
         "resolvedDependencies": [{"name", "digest", "uri", "annotations": {"role": ...}}]},
       "runDetails": {
         "builder": {"id": "urn:reprocal:cli", "version": {"reprocal": "0.1.0"}},
         "metadata": {"invocationId", "startedOn", "finishedOn"},
         "byproducts": [{"name": "exit-status", "mediaType": "text/plain",
                         "content": <base64 of "0\n">, "annotations": {"exitStatus": 0}}]}}}

Every field is one the SLSA Provenance v1 protobuf defines, so the in-toto attestation bindings
parse a record strictly (unknown fields rejected); reprocal's own facts sit where SLSA leaves room
for them: free-form ``externalParameters``/``internalParameters``, resource descriptors'
``annotations``, and the command's exit status as a ``byproducts`` entry (records written before
0.2 had it as ``runDetails.metadata.exitStatus``, a field SLSA does not define; they still load).
Dependency roles: ``constituent``, ``cif``, ``manifest``, ``image``, ``input``, ``extra`` (a
file of an extra calibration set: its ``set`` label and ``kind``). Records are
written canonically (sorted keys) and atomically, as the bare Statement or, signed, inside a DSSE
envelope (:mod:`reprocal.provenance._signature`).

This module is the model, its JSON and its validation; records are assembled from what happened
in one place, :mod:`reprocal.provenance._recorder`.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from reprocal.errors import RecordError
from reprocal.fs._atomic import atomic_write
from reprocal.fs._inputs import open_regular
from reprocal.provenance._signature import PAYLOAD_TYPE
from reprocal.state._schemas import json_path, load_schema, parse_json, read_json

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILDER_ID = "urn:reprocal:cli"
ROLES = ("constituent", "cif", "manifest", "image", "input")
EXIT_STATUS = "exit-status"
"""Name of the byproduct that carries the command's exit status."""


def build_type(kind: str) -> str:
    """``urn:reprocal:<kind>:v1`` for ``run``, ``pin``, ``image-build``..."""
    return f"urn:reprocal:{kind.replace(' ', '-')}:v1"


@attrs.frozen
class Artifact:
    """A resource descriptor: a subject or a resolved dependency."""

    name: str
    """File name (as given on the command line for inputs/outputs, base name for constituents)."""
    sha256: str | None = None
    """Lower-case hex sha256 of the bytes, when known."""
    uri: str | None = None
    """Where it was (``file://`` absolute path, an image reference), when meaningful."""
    annotations: Mapping[str, Any] = attrs.field(factory=dict)
    """``role`` and role-specific facts (``scope``/``typeid``/``issue`` for constituents)."""
    media_type: str | None = None
    """The resource's media type, when it says what the digest is of (an OCI image manifest
    or config)."""

    @property
    def role(self) -> str | None:
        return self.annotations.get("role")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.sha256:
            out["digest"] = {"sha256": self.sha256}
        if self.uri:
            out["uri"] = self.uri
        if self.media_type:
            out["mediaType"] = self.media_type
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Artifact:
        return cls(doc["name"], (doc.get("digest") or {}).get("sha256"), doc.get("uri"),
                   dict(doc.get("annotations") or {}), doc.get("mediaType"))


def _rfc3339(t: datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@attrs.frozen
class Record:
    """One provenance record (the model of a Statement; :meth:`to_dict` gives the JSON)."""

    kind: str
    """What reprocal command made it: ``run``, ``pin``, ``image-build``."""
    command: tuple[str, ...]
    """The command line (for ``run``: the command that was run)."""
    workdir: str
    """Absolute working directory."""
    subjects: tuple[Artifact, ...]
    """Output files, by sha256."""
    dependencies: tuple[Artifact, ...]
    """What the outputs were made from."""
    started: datetime
    """Aware UTC time the command started."""
    finished: datetime
    """Aware UTC time it finished."""
    exit_status: int
    """The command's exit status."""
    calibration_id: str | None = None
    """``sha256:<hex>``: the manifest's calibration id, when a manifest was used."""
    image: str | None = None
    """The image the command ran in (a tar path or a name), when any."""
    environment: Mapping[str, str] = attrs.field(factory=dict)
    """``SAS_*``/``REPROCAL_*`` variables, secrets dropped."""
    sas: Mapping[str, str] | None = None
    """``{"version", "source"}`` when the SAS version could be read."""
    host: Mapping[str, Any] = attrs.field(factory=dict)
    """hostname, platform, ..."""
    git: Mapping[str, Any] | None = None
    """Git state of the working directory; ``None``: not in a git repository."""
    invocation_id: str = attrs.field(factory=lambda: str(uuid.uuid4()))
    """A unique id for this invocation."""
    builder_version: str = ""
    """The reprocal version that wrote the record."""
    signed_by: tuple[str, ...] = attrs.field(default=(), eq=False)
    """Keyids whose signature on the record was verified when it was read (none: unsigned, or
    read without keys). Not part of the record's content."""

    def by_role(self, role: str) -> tuple[Artifact, ...]:
        return tuple(d for d in self.dependencies if d.role == role)

    @property
    def manifest_digest(self) -> str | None:
        """``sha256:<hex>`` of the manifest file's bytes, when a manifest was used."""
        found = self.by_role("manifest")
        return f"sha256:{found[0].sha256}" if found and found[0].sha256 else None

    @property
    def image_digest(self) -> str | None:
        found = self.by_role("image")
        return f"sha256:{found[0].sha256}" if found and found[0].sha256 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "_type": STATEMENT_TYPE,
            "subject": [s.to_json() for s in self.subjects],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "buildDefinition": {
                    "buildType": build_type(self.kind),
                    "externalParameters": {
                        "command": list(self.command), "workdir": self.workdir,
                        "calibrationId": self.calibration_id, "image": self.image,
                    },
                    "internalParameters": {
                        "environment": dict(self.environment),
                        "sas": dict(self.sas) if self.sas else None,
                        "host": dict(self.host), "git": dict(self.git) if self.git else None,
                    },
                    "resolvedDependencies": [d.to_json() for d in self.dependencies],
                },
                "runDetails": {
                    "builder": {"id": BUILDER_ID, "version": {"reprocal": self.builder_version}},
                    "metadata": {
                        "invocationId": self.invocation_id,
                        "startedOn": _rfc3339(self.started),
                        "finishedOn": _rfc3339(self.finished),
                    },
                    "byproducts": [exit_status_byproduct(self.exit_status)],
                },
            },
        }

    def dumps(self) -> bytes:
        """Canonical bytes: sorted keys, ASCII, one-space indent, trailing newline."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1, ensure_ascii=True).encode() + b"\n"


def exit_status_byproduct(status: int) -> dict[str, Any]:
    """The resource descriptor of a command's exit status (content: the number and a newline).

    >>> exit_status_byproduct(0)["content"], exit_status_byproduct(0)["annotations"]
    ('MAo=', {'exitStatus': 0})
    """
    return {"name": EXIT_STATUS, "mediaType": "text/plain",
            "content": base64.b64encode(f"{status}\n".encode()).decode("ascii"),
            "annotations": {"exitStatus": status}}


def _exit_status(run: Mapping[str, Any], source: str) -> int:
    """The exit status of a parsed record: its byproduct, else (a record written before 0.2)
    ``runDetails.metadata.exitStatus``."""
    for item in run.get("byproducts") or []:
        if item.get("name") == EXIT_STATUS:
            return int(item["annotations"]["exitStatus"])
    legacy = run["metadata"].get("exitStatus")
    if legacy is None:
        raise RecordError("$.predicate.runDetails.byproducts: no exit-status byproduct",
                          path=source, hint="not a reprocal provenance record, or edited by hand")
    return int(legacy)


# --- validation and loading -----------------------------------------------------------------


def schema() -> dict[str, Any]:
    """The record JSON Schema (``schemas/record.schema.json``)."""
    return load_schema("record.schema.json")


def _message(err: Any) -> str:
    """jsonschema's message, reworded where it would quote our schema at the user."""
    where = json_path(err.absolute_path)
    if err.validator == "not" and list(err.absolute_path)[-1:] == ["environment"]:
        return f"{where}: {err.instance!r} looks like a secret; records never hold secrets"
    if err.validator == "anyOf" and list(err.absolute_path)[-2:-1] == ["resolvedDependencies"]:
        return f"{where}: a dependency needs a digest or a uri"
    return f"{where}: {err.message}"


def record_errors(doc: Any) -> list[str]:
    """Every schema violation of ``doc``, as ``<json path>: <message>``, in document order."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: ([str(p) for p in e.absolute_path],
                                                               e.message))
    return [_message(e) for e in errors]


def from_dict(doc: Any, *, source: str = "record") -> Record:
    """Validate a parsed record (schema first: errors name the JSON path) and build the model."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = list(validator.iter_errors(doc))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        raise RecordError(_message(err), path=source,
                          hint="not a reprocal provenance record, or edited by hand")
    pred = doc["predicate"]
    build, run = pred["buildDefinition"], pred["runDetails"]
    ext, internal, meta = build["externalParameters"], build.get("internalParameters", {}), \
        run["metadata"]
    kind = build["buildType"].split(":")[2]
    try:
        started, finished = _parse_time(meta["startedOn"]), _parse_time(meta["finishedOn"])
    except ValueError as exc:
        raise RecordError(f"$.predicate.runDetails.metadata: bad time ({exc})", path=source) from None
    return Record(
        kind=kind, command=tuple(ext["command"]), workdir=ext.get("workdir", ""),
        subjects=tuple(Artifact.from_json(s) for s in doc["subject"]),
        dependencies=tuple(Artifact.from_json(d) for d in build["resolvedDependencies"]),
        started=started, finished=finished, exit_status=_exit_status(run, source),
        calibration_id=ext.get("calibrationId"), image=ext.get("image"),
        environment=internal.get("environment") or {}, sas=internal.get("sas"),
        host=internal.get("host") or {}, git=internal.get("git"),
        invocation_id=meta["invocationId"],
        builder_version=run["builder"].get("version", {}).get("reprocal", ""),
    )


def loads(data: bytes | str, *, source: str = "record", keys: Sequence[Any] = ()) -> Record:
    """A record from its bytes: a Statement, or a DSSE envelope holding one (verified against
    ``keys`` when given; with ``keys``, an unsigned record is a :class:`SignatureError`)."""
    return _from_document(parse_json(data, source=source, error=RecordError), source, keys)


def _from_document(doc: Any, source: str, keys: Sequence[Any]) -> Record:
    from reprocal.provenance._signature import SignatureError, is_envelope, open_envelope

    if is_envelope(doc):
        payload, verified = open_envelope(doc, source=source, keys=keys)
        inner = parse_json(payload, source=f"{source} (DSSE payload)", error=RecordError)
        return attrs.evolve(from_dict(inner, source=source), signed_by=verified)
    if keys:
        raise SignatureError("not signed, and a signature was asked for (--key)", path=source,
                             hint="records are signed when written with --sign KEY")
    return from_dict(doc, source=source)


def load_record(path: str | os.PathLike[str], *, keys: Sequence[Any] = ()) -> Record:
    """Read and validate a record file (a Statement, or a DSSE envelope of one; see
    :func:`loads` for ``keys``)."""
    return _from_document(read_json(path, error=RecordError), str(path), keys)


def save_record(record: Record, path: str | os.PathLike[str], *, signer: Any = None) -> Path:
    """Write the canonical bytes atomically (temp file beside the target, then rename); with a
    ``signer`` (:func:`reprocal.provenance._signature.load_signer`), as a DSSE envelope."""
    data = record.dumps()
    if signer is not None:
        from reprocal.provenance._signature import sign_payload

        data = sign_payload(data, signer)
    return atomic_write(path, data)


def is_record(path: str | os.PathLike[str]) -> bool:
    """Cheap sniff: a JSON file whose ``_type`` is an in-toto Statement, or a DSSE envelope of
    an in-toto payload."""
    try:
        with open_regular(path) as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and (
        STATEMENT_TYPE.encode() in head
        or (b'"payloadType"' in head and PAYLOAD_TYPE.encode() in head))


__all__ = [
    "Artifact", "BUILDER_ID", "EXIT_STATUS", "PREDICATE_TYPE", "ROLES", "Record", "STATEMENT_TYPE",
    "build_type", "exit_status_byproduct", "from_dict", "is_record", "json_path", "load_record", "loads",
    "record_errors", "save_record", "schema",
]
