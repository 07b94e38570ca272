"""Canned EPIC response matrices: their names, the epochs they belong to, and choosing one.

ESA serves pre-computed EPIC RMFs beside the CCF (an ``extras/responses/`` area with a
``Version.txt``). Its slides give the naming scheme
``<camera>_<epoch>_<mode><adu>_<pattern><rows>_<version>.rmf`` and examples that follow it in
two shapes: pn glues mode and ADU threshold, pattern and rows (``epn_e1_ff20_sY9.rmf``), MOS
separates mode, patterns and position (``m1_e1_im_pall_c.rmf``). :meth:`ResponseName.parse`
reads both, leniently (any case, camera aliases, an optional version token), and refuses what it
cannot read: a name it cannot parse is reported, never guessed.

A matrix depends on the epoch, the camera, the mode, the patterns and the position on the
detector (pn: the rows, ``Y9`` on-axis, ``Y5`` centre of the CCD, ``Y0`` edge of the field) or
on the MOS patch (``c`` centre, ``w`` wings, ``o`` off). Epochs are calendar ranges per camera
(:class:`EpochTable`): each includes its start date and excludes its end date. pn's three come
from ESA's slides (package data, ``reprocal/data/response_epochs.csv``); MOS epochs only from a
source that gives them (a table the user supplies, or the matrices' own ``CVSD0001`` headers:
:func:`epochs_from_headers`). Nothing is invented: a camera without epochs, a date in no epoch,
an epoch whose end no source gives, is an error that says so.

ESA's slides advise against canned matrices for analysis: they are for proposal preparation,
and ``rmfgen`` makes the matrix of an analysis (:data:`RMFGEN_ADVICE`). reprocal pins them all
the same, because people use them (``arfgen withrmfset=yes rmfset=...``), and a tool that fetches
"the latest" one at run time makes a result irreproducible by design.

Pure: names and dates in, choices out; no file is read here.

>>> n = ResponseName.parse("epn_e2_ff20_sdY9.rmf")
>>> n.camera, n.epoch, n.mode, n.adu, n.patterns, n.position
('pn', 2, 'ff', 20, 'sd', 'Y9')
>>> ResponseName.parse("m1_e11_tu_p0_o.rmf").describe()
'MOS1 epoch e11, timing, pattern 0, off the patch'
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence

import attrs

from reprocal.core._dates import CalDate
from reprocal.errors import InputError

RMFGEN_ADVICE = ("ESA advises against canned response matrices for analysis (they are meant for "
                 "proposal preparation): make the matrix of an analysis with rmfgen")
"""Said every time a canned matrix is chosen or found in a product."""

CAMERAS = {"pn": "pn", "epn": "pn", "m1": "m1", "mos1": "m1", "emos1": "m1", "m2": "m2",
           "mos2": "m2", "emos2": "m2"}
"""Camera spellings (names and options) -> canonical camera."""
CAMERA_NAMES = {"pn": "pn", "m1": "MOS1", "m2": "MOS2"}
PN_MODES = {"ff": "full frame", "ef": "extended full frame", "lw": "large window",
            "sw": "small window", "ti": "timing", "bu": "burst"}
MOS_MODES = {"im": "imaging", "tu": "timing"}
PN_PATTERNS = {"s": "singles", "d": "doubles", "sd": "singles and doubles"}
PN_POSITIONS = {"Y9": "on-axis", "Y5": "centre of the CCD", "Y0": "edge of the field"}
"""What ESA's slides say the rows codes of their examples mean (other rows: ``rows Y<n>``)."""
MOS_POSITIONS = {"c": "centre of the patch", "w": "wings of the patch", "o": "off the patch"}

_PN_MODE_RE = re.compile(r"^(ff|ef|lw|sw|ti|bu)(\d{1,4})?\Z")
_PN_PATTERN_RE = re.compile(r"^(sd|s|d)(y\d{1,2})?\Z")
_ROWS_RE = re.compile(r"^y\d{1,2}\Z")
_MOS_MODE_RE = re.compile(r"^(im|tu)(\d{1,4})?\Z")
_MOS_PATTERN_RE = re.compile(r"^(pall|p\d{1,2}(?:-\d{1,2})?)\Z")
_VERSION_RE = re.compile(r"^v?\d+(?:\.\d+)*[a-z]?\Z")
_EPOCH_RE = re.compile(r"^e(\d{1,3})\Z")
_SUFFIX = ".rmf"


