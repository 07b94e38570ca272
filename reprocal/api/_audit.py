"""``audit``, ``audit_pin`` and ``audit_uses``: which calibration produced a product, judged
against the catalogue; the manifest that reproduces it; which products used a constituent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._catalogue import Known, known_constituents
from reprocal.api._inputs import DateLike, PathLike, public_keys, warn
from reprocal.audit._impact import UsesReport
from reprocal.audit._judge import AuditReport, LocalCopy
from reprocal.audit._matrices import MatrixUse, matrix_uses
from reprocal.audit._product import Product
from reprocal.core._calid import CalibrationId
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import CalDate
from reprocal.core._responses import RMFGEN_ADVICE
from reprocal.errors import PARAMETERS, CheckFailed, IncompleteStateError, InputError, Names
from reprocal.progress import Progress
from reprocal.repo._ccfpath import CcfPath
from reprocal.state._manifest import Manifest

# --- audit ----------------------------------------------------------------------------------


@attrs.frozen
class AuditEntry:
    """One calibration state of a product, and the audit's verdict on it."""

    product: Product
    report: AuditReport
    matrices: tuple[MatrixUse, ...] = ()
    """The canned response matrices its ``RESPFILE``/``ANCRFILE`` name."""

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def calibration_id(self) -> CalibrationId | None:
        """The id the product carries, parsed (its version says which reprocal made it)."""
        cid = self.product.calibration_id
        return CalibrationId.parse(cid) if cid else None

    @property
    def content_mismatch(self) -> CalibrationId | None:
        """What the product's content hashes to, when that differs from the id it carries at
        the same level (its calibration rows or pinned bytes differ from what was stamped)."""
        carried, content = self.calibration_id, self.product.content_id()
        if carried is None or content is None or content.level != carried.level:
            return None
        return content if str(content) != self.product.calibration_id else None

    def lines(self) -> list[str]:
        """The verdict in words (first line: the summary)."""
        from reprocal.audit._judge import render

        return list(render(self.report))

    def to_json(self) -> dict[str, Any]:
        p, cid = self.product, self.calibration_id
        doc = self.report.to_json()
        doc.update(kind=p.kind, calibration_id=p.calibration_id,
                   calibration_id_version=cid.version if cid else None,
                   upgraded_from=p.upgraded_from, image_digest=p.image_digest,
                   record=p.record_path,
                   record_signed_by=list(p.record.signed_by) if p.record else [],
                   image_record=({"path": p.image_record.path,
                                  "digests": list(p.image_record.digests),
                                  "calibration_id": p.image_record.calibration_id,
                                  "manifest": p.image_record.manifest}
                                 if p.image_record else None),
                   unresolved=list(p.unresolved), notes=list(p.notes),
                   canned_matrices=[u.to_json() for u in self.matrices])
        return doc


@attrs.frozen
class AuditResult:
    """What :func:`audit` found, one entry per calibration state read."""

    entries: tuple[AuditEntry, ...]
    today: CalDate
    """The analysis date of "today's calibration" compared with (``now`` resolved)."""
    local_checked: bool
    """Whether local copies were checked (a repository was given)."""

    @property
    def ok(self) -> bool:
        """Every state agrees with the selection rule and is available locally."""
        return all(e.ok for e in self.entries)

    html: Path | None = None
    """The page written with ``html``."""

    def to_json(self) -> Any:
        docs = [e.to_json() for e in self.entries]
        return docs[0] if len(docs) == 1 else docs

    def to_table(self) -> Any:
        """Every finding of every entry, one row each (an astropy ``Table``)."""
        from reprocal.fits._tabular import rows_table

        return rows_table([{"product": e.report.state.label, **f.to_json()}
                           for e in self.entries for f in e.report.findings])

    def to_pandas(self) -> Any:
        """:meth:`to_table` as a pandas ``DataFrame`` (pandas must be installed)."""
        from reprocal.fits._tabular import to_pandas

        return to_pandas(self.to_table())

    def _repr_html_(self) -> str:
        from reprocal._html import Markup, join

        return str(join(Markup(e.report._repr_html_()) for e in self.entries))


