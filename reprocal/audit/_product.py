"""Which calibration produced a file: the calibration state a product carries or points to.

A product tells its calibration in one or more ways:

* a ``CALINDEX`` table (CIFs, SAS event lists and spectra, PPS ``*CALIND*`` products, master
  indexes): the constituents and, as table keywords, the OBSVDATE/ANALDATE they were selected at;
* a reprocal stamp in its primary header (:mod:`reprocal.fits._stamp`): the calibration id, the
  manifest digest, the image digest and the record's file name;
* a provenance record (:mod:`reprocal.provenance._record`): the constituents by sha256 and the manifest;
* a manifest: the pinned state itself, one per observation.

:func:`read_product` reads whichever there is and returns :class:`Product` values (one per
observation of a manifest, else one). Constituents a record names without their attributes are
looked up with ``lookup`` (the catalogue); those it cannot find are listed as unresolved.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import attrs

from reprocal.audit._diff import State
from reprocal.core._calid import CalibrationId, observation_id_of
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate, parse_optional
from reprocal.errors import FitsFormatError, InputError, ReprocalError
from reprocal.fits._calindex import CalIndex, read_calindex
from reprocal.fits._stamp import Stamp, is_fits, read_stamp
from reprocal.fs._hashing import sha256_file
from reprocal.fs._inputs import open_regular, require_regular
from reprocal.provenance._record import Record, is_record, load_record
from reprocal.provenance._signature import SignatureError
from reprocal.state._manifest import Manifest, V1ManifestNotice, load_manifest

Lookup = Callable[[str], Constituent | None]
_CALIND_RE = re.compile(r"^P\d{10}OBX000CALIND\d{4}\.(FTZ|FIT|FITS)(\.GZ)?\Z", re.IGNORECASE)


@attrs.frozen
class Product:
    """A file's calibration state and the identities attached to it."""

    path: str
    kind: str
    """``CIF``, ``event list``, ``spectrum``, ``PPS CALIND product``, ``master index``,
    ``FITS product``, ``manifest``, ``record``."""
    state: State
    """The constituents used (label = path, or ``path#obs``) and the dates they were selected at."""
    category: str = DEFAULT_CATEGORY
    pinned: Mapping[str, str] = attrs.field(factory=dict)
    """File name -> sha256, where a manifest or record pins the bytes."""
    calibration_id: str | None = None
    """The calibration id the product's source gives: a manifest's observation id, a record's or
    stamp's id (``rpcal:2:obs:<hex>``, ``rpcal:2:state:<hex>``, or a reprocal 0.1 ``sha256:<hex>``)."""
    image_digest: str | None = None
    stamp: Stamp | None = None
    record: Record | None = None
    record_path: str | None = None
    label: str | None = None
    """The observation's label, where the source names it (a manifest)."""
    upgraded_from: str | None = None
    """The version-1 id of the manifest the state comes from, when it was upgraded."""
    unresolved: tuple[str, ...] = ()
    """Constituents named by a record whose attributes no manifest or catalogue gives."""
    notes: tuple[str, ...] = ()
    image_record: ImageBuild | None = None
    """The build record of the image the product was made in, when it could be followed."""

    def content_id(self, sha256: Mapping[str, str] | None = None) -> CalibrationId | None:
        """The observation id of what the product used (its rows, dates and category, with the
        bytes' sha256 from ``sha256`` or what a record or manifest pins), or ``None`` when a
        date, a size or a sha256 is not known."""
        s = self.state
        known = {**self.pinned, **(sha256 or {})}
        if (s.obs_date is None or s.analysis_date is None or not s.constituents
                or self.unresolved
                or any(c.fsize is None or c.filename not in known for c in s.constituents)):
            return None
        return observation_id_of(s.constituents, known, s.obs_date.text, s.analysis_date.text,
                                 self.category)


@attrs.frozen
class ImageBuild:
    """The image a run used, followed to the record of its build (product -> run record ->
    image build record -> manifest)."""

    path: str
    """The image build record (``<image>.tar.prov.json`` beside the image tar)."""
    record: Record
    digests: tuple[str, ...]
    """What the build record names the image by: its manifest digest and config digest."""
    calibration_id: str | None
    """The state id the image was built from."""
    manifest: str | None
    """The manifest file the image was built from, as its record names it."""


