"""Constituent names: ``SCOPE_TYPEID_ISSUE.CCF``.

Names are case-insensitive; the canonical form is upper case with the issue zero-padded to four
digits. Anything else (a path separator, ``..``, a missing part) is refused before any file is
touched, so a name taken from a manifest or a mirror listing is safe to join to a directory.

>>> ConstituentName.parse("epn_quantumef_0017.ccf")
ConstituentName(scope='EPN', typeid='QUANTUMEF', issue=17)
>>> ConstituentName("EMOS1", "ADUCONV", 79).filename
'EMOS1_ADUCONV_0079.CCF'
>>> ConstituentName.parse("XMM_MISCDATA_0022.CCF").key
('XMM', 'MISCDATA')
"""

from __future__ import annotations

import functools
import re

import attrs

from reprocal.errors import ConstituentNameError, InputError

SCOPES: tuple[str, ...] = (
    "XMM", "OM", "XRT1", "XRT2", "XRT3", "EMOS1", "EMOS2", "EPN", "RGS1", "RGS2", "ERM",
)
"""The calibration scopes; ``XMM`` holds files shared by instruments."""

INSTRUMENT_OF_SCOPE: dict[str, str] = {
    "XMM": "spacecraft (shared)", "OM": "OM", "XRT1": "mirrors", "XRT2": "mirrors",
    "XRT3": "mirrors", "EMOS1": "EPIC-MOS", "EMOS2": "EPIC-MOS", "EPN": "EPIC-pn",
    "RGS1": "RGS", "RGS2": "RGS", "ERM": "EPIC radiation monitor",
}

MAX_TYPEID = 17
MAX_ISSUE = 9999

# SCOPE and TYPEID are separated by the first '_' after a known scope: TYPEIDs may hold '_'?
# None of the real ones do, so the grammar is the strict three-part one.
_NAME_RE = re.compile(r"^(?P<scope>[A-Z0-9]{1,5})_(?P<typeid>[A-Z0-9]{1,17})_(?P<issue>[0-9]{4})\.CCF\Z")
_TYPEID_RE = re.compile(r"^[A-Z0-9]{1,17}\Z")


def _scope(value: str) -> str:
    scope = value.strip().upper()
    if scope not in SCOPES:
        raise ConstituentNameError(
            f"unknown calibration scope {value!r}; expected one of {', '.join(SCOPES)}"
        )
    return scope


def _typeid(value: str) -> str:
    typeid = value.strip().upper()
    if not _TYPEID_RE.match(typeid):
        raise ConstituentNameError(
            f"calibration type {value!r} is not 1-{MAX_TYPEID} letters or digits"
        )
    return typeid


def _issue(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ISSUE:
        raise ConstituentNameError(f"issue {value!r} is not an integer in 0..{MAX_ISSUE}")
    return value


@attrs.frozen(order=True, cache_hash=True)
class ConstituentName:
    """The identity of a constituent file: scope, calibration type and issue."""

    scope: str = attrs.field(converter=_scope)
    """Calibration scope, e.g. ``EPN`` (upper case, one of :data:`SCOPES`)."""
    typeid: str = attrs.field(converter=_typeid)
    """Calibration type, e.g. ``QUANTUMEF``."""
    issue: int = attrs.field(validator=lambda _s, _a, v: _issue(v))
    """Issue number, 0..9999; the selection rule prefers the highest."""

    @classmethod
    def parse(cls, name: str) -> ConstituentName:
        """Parse a bare file name; refuse anything that is not exactly the grammar."""
        if not isinstance(name, str):
            raise ConstituentNameError(f"constituent name must be a string, got {name!r}")
        if "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
            raise ConstituentNameError(
                f"{name!r} is not a bare constituent file name (it holds a path)"
            )
        m = _match(name)
        if not m:
            raise ConstituentNameError(
                f"{name!r} is not a constituent name; expected SCOPE_TYPEID_NNNN.CCF "
                "(e.g. EPN_QUANTUMEF_0017.CCF)"
            )
        return cls(m["scope"], m["typeid"], int(m["issue"]))

    @functools.cached_property  # asked for hundreds of thousands of times by pin --obs-list
    def filename(self) -> str:
        """Canonical file name, e.g. ``EPN_QUANTUMEF_0017.CCF``."""
        return f"{self.scope}_{self.typeid}_{self.issue:04d}.CCF"

    @functools.cached_property  # a dictionary key of every selection and newer-issue check
    def key(self) -> tuple[str, str]:
        """``(scope, typeid)``: the selection rule picks one issue per key."""
        return (self.scope, self.typeid)

    def __str__(self) -> str:
        return self.filename


def canonical_filename(name: str) -> str | None:
    """The canonical form of a bare file name, or ``None`` when it is not a constituent name:
    :meth:`ConstituentName.parse` without building the name (a repository walk asks this of
    every file it lists).

    >>> canonical_filename("epn_quantumef_0017.ccf")
    'EPN_QUANTUMEF_0017.CCF'
    >>> canonical_filename("EPN/../X_0001.CCF") is None
    True
    """
    m = _match(name) if isinstance(name, str) else None
    return m[0] if m is not None and m["scope"] in SCOPES else None


def _match(name: str) -> re.Match[str] | None:
    """The grammar's match of ``name`` in upper case; ASCII only: ``"ı".upper()`` is ``I`` and
    ``"٠٠٠١"`` is four digits to ``int()``, so such a name would stand for another file's."""
    return _NAME_RE.match(name.upper()) if name.isascii() else None


def is_constituent_name(name: str) -> bool:
    """True when ``name`` follows the grammar (no exception)."""
    try:
        ConstituentName.parse(name)
    except ConstituentNameError:
        return False
    return True


_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


def check_label(value: object, *, field: str = "label") -> str:
    """An observation or set label: 1-64 letters, digits, ``.``, ``_`` or ``-``, starting with a
    letter or digit (so never ``.``, ``..``, hidden or option-like). Labels become path
    components (``OUT/<label>/ccf.cif``), so this is checked wherever one enters.

    >>> check_label("0201901401")
    '0201901401'
    >>> check_label("..")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    reprocal.errors.InputError: label: '..' is not a label; use 1-64 letters, digits, ...
    """
    if not isinstance(value, str) or not _LABEL_RE.match(value):
        raise InputError(f"{field}: {value!r} is not a label; use 1-64 letters, digits, '.', "
                         "'_' or '-', starting with a letter or digit")
    return value


def check_relative_path(value: object, *, field: str = "path") -> str:
    """A relative ``/``-separated path inside a calibration set: no empty, ``.`` or ``..``
    component, not absolute, no backslash or NUL, at most 1024 characters.

    >>> check_relative_path("esas/caldb/mos1-fwc.fits")
    'esas/caldb/mos1-fwc.fits'
    """
    ok = (isinstance(value, str) and 0 < len(value) <= 1024 and "\\" not in value
          and "\x00" not in value and not value.startswith("/")
          and all(part not in ("", ".", "..") for part in value.split("/")))
    if not ok:
        raise InputError(f"{field}: {value!r} is not a relative path inside the set (no '..', "
                         "no leading '/', no empty parts)")
    return value  # type: ignore[return-value]
