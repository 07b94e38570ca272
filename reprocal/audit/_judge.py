"""Audit: judge the calibration a product used against what the catalogue knows.

Pure: the product's constituents and dates, the catalogue's known constituents, what is present
locally (and a hashing callable) in; one :class:`Finding` per calibration type out, each with a
plain-words explanation quoting the selection rule and the submission dates:

* **agrees**: the product used what cifbuild's rule gives at the product's own observation and
  analysis dates over everything the catalogue knows;
* **stale**: a newer issue was eligible (submitted before the analysis date) but not used: the
  repository the product was made with had not been updated;
* **not eligible**: the issue used fails the rule at the product's own dates (submitted after its
  ANALDATE, validity outside its OBSVDATE, another category): the dates are wrong or the
  calibration was patched by hand;
* **missing type** / **extra type**: the rule gives a type the product lacks, or the reverse;
* **differs**: the same file name with other attributes than the catalogue's copy: a different
  file under the same name (never "stale": no date says which of two files of one name is newer);
* **withdrawn**: the issue used was withdrawn from the archive on or before the product's
  analysis date (the withdrawal dates are data: the repository's mirror history): it was made
  from a mirror that kept the file; cifbuild on one that followed ``--delete`` would have used
  the issue the rule gives.

A catalogue that does not describe the product's calibration (more than half of the product's
rows unknown to it or different from its copies: another archive, another mirror) is said to be
so, once, and the product is then judged against its own rows only (does each satisfy the rule
at the product's dates?) rather than against a catalogue that would make every row disagree.

A stale finding is explained further when the repository's mirror history says when the newer
issue arrived *here*: after the product's analysis date, the cause is a **stale mirror** (the
issue was published but not yet synced); before it, the product was not made from this
repository as it then was (another ``SAS_CCFPATH``, or a copy). A product that used a withdrawn
constituent says so in the report's first lines, whatever the verdicts.

Availability of each used constituent is judged separately (present with matching content?), and
the state the rule would give *today* is compared with the product's (what would change if it
were re-made now), saying how many constituents that rests on; "no change" is only said when the
catalogue knows constituents beyond the product's own rows.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from reprocal.audit._diff import Change, State, diff_states
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent, differences
from reprocal.core._dates import CalDate
from reprocal.core._select import Reason, Rule, Selector
from reprocal.core._withdrawal import NONE, Withdrawal, Withdrawals


class Verdict(enum.Enum):
    """How one calibration type of the product compares with the rule over the catalogue."""

    AGREES = "agrees"
    STALE = "stale"
    NOT_ELIGIBLE = "not eligible"
    MISSING_TYPE = "missing type"
    EXTRA_TYPE = "extra type"
    DIFFERS = "differs"
    WITHDRAWN = "withdrawn"
    UNJUDGED = "unjudged"


class Local(enum.Enum):
    """Whether a used constituent is available locally with the same content."""

    OK = "ok"
    MISSING = "missing"
    DIFFERENT = "different content"
    NOT_USED = "not used"


@attrs.frozen
class LocalCopy:
    """A constituent file present locally (what the catalogue read from its header)."""

    path: Path
    constituent: Constituent


@attrs.frozen
class Finding:
    """One calibration type of the product, judged."""

    key: tuple[str, str]
    """``(SCOPE, TYPEID)``."""
    used: Constituent | None
    """What the product used (``None``: the type is absent from the product)."""
    expected: Constituent | None
    """What the rule gives at the product's dates over the catalogue."""
    verdict: Verdict
    explanation: str
    """Why, in words (empty when it agrees)."""
    local: Local = Local.NOT_USED
    local_detail: str = ""
    """The path found, or what differs."""
    cause: str | None = None
    """For a stale finding, what the mirror history says: ``late-arrival`` (the newer issue
    arrived here after the analysis date: a stale mirror), ``held-then`` (it was here before
    it), ``unknown`` (the history does not say when it arrived); ``None``: no history."""

    def to_json(self) -> dict[str, Any]:
        def name(c: Constituent | None) -> str | None:
            return c.filename if c else None

        return {
            "scope": self.key[0], "typeid": self.key[1], "used": name(self.used),
            "used_subdate": self.used.subdate.text if self.used else None,
            "expected": name(self.expected),
            "expected_subdate": self.expected.subdate.text if self.expected else None,
            "verdict": self.verdict.value, "explanation": self.explanation,
            "local": self.local.value, "local_detail": self.local_detail, "cause": self.cause,
        }


