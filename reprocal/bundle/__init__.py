"""Paper bundles: a state's manifest, CIFs, records, image, checksums, RO-Crate metadata and a
README, written reproducibly and verified on receipt.

May import :mod:`reprocal.audit` and everything below it.
"""

from reprocal.bundle._credits import Credits, License, Organization, Person, resolve_credits
from reprocal.bundle._verify import BundleCheck, bundle_documents, is_bundle_tar, verify_bundle
from reprocal.bundle._write import Bundle, make_bundle

__all__ = ["Bundle", "BundleCheck", "Credits", "License", "Organization", "Person",
           "bundle_documents", "is_bundle_tar", "make_bundle", "resolve_credits", "verify_bundle"]
