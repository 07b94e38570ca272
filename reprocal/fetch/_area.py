"""What a file area of a mirror holds (a canned-response area, ``extras/responses/``): every
file name below a local directory, or below an HTTP directory index page (what Apache, nginx and
Python's ``http.server`` answer for a directory), subdirectories included. The listing of a
mirror's constituents is :mod:`reprocal.fetch._listing`; pages are read by its bounded reader.

Used to choose a canned response matrix from a mirror's ``extras/responses/`` without copying
the area. An index page is read within the ``document-size`` limit; only links that name a file
or a subdirectory below the page are followed (no scheme, no ``/`` first, no ``..``, no query),
subdirectories to :data:`MAX_DEPTH` levels and at most :data:`MAX_NAMES` names in all, so a
hostile page can neither send the listing elsewhere nor make it endless.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

from reprocal.errors import InputError, NetworkError
from reprocal.fetch._mirrors import Mirror

MAX_DEPTH = 3
"""Subdirectory levels a listing descends."""
MAX_NAMES = 100_000
"""File names one listing may hold."""


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag.lower() == "a":
            for key, value in attrs:
                if key.lower() == "href" and value:
                    self.hrefs.append(value)


def links(page: str) -> tuple[list[str], list[str]]:
    """(file names, subdirectory names) an index page links to, below itself only.

    >>> links('<a href="../">..</a><a href="PN/">PN/</a><a href="a.rmf">a</a>'
    ...       '<a href="?C=M">sort</a><a href="/etc/">x</a><a href="http://e.org/b">b</a>')
    (['a.rmf'], ['PN'])
    """
    parser = _Links()
    parser.feed(page)
    files: list[str] = []
    dirs: list[str] = []
    for href in parser.hrefs:
        if "://" in href or href.startswith(("/", "?", "#")) or "?" in href or "#" in href:
            continue
        name = urllib.parse.unquote(href)
        is_dir = name.endswith("/")
        name = name.rstrip("/")
        if not name or "/" in name or name in (".", "..") or name.startswith(".") \
                or "\\" in name or "\x00" in name:
            continue
        (dirs if is_dir else files).append(name)
    return sorted(set(files)), sorted(set(dirs))


def _page(url: str) -> str:
    from reprocal.fetch._listing import _get_page
    from reprocal.fetch._transports import RetryPolicy

    status, body = _get_page(url, RetryPolicy.of(), time.sleep)
    if status in (401, 403, 404, 410):
        raise InputError(f"{url}: HTTP {status}: no such directory on the mirror")
    if status != 200:
        raise NetworkError(f"{url}: HTTP {status} for a directory listing")
    return body.decode("utf-8", errors="replace")


def list_area(mirror: Mirror) -> list[str]:
    """Every file below ``mirror`` (relative, ``/``-separated, sorted), hidden names left out."""
    if mirror.kind == "file":
        return _list_directory(Path(mirror.base))
    if mirror.kind != "http":
        raise InputError(f"{mirror}: listing an rsync mirror is not supported here",
                         hint="give its http(s) URL or a local copy of the directory")
    out: list[str] = []
    todo = [("", 0)]
    while todo:
        rel, depth = todo.pop(0)
        files, dirs = links(_page(mirror.base + urllib.parse.quote(rel)))
        out += [rel + f for f in files]
        if len(out) > MAX_NAMES:
            raise NetworkError(f"{mirror}: the listing holds more than {MAX_NAMES} names")
        if depth + 1 < MAX_DEPTH:
            todo += [(f"{rel}{d}/", depth + 1) for d in dirs]
    return sorted(out)


def _list_directory(root: Path) -> list[str]:
    if not root.is_dir():
        raise InputError(f"{root}: not a directory")
    out = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = Path(here).relative_to(root).as_posix()
        for name in files:
            if not name.startswith("."):
                out.append(name if rel == "." else f"{rel}/{name}")
        if len(out) > MAX_NAMES:
            raise InputError(f"{root}: more than {MAX_NAMES} files")
    return sorted(out)


__all__ = ["MAX_DEPTH", "MAX_NAMES", "links", "list_area"]
