"""``reprocal response``: choose the canned response matrix of the right epoch for a manifest's
observations, say why, and pin it (with the area's ``Version.txt``) as a canned-response set.

Everything is decided before a byte is written: the source listed (a local directory, or a
mirror's ``extras/responses/`` over HTTP), its names parsed (a ``.rmf`` name that does not
follow the scheme is reported, never guessed at), the epoch of each observation's date found
(pn from the package table, a camera a user table gives from it, MOS otherwise from the local
matrices' ``CVSD0001`` headers), and one matrix chosen per epoch. Then the chosen files are
copied (or downloaded) into ``extras/<label>/`` of the repository, checked, and the manifest
written with the set (its id counts in the state id) and the choices (provenance).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._extras import download_failure, is_url
from reprocal.api._inputs import directories, manifest_of, warn
from reprocal.core._responses import RMFGEN_ADVICE, ResponseRequest
from reprocal.errors import PARAMETERS, InputError, Names
from reprocal.fetch._area import list_area
from reprocal.fetch._mirrors import Mirror, parse_mirror
from reprocal.fs._hashing import sha256_file
from reprocal.fs._tree import file_chunks, install, safe_dir
from reprocal.repo._ccfpath import CcfPath
from reprocal.repo._extras import EXTRAS_DIR, extras_home
from reprocal.state._manifest import ExtraFile, ExtraSet, Manifest, save_manifest, with_extras
from reprocal.state._responses import (
    Chosen,
    choice_record,
    choose_for,
    epochs_for,
    headers_table,
    parse_listing,
)

VERSION_FILE = "Version.txt"
PathLike = str | Path


@attrs.frozen
class ResponseResult:
    """What ``reprocal response`` chose and pinned."""

    manifest: Manifest
    output: Path
    set: ExtraSet
    chosen: tuple[Chosen, ...]
    unreadable: tuple[str, ...]
    """``.rmf`` names of the source that do not follow the scheme (not considered)."""
    version_file: bool
    """The source's ``Version.txt`` was pinned with the matrices."""
    advice: str = RMFGEN_ADVICE

    def to_json(self) -> dict[str, Any]:
        return {"output": str(self.output), "calibration_id": self.manifest.calibration_id,
                "set": {"label": self.set.label, "id": str(self.set.id),
                        "files": [f.path for f in self.set.files]},
                "chosen": [{"path": c.path, "observations": list(c.observations),
                            "epoch": c.choice.epoch.label, "obs_date": c.choice.obs_date.text,
                            "reason": c.choice.reason} for c in self.chosen],
                "unreadable": list(self.unreadable), "version_file": self.version_file,
                "advice": self.advice}


def _listing(source: str, names: Names) -> tuple[Mirror, list[str], Path | None]:
    """The source as a mirror, every file below it, and its local root (``None``: remote)."""
    field = names("source")
    if is_url(source) and not source.lower().startswith("file://"):
        mirror = parse_mirror(source, where=field)
        return mirror, list_area(mirror), None
    mirror = parse_mirror(source, where=field)
    root = Path(mirror.base)
    if not root.is_dir():
        raise InputError(f"{field}: {source} is not a directory",
                         hint="give a canned-response area (a directory or an http(s) URL)")
    return mirror, list_area(mirror), root


def _observations(m: Manifest, obs: Sequence[str], names: Names) -> list[str]:
    labels = m.labels()
    for label in obs:
        if label not in labels:
            raise InputError(f"{names('obs')}: {label!r} is not an observation of the manifest "
                             f"({', '.join(labels[:5])}{' ...' if len(labels) > 5 else ''})")
    return list(dict.fromkeys(obs)) if obs else labels


def _staged(mirror: Mirror, root: Path | None, paths: Sequence[str], tmp: Path) -> Path:
    """A local directory holding ``paths``: the source itself, or ``tmp`` they were
    downloaded into (bounded by ``download-size``)."""
    if root is not None:
        return root
    from reprocal.fetch._extras import download

    got = download([(mirror, p, None) for p in paths], tmp / "staged")
    for p in paths:
        if got.get(p) is None or got[p].status != "fetched":
            raise download_failure(got.get(p), f"{mirror.url(p)}")
    return tmp / "staged"


