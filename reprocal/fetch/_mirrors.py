"""Mirrors of the CCF archive and the transports that read one file from them.

A mirror is given as a string and parsed once, here, into a :class:`Mirror`:

==========================================  ==========  ==========================================
value                                       kind        file ``F`` is read from
==========================================  ==========  ==========================================
``https://host/path/`` (or ``http://``)     ``http``    ``https://host/path/F``
``/srv/ccf``, ``./ccf``, ``file:///srv``    ``file``    the local file ``/srv/ccf/F``
``rsync://host[:port]/module/path/``        ``rsync``   ``rsync://host[:port]/module/path/F``
``host::module/path``                       ``rsync``   ``host::module/path/F``
==========================================  ==========  ==========================================

Which mirrors are used (first match wins, each a list tried in order, file by file):

1. ``--mirror`` options, when any is given;
2. the ``REPROCAL_MIRRORS`` environment variable (separated by whitespace or commas);
3. the file ``$XDG_CONFIG_HOME/reprocal/mirrors.txt`` (``~/.config/...``), one mirror a line,
   ``#`` starts a comment;
4. :data:`DEFAULT_MIRRORS`: ESA's constituents directory, then the HEASARC mirror.

Reading files from a mirror is :mod:`reprocal.fetch._transports`' job.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import attrs

from reprocal.errors import InputError

MirrorKind = Literal["http", "file", "rsync"]

DEFAULT_MIRRORS: tuple[str, ...] = (
    "https://sasdev-xmm.esac.esa.int/pub/ccf/constituents/",
    "https://heasarc.gsfc.nasa.gov/FTP/xmm/data/CCF/",
)
"""ESA's full constituents archive, then the HEASARC mirror."""

ENV_VAR = "REPROCAL_MIRRORS"

class InvalidMirrorError(InputError):
    """A ``--mirror`` value (or a line of the config file) is not a mirror we can read."""


# --- mirror specs ------------------------------------------------------------------------------

_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\Z|^\[[0-9A-Fa-f:.]+\]\Z")
_SEGMENT = r"(?!\.\.?(?:/|$))[A-Za-z0-9._+-]+"  # a plain path segment, never . or ..
_MODULE_PATH_RE = re.compile(rf"^{_SEGMENT}(/{_SEGMENT})*/?\Z")


@attrs.frozen
class Mirror:
    """Where constituents can be read from: one parsed ``--mirror`` value."""

    kind: MirrorKind
    """``http`` (also https), ``file`` (a local directory) or ``rsync``."""
    base: str
    """Base URL or source, ending with ``/`` (rsync, http) or an absolute directory (file)."""

    def url(self, filename: str) -> str:
        """Where ``filename`` (already validated) lives on this mirror."""
        if self.kind == "file":
            return str(Path(self.base) / filename)
        if self.kind == "http":
            return self.base + urllib.parse.quote(filename)
        return self.base + filename

    def under(self, rel: str) -> Mirror:
        """The mirror of the directory ``rel`` (already validated, ``/``-separated) below this
        one: where a mirror keeps an extra set (``extras/responses/``)."""
        rel = rel.strip("/")
        if self.kind == "file":
            return Mirror("file", str(Path(self.base) / rel))
        if self.kind == "http":
            return Mirror("http", self.base + urllib.parse.quote(rel) + "/")
        return Mirror("rsync", self.base + rel + "/")

    def __str__(self) -> str:
        return self.base


def parse_mirror(value: str, *, where: str = "--mirror") -> Mirror:
    """Parse one mirror value; refuse anything we could not read from, naming ``where``.

    >>> parse_mirror("https://example.org/ccf")
    Mirror(kind='http', base='https://example.org/ccf/')
    >>> parse_mirror("mirror.example.org::XMM_CCF")
    Mirror(kind='rsync', base='mirror.example.org::XMM_CCF/')
    """
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidMirrorError(f"{where}: empty mirror", hint="give a URL or a directory")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidMirrorError(f"{where}: mirror {value!r} contains control characters")
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if (scheme or "::" in text) and any(c.isspace() for c in text):
        raise InvalidMirrorError(f"{where}: mirror {value!r} contains spaces or control characters")
    if scheme in _URL_PARSERS:
        return _URL_PARSERS[scheme](_split(text, value, where), value, where)
    if scheme:
        raise InvalidMirrorError(f"{where}: mirror {value!r} has unsupported scheme {scheme!r}",
                                 hint="use http(s)://, file://, rsync://, host::module or a "
                                      "directory")
    if "::" in text:
        return _rsync_module(text, value, where)
    return _directory(text, value, where)


