"""``reprocal image``: build, verify, push and pull calibration images."""

from __future__ import annotations

from typing import Any

import click

from reprocal import api
from reprocal.cli._common import (
    ccf_path_option,
    command_line,
    echo_json,
    info,
    json_option,
    option_names,
    sign_option,
)
from reprocal.cli._progress import Bar


@click.group("image")
def image() -> None:
    """Calibration images: reproducible OCI/Docker tars, built without a daemon."""


@image.command("build")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("--base", metavar="IMAGE", help="Base image: a `docker save`/OCI tar, or an image "
              "name exported from the Docker daemon. Its layers are reused byte for byte.")
@click.option("--tag", metavar="NAME:TAG", help="Name the image loads as "
              "(default reprocal-ccf:<calibration id prefix>).")
@ccf_path_option
@click.option("--gzip", "gzip", is_flag=True, help="gzip the layers (smaller, but deflate "
              "output differs between zlib builds: not reproducible across machines).")
@click.option("--layer-groups", type=click.IntRange(1, 99), default=api.DEFAULT_GROUPS,
              show_default=True, help="Type groups the constituents are spread over; keep it "
              "fixed so images of successive states share layers.")
@click.option("--layer-cache", metavar="DIR", type=click.Path(file_okay=False),
              envvar="REPROCAL_LAYER_CACHE", show_envvar=True,
              help="Keep built layers in DIR (created if missing; yours alone) and copy those "
              "already there instead of reading their files again; the image is the same, byte "
              "for byte. Not with --gzip.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The image tar to write.")
@sign_option
@json_option
def build_cmd(as_json: bool, **options: Any) -> None:
    """Build the image of a pinned MANIFEST: /ccf holds exactly its constituents and CIFs."""
    with Bar("image", unit="B", unit_scale=True) as progress:
        r = api.image_build(**options, argv=command_line(), progress=progress,
                            names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    i = r.image
    info(f"wrote {i.path} ({i.name}, {len(i.layers)} layers)")
    info(f"  calibration id  {i.calibration_id}")
    info(f"  manifest digest {i.manifest_digest}")
    info(f"  config digest   {i.config_digest}")
    info(f"  tar sha256      {i.tar_sha256}")
    if options.get("layer_cache") is not None and options.get("gzip"):
        info("  layer cache     not used: gzip layers are not cached")
    elif options.get("layer_cache") is not None:
        ours = sum(1 for x in i.layers if x.name != "base")
        info(f"  layer cache     {i.layers_cached} of {ours} calibration layers reused")
    info(f"load it with: docker load -i {i.path}")
    if options.get("base") is None:
        info("  data only (no base: no shell, no programs, just /ccf); check it in Docker with "
             f"`reprocal image verify {i.path} --docker`, or build on a SAS image with --base")


@image.command("verify")
@click.argument("tar", type=click.Path(dir_okay=False))
@click.option("--docker", "docker", is_flag=True, help="Also load it into the Docker daemon "
              "($DOCKER_HOST) and run a container that checks SHA256SUMS and the environment.")
@json_option
def verify_cmd(tar: str, docker: bool, as_json: bool) -> None:
    """Check an image tar: structure, every digest, DiffIDs, /ccf against its manifest."""
    r = api.image_verify(tar, docker=docker)
    report = r.report
    if as_json:
        echo_json(r.to_json())
        if not r.ok:
            raise click.exceptions.Exit(1)
        return
    for c in report.checks:
        if not c.ok:
            info(f"FAIL {c.name}: {c.detail}")
    info(f"{r.path}: {len(report.checks) - len(report.failures)}/{len(report.checks)} "
         f"checks passed" + (f", calibration {report.calibration_id}"
                             if report.calibration_id else ""))
    r.raise_if_failed()


@image.command("push")
@click.argument("tar", type=click.Path(dir_okay=False))
@click.argument("reference", metavar="REGISTRY/NAME:TAG")
@json_option
def push_cmd(tar: str, reference: str, as_json: bool) -> None:
    """Push an image tar to an OCI registry; the registry must report our manifest digest."""
    r = api.image_push(tar, reference)
    if as_json:
        echo_json(r.to_json())
        return
    p = r.push
    info(f"pushed {p.reference}@{p.digest} ({len(p.uploaded)} blobs sent, "
         f"{len(p.skipped)} already there)")


@image.command("pull")
@click.argument("reference", metavar="REGISTRY/NAME[:TAG|@DIGEST]")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The image tar to write.")
@json_option
def pull_cmd(reference: str, output: str, as_json: bool) -> None:
    """Pull an image from an OCI registry into an image tar (manifest kept byte for byte)."""
    r = api.image_pull(reference, output=output)
    if as_json:
        echo_json(r.to_json())
        return
    info(f"wrote {r.pull.path} from {r.pull.reference}@{r.pull.digest}")
