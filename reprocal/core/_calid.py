"""Calibration ids: names for calibration content, defined compositionally over RFC 8785 JSON.

An id names *what determines a CIF and the bytes it points to*, and nothing else: no observation
label, path, clock, reprocal version or generator field. Each level hashes the one below, so a
10,000-observation state costs 10,000 small hashes, not 10,000 hashes of 118 rows:

``constituent``
    one selected file: its name, sha256 and every CALINDEX attribute its CIF row is written
    from (``telescop``, ``valdate``, ``evaldate``, ``subdate``, ``date``, ``size``, ``extsequ``,
    ``extseqid``, ``md5``, ``creator``) plus its ``category``;
``set``
    the constituents one observation selects (their constituent digests, sorted);
``obs``
    one observation: its ``obs_date``, ``analysis_date``, ``category`` and set digest;
``extra``
    one extra calibration set (ESAS caldb, canned responses, ...): its ``kind`` and its files
    (relative ``path``, ``size``, ``sha256``, sorted by path);
``state``
    a whole manifest: its observation ids (sorted, repeats kept) and extra ids (sorted).

The digest of a level is ``sha256(JCS(obj))`` where ``JCS`` is the JSON Canonicalization Scheme
of RFC 8785 and ``obj`` is the JSON object given below, whose ``type`` member names the level
and the scheme version (so a digest of one level can never be taken for another):

.. code-block:: text

    constituent  {"type": "rpcal:2:constituent", "name", "sha256", "size", "telescop",
                  "valdate", "evaldate", "subdate", "date", "category", "creator", "extsequ",
                  "extseqid", "md5"}              (dates "YYYY-MM-DDThh:mm:ss"; null when absent)
    set          {"type": "rpcal:2:set", "constituents": [hex, ...]}
    obs          {"type": "rpcal:2:obs", "obs_date", "analysis_date", "category", "set": hex}
    extra        {"type": "rpcal:2:extra", "kind", "files": [{"path", "size", "sha256"}, ...]}
    state        {"type": "rpcal:2:state", "observations": [hex, ...], "extras": [hex, ...]}

Ids are written ``rpcal:2:<level>:<64 hex digits>``: the scheme version is part of every id, so
an id of reprocal 0.1 (``sha256:<hex>``, which hashed labels too) is recognised as version 1 and
never confused with these. The test vectors in ``docs/calibration-id.md`` let another
implementation check itself.

>>> CalibrationId.parse("rpcal:2:obs:" + "0" * 64).level
'obs'
>>> CalibrationId.parse("sha256:" + "a" * 64).version
1
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import rfc8785

from reprocal.core._constituent import Constituent
from reprocal.errors import InputError

SCHEME = "rpcal"
VERSION = 2
LEVELS = ("constituent", "set", "obs", "extra", "state")
_ID_RE = re.compile(r"^(?:rpcal:(?P<v>[0-9]+):(?P<level>[a-z]+)|sha256):(?P<hex>[0-9a-f]{64})\Z")


@attrs.frozen
class CalibrationId:
    """A parsed calibration id: scheme version, level and digest."""

    version: int
    """2 for ids of this scheme; 1 for the ``sha256:<hex>`` ids of reprocal 0.1."""
    level: str
    """``obs``, ``state``, ``set``, ``extra`` or ``constituent``; ``state`` for a v1 id (a v1 id
    named a whole manifest, labels included)."""
    hex: str
    """The 64 hexadecimal digits of the sha256."""

    @classmethod
    def parse(cls, text: str, *, field: str = "calibration id") -> CalibrationId:
        """Parse ``rpcal:2:<level>:<hex>`` or a v1 ``sha256:<hex>``; anything else is an
        :class:`~reprocal.errors.InputError` naming ``field``."""
        m = _ID_RE.match(text.strip().lower()) if isinstance(text, str) else None
        if m is None:
            raise InputError(f"{field}: {text!r} is not a calibration id (rpcal:2:obs:<64 hex>, "
                             "rpcal:2:state:<64 hex>, or a reprocal 0.1 sha256:<64 hex>)")
        if m["v"] is None:
            return cls(1, "state", m["hex"])
        version, level = int(m["v"]), m["level"]
        if version != VERSION or level not in LEVELS:
            raise InputError(f"{field}: {text!r} is an id of scheme version {version}, level "
                             f"{level!r}; this reprocal knows rpcal:{VERSION}:"
                             f"{{{','.join(LEVELS)}}}", hint="upgrade reprocal")
        return cls(version, level, m["hex"])

    @classmethod
    def of(cls, level: str, obj: Mapping[str, Any]) -> CalibrationId:
        """The id of ``obj`` at ``level`` (``obj`` without its ``type`` member)."""
        return cls(VERSION, level, digest(level, obj))

    @property
    def is_v1(self) -> bool:
        return self.version == 1

    def __str__(self) -> str:
        if self.is_v1:
            return f"sha256:{self.hex}"
        return f"{SCHEME}:{self.version}:{self.level}:{self.hex}"

    def describe(self) -> str:
        """The id and, for a v1 id, what that means, in words."""
        if self.is_v1:
            return (f"{self} (a version-1 id, from reprocal 0.1: it hashed observation labels "
                    "too, so it names that manifest only)")
        return str(self)


_BARE = re.compile(r'[ !#-\[\]-~]*\Z')
"""Printable ASCII but ``"`` and ``\\``: text that JCS writes between quotes as it is."""


