"""What a mirror holds: its listing, read one of four ways, as names, sizes and dates.

======================  ==========================================================================
mirror                  listing
======================  ==========================================================================
``rsync://``, ``::``    ``rsync --list-only`` of the module directory (``TZ=UTC``, no recursion)
``http(s)://``          the directory index page the server writes: Apache's ``mod_autoindex``
                        (``<pre>`` or ``HTMLTable``, sizes rounded: ``23K``) or nginx's
                        ``autoindex`` (exact sizes by default)
a directory             its files, by the repository walker (:mod:`reprocal.repo._walk`)
a master index          its rows (``FSIZE``; a size of 0 means unknown), for a mirror that serves
                        no index page (``--master-index``)
======================  ==========================================================================

Only canonical constituent names are entries (``SCOPE_TYPEID_NNNN.CCF``, which is how the
archive spells them); anything else a listing shows (sub-directories, the parent link, sort
links, other files, a name in another case) is counted and ignored, never followed. A name that
is a path, a URL, a query or contains ``..`` is never an entry. A size is exact or ``None``
(Apache rounds sizes: ``23K`` tells nothing byte-exact); a date is kept as the listing wrote it,
for comparing one listing of a mirror with the next.

Every read is bounded: the index page and rsync's output within ``document-size``, the
connection within ``connect-timeout``/``read-timeout``; a mirror that cannot be reached is a
:class:`~reprocal.errors.NetworkError` (exit 5).
"""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import attrs

from reprocal.core._constituent import Constituent
from reprocal.core._names import ConstituentName
from reprocal.errors import ComponentUnavailable, InputError, NetworkError
from reprocal.fetch._mirrors import Mirror
from reprocal.fetch._transports import (
    RetryPolicy,
    _kill_rsync,
    _no_connection,
    _short,
    _start_rsync,
)
from reprocal.fs._limits import current_limits

ListingKind = Literal["rsync", "http-index", "directory", "master-index"]


@attrs.frozen
class Entry:
    """One constituent a mirror lists."""

    name: str
    """Canonical file name (the mirror spells it so)."""
    size: int | None
    """Exact size in bytes; ``None`` when the listing gives none or only a rounded one."""
    mtime: str | None = None
    """The date the listing shows, as it wrote it (``None``: none)."""
    shown_size: str | None = None
    """The size as the listing wrote it, when it is not exact (``23K``)."""


@attrs.frozen
class Listing:
    """A mirror's listing: its constituents, sorted by name."""

    mirror: Mirror
    kind: ListingKind
    source: str
    """What was read: the URL, the rsync source, the directory or the master index file."""
    entries: tuple[Entry, ...]
    ignored: int = 0
    """Names shown that are not canonical constituent names (ignored)."""
    duplicates: tuple[str, ...] = ()
    """Names shown twice (the first is kept)."""

    def by_name(self) -> dict[str, Entry]:
        return {e.name: e for e in self.entries}

    @property
    def names(self) -> frozenset[str]:
        return frozenset(e.name for e in self.entries)


def canonical(name: str) -> str | None:
    """``name`` when it is a canonical constituent name, else ``None`` (pure).

    >>> canonical("EPN_CTI_0001.CCF"), canonical("epn_cti_0001.ccf"), canonical("../x.CCF")
    ('EPN_CTI_0001.CCF', None, None)
    """
    if not name or "/" in name or "\\" in name:
        return None
    try:
        parsed = ConstituentName.parse(name).filename
    except InputError:
        return None
    return parsed if parsed == name else None


def _collect(mirror: Mirror, kind: ListingKind, source: str,
             rows: Iterable[tuple[str, int | None, str | None, str | None]]) -> Listing:
    entries: dict[str, Entry] = {}
    ignored, dups = 0, []
    for name, size, mtime, shown in rows:
        c = canonical(name)
        if c is None:
            ignored += 1
        elif c in entries:
            dups.append(c)
        else:
            entries[c] = Entry(c, size, mtime, shown)
    return Listing(mirror, kind, source, tuple(entries[n] for n in sorted(entries)), ignored,
                   tuple(sorted(set(dups))))


# --- rsync --list-only ------------------------------------------------------------------------

_RSYNC_LINE = re.compile(r"^(?P<mode>[-dlpscb][-rwxsStT]{9})\s+(?P<size>[\d,.]+)\s+"
                         r"(?P<date>\d{4}/\d{2}/\d{2})\s+(?P<time>\d{2}:\d{2}:\d{2})\s(?P<name>.+)\Z")


def parse_rsync(text: str) -> list[tuple[str, int | None, str | None, str | None]]:
    """Rows of ``rsync --list-only`` output: regular files only (pure).

    >>> parse_rsync("-rw-r--r--         23,040 2014/04/12 06:00:05 RGS1_X_0009.CCF\\n"
    ...             "drwxr-xr-x          4,096 2014/04/12 06:00:05 sub\\n")
    [('RGS1_X_0009.CCF', 23040, '2014-04-12T06:00:05', None)]
    """
    out: list[tuple[str, int | None, str | None, str | None]] = []
    for line in text.splitlines():
        m = _RSYNC_LINE.match(line)
        if m is None or m["mode"][0] != "-":
            continue
        digits = m["size"].replace(",", "").replace(".", "")
        size = int(digits) if digits.isdigit() and len(digits) <= 19 else None
        out.append((m["name"], size, f"{m['date'].replace('/', '-')}T{m['time']}", None))
    return out


