"""Which observations a campaign runs, and where their ODFs are.

``--obs-list FILE`` is the observation list ``reprocal pin --obs-list`` reads (CSV with a header
row; ``#`` lines and blank lines ignored), so the list an archive scientist pinned from can
drive the campaign too; the header may also hold ``obs_id`` alone. Its columns:

* ``obs_id`` (required): the observation's label in the manifest;
* ``odf``: its ODF directory or summary, relative to the list's directory (the ``{odf}``
  placeholder and ``$SAS_ODF`` of the task);
* ``obs_date``, ``analysis_date``: when given, they must be the manifest's (a list that does
  not describe the manifest is refused rather than run against other calibration).

Without a list, every observation of the manifest runs, in its order. ``--odf TEMPLATE`` (such
as ``/archive/{obs_id}/odf``) gives the ODF of each observation the list does not.
"""

from __future__ import annotations

import os
from pathlib import Path

from reprocal.campaign._plan import substitute
from reprocal.core._dates import CalDate
from reprocal.errors import PARAMETERS, DateError, InputError, Names
from reprocal.fits._odf import OBS_LIST_COLUMNS, read_list_table
from reprocal.state._manifest import Manifest, PinnedObservation


def _fail(path: Path, number: int, what: str, hint: str) -> InputError:
    return InputError(f"{path}:{number}: {what}", hint=hint, path=path)


def _check_dates(path: Path, number: int, row: dict[str, str], obs: PinnedObservation,
                 label: str) -> None:
    for column, pinned in (("obs_date", obs.obs_date), ("analysis_date", obs.analysis_date)):
        text = row.get(column, "")
        if not text or text.lower() == "now":
            continue
        try:
            given = CalDate.parse(text, field=column)
        except DateError as exc:
            raise _fail(path, number, f"column {column!r}: {exc.message.split(': ', 1)[-1]}",
                        "fix the date") from None
        if given != pinned:
            raise _fail(path, number, f"column {column!r}: {given} but the manifest pins "
                        f"{pinned} for observation {label}",
                        "give the manifest pinned from this list, or fix the list")


def read_campaign_list(path: str | os.PathLike[str], manifest: Manifest
                       ) -> tuple[list[str], dict[str, str]]:
    """The labels an observation list names (in its order) and the ODF of each that has one
    (absolute); every label must be an observation of ``manifest``."""
    p = Path(path)

    def labelled(number: int, names: list[str]) -> None:
        if "obs_id" not in names:
            raise _fail(p, number, "the header has no 'obs_id' column",
                        "add obs_id: the label of each observation in the manifest")

    _, rows = read_list_table(p, OBS_LIST_COLUMNS, check_header=labelled,
                              example="obs_id,odf", wanted="obs_id[,odf]")
    labels: list[str] = []
    odf: dict[str, str] = {}
    known = {label: i for i, label in enumerate(manifest.labels())}
    seen: dict[str, int] = {}
    for number, row in rows:
        label = row["obs_id"]
        if not label:
            raise _fail(p, number, "column 'obs_id' is empty", "give the observation's label")
        if label not in known:
            shown = ", ".join(manifest.labels()[:5]) + (" ..." if len(known) > 5 else "")
            raise _fail(p, number, f"column 'obs_id': {label} is not an observation of the "
                        f"manifest (it has {shown})", "pin it, or remove the line")
        if label in seen:
            raise _fail(p, number, f"column 'obs_id': {label} is already on line "
                        f"{seen[label]}", "list each observation once")
        seen[label] = number
        _check_dates(p, number, row, manifest.observations[known[label]], label)
        labels.append(label)
        if row.get("odf"):
            odf[label] = str((p.parent / row["odf"]).absolute())
    return labels, odf


def observations(manifest: Manifest, *, obs_list: str | os.PathLike[str] | None = None,
                 odf: str | None = None, names: Names = PARAMETERS
                 ) -> tuple[list[str], dict[str, str]]:
    """The labels a campaign runs and their ODFs: those of ``obs_list`` (else every
    observation of the manifest), ODFs from its ``odf`` column, else from the ``odf`` template
    (``{obs_id}`` substituted, relative to the current directory)."""
    if obs_list is not None:
        labels, odfs = read_campaign_list(obs_list, manifest)
    else:
        labels, odfs = manifest.labels(), {}
    if odf is not None:
        if "{obs_id}" not in odf and len(labels) > 1:
            raise InputError(f"{names('odf')} {odf!r} would give every observation the same "
                             "ODF", hint="put {obs_id} in it, such as /archive/{obs_id}/odf")
        for label in labels:
            odfs.setdefault(label, str(Path(substitute(odf, {"obs_id": label})).absolute()))
    return labels, odfs


__all__ = ["observations", "read_campaign_list"]
