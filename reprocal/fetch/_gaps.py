"""What a calibration state needs that the repository lacks, when no manifest pins it.

For an observation date and an analysis date, cifbuild's rule is applied twice (see
:func:`reprocal.repo._resolve.resolve`): over the files present, and over every *known* constituent,
present or listed in a master index (given here, or imported into the catalogue with
``reprocal index --import-index``). Each type whose best eligible issue is known but absent is a
gap; fetching the gaps makes the repository give the CIF a complete archive would give.

No sha256 is known for such files, so the bytes are judged by what is known instead
(:func:`constituent_check`): the FITS primary header must name the same constituent with the
same validity and submission dates as the master index, and the file must pass the checks
``verify --level fits`` makes (:func:`reprocal.fits._checksum.judge`: well-formed FITS, every
``CHECKSUM``/``DATASUM`` present holds on the raw bytes, every ``EXTSEQID`` extension there), and
have no extension ``EXTSEQID`` does not name. Pin the state afterwards to record their sha256.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from reprocal.core._constituent import Constituent, from_header
from reprocal.core._select import Rule
from reprocal.errors import ReprocalError
from reprocal.fetch._engine import Check, FetchItem
from reprocal.fetch._item import Wanted
from reprocal.fetch._transports import TransferError
from reprocal.fits._calindex import read_calindex
from reprocal.fits._checksum import judge, scan_file
from reprocal.fits._headers import read_primary_header
from reprocal.repo._catalog import MASTER_INDEX_PREFIX, LocalFile
from reprocal.repo._resolve import resolve

_COMPARED = ("valdate", "evaldate", "subdate", "category")


def missing_constituents(present: Sequence[LocalFile], known: Iterable[Constituent],
                         rules: Iterable[Rule]) -> tuple[Constituent, ...]:
    """The best eligible issue of each type, for each rule, that is known but not present (pure).

    Sorted by file name, each once.
    """
    known = list(known)
    out: dict[str, Constituent] = {}
    for rule in rules:
        for gap in resolve(present, known, rule).gaps:
            out.setdefault(gap.missing.filename, gap.missing)
    return tuple(out[name] for name in sorted(out))


def items(constituents: Iterable[Constituent]) -> list[FetchItem]:
    """Fetch items for unpinned constituents: the size when the index gives it, no sha256."""
    return [FetchItem(c.filename, c.fsize, None) for c in constituents]


def constituent_check(expected: Mapping[str, Constituent], *, any_name: bool = False) -> Check:
    """A fetch ``check`` for unpinned files: header identity, then the FITS checks of ``verify``.

    Pinned files (with a sha256) are not re-checked: their hash already says everything. A name
    ``expected`` lacks is checked only with ``any_name`` (a sync: no index names every file):
    its header must name that constituent, and the FITS checks must pass. A master index
    (``XMM_CALINDEX_nnnn.CCF``) has no validity dates: its checksums are checked and it must
    hold a CALINDEX table.
    """

    def check(path: Path, item: Wanted) -> None:
        want = expected.get(item.filename)
        if item.pinned or (want is None and not any_name):
            return
        if item.filename.startswith(MASTER_INDEX_PREFIX):
            _fits_checks(path, item, (), header=False)
            try:
                read_calindex(path)
            except ReprocalError as exc:
                raise TransferError("content-mismatch", f"not a master index: {exc.message}"
                                    ) from None
            return
        try:
            got = from_header(read_primary_header(path), item.filename,
                              fsize=os.path.getsize(path))
        except ReprocalError as exc:
            raise TransferError("content-mismatch", f"not the expected constituent: "
                                f"{exc.message}") from None
        for field in _COMPARED if want is not None else ():
            mine, theirs = getattr(got, field), getattr(want, field)
            if mine != theirs:
                raise TransferError("content-mismatch", f"header {field.upper()} is {mine}, "
                                    f"the index says {theirs}")
        _fits_checks(path, item, got.extseqid.split())

    return check


def _fits_checks(path: Path, item: Wanted, named: Sequence[str], *,
                 header: bool = True) -> None:
    """Well-formed FITS, every CHECKSUM/DATASUM right, the primary header naming the file
    (``header``), as many extensions as EXTSEQID names."""
    try:
        scan = scan_file(path)
    except OSError as exc:
        raise TransferError("content-mismatch", f"cannot read: {exc.strerror or exc}") from None
    problem = judge(scan, item.filename, path=path).problem if header else scan.problem
    if problem:
        raise TransferError("content-mismatch", problem)
    if named and len(scan.extnames) != len(named):
        raise TransferError("content-mismatch", f"{len(scan.extnames)} extensions, "
                            f"EXTSEQID names {len(named)}")