def _flat(obj: dict[Any, Any]) -> bytes | None:
    """The JCS bytes of a dictionary of bare strings (:data:`_BARE`, keys too), null and
    integers JCS can hold, else ``None``: the shape of an observation's id object and of its
    manifest entry, 10,000 of each in a manifest (3x faster than the json module)."""
    if not all(type(k) is str for k in obj):  # the general path refuses them, as it should
        return None
    parts = []
    texts = []  # every key and string value, checked in one match
    for k in sorted(obj):  # ASCII keys: code-point order is JCS's UTF-16 order
        v = obj[k]
        if type(k) is not str:
            return None
        texts.append(k)
        t = type(v)
        if t is str:
            texts.append(v)
            parts.append(f'"{k}":"{v}"')
        elif v is None:
            parts.append(f'"{k}":null')
        elif t is int and -_SAFE_INT < v < _SAFE_INT:
            parts.append(f'"{k}":{v}')
        else:
            return None
    if not _BARE.match("".join(texts)):
        return None
    return ("{" + ",".join(parts) + "}").encode()


def canonical(obj: Any) -> bytes:
    """RFC 8785 (JCS) bytes of a JSON value."""
    if type(obj) is dict:
        flat = _flat(obj)
        if flat is not None:
            return flat
    if _plain(obj):
        # ASCII strings, small integers, booleans and null serialise the same under the json
        # module as under JCS (keys sorted, no spaces, the same escapes) and ~20x faster.
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return rfc8785.dumps(obj)


_SAFE_INT = 2**53


def _plain(obj: Any, depth: int = 0) -> bool:
    """Whether ``obj`` holds only what JCS and ``json.dumps`` write identically."""
    if obj is None or obj is True or obj is False:
        return True
    t = type(obj)
    if t is str:
        return obj.isascii()  # type: ignore[no-any-return]
    if t is int:
        return -_SAFE_INT < obj < _SAFE_INT  # type: ignore[no-any-return]
    if depth > 8:
        return False
    # strings inline, without a call each: ids hash 10,000 observations' dates and hundreds
    # of 118-digest lists
    if t is dict:
        return (all(type(k) is str and k.isascii() for k in obj)
                and _plain_items(obj.values(), depth))
    if t is list or t is tuple:
        return _plain_items(obj, depth)
    return False


def _plain_items(items: Iterable[Any], depth: int) -> bool:
    for v in items:
        if type(v) is str:
            if not v.isascii():
                return False
        elif not _plain(v, depth + 1):
            return False
    return True


def digest(level: str, obj: Mapping[str, Any]) -> str:
    """``sha256(JCS({"type": "rpcal:2:<level>", **obj}))`` as 64 hex digits."""
    if level not in LEVELS:
        raise ValueError(f"unknown id level {level!r}")
    body = {"type": f"{SCHEME}:{VERSION}:{level}", **obj}
    return hashlib.sha256(canonical(body)).hexdigest()


def constituent_fields(c: Constituent, sha256: str) -> dict[str, Any]:
    """The JSON object one constituent contributes (what its CIF row is written from, and its
    bytes' sha256). The manifest stores exactly these members per constituent."""
    return {
        "name": c.filename, "sha256": sha256, "size": c.fsize, "telescop": c.telescop,
        "valdate": c.valdate.text, "evaldate": c.evaldate.text if c.evaldate else None,
        "subdate": c.subdate.text, "date": c.date.text if c.date else None,
        "category": c.category, "creator": c.creator, "extsequ": c.extsequ,
        "extseqid": c.extseqid, "md5": c.md5,
    }


def constituent_digest(c: Constituent, sha256: str) -> str:
    """The ``constituent`` digest of a selected file (``c.fsize`` must be its size)."""
    if c.fsize is None:
        raise ValueError(f"{c.filename}: a constituent's id needs its size")
    return digest("constituent", constituent_fields(c, sha256))


def set_digest(constituent_digests: Iterable[str]) -> str:
    """The ``set`` digest of the constituents one observation selects."""
    return digest("set", {"constituents": sorted(constituent_digests)})


def observation_id(obs_date: str, analysis_date: str, category: str, set_hex: str
                   ) -> CalibrationId:
    """The ``obs`` id of one observation's calibration (dates as canonical text)."""
    return CalibrationId.of("obs", {"obs_date": obs_date, "analysis_date": analysis_date,
                                    "category": category, "set": set_hex})


def observation_id_of(constituents: Iterable[Constituent], sha256: Mapping[str, str],
                      obs_date: str, analysis_date: str, category: str) -> CalibrationId:
    """The ``obs`` id of a selection whose files' sha256 are known (``sha256[filename]``; every
    constituent's ``fsize`` set): what a product's CALINDEX rows and bytes amount to."""
    digests = (constituent_digest(c, sha256[c.filename]) for c in constituents)
    return observation_id(obs_date, analysis_date, category, set_digest(digests))


def extra_id(kind: str, files: Iterable[tuple[str, int, str]]) -> CalibrationId:
    """The ``extra`` id of an extra calibration set: ``kind`` and ``(path, size, sha256)``."""
    return CalibrationId.of("extra", {
        "kind": kind,
        "files": [{"path": p, "size": s, "sha256": h} for p, s, h in sorted(files)],
    })


def state_id(observation_ids: Iterable[CalibrationId], extra_ids: Iterable[CalibrationId] = ()
             ) -> CalibrationId:
    """The ``state`` id of a manifest: its observations' and extra sets' ids."""
    return CalibrationId.of("state", {
        "observations": sorted(i.hex for i in observation_ids),
        "extras": sorted(i.hex for i in extra_ids),
    })


__all__ = [
    "CalibrationId", "canonical", "constituent_digest", "constituent_fields", "digest",
    "extra_id", "observation_id", "observation_id_of", "set_digest", "state_id",
]
