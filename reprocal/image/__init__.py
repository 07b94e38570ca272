"""Calibration images: a pinned state as a bit-for-bit reproducible OCI/Docker image tar, built
without a daemon; reading and verifying image tars; the Docker daemon and OCI registries.

The layout constants (``/ccf``, environment, labels) are in one module every part shares. May
import :mod:`reprocal.state` and everything below it; ``docker`` is imported by the daemon
module only, lazily.
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "Check": "reprocal.image._verify",
    "ImageResult": "reprocal.image._build",
    "ImageTar": "reprocal.image._archive",
    "LayerInfo": "reprocal.image._build",
    "PullResult": "reprocal.image._registry",
    "PushResult": "reprocal.image._registry",
    "Reference": "reprocal.image._registry",
    "VerifyReport": "reprocal.image._verify",
    "build_image": "reprocal.image._build",
    "pull_image": "reprocal.image._registry",
    "push_image": "reprocal.image._registry",
    "read_image_tar": "reprocal.image._archive",
    "registry_credentials": "reprocal.image._credentials",
    "verify_image": "reprocal.image._verify",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reprocal.image._archive import ImageTar, read_image_tar
    from reprocal.image._build import ImageResult, LayerInfo, build_image
    from reprocal.image._credentials import registry_credentials
    from reprocal.image._registry import PullResult, PushResult, Reference, pull_image, push_image
    from reprocal.image._verify import Check, VerifyReport, verify_image

__all__ = [
    "Check", "ImageResult", "ImageTar", "LayerInfo", "PullResult", "PushResult", "Reference",
    "VerifyReport", "build_image", "pull_image", "push_image", "read_image_tar",
    "registry_credentials", "verify_image",
]
