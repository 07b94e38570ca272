"""Calibration images: a pinned state as a bit-for-bit reproducible OCI/Docker image tar, built
without a daemon; reading and verifying image tars; the Docker daemon and OCI registries.

The layout constants (``/ccf``, environment, labels) are in one module every part shares. May
import :mod:`reprocal.state` and everything below it; ``docker`` is imported by the daemon
module only, lazily.
"""

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
