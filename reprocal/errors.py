"""One exception hierarchy for reprocal.

Every error says what was wrong (naming the file, field or line), and what to do next. The CLI
maps each class to an exit code (see :data:`EXIT_CODES` and the README's table) and prints the
message on one line, never a traceback.

Exit codes:

==== =====================================================================================
0    success
1    a check failed: verify found problems, a fetch left files missing, an audit disagreed
2    bad input or usage: malformed date, name, manifest, FITS file, ODF summary, option
3    repository problem: empty or missing repository, duplicate constituents
4    incomplete calibration state: a newer eligible issue is known but its file is missing
5    network or mirror failure that is not about one file (no mirror reachable)
6    an external component is unavailable (Docker daemon, rsync binary, registry)
7    the local file system refused: disk full, read-only, permission denied, a file in the way
130  interrupted (Ctrl-C)
==== =====================================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType


class ReprocalError(Exception):
    """Base class. ``exit_code`` is what the CLI returns for this error."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None,
                 path: str | os.PathLike[str] | None = None):
        self.message = message
        self.hint = hint
        self.path = os.fspath(path) if path is not None else None
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message on one line: ``[path: ]message[ (hint)]``."""
        text = self.message
        if self.path and not text.startswith(self.path):
            text = f"{self.path}: {text}"
        if self.hint:
            text = f"{text}; {self.hint}"
        return " ".join(text.split())


# --- bad input (exit 2) ---------------------------------------------------------------------


class InputError(ReprocalError):
    """Something the user gave us is malformed."""

    exit_code = 2


class DateError(InputError, ValueError):
    """A date is not ``YYYY-MM-DD[Thh:mm:ss]`` (or ``now`` where allowed)."""


class ConstituentNameError(InputError, ValueError):
    """A constituent name does not follow ``SCOPE_TYPEID_ISSUE.CCF``."""


class FitsFormatError(InputError):
    """A FITS file is unreadable, or lacks the HDU/columns/keywords we need."""


class OdfError(InputError):
    """An ODF summary is missing, truncated or malformed."""


class ManifestError(InputError):
    """A manifest is malformed, fails its schema, or its calibration id does not match."""


class RecordError(InputError):
    """A provenance record or bundle is malformed."""


# --- check failures (exit 1) ----------------------------------------------------------------


class CheckFailed(ReprocalError):
    """A check ran and found problems (the report says which)."""

    exit_code = 1


class HashMismatchError(CheckFailed):
    """Bytes do not match the pinned size or sha256. Distinct from a network failure."""

    def __init__(self, path: str | os.PathLike[str], *, expected: str, actual: str,
                 what: str = "sha256"):
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{what} mismatch: expected {expected}, got {actual}",
            path=path,
            hint="the file is corrupt or a different issue; fetch it again",
        )


# --- repository (exit 3) --------------------------------------------------------------------


class RepositoryError(ReprocalError):
    """The calibration repository is empty, missing or inconsistent."""

    exit_code = 3


class DuplicateConstituentError(RepositoryError):
    """One (scope, type, issue) is present at two paths: we never pick one silently."""


# --- incomplete state (exit 4) --------------------------------------------------------------


class IncompleteStateError(ReprocalError):
    """A newer eligible issue is known (catalogue or master index) but its file is missing."""

    exit_code = 4

    def __init__(self, message: str, *, gaps: tuple[str, ...] = (), hint: str | None = None):
        self.gaps = gaps
        super().__init__(message, hint=hint)


# --- network (exit 5) -----------------------------------------------------------------------


class NetworkError(ReprocalError):
    """A mirror could not be reached or answered with an error."""

    exit_code = 5


# --- components (exit 6) --------------------------------------------------------------------


class ComponentUnavailable(ReprocalError):
    """An external program or daemon we need is not there (docker, rsync, registry)."""

    exit_code = 6


# --- local file system (exit 7) ---------------------------------------------------------------


class LocalIOError(ReprocalError):
    """The local file system refused an operation (disk full, read-only file system, permission
    denied, a file where a directory must be): not the input's fault, not the network's."""

    exit_code = 7

    @classmethod
    def of(cls, exc: OSError, path: str | os.PathLike[str] | None = None, *,
           doing: str = "") -> LocalIOError:
        """The one-line error for ``exc``, naming its path (or ``path``) and what to do."""
        where = path if path is not None else (exc.filename or None)
        reason = exc.strerror or str(exc) or type(exc).__name__
        return cls(f"{doing + ': ' if doing else ''}{reason}", path=where,
                   hint=_OS_HINTS.get(exc.errno or 0, "check the path and its permissions"))


_OS_HINTS = {
    28: "free some space (or point the output elsewhere) and run again",  # ENOSPC
    122: "free some space within your quota and run again",  # EDQUOT
    30: "the file system is read-only; give a writable place",  # EROFS
    13: "check the permissions of the path, or give another",  # EACCES
    1: "check the permissions of the path, or give another",  # EPERM
    17: "a file is in the way; move it or give another path",  # EEXIST
    20: "a file stands where a directory is needed; move it or give another path",  # ENOTDIR
    21: "a directory stands where a file is needed; give another path",  # EISDIR
    5: "the device reported an I/O error; check the disk",  # EIO
}


# --- notices (not errors) -------------------------------------------------------------------


class ReprocalNotice(UserWarning):
    """Something a user should know that is not an error (issued with :func:`warnings.warn`; the
    CLI prints it as one ``reprocal: note:`` line on stderr)."""


class ReprocalWarning(UserWarning):
    """Something a user should act on that does not stop the work: an analysis date before the
    observation, a newer eligible issue missing (issued with :func:`warnings.warn`; the CLI
    prints it as one ``reprocal: warning:`` line on stderr)."""


# --- naming what the user gave ----------------------------------------------------------------


def given(spelled: str, metavar: str | None = None) -> str:
    """How to give a value under the name ``spelled``: an option (``--ccf-path DIR``) or a
    parameter (``ccf_path=DIR``); a flag (no ``metavar``) is ``--allow-incomplete`` or
    ``allow_incomplete=True``.

    >>> given("--ccf-path", "DIR"), given("ccf_path", "DIR"), given("allow_incomplete")
    ('--ccf-path DIR', 'ccf_path=DIR', 'allow_incomplete=True')
    """
    if spelled.startswith("-"):
        return spelled if metavar is None else f"{spelled} {metavar}"
    return f"{spelled}={'True' if metavar is None else metavar}"


class Names:
    """How error messages spell the parameters of a call.

    Whoever raises an error about a value is told by its caller what the value is called: the
    functions of :mod:`reprocal.api` take a ``Names`` (default :data:`PARAMETERS`: each
    parameter is its own name, ``analysis_date: ...``); the CLI passes the spellings of its
    options (``--analysis-date: ...``), read from the click command so they cannot drift.
    Functions that take one value take its name as one string (``field=``, ``option=``).

    >>> Names()("analysis_date"), Names({"analysis_date": "--analysis-date"})("analysis_date")
    ('analysis_date', '--analysis-date')
    >>> Names({"output": "-o"}).given("output", "MANIFEST"), PARAMETERS.given("output", "MANIFEST")
    ('-o MANIFEST', 'output=MANIFEST')
    """

    def __init__(self, spellings: Mapping[str, str] | None = None):
        self.spellings: Mapping[str, str] = MappingProxyType(dict(spellings or {}))
        """Parameter -> how it is spelt; a parameter not listed is spelt as itself."""

    def __call__(self, param: str) -> str:
        return self.spellings.get(param, param)

    def given(self, param: str, metavar: str | None = None) -> str:
        """How to give ``param`` (see :func:`given`)."""
        return given(self(param), metavar)

    def __repr__(self) -> str:
        return f"Names({dict(self.spellings)!r})"


PARAMETERS = Names()
"""The API's own spelling: each parameter by its Python name."""


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "a check failed (verify, fetch, audit found problems)",
    2: "bad input or usage",
    3: "repository problem (empty, missing, duplicates)",
    4: "incomplete calibration state (newer eligible issue missing)",
    5: "network or mirror failure",
    6: "external component unavailable (docker, rsync, registry)",
    7: "local file system error (disk full, read-only, permission denied)",
    130: "interrupted",
}
