"""``image_build``, ``image_verify``, ``image_push``, ``image_pull``: calibration images."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from reprocal.api._checked import Checked
from reprocal.api._inputs import PathLike, directories, manifest_of, signer_of
from reprocal.errors import PARAMETERS, CheckFailed, InputError, Names
from reprocal.image._build import ImageResult
from reprocal.image._layers import DEFAULT_GROUPS
from reprocal.image._registry import PullResult, PushResult
from reprocal.image._verify import VerifyReport
from reprocal.progress import Progress, or_null
from reprocal.repo._ccfpath import CcfPath
from reprocal.state._manifest import Manifest

_TAG_RE = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")


@attrs.frozen
class ImageBuildResult:
    """The image :func:`image_build` wrote, and its provenance record."""

    image: ImageResult
    """Path, name, digests, layers."""
    record: Path
    """The provenance record of the build (``<tar>.prov.json``)."""

    def to_json(self) -> dict[str, Any]:
        return self.image.to_json()


def image_build(
    manifest: Manifest | PathLike,
    *,
    output: PathLike,
    base: str | None = None,
    tag: str | None = None,
    ccf_path: CcfPath = None,
    gzip: bool = False,
    layer_groups: int = DEFAULT_GROUPS,
    layer_cache: PathLike | None = None,
    sign: PathLike | None = None,
    argv: Sequence[str] | None = None,
    progress: Progress | None = None,
    names: Names = PARAMETERS,
) -> ImageBuildResult:
    """Build the image tar ``output`` of a pinned manifest, without a daemon: ``/ccf`` holds
    exactly its constituents (from ``ccf_path``) and CIFs; then write its provenance record
    (giving ``argv`` as the command; default: this call).

    ``base``: a ``docker save``/OCI tar, or an image name exported from the Docker daemon.
    ``tag``: the ``NAME:TAG`` it loads as. ``gzip`` layers are smaller but not reproducible
    across zlib builds; keep ``layer_groups`` fixed so images of successive states share
    layers. ``layer_cache``: a directory where built layers are kept; a layer found there
    (the same files, pinned alike) is copied, not read and hashed from its files again; the
    image is the same, byte for byte. ``sign``: a private key (``reprocal key generate``) to
    sign the record with.
    """
    from reprocal.image._build import build_image
    from reprocal.provenance._recorder import record_image_build

    if tag is not None and not _TAG_RE.match(tag):
        raise InputError(f"{names('tag')}: {tag!r} is not NAME:TAG (lower-case name, e.g. "
                         "ccf:2014-05)")
    started = datetime.now(timezone.utc)
    signer = signer_of(sign)
    m = manifest_of(manifest)
    dirs = directories(ccf_path, names)
    or_null(progress).start(sum(f.size for f in m.files))
    built = build_image(m, dirs, output, base=base, tag=tag, gzip=gzip, progress=progress,
                        k=layer_groups, layer_cache=layer_cache)
    record = record_image_build(m, None if isinstance(manifest, Manifest) else manifest, output,
                                name=built.name, manifest_digest=built.manifest_digest,
                                config_digest=built.config_digest, base=base, started=started,
                                argv=["reprocal.api.image_build"] if argv is None else argv,
                                signer=signer)
    return ImageBuildResult(built, record)


@attrs.frozen
class ImageVerifyResult(Checked):
    """What :func:`image_verify` found."""

    path: Path
    report: VerifyReport
    """Every check, passed or failed."""
    failure: CheckFailed | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_json(self) -> dict[str, Any]:
        return self.report.to_json()


def image_verify(tar: PathLike, *, docker: bool = False,
                 docker_host: str | None = None) -> ImageVerifyResult:
    """Check an image tar: structure, every digest, DiffIDs, ``/ccf`` against its manifest;
    with ``docker``, also load it into the daemon (``docker_host``, default ``$DOCKER_HOST``)
    and run a container that checks ``SHA256SUMS`` and the environment."""
    from reprocal.image._verify import verify_image

    report = verify_image(Path(tar))
    if docker and report.ok:
        from reprocal.image._daemon import check_in_docker

        report = attrs.evolve(report, checks=report.checks + tuple(
            check_in_docker(tar, base_url=docker_host)))
    failure = None
    if not report.ok:
        failure = CheckFailed(f"{len(report.failures)} check(s) failed", path=tar)
    return ImageVerifyResult(Path(tar), report, failure)


@attrs.frozen
class ImagePushResult:
    """What :func:`image_push` sent."""

    push: PushResult

    def to_json(self) -> dict[str, Any]:
        r = self.push
        return {"reference": r.reference, "digest": r.digest, "uploaded": list(r.uploaded),
                "skipped": list(r.skipped)}


def image_push(tar: PathLike, reference: str) -> ImagePushResult:
    """Push an image tar to an OCI registry (``REGISTRY/NAME:TAG``); the registry must report
    our manifest digest."""
    from reprocal.image._registry import push_image

    return ImagePushResult(push_image(tar, reference))


@attrs.frozen
class ImagePullResult:
    """What :func:`image_pull` wrote."""

    pull: PullResult

    def to_json(self) -> dict[str, Any]:
        r = self.pull
        return {"reference": r.reference, "path": str(r.path), "digest": r.digest,
                "tar_sha256": r.tar_sha256}


def image_pull(reference: str, *, output: PathLike) -> ImagePullResult:
    """Pull an image (``REGISTRY/NAME[:TAG|@DIGEST]``) into the image tar ``output``, its
    manifest kept byte for byte."""
    from reprocal.image._registry import pull_image

    return ImagePullResult(pull_image(reference, output))


__all__ = ["ImageBuildResult", "ImagePullResult", "ImagePushResult", "ImageVerifyResult",
           "image_build", "image_pull", "image_push", "image_verify"]
