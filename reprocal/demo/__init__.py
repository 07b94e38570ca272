"""``make demo``: reprocal end to end on a bundled sample repository.

Every step runs the real ``reprocal`` command in a subprocess and prints it first, so what you see
is what you would type. Output goes to ``demo-out/`` (recreated on each run).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

OUT = Path("demo-out")
"""Where the demo writes: ``demo-out/`` in the current directory (``make demo`` runs it from the
checkout; an installed reprocal writes beside wherever it is run)."""
SHARED = Path(os.environ.get("REPROCAL_SAMPLES") or Path("..", "shared", "data", "xmm-cif-samples")).resolve()
"""The real SAS-written samples, when this machine has them (``$REPROCAL_SAMPLES``, else
``../shared/data/xmm-cif-samples`` from the current directory)."""
REAL_OBS = SHARED / "0201901401" / "0809_0201901401_SCX00000SUM.SAS"
ANALYSIS_DATE = "2018-07-27T17:25:14"


class Demo:
    def __init__(self, out: Path):
        self.out = out
        self.env = dict(os.environ)
        self.env["REPROCAL_CATALOG"] = str(out / "catalog.sqlite")
        self.env["XDG_CACHE_HOME"] = str(out / "cache")
        self.env.pop("SAS_CCFPATH", None)
        self.step_no = 0

    def step(self, title: str, text: str = "") -> None:
        self.step_no += 1
        print(f"\n\033[1m== {self.step_no}. {title}\033[0m" if sys.stdout.isatty()
              else f"\n== {self.step_no}. {title}")
        if text:
            print(textwrap.fill(text, 100))

    def run(self, *args: str, expect: int = 0, show: int | None = 40) -> str:
        """Run ``reprocal ARGS`` in demo-out, print the command and its output."""
        shown = " ".join(shlex.quote(a) for a in args)
        print(f"$ reprocal {shown}")
        proc = subprocess.run([sys.executable, "-m", "reprocal", *args], cwd=self.out,
                              env=self.env, capture_output=True, text=True)
        text = (proc.stdout + proc.stderr).rstrip()
        lines = text.splitlines()
        if show is not None and len(lines) > show:
            lines = lines[:show] + [f"  ... ({len(lines) - show} more lines)"]
        if lines:
            print("\n".join("  " + line for line in lines))
        if proc.returncode != expect:
            print(f"demo: `reprocal {shown}` exited {proc.returncode}, expected {expect}",
                  file=sys.stderr)
            raise SystemExit(1)
        if expect:
            print(f"  (exit status {proc.returncode}, as expected)")
        return proc.stdout

    def python(self, code: str) -> str:
        """Run a Python snippet (the notebook route) in demo-out, print it and its output."""
        code = textwrap.dedent(code).strip()
        print("\n".join(">>> " + line if i == 0 or not line.startswith(" ") else "... " + line
                        for i, line in enumerate(code.splitlines())))
        proc = subprocess.run([sys.executable, "-c", code], cwd=self.out, env=self.env,
                              capture_output=True, text=True)
        text = (proc.stdout + proc.stderr).rstrip()
        if text:
            print("\n".join("  " + line for line in text.splitlines()))
        if proc.returncode != 0:
            print(f"demo: the Python snippet exited {proc.returncode}", file=sys.stderr)
            raise SystemExit(1)
        return proc.stdout


def main() -> int:
    out = OUT.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    d = Demo(out)
    from reprocal.testing._synthetic import generate

    d.step("A sample calibration repository",
           "A seeded synthetic CCF: the 118 real calibration types, issue histories 1998-2026, "
           "validity windows tiling time with 1-second gaps, real-shaped FITS headers, sizes scaled "
           "down so the demo stays small.")
    repo = generate(out / "ccf", seed=1, scale=0.0005)
    size = sum(p.stat().st_size for p in repo.paths.values())
    print(f"  generated {len(repo.paths)} constituents ({size / 1e6:.1f} MB) in {out / 'ccf'}")

    d.step("Index it", "Only headers are read; a second run re-reads nothing unchanged.")
    d.run("index", "--ccf-path", "ccf")
    d.run("index", "--ccf-path", "ccf")

    summary = REAL_OBS if REAL_OBS.exists() else None
    if summary is None:
        from reprocal.fits._odf import demo_summary_path

        summary = Path(str(demo_summary_path()))
    d.step("The CIF cifbuild would write",
           f"Observation date read from the ODF summary {summary.name}; analysis date pinned to "
           f"{ANALYSIS_DATE} instead of cifbuild's default 'now'.")
    d.run("cif", "--odf", str(summary), "--analysis-date", ANALYSIS_DATE, "--ccf-path", "ccf",
          "-o", "ccf.cif")
    d.run("show", "ccf.cif", show=12)
    d.step("The same from Python",
           "A notebook calls reprocal.api: one function per command, taking Python values and "
           "returning a result object whose to_json() is the command's --json.")
    d.python(f"""
        import filecmp
        from reprocal import api
        r = api.cif(odf={str(summary)!r}, analysis_date={ANALYSIS_DATE!r}, ccf_path="ccf",
                    output="ccf-python.cif")
        same = filecmp.cmp("ccf.cif", "ccf-python.cif", shallow=False)
        print(len(r.constituents), "constituents for observation", r.obs_id, "at", r.obs_date)
        print("the same CIF as the command's:", same)
    """)

    for extra in _EXTRA_STEPS:
        extra(d, summary)

    print("\nDemo finished: everything above ran for real, in demo-out/.")
    return 0


def _pin_rebuild(d: Demo, summary: Path) -> None:
    d.step("Pin the state in a manifest",
           "Observation date, analysis date and every selected constituent's sha256; its "
           "calibration id names the state on any machine.")
    d.run("pin", "--odf", str(summary), "--analysis-date", ANALYSIS_DATE, "--ccf-path", "ccf",
          "--sas-version", "21.0.0", "-o", "manifest.json")
    d.step("Rebuild the CIF from the manifest alone", "No network, no clock; rows equal step 3's.")
    d.run("rebuild", "manifest.json", "--ccf-path", "ccf", "-o", "rebuilt")


def _verify(d: Demo, summary: Path) -> None:
    d.step("Verify the repository holds exactly the pinned bytes",
           "`full` reads every byte of every pinned file, every time (the scrub): size, every "
           "HDU's FITS CHECKSUM/DATASUM and sha256, in parallel. What it found goes into the "
           "verify cache, so the default `stat` level is then a directory walk, which vouches "
           "for files whose size, mtime, inode and ctime are unchanged (bytes that rot under "
           "an unchanged stat need `full` again).")
    d.run("verify", "manifest.json", "--ccf-path", "ccf", "--level", "full")
    d.run("verify", "manifest.json", "--ccf-path", "ccf")
    from reprocal.state._manifest import load_manifest
    from reprocal.testing._synthetic import corrupt

    victim = load_manifest(d.out / "manifest.json").files[5].filename
    shutil.copytree(d.out / "ccf", d.out / "ccf-tampered")
    corrupt(d.out / "ccf-tampered" / victim)
    print(f"  (flipped one data byte of ccf-tampered/{victim})")
    d.run("verify", "manifest.json", "--ccf-path", "ccf-tampered", "--level", "fits", expect=1)
    shutil.rmtree(d.out / "ccf-tampered")


def _fetch_gaps(d: Demo, summary: Path) -> None:
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from reprocal.state._manifest import load_manifest

    pinned = [f.filename for f in load_manifest(d.out / "manifest.json").files]
    damaged = d.out / "ccf-damaged"
    shutil.copytree(d.out / "ccf", damaged)
    for name in pinned[::3]:
        (damaged / name).unlink()
    (damaged / pinned[1]).write_bytes(b"\0" * (damaged / pinned[1]).stat().st_size)
    (damaged / pinned[2]).write_bytes((damaged / pinned[2]).read_bytes()[:100])

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(d.out / "ccf")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    mirror = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        d.step("Fetch the gaps from mirrors",
               f"A damaged copy of the repository: {len(pinned[::3])} of the {len(pinned)} pinned "
               "files deleted, one zeroed, one truncated. A loopback HTTP server plays the ESA "
               "mirror; a dead mirror is tried first to show the per-file fallback. Each file "
               "goes to .NAME.part, is checked against the pinned size and sha256, then renamed.")
        d.run("fetch", "manifest.json", "--ccf-path", "ccf-damaged", "--mirror", mirror,
              "--dry-run", show=6)
        d.run("fetch", "manifest.json", "--ccf-path", "ccf-damaged", "--mirror",
              "http://127.0.0.1:9/", "--mirror", mirror, "--retries", "0", show=4)
        d.run("fetch", "manifest.json", "--ccf-path", "ccf-damaged", "--mirror", mirror)
        d.run("rebuild", "manifest.json", "--ccf-path", "ccf-damaged", "-o", "rebuilt-fetched")
        d.step("The same fetch for a machine without reprocal",
               "A plain sh script (curl or wget, then sha256sum -c, then rename).")
        d.run("fetch", "manifest.json", "--mirror", mirror, "--script", "fetch-ccf.sh")
    finally:
        server.shutdown()
        server.server_close()
    d.step("What no pinned state needs", "Listed, never deleted.")
    d.run("unused", "manifest.json", "--ccf-path", "ccf", show=5)


def _image(d: Demo, summary: Path) -> None:
    d.step("Package the pinned state as a container image",
           "No Docker daemon needed: one tar that is both an OCI layout and a `docker load` "
           "archive, /ccf holding exactly the pinned constituents, the CIF, the manifest and "
           "SHA256SUMS, with SAS_CCFPATH/SAS_CCF set. Built twice from copies in another "
           "directory (new mtimes): the same sha256.")
    d.run("image", "build", "manifest.json", "--ccf-path", "ccf", "--tag", "ccf:demo",
          "-o", "ccf-image.tar")
    shutil.copytree(d.out / "ccf", d.out / "ccf-copy", copy_function=shutil.copyfile)
    d.run("image", "build", "manifest.json", "--ccf-path", "ccf-copy", "--tag", "ccf:demo",
          "-o", "ccf-image-again.tar")
    from reprocal.fs._hashing import sha256_file

    for name in ("ccf-image.tar", "ccf-image-again.tar"):
        digest = sha256_file(d.out / name)
        print(f"  sha256 {digest}  {name}")
    d.step("Verify the image", "Structure, every digest, DiffIDs, and /ccf against the manifest "
           "inside it; with a Docker daemon, `--docker` also loads it and checks it in a container.")
    d.run("image", "verify", "ccf-image.tar")


def _extras(d: Demo, summary: Path) -> None:
    from reprocal.demo._extras import steps

    steps(d, summary)


def _provenance(d: Demo, summary: Path) -> None:
    from reprocal.demo._provenance import steps

    steps(d, summary)


def _campaign(d: Demo, summary: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        d.step("Campaigns (skipped)",
               "Campaigns run on Dask distributed, an extra this installation lacks: "
               "pip install 'reprocal[campaign]' (make demo installs it) to see them here.")
        return
    from reprocal.demo._campaign import steps

    steps(d, summary)


_EXTRA_STEPS = [_pin_rebuild, _verify, _fetch_gaps, _image, _extras, _provenance, _campaign]

if __name__ == "__main__":
    raise SystemExit(main())
