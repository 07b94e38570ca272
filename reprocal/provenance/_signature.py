"""Signed records: DSSE envelopes around in-toto Statements, with local Ed25519 keys.

A signed record is a DSSE envelope (the in-toto attestation framework's signing layer)::

    {"payloadType": "application/vnd.in-toto+json",
     "payload": "<base64 of the record's canonical bytes>",
     "signatures": [{"keyid": "<sha256 of the public key>", "sig": "<base64>"}]}

The signature is over DSSE's pre-authentication encoding of the payload type and the payload,
so neither can be swapped. Any DSSE verifier (in-toto, sigstore's, securesystemslib) checks it
with the public key. Keys are made by ``reprocal key generate``: ``NAME.key`` (the private key,
PKCS#8 PEM, mode 0600, not encrypted: protect it as an ssh key) and ``NAME.pub``
(SubjectPublicKeyInfo PEM, to publish). Unsigned records stay valid records; a signed one is
read as its payload, and verified only when public keys are given.

securesystemslib (with pyca/cryptography) is imported here only, lazily.
"""

from __future__ import annotations

import binascii
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.errors import CheckFailed, InputError, RecordError
from reprocal.fs._atomic import atomic_write
from reprocal.fs._inputs import read_input

PAYLOAD_TYPE = "application/vnd.in-toto+json"


class SignatureError(CheckFailed):
    """A record's signature does not verify with the keys given, or it has none (exit 1)."""


@attrs.frozen
class KeyPair:
    """A key pair written by :func:`generate_key`."""

    private: Path
    public: Path
    keyid: str
    """The keyid signatures carry: sha256 of the public key (securesystemslib's definition)."""


def _crypto() -> Any:
    try:
        from securesystemslib.signer import CryptoSigner, SSlibKey
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("signing needs securesystemslib[crypto]",
                         hint="pip install 'securesystemslib[crypto]'") from None
    return CryptoSigner, SSlibKey


def generate_key(stem: str | os.PathLike[str]) -> KeyPair:
    """Write a new Ed25519 key pair: ``<stem>.key`` (0600) and ``<stem>.pub``; never overwrite."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    CryptoSigner, _ = _crypto()
    base = Path(stem)
    private, public = base.with_name(base.name + ".key"), base.with_name(base.name + ".pub")
    for p in (private, public):
        if p.exists():
            raise InputError(f"{p} exists; reprocal never overwrites a key",
                             hint="give another name, or remove the old pair yourself")
    if not private.parent.is_dir():
        raise InputError(f"directory {private.parent} does not exist", path=private)
    signer = CryptoSigner.generate_ed25519()
    pem = signer.public_key._crypto_key().public_bytes(Encoding.PEM,
                                                       PublicFormat.SubjectPublicKeyInfo)
    # created 0600 and exclusively: the private bytes are never readable by others, even briefly
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(signer.private_bytes)
        fh.flush()
        os.fsync(fh.fileno())
    atomic_write(public, pem, mode=0o644)
    return KeyPair(private, public, signer.public_key.keyid)


KEY_LIMIT = 64 << 10
"""Bytes a PEM key file may have (an RSA-16384 private key is ~13 KB)."""


def _key_bytes(path: str | os.PathLike[str], option: str) -> bytes:
    """A key file's bytes, read as every user-given input is: a regular file, bounded (a FIFO
    or a device given as a key is refused, never waited on)."""
    return read_input(path, limit=KEY_LIMIT, what=f"{option} key file", error=InputError)


def load_signer(path: str | os.PathLike[str], *, option: str = "--sign") -> Any:
    """The signer of a private key file (PKCS#8 PEM, unencrypted)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    CryptoSigner, _ = _crypto()
    data = _key_bytes(path, option)
    try:
        return CryptoSigner(load_pem_private_key(data, password=None))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{option} {path}: not an unencrypted PEM private key ({exc})",
                         hint="make one with `reprocal key generate NAME`") from None


def load_public_key(path: str | os.PathLike[str], *, option: str = "--key") -> Any:
    """A public key file (SubjectPublicKeyInfo PEM) as a securesystemslib key."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    _, SSlibKey = _crypto()
    data = _key_bytes(path, option)
    try:
        return SSlibKey.from_crypto(load_pem_public_key(data))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{option} {path}: not a PEM public key ({exc})",
                         hint="give the .pub file written by `reprocal key generate`") from None


def sign_payload(payload: bytes, signer: Any) -> bytes:
    """The DSSE envelope of ``payload`` signed by ``signer``, as canonical JSON bytes."""
    from securesystemslib.dsse import Envelope

    envelope = Envelope(payload, PAYLOAD_TYPE, {})
    envelope.sign(signer)
    return json.dumps(envelope.to_dict(), sort_keys=True, indent=1).encode() + b"\n"


def is_envelope(doc: Any) -> bool:
    """A parsed JSON document that is a DSSE envelope (whatever its payload type)."""
    return isinstance(doc, dict) and "payloadType" in doc and "payload" in doc


def open_envelope(doc: Any, *, source: str, keys: Sequence[Any] = ()) -> tuple[bytes, tuple[str, ...]]:
    """The payload of an in-toto DSSE envelope and the keyids that verified it (none checked
    when ``keys`` is empty). A malformed envelope is a :class:`RecordError`; a signature that
    no key verifies, a :class:`SignatureError` naming ``source``."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError

    if doc.get("payloadType") != PAYLOAD_TYPE:
        raise RecordError(f"DSSE payloadType {doc.get('payloadType')!r} is not {PAYLOAD_TYPE}",
                          path=source)
    try:
        envelope = Envelope.from_dict(doc)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise RecordError(f"not a valid DSSE envelope ({exc})", path=source) from None
    if not keys:
        return envelope.payload, ()
    try:
        accepted = envelope.verify(list(keys), 1)
    except (VerificationError, ValueError):
        ids = ", ".join(k.keyid[:16] for k in keys)
        raise SignatureError(
            f"signature does not verify with the key(s) given ({ids}...): the record was "
            "changed after it was signed, or signed with another key", path=source,
            hint="do not trust this record") from None
    return envelope.payload, tuple(sorted(accepted))


__all__ = ["KeyPair", "PAYLOAD_TYPE", "SignatureError", "generate_key", "is_envelope",
           "load_public_key", "load_signer", "open_envelope", "sign_payload"]