def image_digests(rec: Record) -> tuple[str, ...]:
    """Every digest ``rec`` knows its image by: the image dependency's digest and its annotated
    config digest (a run), or the manifest and config subjects (an image build)."""
    out = []
    for d in rec.by_role("image"):
        out += [f"sha256:{d.sha256}" if d.sha256 else "", str(d.annotations.get("configDigest", ""))]
    out += [f"sha256:{s.sha256}" for s in rec.subjects
            if s.role in ("image-manifest", "image-config") and s.sha256]
    return tuple(d for d in dict.fromkeys(out) if d)


def _image_build(rec: Record, keys: Sequence[Any]) -> tuple[ImageBuild | None, str]:
    """The build record of the image ``rec`` ran in: ``<tar>.prov.json`` beside the image tar,
    matched by the manifest digest or the config digest (either: a recompressed copy keeps only
    the config digest)."""
    for dep in rec.by_role("image"):
        tar = _uri_path(dep.uri)
        if tar is None:
            return None, ""  # an image by name: its build record is wherever its builder keeps it
        path = tar.with_name(tar.name + ".prov.json")
        if not path.is_file():
            return None, f"no build record of its image beside {tar} ({path.name})"
        build = load_record(path, keys=keys)
        wanted, named = set(image_digests(rec)), image_digests(build)
        if build.kind != "image-build" or not wanted & set(named):
            return None, (f"{path} is not the build record of the image it ran in (it names "
                          f"{', '.join(named) or 'no image digest'})")
        manifest = next((d.name for d in build.by_role("manifest")), None)
        return ImageBuild(str(path), build, named, build.calibration_id, manifest), ""
    return None, ""


def _uri_path(uri: str | None) -> Path | None:
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def _fits_kind(path: Path) -> str:
    if _CALIND_RE.match(path.name):
        return "PPS CALIND product"
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdul:
                names = {str(h.header.get("EXTNAME", "")).upper() for h in hdul[1:]}
    except Exception:  # the CALINDEX reader has already judged the file readable
        return "FITS product"
    if "EVENTS" in names:
        return "event list"
    if "SPECTRUM" in names:
        return "spectrum"
    if names == {"CALINDEX"}:
        return "CIF"
    return "FITS product"


def _manifest_products(m: Manifest, path: str, *, kind: str = "manifest",
                       obs: str | None = None, **extra: object) -> list[Product]:
    pinned = {f.filename: f.sha256 for f in m.files}
    out = []
    for label, o, obs_id in zip(m.labels(), m.observations, m.observation_ids, strict=True):
        if obs is not None and label != obs:
            continue
        name = path if len(m.observations) == 1 else f"{path}#{label}"
        out.append(Product(path, kind, State(name, tuple(m.constituents_for(o)), o.obs_date,
                                             o.analysis_date, m.extras),
                           o.category, pinned, str(obs_id), label=o.label,
                           upgraded_from=m.upgraded_from, **extra))  # type: ignore[arg-type]
    if not out:
        raise InputError(f"{path}: no observation {obs!r} (it has {', '.join(m.labels())})")
    return out


def _record_manifest(rec: Record) -> tuple[Manifest | None, str]:
    """The manifest a record names, when its file is still there with the recorded bytes."""
    for dep in rec.by_role("manifest"):
        p = _uri_path(dep.uri)
        if p is None:
            return None, ""  # inside an image: the record's constituents say what it held
        if not p.is_file():
            return None, f"its manifest {p} is not there any more"
        if dep.sha256 and sha256_file(p) != dep.sha256:
            return _rewritten_manifest(p, dep.annotations.get("calibrationId"))
        return load_manifest(p), ""
    return None, ""


