"""Reading OCI and Docker JSON documents that come from outside (an image tar's ``index.json``,
manifests and configs, a registry's answers): one-line errors naming the document and the field.

Every document is parsed by the one bounded JSON reader (:func:`reprocal.state._schemas.parse_json`:
``document-size``, ``json-depth``, no 5,000-digit integers) and must be an object; every field
reprocal uses is checked for its type before it is used, so an index with ``"size": "12"``, a
``manifests`` that is not a list, or a registry answering HTML is refused with its name, never a
``KeyError``, ``TypeError`` or traceback.

>>> d = descriptor({"mediaType": "x", "digest": "sha256:" + "0" * 64, "size": 3}, "$", "t")
>>> d.size
3
"""

from __future__ import annotations

import re
from typing import Any

from reprocal.errors import InputError
from reprocal.image._oci import Descriptor
from reprocal.state._schemas import parse_json

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}\Z")
MAX_SIZE = 1 << 50
"""Largest blob size believed (1 PiB): a size past it is a malformed descriptor."""


def document(data: bytes, source: str, what: str = "document") -> dict[str, Any]:
    """A JSON object (``source`` names it in errors)."""
    doc = parse_json(data, source=source, error=InputError)
    if not isinstance(doc, dict):
        raise InputError(f"{what} is not a JSON object (it is {_type(doc)})", path=source)
    return doc


def _type(value: object) -> str:
    """``an object``, ``a string``, ...: what a JSON value is, with its article."""
    name = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def field(doc: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, source: str, *,
          required: bool = True) -> Any:
    """``doc[key]`` checked to be of ``kind`` (``None`` when absent and not required)."""
    if key not in doc or doc[key] is None:
        if required:
            raise InputError(f"{where}.{key} is missing", path=source)
        return None
    value = doc[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        names = " or ".join(_type(k()) for k in kinds)
        raise InputError(f"{where}.{key} must be {names}, not {_type(value)}", path=source)
    return value


def descriptor(d: Any, where: str, source: str) -> Descriptor:
    """An OCI content descriptor: ``mediaType`` (string), ``digest`` (``sha256:<64 hex>``) and
    ``size`` (a non-negative integer)."""
    if not isinstance(d, dict):
        raise InputError(f"{where} must be an object, not {_type(d)}", path=source)
    media = field(d, "mediaType", str, where, source, required=False) or ""
    digest = field(d, "digest", str, where, source)
    if not _DIGEST.match(digest):
        raise InputError(f"{where}.digest {digest[:80]!r} is not sha256:<64 hex digits>",
                         path=source)
    size = field(d, "size", int, where, source)
    if not 0 <= size <= MAX_SIZE:
        raise InputError(f"{where}.size {size} is not a blob size", path=source)
    return Descriptor(media, digest, size)


def objects(doc: dict[str, Any], key: str, where: str, source: str, *,
            required: bool = True) -> list[dict[str, Any]]:
    """``doc[key]``: a list of objects (empty when absent and not required)."""
    items = field(doc, key, list, where, source, required=required) or []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"{where}.{key}[{i}] must be an object, not {_type(item)}",
                             path=source)
    return items


def manifest_parts(doc: dict[str, Any], source: str) -> tuple[Descriptor, tuple[Descriptor, ...]]:
    """The config and layer descriptors of an image manifest."""
    config = descriptor(field(doc, "config", dict, "$", source), "$.config", source)
    layers = tuple(descriptor(d, f"$.layers[{i}]", source)
                   for i, d in enumerate(objects(doc, "layers", "$", source, required=False)))
    return config, layers


def platform_of(entry: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(os, architecture)`` of an index entry, ``None`` where absent or not a string."""
    p = entry.get("platform")
    if not isinstance(p, dict):
        return None, None
    os_, arch = p.get("os"), p.get("architecture")
    return (os_ if isinstance(os_, str) else None, arch if isinstance(arch, str) else None)
