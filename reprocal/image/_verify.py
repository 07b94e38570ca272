"""Verify a calibration image tar: structure, every digest and size, DiffIDs, and ``/ccf``
against the manifest inside it.

The result is a report of named checks (each passed or failed with a reason), never a stop at
the first problem. ``--docker`` adds the daemon checks of :mod:`reprocal.image._daemon`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

import attrs

from reprocal.errors import ReprocalError
from reprocal.fs._limits import carry_context
from reprocal.image._archive import GZIP_LAYERS, ImageTar, read_image_tar
from reprocal.image._layers import CCF_DIR, parse_sha256sums
from reprocal.image._layout import (
    LABEL_CALIBRATION_ID,
    MANIFEST_PATH,
    RECORD_PATH,
    RECORD_SCHEMA_FILE,
    SUMS_PATH,
    extra_path,
    image_env,
)
from reprocal.image._oci import sha256_digest
from reprocal.image._rootfs import MergedView
from reprocal.state._manifest import loads
from reprocal.state._schemas import json_path, load_schema

SMALL = 1 << 20
"""Files under ``/ccf`` up to this size are kept in memory (manifest, sums, record, CIFs)."""


@attrs.frozen
class Check:
    """One named check and its outcome."""

    name: str
    """What was checked, e.g. ``blob sha256:ab12...`` or ``constituents``."""
    ok: bool
    """Passed?"""
    detail: str = ""
    """Why it failed, or a short summary when it passed."""


@attrs.frozen
class VerifyReport:
    """Every check made on one image tar."""

    path: Path
    """The image tar."""
    checks: tuple[Check, ...]
    """In the order they ran."""
    manifest_digest: str | None = None
    """The image's manifest digest, when the structure could be read."""
    calibration_id: str | None = None
    """The calibration id of the manifest inside, when it could be read."""
    config_digest: str | None = None
    """The image's config digest (the image ID), when the structure could be read."""

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok, "manifest_digest": self.manifest_digest,
                "config_digest": self.config_digest, "calibration_id": self.calibration_id,
                "checks": [attrs.asdict(c) for c in self.checks]}


def _hash_member(img: ImageTar, name: str) -> str:
    h = hashlib.sha256()
    for chunk in img.chunks(name):
        h.update(chunk)
    return "sha256:" + h.hexdigest()


def _docker_archive(img: ImageTar) -> list[Check]:
    """A docker-archive without an OCI layout (``docker save`` of the classic store, ``skopeo
    copy ... docker-archive:``): the config is named by its digest, every layer is there."""
    hexd = re.fullmatch(r"(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json)?", img.config_path)
    good = hexd is None or f"sha256:{hexd.group(1)}" == img.config_digest
    checks = [Check("docker-archive config", good, f"{img.config_path}" if good else
                    f"{img.config_path} hashes to {img.config_digest}")]
    missing = [p for p in img.layer_paths if p not in img.members]
    checks.append(Check("docker-archive layers", not missing, f"{len(img.layer_paths)} layers"
                        if not missing else f"missing {', '.join(missing[:3])}"))
    return checks


