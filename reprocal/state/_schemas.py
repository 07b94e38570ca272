"""The JSON Schemas of reprocal's documents (manifests, provenance records), and reading JSON
documents with one-line errors.

The schemas live in the top-level ``schemas/`` directory of the source tree, which ships inside
the wheel as the package ``reprocal.schemas``; they are read with :mod:`importlib.resources`, so
an installed reprocal never looks at a source tree."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from reprocal.errors import InputError


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Parse ``schemas/<name>`` (package data of ``reprocal.schemas``)."""
    return json.loads((resources.files("reprocal.schemas") / name).read_text(encoding="utf-8"))


def json_path(path: Iterable[Any]) -> str:
    """``$.observations[0].obs_date`` from a jsonschema error's ``absolute_path``."""
    out = "$"
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def read_json(path: str | os.PathLike[str], *, error: type[InputError] = InputError) -> Any:
    """Parse a JSON document file; unreadable or malformed input raises ``error`` naming the
    file (and the line and column of a syntax error)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", path=path) from None
    return parse_json(data, source=os.fspath(path), error=error)


def parse_json(data: bytes | str, *, source: str, error: type[InputError] = InputError) -> Any:
    """``json.loads`` with one-line errors naming ``source``, line and column."""
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise error(f"line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})",
                    path=source) from None
    except UnicodeDecodeError:
        raise error("not a UTF-8 text file", path=source) from None
