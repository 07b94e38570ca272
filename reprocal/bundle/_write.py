"""Paper bundles: everything a reader needs to reproduce a calibration state, checksummed.

``reprocal bundle MANIFEST [--image image.tar] [--records DIR] -o bundle/`` writes::

    bundle/
      manifest.json              the pinned state (canonical bytes)
      cif/<obs>/ccf.cif          each observation's CIF, rewritten from the manifest alone
      records/*.json             provenance records (validated)
      image/<name>.tar           the calibration image, when given
      ro-crate-metadata.json     RO-Crate 1.1 (JSON-LD): what journals and Zenodo understand
      README.md                  the exact commands to reproduce, and how to cite the state
      report.html                the same as one self-contained page: dates, calibration id,
                                 constituents with release notes, timelines, the commands
      SHA256SUMS                 every file above (``sha256sum -c SHA256SUMS`` checks it)

and beside it ``bundle.tar``: the same files in sorted order with fixed owner, mode and time
(the publication date, never the wall clock), so the same inputs give the same bytes.
:mod:`reprocal.bundle._verify` checks one received from someone else.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal._version import __version__
from reprocal.bundle._crate import CRATE, crate
from reprocal.bundle._credits import Credits
from reprocal.core._dates import CalDate
from reprocal.errors import InputError, ReprocalError
from reprocal.fits._calindex import write_cif
from reprocal.fs._atomic import atomic_file, atomic_write
from reprocal.fs._hashing import sha256_file
from reprocal.image._archive import read_image_tar
from reprocal.image._tarstream import padding, tar_end, tar_header
from reprocal.provenance._record import is_record, load_record
from reprocal.report._cite import Citation, citation
from reprocal.report._cite import Credits as CiteCredits
from reprocal.report._notes import Notes
from reprocal.state._manifest import Manifest, load_manifest

SUMS = "SHA256SUMS"
REPORT = "report.html"


@attrs.frozen
class Bundle:
    """A bundle that was written."""

    directory: Path
    tarball: Path
    files: tuple[str, ...]
    """Relative paths, sorted (``SHA256SUMS`` last is not listed in itself)."""
    calibration_id: str


def _tar_time(manifest: Manifest, date: CalDate | None) -> int:
    """The one timestamp every tar entry gets: the publication date, else the latest analysis
    date of the manifest (never the wall clock)."""
    if date is not None:
        return date.epoch()
    return max(o.analysis_date for o in manifest.observations).epoch()


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o644)


def reproduce_commands(manifest: Manifest) -> list[str]:
    """The shell commands that reproduce the state from the bundle's directory."""
    lines = ["mkdir -p ccf",
             "reprocal fetch manifest.json --ccf-path ccf",
             "reprocal rebuild manifest.json --ccf-path ccf -o rebuilt"]
    for label in manifest.labels():
        lines.append(f"reprocal diff cif/{label}/ccf.cif rebuilt/{label}/ccf.cif   # no difference")
    return lines


def run_command(manifest: Manifest) -> str:
    """The command that runs SAS with the state's calibration."""
    pick = f" --obs {manifest.labels()[0]}" if len(manifest.observations) > 1 else ""
    return f"reprocal run --manifest manifest.json{pick} --ccf-path ccf -- <your SAS command>"