def _structure(img: ImageTar) -> list[Check]:
    checks = []
    if img.layout != "oci":
        return _docker_archive(img)
    layout = img.read("oci-layout") if "oci-layout" in img.members else b""
    try:
        good = json.loads(layout).get("imageLayoutVersion") == "1.0.0"
    except ValueError:
        good = False
    checks.append(Check("oci-layout", good, "" if good else f"bad oci-layout {layout[:60]!r}"))
    md = img.manifest_descriptor
    assert md is not None and img.manifest_bytes is not None
    good = (md.digest == sha256_digest(img.manifest_bytes) and md.size == len(img.manifest_bytes))
    checks.append(Check("manifest descriptor", good, "" if good else
                        f"index says {md.digest} ({md.size} bytes), blob is "
                        f"{sha256_digest(img.manifest_bytes)} ({len(img.manifest_bytes)} bytes)"))
    cd = (img.manifest or {}).get("config") or {}
    good = cd.get("digest") == img.config_digest and cd.get("size") == len(img.config_bytes)
    checks.append(Check("config descriptor", good, "" if good else
                        f"manifest says {cd.get('digest')} ({cd.get('size')} bytes), blob is "
                        f"{img.config_digest} ({len(img.config_bytes)} bytes)"))
    if "manifest.json" not in img.members:
        # a valid OCI layout (skopeo's oci-archive:, umoci, buildah); only `docker load` of the
        # classic store (Docker <= 28) needs the docker-archive manifest too
        checks.append(Check("docker-archive manifest", True, "none: an OCI layout only "
                            "(skopeo, podman, umoci and containerd load it; docker load of the "
                            "classic store needs manifest.json)"))
    else:
        try:
            dm = json.loads(img.read("manifest.json"))[0]
            good = (dm.get("Config") == img.config_path
                    and list(dm.get("Layers") or []) == list(img.layer_paths))
            why = "" if good else "manifest.json Config/Layers differ from the OCI manifest"
        except (ValueError, IndexError, KeyError, AttributeError) as exc:
            good, why = False, f"manifest.json unreadable ({exc})"
        checks.append(Check("docker-archive manifest", good, why))
    for name in sorted(n for n in img.members if n.startswith("blobs/sha256/")):
        want = "sha256:" + name.rsplit("/", 1)[1]
        got = _hash_member(img, name)
        checks.append(Check(f"blob {want[:19]}", got == want,
                            "" if got == want else f"content hashes to {got}"))
    for d, p in zip(img.layers, img.layer_paths, strict=True):
        m = img.members.get(p)
        if m is None:
            checks.append(Check(f"layer {d.digest[:19]}", False, "blob missing"))
        elif m.size != d.size:
            checks.append(Check(f"layer {d.digest[:19]}", False,
                                f"manifest says {d.size} bytes, blob has {m.size}"))
    return checks


def _diff_ids(img: ImageTar) -> Check:
    want = list((img.config.get("rootfs") or {}).get("diff_ids") or [])
    got = [img.diff_id(i) if d.media_type in GZIP_LAYERS else d.digest
           for i, d in enumerate(img.layers)]
    if want == got:
        return Check("diff_ids", True, f"{len(got)} layers")
    pairs = enumerate(zip(want, got, strict=False))
    bad = next((i for i, (a, b) in pairs if a != b), min(len(want), len(got)))
    return Check("diff_ids", False, f"config lists {len(want)} DiffIDs, image has {len(got)} "
                 f"layers; first difference at layer {bad + 1}")


def _ccf_files(img: ImageTar) -> tuple[dict[str, tuple[int, str]], dict[str, bytes], list[str]]:
    """``{path: (size, sha256 hex)}`` of every regular file under ``/ccf`` in the merged view of
    all layers (base layers too: paths normalised, links and whiteouts resolved, upper layers
    win), the bytes of the small ones, and what else is there (links, devices), as problems."""
    view = MergedView(watch=(CCF_DIR,), keep=SMALL)
    for i in range(len(img.layers)):
        view.apply(img.layer_files(i), i)
    files: dict[str, tuple[int, str]] = {}
    small: dict[str, bytes] = {}
    strange: list[str] = []
    for path, e in sorted(view.files.items()):
        if e.kind == "dir":
            continue
        if e.kind in ("file", "hardlink") and e.sha256 is not None:
            files[path] = (e.size, e.sha256)
            if e.data is not None:
                small[path] = e.data
        else:
            strange.append(f"/{path}: {e.kind} (from {e.name!r} in layer {e.layer + 1})")
    for e, resolved in view.touching():
        if not view.watched(e.path):
            strange.append(f"/{e.path}: symbolic link into /{resolved} (layer {e.layer + 1})")
    strange += [f"{name}: a path through a loop of symbolic links" for name in view.loops]
    return files, small, strange