_RSYNC_UNREACHABLE = ("Connection refused", "Name or service not known", "No route to host",
                      "Temporary failure in name resolution", "failed to connect",
                      "Network is unreachable", "timed out")


def list_rsync(mirror: Mirror, policy: RetryPolicy, *, binary: str | None = None) -> Listing:
    found = binary or shutil.which("rsync")
    if not found:
        raise ComponentUnavailable("the rsync program is not installed, so an rsync mirror "
                                   "cannot be listed",
                                   hint="install rsync (apt-get install rsync) or use an "
                                        "http(s) mirror")
    cmd = [found, "--no-motd", "--list-only", "--no-h", f"--timeout={int(policy.read_timeout)}",
           f"--contimeout={int(policy.connect_timeout)}", mirror.base]
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    code, out, err = _bounded_run(cmd, env, limit=current_limits().document_size,
                                  deadline=policy.deadline)
    if code != 0:
        why = " ".join(err.split())[:300] or f"rsync exited with {code}"
        if code == -1:
            raise NetworkError(f"listing {mirror.base}: {why}", hint="check the mirror")
        unreachable = any(s in err for s in _RSYNC_UNREACHABLE)
        raise NetworkError(f"cannot list {mirror.base}: {why}",
                           hint="check the network connection and the mirror" if unreachable
                           else "check the rsync module and path")
    return _collect(mirror, "rsync", mirror.base, parse_rsync(out))


def _bounded_run(cmd: Sequence[str], env: dict[str, str], *, limit: int, deadline: float
                 ) -> tuple[int, str, str]:
    """Run ``cmd``; its output is cut (and the process killed, code -1) past ``limit`` bytes
    or ``deadline`` seconds."""
    proc = _start_rsync(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    started = time.monotonic()
    chunks: list[bytes] = []
    got = 0
    try:
        while chunk := proc.stdout.read1(1 << 16):  # type: ignore[attr-defined]
            got += len(chunk)
            if got > limit or time.monotonic() - started > deadline:
                _kill_rsync(proc)
                proc.wait()
                what = (f"more than {limit} bytes of listing (--limit document-size)"
                        if got > limit else f"past {deadline:g} s (--limit file-deadline)")
                return -1, "", f"the rsync listing was cut: {what}"
            chunks.append(chunk)
        err = proc.stderr.read(1 << 16)
        code = proc.wait()
    except BaseException:
        _kill_rsync(proc)
        proc.wait()
        raise
    finally:
        proc.stdout.close()
        proc.stderr.close()
    return code, b"".join(chunks).decode("utf-8", "replace"), err.decode("utf-8", "replace")


# --- HTTP directory index pages ----------------------------------------------------------------

_DATE = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?|"
                   r"\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}(?::\d{2})?)\s+(?P<size>\S+)")
_SIZE_EXACT = re.compile(r"^\d{1,19}\Z")
_SIZE_SHOWN = re.compile(r"^\d+(?:\.\d+)?[KMGTP]i?B?\Z|^-\Z", re.IGNORECASE)


