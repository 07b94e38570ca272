"""A plain POSIX ``sh`` script that fetches and checks pinned files, for machines without reprocal.

The script needs ``curl`` (or ``wget``), ``sha256sum`` and, for rsync mirrors, ``rsync``. For each
file it keeps one that already verifies, else downloads to ``DEST/.NAME.part`` from each mirror in
turn, checks it with ``sha256sum -c`` and only then renames it into place. A file no manifest pins
(a gap filled by dates, whose sha256 nobody knows yet) is checked as :func:`reprocal.fetch.fetch`
checks it (:func:`reprocal.fetch._gaps.constituent_check`): its size when the index gives it,
the primary header's identity (name, ``VALDATE``, ``EVALDATE``, ``SUBDATE``, ``CATEGORY`` as
indexed), every HDU's ``CHECKSUM``/``DATASUM`` and the extensions its ``EXTSEQID`` names, by a
small checker in the script run with ``python3`` (standard library only; a file cannot be
accepted without it). It is a second implementation of those checks, in another language for
machines without reprocal; the tests hold it to :func:`reprocal.fits._checksum.check_fits`. It never deletes a
constituent. Names follow reprocal's rule (:mod:`reprocal.repo._walk`): a file holding the name
in any case, with an extension cifbuild's glob reads (``.ccf`` or ``.CCF``), is the one checked
and replaced, so the script never adds an upper-case copy beside a lower-case one; a file holding
it with another case of extension (``.Ccf``, which cifbuild does not read) fails that name, as
:func:`reprocal.fetch._engine.fetch` does.

The extra calibration sets of a manifest are fetched into ``DEST/extras/<label>/`` the same
way (``fetch_extra``); a set pinned from a tarball is fetched as that tarball, checked, unpacked
into a temporary directory, and each file checked again before it is moved into place
(``unpack_extra``).

Usage: ``sh fetch.sh [DEST]`` (default: the current directory); exit 1 when a file could not be
fetched.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from reprocal._version import __version__
from reprocal.core._constituent import Constituent
from reprocal.fetch._item import FetchItem, _unique
from reprocal.fetch._mirrors import Mirror
from reprocal.fs._atomic import atomic_write
from reprocal.repo._extras import EXTRAS_DIR
from reprocal.state._manifest import ExtraSet

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

# fits_check FILE NAME IDENTITY: a file no manifest pins, checked as reprocal fetch checks it:
# IDENTITY is SIZE|VALDATE|EVALDATE|SUBDATE|CATEGORY as indexed (empty fields: not known)
fits_check() {{
    if ! command -v python3 >/dev/null 2>&1; then
        echo "fetch: $2 has no pinned sha256 and python3 (which checks its FITS checksums) is" \
             "not installed: not accepted" >&2
        return 1
    fi
    python3 - "$1" "$2" "$3" <<'REPROCAL_FITS_CHECK'
{checker}REPROCAL_FITS_CHECK
}}

# verify SHA256 FILE NAME IDENTITY ("-": no pin; the FITS checks then)
verify() {{
    if [ "$1" = "-" ]; then
        fits_check "$2" "$3" "$4"
        return
    fi
    printf '%s  %s\n' "$1" "$2" | sha256sum -c --status - 2>/dev/null
}}

# fetch_one NAME BASE SHA256 IDENTITY SOURCE...: BASE is NAME without .CCF as a glob matching any
# case; a file holding the name that way (BASE.ccf or BASE.CCF) is checked and replaced in place;
# one whose extension is in another case (cifbuild does not read it) is left alone, never
# duplicated
fetch_one() {{
    name=$1 base=$2 sum=$3 ident=$4
    shift 4
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
    if [ -f "$target" ] && verify "$sum" "$target" "$name" "$ident" 2>/dev/null; then
        echo "present $name"
        return 0
    fi
    tmp="$DEST/.$name.part"
    for src in "$@"; do
        rm -f "$tmp"
        if get "$src" "$tmp" && verify "$sum" "$tmp" "$name" "$ident"; then
            mv -f "$tmp" "$target" && echo "fetched $name" && return 0
        fi
        echo "fetch: $name: failed from $src" >&2
    done
    rm -f "$tmp"
    echo "FAILED $name" >&2
    return 1
}}

# fetch_extra REL SHA256 SOURCE...: a file of an extra calibration set (or the tarball one
# came as) at DEST/REL, its directories made; checked before it is renamed into place
fetch_extra() {{
    rel=$1 sum=$2
    shift 2
    target="$DEST/$rel"
    if [ -f "$target" ] && verify "$sum" "$target"; then
        echo "present $rel"
        return 0
    fi
    dir=$(dirname "$target")
    mkdir -p "$dir" || return 1
    tmp="$dir/.$(basename "$target").part"
    for src in "$@"; do
        rm -f "$tmp"
        if get "$src" "$tmp" && verify "$sum" "$tmp"; then
            mv -f "$tmp" "$target" && echo "fetched $rel" && return 0
        fi
        echo "fetch: $rel: failed from $src" >&2
    done
    rm -f "$tmp"
    echo "FAILED $rel" >&2
    return 1
}}

# all_present DIR PATH SHA256 [PATH SHA256]...: every file there and as pinned
all_present() {{
    d=$1
    shift
    while [ "$#" -ge 2 ]; do
        if [ ! -f "$d/$1" ] || ! verify "$2" "$d/$1"; then
            return 1
        fi
        shift 2
    done
}}

# unpack_extra TARBALL DIR PATH SHA256 [PATH SHA256]...: the files of a set pinned from a
# tarball, unpacked into DEST/DIR. Only a tarball whose sha256 matched its pin gets here, and
# reprocal checked that tarball member by member when it was pinned (no '..', no absolute
# names, no links); each file is checked again before it is moved into place.
unpack_extra() {{
    tarball="$DEST/$1" set_dir="$2" dir="$DEST/$2"
    shift 2
    if all_present "$dir" "$@"; then
        echo "present $set_dir (every file)"
        return 0
    fi
    tmp="$DEST/extras/.unpack.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp" || return 1
    if ! tar -xf "$tarball" -C "$tmp"; then
        rm -rf "$tmp"
        echo "FAILED unpacking $tarball" >&2
        return 1
    fi
    bad=0
    while [ "$#" -ge 2 ]; do
        p=$1 h=$2
        shift 2
        if [ -f "$dir/$p" ] && verify "$h" "$dir/$p"; then
            continue
        fi
        if verify "$h" "$tmp/$p" && mkdir -p "$(dirname "$dir/$p")" \
                && mv -f "$tmp/$p" "$dir/$p"; then
            echo "fetched $set_dir/$p"
        else
            echo "FAILED $set_dir/$p (not as pinned in $tarball)" >&2
            bad=1
        fi
    done
    rm -rf "$tmp"
    return "$bad"
}}

failed=0
"""


