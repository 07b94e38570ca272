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

A tar (plain or gzip-compressed) is never unpacked: it is read in one streaming pass, each
member hashed as it goes by, and only the small documents checked here (``SHA256SUMS``, the crate,
the manifest, records, CIFs: each at most the ``document-size`` limit) kept in memory. A gzip
bomb stops at the ``unpacked-size`` limit; members with absolute names, ``..``, links or devices
are problems, never read. A directory's files must be regular files; the bundle itself must be a
directory or a regular file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tarfile
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Any

import attrs

from reprocal.bundle._crate import CRATE, crate_problems
from reprocal.bundle._write import SUMS
from reprocal.errors import InputError, ReprocalError
from reprocal.fits._calindex import read_calindex
from reprocal.fs._gunzip import GunzipReader
from reprocal.fs._hashing import sha256_file
from reprocal.fs._inputs import open_input, read_input
from reprocal.fs._limits import current_limits
from reprocal.provenance._record import json_path
from reprocal.provenance._record import loads as loads_record
from reprocal.state._manifest import SCHEMA_V1, Manifest, V1ManifestNotice
from reprocal.state._manifest import loads as loads_manifest
from reprocal.state._schemas import load_schema, parse_json

_SUM_LINE = re.compile(r"^(?P<hex>[0-9a-f]{64}) [ *](?P<path>\S.*)\Z")


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


def _wanted(rel: str) -> bool:
    """The members whose bytes the checks read (the others are only hashed)."""
    return (rel in (SUMS, CRATE, "manifest.json") or rel.startswith("records/")
            or (rel.startswith("cif/") and rel.endswith(".cif")))


class Contents:
    """A bundle's regular files: names, sizes, sha256 and, for the documents the checks read,
    their bytes (``None`` with a problem when too large or unreadable)."""

    def __init__(self, label: str):
        self.label = label
        self.sizes: dict[str, int] = {}
        self.digests: dict[str, str] = {}
        self.blobs: dict[str, bytes] = {}
        self.problems: list[str] = []
        self.images: dict[str, tuple[str | None, str] | str] = {}
        """``image/*.tar`` members: their (manifest digest, config digest), or why unreadable."""

    def data(self, rel: str) -> bytes | None:
        return self.blobs.get(rel)


def directory_contents(root: Path) -> Contents:
    """The regular files under ``root`` (anything else is a problem, never read)."""
    out = Contents(str(root))
    limit = current_limits().document_size
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_dir() and not p.is_symlink():
            continue
        if not p.is_file():
            out.problems.append(f"{rel}: not a regular file (link, FIFO or device), not read")
            continue
        try:
            out.sizes[rel] = p.stat().st_size
            out.digests[rel] = sha256_file(p)
            if _wanted(rel):
                out.blobs[rel] = read_input(p, limit=limit, what="bundle document",
                                            name="document-size")
            elif _is_image(rel):
                out.images[rel] = _identity_of_tar(p)
        except (OSError, ReprocalError) as exc:
            text = exc.one_line() if isinstance(exc, ReprocalError) else exc.strerror
            out.problems.append(f"{rel}: {text}")
    return out


def tar_contents(path: Path) -> Contents:
    """The regular members of a bundle tar (plain or gzip), read in one streaming pass; the tar
    must hold one top directory, whose name is dropped."""
    out = Contents(str(path))
    limit = current_limits().document_size
    tops: set[str] = set()
    entries: list[tuple[str, int, str, bytes | None]] = []
    with open_input(path, what="bundle") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream: Any = GunzipReader(raw, source=str(path)) if gz else raw
        try:
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for m in tar:
                    parts = PurePosixPath(m.name).parts
                    if PurePosixPath(m.name).is_absolute() or ".." in parts or not parts:
                        out.problems.append(f"{m.name}: unsafe member name, not unpacked")
                        continue
                    if not (m.isfile() or m.isdir()):
                        out.problems.append(f"{m.name}: not a regular file (link or device), "
                                            "not unpacked")
                        continue
                    tops.add(parts[0])
                    if m.isdir() or len(parts) < 2:
                        continue
                    rel = "/".join(parts[1:])
                    src = tar.extractfile(m)
                    assert src is not None
                    h = hashlib.sha256()
                    keep: list[bytes] | None = [] if _wanted(rel) and m.size <= limit else None
                    if _is_image(rel):  # read as the tar it is, hashed as it goes by
                        out.images[rel] = _identity_of_stream(_Hashing(src, h), rel)
                    while block := src.read(1 << 20):
                        h.update(block)
                        if keep is not None:
                            keep.append(block)
                    if _wanted(rel) and keep is None:
                        out.problems.append(f"{rel}: larger than the document-size limit of "
                                            f"{limit} bytes, not checked")
                    entries.append((rel, m.size, h.hexdigest(),
                                    None if keep is None else b"".join(keep)))
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise InputError(f"{path}: not a readable tar ({exc})") from None
    if len(tops) != 1:
        raise InputError(f"{path}: expected one top directory, found {len(tops)}")
    for rel, size, digest, data in entries:
        out.sizes[rel], out.digests[rel] = size, digest
        if data is not None:
            out.blobs[rel] = data
    return out