def _family(camera: str) -> str:
    return "pn" if camera == "pn" else "mos"


@attrs.frozen(order=True)
class ResponseName:
    """A parsed canned-matrix file name (``name`` as given; the rest canonical)."""

    camera: str
    """``pn``, ``m1`` or ``m2``."""
    epoch: int
    """The epoch number (``e2`` -> 2)."""
    mode: str
    """``ff``, ``ef``, ``lw``, ``sw``, ``ti``, ``bu`` (pn); ``im``, ``tu`` (MOS)."""
    adu: int | None
    """The ADU threshold glued to the mode (``ff20`` -> 20), when the name has one."""
    patterns: str
    """``s``, ``d``, ``sd`` (pn); ``pall``, ``p0``, ``p0-4`` (MOS)."""
    position: str
    """``Y<n>`` (pn rows) or ``c``, ``w``, ``o`` (MOS patch)."""
    version: str | None = None
    """The version token at the end, when there is one."""
    name: str = attrs.field(default="", eq=False, order=False)
    """The base name as given."""

    @classmethod
    def parse(cls, name: str) -> ResponseName:
        """Parse a base name; :class:`InputError` naming it when it does not follow the scheme."""
        found = cls.read(name)
        if found is None:
            raise InputError(f"{name!r} is not a canned response matrix name; expected "
                             "<camera>_e<N>_<mode>[<adu>]_<patterns>[<rows>][_<position>]"
                             "[_<version>].rmf (e.g. epn_e1_ff20_sY9.rmf, m1_e1_im_pall_c.rmf)")
        return found

    @classmethod
    def read(cls, name: str) -> ResponseName | None:
        """:meth:`parse`, or ``None`` for a name that does not follow the scheme."""
        if not isinstance(name, str) or "/" in name or not name.lower().endswith(_SUFFIX):
            return None
        tokens = name[:-len(_SUFFIX)].lower().split("_")
        if len(tokens) < 4 or tokens[0] not in CAMERAS:
            return None
        camera = CAMERAS[tokens[0]]
        epoch = _EPOCH_RE.match(tokens[1])
        if epoch is None or int(epoch[1]) == 0:
            return None
        rest = _pn_rest(tokens[2:]) if camera == "pn" else _mos_rest(tokens[2:])
        if rest is None:
            return None
        mode, adu, patterns, position, version = rest
        return cls(camera, int(epoch[1]), mode, adu, patterns, position, version, name)

    @property
    def epoch_label(self) -> str:
        return f"e{self.epoch}"

    def describe(self) -> str:
        """In words: ``pn epoch e1, full frame, 20 ADU, singles, on-axis (rows Y9)``."""
        modes = PN_MODES if self.camera == "pn" else MOS_MODES
        parts = [f"{CAMERA_NAMES[self.camera]} epoch {self.epoch_label}", modes[self.mode]]
        if self.adu is not None:
            parts.append(f"{self.adu} ADU")
        parts += [describe_patterns(self.patterns), describe_position(self.position)]
        if self.version:
            parts.append(f"version {self.version}")
        return ", ".join(parts)


def _pn_rest(tokens: Sequence[str]) -> tuple[str, int | None, str, str, str | None] | None:
    """``ff20 sY9 [v]`` or ``ff20 s Y9 [v]``."""
    mode = _PN_MODE_RE.match(tokens[0])
    if mode is None or len(tokens) < 2:
        return None
    glued = _PN_PATTERN_RE.match(tokens[1])
    if glued is None:
        return None
    rest = list(tokens[2:])
    rows = glued[2]
    if rows is None:
        if not rest or not _ROWS_RE.match(rest[0]):
            return None
        rows = rest.pop(0)
    version = _version(rest)
    if version is False:
        return None
    adu = int(mode[2]) if mode[2] else None
    return mode[1], adu, glued[1], "Y" + rows[1:], version  # type: ignore[return-value]


def _mos_rest(tokens: Sequence[str]) -> tuple[str, int | None, str, str, str | None] | None:
    """``im pall c [v]``."""
    if len(tokens) < 3:
        return None
    mode, patterns = _MOS_MODE_RE.match(tokens[0]), _MOS_PATTERN_RE.match(tokens[1])
    if mode is None or patterns is None or tokens[2] not in MOS_POSITIONS:
        return None
    version = _version(tokens[3:])
    if version is False:
        return None
    adu = int(mode[2]) if mode[2] else None
    return mode[1], adu, patterns[1], tokens[2], version  # type: ignore[return-value]


