"""Paper bundles: a state's manifest, CIFs, records, image, checksums, RO-Crate metadata and a
README, written reproducibly and verified on receipt.

May import :mod:`reprocal.audit` and everything below it.
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "Bundle": "reprocal.bundle._write",
    "BundleCheck": "reprocal.bundle._verify",
    "Credits": "reprocal.bundle._credits",
    "License": "reprocal.bundle._credits",
    "Organization": "reprocal.bundle._credits",
    "Person": "reprocal.bundle._credits",
    "bundle_documents": "reprocal.bundle._verify",
    "is_bundle_tar": "reprocal.bundle._verify",
    "make_bundle": "reprocal.bundle._write",
    "resolve_credits": "reprocal.bundle._credits",
    "verify_bundle": "reprocal.bundle._verify",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reprocal.bundle._credits import Credits, License, Organization, Person, resolve_credits
    from reprocal.bundle._verify import BundleCheck, bundle_documents, is_bundle_tar, verify_bundle
    from reprocal.bundle._write import Bundle, make_bundle

__all__ = ["Bundle", "BundleCheck", "Credits", "License", "Organization", "Person",
           "bundle_documents", "is_bundle_tar", "make_bundle", "resolve_credits", "verify_bundle"]