def readme(manifest: Manifest, files: Sequence[str], image: str | None,
           credits: Credits | None = None, citation: Citation | None = None) -> str:
    """The README: what is in the bundle, by whom under which licence, the exact commands to
    reproduce, and how to cite it."""
    obs = "\n".join(
        f"| {label} | {o.obs_date} | {o.analysis_date} | {o.category} | {len(o.files)} |"
        for label, o in zip(manifest.labels(), manifest.observations, strict=True))
    lines = [
        "# Calibration bundle", "",
        f"Calibration id: `{manifest.calibration_id}` ({len(manifest.files)} XMM-Newton CCF "
        f"constituents, {sum(f.size for f in manifest.files)} bytes), written by reprocal "
        f"{__version__}.", "",
        *([f"By {', '.join(p.name for p in credits.authors)} ({credits.affiliation.name}); "
           f"published by {credits.publisher.name} under {credits.license.spdx} "
           f"(<{credits.license.url}>).", ""] if credits else []),
        "| observation | OBSVDATE | ANALDATE | category | constituents |", "|---|---|---|---|---|",
        obs, "",
        (f"Pinned for XMM-Newton SAS {manifest.sas_version} (`sasversion` says which SAS you "
         "run; the calibration state does not depend on it)." if manifest.sas_version else
         "The manifest records no SAS version (pin with `--sas-version`, or with SAS set up)."),
        "",
        "`report.html` shows the same in a browser (offline): the dates, the calibration id, "
        "every constituent with its release note, the timelines of what differs between the "
        "observations and the commands below.", "",
        *_extras_lines(manifest),
        "## Check what you received", "", "```sh", "sha256sum -c SHA256SUMS",
        "reprocal bundle verify .", "```", "",
        "## Reproduce the calibration state", "",
        "Get the constituents (each is checked against its pinned sha256), then rebuild the CIFs "
        "offline and check them against the ones in `cif/`:", "", "```sh",
        *reproduce_commands(manifest), "```", "",
    ]
    lines += ["Run SAS with that calibration (the command gets the manifest's CIF, SAS_CCF and "
              "SAS_CCFPATH, and its FITS outputs are stamped and recorded):", "", "```sh",
              run_command(manifest), "```", ""]
    if image:
        lines += ["## Or use the calibration image", "", "```sh",
                  f"reprocal image verify {image}", f"docker load -i {image}",
                  f"reprocal run --image {image} -- <your SAS command>", "```", ""]
    if any(f.startswith("records/") for f in files):
        lines += ["## Provenance", "",
                  "`records/` holds in-toto/SLSA provenance records of the runs made with this "
                  "calibration; `reprocal audit records/<file>` explains each.", ""]
    if citation is not None:
        lines += ["## Cite", "", "For the methods section (`reprocal cite manifest.json` prints "
                  "it again):", "", *textwrap.wrap(citation.paragraph, 100), ""]
        if citation.bibtex:
            lines += ["```bibtex", citation.bibtex, "```", ""]
    return "\n".join(lines)


def _extras_lines(manifest: Manifest) -> list[str]:
    """The README's account of the calibration outside the CCF the manifest pins."""
    if not manifest.extras:
        return []
    lines = ["## Calibration beyond the CCF", "",
             "Pinned in the manifest by every file's size and sha256, and counted in its "
             "calibration id; `reprocal fetch` puts each set in `ccf/extras/<set>/`"
             + (" (an ESAS caldb from its tarball, checked and unpacked safely)"
                if any(x.tarball for x in manifest.extras) else "")
             + (" and `reprocal run` exports `ESAS_CALDB` for the pinned caldb"
                if manifest.caldb else "") + ".", "",
             "| set | kind | files | bytes | from | id |", "|---|---|---|---|---|---|"]
    for x in manifest.extras:
        origin = x.tarball.path if x.tarball else (x.url or "a local directory")
        lines.append(f"| {x.label} | {x.kind} | {len(x.files)} | {x.bytes} | {origin} | "
                     f"`{x.id}` |")
    lines.append("")
    for x in manifest.extras:
        for c in x.choices:
            lines.append(f"- `{x.label}/{c.path}` was chosen for {', '.join(c.observations)}: "
                         f"{c.camera} {c.mode} {c.patterns} {c.position}, epoch {c.epoch} "
                         f"(from {c.epoch_start.date}" + (f" to {c.epoch_end.date}" if
                                                         c.epoch_end else "")
                         + f"; {c.epoch_source}).")
    if any(x.choices for x in manifest.extras):
        lines += ["", "ESA advises against canned response matrices for analysis (they are "
                  "meant for proposal preparation); rmfgen makes the matrix of an analysis.", ""]
    return lines


def _report(manifest: Manifest, credits: Credits, cite: Citation, sums: Mapping[str, str],
            notes: Notes | None, date: CalDate | None) -> str:
    """``report.html``: the bundle as one self-contained page."""
    from reprocal.report._notes import notes_from
    from reprocal.report._page import code_id
    from reprocal.report._reports import bundle_page

    published = (date or max(o.analysis_date for o in manifest.observations)).date
    facts = [("calibration id", code_id(manifest.calibration_id)),
             ("observations", len(manifest.observations)),
             ("constituents", f"{len(manifest.files)} "
                              f"({sum(f.size for f in manifest.files)} bytes)"),
             ("extra calibration sets", ", ".join(f"{x.label} ({x.kind})"
                                                  for x in manifest.extras) or "none"),
             ("SAS version", manifest.sas_version or "not recorded"),
             ("pinned by", " ".join(filter(None, (manifest.generator.tool,
                                                  manifest.generator.version,
                                                  manifest.generator.method)))),
             ("authors", ", ".join(p.name for p in credits.authors)),
             ("publisher", credits.publisher.name), ("licence", credits.license.spdx),
             ("published", published), ("DOI", cite.doi)]
    return bundle_page(manifest, facts, cite, [*reproduce_commands(manifest), "",
                                               "# run SAS with that calibration",
                                               run_command(manifest)], sums,
                       notes if notes is not None else notes_from(None))