_REASON_WORDS = {
    Reason.NOT_YET_SUBMITTED: "it was submitted {sub}, after the analysis date {an}: the "
                              "product's ANALDATE is wrong or the calibration was patched",
    Reason.NOT_YET_VALID: "its validity starts {val}, after the observation date {obs}: the "
                          "product's OBSVDATE is not the one its calibration was selected for",
    Reason.EXPIRED: "its validity ended {end}, before the observation date {obs}: the product's "
                    "OBSVDATE is not the one its calibration was selected for",
    Reason.CATEGORY: "its category is {cat}, the product's is {pcat}",
    Reason.WITHDRAWN: "it was withdrawn from the archive on {gone}, before the analysis date "
                      "{an}: the product was made from a mirror that kept the file (one that "
                      "followed --delete would not have had it)",
}


def why_not_words(rule: Rule, c: Constituent, withdrawals: Withdrawals = NONE) -> str:
    """The rule step ``c`` fails at ``rule``'s dates, in words ('' when it is eligible)."""
    reason = rule.why_not(c, withdrawals)
    if reason is None:
        return ""
    gone = withdrawals.as_of(c.filename, rule.analysis_date)
    return _REASON_WORDS[reason].format(
        sub=c.subdate, an=rule.analysis_date, val=c.valdate, obs=rule.obs_date, end=c.evaldate,
        cat=c.category, pcat=rule.category, gone=gone.since if gone else "")


def _attr_diff(a: Constituent, b: Constituent, other: str = "the catalogue") -> list[str]:
    """How the product's row ``a`` and ``other``'s description ``b`` of one name differ."""
    def text(v: object) -> str:
        return "open" if v is None else str(v)

    return [f"{f} {text(va)} in the product, {text(vb)} in {other}"
            for f, va, vb in differences(a, b)]


def judge(rule: Rule, key: tuple[str, str], used: Constituent | None,
          expected: Constituent | None, known_copy: Constituent | None = None,
          withdrawals: Withdrawals = NONE) -> Finding:
    """Explain one type: the product's constituent against the rule's choice."""
    name = f"{key[0]}_{key[1]}"
    an = rule.analysis_date.date
    if used is None:
        assert expected is not None
        return Finding(key, None, expected, Verdict.MISSING_TYPE,
                       f"{name}: absent from the product, but issue {expected.issue} (submitted "
                       f"{expected.subdate.date}) is eligible at its dates: the repository used "
                       "lacked the type")
    if known_copy is not None and (diffs := _attr_diff(used, known_copy)):
        return Finding(key, used, expected, Verdict.DIFFERS,
                       f"{name}: issue {used.issue} of the product and the catalogue's "
                       f"{used.filename} are a different file under the same name "
                       f"({'; '.join(diffs)})")
    if expected is not None and expected.filename == used.filename:
        return Finding(key, used, expected, Verdict.AGREES, "")
    why = why_not_words(rule, used, withdrawals)
    if rule.why_not(used, withdrawals) is Reason.WITHDRAWN:
        instead = (f"issue {expected.issue}" if expected is not None
                   else "no issue (the type would be absent)")
        return Finding(key, used, expected, Verdict.WITHDRAWN,
                       f"{name}: product used issue {used.issue}, but {why}; the rule gives "
                       f"{instead}")
    if expected is None:
        return Finding(key, used, None, Verdict.EXTRA_TYPE if not why else Verdict.NOT_ELIGIBLE,
                       f"{name}: product used issue {used.issue}, but {why}" if why else
                       f"{name}: product used issue {used.issue}; the catalogue gives no issue")
    if expected.issue > used.issue:
        text = (f"{name}: product used issue {used.issue}, but issue {expected.issue} was "
                f"submitted {expected.subdate.date}, before the analysis date {an}: the "
                "repository used was stale")
        if why:
            text += f"; moreover issue {used.issue} is not eligible: {why}"
        return Finding(key, used, expected, Verdict.STALE, text)
    return Finding(key, used, expected, Verdict.NOT_ELIGIBLE,
                   f"{name}: issue {used.issue} used, but {why}; the rule gives issue "
                   f"{expected.issue} (submitted {expected.subdate.date})")


