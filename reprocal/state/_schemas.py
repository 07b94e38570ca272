"""The JSON Schemas of reprocal's documents and reading JSON documents with one-line errors.

The readers moved down to :mod:`reprocal.fs._json` so that the repository layer (the mirror
history, :mod:`reprocal.repo._history`) reads JSON with the same bounds; this module keeps the
names the manifest, record, image and bundle modules import.
"""

from reprocal.fs._json import (
    MAX_INT_DIGITS,
    inline_refs,
    json_path,
    load_schema,
    parse_json,
    read_document,
    read_json,
)

__all__ = ["MAX_INT_DIGITS", "inline_refs", "json_path", "load_schema", "parse_json", "read_document",
           "read_json"]
