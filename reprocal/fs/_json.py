"""Reading JSON documents with one-line errors and bounds, and the JSON Schemas of reprocal's
documents (manifests, provenance records, the mirror history).

The schemas live in the top-level ``schemas/`` directory of the source tree, which ships inside
the wheel as the package ``reprocal.schemas``; they are read with :mod:`importlib.resources`, so
an installed reprocal never looks at a source tree."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from reprocal.errors import InputError
from reprocal.fs._inputs import read_input
from reprocal.fs._limits import current_limits

MAX_INT_DIGITS = 20
"""Longest integer literal accepted in a JSON document (sizes fit in 64 bits; a 5,000-digit
number is refused before Python converts it)."""


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Parse ``schemas/<name>`` (package data of ``reprocal.schemas``)."""
    return json.loads((resources.files("reprocal.schemas") / name).read_text(encoding="utf-8"))


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with each bare ``{"$ref": "#/..."}`` into itself replaced by its target (the
    same rules, without jsonschema resolving a reference for every instance: ~4x faster on a
    manifest of 10,000 observations). References elsewhere, with siblings, or recursive stay."""
    base = schema.get("$id", "")

    def target(ref: str) -> Any:
        node: Any = schema
        for part in ref.split("#", 1)[1].strip("/").split("/"):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def walk(x: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(x, dict):
            ref = x.get("$ref")
            if (len(x) == 1 and isinstance(ref, str) and "#" in ref
                    and ref.split("#", 1)[0] in ("", base) and ref not in seen):
                node = target(ref)
                if node is not None:
                    return walk(node, (*seen, ref))
            return {k: walk(v, seen) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v, seen) for v in x]
        return x

    return walk(schema, ())  # type: ignore[no-any-return]


def json_path(path: Iterable[Any]) -> str:
    """``$.observations[0].obs_date`` from a jsonschema error's ``absolute_path``."""
    out = "$"
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def read_json(path: str | os.PathLike[str], *, error: type[InputError] = InputError) -> Any:
    """Parse a JSON document file; unreadable or malformed input raises ``error`` naming the
    file (and the line and column of a syntax error). Only a regular file is read, and at most
    the ``document-size`` limit (:mod:`reprocal.fs._limits`)."""
    return parse_json(read_document(path, error=error), source=os.fspath(path), error=error)


def read_document(path: str | os.PathLike[str], *, error: type[InputError] = InputError
                  ) -> bytes:
    """The bytes of a JSON document file, read as :func:`read_json` reads them."""
    return read_input(path, limit=current_limits().document_size, what="JSON document",
                      error=error, name="document-size")


def _int(text: str, source: str, error: type[InputError]) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise error(f"an integer of {digits} digits; at most {MAX_INT_DIGITS} are accepted",
                    path=source)
    return int(text)


_BIG = 10**MAX_INT_DIGITS


def _shape(doc: Any, limit: int) -> tuple[int, int | None]:
    """How deeply ``doc``'s arrays and objects nest, counted level by level (no recursion to
    exhaust) and no further than one level past ``limit``; and the first integer found with
    more than :data:`MAX_INT_DIGITS` digits (``None``: there is none)."""
    level, nodes = 0, [doc]
    while nodes and level <= limit:
        below: list[Any] = []
        containers = False
        for node in nodes:
            t = type(node)
            if t is dict or t is list:
                below.extend(node.values() if t is dict else node)
                containers = True
            elif t is int and not -_BIG < node < _BIG:
                return level, node
        nodes = below
        level += containers
    return level, None


def _guarded() -> bool:
    """Whether Python itself refuses to convert integers of thousands of digits (its
    ``int_max_str_digits`` guard, 4,300 by default; 0 when an application turned it off)."""
    digits = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    return 0 < digits <= 5000


def _loads(text: str, source: str, error: type[InputError], *, each_int: bool) -> Any:
    return json.loads(text, parse_int=(lambda t: _int(t, source, error)) if each_int else None,
                      parse_constant=lambda t: _constant(t, source, error))


def parse_json(data: bytes | str, *, source: str, error: type[InputError] = InputError) -> Any:
    """``json.loads`` with one-line errors naming ``source``, line and column; bounded by the
    limits in force: ``document-size`` bytes, ``json-depth`` levels of nesting, integers of at
    most :data:`MAX_INT_DIGITS` digits (so a hostile document is refused, never a
    ``RecursionError`` or a long conversion)."""
    limits = current_limits()
    if len(data) > limits.document_size:
        raise error(f"JSON document is larger than the limit of {limits.document_size} bytes",
                    path=source, hint="raise it with --limit document-size=SIZE if genuine")
    # JSON exchanged between systems is UTF-8 (RFC 8259, 8.1): no guessing UTF-16/32
    try:
        text = data.decode("utf-8").removeprefix("\ufeff") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise error("not a UTF-8 text file", path=source) from None
    if _guarded():
        # Python's own guard keeps conversions short: parse without a call per integer (a
        # manifest holds 78,000; the calls doubled the parse) and check them after. Anything
        # amiss is read again the exact way below, so every message is the one it gives.
        try:
            doc = _loads(text, source, error, each_int=False)
            depth, big = _shape(doc, limits.json_depth)
            if big is None and depth <= limits.json_depth:
                return doc
        except (ValueError, RecursionError, InputError):
            pass
    return _exact(text, source, error, limits.json_depth)


def _exact(text: str, source: str, error: type[InputError], limit: int) -> Any:
    """:func:`parse_json`'s checks in document order: each integer literal before it is
    converted, constants as they are met, then the nesting."""
    try:
        doc = _loads(text, source, error, each_int=True)
    except json.JSONDecodeError as exc:
        raise error(f"line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})",
                    path=source) from None
    except RecursionError:
        raise error(f"JSON nested deeper than the limit of {limit} levels",
                    path=source) from None
    except ValueError as exc:  # a float literal Python cannot convert, and the like
        raise error(f"not valid JSON ({exc})", path=source) from None
    if _shape(doc, limit)[0] > limit:
        raise error(f"JSON nested deeper than the limit of {limit} levels",
                    path=source, hint="raise it with --limit json-depth=N if genuine")
    return doc


def _constant(text: str, source: str, error: type[InputError]) -> Any:
    raise error(f"{text} is not a JSON value", path=source)
