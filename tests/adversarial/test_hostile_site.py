"""Hostile inputs of a SAS user's shell: ``doctor``, ``show`` and ``audit`` read ``SAS_ODF``,
``SAS_CCF`` and the mirror list from wherever the environment points; a FIFO, a device or a
file that is no CIF there is reported in one line (or one finding), never read for ever."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support.hostile import check


@pytest.fixture
def traps(box: Path) -> dict[str, Path]:
    (box / "fifo").parent.mkdir(exist_ok=True)
    os.mkfifo(box / "fifo")
    (box / "zero").symlink_to("/dev/zero")
    (box / "text.cif").write_text("not FITS\n")
    (box / "config" / "reprocal").mkdir(parents=True)
    os.mkfifo(box / "config" / "reprocal" / "mirrors.txt")
    return {"fifo": box / "fifo", "zero": box / "zero", "text": box / "text.cif"}


@pytest.mark.parametrize("trap", ["fifo", "zero", "text"])
def test_show_and_audit_refuse_what_sas_ccf_names(runner, box: Path, outside, traps,  # type: ignore[no-untyped-def]
                                                  trap: str) -> None:
    env = {"SAS_CCF": str(traps[trap]), "XDG_CACHE_HOME": str(box / "cache"),
           "SAS_CCFPATH": ""}
    check(runner("show", cwd=box, env=env), 2, outside=outside, seconds=10)
    check(runner("audit", cwd=box, env=env), (1, 2), outside=outside, lines=None, seconds=10)


def test_doctor_reports_traps_and_returns(runner, box: Path, outside, traps) -> None:  # type: ignore[no-untyped-def]
    """SAS_ODF and SAS_CCF at a FIFO, the mirror list a FIFO: each a problem, in seconds."""
    env = {"SAS_ODF": str(traps["fifo"]), "SAS_CCF": str(traps["zero"]),
           "XDG_CONFIG_HOME": str(box / "config"), "XDG_CACHE_HOME": str(box / "cache"),
           "SAS_CCFPATH": str(traps["fifo"]), "REPROCAL_MIRRORS": ""}
    r = runner("doctor", "--json", cwd=box, env=env)
    check(r, 1, outside=outside, lines=0, seconds=10)
    found = {f["what"]: f["status"] for f in json.loads(r.stdout)["findings"]}
    assert found["SAS_ODF"] == found["mirrors"] == found["repository"] == "problem"
