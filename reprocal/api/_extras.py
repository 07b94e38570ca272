"""Extra calibration sets as the commands take them: ``--esas-caldb DIR|TARBALL|URL`` and
``--extra [LABEL=]DIR|FILE`` for ``pin``; installing what was pinned into the repository."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from reprocal.api._inputs import warn
from reprocal.errors import CheckFailed, InputError, Names, NetworkError
from reprocal.fetch._engine import FetchResult
from reprocal.repo._extras import EXTRAS_DIR, extras_home
from reprocal.repo._verifycache import CacheEntry, FileStat, VerifyCache, now_ns
from reprocal.state._extras import Scanned, install, is_tarball, scan, source_of, split_option
from reprocal.state._extras import unique_labels as check_unique_labels
from reprocal.state._manifest import ExtraSet


def is_url(value: str) -> bool:
    return "://" in value or "::" in value


def download_failure(result: FetchResult | None, what: str) -> Exception:
    """The error for a download that did not succeed: exit 5 when no mirror could be reached,
    else exit 1, naming each attempt."""
    if result is None:
        return CheckFailed(f"{what}: nothing was downloaded")
    tries = "; ".join(f"{a.kind}: {a.message}" for a in result.attempts[:3]) or "no attempt"
    if result.attempts and all(a.kind == "unreachable" for a in result.attempts):
        return NetworkError(f"{what}: the mirror could not be reached ({tries})",
                            hint="check the network connection or the URL")
    return CheckFailed(f"{what}: could not be downloaded ({tries})")


def _downloaded(url: str, dirs: Sequence[Path], field: str, jobs: int) -> Path:
    """A tarball given by URL, downloaded into ``extras/`` of the first directory (kept there:
    a later fetch finds it)."""
    from reprocal.fetch._extras import download, url_parts

    mirror, name = url_parts(url, field=field)
    if not is_tarball(Path(name)):
        raise InputError(f"{field}: {url} does not name a tarball (.tar, .tar.gz, .tgz)",
                         hint="give the caldb's tarball URL, or a local directory")
    dest = Path(dirs[0]) / EXTRAS_DIR
    got = download([(mirror, name, None)], dest, jobs=jobs).get(name)
    if got is None or got.status != "fetched":
        raise download_failure(got, f"{field} {url}")
    return dest / name


def scan_sources(esas_caldb: str | os.PathLike[str] | None, extras: Sequence[str],
                 dirs: Sequence[Path], names: Names, *, jobs: int | None = None
                 ) -> list[Scanned]:
    """Each extra set to pin, read and checked whole (nothing is written, except a caldb
    given by URL, downloaded first)."""
    out = []
    if esas_caldb is not None:
        field = names("esas_caldb")
        text = os.fspath(esas_caldb)
        url = text if is_url(text) else None
        path = _downloaded(text, dirs, field, jobs or 4) if url else Path(text)
        out.append(scan(source_of(path, kind="esas-caldb", label=None, field=field, url=url),
                        jobs=jobs))
    for value in extras:
        field = names("extras")
        label, text = split_option(value, field=field)
        if is_url(text):
            raise InputError(f"{field}: {text} is a URL; give a local DIR or FILE",
                             hint="download it first (an ESAS caldb tarball may be given by "
                                  "URL to --esas-caldb)")
        out.append(scan(source_of(Path(text), kind="other", label=label, field=field),
                        jobs=jobs))
    check_unique_labels(out)
    for s in out:
        if s.skipped:
            warn(f"{s.source.path}: {len(s.skipped)} hidden name(s) not pinned: "
                 + ", ".join(s.skipped[:5]) + (" ..." if len(s.skipped) > 5 else ""))
    return out


def install_sets(scanned: Sequence[Scanned], dirs: Sequence[Path]) -> list[ExtraSet]:
    """Install each scanned set into its home in the repository, remembering the hashes of
    the files written in the verify cache (so the first ``verify`` of them is a stat walk);
    the sets."""
    known: list[tuple[str, str]] = []
    for s in scanned:
        home = extras_home(dirs, s.set.label)
        known += [(os.path.realpath(p), sha) for p, sha in install(s, home)]
    checked = now_ns()  # after every write: an entry is trusted once its file is older
    with VerifyCache(warn=warn) as cache:
        cache.store(CacheEntry(real, FileStat.of(os.stat(real)), checked, sha)
                    for real, sha in known)
    return [s.set for s in scanned]


__all__ = ["download_failure", "install_sets", "is_url", "scan_sources"]