def stale_cause(finding: Finding, rule: Rule, arrivals: Mapping[str, Any]) -> Finding:
    """A stale finding explained by when the newer issue arrived in this repository
    (``arrivals``: name -> the history's first holding, :meth:`reprocal.repo._history.History.arrivals`)."""
    if finding.verdict is not Verdict.STALE or finding.expected is None:
        return finding
    newer = finding.expected.filename
    came = arrivals.get(newer)
    an = rule.analysis_date
    if came is None:
        return attrs.evolve(finding, cause="unknown", explanation=finding.explanation
                            + f"; the mirror history does not say when {newer} arrived here")
    if came.how == "arrived" and came.since > an:
        return attrs.evolve(finding, cause="late-arrival", explanation=finding.explanation
                            + f": {newer} arrived in this repository only on {came.since.date}"
                            f" (from {came.mirror}), after the analysis date: a stale mirror, "
                            "the late arrival is the cause")
    if came.since <= an:
        return attrs.evolve(finding, cause="held-then", explanation=finding.explanation
                            + f"; yet {newer} was in this repository since {came.since.date}, "
                            "before the analysis date: the product was not made from this "
                            "repository as it then was (another SAS_CCFPATH, or a copy)")
    return attrs.evolve(finding, cause="unknown", explanation=finding.explanation
                        + f"; {newer} was found here on {came.since.date}, held since an "
                        "unknown date (before the mirror history began)")


def check_local(
    used: Constituent, copy: LocalCopy | None, *, sha256: str | None = None,
    hash_file: Callable[[Path], str] | None = None,
) -> tuple[Local, str]:
    """Is ``used`` present locally with the same content? With a pinned ``sha256`` (manifest or
    record) the bytes are hashed; else size and header attributes are compared with the row."""
    if copy is None:
        return Local.MISSING, f"{used.filename} is not in the local repository"
    if sha256 is not None and hash_file is not None:
        actual = hash_file(copy.path)
        if actual != sha256:
            return Local.DIFFERENT, f"{copy.path}: sha256 {actual}, the product pinned {sha256}"
        return Local.OK, str(copy.path)
    diffs = local_differences(used, copy)
    if diffs:
        return Local.DIFFERENT, f"{copy.path}: " + "; ".join(diffs)
    return Local.OK, str(copy.path)


def local_differences(used: Constituent, copy: LocalCopy) -> list[str]:
    """How a local copy differs from what the product used, as far as its row tells (size, MD5
    where both are known, the selection attributes), in words; ``[]``: no difference seen."""
    out = []
    for f, va, vb in differences(used, copy.constituent):
        if f == "FSIZE":
            out.append(f"size {vb} bytes, the product's row says {va}")
        elif f == "MD5":
            out.append(f"MD5 {vb}, the product's row says {va}")
        else:
            out.append(f"{f} {'open' if vb is None else vb} here, "
                       f"{'open' if va is None else va} in the product")
    return out


FINDING_COLUMNS = ("scope", "typeid", "used", "used_subdate", "expected", "expected_subdate",
                   "verdict", "explanation", "local", "local_detail")
