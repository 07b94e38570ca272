"""A plain POSIX ``sh`` script that fetches and checks pinned files, for machines without reprocal.

The script needs ``curl`` (or ``wget``), ``sha256sum`` and, for rsync mirrors, ``rsync``. For each
file it keeps one that already verifies, else downloads to ``DEST/.NAME.part`` from each mirror in
turn, checks it with ``sha256sum -c`` and only then renames it into place. It never deletes a
constituent. Names follow reprocal's rule (:mod:`reprocal.repo._walk`): a file holding the name
in any case, with an extension cifbuild's glob reads (``.ccf`` or ``.CCF``), is the one checked
and replaced, so the script never adds an upper-case copy beside a lower-case one; a file holding
it with another case of extension (``.Ccf``, which cifbuild does not read) fails that name, as
:func:`reprocal.fetch._engine.fetch` does.

Usage: ``sh fetch.sh [DEST]`` (default: the current directory); exit 1 when a file could not be
fetched.
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

# fetch_one NAME BASE SHA256 SOURCE...: BASE is NAME without .CCF as a glob matching any case;
# a file holding the name that way (BASE.ccf or BASE.CCF) is checked and replaced in place; one
# whose extension is in another case (cifbuild does not read it) is left alone, never duplicated
fetch_one() {{
    name=$1 base=$2 sum=$3
    shift 3
    target="$DEST/$name"
    for f in "$DEST"/$base.CCF "$DEST"/$base.ccf; do
        if [ -f "$f" ]; then
            target=$f
            break
        fi
    done
    if [ ! -f "$target" ]; then
        for f in "$DEST"/$base.[Cc][Cc][Ff]; do
            if [ -f "$f" ]; then
                echo "fetch: $f holds $name in a case cifbuild's file glob does not match;" \
                     "rename it to $name" >&2
                echo "FAILED $name" >&2
                return 1
            fi
        done
    fi
    if [ -f "$target" ] && verify "$sum" "$target"; then
        echo "present $name"
        return 0
    fi
    tmp="$DEST/.$name.part"
    for src in "$@"; do
        rm -f "$tmp"
        if get "$src" "$tmp" && verify "$sum" "$tmp"; then
            mv -f "$tmp" "$target" && echo "fetched $name" && return 0
        fi
        echo "fetch: $name: failed from $src" >&2
    done
    rm -f "$tmp"
    echo "FAILED $name" >&2
    return 1
}}

failed=0
"""


def any_case(filename: str) -> str:
    """A shell glob matching the constituent's name without ``.CCF`` in any case (pure).

    >>> any_case("EPN_QE_0017.CCF")
    '[Ee][Pp][Nn]_[Qq][Ee]_0017'
    """
    base = filename[:-len(".CCF")]
    return "".join(f"[{c}{c.lower()}]" if c.isalpha() else c for c in base)


def script_text(items: Iterable[FetchItem], mirrors: Sequence[Mirror], *, name: str = "fetch.sh",
                version: str = "") -> str:
    """The script's text (pure): one ``fetch_one`` line per pinned file, mirrors in order."""
    items = _unique(items)
    lines = [_HEADER.format(count=len(items), version=version, name=name)]
    for item in items:
        sources = " ".join(shlex.quote(m.url(item.filename)) for m in mirrors)
        # file names are validated constituent names and hashes are hex: nothing to quote
        lines.append(f"fetch_one {item.filename} {shlex.quote(any_case(item.filename))} "
                     f"{item.sha256 or '-'} {sources} || failed=1\n")
    lines.append('exit "$failed"\n')
    return "".join(lines)


def write_script(items: Iterable[FetchItem], mirrors: Sequence[Mirror], path: Path | str) -> Path:
    """Write the script (temp file beside it, then rename), executable; return its path."""

    path = Path(path)
    text = script_text(items, mirrors, name=path.name, version=__version__)
    return atomic_write(path, text.encode("utf-8"), mode=0o755)
