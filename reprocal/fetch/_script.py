"""A plain POSIX ``sh`` script that fetches and checks pinned files, for machines without reprocal.

The script needs ``curl`` (or ``wget``), ``sha256sum`` and, for rsync mirrors, ``rsync``. For each
file it keeps one that already verifies, else downloads to ``DEST/.NAME.part`` from each mirror in
turn, checks it with ``sha256sum -c`` and only then renames it into place. It never deletes a
constituent. Usage: ``sh fetch.sh [DEST]`` (default: the current directory); exit 1 when a file
could not be fetched.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path

from reprocal._version import __version__
from reprocal.fetch._item import FetchItem, _unique
from reprocal.fetch._mirrors import Mirror
from reprocal.fs._atomic import atomic_write

_HEADER = r"""#!/bin/sh
# Fetch {count} pinned XMM-Newton calibration files and check their sha256.
# Written by reprocal {version}; needs curl or wget, and sha256sum.
# Usage: sh {name} [DEST]    (DEST defaults to the current directory)
set -u
DEST=${{1:-.}}
mkdir -p "$DEST" || exit 2

if command -v curl >/dev/null 2>&1; then
    http_get() {{ curl --fail --silent --show-error --location --retry 3 -o "$2" "$1"; }}
elif command -v wget >/dev/null 2>&1; then
    http_get() {{ wget --quiet --tries=3 -O "$2" "$1"; }}
else
    echo "fetch: need curl or wget" >&2
    exit 2
fi

# get SOURCE TMP: one download from one mirror (http(s) URL, rsync source or local file)
get() {{
    case "$1" in
        http://*|https://*) http_get "$1" "$2" ;;
        rsync://*|*::*) rsync -q --no-motd "$1" "$2" ;;
        *) cp "$1" "$2" ;;
    esac
}}

# verify SHA256 FILE ("-": no pin, so only "not empty" can be checked)
verify() {{
    if [ "$1" = "-" ]; then
        [ -s "$2" ]
        return
    fi
    printf '%s  %s\n' "$1" "$2" | sha256sum -c --status - 2>/dev/null
}}

# fetch_one NAME SHA256 SOURCE...
fetch_one() {{
    name=$1 sum=$2
    shift 2
    if [ -f "$DEST/$name" ] && verify "$sum" "$DEST/$name"; then
        echo "present $name"
        return 0
    fi
    tmp="$DEST/.$name.part"
    for src in "$@"; do
        rm -f "$tmp"
        if get "$src" "$tmp" && verify "$sum" "$tmp"; then
            mv -f "$tmp" "$DEST/$name" && echo "fetched $name" && return 0
        fi
        echo "fetch: $name: failed from $src" >&2
    done
    rm -f "$tmp"
    echo "FAILED $name" >&2
    return 1
}}

failed=0
"""


def script_text(items: Iterable[FetchItem], mirrors: Sequence[Mirror], *, name: str = "fetch.sh",
                version: str = "") -> str:
    """The script's text (pure): one ``fetch_one`` line per pinned file, mirrors in order."""
    items = _unique(items)
    lines = [_HEADER.format(count=len(items), version=version, name=name)]
    for item in items:
        sources = " ".join(shlex.quote(m.url(item.filename)) for m in mirrors)
        # file names are validated constituent names and hashes are hex: nothing to quote
        lines.append(f"fetch_one {item.filename} {item.sha256 or '-'} {sources} || failed=1\n")
    lines.append('exit "$failed"\n')
    return "".join(lines)


def write_script(items: Iterable[FetchItem], mirrors: Sequence[Mirror], path: Path | str) -> Path:
    """Write the script (temp file beside it, then rename), executable; return its path."""

    path = Path(path)
    text = script_text(items, mirrors, name=path.name, version=__version__)
    return atomic_write(path, text.encode("utf-8"), mode=0o755)
