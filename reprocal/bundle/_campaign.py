"""A campaign in a paper bundle (``reprocal bundle MANIFEST --campaign DIR``): its summary and the
records of the observations it ran.

The summary (``DIR/campaign.json``, written by every ``campaign run``) must be of the bundle's
manifest: a campaign of another state is refused, naming both ids. The bundle gets
``campaign/campaign.json`` and ``campaign/campaign.md`` (which observation ran with which
calibration id, image digest and SAS version) and, under ``records/campaign/<obs_id>/``, the
provenance record of each observation done (each validated; a record path that leaves the
campaign directory is refused).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from reprocal.campaign._summary import SCHEMA, SUMMARY_JSON, SUMMARY_TABLE
from reprocal.errors import InputError
from reprocal.fs._inputs import open_input, read_input
from reprocal.fs._limits import current_limits
from reprocal.provenance._record import load_record
from reprocal.state._manifest import Manifest


def _summary(directory: Path, manifest: Manifest, option: str) -> dict[str, Any]:
    path = directory / SUMMARY_JSON
    data = read_input(path, limit=current_limits().document_size, what=f"{option} summary",
                      error=InputError, name="document-size")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise InputError("not a campaign summary (not JSON)", path=path) from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise InputError(f"not a campaign summary ({SCHEMA})", path=path,
                         hint=f"give {option} the output directory of `reprocal campaign run`")
    state = doc.get("manifest", {}).get("state_id") if isinstance(doc.get("manifest"),
                                                                  dict) else None
    if state != manifest.calibration_id:
        raise InputError(f"the campaign ran manifest state {state}, not the bundle's "
                         f"{manifest.calibration_id}", path=path,
                         hint="bundle the manifest the campaign ran")
    if not isinstance(doc.get("observations"), list):
        raise InputError("$.observations: not a list", path=path)
    return doc


def _record_path(directory: Path, row: Any, path: Path) -> tuple[str, Path] | None:
    """``(observation, record file)`` of a done row (``None`` for the others)."""
    if not isinstance(row, dict) or row.get("state") != "done" or not row.get("record"):
        return None
    obs, rel = row.get("observation"), row["record"]
    if not isinstance(obs, str) or not isinstance(rel, str):
        raise InputError("$.observations: an entry without an observation or record",
                         path=path)
    parts = Path(rel).parts
    if (Path(rel).is_absolute() or ".." in parts or len(parts) != 2 or parts[0] != obs
            or obs.startswith(".")):
        raise InputError(f"$.observations: record {rel!r} of {obs!r} is not in its product "
                         "directory", path=path)
    return obs, directory / rel


def copy_file(src: Path, dst: Path) -> None:
    """Copy a regular file (never a FIFO, a device or a link's target outside), mode 0644."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open_input(src, what="campaign file", error=InputError) as f, open(dst, "wb") as w:
        shutil.copyfileobj(f, w)
    os.chmod(dst, 0o644)


def campaign_files(directory: str | os.PathLike[str], manifest: Manifest, out: Path, *,
                   option: str = "campaign") -> tuple[list[str], dict[str, int]]:
    """Copy the campaign's summary and records into the bundle ``out``; the relative paths
    written and the campaign's counts."""
    root = Path(directory)
    if not root.is_dir():
        raise InputError(f"{option} {root} is not a directory",
                         hint="give the output directory of `reprocal campaign run`")
    doc = _summary(root, manifest, option)
    files = []
    for name in (SUMMARY_JSON, SUMMARY_TABLE):
        copy_file(root / name, out / "campaign" / name)
        files.append(f"campaign/{name}")
    for row in doc["observations"]:
        found = _record_path(root, row, root / SUMMARY_JSON)
        if found is None:
            continue
        obs, record = found
        load_record(record)  # a broken record is refused, not bundled
        rel = f"records/campaign/{obs}/{record.name}"
        copy_file(record, out / rel)
        files.append(rel)
    counts: Any = doc.get("counts")
    if not isinstance(counts, dict):
        counts = {}
    return files, {str(k): v for k, v in counts.items() if isinstance(v, int)}


__all__ = ["campaign_files"]
