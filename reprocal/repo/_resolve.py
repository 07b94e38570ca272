"""Resolution: the selection rule applied to a repository, with what cifbuild would hide.

cifbuild selects among the files it finds. When the winning issue is missing locally it quietly
takes the next eligible one (a *silent downgrade*). reprocal selects the same way over the present
files (so its CIF is what cifbuild would write from this repository) and, separately, over every
*known* constituent (present plus expected from master indexes); where the two differ the
resolution carries a :class:`Gap`. Pure: lists in, a resolution out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from reprocal.core._constituent import Constituent
from reprocal.core._select import MirrorSelectors, Rule, Selection, Selector
from reprocal.core._withdrawal import NONE, WithdrawalEffect, Withdrawals
from reprocal.errors import DuplicateConstituentError
from reprocal.repo._catalog import LocalFile


@attrs.frozen
class Gap:
    """A type whose best eligible issue is known but not present locally."""

    missing: Constituent
    """The issue the rule would select with a complete repository."""
    selected: Constituent | None
    """What the local repository gives instead (``None``: the type would be absent)."""

    def describe(self) -> str:
        instead = (f"issue {self.selected.issue} would be used instead"
                   if self.selected else "the type would be absent from the CIF")
        return (f"{self.missing.filename} (submitted {self.missing.subdate}) is eligible but "
                f"missing locally; {instead}")


@attrs.frozen
class Resolution:
    """The outcome of resolving one observation against a repository."""

    rule: Rule
    selection: Selection
    """What reprocal's rule selects from the present files: cifbuild's, with a constituent
    withdrawn by the analysis date skipped (cifbuild's own choice on this repository, which
    kept the file, is :meth:`as_kept`)."""
    paths: Mapping[str, Path]
    """Where each selected constituent is, by file name (read-only: resolutions of one class
    of observations share it)."""
    gaps: tuple[Gap, ...]
    """Types where a newer eligible issue is known but missing."""
    withdrawals: tuple[WithdrawalEffect, ...] = ()
    """Types whose selection a withdrawal changes: the withdrawn file skipped (withdrawn on or
    before the analysis date) or kept although a mirror following ``--delete`` lacks it now."""
    kept: Resolution | None = None
    """The resolution cifbuild itself makes from these files (a repository that kept every
    file: no withdrawal applies), when it differs; see :meth:`as_kept`."""

    def as_kept(self) -> Resolution:
        """This resolution as cifbuild makes it on this repository, which kept every file: a
        withdrawn constituent selected like any other (:attr:`withdrawals` still says which).
        A gap stays a gap only where that choice is older than the missing issue."""
        return self.kept if self.kept is not None else self

    @property
    def complete(self) -> bool:
        return not self.gaps

    @property
    def chosen(self) -> tuple[Constituent, ...]:
        return self.selection.chosen

    def to_table(self) -> Any:
        """The constituents selected, with their paths and the gaps, as an astropy ``Table``."""
        from reprocal.fits._tabular import constituent_table

        missing = {g.selected.filename if g.selected else "": g.missing.filename
                   for g in self.gaps}
        return constituent_table(self.chosen,
                                 path=[str(self.paths.get(c.filename, "")) for c in self.chosen],
                                 newer_missing=[missing.get(c.filename) for c in self.chosen])

    def to_pandas(self) -> Any:
        """:meth:`to_table` as a pandas ``DataFrame`` (pandas must be installed)."""
        from reprocal.fits._tabular import to_pandas

        return to_pandas(self.to_table())

    def _repr_html_(self) -> str:
        from reprocal._html import element, join, table

        r = self.rule
        head = element("p", f"{len(self.chosen)} constituents for observation date "
                            f"{r.obs_date}, analysis date {r.analysis_date} ({r.category})")
        gaps = [element("li", g.describe()) for g in self.gaps]
        rows = [[c.filename, c.valdate.text, c.evaldate.text if c.evaldate else "open",
                 c.subdate.text, str(self.paths.get(c.filename, ""))] for c in self.chosen]
        return str(join([head, element("ul", *gaps) if gaps else "",
                         table(["constituent", "valid from", "valid to", "submitted", "path"],
                               rows)]))


def resolve(present: Sequence[LocalFile], known: Sequence[Constituent], rule: Rule,
            withdrawals: Withdrawals = NONE) -> Resolution:
    """Select over ``present`` files; compare with the selection over ``known`` constituents.

    ``withdrawals`` (from the catalogue) apply to both (a constituent withdrawn by the analysis
    date is neither selected nor a gap); where one changes the outcome the resolution says so.
    A selected constituent present at two paths is an error: reprocal never picks one silently.
    See :class:`Resolver` to resolve many rules against the same files.
    """
    return Resolver(present, known, withdrawals).resolve(rule)


class Resolver:
    """:func:`resolve` for many rules over one repository snapshot: the selectors and the name
    map are built once, and rules that no constituent date tells apart share one selection
    (``pin --obs-list`` of 10,000 observations selects a few hundred times, not 20,000)."""

    def __init__(self, present: Sequence[LocalFile], known: Sequence[Constituent],
                 withdrawals: Withdrawals = NONE):
        self._by_name: dict[str, list[Path]] = {}
        for lf in present:
            self._by_name.setdefault(lf.filename, []).append(lf.path)
        pool = [lf.constituent for lf in present]
        everything = list(known) + pool
        self._mirrors = MirrorSelectors(pool, withdrawals)
        self._full = Selector(everything, withdrawals=withdrawals)
        self._seen: dict[tuple[Any, ...], Resolution] = {}

    def resolve(self, rule: Rule) -> Resolution:
        # the full selector sees every constituent: its classes are the finest
        key = self._full.rule_class(rule)
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = self._resolve(rule)
        return _as(seen, rule)

    def _resolve(self, rule: Rule) -> Resolution:
        by_name = self._by_name
        outcomes = self._mirrors.outcomes(rule)
        local = outcomes.selection
        for c in {*local.chosen, *outcomes.kept.chosen}:
            copies = by_name[c.filename]
            if len(copies) > 1:
                raise DuplicateConstituentError(
                    f"{c.filename} is present {len(copies)} times: {', '.join(map(str, copies))}",
                    hint="remove or rename all but one copy, then run `reprocal index`",
                )
        full = self._full.apply(rule)
        mine = local.by_key()
        gaps = tuple(
            Gap(best, mine.get(best.key))
            for best in full.chosen
            if best.filename not in by_name
        )
        paths = MappingProxyType({c.filename: by_name[c.filename][0] for c in local.chosen})
        kept = None
        if outcomes.kept.chosen != local.chosen:
            theirs = outcomes.kept.by_key()
            kept = Resolution(rule, outcomes.kept,
                              MappingProxyType({c.filename: by_name[c.filename][0]
                                                for c in outcomes.kept.chosen}),
                              tuple(Gap(g.missing, theirs.get(g.missing.key)) for g in gaps
                                    if _older(theirs.get(g.missing.key), g.missing)),
                              outcomes.effects)
        return Resolution(rule, local, paths, gaps, outcomes.effects, kept)


def _as(seen: Resolution, rule: Rule) -> Resolution:
    """A shared resolution given to one caller: its own rule, the shared paths read-only
    (built directly: ``attrs.evolve`` and a copy of the paths for each of 10,000
    observations were a tenth of ``pin --obs-list``)."""
    kept = _as(seen.kept, rule) if seen.kept is not None else None
    sel = seen.selection
    return Resolution(rule, Selection(rule, sel.chosen, sel.skipped), seen.paths, seen.gaps,
                      seen.withdrawals, kept)


def _older(chosen: Constituent | None, missing: Constituent) -> bool:
    return chosen is None or chosen.issue < missing.issue