def _build_record(data: bytes | None, calibration_id: str) -> Check:
    """``/ccf/build-record.json`` against its published schema
    (``schemas/image-build-record.schema.json``), naming the image's calibration id."""
    import jsonschema

    if data is None:
        return Check("build record", False, f"/{RECORD_PATH} missing")
    try:
        doc = json.loads(data)
    except ValueError as exc:
        return Check("build record", False, f"/{RECORD_PATH} is not JSON ({exc})")
    errors = list(jsonschema.Draft202012Validator(load_schema(RECORD_SCHEMA_FILE)).iter_errors(doc))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        return Check("build record", False, f"/{RECORD_PATH}: {json_path(err.absolute_path)}: "
                     f"{err.message}")
    if doc["calibration_id"] != calibration_id:
        return Check("build record", False, f"/{RECORD_PATH} names {doc['calibration_id']}, the "
                     f"manifest is {calibration_id}")
    return Check("build record", True, doc["schema"])


def _extras_check(extras: dict[str, tuple[Any, Any]], files: dict[str, tuple[int, str]]
                  ) -> Check:
    """Every file of the manifest's extra sets under ``/ccf/extras/<label>/`` with its pinned
    size and sha256."""
    problems = []
    for path, (x, f) in sorted(extras.items()):
        got = files.get(path)
        if got is None:
            problems.append(f"{x.label}/{f.path}: missing")
        elif got != (f.size, f.sha256):
            problems.append(f"{x.label}/{f.path}: {got[0]} bytes sha256 {got[1][:12]}..., "
                            f"pinned {f.size} bytes {f.sha256[:12]}...")
    sets = len({x.label for x, _ in extras.values()})
    return Check("extra calibration sets", not problems, "; ".join(problems[:5]) if problems
                 else f"{len(extras)} files of {sets} set(s) present as pinned")


def _calibration(img: ImageTar) -> tuple[list[Check], str | None]:

    files, small, strange = _ccf_files(img)
    if MANIFEST_PATH not in small:
        return [Check("manifest", False, f"/{MANIFEST_PATH} missing")], None
    try:
        manifest = loads(small[MANIFEST_PATH], source=f"/{MANIFEST_PATH}")
    except ReprocalError as exc:
        return [Check("manifest", False, exc.one_line())], None
    checks = [Check("manifest", True, manifest.calibration_id)]
    inner = img.config.get("config") or {}
    label = (inner.get("Labels") or {}).get(LABEL_CALIBRATION_ID)
    checks.append(Check("calibration id label", label == manifest.calibration_id,
                        "" if label == manifest.calibration_id else
                        f"label says {label}, manifest is {manifest.calibration_id}"))
    problems = []
    for f in manifest.files:
        got = files.get(f"{CCF_DIR}/{f.filename}")
        if got is None:
            problems.append(f"{f.filename}: missing")
        elif got != (f.size, f.sha256):
            problems.append(f"{f.filename}: {got[0]} bytes sha256 {got[1][:12]}..., pinned "
                            f"{f.size} bytes {f.sha256[:12]}...")
    pinned = {f"{CCF_DIR}/{f.filename}" for f in manifest.files}
    extra = sorted(p for p in files if p.count("/") == 1 and p.upper().endswith(".CCF")
                   and p not in pinned)
    problems += [f"{p[len(CCF_DIR) + 1:]}: not pinned by the manifest" for p in extra]
    checks.append(Check("constituents", not problems, "; ".join(problems[:5]) if problems else
                        f"{len(manifest.files)} pinned files present"))
    extras = {extra_path(x.label, f.path): (x, f) for x in manifest.extras for f in x.files}
    if extras:
        checks.append(_extras_check(extras, files))
    cifs = [f"{CCF_DIR}/ccf.cif"] + [f"{CCF_DIR}/cif/{x}.cif" for x in manifest.labels()]
    expected = pinned | set(extras) | set(cifs) | {MANIFEST_PATH, SUMS_PATH, RECORD_PATH}
    unexpected = [f"/{p}: not put there by reprocal" for p in sorted(set(files) - expected)]
    odd = strange + unexpected
    checks.append(Check(f"/{CCF_DIR} contents", not odd, "; ".join(odd[:5]) + (
        f" (and {len(odd) - 5} more)" if len(odd) > 5 else "") if odd else
        f"exactly the {len(expected)} files reprocal writes, in the merged view of all layers"))
    missing = [c for c in cifs if c not in files]
    checks.append(Check("cifs", not missing, f"missing {', '.join(missing)}" if missing else
                        f"{len(cifs) - 1} observation(s)"))
    if SUMS_PATH not in small:
        checks.append(Check("SHA256SUMS", False, f"/{SUMS_PATH} missing"))
    else:
        try:
            sums = parse_sha256sums(small[SUMS_PATH])
            bad = [p for p, h in sums.items() if files.get(f"{CCF_DIR}/{p}", (0, ""))[1] != h]
            uncovered = sorted(p[len(CCF_DIR) + 1:] for p in files
                               if p != SUMS_PATH and p[len(CCF_DIR) + 1:] not in sums)
            why = "; ".join([f"{p}: differs or missing" for p in bad[:5]]
                            + [f"{p}: not listed" for p in uncovered[:5]])
            checks.append(Check("SHA256SUMS", not why, why or f"{len(sums)} entries match"))
        except ReprocalError as exc:
            checks.append(Check("SHA256SUMS", False, exc.one_line()))
    checks.append(_build_record(small.get(RECORD_PATH), manifest.calibration_id))
    env = dict(e.split("=", 1) for e in inner.get("Env") or [] if "=" in e)
    want = image_env(manifest)
    wrong = [f"{k}={env.get(k)!r}" for k, v in want.items() if env.get(k) != v]
    checks.append(Check("env", not wrong, f"expected {want}, got {', '.join(wrong)}" if wrong
                        else " ".join(f"{k}={v}" for k, v in want.items())))
    return checks, manifest.calibration_id


