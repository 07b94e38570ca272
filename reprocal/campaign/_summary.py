"""The campaign summary for a paper: which observations ran with which calibration id, image
digest and SAS version, as JSON (``campaign.json``, schema ``reprocal.campaign-summary/v1``)
and as a Markdown table (``campaign.md``), written beside the ledger at the end of every
``campaign run`` and carried into ``reprocal bundle --campaign DIR``.

Only facts the ledger holds go in (no host names, no paths outside the campaign directory but
the manifest's), in the plan's order, so the same campaign gives the same summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reprocal._version import __version__
from reprocal.campaign._status import CampaignStatus
from reprocal.fs._atomic import atomic_write

SCHEMA = "reprocal.campaign-summary/v1"
SUMMARY_JSON = "campaign.json"
SUMMARY_TABLE = "campaign.md"


def summary_document(status: CampaignStatus) -> dict[str, Any]:
    """The summary of ``status`` (see the module docstring)."""
    meta = status.meta
    rows = []
    for t in status.tasks:
        e = t.entry
        row: dict[str, Any] = {"observation": t.observation, "state": t.state, "key": t.key}
        if e is not None and t.state != "pending":
            row.update({"calibration_id": e.calibration_id, "image_digest": e.image_digest,
                        "sas_version": e.sas_version, "exit_status": e.exit_status,
                        "attempts": e.attempts, "finished": e.finished})
            if t.state == "done":
                row["record"] = f"{e.directory}/{e.record}" if e.record else None
                row["outputs"] = len(e.outputs)
            else:
                row["error"] = e.error
        rows.append(row)
    return {
        "schema": SCHEMA,
        "manifest": {"path": meta.get("manifest"), "sha256": meta.get("manifest_sha256"),
                     "state_id": meta.get("state_id")},
        "command": meta.get("command"),
        "image": meta.get("image"),
        "image_digest": meta.get("image_digest"),
        "reprocal_version": meta.get("reprocal_version", __version__),
        "counts": status.counts,
        "observations": rows,
    }


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def summary_table(doc: dict[str, Any]) -> str:
    """The summary as Markdown: what ran, then one row per observation."""
    c = doc["counts"]
    command = " ".join(doc.get("command") or [])
    lines = [
        "# Campaign summary", "",
        f"Manifest `{doc['manifest']['path']}` (state `{doc['manifest']['state_id']}`); "
        f"command `{_cell(command)}`; "
        + (f"image `{doc['image_digest']}`." if doc.get("image_digest") else "on the host.")
        + f" Written by reprocal {doc['reprocal_version']}.", "",
        f"{c['done']} done, {c['failed']} failed, {c['pending']} pending.", "",
        "| observation | state | calibration id | image digest | SAS version | record |",
        "|---|---|---|---|---|---|",
    ]
    for r in doc["observations"]:
        lines.append("| " + " | ".join(_cell(r.get(k)) for k in (
            "observation", "state", "calibration_id", "image_digest", "sas_version",
            "record")) + " |")
    return "\n".join(lines) + "\n"


def write_summary(directory: Path, status: CampaignStatus) -> tuple[Path, Path]:
    """Write ``campaign.json`` and ``campaign.md`` into ``directory`` (atomically)."""
    import json

    doc = summary_document(status)
    js = atomic_write(directory / SUMMARY_JSON,
                      json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n")
    md = atomic_write(directory / SUMMARY_TABLE, summary_table(doc).encode())
    return js, md


__all__ = ["SCHEMA", "SUMMARY_JSON", "SUMMARY_TABLE", "summary_document", "summary_table",
           "write_summary"]
