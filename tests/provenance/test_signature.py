"""Signed records: DSSE envelopes with local Ed25519 keys; a signed record verifies, a tampered
one or one signed by another key fails (exit 1 naming the record), unsigned records stay
readable; through the API and through key generate, run --sign, record verify, audit and
bundle verify --key."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from support.validators import assert_valid_crate, strict_statement

from reprocal.errors import InputError, RecordError
from reprocal.provenance._record import Record, is_record, load_record, loads, save_record
from reprocal.provenance._signature import (
    PAYLOAD_TYPE,
    SignatureError,
    generate_key,
    load_public_key,
    load_signer,
)

from .test_record import _record

WRITE = "import sys; open(sys.argv[1], 'w').write('spectrum')"


@pytest.fixture
def keys(tmp_path: Path):  # type: ignore[no-untyped-def]
    return generate_key(tmp_path / "alice"), generate_key(tmp_path / "bob")


def _signed(tmp_path: Path, pair) -> Path:  # type: ignore[no-untyped-def]
    return save_record(_record(), tmp_path / "r.prov.json", signer=load_signer(pair.private))


def test_key_files(keys) -> None:  # type: ignore[no-untyped-def]
    """PEM files; the private one 0600; keyids differ; an existing key is never overwritten."""
    alice, bob = keys
    assert stat.S_IMODE(alice.private.stat().st_mode) == 0o600
    assert alice.private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert alice.public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert alice.keyid != bob.keyid and len(alice.keyid) == 64
    assert load_public_key(alice.public).keyid == alice.keyid
    with pytest.raises(InputError, match="exists; reprocal never overwrites a key"):
        generate_key(alice.private.with_suffix(""))


def test_signed_record_is_a_dsse_envelope_of_the_statement(tmp_path: Path, keys) -> None:  # type: ignore[no-untyped-def]
    """payloadType in-toto, the payload the canonical record bytes, which parse strictly with the
    in-toto bindings; reading it back gives the same record, signed by the key."""
    alice, _ = keys
    path = _signed(tmp_path, alice)
    env = json.loads(path.read_text())
    assert env["payloadType"] == PAYLOAD_TYPE == "application/vnd.in-toto+json"
    assert [s["keyid"] for s in env["signatures"]] == [alice.keyid]
    payload = base64.b64decode(env["payload"])
    assert payload == _record().dumps()
    strict_statement(json.loads(payload))
    assert is_record(path)
    rec = load_record(path, keys=[load_public_key(alice.public)])
    assert rec == _record() and rec.signed_by == (alice.keyid,)
    assert load_record(path).signed_by == ()  # read without keys: not checked


def _tamper(path: Path) -> None:
    env = json.loads(path.read_text())
    doc = json.loads(base64.b64decode(env["payload"]))
    doc["subject"][0]["digest"]["sha256"] = "0" * 64
    env["payload"] = base64.b64encode(Record.dumps(loads(json.dumps(doc)))).decode()
    path.write_text(json.dumps(env))


@pytest.mark.parametrize("how", ["tampered", "other key", "unsigned"])
def test_what_fails_verification(tmp_path: Path, keys, how: str) -> None:  # type: ignore[no-untyped-def]
    """A changed payload, another key's signature, or no signature at all when a key is asked
    for: a SignatureError (exit 1) naming the record."""
    alice, bob = keys
    path = _signed(tmp_path, alice)
    if how == "tampered":
        _tamper(path)
    if how == "unsigned":
        save_record(_record(), path)
    key = load_public_key((bob if how == "other key" else alice).public)
    with pytest.raises(SignatureError) as err:
        load_record(path, keys=[key])
    assert err.value.exit_code == 1
    assert err.value.one_line().startswith(f"{path}: ")
    if how == "unsigned":
        assert "not signed, and a signature was asked for (--key)" in err.value.one_line()
    else:
        assert "signature does not verify with the key(s) given" in err.value.one_line()


def test_malformed_envelope(tmp_path: Path) -> None:
    """Another payload type, or a payload that is not base64: input errors naming the file."""
    p = tmp_path / "e.json"
    p.write_text(json.dumps({"payloadType": "text/plain", "payload": "", "signatures": []}))
    with pytest.raises(RecordError, match="DSSE payloadType 'text/plain' is not"):
        load_record(p)
    p.write_text(json.dumps({"payloadType": PAYLOAD_TYPE, "payload": "!!", "signatures": []}))
    with pytest.raises(RecordError):
        load_record(p)


@pytest.fixture
def signed_run(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    """``key generate`` then ``run --sign`` through the CLI."""
    done = cli("key", "generate", "team", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "keyid" in done.stdout
    done = cli("run", "--sign", "team.key", "--", sys.executable, "-c", WRITE, "out.txt",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path


def test_cli_record_verify(cli_process, signed_run: Path) -> None:  # type: ignore[no-untyped-def]
    """record verify: exit 0 with the key; tampered: exit 1 naming the record."""
    rec = signed_run / "out.txt.prov.json"
    done = cli_process("record", "verify", str(rec), "--key", str(signed_run / "team.pub"))
    assert done.returncode == 0, done.stderr
    assert "signature verified" in done.stdout
    assert cli_process("record", "verify", str(rec)).returncode == 0  # readable without a key
    _tamper(rec)
    done = cli_process("record", "verify", str(rec), "--key", str(signed_run / "team.pub"))
    assert done.returncode == 1
    assert f"FAIL {rec}: signature does not verify" in done.stdout
    assert done.stderr.startswith("reprocal: error: 1 of 1 record(s) failed")


def test_cli_audit_key(cli, signed_run: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """audit --key: a signed record passes the signature check; an unsigned one is exit 1."""
    pub = str(signed_run / "team.pub")
    done = cli("audit", "out.txt.prov.json", "--key", pub, "--json", cwd=signed_run)
    assert "record_signed_by" in done.stdout, done.stderr
    assert json.loads(done.stdout)["record_signed_by"] == [load_public_key(pub).keyid]
    assert cli("run", "--record", "plain.json", "--", sys.executable, "-c", WRITE, "b.txt",
               cwd=signed_run).returncode == 0
    done = cli("audit", "plain.json", "--key", pub, cwd=signed_run)
    assert done.returncode == 1
    assert "plain.json: not signed, and a signature was asked for (--key)" in done.stderr


def test_cli_bundle_verify_key(cli, signed_run: Path) -> None:  # type: ignore[no-untyped-def]
    """bundle verify --key: the bundle's signed record verifies; with another key it is a
    problem naming the record (exit 1)."""
    from reprocal.state._manifest import save_manifest

    from ..bundle.test_bundle import _manifest

    recs = signed_run / "records"
    recs.mkdir()
    os.replace(signed_run / "out.txt.prov.json", recs / "out.txt.prov.json")
    save_manifest(_manifest(), signed_run / "m.json")
    done = cli("bundle", "m.json", "--records", "records", "-o", "b", "--license", "CC-BY-4.0",
               "--author", "Jane Doe", "--publisher", "X <https://x.example.org>", cwd=signed_run)
    assert done.returncode == 0, done.stderr
    assert_valid_crate(signed_run / "b")
    done = cli("bundle", "verify", "b.tar", "--key", "team.pub", cwd=signed_run)
    assert done.returncode == 0, done.stdout + done.stderr
    generate_key(signed_run / "mallory")
    done = cli("bundle", "verify", "b.tar", "--key", "mallory.pub", cwd=signed_run)
    assert done.returncode == 1
    assert "records/out.txt.prov.json: signature does not verify" in done.stdout


def test_signature_is_plain_dsse_ed25519(tmp_path: Path, keys) -> None:  # type: ignore[no-untyped-def]
    """Checked without securesystemslib: the signature is Ed25519 over the DSSE v1
    pre-authentication encoding (``DSSEv1 <len> <type> <len> <payload>``, the spec's PAE) with
    the published PEM key, so any DSSE verifier accepts it."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    alice, _ = keys
    env = json.loads(_signed(tmp_path, alice).read_text())
    payload = base64.b64decode(env["payload"])
    ptype = env["payloadType"].encode()
    pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
    key = load_pem_public_key(alice.public.read_bytes())
    key.verify(base64.b64decode(env["signatures"][0]["sig"]), pae)  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["fifo", "directory", "missing", "huge"])
def test_a_key_file_that_is_not_one_is_refused_in_one_line(tmp_path: Path, kind: str) -> None:
    """A FIFO given as --sign is refused, not waited on; a huge file is not read whole."""

    p = tmp_path / "k.key"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "directory":
        p.mkdir()
    elif kind == "huge":
        p.write_bytes(b"x" * (1 << 20))
    for load in (load_signer, load_public_key):
        with pytest.raises(InputError) as got:
            load(p)
        assert str(p) in str(got.value) and "\n" not in str(got.value)