def _facts(e: AuditEntry) -> list[tuple[str, object]]:
    """What an audit page says of a product besides its verdicts."""
    from reprocal.report._page import code_id

    p, cid = e.product, e.calibration_id
    return [("product", p.path), ("kind", p.kind),
            ("observation date", p.state.obs_date), ("analysis date", p.state.analysis_date),
            ("category", p.category), ("constituents", len(p.state.constituents)),
            ("calibration id", code_id(cid.describe()) if cid else "none carried"),
            ("record", p.record_path), ("image", p.image_digest),
            *(("note", n) for n in p.notes)]


def _write_page(result: AuditResult, known: Known, release_notes: PathLike | None,
                html: PathLike) -> None:
    from reprocal.fs._atomic import atomic_write
    from reprocal.report._notes import notes_from
    from reprocal.report._reports import audit_page

    page = audit_page([(_facts(e), e.report) for e in result.entries], known.constituents,
                      set(known.local) if known.local is not None else None,
                      notes_from(release_notes))
    atomic_write(html, page.encode("utf-8"))


def _manifests(read: Sequence[tuple[PathLike, Sequence[Product]]]
               ) -> list[tuple[str, Manifest]]:
    """The manifests among the products given (what pins a matrix a spectrum names)."""
    from reprocal.state._manifest import load_manifest

    return [(str(path), load_manifest(path)) for path, prods in read
            if prods and prods[0].kind == "manifest"]


def _dirs(ccf_path: CcfPath) -> tuple[Path, ...]:
    from reprocal.errors import ReprocalError
    from reprocal.repo._ccfpath import ccf_dirs

    try:
        return tuple(ccf_dirs(ccf_path))
    except ReprocalError:
        return ()


def _audit(products: Sequence[PathLike], ccf_path: CcfPath, catalog: PathLike | None,
           import_index: Sequence[PathLike], today: DateLike, keys: Sequence[PathLike],
           progress: Progress | None, names: Names) -> tuple[AuditResult, Known]:
    from reprocal.audit._judge import audit_state
    from reprocal.audit._product import read_product
    from reprocal.core._dates import resolve
    from reprocal.fs._hashing import sha256_file

    if not products:  # SAS's default CIF, as the SAS tasks read it
        from reprocal.api._inputs import sas_ccf

        products = [sas_ccf(None, names, "products")]
    trusted = public_keys(keys)
    known = known_constituents(ccf_path, catalog, import_index, progress, names)
    by_name = {c.filename: c for c in known.constituents}
    when = resolve(today, field=names("today"))
    if known.local is None:
        warn(f"no {names('ccf_path')} or SAS_CCFPATH: local availability is not checked")
    entries = []
    read = [(path, read_product(path, lookup=by_name.get, keys=trusted)) for path in products]
    manifests = _manifests(read)
    dirs = _dirs(ccf_path)
    for path, prods in read:
        uses = matrix_uses(path, manifests, dirs)
        if uses:
            warn(f"{path}: names {len(uses)} canned response matrix(es); {RMFGEN_ADVICE}")
        for prod in prods:
            rep = audit_state(prod.state, known.constituents, category=prod.category,
                              local=known.local, pinned=prod.pinned, hash_file=sha256_file,
                              today=when, withdrawals=known.withdrawals,
                              arrivals=known.arrivals)
            entries.append(AuditEntry(prod, rep, uses))
    return AuditResult(tuple(entries), when, known.local is not None), known


