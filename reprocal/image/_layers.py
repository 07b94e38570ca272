"""Layer planning for calibration images: which file goes into which layer (pure).

Constituents are grouped by a stable key of their *type*: the sha256 of ``SCOPE_TYPEID`` modulo
a fixed number of groups ``k``. A new calibration state (a new issue of a few types) therefore
changes only the layers holding those types; a registry or a Docker store shares every other
layer with the previous image. Packing by size or by sort position would shift every later layer.

On top sits one small layer with what changes with every state: the CIF(s), the pinned manifest,
a ``SHA256SUMS`` in ``sha256sum -c`` format (paths relative to ``/ccf``) and the build record.
Empty groups produce no layer, and an image never has more than :data:`MAX_LAYERS` layers
(moby refuses more than 125).

Every file of every layer carries one fixed mtime, :data:`LAYER_MTIME`, never a date of the
state: a layer's digest is then a function of its files' paths and bytes alone, so the group
layers of two successive states are byte-identical wherever their types did not change. (With
the state's analysis date as the mtime, two states differing in 4 of 118 files shared none of
their 33 layers; with one fixed epoch, 28.) The state's dates live in the image config, its
labels and history, and the build record.

>>> type_group("EPN", "QUANTUMEF", 32) == type_group("epn", "quantumef", 32)
True
>>> sha256sums([("b.CCF", "0" * 64), ("a.CCF", "f" * 64)]).decode().splitlines()[0][-7:]
'  a.CCF'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from reprocal.errors import InputError

DEFAULT_GROUPS = 32
"""Default ``k``: how many type groups the calibration files are spread over."""
MAX_LAYERS = 100
"""Never more than this many layers in one image, base layers included."""
LAYER_MTIME = 1
"""The mtime of every entry of every layer reprocal writes: 1970-01-01T00:00:01Z. Fixed, so
layer digests depend on content only; 1 rather than 0 because some tools read a zero mtime as
"no time recorded". ``SOURCE_DATE_EPOCH`` does not change it (it is already earlier than any
``SOURCE_DATE_EPOCH`` but 0, so it clamps as reproducible-builds asks)."""
CCF_DIR = "ccf"
"""The directory (relative to the image root) that holds the calibration: ``/ccf``."""


def type_group(scope: str, typeid: str, k: int = DEFAULT_GROUPS) -> int:
    """The group (``0..k-1``) of a calibration type: sha256 of ``SCOPE_TYPEID`` modulo ``k``.

    Depends only on the type, never on the issue, the file size or the other types present.
    """
    if not 1 <= k <= MAX_LAYERS - 1:
        raise InputError(f"layer groups: {k} is not in 1..{MAX_LAYERS - 1}")
    key = f"{scope.strip().upper()}_{typeid.strip().upper()}".encode("ascii")
    return int.from_bytes(hashlib.sha256(key).digest(), "big") % k


@attrs.frozen
class LayerFile:
    """One regular file to place in a layer, with the bytes it must have."""

    path: str
    """Path inside the image, relative to its root, e.g. ``ccf/EPN_QUANTUMEF_0017.CCF``."""
    source: Path | bytes = attrs.field(eq=False)
    """Where the bytes come from: a local file (checked while streamed) or the bytes themselves."""
    size: int
    """Pinned size in bytes."""
    sha256: str
    """Pinned sha256, lower-case hex (no prefix)."""
    executable: bool = False
    """Mode 0755 instead of 0644 (programs of a test base image; never calibration files)."""


@attrs.frozen
class TypedFile:
    """A calibration file with the type that decides its layer."""

    scope: str
    """Calibration scope, e.g. ``EPN``."""
    typeid: str
    """Calibration type, e.g. ``QUANTUMEF``."""
    file: LayerFile
    """The file itself."""


@attrs.frozen
class PlannedLayer:
    """One layer of the plan: a name for history and its files, sorted by path."""

    name: str
    """``calibration group NN/K`` or ``calibration top``."""
    group: int | None
    """The type group, or ``None`` for the top layer."""
    files: tuple[LayerFile, ...]
    """The files, sorted by path bytes."""
    types: tuple[str, ...] = ()
    """The ``SCOPE_TYPEID`` keys in this layer (sorted), for the history comment."""

    @property
    def size(self) -> int:
        """Total payload bytes (not counting tar headers)."""
        return sum(f.size for f in self.files)


def _sorted(files: Iterable[LayerFile], where: str) -> tuple[LayerFile, ...]:
    out = sorted(files, key=lambda f: f.path.encode("utf-8"))
    for a, b in zip(out, out[1:], strict=False):
        if a.path == b.path:
            raise InputError(f"{where}: {a.path} appears twice in one image")
    return tuple(out)


def plan_layers(
    calibration: Iterable[TypedFile],
    top: Iterable[LayerFile],
    *,
    k: int = DEFAULT_GROUPS,
    base_layers: int = 0,
    extras: Sequence[tuple[str, Sequence[LayerFile]]] = (),
) -> tuple[PlannedLayer, ...]:
    """Plan the calibration layers (non-empty groups, by group number), one layer per extra
    calibration set (``(label, files)``: a caldb changes apart from the CCF, so an image of the
    next state shares it or the constituents' layers, whichever did not change), and the top
    layer.

    ``base_layers`` counts the layers of the base image, so the whole image stays within
    :data:`MAX_LAYERS`.
    """
    groups: dict[int, list[TypedFile]] = {}
    for item in calibration:
        groups.setdefault(type_group(item.scope, item.typeid, k), []).append(item)
    layers = [
        PlannedLayer(
            name=f"calibration group {g:02d}/{k}",
            group=g,
            files=_sorted((i.file for i in items), "calibration"),
            types=tuple(sorted({f"{i.scope}_{i.typeid}" for i in items})),
        )
        for g, items in sorted(groups.items())
    ]
    layers += [PlannedLayer(name=f"extra set {label}", group=None,
                            files=_sorted(files, f"extra set {label}"))
               for label, files in extras if files]
    top_files = _sorted(top, "top layer")
    if top_files:
        layers.append(PlannedLayer(name="calibration top", group=None, files=top_files))
    every = [f.path for layer in layers for f in layer.files]
    if len(every) != len(set(every)):
        dup = sorted(p for p in set(every) if every.count(p) > 1)[0]
        raise InputError(f"image: {dup} appears twice in one image")
    total = base_layers + len(layers)
    if total > MAX_LAYERS:
        raise InputError(
            f"image would have {total} layers ({base_layers} from the base, {len(layers)} "
            f"calibration); the limit is {MAX_LAYERS}",
            hint="use a base image with fewer layers (squash it) or fewer type groups",
        )
    return tuple(layers)


def sha256sums(entries: Sequence[tuple[str, str]]) -> bytes:
    """``sha256sum -c`` input: ``<hex>  <path>`` lines sorted by path bytes, LF-terminated."""
    lines = []
    for path, hexdigest in sorted(entries, key=lambda e: e[0].encode("utf-8")):
        if "\n" in path or "\\" in path or path.startswith("/"):
            raise InputError(f"SHA256SUMS: {path!r} is not a plain relative path")
        lines.append(f"{hexdigest}  {path}\n")
    return "".join(lines).encode("utf-8")


def parse_sha256sums(data: bytes, *, where: str = "SHA256SUMS") -> dict[str, str]:
    """Parse ``sha256sum`` output back into ``{path: hex}``; a malformed line is an error."""
    out: dict[str, str] = {}
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        hexdigest, sep, path = line.partition("  ")
        if not sep or len(hexdigest) != 64 or not all(c in "0123456789abcdef" for c in hexdigest):
            raise InputError(f"{where}: line {n} is not in sha256sum format (64 hex digits, "
                             f"two spaces, a path): {line[:80]!r}")
        out[path] = hexdigest
    return out
