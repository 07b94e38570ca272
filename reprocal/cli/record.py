"""``reprocal key generate`` and ``reprocal record verify``: signing keys and signed records."""

from __future__ import annotations

import click

from reprocal import api
from reprocal.cli._common import echo_json, info, json_option, key_option


@click.group("key")
def key() -> None:
    """Signing keys for provenance records (Ed25519, PEM)."""


@key.command("generate")
@click.argument("name", default="reprocal", metavar="NAME")
@json_option
def key_generate(name: str, as_json: bool) -> None:
    """Write NAME.key (private, mode 0600: keep it) and NAME.pub (publish it)."""
    r = api.key_generate(name)
    if as_json:
        echo_json(r.to_json())
        return
    pair = r.pair
    info(f"wrote {pair.private} (private: keep it, never publish it) and {pair.public}")
    info(f"  keyid {pair.keyid}")
    info(f"sign with --sign {pair.private}; verify with --key {pair.public}")


@click.group("record")
def record() -> None:
    """Provenance records."""


@record.command("verify")
@click.argument("records", nargs=-1, required=True, metavar="RECORD...")
@key_option
@json_option
def record_verify(records: tuple[str, ...], keys: tuple[str, ...], as_json: bool) -> None:
    """Check RECORD...: each must be a valid record and, with --key, signed by one of the keys.

    Exit 1 naming each record that fails.
    """
    r = api.record_verify(records, keys=keys)
    if as_json:
        echo_json(r.to_json())
        if not r.ok:
            raise click.exceptions.Exit(1)
        return
    for c in r.checks:
        rec = c.record
        if rec is None:
            continue
        how = (f"signature verified (key {rec.signed_by[0][:16]}...)" if rec.signed_by
               else "not signed" if not r.keys_given else "")
        info(f"{c.path}: {rec.kind} record, {len(rec.subjects)} subject(s); {how}".rstrip("; "))
    for c in r.checks:
        if not c.ok:
            info(f"FAIL {c.problem}")
    r.raise_if_failed()