def _is_image(rel: str) -> bool:
    return rel.startswith("image/") and rel.endswith(".tar")


class _Hashing:
    """A reader that feeds what it reads to a hash (an inner tar read while hashing the outer
    member)."""

    def __init__(self, raw: IO[bytes], h: Any):
        self._raw, self._h = raw, h

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._h.update(data)
        return data


def _identity_of_tar(path: Path) -> tuple[str | None, str] | str:
    from reprocal.image._archive import read_image_tar

    try:
        img = read_image_tar(path)
    except ReprocalError as exc:
        return exc.message
    return img.manifest_digest, img.config_digest


def _identity_of_stream(raw: Any, rel: str) -> tuple[str | None, str] | str:
    """(manifest digest, config digest) of an image tar read as a stream, keeping only its
    small documents (index, manifests, configs) in memory."""
    from reprocal.image._archive import identity_of

    limit = current_limits().document_size
    docs: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=raw, mode="r|") as inner:
            for m in inner:
                name = m.name.lstrip("./")
                if m.isreg() and m.size <= limit and (
                        name.endswith(".json") or name.startswith("blobs/sha256/")):
                    src = inner.extractfile(m)
                    assert src is not None
                    data = src.read()
                    if data[:1] in (b"{", b"["):
                        docs[name] = data
        return identity_of(docs, rel)
    except ReprocalError as exc:
        return exc.message
    except (tarfile.TarError, OSError, EOFError) as exc:
        return f"not a readable image tar ({exc})"


def _crate(c: Contents) -> Any:
    data = c.data(CRATE)
    if data is None:
        raise InputError("not readable")
    return parse_json(data, source=CRATE)


def _check_crate(c: Contents, sums: dict[str, str]) -> tuple[list[str], list[str]]:
    """The crate's problems, and which of them are non-conformance (schema or REQUIRED rules)."""
    import jsonschema

    try:
        doc = _crate(c)
    except ReprocalError as exc:
        return [f"{CRATE}: not readable JSON ({exc.message})"], []
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
        elif rel in c.images and (why := _image_identity(c.images[rel],
                                                         entity.get("identifier"))):
            problems.append(f"{CRATE}: File {rel}: {why}")
        elif rel in c.sizes and int(entity["contentSize"]) != c.sizes[rel]:
            problems.append(f"{CRATE}: File {rel} has contentSize {entity['contentSize']}, the "
                            f"file has {c.sizes[rel]} bytes")
    return problems, conformance


def _image_identity(found: tuple[str | None, str] | str, identifier: Any) -> str:
    """Why the bundled image is not the one the crate names ('' when it is, or names none): any
    one of the named digests may be its manifest digest or its config digest (the image ID,
    which a recompressing copy keeps)."""
    named = [identifier] if isinstance(identifier, str) else list(identifier or [])
    if not named:
        return ""
    if isinstance(found, str):
        return "not a readable image tar, but the crate names it by an image digest"
    manifest_digest, config_digest = found
    if {manifest_digest, config_digest} & set(named):
        return ""
    return (f"the crate names the image {', '.join(map(str, named))}, the tar is "
            f"{manifest_digest or '-'} (config {config_digest})")


def _crate_identifier(c: Contents) -> str | None:
    """The root data entity's ``identifier`` in the crate, when there is one to read."""
    try:
        doc = _crate(c)
        for entity in doc["@graph"]:
            if entity.get("@id") == "./" and isinstance(entity.get("identifier"), str):
                return str(entity["identifier"])
    except (ReprocalError, ValueError, KeyError, TypeError, AttributeError):
        return None  # reported by the crate check
    return None


def _read_cif(data: bytes, rel: str) -> Any:
    """A CIF's CALINDEX from its bytes (at most the document-size limit), through a private
    temporary file the FITS reader can open."""
    with tempfile.NamedTemporaryFile(prefix="reprocal-cif-", suffix=".cif") as f:
        f.write(data)
        f.flush()
        try:
            return read_calindex(f.name)
        except ReprocalError as exc:
            raise InputError(exc.message.replace(f.name, rel)) from None


def _check_cifs(c: Contents, manifest: Manifest) -> list[str]:
    problems = []
    for label, obs in zip(manifest.labels(), manifest.observations, strict=True):
        rel = f"cif/{label}/ccf.cif"
        data = c.data(rel)
        if data is None:
            if rel not in c.sizes:
                problems.append(f"{rel}: missing (the manifest has observation {label})")
            continue
        try:
            table = _read_cif(data, rel)
        except ReprocalError as exc:
            problems.append(f"{rel}: {exc.message}")
            continue
        want = {x.filename: x for x in manifest.constituents_for(obs)}
        got = {x.filename: x for x in table.rows}
        if set(got) != set(want):
            extra, lost = sorted(set(got) - set(want)), sorted(set(want) - set(got))
            problems.append(f"{rel}: rows differ from the manifest (extra: {', '.join(extra) or '-'};"
                            f" missing: {', '.join(lost) or '-'})")
        elif (table.obs_date, table.analysis_date) != (obs.obs_date, obs.analysis_date):
            problems.append(f"{rel}: OBSVDATE/ANALDATE {table.obs_date}/{table.analysis_date}, "
                            f"the manifest says {obs.obs_date}/{obs.analysis_date}")
        else:
            for name, x in sorted(got.items()):
                w = want[name]
                if (x.valdate, x.evaldate, x.subdate) != (w.valdate, w.evaldate, w.subdate):
                    problems.append(f"{rel}: row {name} has other dates than the manifest's")
    return problems