FITS_CHECKER = r"""import array, sys
path, name, ident = sys.argv[1], sys.argv[2], sys.argv[3]
size, valdate, evaldate, subdate, category = ident.split("|")
BLOCK = 2880

def fail(why):
    sys.stderr.write("fetch: %s: %s\n" % (name, why))
    sys.exit(1)

def wsum(data):
    a = array.array("I")
    if a.itemsize != 4:
        a = array.array("L")
    a.frombytes(data)
    if sys.byteorder == "little":
        a.byteswap()
    return sum(a)

def fold(s):
    while s > 0xFFFFFFFF:
        s = (s & 0xFFFFFFFF) + (s >> 32)
    return s

def value(card):
    v = card[10:].strip()
    if v.startswith("'"):
        out, i = "", 1
        while i < len(v):
            if v[i] == "'":
                if v[i + 1:i + 2] == "'":
                    out += "'"
                    i += 2
                    continue
                break
            out += v[i]
            i += 1
        return out.rstrip()
    return v.split("/")[0].strip()

def date(text):
    text = text.strip()
    if len(text) == 10:
        text += "T00:00:00"
    return text[:19]

data = open(path, "rb").read()
if size and len(data) != int(size):
    fail("%d bytes, the index says %s" % (len(data), size))
if len(data) % BLOCK:
    fail("not a whole number of FITS blocks (truncated?)")
pos, hdu, extnames, primary = 0, 0, [], None
while pos < len(data):
    keys, start = {}, pos
    while True:
        if pos >= len(data):
            fail("HDU %d has no END card (truncated?)" % hdu)
        block = data[pos:pos + BLOCK]
        pos += BLOCK
        cards = [block[i:i + 80].decode("ascii", "replace") for i in range(0, BLOCK, 80)]
        ended = False
        for card in cards:
            key = card[:8].strip()
            if key == "END":
                ended = True
                break
            if card[8:10] == "= ":
                keys.setdefault(key, value(card))
        if ended:
            break
    if hdu == 0 and not data.startswith(b"SIMPLE  ="):
        fail("not a FITS file")
    try:
        naxis = int(keys.get("NAXIS", "0"))
        n = 1
        for i in range(1, naxis + 1):
            n *= int(keys["NAXIS%d" % i])
        nbytes = (abs(int(keys["BITPIX"])) // 8 * int(keys.get("GCOUNT", "1"))
                  * (int(keys.get("PCOUNT", "0")) + n)) if naxis else 0
    except (KeyError, ValueError):
        fail("HDU %d has malformed size keywords" % hdu)
    end = pos + (nbytes + BLOCK - 1) // BLOCK * BLOCK
    if end > len(data):
        fail("HDU %d is cut short (truncated?)" % hdu)
    dsum = wsum(data[pos:end])
    if "CHECKSUM" in keys or "DATASUM" in keys:
        if "CHECKSUM" not in keys:
            fail("HDU %d has DATASUM but no CHECKSUM" % hdu)
        if "DATASUM" in keys and keys["DATASUM"].strip() != str(fold(dsum)):
            fail("HDU %d DATASUM mismatch" % hdu)
        if fold(wsum(data[start:pos]) + dsum) != 0xFFFFFFFF:
            fail("HDU %d CHECKSUM mismatch" % hdu)
    if hdu == 0:
        primary = keys
    else:
        extnames.append(keys.get("EXTNAME", "").upper())
    pos, hdu = end, hdu + 1
stem = name[:-4]
scope, typeid, issue = stem.split("_")[0], "_".join(stem.split("_")[1:-1]), stem.split("_")[-1]
for key, want in (("SCOPE", scope), ("TYPEID", typeid)):
    if key in primary and primary[key].upper() != want:
        fail("header %s is %s, the name says %s" % (key, primary[key], want))
if "ISSUE" in primary and int(primary["ISSUE"]) != int(issue):
    fail("header ISSUE is %s, the name says %s" % (primary["ISSUE"], int(issue)))
for key, want in (("VALDATE", valdate), ("EVALDATE", evaldate), ("SUBDATE", subdate)):
    got = date(primary.get(key, ""))
    if valdate and got != date(want):
        fail("header %s is %s, the index says %s" % (key, got or "(none)", want or "(none)"))
if category and primary.get("CATEGORY", "") != category:
    fail("header CATEGORY is %s, the index says %s" % (primary.get("CATEGORY"), category))
gone = [e for e in primary.get("EXTSEQID", "").split() if e.upper() not in extnames]
if gone:
    fail("extension(s) %s listed in EXTSEQID are missing (truncated?)" % ", ".join(gone))
"""
"""The unpinned-file checker the script runs with ``python3`` (standard library only): exit 0
when the file passes, else one ``fetch: NAME: why`` line and exit 1."""


