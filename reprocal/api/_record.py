"""``key_generate`` and ``record_verify``: signing keys, and checking (signed) records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from reprocal.api._inputs import PathLike, public_keys
from reprocal.errors import CheckFailed, InputError, ReprocalError
from reprocal.provenance._record import Record
from reprocal.provenance._signature import KeyPair


@attrs.frozen
class KeyGenerateResult:
    """The key pair :func:`key_generate` wrote."""

    pair: KeyPair

    def to_json(self) -> dict[str, Any]:
        p = self.pair
        return {"private": str(p.private), "public": str(p.public), "keyid": p.keyid}


def key_generate(name: PathLike = "reprocal") -> KeyGenerateResult:
    """Write a new Ed25519 key pair: ``<name>.key`` (private, mode 0600: keep it) and
    ``<name>.pub`` (publish it). Never overwrites a key."""
    from reprocal.provenance._signature import generate_key

    return KeyGenerateResult(generate_key(name))


@attrs.frozen
class RecordCheck:
    """One record checked by :func:`record_verify`."""

    path: str
    record: Record | None
    """The record, when it is valid (and signed as required)."""
    problem: str | None = None
    """Why it failed, one line naming the record."""

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        rec = self.record
        if rec is None:
            return {"record": self.path, "ok": False, "problem": self.problem}
        return {"record": self.path, "ok": True, "kind": rec.kind,
                "calibration_id": rec.calibration_id, "signed_by": list(rec.signed_by),
                "subjects": [s.name for s in rec.subjects]}


@attrs.frozen
class RecordVerifyResult:
    """What :func:`record_verify` found, one check per record."""

    checks: tuple[RecordCheck, ...]
    keys_given: bool

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def raise_if_failed(self) -> None:
        failed = [c for c in self.checks if not c.ok]
        if failed:
            raise CheckFailed(f"{len(failed)} of {len(self.checks)} record(s) failed (listed "
                              "above)")

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.checks]


def record_verify(records: Sequence[PathLike], *, keys: Sequence[PathLike] = ()
                  ) -> RecordVerifyResult:
    """Check each of ``records``: a valid provenance record (a Statement, or a DSSE envelope of
    one) and, with ``keys`` (public keys), signed by one of them. A record that fails is
    reported, not raised; a bad key is an error."""
    from reprocal.provenance._record import load_record

    trusted = public_keys(keys)
    checks = []
    for path in records:
        try:
            checks.append(RecordCheck(str(path), load_record(path, keys=trusted)))
        except CheckFailed as exc:
            checks.append(RecordCheck(str(path), None, exc.one_line()))
        except ReprocalError as exc:
            if isinstance(exc, InputError) and exc.path is None:
                raise
            checks.append(RecordCheck(str(path), None, exc.one_line()))
    return RecordVerifyResult(tuple(checks), bool(keys))


__all__ = ["KeyGenerateResult", "RecordCheck", "RecordVerifyResult", "key_generate",
           "record_verify"]