class _Anchors(html.parser.HTMLParser):
    """``(href, text after the link up to the next one)`` of every ``<a href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs_: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs_).get("href")
            if href is not None:
                self.links.append((href, []))
        elif tag in ("tr", "br") and self.links:
            self.links[-1][1].append("\n")

    def handle_data(self, data: str) -> None:
        if self.links:
            self.links[-1][1].append(data)


def _href_name(href: str) -> str | None:
    """The file name a relative link names, or ``None`` (absolute, a query, a directory)."""
    parts = urllib.parse.urlsplit(href)
    if parts.scheme or parts.netloc or parts.query or parts.fragment:
        return None
    path = urllib.parse.unquote(parts.path)
    path = path[2:] if path.startswith("./") else path
    if not path or "/" in path:
        return None
    return path


def parse_index(page: str) -> list[tuple[str, int | None, str | None, str | None]]:
    """Rows of an Apache or nginx directory index page (pure).

    The name comes from the link (never its text, which nginx truncates); the date and size
    from the text after it, on the same line or table row.

    >>> parse_index('<a href="EPN_CTI_0001.CCF">EPN_CTI_0001.CCF</a>  12-Apr-2014 06:00  23040')
    [('EPN_CTI_0001.CCF', 23040, '12-Apr-2014 06:00', None)]
    >>> parse_index('<td><a href="EPN_CTI_0001.CCF">E</a></td><td>2014-04-12 06:00 </td><td> 23K</td>')
    [('EPN_CTI_0001.CCF', None, '2014-04-12 06:00', '23K')]
    """
    parser = _Anchors()
    parser.feed(page)
    parser.close()
    out = []
    for href, texts in parser.links:
        name = _href_name(href)
        if name is None:
            continue
        after = " ".join(texts).split("\n")
        # the link's own text is first; the date and size follow on its line (or table row)
        line = after[0] if after else ""
        m = _DATE.search(line)
        size: int | None = None
        shown: str | None = None
        mtime: str | None = None
        if m is not None:
            mtime = " ".join(m["date"].split())
            token = m["size"]
            if _SIZE_EXACT.match(token):
                size = int(token)
            elif _SIZE_SHOWN.match(token):
                shown = token
        out.append((name, size, mtime, shown))
    return out


def _get_page(url: str, policy: RetryPolicy, sleep: Callable[[float], None]
              ) -> tuple[int, bytes]:
    """GET ``url`` within the limits: ``(status, body)``; transient failures retried."""
    import requests

    limit = current_limits().document_size
    last: Exception | None = None
    for attempt in range(policy.retries + 1):
        try:
            with requests.get(url, stream=True, timeout=(policy.connect_timeout,
                              policy.read_timeout), headers={"Accept-Encoding": "identity"},
                              allow_redirects=True) as r:
                if r.status_code == 429 or r.status_code >= 500:
                    raise _Transient(f"HTTP {r.status_code}")
                encoding = r.headers.get("Content-Encoding", "").strip().lower()
                if encoding not in ("", "identity"):
                    raise NetworkError(f"{url}: the index page came with Content-Encoding "
                                       f"{encoding!r} although asked not to",
                                       hint="use another mirror")
                body = bytearray()
                for chunk in r.raw.stream(1 << 16, decode_content=False):
                    body += chunk
                    if len(body) > limit:
                        raise NetworkError(f"{url}: the index page is larger than the limit of "
                                           f"{limit} bytes (--limit document-size)",
                                           hint="raise it if the mirror is genuine")
                return r.status_code, bytes(body)
        except requests.ConnectTimeout as exc:
            raise _unreachable(url, exc) from None
        except requests.ConnectionError as exc:
            if _no_connection(exc):
                raise _unreachable(url, exc) from None
            last = exc
        except requests.Timeout as exc:
            last = exc
        except _Transient as exc:
            last = exc
        if attempt < policy.retries:
            sleep(policy.pause(attempt))
    raise NetworkError(f"cannot list {url}: {last}", hint="check the network connection and "
                       "the mirror")


class _Transient(Exception):
    pass


def _unreachable(url: str, exc: Exception) -> NetworkError:
    return NetworkError(f"cannot reach {url}: {_short(exc)}",
                        hint="check the network connection, or give a reachable --mirror")


def list_http(mirror: Mirror, policy: RetryPolicy, *,
              sleep: Callable[[float], None] = time.sleep) -> Listing | None:
    """The mirror's directory index, or ``None`` when it serves none (404, 403, 401)."""
    status, body = _get_page(mirror.base, policy, sleep)
    if status in (401, 403, 404, 410):
        return None
    if status != 200:
        raise NetworkError(f"cannot list {mirror.base}: HTTP {status}", hint="check the mirror")
    page = body.decode("utf-8", "replace")
    return _collect(mirror, "http-index", mirror.base, parse_index(page))


# --- a directory; a master index -----------------------------------------------------------------


def list_directory(mirror: Mirror) -> Listing:
    from reprocal.repo._walk import list_files

    rows = []
    for f in list_files([mirror.base]):
        when = datetime.fromtimestamp(f.stat.mtime_ns / 1e9, timezone.utc)
        rows.append((f.path.name, f.stat.size, when.strftime("%Y-%m-%dT%H:%M:%S"), None))
    return _collect(mirror, "directory", mirror.base, rows)


def from_master_index(mirror: Mirror, rows: Sequence[Constituent], source: str) -> Listing:
    """A listing from a master index's rows (``FSIZE`` 0 or absent: size unknown)."""
    return _collect(mirror, "master-index", source,
                    ((c.filename, c.fsize or None, None, None) for c in rows))


def list_mirror(mirror: Mirror, *, policy: RetryPolicy | None = None,
                master_index: tuple[str, Sequence[Constituent]] | None = None,
                sleep: Callable[[float], None] = time.sleep) -> Listing:
    """The listing of ``mirror`` (see the module docstring). ``master_index``: ``(source,
    rows)`` to list from when the mirror serves no index page."""
    policy = policy or RetryPolicy.of()
    if mirror.kind == "rsync":
        return list_rsync(mirror, policy)
    if mirror.kind == "file":
        if not Path(mirror.base).is_dir():
            raise InputError(f"mirror directory {mirror.base} does not exist")
        return list_directory(mirror)
    listing = list_http(mirror, policy, sleep=sleep)
    if listing is not None:
        return listing
    if master_index is not None:
        return from_master_index(mirror, master_index[1], master_index[0])
    raise NetworkError(f"{mirror.base} serves no directory index, so what it holds is not known",
                       hint="give --master-index FILE (a master index of that mirror) to list it")


__all__ = ["Entry", "Listing", "ListingKind", "canonical", "from_master_index", "list_mirror",
           "parse_index", "parse_rsync"]