def _merged(m: Manifest, label: str, files: Sequence[ExtraFile], url: str | None,
            chosen: Sequence[Chosen], request: ResponseRequest, names: Names) -> ExtraSet:
    """The set to pin: the manifest's set of ``label`` (when it has one) with ``files`` and the
    choices added; a file pinned there with other bytes is an error (nothing written yet)."""
    try:
        old = m.extra(label)
    except KeyError:
        old = None
    if old is not None and old.kind != "canned-response":
        raise InputError(f"{names('label')}: the manifest's set {label!r} is a {old.kind} set",
                         hint="give another --label")
    kept = {f.path: f for f in (old.files if old else ())}
    for f in files:
        if f.path in kept and kept[f.path] != f and f.path != VERSION_FILE:
            raise InputError(f"{names('source')}: {f.path} differs from the one the manifest's "
                             f"set {label!r} pins", hint="give another --label for this source")
        kept[f.path] = f
    new = {c.path for c in chosen}
    choices = tuple(c for c in (old.choices if old else ()) if c.path not in new)
    choices += tuple(choice_record(c, request) for c in chosen)
    return ExtraSet(label, "canned-response", tuple(kept[p] for p in sorted(kept)),
                    url or (old.url if old else None), None,
                    tuple(sorted(choices, key=lambda c: c.path)))


def response(
    manifest: Manifest | PathLike,
    *,
    source: str,
    camera: str,
    mode: str,
    patterns: str,
    position: str,
    output: PathLike,
    obs: Sequence[str] = (),
    version: str | None = None,
    epochs: PathLike | None = None,
    label: str = "responses",
    ccf_path: CcfPath = None,
    names: Names = PARAMETERS,
) -> ResponseResult:
    """Choose and pin the canned matrix of ``camera``/``mode``/``patterns``/``position`` for
    the observations ``obs`` of ``manifest`` (default: all), from ``source`` (a directory or a
    mirror's ``extras/responses/`` URL); see the module docstring. ``epochs``: a table
    ``camera,epoch,start,end[,source]`` whose cameras replace the package's. The set
    ``label`` is kept in ``extras/<label>/`` of the first ``ccf_path`` directory (else
    ``$SAS_CCFPATH``); the manifest is written to ``output``. Warns (:data:`RMFGEN_ADVICE`)
    every time: ESA advises ``rmfgen`` for analysis."""
    from reprocal.core._names import check_label

    m = manifest_of(manifest)
    check_label(label, field=names("label"))
    labels = _observations(m, obs, names)
    request = ResponseRequest.of(camera, mode, patterns, position, version, names={
        k: names(k) for k in ("camera", "mode", "patterns", "position")})
    mirror, paths, root = _listing(source, names)
    parsed, unreadable = parse_listing(paths)
    if unreadable:
        warn(f"{source}: {len(unreadable)} .rmf name(s) do not follow the canned-matrix scheme "
             "and were not considered: " + ", ".join(unreadable[:3])
             + (" ..." if len(unreadable) > 3 else ""))
    table = epochs_for(epochs, field=names("epochs"))
    if request.camera not in table.cameras() and root is not None:
        from_headers = headers_table(root, parsed, request.camera)
        if from_headers is not None:
            table = table.replaced_by(from_headers)
    chosen = choose_for(m, labels, request, table, parsed, source=source)
    wanted = [c.path for c in chosen] + ([VERSION_FILE] if VERSION_FILE in paths else [])
    if VERSION_FILE not in paths:
        warn(f"{source}: no {VERSION_FILE}; the matrices are pinned by their bytes alone")
    dirs = directories(ccf_path, names)
    with tempfile.TemporaryDirectory(prefix="reprocal-response-") as tmp:
        staged = _staged(mirror, root, wanted, Path(tmp))
        files = [ExtraFile(p, (staged / p).stat().st_size, sha256_file(staged / p))
                 for p in wanted]
        new_set = _merged(m, label, files, None if root is not None else source, chosen,
                          request, names)
        pinned = with_extras(m, [new_set])
        safe_dir(Path(dirs[0]), EXTRAS_DIR)
        home = extras_home(dirs, label)
        for f in files:
            install(safe_dir(home.parent.parent, f"{EXTRAS_DIR}/{label}"), f.path,
                    file_chunks(staged / f.path), size=f.size, sha256=f.sha256)
    out = save_manifest(pinned, output)
    warn(RMFGEN_ADVICE)
    return ResponseResult(pinned, Path(out), new_set, tuple(chosen), tuple(unreadable),
                          VERSION_FILE in paths)


__all__ = ["ResponseResult", "response"]
