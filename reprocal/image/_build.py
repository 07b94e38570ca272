"""Calibration images: a pinned state as a reproducible OCI/Docker image tar, without a daemon.

``/ccf`` holds exactly the pinned constituents, one CIF per observation (``/ccf/cif/<label>.cif``,
and ``/ccf/ccf.cif`` for the first), the manifest (``/ccf/manifest.json``), ``SHA256SUMS``
(``sha256sum -c`` format, paths relative to ``/ccf``) and a deterministic build record
(``/ccf/build-record.json``: no wall clock, no self-digest). ``SAS_CCFPATH=/ccf`` and
``SAS_CCF=/ccf/ccf.cif`` are set (replacing same-named base entries); labels carry the
calibration id, the analysis date(s), the reprocal version and the base digest.

The same manifest, files, base and options give the same tar sha256 on any machine: the epoch
for the config's, the history's and the labels' timestamps is ``SOURCE_DATE_EPOCH`` or the
latest pinned analysis date, never the clock; the files inside the layers all carry one fixed
mtime (:data:`~reprocal.image._layers.LAYER_MTIME`), so the layers of successive states share
every group whose types did not change.
Checking what was built is :mod:`reprocal.image._verify`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal._version import __version__
from reprocal.errors import CheckFailed, HashMismatchError, InputError
from reprocal.fits._calindex import write_cif
from reprocal.fs._inputs import require_regular
from reprocal.image._archive import GZIP_LAYERS, PLAIN_LAYERS, ImageTar, read_image_tar
from reprocal.image._daemon import export_image
from reprocal.image._layercache import LayerCache
from reprocal.image._layers import (
    CCF_DIR,
    DEFAULT_GROUPS,
    LAYER_MTIME,
    LayerFile,
    TypedFile,
    plan_layers,
    sha256sums,
)
from reprocal.image._layout import (
    LABEL_ANALYSIS_DATES,
    LABEL_BASE_CONFIG,
    LABEL_BASE_DIGEST,
    LABEL_CALIBRATION_ID,
    LABEL_SAS_VERSION,
    LABEL_VERSION,
    MANIFEST_PATH,
    RECORD_PATH,
    RECORD_SCHEMA,
    SUMS_PATH,
    extra_path,
    image_env,
)
from reprocal.image._oci import (
    MEDIA_LAYER,
    MEDIA_LAYER_GZIP,
    Descriptor,
    canonical_json,
    check_output,
    epoch_of,
    image_docs,
    measure_layer,
    resolve_epoch,
    rfc3339,
    sha256_digest,
    write_image_tar,
)
from reprocal.image._rootfs import MergedView
from reprocal.progress import Progress, or_null
from reprocal.repo._extras import extras_home
from reprocal.repo._walk import ListedFile, constituent_files
from reprocal.state._manifest import Manifest


@attrs.frozen
class LayerInfo:
    """One layer of a built image."""

    name: str
    """``base``, ``calibration group NN/K`` or ``calibration top``."""
    digest: str
    """Blob digest."""
    diff_id: str
    """sha256 of the uncompressed layer."""
    size: int
    """Blob size in bytes."""
    files: int
    """Regular files it holds (0 when unknown, for base layers)."""


@attrs.frozen
class ImageResult:
    """What :func:`build_image` wrote."""

    path: Path
    """The image tar."""
    name: str
    """``repo:tag`` it loads as."""
    manifest_digest: str
    """sha256 of the OCI manifest: the registry / containerd identity."""
    config_digest: str
    """sha256 of the config: the classic Docker image id."""
    tar_sha256: str
    """sha256 of the whole tar: the reproducibility check."""
    layers: tuple[LayerInfo, ...]
    """Base layers first, then the calibration layers."""
    calibration_id: str
    """The manifest's calibration id."""
    layers_cached: int = 0
    """Calibration layers copied from the layer cache (not read from their files again)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "name": self.name, "manifest_digest": self.manifest_digest,
            "config_digest": self.config_digest, "tar_sha256": self.tar_sha256,
            "calibration_id": self.calibration_id, "layers": [attrs.asdict(x) for x in self.layers],
            "layers_cached": self.layers_cached,
        }


def default_epoch(manifest: Manifest, env: Mapping[str, str] | None = None) -> int:
    """``SOURCE_DATE_EPOCH`` if set, else the latest analysis date of the manifest."""
    latest = max(o.analysis_date.text for o in manifest.observations)
    return resolve_epoch(os.environ if env is None else env, epoch_of(latest))


def default_tag(manifest: Manifest) -> str:
    return f"reprocal-ccf:{manifest.state_id.hex[:12]}"


def _locate(manifest: Manifest, repo_paths: Mapping[str, Path] | Sequence[Path]) -> dict[str, Path]:
    """Each pinned file's path: from the map, or the first in directory order found by the
    repository walker (any case; the image holds it under its canonical name)."""
    found: dict[str, Path] = {}
    problems = []
    hits: Mapping[str, ListedFile | None] = (
        {n: _listed(Path(p)) for n, p in repo_paths.items()} if isinstance(repo_paths, Mapping)
        else {n: where[0] for n, where in constituent_files(repo_paths).items()})
    for f in manifest.files:
        hit = hits.get(f.filename)
        if hit is None:
            problems.append(f"{f.filename}: missing")
        elif hit.stat.size != f.size:
            problems.append(f"{f.filename}: size {hit.stat.size}, pinned {f.size}")
        else:
            found[f.filename] = hit.path
    if problems:
        raise CheckFailed(
            f"{len(problems)} pinned constituent(s) not as pinned: " + "; ".join(problems[:5])
            + (" ..." if len(problems) > 5 else ""),
            hint="run `reprocal verify` for the full report, `reprocal fetch` to repair",
        )
    return found


def _extra_layers(manifest: Manifest, repo_paths: Mapping[str, Path] | Sequence[Path]
                  ) -> list[tuple[str, list[LayerFile]]]:
    """The files of each extra set, from its home in the calibration directories (each
    checked for its pinned size here, for its sha256 while it is streamed into its layer)."""
    if not manifest.extras:
        return []
    if isinstance(repo_paths, Mapping):
        raise InputError("the manifest pins extra calibration sets; give the calibration "
                         "directories that hold them (extras/<label>/), not a file map")
    problems, out = [], []
    for x in manifest.extras:
        home = extras_home(list(repo_paths), x.label)
        files = []
        for f in x.files:
            hit = _listed(home / f.path)
            if hit is None or hit.stat.size != f.size:
                problems.append(f"{x.label}/{f.path}: " + ("missing" if hit is None else
                                f"size {hit.stat.size}, pinned {f.size}"))
            else:
                files.append(LayerFile(extra_path(x.label, f.path), hit.path, f.size, f.sha256))
        out.append((x.label, files))
    if problems:
        raise CheckFailed(
            f"{len(problems)} file(s) of extra calibration sets not as pinned: "
            + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""),
            hint="run `reprocal verify` for the full report, `reprocal fetch` to repair")
    return out


def _listed(path: Path) -> ListedFile | None:
    """A file given by path, when it is a regular file."""
    try:
        return ListedFile.at(path) if path.is_file() else None
    except OSError:  # gone since
        return None


def _cif_bytes(manifest: Manifest, cifs: Mapping[str, bytes | Path] | None) -> dict[str, bytes]:
    """The CIF of each observation label: given, or written by :func:`calindex.write_cif`."""
    labels = manifest.labels()
    if cifs is not None:
        missing = [x for x in labels if x not in cifs]
        if missing:
            raise InputError(f"no CIF given for observation(s) {', '.join(missing)}")
        return {x: c if isinstance(c, bytes) else Path(c).read_bytes()
                for x, c in ((x, cifs[x]) for x in labels)}

    out = {}
    with tempfile.TemporaryDirectory(prefix="reprocal-cif-") as tmp:
        for label, obs in zip(labels, manifest.observations, strict=True):
            target = Path(tmp) / f"{label}.cif"
            write_cif(target, manifest.constituents_for(obs), obs_date=obs.obs_date,
                      analysis_date=obs.analysis_date, category=obs.category)
            out[label] = target.read_bytes()
    return out


def _blob_of(data: bytes, path: str) -> LayerFile:
    import hashlib

    return LayerFile(path, data, len(data), hashlib.sha256(data).hexdigest())


def _base_has_ccf(base: ImageTar) -> str | None:
    """What in the base's merged filesystem view touches ``/ccf`` (an entry there however its
    name is spelt, through a symbolic link, or a link pointing there), as ``layer N: name``;
    ``None`` when nothing does. ``/ccf`` is reserved for the pinned calibration."""
    view = MergedView(watch=(CCF_DIR,))
    for i in range(len(base.layers)):
        view.apply(base.layer_files(i), i)
    for entry, resolved in view.touching():
        via = "" if entry.name.strip("/").lstrip("./") == resolved else f" -> /{resolved}"
        return f"layer {entry.layer + 1}: {entry.name}{via}"
    if view.loops:
        return f"{view.loops[0]}: a path through a loop of symbolic links"
    return None


def open_base(base: str | os.PathLike[str], workdir: Path) -> ImageTar:
    """A base image from a tar file, or (where a daemon runs) an image name exported from it."""
    p = Path(base)
    if p.is_file():
        return read_image_tar(p)
    if os.path.lexists(p) and not p.is_dir():  # a FIFO, a device: refused, never read
        require_regular(p, what="base image")
    text = os.fspath(base)
    if p.suffix in (".tar", ".tgz", ".gz") or text.startswith(("/", "./", "../", "~")):
        raise InputError("no such base image tar", path=text,
                         hint="give a `docker save`/OCI tar file or an image name the daemon has")

    return read_image_tar(export_image(str(base), workdir / "base.tar"))


def _record(manifest: Manifest, base: ImageTar | None, epoch: int, k: int, gzip: bool,
            layers: Sequence[Any], labels: Sequence[str]) -> bytes:
    return canonical_json({
        "schema": RECORD_SCHEMA,
        "builder": {"tool": "reprocal", "version": __version__},
        "calibration_id": manifest.calibration_id,
        "manifest_sha256": manifest.digest,
        "observations": [
            {"label": label, "id": str(obs_id), "obs_date": o.obs_date.text,
             "analysis_date": o.analysis_date.text, "category": o.category,
             "cif": f"cif/{label}.cif", "constituents": len(o.files)}
            for label, o, obs_id in zip(labels, manifest.observations, manifest.observation_ids,
                                        strict=True)
        ],
        "ccf_cif": f"cif/{labels[0]}.cif",
        "epoch": epoch,
        "created": rfc3339(epoch),
        "layer_mtime": LAYER_MTIME,
        "sas_version": manifest.sas_version,
        "layer_groups": k,
        "compression": "gzip" if gzip else "none",
        "env": image_env(manifest),
        "base": None if base is None else {
            "manifest_digest": base.manifest_digest, "config_digest": base.config_digest,
            "layers": [d.digest for d in base.layers], "name": base.name,
            "repo_tags": list(base.repo_tags),
        },
        "calibration_layers": [
            {"name": x.name, "types": list(x.types), "files": [f.path for f in x.files]}
            for x in layers if x.group is not None
        ],
    })


def _config(base: ImageTar | None, manifest: Manifest, epoch: int, diff_ids: Sequence[str],
            history: Sequence[dict[str, Any]], platform: str) -> bytes:
    if base is not None:
        doc = base.config
        inner = dict(doc.get("config") or {})
        old_history = list(doc.get("history") or [])
        old_diffs = list((doc.get("rootfs") or {}).get("diff_ids") or [])
        head = {k: doc[k] for k in ("architecture", "os", "variant", "os.version") if k in doc}
    else:
        os_, _, arch = platform.partition("/")
        inner, old_history, old_diffs, head = {}, [], [], {"architecture": arch, "os": os_}
    ours = image_env(manifest)
    env = [e for e in inner.get("Env") or [] if e.split("=", 1)[0] not in ours]
    env += [f"{k}={v}" for k, v in ours.items()]
    labels = dict(inner.get("Labels") or {})
    labels.update({
        LABEL_CALIBRATION_ID: manifest.calibration_id,
        LABEL_ANALYSIS_DATES: ",".join(sorted({o.analysis_date.text for o in manifest.observations})),
        LABEL_VERSION: __version__,
        "org.opencontainers.image.created": rfc3339(epoch),
    })
    if manifest.sas_version:
        labels[LABEL_SAS_VERSION] = manifest.sas_version
    if base is not None:
        labels[LABEL_BASE_DIGEST] = base.manifest_digest or base.config_digest
        labels[LABEL_BASE_CONFIG] = base.config_digest
    inner["Env"] = env
    inner["Labels"] = labels
    return canonical_json({
        **head,
        "created": rfc3339(epoch),
        "config": inner,
        "history": old_history + list(history),
        "rootfs": {"type": "layers", "diff_ids": old_diffs + list(diff_ids)},
    })


def build_image(
    manifest: Manifest,
    repo_paths: Mapping[str, Path] | Sequence[Path],
    out: str | os.PathLike[str],
    *,
    base: str | os.PathLike[str] | None = None,
    tag: str | None = None,
    gzip: bool = False,
    progress: Progress | None = None,
    k: int = DEFAULT_GROUPS,
    cifs: Mapping[str, bytes | Path] | None = None,
    epoch: int | None = None,
    platform: str = "linux/amd64",
    layer_cache: str | os.PathLike[str] | None = None,
) -> ImageResult:
    """Build the image tar at ``out`` (atomically); see the module docstring.

    ``repo_paths`` is a list of calibration directories (first wins, as ``SAS_CCFPATH``) or a
    ``{filename: path}`` map. ``cifs`` gives ready CIF bytes per observation label (default:
    written from the manifest). ``platform`` applies only without a base. ``layer_cache``: a
    directory of layers built before (:mod:`reprocal.image._layercache`): a layer found there
    is copied, not read from its files and hashed again; the layers built here are added
    (uncompressed layers only: with ``gzip`` the cache is not used).
    """
    if not manifest.observations:
        raise InputError("the manifest pins no observation; nothing to build")
    check_output(out)
    # gzip layers are not cached: their DiffID could not be checked on the way in
    cache = None if layer_cache is None or gzip else LayerCache(layer_cache)
    found = _locate(manifest, repo_paths)
    extras = _extra_layers(manifest, repo_paths)
    epoch = default_epoch(manifest) if epoch is None else epoch
    labels = manifest.labels()
    cif = _cif_bytes(manifest, cifs)
    with tempfile.TemporaryDirectory(prefix="reprocal-base-", dir=Path(out).parent) as work:
        base_img = None if base is None else open_base(base, Path(work))
        if base_img is not None:
            hit = _base_has_ccf(base_img)
            if hit is not None:
                raise InputError(
                    f"the base image already has /{CCF_DIR} ({hit})", path=base_img.path,
                    hint=f"use a base image without /{CCF_DIR}; reprocal will not mix stale "
                    "calibration files into the image")
            bad = [d.media_type for d in base_img.layers
                   if d.media_type not in GZIP_LAYERS + PLAIN_LAYERS]
            if bad:
                raise InputError(f"base layer media type {bad[0]!r} is not supported",
                                 path=base_img.path)
        calibration = [
            TypedFile(f.constituent.scope, f.constituent.typeid,
                      LayerFile(f"{CCF_DIR}/{f.filename}", found[f.filename], f.size, f.sha256))
            for f in manifest.files
        ]
        top = [_blob_of(cif[x], f"{CCF_DIR}/cif/{x}.cif") for x in labels]
        top.append(_blob_of(cif[labels[0]], f"{CCF_DIR}/ccf.cif"))
        top.append(_blob_of(manifest.dumps(), MANIFEST_PATH))
        base_layers = 0 if base_img is None else len(base_img.layers)
        draft = plan_layers(calibration, top, k=k, base_layers=base_layers + 1, extras=extras)
        top.append(_blob_of(_record(manifest, base_img, epoch, k, gzip, draft, labels),
                            RECORD_PATH))
        sums = [(f.file.path, f.file.sha256) for f in calibration] + [
            (f.path, f.sha256) for _, files in extras for f in files] + [
            (f.path, f.sha256) for f in top]
        top.append(_blob_of(sha256sums([(p[len(CCF_DIR) + 1:], h) for p, h in sums]), SUMS_PATH))
        plan = plan_layers(calibration, top, k=k, base_layers=base_layers, extras=extras)

        built = []
        bar = or_null(progress)
        for layer in plan:
            made = None if cache is None else cache.get(layer.files, LAYER_MTIME)
            if made is None:
                made = measure_layer(layer.files, LAYER_MTIME, gzip=gzip)
                if cache is not None:
                    made = cache.storing(layer.files, LAYER_MTIME, made)
            built.append(made)
            bar.update(layer.size)
        when = rfc3339(epoch)
        history = [{"created": when, "created_by": f"reprocal {__version__} image build: "
                    f"{layer.name}" + (f" ({' '.join(layer.types)})" if layer.types else ""),
                    "comment": f"{len(layer.files)} files"} for layer in plan]
        config = _config(base_img, manifest, epoch, [b.diff_id for b in built], history,
                         platform)
        base_descs = [] if base_img is None else [
            Descriptor(MEDIA_LAYER_GZIP if d.media_type in GZIP_LAYERS else MEDIA_LAYER,
                       d.digest, d.size) for d in base_img.layers]
        name = tag or default_tag(manifest)
        docs = image_docs(config, base_descs + [b.descriptor for b in built], name=name)
        blobs = ([] if base_img is None else
                 [base_img.layer_blob(i) for i in range(len(base_img.layers))])
        blobs += [b.blob for b in built]
        try:
            tar_sha = write_image_tar(out, blobs, docs, mtime=epoch)
        except BaseException as exc:
            if cache is None:
                raise
            cache.discard()
            damaged = cache.damaged(exc) if isinstance(exc, HashMismatchError) else None
            if damaged is None:
                raise
            raise damaged from None
        if cache is not None:
            cache.commit()
        base_diffs = (list((base_img.config.get("rootfs") or {}).get("diff_ids") or [])
                      if base_img is not None else [])
    infos = [LayerInfo("base", d.digest, diff, d.size, 0)
             for d, diff in zip(base_descs, base_diffs, strict=False)]
    infos += [LayerInfo(layer.name, b.descriptor.digest, b.diff_id, b.descriptor.size,
                        len(layer.files)) for layer, b in zip(plan, built, strict=True)]
    return ImageResult(Path(out), name, docs.manifest_digest, sha256_digest(config), tar_sha,
                       tuple(infos), manifest.calibration_id,
                       0 if cache is None else cache.hits)
