"""Checking a bundle received from someone else (a directory or its tar).

Every check is run and every problem reported (a report, not the first failure):

* ``SHA256SUMS`` parses; every file it lists is present with that sha256; no file is unlisted;
* ``ro-crate-metadata.json`` validates against ``schemas/ro-crate.schema.json``, passes the
  conformance checks of :func:`reprocal.bundle._crate.crate_problems` (what the reference
  validator refuses at REQUIRED level: an undefined term, no licence), and each File entity's
  sha256 and size agree with the file;
* ``manifest.json`` loads (schema, content, calibration id) and is the crate's identifier;
* every record under ``records/`` validates against ``schemas/record.schema.json``;
* every ``cif/<obs>/ccf.cif`` holds exactly the manifest's rows for that observation.

A tar is unpacked into a temporary directory first; members with absolute names, ``..``, links
or devices are refused (a problem), never written.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import attrs

from reprocal.bundle._crate import CRATE, crate_problems
from reprocal.bundle._write import SUMS
from reprocal.errors import InputError, ReprocalError
from reprocal.fits._calindex import read_calindex
from reprocal.fs._hashing import sha256_file
from reprocal.provenance._record import json_path, load_record
from reprocal.state._manifest import SCHEMA_V1, Manifest, V1ManifestNotice, load_manifest
from reprocal.state._schemas import load_schema

_SUM_LINE = re.compile(r"^(?P<hex>[0-9a-f]{64}) [ *](?P<path>\S.*)$")


@attrs.frozen
class BundleCheck:
    """What verifying a bundle found."""

    source: str
    """The directory or tar checked."""
    files: int
    """Files listed in ``SHA256SUMS``."""
    problems: tuple[str, ...]
    """One line per problem, naming the file."""
    calibration_id: str | None
    """The manifest's state id, when it loaded."""
    v1_id: str | None = None
    """The id the bundle was published under, when its manifest is a version-1 (reprocal 0.1)
    manifest: ``sha256:<hex>``."""
    nonconforming: tuple[str, ...] = ()
    """The problems (also in :attr:`problems`) that are the crate's non-conformance to RO-Crate
    1.1 rather than damage: the files can be intact and the crate still unfit to publish."""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def intact(self) -> bool:
        """Every problem is a conformance problem: nothing was changed or lost."""
        return set(self.problems) <= set(self.nonconforming)

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.source, "ok": self.ok, "intact": self.intact, "files": self.files,
                "calibration_id": self.calibration_id, "v1_id": self.v1_id,
                "problems": list(self.problems), "nonconforming": list(self.nonconforming)}


def parse_sums(text: str) -> tuple[dict[str, str], list[str]]:
    """``{path: sha256}`` and the problems (a line that does not parse is a problem)."""
    sums: dict[str, str] = {}
    problems = []
    for n, line in enumerate(text.splitlines(), start=1):
        m = _SUM_LINE.match(line)
        rel = m["path"] if m else ""
        if not m or PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
            problems.append(f"{SUMS} line {n}: not '<sha256>  <relative path>': {line[:80]!r}")
            continue
        sums[rel] = m["hex"]
    return sums, problems


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _check_crate(root: Path, sums: dict[str, str]) -> tuple[list[str], list[str]]:
    """The crate's problems, and which of them are non-conformance (schema or REQUIRED rules)."""
    import jsonschema

    try:
        doc = json.loads((root / CRATE).read_bytes())
    except (OSError, ValueError) as exc:
        return [f"{CRATE}: not readable JSON ({exc})"], []
    conformance = crate_problems(doc)
    validator = jsonschema.Draft202012Validator(load_schema("ro-crate.schema.json"))
    errors = list(validator.iter_errors(doc))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        conformance.insert(0, f"{CRATE}: {json_path(err.absolute_path)}: {err.message}")
        return conformance, conformance
    problems = list(conformance)
    for entity in doc["@graph"]:
        if entity.get("@type") != "File":
            continue
        rel = entity["@id"]
        if rel not in sums:
            problems.append(f"{CRATE}: File {rel} is not listed in {SUMS}")
        elif entity["sha256"] != sums[rel]:
            problems.append(f"{CRATE}: File {rel} has sha256 {entity['sha256']}, {SUMS} says "
                            f"{sums[rel]}")
        elif rel.startswith("image/") and (root / rel).is_file() and (
                why := _image_identity(root / rel, entity.get("identifier"))):
            problems.append(f"{CRATE}: File {rel}: {why}")
        elif (root / rel).is_file() and int(entity["contentSize"]) != (root / rel).stat().st_size:
            problems.append(f"{CRATE}: File {rel} has contentSize {entity['contentSize']}, the "
                            f"file has {(root / rel).stat().st_size} bytes")
    return problems, conformance


def _image_identity(path: Path, identifier: Any) -> str:
    """Why the bundled image is not the one the crate names ('' when it is, or names none): any
    one of the named digests may be its manifest digest or its config digest (the image ID,
    which a recompressing copy keeps)."""
    from reprocal.image._archive import read_image_tar

    named = [identifier] if isinstance(identifier, str) else list(identifier or [])
    if not named:
        return ""
    try:
        img = read_image_tar(path)
    except ReprocalError:
        return "not a readable image tar, but the crate names it by an image digest"
    if {img.manifest_digest, img.config_digest} & set(named):
        return ""
    return (f"the crate names the image {', '.join(map(str, named))}, the tar is "
            f"{img.manifest_digest or '-'} (config {img.config_digest})")