def any_case(filename: str) -> str:
    """A shell glob matching the constituent's name without ``.CCF`` in any case (pure).

    >>> any_case("EPN_QE_0017.CCF")
    '[Ee][Pp][Nn]_[Qq][Ee]_0017'
    """
    base = filename[:-len(".CCF")]
    return "".join(f"[{c}{c.lower()}]" if c.isalpha() else c for c in base)


def identity(item: FetchItem, expected: Constituent | None) -> str:
    """What the script checks an unpinned file's header against (pure): ``SIZE|VALDATE|
    EVALDATE|SUBDATE|CATEGORY``, empty where not known; ``-`` for a pinned file.

    >>> identity(FetchItem("EPN_X_0001.CCF", 2880, None), None)
    '2880||||'
    """
    if item.pinned:
        return "-"
    size = str(item.size) if item.size else ""
    if expected is None:
        return f"{size}||||"
    end = expected.evaldate.text if expected.evaldate else ""
    return f"{size}|{expected.valdate.text}|{end}|{expected.subdate.text}|{expected.category}"


def script_text(items: Iterable[FetchItem], mirrors: Sequence[Mirror], *, name: str = "fetch.sh",
                version: str = "", extras: Sequence[ExtraSet] = (),
                expected: Mapping[str, Constituent] | None = None) -> str:
    """The script's text (pure): one ``fetch_one`` line per file, mirrors in order
    (``expected`` gives the indexed header of each unpinned file); then the extra sets' files
    (``fetch_extra``), or their tarball and ``unpack_extra``."""
    items = _unique(items)
    count = len(items) + sum(len(x.files) for x in extras)
    lines = [_HEADER.format(count=count, version=version, name=name, checker=FITS_CHECKER)]
    for item in items:
        sources = " ".join(shlex.quote(m.url(item.filename)) for m in mirrors)
        # file names are validated constituent names and hashes are hex: nothing to quote
        ident = identity(item, (expected or {}).get(item.filename))
        lines.append(f"fetch_one {item.filename} {shlex.quote(any_case(item.filename))} "
                     f"{item.sha256 or '-'} {shlex.quote(ident)} {sources} || failed=1\n")
    for x in extras:
        lines += _extra_lines(x, mirrors)
    lines.append('exit "$failed"\n')
    return "".join(lines)