def _version(rest: Sequence[str]) -> str | None | bool:
    """The one optional version token (``None``), or ``False`` when what is left is not one."""
    if not rest:
        return None
    if len(rest) == 1 and _VERSION_RE.match(rest[0]):
        return rest[0]
    return False


def describe_patterns(code: str) -> str:
    if code in PN_PATTERNS:
        return PN_PATTERNS[code]
    if code == "pall":
        return "patterns 0-12"
    body = code[1:]
    return f"patterns {body}" if "-" in body else f"pattern {body}"


def describe_position(code: str) -> str:
    if code in MOS_POSITIONS:
        return MOS_POSITIONS[code]
    meaning = PN_POSITIONS.get(code)
    return f"{meaning} (rows {code})" if meaning else f"rows {code}"


def version_key(version: str | None) -> tuple[int, ...] | None:
    """A comparable form of a version token (``v19.0`` -> (19, 0)); ``None`` when it has a
    letter suffix (no order is known for those)."""
    if version is None:
        return ()
    m = re.fullmatch(r"v?(\d+(?:\.\d+)*)", version)
    return tuple(int(x) for x in m[1].split(".")) if m else None


# --- what the user asks for -------------------------------------------------------------------


@attrs.frozen
class ResponseRequest:
    """The matrix asked for: camera, mode (with its ADU threshold, optionally), patterns,
    position, and optionally a version."""

    camera: str
    mode: str
    adu: int | None
    patterns: str
    position: str
    version: str | None = None

    @classmethod
    def of(cls, camera: str, mode: str, patterns: str, position: str,
           version: str | None = None, *, names: Mapping[str, str] | None = None
           ) -> ResponseRequest:
        """Normalise what a user typed (aliases: ``mos1``, ``singles``, ``on-axis``, ...);
        errors name the option (``names``: parameter -> its spelling)."""
        spell = dict(names or {})

        def field(param: str) -> str:
            return spell.get(param, param)

        cam = CAMERAS.get(str(camera).strip().lower())
        if cam is None:
            raise InputError(f"{field('camera')}: {camera!r} is not an EPIC camera; use pn, "
                             "m1 (mos1) or m2 (mos2)")
        fam = _family(cam)
        m = (_PN_MODE_RE if fam == "pn" else _MOS_MODE_RE).match(str(mode).strip().lower())
        if m is None:
            known = ", ".join(PN_MODES if fam == "pn" else MOS_MODES)
            raise InputError(f"{field('mode')}: {mode!r} is not a {CAMERA_NAMES[cam]} mode; use "
                             f"one of {known} (optionally with the ADU threshold, e.g. ff20)")
        return cls(cam, m[1], int(m[2]) if m[2] else None,
                   _request_patterns(fam, patterns, field("patterns")),
                   _request_position(fam, position, field("position")),
                   version.strip().lower() if version else None)

    def matches(self, n: ResponseName) -> bool:
        """``n`` is a matrix of this camera, mode, patterns and position (any epoch)."""
        return (n.camera == self.camera and n.mode == self.mode and n.patterns == self.patterns
                and n.position == self.position
                and (self.adu is None or n.adu == self.adu)
                and (self.version is None or n.version == self.version))

    def describe(self) -> str:
        modes = PN_MODES if self.camera == "pn" else MOS_MODES
        mode = modes[self.mode] + (f" {self.adu} ADU" if self.adu is not None else "")
        return (f"{CAMERA_NAMES[self.camera]} {mode}, {describe_patterns(self.patterns)}, "
                f"{describe_position(self.position)}"
                + (f", version {self.version}" if self.version else ""))


_PATTERN_ALIASES = {
    "pn": {"s": "s", "singles": "s", "single": "s", "d": "d", "doubles": "d", "double": "d",
           "sd": "sd", "singles+doubles": "sd", "singles-and-doubles": "sd"},
    "mos": {"pall": "pall", "all": "pall", "0-12": "pall", "p0-12": "pall", "p0": "p0",
            "0": "p0", "singles": "p0"},
}
_POSITION_ALIASES = {
    "pn": {"on-axis": "Y9", "edge": "Y0", "edge-of-field": "Y0", "ccd-centre": "Y5",
           "ccd-center": "Y5"},
    "mos": {"c": "c", "centre": "c", "center": "c", "w": "w", "wings": "w", "o": "o",
            "off": "o", "off-patch": "o"},
}