def _http_url(parts: urllib.parse.SplitResult, value: str, where: str) -> Mirror:
    _check_port(parts, value, where)
    if not _valid_host(parts):
        raise InvalidMirrorError(f"{where}: mirror {value!r} has no valid host name")
    if parts.query or parts.fragment:
        raise InvalidMirrorError(f"{where}: mirror {value!r} must be a base URL without ?query "
                                 "or #fragment")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return Mirror("http", urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc, path, "", "")))


def _file_url(parts: urllib.parse.SplitResult, value: str, where: str) -> Mirror:
    if parts.netloc not in ("", "localhost"):
        raise InvalidMirrorError(f"{where}: file URL {value!r} names a remote host; "
                                 "use file:///absolute/path")
    return _directory(urllib.parse.unquote(parts.path), value, where)


def _rsync_url(parts: urllib.parse.SplitResult, value: str, where: str) -> Mirror:
    _check_port(parts, value, where)
    module = parts.path.lstrip("/")
    if not _valid_host(parts) or not _MODULE_PATH_RE.match(module):
        raise InvalidMirrorError(f"{where}: rsync mirror {value!r} is not "
                                 "rsync://host[:port]/module[/path]/")
    return Mirror("rsync", f"rsync://{parts.netloc}/{module.rstrip('/')}/")


def _rsync_module(text: str, value: str, where: str) -> Mirror:
    """``host::module/path``: an rsync daemon's module, without a URL scheme."""
    host, _, module = text.partition("::")
    if not _HOST_RE.match(host) or not _MODULE_PATH_RE.match(module):
        raise InvalidMirrorError(f"{where}: rsync mirror {value!r} is not host::module[/path]")
    return Mirror("rsync", f"{host}::{module.rstrip('/')}/")


_URL_PARSERS = {"http": _http_url, "https": _http_url, "file": _file_url, "rsync": _rsync_url}
"""The URL schemes a mirror may have, each with the parser of its split URL."""


def _check_port(parts: urllib.parse.SplitResult, value: str, where: str) -> None:
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidMirrorError(f"{where}: mirror {value!r} has a bad port") from None


def _valid_host(parts: urllib.parse.SplitResult) -> bool:
    return bool(parts.hostname) and bool(_HOST_RE.match(_bracket(parts.hostname or "")))


def _split(text: str, value: str, where: str) -> urllib.parse.SplitResult:
    try:
        return urllib.parse.urlsplit(text)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise InvalidMirrorError(f"{where}: mirror {value!r} is not a valid URL ({exc})") from None


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _directory(path: str, value: str, where: str) -> Mirror:
    if not path:
        raise InvalidMirrorError(f"{where}: mirror {value!r} names no directory")
    try:
        directory = Path(path).expanduser().absolute()
    except RuntimeError:  # ~user for a user that does not exist
        raise InvalidMirrorError(f"{where}: mirror {value!r}: cannot expand "
                                 f"{path.split('/', 1)[0]!r} (no such user)") from None
    if not directory.is_dir():
        raise InvalidMirrorError(f"{where}: mirror directory {str(directory)!r} does not exist",
                                 hint="give an existing directory, or a http(s)/rsync URL")
    return Mirror("file", str(directory))


def config_file(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/reprocal/mirrors.txt`` (default ``~/.config/reprocal/mirrors.txt``)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "reprocal" / "mirrors.txt"


def configured_mirrors(options: Iterable[str] = (), *, env: Mapping[str, str] | None = None,
                       config: Path | None = None, option: str = "--mirror") -> tuple[Mirror, ...]:
    """The mirrors to use by the precedence in the module docstring: options, env, file, default.

    ``option`` is what ``options`` were given as, for error messages (the API passes its
    parameter's name, the CLI ``--mirror``)."""
    env = os.environ if env is None else env
    options = tuple(options)
    if options:
        return tuple(parse_mirror(v, where=option) for v in options)
    if env.get(ENV_VAR, "").strip():
        values = [v for v in re.split(r"[\s,]+", env[ENV_VAR]) if v]
        return tuple(parse_mirror(v, where=f"${ENV_VAR}") for v in values)
    path = config_file(env) if config is None else config
    if path.exists():  # a FIFO or a huge file there is refused, never read for ever
        from reprocal.fs._inputs import read_input
        from reprocal.fs._limits import current_limits

        text = read_input(path, limit=current_limits().document_size, what="mirror list",
                          error=InvalidMirrorError, name="document-size").decode("utf-8",
                                                                                 "replace")
        mirrors = []
        for number, line in enumerate(text.splitlines(), 1):
            value = line.split("#", 1)[0].strip()
            if value:
                mirrors.append(parse_mirror(value, where=f"{path}:{number}"))
        if mirrors:
            return tuple(mirrors)
    return tuple(parse_mirror(v, where="default mirror") for v in DEFAULT_MIRRORS)