def _extra_lines(x: ExtraSet, mirrors: Sequence[Mirror]) -> list[str]:
    from reprocal.fetch._extras import file_mirrors, tarball_mirrors

    home = f"{EXTRAS_DIR}/{x.label}"
    if x.tarball is not None:
        tb = x.tarball
        sources = " ".join(shlex.quote(m.url(tb.path)) for m in tarball_mirrors(x, mirrors))
        pairs = " ".join(f"{shlex.quote(f.path)} {f.sha256}" for f in x.files)
        return [f"fetch_extra {shlex.quote(f'{EXTRAS_DIR}/{tb.path}')} {tb.sha256} {sources} "
                f"&& unpack_extra {shlex.quote(f'{EXTRAS_DIR}/{tb.path}')} "
                f"{shlex.quote(home)} {pairs} || failed=1\n"]
    bases = file_mirrors(x, mirrors)
    return [f"fetch_extra {shlex.quote(f'{home}/{f.path}')} {f.sha256} "
            + " ".join(shlex.quote(m.url(f.path)) for m in bases) + " || failed=1\n"
            for f in x.files]


def write_script(items: Iterable[FetchItem], mirrors: Sequence[Mirror], path: Path | str, *,
                 extras: Sequence[ExtraSet] = (),
                 expected: Mapping[str, Constituent] | None = None) -> Path:
    """Write the script (temp file beside it, then rename), executable; return its path."""

    path = Path(path)
    text = script_text(items, mirrors, name=path.name, version=__version__, extras=extras,
                       expected=expected)
    return atomic_write(path, text.encode("utf-8"), mode=0o755)