def _request_patterns(fam: str, value: str, field: str) -> str:
    text = str(value).strip().lower().replace(" ", "-")
    found = _PATTERN_ALIASES[fam].get(text)
    if found is None and fam == "mos" and re.fullmatch(r"p?\d{1,2}(-\d{1,2})?", text):
        found = "p" + text.lstrip("p")
    if found is None:
        known = "s, d, sd (singles, doubles)" if fam == "pn" else "pall (0-12), p0, pA-B"
        raise InputError(f"{field}: {value!r} is not a pattern selection of canned matrices "
                         f"for this camera; use {known}")
    return found


def _request_position(fam: str, value: str, field: str) -> str:
    text = str(value).strip()
    if fam == "pn":
        if re.fullmatch(r"[Yy]\d{1,2}", text):
            return "Y" + text[1:]
        found = _POSITION_ALIASES["pn"].get(text.lower())
        known = "Y<n> rows, on-axis (Y9), ccd-centre (Y5) or edge (Y0)"
    else:
        found = _POSITION_ALIASES["mos"].get(text.lower())
        known = "c (centre of the patch), w (wings) or o (off the patch)"
    if found is None:
        raise InputError(f"{field}: {value!r} is not a position of canned matrices for this "
                         f"camera; use {known}")
    return found


# --- epochs -----------------------------------------------------------------------------------


@attrs.frozen
class Epoch:
    """One epoch of one camera: ``start`` included, ``end`` excluded (``None``: open-ended, or
    not known when ``end_known`` is false)."""

    camera: str
    number: int
    start: CalDate
    end: CalDate | None
    source: str
    """Where the epoch comes from (ESA's slides, a table file, the matrices' headers)."""
    end_known: bool = True
    """False when the source gives the start only and no later epoch says where it ends."""

    @property
    def label(self) -> str:
        return f"e{self.number}"

    def contains(self, date: CalDate) -> bool:
        return self.start <= date and (self.end is None or date < self.end)

    def span(self) -> str:
        """``2000-02-01 to 2007-01-01`` / ``from 2014-01-01`` (dates; times when not midnight)."""
        start = _short(self.start)
        if self.end is not None:
            return f"{start} to {_short(self.end)}"
        return f"from {start}" + ("" if self.end_known else " (its end is not known)")

    def describe(self) -> str:
        return (f"{CAMERA_NAMES[self.camera]} epoch {self.label} ({self.span()}, start included, "
                f"end excluded; {self.source})")


def _short(d: CalDate) -> str:
    return d.date if d.text.endswith("T00:00:00") else d.text


class EpochTableError(InputError):
    """An epoch table whose epochs overlap, are out of order or malformed."""


class NoEpochError(InputError):
    """No epoch of the table contains an observation date, or the table has no epochs for the
    camera."""


