"""The JSON Schemas of reprocal's documents (manifests, provenance records), kept in the
top-level ``schemas/`` directory of the source tree: one copy, read where it is."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Parse ``schemas/<name>``."""
    return json.loads((SCHEMA_DIR / name).read_text())


def json_path(path: Iterable[Any]) -> str:
    """``$.observations[0].obs_date`` from a jsonschema error's ``absolute_path``."""
    out = "$"
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out
