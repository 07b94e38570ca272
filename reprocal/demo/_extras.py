"""The demo's steps for calibration beyond the CCF: an ESAS caldb pinned from its tarball and a
canned response matrix chosen for the observation, fetched from a loopback mirror into an empty
directory, and shown in the image."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


def _serve(root: Path) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def steps(d: Any, summary: Path) -> None:
    from reprocal.testing import caldb_tarball, write_responses

    caldb_tarball(d.out / "downloads" / "esas_caldb.tar.gz")
    write_responses(d.out / "esa-mirror" / "extras" / "responses")
    d.step("Pin calibration beyond the CCF",
           "An ESAS caldb as HEASARC ships it (a tarball, checked member by member: no '..', "
           "no links, no devices) is pinned with the state; its files count in the state id "
           "and are kept in ccf/extras/esas-caldb/.")
    d.run("pin", "--odf", str(summary), "--analysis-date", "2018-07-27T17:25:14", "--ccf-path",
          "ccf", "--sas-version", "21.0.0", "--esas-caldb", "downloads/esas_caldb.tar.gz",
          "-o", "manifest-esas.json")
    esa = _serve(d.out / "esa-mirror")
    mirror = _serve(d.out / "ccf")
    try:
        d.step("Choose the canned response matrix of the observation's epoch",
               "From the mirror's extras/responses/ listing (a loopback server plays ESA's): "
               "pn full frame, singles, on-axis; the epoch table is ESA's (e1 2000-02-01 to "
               "2007-01-01, e2 to 2014-01-01, e3 after). It says why, and that ESA advises "
               "rmfgen for analysis.")
        d.run("response", "manifest-esas.json", "--source",
              f"http://127.0.0.1:{esa.server_address[1]}/extras/responses/", "--camera", "pn",
              "--mode", "ff20", "--patterns", "s", "--position", "Y9", "--ccf-path", "ccf",
              "-o", "manifest-esas.json")
        d.step("Fetch everything into an empty directory",
               "The caldb comes as its tarball, checked against its sha256 and unpacked safely; "
               "the matrix and Version.txt one file at a time; then every byte is verified.")
        (d.out / "ccf-fresh").mkdir()
        d.run("fetch", "manifest-esas.json", "--ccf-path", "ccf-fresh", "--mirror",
              f"http://127.0.0.1:{mirror.server_address[1]}/", show=3)
        d.run("verify", "manifest-esas.json", "--ccf-path", "ccf-fresh", "--level", "full",
              show=6)
    finally:
        esa.shutdown()
        esa.server_close()
        mirror.shutdown()
        mirror.server_close()
    d.step("The image carries them", "Each set in its own layer under /ccf/extras/, ESAS_CALDB "
           "set for ESAS tasks; `image verify` checks every file.")
    d.run("image", "build", "manifest-esas.json", "--ccf-path", "ccf-fresh", "-o",
          "ccf-esas-image.tar")
    d.run("image", "verify", "ccf-esas-image.tar", show=20)
