"""The published JSON Schema of every command's ``--json`` document (each API result's
``to_json()``): which schema describes which result, and reading it.

The schemas are ``schemas/<command>-output.schema.json`` in the source tree, shipped in the
wheel as package data (``reprocal.schemas``). They are part of the stability contract
(``docs/stability.md``): a field is never removed or given another meaning before the next major
version; new fields may appear in a minor release, with the schema updated, so a consumer
ignores fields it does not know.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

OUTPUTS: MappingProxyType[str, tuple[str, str]] = MappingProxyType({
    "index": ("IndexResult", "index-output.schema.json"),
    "cif": ("CifResult", "cif-output.schema.json"),
    "cifbuild": ("CifbuildResult", "cifbuild-output.schema.json"),
    "show": ("ShowResult", "show-output.schema.json"),
    "pin": ("PinResult", "pin-output.schema.json"),
    "rebuild": ("RebuildResult", "rebuild-output.schema.json"),
    "response": ("ResponseResult", "response-output.schema.json"),
    "manifest upgrade": ("UpgradeResult", "manifest-upgrade-output.schema.json"),
    "verify": ("VerifyResult", "verify-output.schema.json"),
    "verify --repository": ("RepositoryVerifyResult", "verify-repository-output.schema.json"),
    "fetch": ("FetchRunResult", "fetch-output.schema.json"),
    "fetch --dry-run": ("FetchPlanResult", "fetch-plan-output.schema.json"),
    "fetch --script": ("FetchScriptResult", "fetch-script-output.schema.json"),
    "unused": ("UnusedResult", "unused-output.schema.json"),
    "image build": ("ImageBuildResult", "image-build-output.schema.json"),
    "image verify": ("ImageVerifyResult", "image-verify-output.schema.json"),
    "image push": ("ImagePushResult", "image-push-output.schema.json"),
    "image pull": ("ImagePullResult", "image-pull-output.schema.json"),
    "run": ("RunCommandResult", "run-output.schema.json"),
    "diff": ("DiffResult", "diff-output.schema.json"),
    "audit": ("AuditResult", "audit-output.schema.json"),
    "audit --pin": ("AuditPinResult", "audit-pin-output.schema.json"),
    "audit --uses": ("UsesResult", "audit-uses-output.schema.json"),
    "bundle": ("BundleResult", "bundle-output.schema.json"),
    "bundle verify": ("BundleVerifyResult", "bundle-verify-output.schema.json"),
    "key generate": ("KeyGenerateResult", "key-generate-output.schema.json"),
    "record verify": ("RecordVerifyResult", "record-verify-output.schema.json"),
    "sync": ("SyncResult", "sync-output.schema.json"),
    "history": ("HistoryResult", "history-output.schema.json"),
    "fingerprint": ("FingerprintResult", "fingerprint-output.schema.json"),
    "timeline": ("TimelineResult", "timeline-output.schema.json"),
    "view": ("ViewResult", "view-output.schema.json"),
    "notes": ("NotesResult", "notes-output.schema.json"),
    "cite": ("CiteResult", "cite-output.schema.json"),
    "doctor": ("DoctorResult", "doctor-output.schema.json"),
})
"""The command line (``reprocal verify --repository --json``, without ``reprocal`` and
``--json``) -> (the :mod:`reprocal.api` result class its document comes from, its schema file
in ``schemas/``)."""


def output_schema(result: object) -> dict[str, Any]:
    """The JSON Schema of ``result.to_json()``: ``result`` is a result of a :mod:`reprocal.api`
    function (or its class, or its class name)::

        import jsonschema
        r = api.verify("m.json", level="full")
        jsonschema.validate(r.to_json(), api.output_schema(r))
    """
    import copy

    from reprocal.state._schemas import load_schema

    name = result if isinstance(result, str) else (
        result.__name__ if isinstance(result, type) else type(result).__name__)
    for cls, schema in OUTPUTS.values():
        if cls == name:
            return copy.deepcopy(load_schema(schema))
    raise KeyError(f"{name} is not a result of reprocal.api with a published JSON document")


__all__ = ["OUTPUTS", "output_schema"]