def audit(
    products: Sequence[PathLike],
    *,
    ccf_path: CcfPath = None,
    catalog: PathLike | None = None,
    import_index: Sequence[PathLike] = (),
    today: DateLike = "now",
    keys: Sequence[PathLike] = (),
    html: PathLike | None = None,
    release_notes: PathLike | None = None,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> AuditResult:
    """Which calibration produced each of ``products`` (event lists, spectra, CIFs, PPS CALIND
    products, stamped files, records, manifests; none: ``$SAS_CCF``), judged against the
    catalogue (``catalog`` refreshed with ``ccf_path``, else ``$SAS_CCFPATH`` if set, and
    ``import_index`` tables),
    and what re-making it with ``today``'s calibration would change. With ``keys`` (public
    keys), every record read must be signed by one of them. With ``html``, the audit is also
    written there as a self-contained page (timelines of what differs, constituents linked to
    their release notes from ``release_notes``, see :func:`reprocal.api.notes`)."""
    if html is not None:
        from reprocal.report._notes import notes_from

        notes_from(release_notes)  # a bad list fails before the work
    result, known = _audit(products, ccf_path, catalog, import_index, today, keys, progress,
                           names)
    if html is None:
        return result
    _write_page(result, known, release_notes, html)
    return attrs.evolve(result, html=Path(html))


# --- audit --pin ----------------------------------------------------------------------------


@attrs.frozen
class AuditPinResult:
    """The audit of one product, and the manifest :func:`audit_pin` wrote for its state."""

    audit: AuditResult
    manifest: Manifest
    path: Path
    """The manifest file, as given."""
    differing: tuple[str, ...] = ()
    """Local constituents pinned although they differ from what the product used (only with
    ``pin_local``), each as ``path: how``."""

    @property
    def reproduces(self) -> bool:
        """Whether the manifest pins what the product used (not other local bytes)."""
        return not self.differing

    @property
    def carried(self) -> str | None:
        """The calibration id the product carries, if any."""
        return self.audit.entries[0].product.calibration_id

    def to_json(self) -> Any:
        doc = self.audit.to_json()
        pinned = {"manifest": str(self.path.resolve()),
                  "observation_id": str(self.manifest.observation_ids[0]),
                  "calibration_id": self.manifest.calibration_id,
                  "reproduces_product": self.reproduces, "differing": list(self.differing)}
        return {**doc, "pinned": pinned} if isinstance(doc, dict) else doc


@attrs.frozen
class _Sources:
    """Where each constituent's pinned bytes come from, for :func:`audit_pin`."""

    hashes: dict[str, tuple[int, str]]
    """File name -> (size, sha256) to pin."""
    rows: tuple[Constituent, ...]
    """The rows to pin: the product's, or a differing local copy's own attributes."""
    missing: list[str]
    """Neither pinned by the product nor present locally."""
    differing: list[str]
    """Local copies that differ from what the product used (``path: how``)."""


def _sources(prod: Product, local: Mapping[str, LocalCopy] | None) -> _Sources:
    """(size, sha256) of each constituent of ``prod``: pinned digests, else hashed local
    copies, which must be what the product used as far as its row tells (size, MD5 where both
    know it, selection attributes; see :func:`reprocal.audit._judge.local_differences`)."""
    from reprocal.audit._judge import local_differences
    from reprocal.fs._hashing import sha256_file

    hashes, rows, missing, differing = {}, [], [], []
    for c in prod.state.constituents:
        copy = (local or {}).get(c.filename)
        if c.filename in prod.pinned:
            size = c.fsize if c.fsize is not None else (copy.path.stat().st_size if copy else None)
            if size is not None:
                hashes[c.filename] = (size, prod.pinned[c.filename])
                rows.append(c)
                continue
        if copy is None:
            missing.append(c.filename)
            rows.append(c)
            continue
        hashes[c.filename] = (copy.path.stat().st_size, sha256_file(copy.path))
        diffs = local_differences(c, copy)
        if diffs:
            differing.append(f"{copy.path}: {'; '.join(diffs)}")
            rows.append(copy.constituent)  # what is pinned is the local file, as it is
        else:
            rows.append(c)
    return _Sources(hashes, tuple(rows), missing, differing)


def audit_pin(
    product: PathLike,
    *,
    output: PathLike,
    ccf_path: CcfPath = None,
    catalog: PathLike | None = None,
    import_index: Sequence[PathLike] = (),
    today: DateLike = "now",
    keys: Sequence[PathLike] = (),
    pin_local: bool = False,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> AuditPinResult:
    """Audit ``product`` (see :func:`audit`) and write the manifest ``output`` reproducing its
    calibration state: pinned digests where it has them (a record, a manifest), else the
    sha256 of the local copies in ``ccf_path``.

    A local copy that is not what the product used (another size, another MD5 where both are
    known, other selection attributes than the product's row) is refused: nothing is written
    and :class:`~reprocal.errors.CheckFailed` lists the differing files, since such a manifest
    would claim to reproduce the product from other bytes. ``pin_local`` pins the local bytes
    anyway (with their own attributes); the manifest's generator then says it does not
    reproduce the product, and :attr:`AuditPinResult.reproduces` is false. Constituents
    neither pinned nor present locally are :class:`~reprocal.errors.IncompleteStateError`.
    """
    from reprocal._version import __version__
    from reprocal.state._manifest import Generator, build, save_manifest

    result, known = _audit([product], ccf_path, catalog, import_index, today, keys, progress,
                           names)
    local = known.local
    if len(result.entries) != 1:
        raise InputError(f"{product} holds {len(result.entries)} calibration states; only a "
                         "product of one state can be pinned")
    prod = result.entries[0].product
    s = prod.state
    if s.obs_date is None or s.analysis_date is None:
        raise InputError(f"{prod.path}: no OBSVDATE/ANALDATE, so no state to pin")
    src = _sources(prod, local)
    if src.differing and not pin_local:
        also = (f"; {len(src.missing)} more are not present locally" if src.missing else "")
        raise CheckFailed(
            f"cannot pin {prod.path}: {len(src.differing)} local constituent(s) are not what the "
            f"product used: {'; '.join(src.differing[:5])}"
            + (" ..." if len(src.differing) > 5 else "") + also,
            hint=f"fetch the files it used into {names('ccf_path')}, or pass "
                 f"{names.given('pin_local')} to pin the local bytes (the manifest then says "
                 "it does not reproduce the product); nothing was written")
    if src.missing:
        missing = src.missing
        raise IncompleteStateError(
            f"cannot pin {prod.path}: {len(missing)} constituent(s) are neither pinned nor "
            f"present locally: {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""),
            gaps=tuple(missing), hint=f"fetch them into {names('ccf_path')} first")
    method = f"audit --pin: from {prod.kind} {Path(prod.path).name}"
    if src.differing:
        names_ = ", ".join(d.split(": ", 1)[0].rsplit("/", 1)[-1] for d in src.differing)
        method += (f"; does NOT reproduce the product: {len(src.differing)} constituent(s) "
                   f"pinned from local bytes that differ from what it used ({names_})")
    sas = (prod.record.sas or {}).get("version") if prod.record is not None else None
    m = build([(prod.label, s.obs_date, s.analysis_date, prod.category or DEFAULT_CATEGORY,
                src.rows)], src.hashes, generator=Generator("reprocal", __version__, method),
              sas_version=sas if sas and sas != "unknown" else None)
    save_manifest(m, output)
    return AuditPinResult(result, m, Path(output), tuple(src.differing))


# --- audit --uses ---------------------------------------------------------------------------


@attrs.frozen
class UsesResult:
    """What :func:`audit_uses` found."""

    report: UsesReport

    def to_json(self) -> dict[str, Any]:
        return self.report.to_json()


def audit_uses(name: str, roots: Sequence[PathLike] = (".",), *,
               progress: Progress | None = None, names: Names = PARAMETERS) -> UsesResult:
    """Reverse impact: the products, manifests and records under ``roots`` that used ``name``
    (``EPN_CTI_0045.CCF``, or ``EPN_CTI`` for any issue; any case)."""
    from reprocal.audit._impact import find_uses, parse_target

    target = parse_target(name, field=names("name"))
    return UsesResult(find_uses(target, roots, progress=progress))


__all__ = ["AuditEntry", "AuditPinResult", "AuditResult", "UsesResult", "audit", "audit_pin",
           "audit_uses"]
