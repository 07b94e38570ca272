"""``bundle`` and ``bundle_verify``: paper bundles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from reprocal.api._checked import Checked
from reprocal.api._inputs import DateLike, PathLike, public_keys
from reprocal.bundle._verify import BundleCheck
from reprocal.bundle._write import Bundle
from reprocal.core._calid import CalibrationId
from reprocal.errors import PARAMETERS, CheckFailed, Names


@attrs.frozen
class BundleResult:
    """The bundle :func:`bundle` wrote."""

    bundle: Bundle
    """Its directory, tarball, files and calibration id."""

    def to_json(self) -> dict[str, Any]:
        b = self.bundle
        return {"directory": str(b.directory), "tarball": str(b.tarball),
                "calibration_id": b.calibration_id, "files": list(b.files)}


def bundle(
    manifest: PathLike,
    *,
    output: PathLike,
    image: PathLike | None = None,
    records: PathLike | None = None,
    campaign: PathLike | None = None,
    date: DateLike | None = None,
    license: str | None = None,
    authors: Sequence[str] = (),
    affiliation: str | None = None,
    publisher: str | None = None,
    name: str | None = None,
    doi: str | None = None,
    release_notes: PathLike | None = None,
    names: Names = PARAMETERS,
) -> BundleResult:
    """Write a paper bundle for ``manifest`` into the new directory ``output`` and its
    tarball beside it (``<output>.tar``): the manifest, its CIFs, the provenance records found
    in ``records``, the summary and records of a ``campaign`` directory of this manifest
    (``reprocal campaign run -o DIR``), an optional calibration ``image`` tar, RO-Crate
    metadata, a README,
    ``SHA256SUMS``. ``date`` (publication date and tar timestamps) defaults to the manifest's
    latest analysis date, so the tar is the same on every machine.

    ``license`` (an SPDX id) is required; ``authors`` (``'NAME [<EMAIL>] [ORCID]'``) default to
    git's ``user.name``/``user.email``; ``affiliation`` and ``publisher`` (``'NAME <URL>'``)
    default to each other, and one of them is required. ``doi`` (reserved for the bundle)
    gives the README and ``report.html`` a BibTeX entry and the crate its ``cite-as``;
    ``release_notes`` is the local list of release notes ``report.html`` links constituents
    to (see :func:`reprocal.api.notes`)."""
    from reprocal.bundle._credits import resolve_credits
    from reprocal.bundle._write import make_bundle
    from reprocal.core._dates import CalDate
    from reprocal.report._cite import parse_doi
    from reprocal.report._notes import notes_from

    chosen_doi = parse_doi(doi, field=names("doi")) if doi else None
    notes = notes_from(release_notes)
    credits = resolve_credits(license=license, authors=authors, affiliation=affiliation,
                              publisher=publisher, names=names)
    when = CalDate.parse(date, field=names("date")) if date else None
    return BundleResult(make_bundle(manifest, output, credits=credits, image=image,
                                    records=records, campaign=campaign, date=when, name=name, doi=chosen_doi,
                                    notes=notes))


@attrs.frozen
class BundleVerifyResult(Checked):
    """What :func:`bundle_verify` found."""

    check: BundleCheck
    failure: CheckFailed | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        return self.check.ok

    @property
    def published_under(self) -> CalibrationId | None:
        """The version-1 id a reprocal 0.1 bundle was published under."""
        return CalibrationId.parse(self.check.v1_id) if self.check.v1_id else None

    def to_json(self) -> dict[str, Any]:
        return self.check.to_json()


def bundle_verify(path: PathLike, *, keys: Sequence[PathLike] = ()) -> BundleVerifyResult:
    """Check a bundle received from someone else (its directory or tarball): every file
    against ``SHA256SUMS``, the crate, the manifest, the records and the CIFs. With ``keys``
    (public keys), every record in it must be signed by one of them."""
    from reprocal.bundle._verify import verify_bundle

    check = verify_bundle(path, keys=public_keys(keys))
    failure = None
    if not check.ok and check.intact:
        failure = CheckFailed(
            f"{len(check.problems)} problem(s) found (listed above): every file is as it was "
            "written, but its RO-Crate metadata is not valid RO-Crate 1.1", path=path,
            hint="the data can be used; to publish it, bundle its manifest again with this "
            "reprocal" + (" (it was written by reprocal 0.1)" if check.v1_id else ""))
    elif not check.ok:
        failure = CheckFailed(f"{len(check.problems)} problem(s) found (listed above): the "
                              "bundle is not as it was written", path=path,
                              hint="ask the sender for a fresh copy; do not use this one")
    return BundleVerifyResult(check, failure)


__all__ = ["BundleResult", "BundleVerifyResult", "bundle", "bundle_verify"]
