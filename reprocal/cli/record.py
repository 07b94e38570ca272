"""``reprocal key generate`` and ``reprocal record verify``: signing keys and signed records."""

from __future__ import annotations

import click

from reprocal.cli._common import cli, echo_json, info, json_option, key_option, public_keys
from reprocal.errors import CheckFailed, InputError, ReprocalError


@cli.group("key")
def key() -> None:
    """Signing keys for provenance records (Ed25519, PEM)."""


@key.command("generate")
@click.argument("name", default="reprocal", metavar="NAME")
@json_option
def key_generate(name: str, as_json: bool) -> None:
    """Write NAME.key (private, mode 0600: keep it) and NAME.pub (publish it)."""
    from reprocal.provenance._signature import generate_key

    pair = generate_key(name)
    if as_json:
        echo_json({"private": str(pair.private), "public": str(pair.public), "keyid": pair.keyid})
        return
    info(f"wrote {pair.private} (private: keep it, never publish it) and {pair.public}")
    info(f"  keyid {pair.keyid}")
    info(f"sign with --sign {pair.private}; verify with --key {pair.public}")


@cli.group("record")
def record() -> None:
    """Provenance records."""


@record.command("verify")
@click.argument("records", nargs=-1, required=True, metavar="RECORD...")
@key_option
@json_option
def record_verify(records: tuple[str, ...], key_paths: tuple[str, ...], as_json: bool) -> None:
    """Check RECORD...: each must be a valid record and, with --key, signed by one of the keys.

    Exit 1 naming each record that fails.
    """
    from reprocal.provenance._record import load_record

    keys = public_keys(key_paths)
    results, failed = [], []
    for path in records:
        try:
            rec = load_record(path, keys=keys)
        except CheckFailed as exc:
            failed.append(exc.one_line())
            results.append({"record": path, "ok": False, "problem": exc.one_line()})
            continue
        except ReprocalError as exc:
            if isinstance(exc, InputError) and exc.path is None:
                raise
            failed.append(exc.one_line())
            results.append({"record": path, "ok": False, "problem": exc.one_line()})
            continue
        results.append({"record": path, "ok": True, "kind": rec.kind,
                        "calibration_id": rec.calibration_id, "signed_by": list(rec.signed_by),
                        "subjects": [s.name for s in rec.subjects]})
        if not as_json:
            how = (f"signature verified (key {rec.signed_by[0][:16]}...)" if rec.signed_by
                   else "not signed" if not keys else "")
            info(f"{path}: {rec.kind} record, {len(rec.subjects)} subject(s); {how}".rstrip("; "))
    if as_json:
        echo_json(results)
    else:
        for line in failed:
            info(f"FAIL {line}")
    if failed:
        if as_json:
            raise click.exceptions.Exit(1)
        raise CheckFailed(f"{len(failed)} of {len(records)} record(s) failed (listed above)")