"""The columns of :meth:`AuditReport.to_table` (the keys of :meth:`Finding.to_json`)."""


@attrs.frozen
class AuditReport:
    """Everything audit found about one product."""

    state: State
    """The product's calibration state (label = its path)."""
    rule: Rule | None
    """The rule at the product's own dates (``None`` when it carries no dates)."""
    findings: tuple[Finding, ...]
    """One per type in the product or in the rule's selection, sorted."""
    today: CalDate | None = None
    today_changes: tuple[Change, ...] = ()
    """What re-making the product with ``today``'s calibration would change (empty also when
    that was not judged: see :attr:`today_judged`)."""
    known: int = 0
    """How many constituents the catalogue knew."""
    unknown: int = 0
    """The product's rows the catalogue does not know by name."""
    different: int = 0
    """The product's rows the catalogue knows under the same name with other attributes."""
    beyond: int = 0
    """Constituents the catalogue knows beyond the product's own rows (by name)."""
    withdrawn: tuple[tuple[Constituent, Withdrawal], ...] = ()
    """Constituents the product used that were withdrawn from the archive (at any date), each
    with its withdrawal."""

    @property
    def describes(self) -> bool:
        """Whether the catalogue describes the product's calibration: at most half of its rows
        are unknown to it or different from its copies. When it does not, the product was
        judged against its own rows only."""
        rows = len(self.state.constituents)
        return 2 * (self.unknown + self.different) <= rows if rows else self.known > 0

    @property
    def today_judged(self) -> bool:
        """Whether "re-made with today's calibration" could be judged: the catalogue describes
        the product and knows constituents beyond its rows."""
        return self.today is not None and self.describes and self.beyond > 0

    @property
    def disagreements(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings
                     if f.verdict not in (Verdict.AGREES, Verdict.UNJUDGED))

    @property
    def unavailable(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.local in (Local.MISSING, Local.DIFFERENT))

    @property
    def ok(self) -> bool:
        return not self.disagreements and not self.unavailable

    def to_table(self) -> Any:
        """One row per calibration type judged, as an astropy ``Table``."""
        from reprocal.fits._tabular import rows_table

        return rows_table([f.to_json() for f in self.findings], names=FINDING_COLUMNS)

    def to_pandas(self) -> Any:
        """:meth:`to_table` as a pandas ``DataFrame`` (pandas must be installed)."""
        from reprocal.fits._tabular import to_pandas

        return to_pandas(self.to_table())

    def _repr_html_(self) -> str:
        from reprocal._html import element, join, table

        lines = render(self)
        bad = self.disagreements
        rows = [[f"{f.key[0]}_{f.key[1]}", f.used.issue if f.used else "-",
                 f.expected.issue if f.expected else "-", f.verdict.value, f.explanation]
                for f in bad]
        today = [[f"{c.key[0]}_{c.key[1]}", c.a.issue if c.a else "-",
                  c.b.issue if c.b else "-", c.note] for c in self.today_changes]
        return str(join([
            element("p", lines[0]), element("p", lines[1].strip()),
            table(["type", "used", "rule gives", "verdict", "explanation"], rows) if rows else "",
            table(["type", "product's issue", "today's issue", "why"], today,
                  caption=f"re-made with today's calibration ({self.today.date})")
            if today and self.today is not None else ""]))

    def to_json(self) -> dict[str, Any]:
        s = self.state
        return {
            "product": s.label, "constituents": len(s.constituents),
            "obs_date": s.obs_date.text if s.obs_date else None,
            "analysis_date": s.analysis_date.text if s.analysis_date else None,
            "agrees": not self.disagreements, "available": not self.unavailable,
            "catalogue_constituents": self.known,
            "catalogue_describes": self.describes,
            "rows_unknown_to_catalogue": self.unknown, "rows_different_in_catalogue": self.different,
            "catalogue_beyond_product": self.beyond,
            "today_judged": self.today_judged,
            "findings": [f.to_json() for f in self.findings],
            "today": self.today.text if self.today else None,
            "today_changes": [c.to_json() for c in self.today_changes],
            "withdrawn_used": [{"name": c.filename, **w.to_json(),
                                "before_analysis": self._before(w)} for c, w in self.withdrawn],
        }

    def _before(self, w: Withdrawal) -> bool | None:
        an = self.state.analysis_date
        return None if an is None else w.since <= an

    def withdrawal_lines(self) -> list[str]:
        """What the report says first about withdrawn constituents the product used."""
        if not self.withdrawn:
            return []
        out = [f"  used {len(self.withdrawn)} constituent(s) since withdrawn from the archive:"]
        for c, w in self.withdrawn:
            when = self._before(w)
            rel = ("" if when is None else ", before its analysis date" if when
                   else ", after its analysis date")
            out.append(f"    {c.filename}: {w.describe()}{rel}")
        return out


