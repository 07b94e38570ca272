"""Reverse impact: which products, manifests and records in a tree used a given constituent.

``NAME`` is one constituent (``EPN_CTI_0045.CCF``, any case, the ``.CCF`` optional) or a whole
calibration type (``EPN_CTI``: every issue, each hit saying which). Files are recognised by their
first bytes: FITS (plain or gzip) are read for a ``CALINDEX`` table, JSON for a manifest or a
provenance record; anything else is skipped. Unreadable candidates are reported, not fatal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.core._names import ConstituentName
from reprocal.errors import ConstituentNameError, InputError, ReprocalError
from reprocal.fits._calindex import read_calindex
from reprocal.fs._inputs import NotRegularFile, open_regular, read_input, require_regular
from reprocal.fs._limits import current_limits
from reprocal.progress import Progress, or_null
from reprocal.provenance._record import is_record, load_record
from reprocal.state._manifest import loads
from reprocal.state._schemas import parse_json

_TYPE_RE = re.compile(r"^(?P<scope>[A-Z0-9]{1,5})_(?P<typeid>[A-Z0-9]{1,17})\Z")
_SKIP = {".git", ".hg", ".svn", "__pycache__", ".venv", "node_modules"}


@attrs.frozen
class Target:
    """What to look for: one issue, or every issue of a type."""

    key: tuple[str, str]
    issue: int | None
    """``None``: any issue."""

    def matches(self, filename: str) -> bool:
        try:
            n = ConstituentName.parse(filename)
        except ConstituentNameError:
            return False
        return n.key == self.key and (self.issue is None or n.issue == self.issue)

    def __str__(self) -> str:
        base = f"{self.key[0]}_{self.key[1]}"
        return base if self.issue is None else f"{base}_{self.issue:04d}.CCF"


def parse_target(text: str, *, field: str = "name") -> Target:
    """``EPN_CTI_0045.CCF``, ``epn_cti_0045``, or the type ``EPN_CTI``."""
    t = text.strip().upper()
    if _TYPE_RE.match(t) and not re.search(r"_\d{4}\Z", t):
        m = _TYPE_RE.match(t)
        assert m is not None
        ConstituentName(m["scope"], m["typeid"], 0)  # validates scope and type
        return Target((m["scope"], m["typeid"]), None)
    if not t.endswith(".CCF"):
        t += ".CCF"
    try:
        n = ConstituentName.parse(t)
    except ConstituentNameError as exc:
        raise InputError(f"{field} {text!r}: {exc.message}",
                         hint="give EPN_CTI_0045.CCF (one issue) or EPN_CTI (every issue)") from None
    return Target(n.key, n.issue)


@attrs.frozen
class Use:
    """One file that used the constituent."""

    path: str
    kind: str
    """``CALINDEX`` (a CIF, product, event list), ``manifest``, ``record``."""
    constituent: str
    """The file name it used."""
    detail: str = ""
    """Dates, observation or command, for the reader."""
    relevance: str = "listed"
    """``could have used``: the product's instrument (``INSTRUME``) is the constituent's
    scope, or one the scope serves (the spacecraft, its mirror); ``only lists``: another
    instrument's product, which carries the whole CIF in its CALINDEX but whose processing
    cannot read this constituent; ``listed``: a CIF, manifest or record, a calibration set
    for any instrument."""
    instrument: str | None = None
    """The product's ``INSTRUME`` (``None``: none recorded)."""


@attrs.frozen
class UsesReport:
    target: Target
    uses: tuple[Use, ...]
    scanned: int
    problems: tuple[tuple[str, str], ...]
    """(path, what was wrong) for candidates that could not be read."""

    def could_have_used(self) -> tuple[Use, ...]:
        """The uses by a product whose processing could read the constituent."""
        return tuple(u for u in self.uses if u.relevance == "could have used")

    def to_json(self) -> dict[str, Any]:
        return {"target": str(self.target), "scanned": self.scanned,
                "uses": [attrs.asdict(u) for u in self.uses],
                "problems": [{"path": p, "problem": m} for p, m in self.problems]}


def _sniff(path: Path) -> str | None:
    """``fits``, ``json`` or ``None`` by the first bytes; raises :class:`NotRegularFile` for a
    FIFO, device or socket in the tree (reported, never read)."""
    try:
        with open_regular(path) as f:
            head = f.read(9)
    except NotRegularFile:
        raise
    except OSError:
        return None
    if head.startswith(b"SIMPLE  =") or head.startswith(b"\x1f\x8b"):
        return "fits"
    if head.lstrip().startswith(b"{"):
        return "json"
    return None