@attrs.frozen
class EpochTable:
    """Epochs per camera, checked: per camera in increasing number and date order, none
    overlapping (an epoch ends at or before the next one starts; only the last may be open)."""

    epochs: tuple[Epoch, ...]

    @classmethod
    def of(cls, epochs: Iterable[Epoch], *, source: str = "epoch table") -> EpochTable:
        """Check epochs given in the order their source lists them (see the class docstring);
        :class:`EpochTableError` naming ``source`` and the epochs at fault."""
        listed = list(epochs)
        by_camera: dict[str, list[Epoch]] = {}
        for e in listed:
            by_camera.setdefault(e.camera, []).append(e)
        for camera, rows in by_camera.items():
            cam = CAMERA_NAMES[camera]
            for e in rows:
                if e.end is not None and not e.start < e.end:
                    raise EpochTableError(f"{source}: {cam} epoch {e.label} ends ({e.end}) "
                                          f"before it starts ({e.start})")
            for a, b in zip(rows, rows[1:], strict=False):
                if b.number <= a.number or b.start <= a.start:
                    raise EpochTableError(f"{source}: {cam} epochs are not in order: {a.label} "
                                          f"({a.span()}) is listed before {b.label} ({b.span()})",
                                          hint="list each camera's epochs by increasing number "
                                               "and start date")
                if a.end is None and a.end_known:
                    raise EpochTableError(f"{source}: {cam} epoch {a.label} has no end but "
                                          f"{b.label} follows it")
                if a.end is not None and a.end > b.start:
                    raise EpochTableError(f"{source}: {cam} epochs {a.label} ({a.span()}) and "
                                          f"{b.label} ({b.span()}) overlap",
                                          hint="an epoch must end at or before the next one "
                                               "starts (the end date is excluded)")
        return cls(tuple(sorted(listed, key=lambda e: (e.camera, e.number))))

    def cameras(self) -> set[str]:
        return {e.camera for e in self.epochs}

    def of_camera(self, camera: str) -> tuple[Epoch, ...]:
        return tuple(e for e in self.epochs if e.camera == camera)

    def replaced_by(self, other: EpochTable) -> EpochTable:
        """This table with every camera ``other`` has taken from ``other``."""
        kept = [e for e in self.epochs if e.camera not in other.cameras()]
        return EpochTable(tuple(sorted([*kept, *other.epochs], key=lambda e: (e.camera, e.number))))

    def epoch_at(self, camera: str, date: CalDate) -> Epoch:
        """The epoch of ``camera`` containing ``date``; :class:`NoEpochError` saying why none."""
        rows = self.of_camera(camera)
        cam = CAMERA_NAMES[camera]
        if not rows:
            raise NoEpochError(f"no epochs are known for {cam}",
                               hint="reprocal's table holds pn's epochs from ESA's slides only; "
                                    "give an epoch table (camera,epoch,start,end,source) or "
                                    "choose from matrices whose headers carry CVSD0001")
        started = [e for e in rows if e.start <= date]  # rows are in start order
        if not started:
            raise NoEpochError(f"observation date {date} is before the first {cam} epoch "
                               f"{rows[0].label} ({rows[0].span()}; {rows[0].source})")
        e = started[-1]
        if not e.end_known:
            nxt = [x for x in rows if x.number > e.number]
            raise NoEpochError(
                f"observation date {date} is after the start of {cam} epoch {e.label} "
                f"({e.start.date}) but no source says where that epoch ends"
                + (f" (the next epoch known is {nxt[0].label}, from {nxt[0].start.date})"
                   if nxt else ""),
                hint="give an epoch table that says, or matrices of the next epoch")
        if not e.contains(date):
            raise NoEpochError(f"observation date {date} is in no {cam} epoch ("
                               + "; ".join(f"{x.label} {x.span()}" for x in rows) + ")")
        return e


def parse_epoch_table(text: str, *, source: str = "epoch table") -> EpochTable:
    """A CSV table ``camera,epoch,start,end,source`` (``#`` lines are comments; ``end`` empty:
    open-ended; ``source`` optional, default the table's name); checked by :meth:`EpochTable.of`.
    """
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise EpochTableError(f"{source}: no epochs (expected a header camera,epoch,start,end"
                              "[,source] and one row per epoch)")
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if not {"camera", "epoch", "start", "end"} <= set(header):
        raise EpochTableError(f"{source}: the header is {','.join(header)!r}; expected "
                              "camera,epoch,start,end[,source]")
    epochs = []
    for n, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()
               if isinstance(v, str)}
        where = f"{source}: data line {n - 1}"
        camera = CAMERAS.get(row.get("camera", "").lower())
        if camera is None:
            raise EpochTableError(f"{where}: camera {row.get('camera')!r} is not pn, m1 or m2")
        m = re.fullmatch(r"e?(\d{1,3})", row.get("epoch", "").lower())
        if m is None or int(m[1]) == 0:
            raise EpochTableError(f"{where}: epoch {row.get('epoch')!r} is not e<N>")
        try:
            start = CalDate.parse(row.get("start", ""), field=f"{where}: start")
            end = (CalDate.parse(row["end"], field=f"{where}: end") if row.get("end") else None)
        except InputError as exc:
            raise EpochTableError(exc.message) from None
        epochs.append(Epoch(camera, int(m[1]), start, end, row.get("source") or source))
    return EpochTable.of(epochs, source=source)


