"""Manifests that passed schema validation before, remembered by their bytes.

A manifest is untrusted input and every load validates it against its JSON Schema. jsonschema
costs more than the rest of a ``verify`` of a real manifest (importing it ~60 ms; validating a
manifest of 10,000 observations ~2.5 s), and the same file is loaded again and again (``verify``
after ``verify``, every task of a campaign). So a document that passed, model and state id
included, is remembered as an empty file named by the sha256 of (the schema, this
reprocal's version, the document's bytes) in ``$REPROCAL_VALIDATED_CACHE`` (default
``$XDG_CACHE_HOME/reprocal/validated``). A load of the very same bytes skips the schema pass
only: the model is built and checked (names, digests, labels, dates, the state id recomputed)
as always. Any other byte, schema or version is another name; a document that failed is never
remembered.

The memo trusts the user's cache directory as the verify cache does. It is best effort: a
directory that cannot be made or written, or holds anything but regular files, only means
validating every time; it never fails a load and never writes through a link.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from functools import cache
from pathlib import Path

from reprocal._version import __version__
from reprocal.fs._inputs import open_private
from reprocal.fs._json import load_schema


def memo_dir() -> Path:
    """``$REPROCAL_VALIDATED_CACHE``, else ``$XDG_CACHE_HOME/reprocal/validated``."""
    if os.environ.get("REPROCAL_VALIDATED_CACHE"):
        return Path(os.environ["REPROCAL_VALIDATED_CACHE"])
    cache_home = (os.environ.get("XDG_CACHE_HOME")
                  or os.path.join(os.path.expanduser("~"), ".cache"))
    return Path(cache_home) / "reprocal" / "validated"


@cache
def _schema_digest(schema: str) -> bytes:
    rules = json.dumps(load_schema(schema), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(rules + b"\0" + __version__.encode()).digest()


def memo_key(schema: str, data: bytes) -> str:
    """The memo's name for ``data`` under ``schema`` (this reprocal's version included)."""
    return hashlib.sha256(_schema_digest(schema) + data).hexdigest()


def seen(key: str) -> bool:
    """The document of ``key`` (:func:`memo_key`) passed before: a regular file of that name
    is in the memo."""
    try:
        return stat.S_ISREG(os.lstat(memo_dir() / key).st_mode)
    except (OSError, ValueError):
        return False


def remember(key: str) -> None:
    """Remember that the document of ``key`` passed (best effort, see the module docstring)."""
    where = memo_dir()
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not stat.S_ISDIR(os.lstat(where).st_mode):  # a link in its place: not ours
            return
        os.close(open_private(where / key, mode=0o600))
    except (OSError, ValueError):
        return


__all__ = ["memo_dir", "memo_key", "remember", "seen"]