SERVES: dict[str, frozenset[str]] = {
    "XRT1": frozenset({"EMOS1", "RGS1"}), "XRT2": frozenset({"EMOS2", "RGS2"}),
    "XRT3": frozenset({"EPN"}),
}
"""The instruments behind each mirror module (a mirror's scope serves those); ``XMM`` serves
every instrument."""


def relevance(scope: str, instrument: str | None) -> str:
    """How a product of ``instrument`` relates to a constituent of ``scope`` it lists.

    >>> relevance("EPN", "EMOS1"), relevance("EMOS1", "EMOS1"), relevance("XRT1", "RGS1")
    ('only lists', 'could have used', 'could have used')
    >>> relevance("XMM", "OM"), relevance("EPN", None)
    ('could have used', 'listed')
    """
    if not instrument:
        return "listed"
    inst = instrument.strip().upper()
    if scope == "XMM" or scope == inst or inst in SERVES.get(scope, frozenset()):
        return "could have used"
    return "only lists"


def _instrument(path: Path) -> str | None:
    from reprocal.fits._walk import primary_keywords

    return primary_keywords(path).get("INSTRUME", "").strip().upper() or None


def _uses_in(path: Path, kind: str, target: Target) -> list[Use]:

    if kind == "fits":
        try:
            table = read_calindex(path)
        except ReprocalError as exc:
            if exc.message.startswith(("no CALINDEX", "not a FITS file")):
                return []  # a FITS file without calibration, or a .gz that is not FITS
            raise
        dates = f"OBSVDATE {table.obs_date or '-'}, ANALDATE {table.analysis_date or '-'}"
        hits = [c for c in table.rows if target.matches(c.filename)]
        inst = _instrument(path) if hits else None
        return [Use(str(path), "CALINDEX", c.filename, dates, relevance(c.scope, inst), inst)
                for c in hits]
    if is_record(path):
        rec = load_record(path)
        return [Use(str(path), "record", d.name, " ".join(rec.command)[:120])
                for d in rec.by_role("constituent") if target.matches(d.name)]
    data = read_input(path, limit=current_limits().document_size, what="JSON file",
                      name="document-size")  # past the limit: reported, never read whole
    try:
        doc = parse_json(data, source=str(path))
    except InputError:
        return []
    # a manifest's "schema" comes after its constituents (keys are sorted): read it all
    if not (isinstance(doc, dict) and str(doc.get("schema", "")).startswith("reprocal.manifest/")):
        return []
    m = loads(data, source=str(path))
    out: list[Use] = []
    for pinned in m.files:
        if target.matches(pinned.filename):
            obs = [label for label, o in zip(m.labels(), m.observations, strict=True)
                   if pinned.filename in o.files]
            out.append(Use(str(path), "manifest", pinned.filename,
                           "observations " + ", ".join(obs)))
    return out


def _walk(root: Path) -> list[Path]:
    """Every file under ``root``, sorted, skipping version-control and cache directories.

    Not the repository walker (:mod:`reprocal.repo._walk`), on purpose: this walks a tree of
    *products* (event lists, CIFs, manifests, records), recognised by their first bytes, so
    it must see files of any name and extension (``.FTZ``, ``.fits.gz``, ``.json``) that
    cifbuild's file glob and the constituent name rule exclude. Where names matter (the
    constituents a product used) they are compared by the same rule, through
    :meth:`reprocal.core._names.ConstituentName.parse` (:meth:`Target.matches`): any case.
    """
    out: list[Path] = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in _SKIP)
        out.extend(Path(d) / f for f in sorted(files))
    return out


def find_uses(target: Target, roots: Sequence[str | os.PathLike[str]], *,
              progress: Progress | None = None) -> UsesReport:
    """Walk ``roots`` (files or directories) and collect every use of ``target``."""
    bar = or_null(progress)
    uses: list[Use] = []
    problems: list[tuple[str, str]] = []
    scanned = 0
    for root in roots:
        r = Path(root)
        if not r.exists():
            raise InputError(f"{r}: no such file or directory")
        if not (r.is_file() or r.is_dir()):
            require_regular(r, what="--uses root")  # a FIFO or device: refused, not read
        for p in [r] if r.is_file() else _walk(r):
            try:
                kind = _sniff(p)
            except NotRegularFile as exc:
                problems.append((str(p), f"{p}: {exc.strerror}, not read"))
                continue
            if kind is None:
                continue
            scanned += 1
            try:
                uses.extend(_uses_in(p, kind, target))
            except ReprocalError as exc:
                problems.append((str(p), exc.one_line()))
            bar.update(1)
    return UsesReport(target, tuple(uses), scanned, tuple(problems))


__all__ = ["SERVES", "Target", "Use", "UsesReport", "find_uses", "parse_target", "relevance"]
