"""``reprocal bundle``: write a paper bundle, or verify one."""

from __future__ import annotations

from typing import Any

import click

from reprocal import api
from reprocal.cli._common import echo_json, info, json_option, key_option, option_names


class _DefaultGroup(click.Group):
    """``bundle MANIFEST ...`` means ``bundle create MANIFEST ...``; ``bundle verify`` stays."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


@click.group("bundle", cls=_DefaultGroup)
def bundle() -> None:
    """Paper bundles: `bundle MANIFEST -o DIR` writes one, `bundle verify DIR|TAR` checks one."""


@bundle.command("create")
@click.argument("manifest", metavar="MANIFEST", type=click.Path(dir_okay=False))
@click.option("--image", default=None, type=click.Path(dir_okay=False),
              help="Include this calibration image tar.")
@click.option("--records", default=None, type=click.Path(file_okay=False),
              help="Include the provenance records found in this directory.")
@click.option("--campaign", default=None, type=click.Path(file_okay=False), metavar="DIR",
              help="Include the summary and records of this campaign of MANIFEST (the "
                   "directory of `reprocal campaign run -o DIR`).")
@click.option("--date", default=None, metavar="YYYY-MM-DD",
              help="Publication date (datePublished, tar timestamps); default: the latest "
                   "analysis date of the manifest, so the tar is the same on every machine.")
@click.option("--license", "license", default=None, metavar="SPDX",
              help="Licence of the bundle, an SPDX id (e.g. CC-BY-4.0); required.")
@click.option("--author", "authors", multiple=True, metavar="'NAME [<EMAIL>] [ORCID]'",
              help="An author (repeatable); default: git's user.name and user.email.")
@click.option("--affiliation", default=None, metavar="'NAME <URL>'",
              help="The authors' organisation (default: the publisher).")
@click.option("--publisher", default=None, metavar="'NAME <URL>'",
              help="The organisation publishing the bundle (default: the affiliation); one of "
                   "the two is required.")
@click.option("--name", default=None, help="Title of the bundle.")
@click.option("--doi", default=None, metavar="DOI",
              help="The DOI reserved for the bundle: a BibTeX entry in README.md and "
                   "report.html, and the crate's cite-as.")
@click.option("--release-notes", "release_notes", default=None, metavar="FILE",
              type=click.Path(dir_okay=False),
              help="Local list of release notes for report.html's links (see `reprocal notes`).")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Directory to write (its tarball is written beside it, <DIR>.tar).")
@json_option
def bundle_create(as_json: bool, **options: Any) -> None:
    """Write a paper bundle for MANIFEST."""
    r = api.bundle(**options, names=option_names())
    if as_json:
        echo_json(r.to_json())
        return
    b = r.bundle
    info(f"Wrote {b.directory}/ ({len(b.files)} files) and {b.tarball}")
    info(f"calibration id {b.calibration_id}")


@bundle.command("verify")
@click.argument("path", metavar="DIR|TAR")
@key_option
@json_option
def bundle_verify(path: str, keys: tuple[str, ...], as_json: bool) -> None:
    """Check a bundle received from someone else; exit 1 naming each problem."""
    r = api.bundle_verify(path, keys=keys)
    check = r.check
    if as_json:
        echo_json(r.to_json())
        if not r.ok:
            raise click.exceptions.Exit(1)
        return
    if r.ok:
        info(f"{path}: all {check.files} files match SHA256SUMS; crate, manifest, records and "
             f"CIFs valid; calibration id {check.calibration_id}")
    if r.published_under is not None and check.intact:
        info(f"  published under {r.published_under.describe()}; the same "
             f"state's version-2 id is {check.calibration_id}")
    if r.ok:
        return
    for problem in check.problems:
        info(f"  {problem}")
    r.raise_if_failed()