def audit_state(
    state: State,
    known: Sequence[Constituent],
    *,
    category: str = DEFAULT_CATEGORY,
    local: Mapping[str, LocalCopy] | None = None,
    pinned: Mapping[str, str] | None = None,
    hash_file: Callable[[Path], str] | None = None,
    today: CalDate | None = None,
    withdrawals: Withdrawals = NONE,
    arrivals: Mapping[str, Any] | None = None,
) -> AuditReport:
    """Judge ``state`` against ``known`` (catalogue: present + expected constituents).

    The rule runs over the catalogue plus the product's own rows, so an issue the catalogue has
    never heard of is still judged by the rule. ``local`` (file name -> copy) enables the
    availability check (``None``: skipped); ``pinned`` gives sha256s to check bytes against.
    ``withdrawals`` (the repository's mirror history) are the rule's step 0; ``arrivals`` (name
    -> first holding, from the same history) explain a stale finding by its cause.
    """
    used = {c.key: c for c in state.constituents}
    known_by_name = {c.filename: c for c in known}
    unknown = sum(c.filename not in known_by_name for c in state.constituents)
    different = sum(bool(differences(c, known_by_name[c.filename])) for c in state.constituents
                    if c.filename in known_by_name)
    beyond = len(set(known_by_name) - {c.filename for c in state.constituents})
    describes = AuditReport(state, None, (), known=len(known), unknown=unknown,
                            different=different).describes
    if not describes:  # judge the product by its own rows, not by an unrelated catalogue
        known_by_name = {}
    pool = [c for c in known if describes] + [c for c in state.constituents
                                              if c.filename not in known_by_name]
    selector = Selector(pool, withdrawals=withdrawals)
    rule = None
    expected: dict[tuple[str, str], Constituent] = {}
    if state.obs_date is not None and state.analysis_date is not None:
        rule = Rule(state.obs_date, state.analysis_date, category)
        expected = selector.apply(rule).by_key()
    findings = []
    for key in sorted(set(used) | set(expected)):
        u = used.get(key)
        if rule is None:
            finding = Finding(key, u, None, Verdict.UNJUDGED,
                              "the product carries no OBSVDATE/ANALDATE to judge it by")
        else:
            finding = judge(rule, key, u, expected.get(key),
                            known_by_name.get(u.filename) if u else None, withdrawals)
            if arrivals is not None:
                finding = stale_cause(finding, rule, arrivals)
        if u is not None and local is not None:
            where, detail = check_local(u, local.get(u.filename),
                                        sha256=(pinned or {}).get(u.filename), hash_file=hash_file)
            finding = attrs.evolve(finding, local=where, local_detail=detail)
        findings.append(finding)
    changes: tuple[Change, ...] = ()
    if today is not None and state.obs_date is not None and describes and beyond:
        now = selector.select(state.obs_date, today, category=category)
        changes = diff_states(state, State("today", now.chosen, state.obs_date, today),
                              names=("the product", "today")).changes
    gone = tuple((c, w) for c in state.constituents
                 for w in withdrawals.periods(c.filename)[-1:])
    return AuditReport(state, rule, tuple(findings), today, changes, len(known), unknown,
                       different, beyond, gone)