def _json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=True).encode() + b"\n"


def write_tar(directory: Path, files: Iterable[str], target: Path, *, mtime: int) -> Path:
    """A deterministic tar of ``files`` (relative to ``directory``), under ``<dirname>/``:
    the same normalised headers as image layers (:mod:`reprocal.image._tarstream`), streamed."""
    prefix = directory.name
    written = 0
    with atomic_file(target) as out:
        for rel in sorted(files):
            path = directory / rel
            size = path.stat().st_size
            header = tar_header(f"{prefix}/{rel}", size=size, is_dir=False, mtime=mtime)
            out.write(header)
            with open(path, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
            out.write(padding(size))
            written += len(header) + size + len(padding(size))
        out.write(tar_end(written))
    return target


def _image_digests(path: Path) -> tuple[str, ...]:
    """The image's manifest digest (when it has an OCI manifest) and config digest (the image
    ID, which recompression does not change); none when it is not an image tar."""
    try:
        img = read_image_tar(path)
    except ReprocalError:
        return ()
    return tuple(d for d in (img.manifest_digest, img.config_digest) if d)


def make_bundle(
    manifest_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    credits: Credits,
    image: str | os.PathLike[str] | None = None,
    records: str | os.PathLike[str] | None = None,
    date: CalDate | None = None,
    name: str | None = None,
    doi: str | None = None,
    notes: Notes | None = None,
) -> Bundle:
    """Write the bundle directory and its tarball (``<out_dir>.tar``). ``credits``: licence,
    authors and publisher (:func:`reprocal.bundle._credits.resolve_credits`); ``doi``: the DOI
    it will be published under (its BibTeX entry, the crate's ``cite-as``); ``notes``: release
    notes for ``report.html``'s links."""

    manifest = load_manifest(manifest_path)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} exists and is not empty", hint="give a new directory")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "manifest.json", manifest.dumps())
    files = ["manifest.json"]
    for label, obs in zip(manifest.labels(), manifest.observations, strict=True):
        target = out / "cif" / label / "ccf.cif"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_cif(target, manifest.constituents_for(obs), obs_date=obs.obs_date,
                  analysis_date=obs.analysis_date, category=obs.category)
        files.append(f"cif/{label}/ccf.cif")
    if records is not None:
        rdir = Path(records)
        if not rdir.is_dir():
            raise InputError(f"--records {rdir} is not a directory")
        for p in sorted(rdir.rglob("*.json")):
            if p.is_file() and is_record(p):
                load_record(p)  # a broken record is refused, not bundled
                rel = f"records/{p.relative_to(rdir).as_posix()}"
                _copy(p, out / rel)
                files.append(rel)
    image_rel: str | None = None
    image_digests: tuple[str, ...] = ()
    if image is not None:
        src = Path(image)
        if not src.is_file():
            raise InputError(f"--image {src} is not a file", hint="give an image tar "
                             "(`reprocal image build -o image.tar`)")
        image_rel = f"image/{src.name}"
        _copy(src, out / image_rel)
        image_digests = _image_digests(out / image_rel)
        files.append(image_rel)
    title = name or f"Calibration state {manifest.calibration_id[:19]}"
    cite = citation(manifest, version=__version__, doi=doi,
                    credits=CiteCredits(tuple(p.name for p in credits.authors),
                                        credits.publisher.name,
                                        (date or max(o.analysis_date
                                                     for o in manifest.observations)).date,
                                        title))
    (out / "README.md").write_text(readme(manifest, files, image_rel, credits, cite))
    files.append("README.md")
    sums = {f: sha256_file(out / f) for f in files}
    atomic_write(out / REPORT, _report(manifest, credits, cite, sums, notes, date).encode("utf-8"))
    files.append(REPORT)
    sums[REPORT] = sha256_file(out / REPORT)
    sizes = {f: (out / f).stat().st_size for f in files}
    doc = crate(manifest, files, sums, sizes, name=title, date=date, credits=credits,
                image_digests=image_digests, doi=doi)
    atomic_write(out / CRATE, _json_bytes(doc))
    files.append(CRATE)
    sums[CRATE] = sha256_file(out / CRATE)
    atomic_write(out / SUMS, "".join(f"{sums[f]}  {f}\n" for f in sorted(files)).encode())
    files.append(SUMS)
    for f in files:
        os.chmod(out / f, 0o644)
    tarball = write_tar(out, files, out.with_name(out.name + ".tar"),
                        mtime=_tar_time(manifest, date))
    return Bundle(out, tarball, tuple(sorted(files)), manifest.calibration_id)


__all__ = ["REPORT", "SUMS", "Bundle", "make_bundle", "readme", "reproduce_commands", "write_tar"]