def _calibration_checks(img: ImageTar) -> tuple[list[Check], str | None]:
    """:func:`_calibration`, its failures as checks."""
    try:
        return _calibration(img)
    except (OSError, EOFError, ValueError) as exc:  # a corrupt layer tar
        return [Check("calibration", False, f"layer unreadable ({exc})")], None
    except ReprocalError as exc:  # a gzip bomb, a malformed config
        return [Check("calibration", False, exc.one_line())], None
    except Exception as exc:  # tarfile.TarError, zlib.error
        return [Check("calibration", False, f"layer unreadable ({exc})")], None


def verify_image(path: str | Path) -> VerifyReport:
    """Check an image tar; the report lists every check (see :class:`VerifyReport`)."""
    path = Path(path)
    try:
        img = read_image_tar(path)
    except ReprocalError as exc:
        return VerifyReport(path, (Check("structure", False, exc.one_line()),))
    checks = [Check("structure", True, f"{img.layout}, {len(img.layers)} layers")]
    # the blob digests here and the files under /ccf on another thread: two passes over the
    # tar, each mostly sha256 (which releases the GIL), on two cores. A daemon thread: Ctrl-C
    # here is not held up until the other pass ends (it only reads)
    done: list[tuple[list[Check], str | None]] = []
    other = threading.Thread(target=carry_context(lambda: done.append(_calibration_checks(img))),
                             daemon=True)
    other.start()
    for step in (_structure, lambda i: [_diff_ids(i)]):
        try:
            checks += step(img)
        except ReprocalError as exc:
            checks.append(Check("structure", False, exc.one_line()))
        except (AttributeError, TypeError, KeyError, ValueError) as exc:  # a field of the wrong type
            checks.append(Check("structure", False, f"malformed image document ({exc})"))
    other.join()
    more, cal_id = done[0] if done else ([Check("calibration", False, "not checked")], None)
    checks += more
    return VerifyReport(path, tuple(checks), img.manifest_digest, cal_id, img.config_digest)