def epochs_from_headers(found: Iterable[tuple[ResponseName, CalDate]], *, source: str
                        ) -> EpochTable:
    """Epochs as the matrices' own headers give them: each epoch starts at its matrices'
    ``CVSD0001`` (they must agree) and ends where the next epoch starts; an epoch whose next one
    is not known has no known end, the last one known included (a header says where its own
    epoch starts, never where it ends: an area holding e1 and e2 of a camera that has more
    says nothing of 2012)."""
    starts: dict[tuple[str, int], tuple[CalDate, str]] = {}
    for n, start in found:
        seen = starts.setdefault((n.camera, n.epoch), (start, n.name))
        if seen[0] != start:
            raise EpochTableError(f"{source}: {n.name} says {CAMERA_NAMES[n.camera]} epoch "
                                  f"{n.epoch_label} starts {start}, {seen[1]} says {seen[0]}")
    epochs = []
    for camera in sorted({c for c, _ in starts}):
        numbers = sorted(k for c, k in starts if c == camera)
        for i, k in enumerate(numbers):
            start, name = starts[(camera, k)]
            last = i == len(numbers) - 1
            nxt = None if last else numbers[i + 1]
            if nxt == k + 1:
                end, known = starts[(camera, nxt)][0], True
            else:
                end, known = None, False
            where = f"CVSD0001 of {name}" + ("" if known else "; no matrix of the next epoch "
                                              "says where it ends")
            epochs.append(Epoch(camera, k, start, end, f"{source}: {where}", known))
    return EpochTable.of(epochs, source=source)


# --- choosing ---------------------------------------------------------------------------------


class NoMatrixError(InputError):
    """No matrix (or more than one) of the source fits the camera, mode, patterns, position and
    the observation's epoch."""


@attrs.frozen
class ChosenMatrix:
    """The matrix chosen for one observation date, and why."""

    path: str
    """Its path in the source (relative, ``/``-separated)."""
    matrix: ResponseName
    epoch: Epoch
    obs_date: CalDate
    reason: str
    """Why this one, in words."""


def choose(candidates: Iterable[tuple[str, ResponseName]], request: ResponseRequest,
           obs_date: CalDate, table: EpochTable, *, source: str) -> ChosenMatrix:
    """The one matrix of ``candidates`` (``(path, parsed name)``) of the request's camera, mode,
    patterns and position in the epoch containing ``obs_date``. Several versions of it: the
    highest (said so); anything else ambiguous, or nothing, is a :class:`NoMatrixError`."""
    epoch = table.epoch_at(request.camera, obs_date)
    fitting = [(p, n) for p, n in candidates if request.matches(n)]
    here = [(p, n) for p, n in fitting if n.epoch == epoch.number]
    if not here:
        others = sorted({n.epoch_label for _, n in fitting}, key=lambda s: int(s[1:]))
        elsewhere = (f"; {source} has it for epoch(s) {', '.join(others)} only" if others
                     else f"; {source} has no matrix of that camera, mode, patterns and position")
        raise NoMatrixError(f"no canned matrix for {request.describe()} in {epoch.describe()}, "
                            f"the epoch of {obs_date}{elsewhere}",
                            hint="choose another mode, patterns or position, or make the matrix "
                                 "with rmfgen")
    chosen, note = _one(here, request, source)
    path, n = chosen
    reason = (f"{n.name}: {n.describe()}; the observation date {obs_date} is in "
              f"{epoch.describe()}{note}")
    return ChosenMatrix(path, n, epoch, obs_date, reason)


def _one(here: list[tuple[str, ResponseName]], request: ResponseRequest, source: str
         ) -> tuple[tuple[str, ResponseName], str]:
    if len(here) == 1:
        return here[0], ""
    adus = {n.adu for _, n in here}
    if len(adus) > 1:
        raise NoMatrixError(f"{len(here)} canned matrices in {source} fit {request.describe()}: "
                            + ", ".join(p for p, _ in here[:6]),
                            hint="give the ADU threshold with the mode (e.g. ff20)")
    keys = [(version_key(n.version), p, n) for p, n in here]
    if any(k is None for k, _, _ in keys) or len({k for k, _, _ in keys}) < len(keys):
        raise NoMatrixError(f"{len(here)} canned matrices in {source} fit {request.describe()} "
                            "and their versions cannot be ordered: "
                            + ", ".join(p for p, _ in here[:6]),
                            hint="name the version to pin")
    best = max(keys, key=lambda k: k[0] or ())
    return (best[1], best[2]), (f"; the highest of {len(here)} versions in {source} "
                                f"({', '.join(n.version or 'none' for _, _, n in keys)})")


__all__ = [
    "CAMERAS", "CAMERA_NAMES", "ChosenMatrix", "Epoch", "EpochTable", "EpochTableError",
    "MOS_MODES", "MOS_POSITIONS", "NoEpochError", "NoMatrixError", "PN_MODES", "PN_PATTERNS",
    "PN_POSITIONS", "RMFGEN_ADVICE", "ResponseName", "ResponseRequest", "choose",
    "describe_patterns", "describe_position", "epochs_from_headers", "parse_epoch_table",
    "version_key",
]
