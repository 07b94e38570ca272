"""Helpers for the image tests: tiny pinned states (no FITS needed), a busybox base image."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.image._layers import LayerFile
from reprocal.image._oci import canonical_json, image_docs, measure_layer, write_image_tar
from reprocal.state._manifest import Manifest, build
from support.components import program

TYPES = (
    ("EPN", "QUANTUMEF"), ("EPN", "REDIST"), ("EMOS1", "ADUCONV"), ("EMOS2", "LINCOORD"),
    ("RGS1", "EFFAREACORR"), ("XMM", "MISCDATA"), ("XRT1", "XAREAEF"), ("OM", "PHOTTONAT"),
)


def make_state(root: Path, issues: Mapping[tuple[str, str], int] | None = None,
               *, analysis: str = "2014-05-01T00:00:00", obs_ids: tuple[str, ...] = ("0201901401",)
               ) -> tuple[Manifest, Path]:
    """Write one small file per type into ``root`` and pin them (issue 1 unless overridden)."""
    issues = dict(issues or {})
    root.mkdir(parents=True, exist_ok=True)
    chosen, hashes = [], {}
    for scope, typeid in TYPES:
        issue = issues.get((scope, typeid), 1)
        name = ConstituentName(scope, typeid, issue)
        data = f"SIMPLE  = T / {name.filename}\n".encode() * (3 + issue)
        (root / name.filename).write_bytes(data)
        hashes[name.filename] = (len(data), hashlib.sha256(data).hexdigest())
        chosen.append(Constituent(name=name, valdate="2000-01-01", subdate="2001-01-01"))
    obs = [(oid, CalDate.parse("2004-05-09T13:00:16"), CalDate.parse(analysis), "XMMCCF", chosen)
           for oid in obs_ids]
    return build(obs, hashes), root


def fake_cifs(manifest: Manifest) -> dict[str, bytes]:
    """Stand-in CIF bytes per observation label (deterministic)."""
    return {label: f"CIF {label} {manifest.calibration_id}\n".encode()
            for label in manifest.labels()}


def busybox_base(out: Path, *, busybox: Path | None = None,
                 extra: Mapping[str, bytes] | None = None, name: str = "reprocal-test/busybox:1"
                 ) -> Path:
    """A one-layer base image made with reprocal's own writer: /bin/busybox, sh, sha256sum, env
    (the static busybox on PATH: the test skips without it)."""
    busybox = busybox or program("busybox")
    data = busybox.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    files = [LayerFile(f"bin/{tool}", busybox, len(data), digest, executable=True)
             for tool in ("busybox", "sh", "sha256sum", "env", "cat")]
    files += [LayerFile(p, b, len(b), hashlib.sha256(b).hexdigest())
              for p, b in (extra or {}).items()]
    layer = measure_layer(files, 0)
    config = canonical_json({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin", "SAS_CCF=/old/ccf.cif"], "Labels": {"base": "busybox"}},
        "history": [{"created_by": "reprocal test: busybox-static"}],
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
    })
    docs = image_docs(config, [layer.descriptor], name=name)
    write_image_tar(out, [layer.blob], docs, mtime=0)
    return out


def stand_in_base(out: Path, **kw: Any) -> Path:
    """The same image with a stand-in for busybox (a script, never run): for tests that need an
    image's shape, not a shell in it."""
    stub = out.with_name(out.name + ".busybox")
    stub.write_bytes(b"#!/bin/sh\necho 'a stand-in for busybox'\n")
    return busybox_base(out, busybox=stub, **kw)
