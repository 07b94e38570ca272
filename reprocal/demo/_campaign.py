"""``make demo``, continued: a short campaign over the three sample observations.

Runs after the provenance steps (``ccf/`` exists in ``demo-out/``). The observations are those
of the real samples (their dates as the samples' CIFs give them), pinned over the demo's
synthetic repository; the stand-in task of :mod:`reprocal.demo._provenance` makes each product.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from reprocal.demo._provenance import TASK

OBSERVATIONS = (("0201901401", "2004-05-09T13:00:16"), ("0201903501", "2004-06-17T10:38:28"),
                ("0404910601", "2006-05-27T09:57:27"))
"""The sample observations and their observation dates (the samples' ``ccf.cif``)."""
ANALYSIS = "2018-07-27T17:25:14"


def steps(d: Any, summary: Path) -> None:
    """The campaign part of the demo (``d`` is the :class:`reprocal.demo.Demo`)."""
    out: Path = d.out
    rows = ["obs_id,obs_date,analysis_date"] + [f"{o},{date},{ANALYSIS}"
                                                 for o, date in OBSERVATIONS]
    (out / "observations.csv").write_text("\n".join(rows) + "\n")
    d.step("Pin a campaign's observations",
           "An archival reanalysis pins all its observations in one manifest, each with its own "
           "calibration id.")
    d.run("pin", "--obs-list", "observations.csv", "--ccf-path", "ccf", "-o", "campaign.json")
    command = [sys.executable, "-c", TASK, "{obs_id}_evt.fits"]
    d.step("Run a campaign on Dask",
           "One command for every observation, each run exactly as `reprocal run` runs one (its "
           "own CIF, stamping, a record), on an embedded Dask LocalCluster of two workers; "
           "{obs_id} is replaced per argument, never through a shell. The ledger "
           "(campaign/campaign.sqlite) records each result as it arrives.")
    d.run("campaign", "run", "campaign.json", "-o", "campaign", "--ccf-path", "ccf", "--jobs",
          "2", "--", *command)
    d.step("Run it again: nothing is done twice",
           "Each task is keyed on observation, calibration id, image and command; what is done "
           "and still as it was left is skipped (a killed campaign resumes the same way, or with "
           "`reprocal campaign resume campaign`).")
    d.run("campaign", "run", "campaign.json", "-o", "campaign", "--ccf-path", "ccf", "--jobs",
          "2", "--", *command)
    d.run("campaign", "status", "campaign")
    d.step("The campaign summary for the paper",
           "Which observation ran with which calibration id, image digest and SAS version.")
    print("\n".join("  " + line for line in
                    (out / "campaign" / "campaign.md").read_text().splitlines()))