LOCAL_SHOWN = 10
"""Constituents not available locally listed by :func:`render` (JSON lists all)."""


def _catalogue_line(report: AuditReport) -> str:
    """The one line saying the catalogue does not describe the product's calibration."""
    n = len(report.state.constituents)
    if not report.known:
        what = "the catalogue knows no constituents"
    else:
        parts = [f"{report.unknown} of its {n} rows are unknown to it"] if report.unknown else []
        if report.different:
            parts.append(f"{report.different} are a different file under the same name")
        what = (f"the catalogue ({report.known} constituents) does not describe this product's "
                f"calibration: {' and '.join(parts)}")
    return (f"  {what}; judged against its own {n} rows only (give --import-index the master "
            "index of the archive it was made from, or --ccf-path its repository)")


def render(report: AuditReport) -> list[str]:
    """Human-readable lines."""
    s = report.state
    lines = [f"{s.label}: {len(s.constituents)} constituents; OBSVDATE {s.obs_date or '-'}, "
             f"ANALDATE {s.analysis_date or '-'}"]
    lines += report.withdrawal_lines()
    bad = report.disagreements
    if report.rule is None:
        lines.append("  not judged: the product carries no observation/analysis date")
    elif not report.describes:
        lines.append(_catalogue_line(report))
        lines.append("  every row satisfies the selection rule at its own dates" if not bad else
                     f"  {len(bad)} row(s) fail the selection rule at its own dates:")
        lines.extend(f"    {f.explanation}" for f in bad)
    elif not bad and not report.beyond:
        lines.append(f"  every row satisfies the selection rule at its own dates; the catalogue "
                     f"knows no constituent beyond the product's own {len(s.constituents)} "
                     "rows, so it cannot tell whether a newer one was eligible")
    elif not bad:
        lines.append(f"  agrees with the selection rule at its own dates over the catalogue "
                     f"({report.known} known constituents)")
    else:
        lines.append(f"  {len(bad)} type(s) disagree with the selection rule at its own dates "
                     f"over the catalogue ({report.known} known constituents):")
        lines.extend(f"    {f.explanation}" for f in bad)
    missing = report.unavailable
    checked = [f for f in report.findings if f.local is not Local.NOT_USED]
    if checked:
        lines.append(f"  locally: {len(checked) - len(missing)} of {len(checked)} constituents "
                     "present with matching content")
        lines.extend(f"    {f.local.value}: {f.local_detail}" for f in missing[:LOCAL_SHOWN])
        if len(missing) > LOCAL_SHOWN:
            lines.append(f"    ... and {len(missing) - LOCAL_SHOWN} more (--json lists all)")
    if report.today is not None and report.rule is not None:
        when = f"re-made with today's calibration ({report.today.date})"
        if not report.describes:
            lines.append(f"  {when}: not judged (the catalogue does not describe the product)")
        elif not report.beyond:
            lines.append(f"  {when}: cannot tell (the catalogue knows no constituent beyond the "
                         "product's own rows)")
        elif report.today_changes:
            lines.append(f"  {when}, over {report.known} known constituents, "
                         f"{len(report.today_changes)} type(s) would change:")
            lines.extend(f"    {c.describe()}" for c in report.today_changes)
        else:
            lines.append(f"  {when}: no change (over {report.known} known constituents, "
                         f"{report.beyond} beyond the product's own rows)")
    return lines


__all__ = ["AuditReport", "Finding", "Local", "LocalCopy", "Verdict", "audit_state",
           "check_local", "judge", "local_differences", "render", "stale_cause",
           "why_not_words"]
