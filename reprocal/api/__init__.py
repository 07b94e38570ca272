"""The Python API: one function per ``reprocal`` command, with the same result.

The CLI is a thin shell over these functions: it parses options, calls one of them, prints
the result (text, or ``result.to_json()`` for ``--json``) and maps errors to exit codes. A
notebook calls them directly::

    from reprocal import api

    r = api.pin(obs_date="2004-05-09T13:00:16", analysis_date="2018-07-27T17:25:14",
                ccf_path="/data/ccf", output="m.json")
    print(r.manifest.calibration_id)

Conventions, the same for every function:

* parameters are Python values: dates as ``CalDate`` or strings (``"now"`` where a command
  takes it, resolved once here and returned in the result), paths as ``str`` or ``Path``,
  sequences for repeatable options; ``ccf_path=None`` means ``$SAS_CCFPATH``,
  ``catalog=None`` the default catalogue;
* each returns a frozen result whose ``to_json()`` is the command's ``--json`` document (its
  JSON Schema: :func:`output_schema`, published in ``schemas/``; see :data:`OUTPUTS`); a
  check that ran and found problems is reported, not raised: ``result.ok``,
  ``result.raise_if_failed()``;
* long work takes ``progress=`` (:class:`reprocal.progress.Progress`; silent without one);
* things to act on that do not stop the work (a missing newer issue, an analysis date before
  the observation) are :class:`reprocal.errors.ReprocalWarning` warnings;
* errors are :class:`reprocal.errors.ReprocalError` and name the parameter they are about
  (``analysis_date: ...``); ``names=`` (:class:`reprocal.errors.Names`) changes how they are
  spelt: the CLI passes its option names (``--analysis-date: ...``).

The stage subpackages (:mod:`reprocal.repo`, :mod:`reprocal.state`, ...) are the building
blocks these functions compose. Names are imported when first used, so importing this package
costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    # commands, by group
    "index": "reprocal.api._index", "IndexResult": "reprocal.api._index",
    "cif": "reprocal.api._cif", "CifResult": "reprocal.api._cif",
    "show": "reprocal.api._cif", "ShowResult": "reprocal.api._cif",
    "cifbuild": "reprocal.api._cifbuild", "CifbuildResult": "reprocal.api._cifbuild",
    "doctor": "reprocal.api._doctor", "DoctorResult": "reprocal.api._doctor",
    "CIFBUILD_PARAMETERS": "reprocal.api._cifbuild", "SUBPARAMETERS": "reprocal.api._cifbuild",
    "TaskParameter": "reprocal.api._cifbuild", "split_ccfpath": "reprocal.api._cifbuild",
    "pin": "reprocal.api._pin", "PinResult": "reprocal.api._pin",
    "rebuild": "reprocal.api._pin", "RebuildResult": "reprocal.api._pin",
    "upgrade_manifest": "reprocal.api._pin", "UpgradeResult": "reprocal.api._pin",
    "response": "reprocal.api._response", "ResponseResult": "reprocal.api._response",
    "verify": "reprocal.api._verify", "VerifyResult": "reprocal.api._verify",
    "verify_repository": "reprocal.api._verify",
    "RepositoryVerifyResult": "reprocal.api._verify",
    "fetch": "reprocal.api._fetch", "FetchRunResult": "reprocal.api._fetch",
    "fetch_plan": "reprocal.api._fetch", "FetchPlanResult": "reprocal.api._fetch",
    "fetch_script": "reprocal.api._fetch", "FetchScriptResult": "reprocal.api._fetch",
    "unused": "reprocal.api._fetch", "UnusedResult": "reprocal.api._fetch",
    "image_build": "reprocal.api._image", "ImageBuildResult": "reprocal.api._image",
    "image_verify": "reprocal.api._image", "ImageVerifyResult": "reprocal.api._image",
    "image_push": "reprocal.api._image", "ImagePushResult": "reprocal.api._image",
    "image_pull": "reprocal.api._image", "ImagePullResult": "reprocal.api._image",
    "sync": "reprocal.api._mirror", "SyncResult": "reprocal.api._mirror",
    "history": "reprocal.api._mirror", "HistoryResult": "reprocal.api._mirror",
    "fingerprint": "reprocal.api._mirror", "FingerprintResult": "reprocal.api._mirror",
    "run": "reprocal.api._run", "RunCommandResult": "reprocal.api._run",
    "diff": "reprocal.api._diff", "DiffResult": "reprocal.api._diff",
    "audit": "reprocal.api._audit", "AuditResult": "reprocal.api._audit",
    "AuditEntry": "reprocal.api._audit",
    "audit_pin": "reprocal.api._audit", "AuditPinResult": "reprocal.api._audit",
    "audit_uses": "reprocal.api._audit", "UsesResult": "reprocal.api._audit",
    "bundle": "reprocal.api._bundle", "BundleResult": "reprocal.api._bundle",
    "bundle_verify": "reprocal.api._bundle", "BundleVerifyResult": "reprocal.api._bundle",
    "key_generate": "reprocal.api._record", "KeyGenerateResult": "reprocal.api._record",
    "record_verify": "reprocal.api._record", "RecordVerifyResult": "reprocal.api._record",
    "RecordCheck": "reprocal.api._record",
    "timeline": "reprocal.api._timeline", "TimelineResult": "reprocal.api._timeline",
    "view": "reprocal.api._view", "ViewResult": "reprocal.api._view",
    "notes": "reprocal.api._notes", "NotesResult": "reprocal.api._notes",
    "cite": "reprocal.api._notes", "CiteResult": "reprocal.api._notes",
    # values the commands take
    "CalDate": "reprocal.core._dates",
    "CalibrationId": "reprocal.core._calid",
    "DEFAULT_CATEGORY": "reprocal.core._constituent",
    "DEFAULT_GLOB": "reprocal.repo._walk",
    "DEFAULT_GROUPS": "reprocal.image._layers",
    "LEVELS": "reprocal.repo._verify",
    "Manifest": "reprocal.state._manifest",
    # the published JSON Schemas of the results' documents
    "OUTPUTS": "reprocal.api._outputs", "output_schema": "reprocal.api._outputs",
    # the bounds on every read (:mod:`reprocal.fs._limits`)
    "Limits": "reprocal.fs._limits", "DEFAULT_LIMITS": "reprocal.fs._limits",
    "current_limits": "reprocal.fs._limits", "use_limits": "reprocal.fs._limits",
    "set_limits": "reprocal.fs._limits",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)
__all__ = [
    "AuditEntry", "AuditPinResult", "AuditResult", "BundleResult", "BundleVerifyResult", "CalDate",
    "CIFBUILD_PARAMETERS", "CalibrationId", "CifResult", "CifbuildResult", "SUBPARAMETERS",
    "TaskParameter", "cifbuild", "split_ccfpath", "DoctorResult", "doctor",
    "DEFAULT_CATEGORY", "DEFAULT_GLOB", "DEFAULT_GROUPS",
    "DEFAULT_LIMITS", "Limits", "current_limits", "set_limits", "use_limits",
    "DiffResult", "FetchPlanResult", "FetchRunResult", "FetchScriptResult", "FingerprintResult",
    "HistoryResult", "SyncResult", "fingerprint", "history", "sync", "ImageBuildResult",
    "ImagePullResult", "ImagePushResult", "ImageVerifyResult", "IndexResult", "KeyGenerateResult",
    "LEVELS", "Manifest", "OUTPUTS", "PinResult", "RebuildResult", "RecordCheck",
    "RecordVerifyResult", "RepositoryVerifyResult", "ResponseResult", "RunCommandResult",
    "ShowResult", "UnusedResult", "UpgradeResult", "UsesResult", "VerifyResult", "audit",
    "audit_pin", "audit_uses", "bundle", "bundle_verify", "cif", "diff", "fetch", "fetch_plan",
    "fetch_script", "image_build", "image_pull", "image_push", "image_verify", "index",
    "key_generate", "output_schema", "pin", "rebuild", "record_verify", "response", "run", "show",
    "unused", "upgrade_manifest", "verify", "verify_repository",
    "CiteResult", "NotesResult", "TimelineResult", "ViewResult", "cite", "notes", "timeline",
    "view",
]

if TYPE_CHECKING:
    from reprocal.api._audit import (
        AuditEntry,
        AuditPinResult,
        AuditResult,
        UsesResult,
        audit,
        audit_pin,
        audit_uses,
    )
    from reprocal.api._bundle import BundleResult, BundleVerifyResult, bundle, bundle_verify
    from reprocal.api._cif import CifResult, ShowResult, cif, show
    from reprocal.api._cifbuild import (
        CIFBUILD_PARAMETERS,
        SUBPARAMETERS,
        CifbuildResult,
        TaskParameter,
        cifbuild,
        split_ccfpath,
    )
    from reprocal.api._diff import DiffResult, diff
    from reprocal.api._doctor import DoctorResult, doctor
    from reprocal.api._fetch import (
        FetchPlanResult,
        FetchRunResult,
        FetchScriptResult,
        UnusedResult,
        fetch,
        fetch_plan,
        fetch_script,
        unused,
    )
    from reprocal.api._image import (
        ImageBuildResult,
        ImagePullResult,
        ImagePushResult,
        ImageVerifyResult,
        image_build,
        image_pull,
        image_push,
        image_verify,
    )
    from reprocal.api._index import IndexResult, index
    from reprocal.api._mirror import (
        FingerprintResult,
        HistoryResult,
        SyncResult,
        fingerprint,
        history,
        sync,
    )
    from reprocal.api._notes import CiteResult, NotesResult, cite, notes
    from reprocal.api._outputs import OUTPUTS, output_schema
    from reprocal.api._pin import (
        PinResult,
        RebuildResult,
        UpgradeResult,
        pin,
        rebuild,
        upgrade_manifest,
    )
    from reprocal.api._record import (
        KeyGenerateResult,
        RecordCheck,
        RecordVerifyResult,
        key_generate,
        record_verify,
    )
    from reprocal.api._response import ResponseResult, response
    from reprocal.api._run import RunCommandResult, run
    from reprocal.api._timeline import TimelineResult, timeline
    from reprocal.api._verify import RepositoryVerifyResult, VerifyResult, verify, verify_repository
    from reprocal.api._view import ViewResult, view
    from reprocal.core._calid import CalibrationId
    from reprocal.core._constituent import DEFAULT_CATEGORY
    from reprocal.core._dates import CalDate
    from reprocal.fs._limits import DEFAULT_LIMITS, Limits, current_limits, set_limits, use_limits
    from reprocal.image._layers import DEFAULT_GROUPS
    from reprocal.repo._verify import LEVELS
    from reprocal.repo._walk import DEFAULT_GLOB
    from reprocal.state._manifest import Manifest
