"""Where the epochs of canned response matrices come from: the package table, a table the user
gives, or the matrices' own headers (the choice itself is pure: :mod:`reprocal.core._responses`).

* :func:`package_epochs`: ``reprocal/data/response_epochs.csv`` (read with
  :mod:`importlib.resources`, so it ships in the wheel): pn's three epochs from ESA's slides.
* :func:`read_epoch_table`: a CSV the user supplies (same columns), read within the
  ``document-size`` limit, checked (ordered, not overlapping).
* :func:`header_start`: the validity start an OGIP matrix header gives (``CVSD0001``, with
  ``CVST0001`` when present), from the first HDUs' headers only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import attrs

from reprocal.core._dates import CalDate
from reprocal.core._responses import (
    ChosenMatrix,
    EpochTable,
    ResponseName,
    ResponseRequest,
    choose,
    epochs_from_headers,
    parse_epoch_table,
)
from reprocal.errors import InputError, ReprocalError
from reprocal.fits._walk import header_keywords
from reprocal.fs._inputs import read_input
from reprocal.fs._limits import current_limits
from reprocal.state._manifest import Manifest, ResponseChoice

PACKAGE_TABLE = "data/response_epochs.csv"


@cache
def package_epochs() -> EpochTable:
    """The epochs reprocal ships (pn's three, from ESA's slides)."""
    text = resources.files("reprocal").joinpath(PACKAGE_TABLE).read_text("utf-8")
    return parse_epoch_table(text, source="ESA canned-response slides")


def read_epoch_table(path: str | os.PathLike[str], *, field: str = "epochs") -> EpochTable:
    """A user's epoch table (``camera,epoch,start,end[,source]``), checked."""
    data = read_input(path, limit=current_limits().document_size, what=f"{field} table",
                      name="document-size")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{field}: {path} is not UTF-8 text") from None
    return parse_epoch_table(text, source=str(path))


def epochs_for(user: str | os.PathLike[str] | None, *, field: str = "epochs") -> EpochTable:
    """The package's epochs, with every camera a user table gives taken from it."""
    table = package_epochs()
    return table if user is None else table.replaced_by(read_epoch_table(user, field=field))


def header_start(path: str | os.PathLike[str]) -> CalDate | None:
    """``CVSD0001`` (and ``CVST0001``) of the first HDU that has it, among the first three;
    ``None`` when none has (or the file is not FITS: then it says nothing)."""
    try:
        headers = header_keywords(path, hdus=3)
    except ReprocalError:
        return None
    for keys in headers:
        day = keys.get("CVSD0001", "").strip()
        if day:
            time = keys.get("CVST0001", "").strip() or "00:00:00"
            try:
                return CalDate.parse(f"{day}T{time}", field=f"{path}: CVSD0001/CVST0001")
            except InputError as exc:
                raise InputError(exc.message) from None
    return None




def parse_listing(paths: Iterable[str]) -> tuple[list[tuple[str, ResponseName]], list[str]]:
    """The matrices (``.rmf``) of a listing, parsed leniently: ``(path, name)`` of each that
    follows the scheme, and the ``.rmf`` paths that do not (reported, never guessed at)."""
    parsed, unreadable = [], []
    for path in paths:
        base = path.rsplit("/", 1)[-1]
        if not base.lower().endswith(".rmf"):
            continue
        name = ResponseName.read(base)
        if name is None:
            unreadable.append(path)
        else:
            parsed.append((path, name))
    return parsed, unreadable


def headers_table(root: Path, parsed: Sequence[tuple[str, ResponseName]], camera: str,
                  ) -> EpochTable | None:
    """Epochs of ``camera`` as its local matrices' ``CVSD0001`` give them (``None`` when none
    of them carries it)."""
    found = []
    for path, name in parsed:
        if name.camera != camera:
            continue
        start = header_start(root / path)
        if start is not None:
            found.append((name, start))
    if not found:
        return None
    return epochs_from_headers(found, source=f"{root}: the matrices' headers")


@attrs.frozen
class Chosen:
    """The matrix chosen for some observations of a manifest, and why."""

    path: str
    observations: tuple[str, ...]
    choice: ChosenMatrix


def choose_for(manifest: Manifest, observations: Sequence[str], request: ResponseRequest,
               table: EpochTable, parsed: Sequence[tuple[str, ResponseName]], *, source: str
               ) -> list[Chosen]:
    """One matrix per epoch the observations (labels) fall in, each as :func:`choose` picks
    it for the observation's date; the observations sharing it grouped."""
    labels = manifest.labels()
    by_path: dict[str, list[tuple[str, ChosenMatrix]]] = {}
    for label in observations:
        obs = manifest.observations[labels.index(label)]
        c = choose(parsed, request, obs.obs_date, table, source=source)
        by_path.setdefault(c.path, []).append((label, c))
    return [Chosen(path, tuple(label for label, _ in got), got[0][1])
            for path, got in sorted(by_path.items())]


def choice_record(chosen: Chosen, request: ResponseRequest) -> ResponseChoice:
    """What the manifest keeps of a choice (provenance, in no id)."""
    e = chosen.choice.epoch
    mode = request.mode + (str(request.adu) if request.adu is not None else "")
    return ResponseChoice(chosen.path, chosen.observations, request.camera, mode,
                          request.patterns, request.position, e.label, e.start, e.end, e.source)


__all__ = ["PACKAGE_TABLE", "Chosen", "choice_record", "choose_for", "epochs_for", "header_start",
           "headers_table", "package_epochs", "parse_listing", "read_epoch_table"]
