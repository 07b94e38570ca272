"""``make demo``, continued: provenance records, stamping, audit, diff and paper bundles.

Runs after the pin/rebuild steps of :mod:`reprocal.demo` (``manifest.json``, ``ccf/`` and
``rebuilt/`` exist in ``demo-out/``). No SAS here: a small Python command that writes a FITS
product stands in for a SAS task.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

# A stand-in for a SAS task: copies the CIF it is given by $SAS_CCF into a "product" (a FITS
# file carrying a CALINDEX table, as SAS event lists do: its OBSVDATE/ANALDATE and rows are the
# calibration the task really got).
TASK = ("import os, shutil, sys; shutil.copyfile(os.environ['SAS_CCF'], sys.argv[1]); "
        "print('task: wrote', sys.argv[1])")


def steps(d: Any, summary: Path) -> None:
    """The provenance part of the demo (``d`` is the :class:`reprocal.demo.Demo`)."""
    out: Path = d.out

    d.step("Record a run",
           "`reprocal run --manifest` gives the command the manifest's calibration: it checks "
           "the pinned constituents in the repository, writes the CIF from the manifest into a "
           "private directory and exports SAS_CCF, SAS_CCFPATH and REPROCAL_CALIBRATION_ID. "
           "Then it finds the files the command wrote, stamps the FITS ones (RPCALID, RPMANIF "
           "keywords and a HISTORY line, checksums kept valid) and writes an in-toto/SLSA "
           "provenance record beside them.")
    d.run("run", "--manifest", "manifest.json", "--ccf-path", "ccf", "--", sys.executable, "-c",
          TASK, "product.fits")
    d.run("show", "product.fits", show=3)
    stale = out / "stale.cif"
    d.run("cif", "--odf", str(summary), "--analysis-date", "2010-01-01", "--ccf-path", "ccf",
          "-o", stale.name)
    d.env["SAS_CCF"] = str(stale)
    d.step("A SAS_CCF left from earlier work is not silently used",
           "The shell's SAS_CCF (here a CIF made for another analysis date) is other calibration "
           "than the manifest's: the run is refused, naming both; --use-env-ccf would run with it "
           "and record that CIF instead.")
    d.run("run", "--manifest", "manifest.json", "--ccf-path", "ccf", "--", sys.executable, "-c",
          TASK, "other.fits", expect=2)
    del d.env["SAS_CCF"]

    d.step("Audit the stamped product",
           "Which calibration produced it, judged against the catalogue: every constituent present "
           "with matching content, the rule agreeing at the product's own dates, and what today's "
           "calibration would change.")
    d.run("audit", "product.fits", "--ccf-path", "ccf", show=12)

    from reprocal.demo import SHARED as samples  # $REPROCAL_SAMPLES, else ../shared from here

    evt = samples / "0201903501" / "calindex_from_mos1_exp1_clean_evts.fits"
    if evt.exists():
        imports = [a for f in sorted(samples.glob("*/ccf.cif")) + sorted(
            samples.glob("*/calindex_from_*")) for a in ("--import-index", str(f))]
        d.step("Audit a real SAS event list",
               "Its CALINDEX (analysis date 2014-05-08) against a catalogue replaying the "
               "samples' metadata: two RGS effective-area corrections were already published "
               "when it was made, so the repository it was made with was stale.")
        d.run("audit", str(evt), "--catalog", "samples.sqlite", *imports,
              "--today", "2026-01-01", expect=1, show=8)
        d.step("Diff it with the CIF made in 2018",
               "10 constituents differ, grouped by instrument, with the SAS steps they probably "
               "affect (an approximate table).")
        d.run("diff", str(evt), str(samples / "0201903501" / "ccf.cif"), show=30, expect=1)
        d.step("Reverse impact", "Which files in a tree used EPN CTI issue 45?")
        d.run("audit", "--uses", "EPN_CTI_0045.CCF", str(samples))

    d.step("A paper bundle",
           "Manifest, CIFs, records, RO-Crate metadata (licence, authors, publisher: it passes "
           "rocrate-validator), README with the commands to reproduce, SHA256SUMS; and a "
           "deterministic tarball.")
    records = out / "records"
    records.mkdir(exist_ok=True)
    for rec in out.glob("*.prov.json"):
        shutil.copy(rec, records / rec.name)
    image = ["--image", "ccf-image.tar"] if (out / "ccf-image.tar").is_file() else []
    d.run("bundle", "manifest.json", "--records", "records", *image, "--license", "CC-BY-4.0",
          "--author", "A. Astronomer <astronomer@example.org>",
          "--publisher", "Example Observatory <https://observatory.example.org>", "-o", "bundle")
    d.run("bundle", "verify", "bundle.tar")
    shutil.copytree(out / "bundle", out / "tampered")
    with open(out / "tampered" / "manifest.json", "ab") as f:
        f.write(b" ")
    d.step("A tampered bundle fails verification")
    d.run("bundle", "verify", "tampered", expect=1)