def _manifest(c: Contents, problems: list[str]) -> Manifest | None:
    """The bundle's manifest, or ``None`` with the problem recorded."""
    data = c.data("manifest.json")
    if data is None:
        if "manifest.json" not in c.sizes:
            problems.append("manifest.json: missing")
        return None
    try:
        with warnings.catch_warnings():  # a bundle's manifest is as published: never upgraded
            warnings.simplefilter("ignore", V1ManifestNotice)
            return loads_manifest(data, source="manifest.json")
    except ReprocalError as exc:
        problems.append(f"manifest.json: {exc.message}")
        return None


def verify_contents(c: Contents, *, source: str | None = None,
                    keys: Sequence[Any] = ()) -> BundleCheck:
    """Check a bundle's contents (see the module docstring); with ``keys``, every record must
    be signed by one of them."""
    label = source or c.label
    if SUMS not in c.sizes:
        raise InputError(f"{label}: no {SUMS}: not a reprocal bundle")
    sums, problems = parse_sums((c.data(SUMS) or b"").decode("utf-8", errors="replace"))
    problems = list(c.problems) + problems
    present = set(c.sizes) - {SUMS}
    for rel in sorted(present - set(sums)):
        problems.append(f"{rel}: not listed in {SUMS} (added after bundling?)")
    for rel, digest in sorted(sums.items()):
        if rel not in present:
            problems.append(f"{rel}: listed in {SUMS} but missing")
        elif c.digests[rel] != digest:
            problems.append(f"{rel}: sha256 differs from {SUMS}: tampered or corrupt")
    nonconforming: list[str] = []
    if CRATE in present:
        crate_found, nonconforming = _check_crate(c, sums)
        problems.extend(crate_found)
    else:
        problems.append(f"{CRATE}: missing")
    manifest = _manifest(c, problems)
    if manifest is not None:
        ident = _crate_identifier(c)
        if ident is not None and ident not in (manifest.calibration_id, manifest.upgraded_from):
            problems.append(f"{CRATE}: the crate's identifier {ident} is not the manifest's "
                            f"calibration id {manifest.calibration_id}")
    for rel in sorted(r for r in present if r.startswith("records/")):
        record = c.data(rel)
        if record is None:
            continue
        try:
            loads_record(record, source=rel, keys=keys)
        except ReprocalError as exc:
            problems.append(f"{rel}: {exc.message}")
    if manifest is not None:
        problems.extend(_check_cifs(c, manifest))
    return BundleCheck(label, len(sums), tuple(problems),
                       manifest.calibration_id if manifest else None,
                       manifest.upgraded_from if manifest and manifest.source_schema == SCHEMA_V1
                       else None, tuple(nonconforming))


def verify_directory(root: Path, *, source: str | None = None,
                     keys: Sequence[Any] = ()) -> BundleCheck:
    """Check an unpacked bundle; with ``keys``, every record must be signed by one of them."""
    return verify_contents(directory_contents(root), source=source, keys=keys)


def verify_bundle(path: str | os.PathLike[str], *, keys: Sequence[Any] = ()) -> BundleCheck:
    """Check a bundle directory, or a bundle tar (plain or gzip; streamed, never unpacked).
    ``keys`` (public keys, :func:`reprocal.provenance._signature.load_public_key`): every record
    in it must carry a signature one of them verifies."""
    p = Path(path)
    if p.is_dir():
        return verify_directory(p, keys=keys)
    if not os.path.lexists(p):
        raise InputError(f"{p}: no such bundle directory or tar")
    return verify_contents(tar_contents(p), source=str(p), keys=keys)


def is_bundle_tar(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a bundle tar: gzip, or a ustar header (its first block)."""
    with open_input(path, what="bundle") as raw:
        head = raw.read(512)
    return head[:2] == b"\x1f\x8b" or head[257:262] == b"ustar"


def bundle_documents(path: str | os.PathLike[str]) -> tuple[bytes, Any]:
    """The manifest bytes and the parsed crate (``None`` when it has none) of a bundle tar,
    read in one streaming pass and never unpacked."""
    p = Path(path)
    c = tar_contents(p)
    data = c.data("manifest.json")
    if data is None:
        why = "holds no manifest.json" if "manifest.json" not in c.sizes else \
            "has a manifest.json that cannot be read (" + "; ".join(c.problems) + ")"
        raise InputError(f"{p}: a bundle tar that {why}; give a manifest or a whole bundle")
    crate = _crate(c) if c.data(CRATE) is not None else None
    return data, crate


__all__ = ["BundleCheck", "bundle_documents", "is_bundle_tar", "parse_sums", "verify_bundle",
           "verify_directory"]
