"""Calibration drift: has the repository moved on since a state was pinned?

A pinned state stays reproducible; but when the repository now holds a newer eligible issue of
a pinned type, the user should know (``reprocal verify`` says so). Pure: constituents and dates
in, findings out; no file, no clock (``today`` is resolved at the edge).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.core._select import Rule, Selector
from reprocal.core._withdrawal import NONE, Withdrawals


@attrs.frozen
class NewerIssue:
    """A pinned constituent for which the repository now holds a newer eligible issue."""

    observation: str
    """The observation's label (obs id, else ``obs<N>``)."""
    pinned: str
    """The pinned file name."""
    newer: str
    """The newest eligible issue present now."""
    at_pinned_dates: bool
    """Eligible even under the pinned analysis date (the pin was a downgrade, or the file
    appeared with a back-dated SUBDATE); otherwise only under today's analysis date."""

    def describe(self) -> str:
        when = ("even at the pinned analysis date" if self.at_pinned_dates
                else "with today's analysis date")
        return f"{self.observation}: {self.newer} is newer than the pinned {self.pinned} ({when})"

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def newer_issues(observations: Iterable[tuple[str, Any]], constituents: Iterable[Constituent],
                 *, today: CalDate, withdrawals: Withdrawals = NONE) -> list[NewerIssue]:
    """For each ``(label, pinned observation)``, the pinned types whose newest eligible issue
    among ``constituents`` (read from the repository) is higher than the pinned one.

    Eligible is cifbuild's rule with the pinned observation date and category, under the pinned
    analysis date and under ``today`` (the calibration may have moved on since the pin: the
    pinned state stays reproducible, but the user should know). Pure: no file, no clock.
    """
    selector = Selector(constituents, withdrawals=withdrawals)
    names: dict[str, ConstituentName] = {}
    # observations whose rules the selector cannot tell apart, pinned to the same files, have
    # the same findings: 10,000 observations are a few hundred selections, and each rule class
    # is applied once (the "now" rules of a manifest share today's analysis date)
    chosen: dict[tuple[Any, ...], dict[tuple[str, str], Constituent]] = {}

    def best(rule: Rule) -> dict[tuple[str, str], Constituent]:
        cls = selector.rule_class(rule)
        got = chosen.get(cls)
        if got is None:
            got = chosen[cls] = selector.apply(rule).by_key()
        return got

    seen: dict[tuple[Any, ...], list[tuple[str, str, bool]]] = {}
    out: list[NewerIssue] = []
    for label, obs in observations:
        rule_then = Rule(obs.obs_date, obs.analysis_date, obs.category)
        rule_now = Rule(obs.obs_date, max(today, obs.analysis_date), obs.category)
        key = (selector.rule_class(rule_then), selector.rule_class(rule_now), obs.files)
        found = seen.get(key)
        if found is None:
            found = seen[key] = _findings(best(rule_now), functools.partial(best, rule_then),
                                          obs.files, names)
        out.extend(NewerIssue(label, pinned, newer, at_pin) for pinned, newer, at_pin in found)
    return out


def _findings(now: Mapping[tuple[str, str], Constituent],
              then: Callable[[], Mapping[tuple[str, str], Constituent]], files: Iterable[str],
              names: dict[str, ConstituentName]) -> list[tuple[str, str, bool]]:
    """``(pinned, newer, at the pinned dates)`` for one observation's files: ``now`` and
    ``then()`` are the selections by type under today's and the pinned analysis date."""
    found = []
    for filename in files:
        pinned = names.get(filename)
        if pinned is None:
            pinned = names[filename] = ConstituentName.parse(filename)
        best = now.get(pinned.key)
        if best is None or best.issue <= pinned.issue:
            continue
        was = then().get(pinned.key)
        found.append((pinned.filename, best.filename,
                      was is not None and was.issue > pinned.issue))
    return found


__all__ = ["NewerIssue", "newer_issues"]
