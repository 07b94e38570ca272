"""The reference validators of the formats reprocal writes, run as their users run them, offline.

- ``check-jsonschema`` (its CLI, default ECMA-262 regex semantics): schemas against their
  metaschema, documents against a schema.
- the in-toto attestation bindings: a record parsed strictly into the ``Statement`` and SLSA
  ``Provenance`` v1 protobufs (``ignore_unknown_fields=False``: a field SLSA does not define is
  an error), then the bindings' own ``validate()``.
- ``rocrate-validator`` (its CLI) with the ``ro-crate-1.1`` profile at RECOMMENDED severity.
  It resolves the crate's ``@context`` (``https://w3id.org/ro/crate/1.1/context``) over HTTP
  through its requests-cache sqlite cache; the tests have no network, so :func:`rocrate_cache`
  fills a fresh cache with the offline copy of that document in ``../shared/data/ro-crate/``
  (stored under the w3id URL by requests-cache itself, through a transport adapter that
  answers from the file) and the validator runs with ``--offline --cache-path``: a cache miss
  is then an error, never a network request.

Each skips with a reason when its tool is not installed (they are the ``test`` extra).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
CONTEXT_URL = "https://w3id.org/ro/crate/1.1/context"
CONTEXT_FILE = ROOT.parent / "shared" / "data" / "ro-crate" / "context-1.1.jsonld"


def _tool(name: str) -> Path:
    exe = BIN / name
    if not exe.exists():
        pytest.skip(f"{name} not installed (pip install -e '.[test]')")
    return exe


# --- check-jsonschema ---------------------------------------------------------------------


def check_jsonschema(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``check-jsonschema ARGS`` (offline: the metaschemas are vendored in the tool)."""
    return subprocess.run([str(_tool("check-jsonschema")), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def assert_schema_valid(schema: str, *documents: Path) -> None:
    """Every document validates against ``schemas/<schema>`` by check-jsonschema."""
    done = check_jsonschema("--schemafile", SCHEMAS / schema, *documents)
    assert done.returncode == 0, done.stdout + done.stderr


def strict(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` wherever an object lists its
    ``properties`` and says nothing of others: the published output schemas tolerate new fields
    (forward compatible), the tests hold every field to being documented."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def assert_output_valid(doc: Any, result: Any) -> None:
    """A result's ``to_json()`` document, as the CLI prints it, against its published schema
    (:func:`reprocal.api.output_schema`) made strict: every field documented, every value of
    the documented form."""
    import jsonschema

    from reprocal import api

    printed = json.loads(json.dumps(doc, default=str))
    validator = jsonschema.Draft202012Validator(strict(api.output_schema(result)),
                                                format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(printed), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{type(result).__name__}: ${'.'.join(map(str, e.absolute_path))}: "
                                  f"{e.message[:300]}" for e in errors[:10])


# --- in-toto attestation bindings ---------------------------------------------------------


def strict_statement(doc: dict[str, Any]) -> Any:
    """Parse a record strictly with the in-toto bindings; return the Statement protobuf.

    Raises ``google.protobuf.json_format.ParseError`` on any field the protobufs do not define,
    ``ValueError`` when the bindings' ``validate()`` refuses it.
    """
    pytest.importorskip("in_toto_attestation", reason="in-toto-attestation not installed")
    from google.protobuf import json_format
    from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    statement = json_format.ParseDict(doc, statement_pb2.Statement(), ignore_unknown_fields=False)
    json_format.ParseDict(doc["predicate"], provenance_pb2.Provenance(),
                          ignore_unknown_fields=False)
    Statement.copy_from_pb(statement).validate()
    return statement


# --- rocrate-validator --------------------------------------------------------------------


def rocrate_cache(directory: Path) -> Path:
    """A requests-cache sqlite cache (``<directory>/http``) holding the RO-Crate 1.1 context
    under its w3id URL, made from the offline copy (skips when that copy is absent)."""
    if not CONTEXT_FILE.is_file():
        pytest.skip(f"RO-Crate 1.1 context not found at {CONTEXT_FILE}")
    import requests
    import requests_cache
    import urllib3

    data = CONTEXT_FILE.read_bytes()

    class FromFile(requests.adapters.BaseAdapter):
        """Answers every request with the context file, as a server would."""

        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            raw = urllib3.HTTPResponse(body=io.BytesIO(data), status=200, preload_content=False,
                                       headers={"Content-Type": "application/ld+json"},
                                       request_url=request.url)
            return requests.adapters.HTTPAdapter().build_response(request, raw)

        def close(self) -> None:
            pass

    name = directory / "http"
    session = requests_cache.CachedSession(cache_name=str(name), backend="sqlite",
                                           expire_after=-1, allowable_codes=(200,))
    session.mount("https://", FromFile())
    session.mount("http://", FromFile())
    try:
        assert session.get(CONTEXT_URL, timeout=5).status_code == 200
        assert session.get(CONTEXT_URL, timeout=5).from_cache
    finally:
        session.close()
    return name


ROCRATE_ARGS = ("-y", "--disable-color", "validate", "--offline", "-p", "ro-crate-1.1",
                "-l", "recommended", "-f", "json", "--no-paging")
"""The validator's command line (after the executable; then ``--cache-path CACHE CRATE``)."""


def rocrate_validate(crate: Path, cache: Path) -> dict[str, Any]:
    """``rocrate-validator`` on ``crate`` (a directory), offline, ro-crate-1.1 at RECOMMENDED;
    its JSON report (``passed``, ``issues``)."""
    done = subprocess.run([str(_tool("rocrate-validator")), *ROCRATE_ARGS, "--cache-path",
                           str(cache), str(crate)], capture_output=True, text=True, timeout=600)
    try:
        report: dict[str, Any] = json.JSONDecoder().raw_decode(done.stdout.lstrip())[0]
    except ValueError:
        raise AssertionError(f"rocrate-validator gave no report (exit {done.returncode}):\n"
                             f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}") from None
    return report


def issues(report: dict[str, Any]) -> list[str]:
    """One line per issue: ``SEVERITY check-id: message``."""
    return [f"{i['severity']} {i['check']['identifier']}: {i['message']}"
            for i in report.get("issues", [])]


def required_issues(report: dict[str, Any]) -> list[str]:
    return [i for i in issues(report) if i.startswith("REQUIRED ")]



_SHARED: list[tuple[tempfile.TemporaryDirectory[str], Path]] = []


def assert_valid_crate(directory: Path) -> dict[str, Any]:
    """rocrate-validator, offline, on a bundle directory: any REQUIRED or RECOMMENDED issue fails
    the test. One context cache serves the whole session (removed at exit)."""
    if not _SHARED:
        tmp = tempfile.TemporaryDirectory(prefix="rocrate-cache-")
        _SHARED.append((tmp, rocrate_cache(Path(tmp.name))))
    report = rocrate_validate(directory, _SHARED[0][1])
    assert report["passed"] and not issues(report), issues(report)
    return report