def _rewritten_manifest(p: Path, recorded: str | None) -> tuple[Manifest | None, str]:
    """A record's manifest whose bytes changed since the run: still the run's calibration if its
    state id is the one recorded, or its ``upgraded_from`` is (a reprocal 0.1 record of a
    manifest since upgraded to version 2)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", V1ManifestNotice)
            m = load_manifest(p)
    except ReprocalError:
        m = None
    if m is not None and recorded and recorded in (m.calibration_id, m.upgraded_from):
        was = (f"; its version-1 id {recorded} is the one recorded"
               if recorded == m.upgraded_from else "")
        return m, (f"its manifest {p} was rewritten since the run (upgraded to version 2"
                   f"{was}): the same calibration state")
    return None, f"its manifest {p} has changed since the run (sha256 differs)"


def _from_record(rec: Record, path: str, kind: str, lookup: Lookup | None,
                 keys: Sequence[Any] = (), **extra: object) -> list[Product]:
    manifest, note = _record_manifest(rec)
    build, build_note = _image_build(rec, keys)
    if build_note:
        note = f"{note}; {build_note}" if note else build_note
    if build is not None and rec.calibration_id and build.calibration_id and \
            rec.calibration_id != build.calibration_id and not rec.calibration_id.startswith(
                "rpcal:2:obs:"):
        note = (f"{note}; " if note else "") + (f"its image was built from {build.calibration_id}"
                                                f", not {rec.calibration_id}")
    common = dict(record=rec, image_digest=rec.image_digest, image_record=build, **extra)
    if manifest is not None:
        products = _manifest_products(manifest, path, kind=kind, notes=(note,) if note else (),
                                      **common)  # type: ignore[arg-type]
        # the id the record states is what the run was made with (a v1 id in a 0.1 record)
        return [attrs.evolve(p, calibration_id=rec.calibration_id or p.calibration_id)
                for p in products]
    rows, unresolved = [], []
    for dep in rec.by_role("constituent"):
        c = lookup(dep.name) if lookup else None
        if c is None:
            unresolved.append(dep.name)
        else:
            rows.append(c)
    obs = an = None
    for cif in rec.by_role("cif"):
        obs = parse_optional(cif.annotations.get("obsDate"))
        an = parse_optional(cif.annotations.get("analysisDate"))
    pinned = {d.name: d.sha256 for d in rec.by_role("constituent") if d.sha256}
    notes = (note,) if note else ()
    return [Product(path, kind, State(path, tuple(rows), obs, an), DEFAULT_CATEGORY, pinned,
                    rec.calibration_id, unresolved=tuple(unresolved), notes=notes,
                    **common)]  # type: ignore[arg-type]


def _stamp_record(path: Path, stamp: Stamp, keys: Sequence[Any] = ()
                  ) -> tuple[Record | None, str | None, str]:
    if not stamp.record:
        if keys:
            raise SignatureError("its stamp names no record, so nothing signed says which "
                                 "calibration made it (--key)", path=path)
        return None, None, ""
    rp = (path.parent / stamp.record)
    if not rp.is_file():
        if keys:
            raise SignatureError(f"its record {rp} is not there any more, so its signature "
                                 "cannot be checked (--key)", path=path)
        return None, None, f"its record {rp} is not there any more"
    try:
        rec = load_record(rp, keys=keys)
    except SignatureError:
        raise
    except ReprocalError as exc:
        return None, str(rp), f"its record is unreadable: {exc.message}"
    if stamp.invocation_id and rec.invocation_id != stamp.invocation_id:
        return None, str(rp), f"{rp} is the record of another run (invocation id differs)"
    return rec, str(rp), ""


def read_product(path: str | os.PathLike[str], *, lookup: Lookup | None = None,
                 obs: str | None = None, keys: Sequence[Any] = ()) -> list[Product]:
    """The calibration state(s) of a product, CIF, stamped file, record or manifest.

    ``keys`` (public keys): the record that says how the product was made (the product itself,
    or the record its stamp names) must carry a signature one of them verifies, else
    :class:`~reprocal.provenance._signature.SignatureError` (exit 1) naming the record; a
    manifest or an unstamped CIF has no record and is refused likewise."""

    p = Path(path)
    name = str(path)
    if not os.path.lexists(p):
        raise InputError(f"{name}: no such file")
    require_regular(p, what="product")  # a FIFO, device or directory: refused before reading
    if is_record(p):
        return _from_record(load_record(p, keys=keys), name, "record", lookup, keys,
                            record_path=name)
    with open_regular(p) as f:
        head = f.read(1)
    if head == b"{":
        if keys:
            raise SignatureError("a manifest carries no signature (--key checks records)",
                                 path=name)
        return _manifest_products(load_manifest(p), name, obs=obs)
    return _fits_product(p, name, lookup, keys)


def _fits_product(p: Path, name: str, lookup: Lookup | None, keys: Sequence[Any]
                  ) -> list[Product]:
    """A FITS product: its CALINDEX table and reprocal stamp, and the record the stamp names."""
    stamp = read_stamp(p) if is_fits(p) else None
    if keys and stamp is None:
        raise SignatureError("not stamped by reprocal, so no signed record says which "
                             "calibration made it (--key)", path=name)
    try:
        table = read_calindex(p)
    except FitsFormatError as exc:
        if not exc.message.startswith("no CALINDEX"):
            raise
        table = None
    if table is None:
        if stamp is None:
            raise FitsFormatError(
                "no CALINDEX table and no reprocal stamp: nothing says which calibration "
                "produced it", path=name,
                hint="SAS event lists, spectra and CIFs carry CALINDEX; `reprocal run` stamps")
        rec, rpath, note = _stamp_record(p, stamp, keys)
        if rec is not None:
            return _from_record(rec, name, "stamped FITS", lookup, keys, stamp=stamp,
                                record_path=rpath)
        return [Product(name, "stamped FITS", State(name, ()), stamp=stamp,
                        calibration_id=stamp.calibration_id, image_digest=stamp.image_digest,
                        record_path=rpath, notes=(note,) if note else ())]
    return [_calindex_product(p, name, table, stamp, keys)]


def _calindex_product(p: Path, name: str, table: CalIndex, stamp: Stamp | None,
                      keys: Sequence[Any]) -> Product:
    """A product with a CALINDEX table (and perhaps a stamp, a record, an image record)."""
    kind = "master index" if table.is_master_index else _fits_kind(p)
    notes: list[str] = []
    rec = rpath = None
    if stamp is not None:
        rec, rpath, note = _stamp_record(p, stamp, keys)
        if note:
            notes.append(note)
    pinned: dict[str, str] = {}
    if rec is not None:
        pinned = {d.name: d.sha256 for d in rec.by_role("constituent") if d.sha256}
        named = {d.name for d in rec.by_role("constituent")}
        if named and named != {c.filename for c in table.rows}:
            notes.append("the stamped run's record names other constituents than the CALINDEX "
                         "table (the product was re-made or its CALINDEX edited)")
    build = None
    if rec is not None:
        build, build_note = _image_build(rec, keys)
        if build_note:
            notes.append(build_note)
    return Product(name, kind, State(name, table.rows, table.obs_date, table.analysis_date),
                   table.category or DEFAULT_CATEGORY, pinned,
                   stamp.calibration_id if stamp else None,
                   (stamp.image_digest if stamp else None) or (rec.image_digest if rec else None),
                   stamp, rec, rpath, notes=tuple(notes), image_record=build)




_DATES_RE = re.compile(r"^\s*obs\s*=\s*(?P<obs>[^,]+?)\s*,\s*an\s*=\s*(?P<an>[^,]+?)\s*\Z", re.I)


def parse_dates_spec(spec: str) -> tuple[CalDate, str] | None:
    """``obs=DATE,an=DATE|now`` -> (observation date, analysis text); ``None`` otherwise.

    >>> parse_dates_spec("obs=2004-06-17,an=2014-05-08")
    (CalDate('2004-06-17T00:00:00'), '2014-05-08')
    >>> parse_dates_spec("ccf.cif") is None
    True
    """
    m = _DATES_RE.match(spec)
    if not m:
        return None
    return CalDate.parse(m["obs"], field="obs"), m["an"]


__all__ = ["ImageBuild", "Lookup", "Product", "image_digests", "parse_dates_spec", "read_product"]
