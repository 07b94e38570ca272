"""``reprocal image``: build, verify, push and pull calibration images."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import click

from reprocal.cli._common import (
    ccf_path_option,
    cli,
    echo_json,
    info,
    json_option,
    option_ccf_dirs,
    sign_option,
    signer_of,
)
from reprocal.cli._progress import Bar
from reprocal.errors import CheckFailed, InputError
from reprocal.image._layers import DEFAULT_GROUPS

_TAG_RE = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@cli.group("image")
def image() -> None:
    """Calibration images: reproducible OCI/Docker tars, built without a daemon."""


@image.command("build")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("--base", metavar="IMAGE", help="Base image: a `docker save`/OCI tar, or an image "
              "name exported from the Docker daemon. Its layers are reused byte for byte.")
@click.option("--tag", metavar="NAME:TAG", help="Name the image loads as "
              "(default reprocal-ccf:<calibration id prefix>).")
@ccf_path_option
@click.option("--gzip", "use_gzip", is_flag=True, help="gzip the layers (smaller, but deflate "
              "output differs between zlib builds: not reproducible across machines).")
@click.option("--layer-groups", type=click.IntRange(1, 99), default=DEFAULT_GROUPS,
              show_default=True, help="Type groups the constituents are spread over; keep it "
              "fixed so images of successive states share layers.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The image tar to write.")
@sign_option
@json_option
def build_cmd(manifest: str, base: str | None, tag: str | None, ccf_path: str | None,
              use_gzip: bool, layer_groups: int, output: str, sign_key: str | None,
              as_json: bool) -> None:
    """Build the image of a pinned MANIFEST: /ccf holds exactly its constituents and CIFs."""
    from reprocal.image._build import build_image
    from reprocal.state._manifest import load_manifest

    if tag is not None and not _TAG_RE.match(tag):
        raise InputError(f"--tag: {tag!r} is not NAME:TAG (lower-case name, e.g. ccf:2014-05)")
    started = datetime.now(timezone.utc)
    signer = signer_of(sign_key)
    m = load_manifest(manifest)
    dirs = option_ccf_dirs(ccf_path)
    total = sum(f.size for f in m.files)
    with Bar("image", total=total, unit="B", unit_scale=True) as progress:
        result = build_image(m, dirs, output, base=base, tag=tag, gzip=use_gzip,
                             progress=progress, k=layer_groups)
    from reprocal.provenance._recorder import record_image_build

    record_image_build(m, manifest, output, name=result.name,
                       manifest_digest=result.manifest_digest,
                       config_digest=result.config_digest, base=base, started=started,
                       signer=signer)
    if as_json:
        echo_json(result.to_json())
        return
    info(f"wrote {result.path} ({result.name}, {len(result.layers)} layers)")
    info(f"  calibration id  {result.calibration_id}")
    info(f"  manifest digest {result.manifest_digest}")
    info(f"  config digest   {result.config_digest}")
    info(f"  tar sha256      {result.tar_sha256}")
    info(f"load it with: docker load -i {result.path}")
    if base is None:
        info("  data only (no base: no shell, no programs, just /ccf); check it in Docker with "
             f"`reprocal image verify {result.path} --docker`, or build on a SAS image with --base")


@image.command("verify")
@click.argument("tar", type=click.Path(dir_okay=False))
@click.option("--docker", "use_docker", is_flag=True, help="Also load it into the Docker daemon "
              "($DOCKER_HOST) and run a container that checks SHA256SUMS and the environment.")
@json_option
def verify_cmd(tar: str, use_docker: bool, as_json: bool) -> None:
    """Check an image tar: structure, every digest, DiffIDs, /ccf against its manifest."""
    import attrs

    from reprocal.image._verify import verify_image

    report = verify_image(tar)
    if use_docker and report.ok:
        from reprocal.image._daemon import check_in_docker

        report = attrs.evolve(report, checks=report.checks + tuple(check_in_docker(tar)))
    if as_json:
        echo_json(report.to_json())
    else:
        for c in report.checks:
            if not c.ok:
                info(f"FAIL {c.name}: {c.detail}")
        info(f"{Path(tar)}: {len(report.checks) - len(report.failures)}/{len(report.checks)} "
             f"checks passed" + (f", calibration {report.calibration_id}"
                                 if report.calibration_id else ""))
    if not report.ok:
        if as_json:
            raise click.exceptions.Exit(1)
        raise CheckFailed(f"{len(report.failures)} check(s) failed", path=tar)


@image.command("push")
@click.argument("tar", type=click.Path(dir_okay=False))
@click.argument("reference", metavar="REGISTRY/NAME:TAG")
@json_option
def push_cmd(tar: str, reference: str, as_json: bool) -> None:
    """Push an image tar to an OCI registry; the registry must report our manifest digest."""
    from reprocal.image._registry import push_image

    r = push_image(tar, reference)
    if as_json:
        echo_json({"reference": r.reference, "digest": r.digest, "uploaded": list(r.uploaded),
                   "skipped": list(r.skipped)})
        return
    info(f"pushed {r.reference}@{r.digest} ({len(r.uploaded)} blobs sent, "
         f"{len(r.skipped)} already there)")


@image.command("pull")
@click.argument("reference", metavar="REGISTRY/NAME[:TAG|@DIGEST]")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The image tar to write.")
@json_option
def pull_cmd(reference: str, output: str, as_json: bool) -> None:
    """Pull an image from an OCI registry into an image tar (manifest kept byte for byte)."""
    from reprocal.image._registry import pull_image

    r = pull_image(reference, output)
    if as_json:
        echo_json({"reference": r.reference, "path": str(r.path), "digest": r.digest,
                   "tar_sha256": r.tar_sha256})
        return
    info(f"wrote {r.path} from {r.reference}@{r.digest}")