def _crate_identifier(root: Path) -> str | None:
    """The root data entity's ``identifier`` in the crate, when there is one to read."""
    try:
        doc = json.loads((root / CRATE).read_bytes())
        for entity in doc["@graph"]:
            if entity.get("@id") == "./" and isinstance(entity.get("identifier"), str):
                return str(entity["identifier"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # reported by the crate check
    return None


def _check_cifs(root: Path, manifest: Manifest) -> list[str]:

    problems = []
    for label, obs in zip(manifest.labels(), manifest.observations, strict=True):
        rel = f"cif/{label}/ccf.cif"
        if not (root / rel).is_file():
            problems.append(f"{rel}: missing (the manifest has observation {label})")
            continue
        try:
            table = read_calindex(root / rel)
        except ReprocalError as exc:
            problems.append(f"{rel}: {exc.message}")
            continue
        want = {c.filename: c for c in manifest.constituents_for(obs)}
        got = {c.filename: c for c in table.rows}
        if set(got) != set(want):
            extra, lost = sorted(set(got) - set(want)), sorted(set(want) - set(got))
            problems.append(f"{rel}: rows differ from the manifest (extra: {', '.join(extra) or '-'};"
                            f" missing: {', '.join(lost) or '-'})")
        elif (table.obs_date, table.analysis_date) != (obs.obs_date, obs.analysis_date):
            problems.append(f"{rel}: OBSVDATE/ANALDATE {table.obs_date}/{table.analysis_date}, "
                            f"the manifest says {obs.obs_date}/{obs.analysis_date}")
        else:
            for name, c in sorted(got.items()):
                w = want[name]
                if (c.valdate, c.evaldate, c.subdate) != (w.valdate, w.evaldate, w.subdate):
                    problems.append(f"{rel}: row {name} has other dates than the manifest's")
    return problems


def verify_directory(root: Path, *, source: str | None = None,
                     keys: Sequence[Any] = ()) -> BundleCheck:
    """Check an unpacked bundle; with ``keys``, every record must be signed by one of them."""

    label = source or str(root)
    if not (root / SUMS).is_file():
        raise InputError(f"{label}: no {SUMS}: not a reprocal bundle")
    sums, problems = parse_sums((root / SUMS).read_text(errors="replace"))
    present = _files(root) - {SUMS}
    for rel in sorted(present - set(sums)):
        problems.append(f"{rel}: not listed in {SUMS} (added after bundling?)")
    for rel, digest in sorted(sums.items()):
        if rel not in present:
            problems.append(f"{rel}: listed in {SUMS} but missing")
        elif sha256_file(root / rel) != digest:
            problems.append(f"{rel}: sha256 differs from {SUMS}: tampered or corrupt")
    nonconforming: list[str] = []
    if CRATE in present:
        crate_found, nonconforming = _check_crate(root, sums)
        problems.extend(crate_found)
    else:
        problems.append(f"{CRATE}: missing")
    manifest = None
    try:
        with warnings.catch_warnings():  # a bundle's manifest is as published: never upgraded
            warnings.simplefilter("ignore", V1ManifestNotice)
            manifest = load_manifest(root / "manifest.json")
    except ReprocalError as exc:
        problems.append(f"manifest.json: {exc.message}")
    if manifest is not None:
        ident = _crate_identifier(root)
        if ident is not None and ident not in (manifest.calibration_id, manifest.upgraded_from):
            problems.append(f"{CRATE}: the crate's identifier {ident} is not the manifest's "
                            f"calibration id {manifest.calibration_id}")
    for rel in sorted(r for r in present if r.startswith("records/")):
        try:
            load_record(root / rel, keys=keys)
        except ReprocalError as exc:
            problems.append(f"{rel}: {exc.message}")
    if manifest is not None:
        problems.extend(_check_cifs(root, manifest))
    return BundleCheck(label, len(sums), tuple(problems),
                       manifest.calibration_id if manifest else None,
                       manifest.upgraded_from if manifest and manifest.source_schema == SCHEMA_V1
                       else None, tuple(nonconforming))


def _unpack(tar_path: Path, dest: Path) -> tuple[Path, list[str]]:
    """Unpack regular files and directories under one top directory; refuse anything else."""
    problems = []
    tops = set()
    try:
        with tarfile.open(tar_path) as tar:
            for m in tar:
                parts = PurePosixPath(m.name).parts
                if PurePosixPath(m.name).is_absolute() or ".." in parts or not parts:
                    problems.append(f"{m.name}: unsafe member name, not unpacked")
                    continue
                if not (m.isfile() or m.isdir()):
                    problems.append(f"{m.name}: not a regular file (link or device), not unpacked")
                    continue
                tops.add(parts[0])
                target = dest.joinpath(*parts)
                if m.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(m)
                assert src is not None
                with open(target, "wb") as out:
                    while block := src.read(1 << 20):
                        out.write(block)
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"{tar_path}: not a readable tar ({exc})") from None
    if len(tops) != 1:
        raise InputError(f"{tar_path}: expected one top directory, found {len(tops)}")
    return dest / tops.pop(), problems


def verify_bundle(path: str | os.PathLike[str], *, keys: Sequence[Any] = ()) -> BundleCheck:
    """Check a bundle directory, or a bundle tar (unpacked into a temporary directory).
    ``keys`` (public keys, :func:`reprocal.provenance._signature.load_public_key`): every record
    in it must carry a signature one of them verifies."""
    p = Path(path)
    if p.is_dir():
        return verify_directory(p, keys=keys)
    if not p.is_file():
        raise InputError(f"{p}: no such bundle directory or tar")
    with tempfile.TemporaryDirectory(prefix="reprocal-bundle-") as tmp:
        root, problems = _unpack(p, Path(tmp))
        check = verify_directory(root, source=str(p), keys=keys)
    return attrs.evolve(check, problems=tuple(problems) + check.problems)


__all__ = ["BundleCheck", "parse_sums", "verify_bundle", "verify_directory"]
