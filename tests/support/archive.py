"""A simulated archive for the sync tests: a mirror directory whose content changes day by day
(publish, withdraw, change bytes under the same name), with a record of what it held each day.
Served over loopback by :mod:`support.servers` (HTTP index pages or the rsync daemon)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.testing._ccfwrite import write_constituent


def C(name: str, valdate: str = "2000-01-01", subdate: str = "2001-01-01",
      evaldate: str | None = None, blocks: int = 3) -> Constituent:
    """A constituent of ``blocks`` FITS blocks (one extension)."""
    return Constituent(ConstituentName.parse(name), valdate=valdate, evaldate=evaldate,
                       subdate=subdate, extseqid="DATA", fsize=2880 * blocks)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@attrs.define
class Archive:
    """The mirror's directory and the constituents it publishes."""

    root: Path
    published: dict[str, Constituent] = attrs.Factory(dict)
    days: dict[str, dict[str, str]] = attrs.Factory(dict)
    """Day -> what the mirror held at its end (name -> sha256)."""

    def __attrs_post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def publish(self, c: Constituent, *, seed: int = 0) -> Path:
        path = self.root / c.filename
        write_constituent(path, c, seed=seed)
        self.published[c.filename] = c
        return path

    def withdraw(self, name: str) -> None:
        (self.root / name).unlink()

    def change(self, name: str, *, blocks: int | None = None, seed: int = 1) -> str:
        """New bytes under the same name (same size unless ``blocks``); returns the sha256."""
        c = self.published[name]
        if blocks is not None:
            c = attrs.evolve(c, fsize=2880 * blocks)
        return sha256(self.publish(c, seed=seed))

    def held(self) -> dict[str, str]:
        return {p.name: sha256(p) for p in sorted(self.root.glob("*.CCF"))}

    def end_of(self, day: str) -> None:
        self.days[day] = self.held()

    def constituents(self, names: set[str] | None = None) -> list[Constituent]:
        return [c for n, c in self.published.items() if names is None or n in names]


def clock(day: str):  # type: ignore[no-untyped-def]
    """A wall clock stopped at ``day`` (an aware UTC datetime, as ``api.sync`` takes)."""
    when = CalDate.parse(day).to_datetime()
    return lambda: when


@contextmanager
def served(kind: str, root: Path, work: Path) -> Iterator[str]:
    """The mirror URL of ``root`` served as ``kind``: ``nginx``, ``apache``, ``apache-table``
    (HTTP index pages), ``rsync`` (a real daemon) or ``directory``."""
    from support.servers import MirrorServer, RsyncDaemon

    if kind == "directory":
        yield str(root)
    elif kind == "rsync":
        work.mkdir(parents=True, exist_ok=True)
        with RsyncDaemon(root, work) as daemon:
            yield daemon.url
    else:
        with MirrorServer(root, index=kind) as srv:
            yield srv.url
