"""Observation dates from ODF summaries, and lists of observations to pin.

cifbuild takes the observation date from the ODF named by ``SAS_ODF`` (a directory or a summary
file): the ``OBSERVATION`` record of ``*SUM.SAS`` (written by odfingest), truncated to whole
seconds. The raw ODF summary ``*SUM.ASC`` has the same record, per the ODF ICD::

    OBSERVATION                       'OBSERVATION' (or 'SLEW'), space-filled to 80 columns
    0201901401 / Observation Identifier
    0809 / Revolution Identifier
    2004-05-09T13:00:16.000 / Observation Start Time    (.ASC: Scheduled Start Time)
    2004-05-09T20:20:16.000 / Observation End Time      (.ASC: Scheduled End Time)

Lines starting with ``//`` are comments. A truncated summary makes cifbuild fail with a bare
``UnexpectedEOF``; here every error names the file and line, and says what was expected.

>>> obs = read_summary(demo_summary_path())
>>> obs.obs_id, obs.start, obs.line
('0999990101', CalDate('2005-03-14T08:30:00'), 15)
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path

import attrs

from reprocal.core._dates import CalDate
from reprocal.core._names import check_label
from reprocal.errors import DateError, InputError, OdfError
from reprocal.fs._inputs import read_input
from reprocal.fs._limits import current_limits

DEMO_SUMMARY = "demo_SCX00000SUM.SAS"
"""The bundled, synthetic summary used by the demo when the real samples are absent."""

_TRUNCATED_HINT = "the summary is truncated; copy it again from the ODF or re-run odfingest"
_DAMAGED_HINT = "the summary is damaged; re-run odfingest, or give the date with --obs-date"


@attrs.frozen
class OdfObservation:
    """The OBSERVATION record of an ODF summary."""

    obs_id: str | None
    """Observation identifier ``ppppppooll`` (None when the field is blank)."""
    revolution: str | None
    """Revolution number ``rrrr`` (None when the field is blank)."""
    start: CalDate
    """Observation start, whole seconds: what cifbuild uses as the observation date."""
    end: CalDate | None
    """Observation end (None when the field is blank)."""
    source: str
    """The summary file it was read from."""
    line: int
    """The line number (from 1) the start time was read from."""


def _fail(path: str | Path, line: int | None, what: str, hint: str) -> OdfError:
    where = f"{path}:{line}" if line is not None else f"{path}"
    return OdfError(f"{where}: {what}", hint=hint, path=path)


def _labels(path: Path) -> tuple[str, str, str, str]:
    """What each data line of the record is called, in this kind of summary."""
    kind = "Scheduled" if path.name.upper().endswith(".ASC") else "Observation"
    return ("Observation Identifier", "Revolution Identifier",
            f"{kind} Start Time", f"{kind} End Time")


def _read_lines(path: Path, *, what: str = "ODF summary") -> tuple[list[str], bool]:
    """The file's lines (without line ends) and whether the last one was cut (no newline)."""
    try:
        raw = read_input(path, limit=current_limits().document_size, what=what,
                         error=OdfError, name="document-size")
    except OdfError as exc:
        raise _fail(path, None, exc.message, exc.hint or "check the path and its permissions"
                    ) from None
    text = raw.decode("ascii", errors="replace")
    # Split on line ends only (str.splitlines also splits on form feeds and the like, which
    # would shift the line numbers we report).
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    cut = lines[-1] != ""
    return (lines if cut else lines[:-1]), cut


def _records(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(line number, text) of the lines that are not comments or blank."""
    for number, text in enumerate(lines, start=1):
        if text.strip() and not text.lstrip().startswith("//"):
            yield number, text


def read_summary(path: str | Path) -> OdfObservation:
    """Read the OBSERVATION record of an ODF summary (``*SUM.SAS`` or ``*SUM.ASC``)."""
    path = Path(path)
    lines, cut = _read_lines(path)
    if not lines:
        raise _fail(path, 1, "the file is empty; expected an ODF summary with an OBSERVATION "
                    "record", "copy the summary again from the ODF or re-run odfingest")
    body = _records(lines)
    header = None
    for number, text in body:
        keyword = text.strip()
        if keyword == "OBSERVATION":
            header = number
            break
        if keyword == "SLEW":
            raise _fail(path, number, "this is a slew summary (SLEW record), not an observation",
                        "give the ODF of a pointed observation, or pin the date with --obs-date")
    if header is None and cut:
        raise _fail(path, len(lines), f"the file ends in the middle of line {len(lines)}, "
                    "before any OBSERVATION record", _TRUNCATED_HINT)
    if header is None:
        raise _fail(path, len(lines), f"the file ends (after {len(lines)} line"
                    f"{'s' if len(lines) > 1 else ''}) without an "
                    "OBSERVATION record; this is not an ODF summary",
                    "give the *SUM.SAS written by odfingest or the ODF's *SUM.ASC")
    labels = _labels(path)
    values: list[tuple[int, str]] = []
    for label in labels:
        entry = next(body, None)
        if entry is None:
            where = f"inside the OBSERVATION record that starts on line {header}"
            if cut and values and values[-1][0] == len(lines):
                what = (f"the file ends in the middle of the {labels[len(values) - 1]} "
                        f"({values[-1][1]!r}), {where}")
            else:
                what = f"the file ends {where}; expected the {label} on the next line"
            raise _fail(path, len(lines), what, _TRUNCATED_HINT)
        number, text = entry
        values.append((number, text.split(" / ", 1)[0].strip()))

    def date(index: int) -> CalDate | None:
        number, value = values[index]
        if cut and number == len(lines) and " / " not in lines[-1]:
            # The last line has no newline and no ' / comment': it may be cut short, and a
            # date cut after the day would still parse (to midnight). Refuse it.
            raise _fail(path, number, f"the file ends in the middle of the {labels[index]} "
                        f"({value!r}), inside the OBSERVATION record that starts on line "
                        f"{header}", _TRUNCATED_HINT)
        if not value and index == 3:
            return None
        try:
            return CalDate.parse(value, field=labels[index])
        except DateError as exc:
            what = exc.message.replace(f"{labels[index]}: ", f"{labels[index]} ", 1)
            raise _fail(path, number, what, _DAMAGED_HINT) from None

    start = date(2)
    assert start is not None
    _only_record(path, body, header)
    return OdfObservation(
        obs_id=values[0][1] or None, revolution=values[1][1] or None, start=start,
        end=date(3), source=str(path), line=values[2][0],
    )


def _only_record(path: Path, rest: Iterator[tuple[int, str]], header: int) -> None:
    """Refuse a second OBSERVATION or SLEW record: which one would cifbuild use?"""
    for number, text in rest:
        if text.strip() in ("OBSERVATION", "SLEW"):
            raise _fail(path, number, f"a second {text.strip()} record (the first starts on "
                        f"line {header}); a summary describes one observation", _DAMAGED_HINT)


def _is_summary(entry: Path, suffix: str) -> bool:
    return entry.name.upper().endswith(suffix) and entry.is_file()


def find_summary(path: str | Path) -> Path:
    """The summary file itself, or the one summary in a directory (``*SUM.SAS`` preferred over
    ``*SUM.ASC``, as odfingest's output carries the dates SAS uses)."""
    path = Path(path)
    if not path.exists():
        raise _fail(path, None, "no such file or directory",
                    "give an ODF directory or its *SUM.SAS summary (--odf, or SAS_ODF)")
    if not path.is_dir():
        return path
    entries = sorted(path.iterdir())
    for suffix in ("SUM.SAS", "SUM.ASC"):
        found = [e for e in entries if _is_summary(e, suffix)]
        if len(found) > 1:
            names = ", ".join(e.name for e in found)
            raise _fail(path, None, f"{len(found)} ODF summaries (*{suffix}) in one directory: "
                        f"{names}", "give the summary file to use instead of the directory")
        if found:
            return found[0]
    raise _fail(path, None, "no ODF summary (*SUM.SAS or *SUM.ASC) in this directory",
                "run odfingest in the ODF directory, or give the summary file")


def observation_date(path: str | Path | None = None,
                     env: Mapping[str, str] = os.environ) -> OdfObservation:
    """The observation record of the ODF at ``path``, or at ``$SAS_ODF`` when no path is given."""
    if path is None or not str(path).strip():
        path = env.get("SAS_ODF", "").strip()
        if not path:
            raise OdfError("no ODF given and SAS_ODF is not set",
                           hint="pass --odf DIR (or a *SUM.SAS file), set SAS_ODF, "
                                "or give the date with --obs-date")
    return read_summary(find_summary(path))


def demo_summary_path() -> Path:
    """The bundled synthetic summary (obs id 0999990101) used by the demo."""
    return Path(str(resources.files("reprocal").joinpath("data").joinpath(DEMO_SUMMARY)))


# --- observation lists (``reprocal pin --obs-list FILE.csv``) -------------------------------

OBS_LIST_COLUMNS: tuple[str, ...] = ("obs_id", "obs_date", "odf", "analysis_date")
"""The columns an observation list may have; ``obs_date`` or ``odf`` is required."""


@attrs.frozen
class ObsSpec:
    """One observation to pin, from an observation list."""

    obs_id: str | None
    """The observation identifier (from the list, else from the ODF summary; may be None)."""
    obs_date: CalDate
    """The observation date, given literally or read from the ODF summary."""
    analysis_date: str | None
    """A literal date or ``now``, as written (the CLI resolves ``now`` once); None = default."""
    source: str | None
    """The ODF summary the date was read from; None when ``obs_date`` was given."""


def _split(path: Path, number: int, text: str) -> list[str]:
    if text and not any(c in text for c in ('"', "\r", "\n", "\0")):
        # no quoting: the csv module splits at each comma (a reader for each of 10,000
        # lines was a third of reading the list)
        return [field.strip() for field in text.split(",")]
    try:
        return [field.strip() for field in next(csv.reader([text], strict=True))]
    except csv.Error as exc:
        raise _fail(path, number, f"not a CSV line ({exc})",
                        "quote fields that contain commas with double quotes") from None


def _header(path: Path, number: int, fields: list[str],
            columns: Sequence[str] = OBS_LIST_COLUMNS) -> list[str]:
    names = [f.lower() for f in fields]
    for index, name in enumerate(names, start=1):
        if name not in columns:
            raise _fail(path, number, f"column {index}: unknown column {fields[index - 1]!r}",
                            f"the columns are {', '.join(columns)}")
        if names.index(name) != index - 1:
            raise _fail(path, number, f"column {index}: column {name!r} appears twice",
                            "keep one of them")
    return names


def _row(path: Path, number: int, row: dict[str, str]) -> ObsSpec:
    def fail(column: str, what: str, hint: str) -> OdfError:
        return _fail(path, number, f"column {column!r}: {what}", hint)

    obs_id = row.get("obs_id") or None
    if obs_id is not None:
        try:
            check_label(obs_id, field="obs_id")
        except InputError as exc:
            raise fail("obs_id", exc.message.split(": ", 1)[-1],
                       "it names the observation's output directory") from None
    literal, odf = row.get("obs_date", ""), row.get("odf", "")
    if literal and odf:
        raise fail("odf", "give either obs_date or odf on a line, not both",
                   "leave one of the two fields empty")
    if not literal and not odf:
        raise fail("obs_date", "no observation date: both obs_date and odf are empty",
                   "give a date (YYYY-MM-DDThh:mm:ss) or an ODF directory or summary")
    analysis = row.get("analysis_date") or None
    if analysis is not None and analysis.lower() != "now":
        try:
            CalDate.parse(analysis, field="analysis_date")
        except DateError as exc:
            raise fail("analysis_date", exc.message.split(": ", 1)[-1],
                       "fix the date, or write 'now'") from None
    if literal:
        try:
            return ObsSpec(obs_id, CalDate.parse(literal, field="obs_date"), analysis, None)
        except DateError as exc:
            raise fail("obs_date", exc.message.split(": ", 1)[-1],
                       "fix the date") from None
    where = path.parent / odf
    if not where.exists():
        raise fail("odf", f"{where}: no such file or directory",
                   "odf paths are relative to the list's directory")
    try:
        found = read_summary(find_summary(where))
    except OdfError as exc:  # its message already says what to do
        raise OdfError(f"{path}:{number}: column 'odf': {exc.one_line()}", path=path) from None
    if obs_id and found.obs_id and obs_id != found.obs_id:
        raise fail("odf", f"obs_id is {obs_id} but {found.source} is observation {found.obs_id}",
                   "give the ODF of that observation")
    return ObsSpec(obs_id or found.obs_id, found.start, analysis, found.source)


def read_list_table(path: str | Path, columns: Sequence[str], *, example: str, wanted: str,
                    check_header: Callable[[int, list[str]], None] | None = None,
                    ) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """An observation list's header (lower-cased, each one of ``columns``; then checked by
    ``check_header(line number, names)``) and its rows as
    ``(line number, {column: field})``: CSV with a header row, ``#`` lines and blank lines
    ignored, read within the ``document-size`` limit (a regular file only). ``example`` is the
    header row the messages suggest, ``wanted`` the columns in words."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, None, "no such file" if not path.exists() else "not a file",
                    f"give a CSV file with columns {wanted}")
    lines, _cut = _read_lines(path, what="observation list")
    names: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        fields = _split(path, number, text)
        if names is None:
            names = _header(path, number, fields, columns)
            if check_header is not None:
                check_header(number, names)
            continue
        if len(fields) != len(names):
            raise _fail(path, number, f"{len(fields)} fields but the header has "
                            f"{len(names)} ({','.join(names)})", "one field per column")
        rows.append((number, dict(zip(names, fields, strict=True))))
    if names is None:
        raise _fail(path, max(len(lines), 1), "the file is empty; expected a header row "
                        f"such as '{example}'", "add the header and one line "
                        "per observation")
    if not rows:
        raise _fail(path, len(lines), "no observations after the header",
                        "add one line per observation")
    return names, rows


def read_obs_list(path: str | Path) -> tuple[ObsSpec, ...]:
    """Read an observation list: CSV with a header row (see :data:`OBS_LIST_COLUMNS`); ``odf``
    paths are relative to the list's directory; ``#`` lines and blank lines are ignored."""
    path = Path(path)
    def dated(number: int, names: list[str]) -> None:
        if "obs_date" not in names and "odf" not in names:
            raise _fail(path, number, "the header has neither an 'obs_date' nor an 'odf' "
                        "column", "add obs_date (a literal date) or odf (an ODF directory or "
                        "summary)")

    _, rows = read_list_table(path, OBS_LIST_COLUMNS, check_header=dated,
                              example="obs_id,obs_date,analysis_date",
                              wanted="obs_id,obs_date (or odf),analysis_date")
    specs: list[ObsSpec] = []
    seen: dict[str, int] = {}
    for number, row in rows:
        spec = _row(path, number, row)
        if spec.obs_id is not None:
            if spec.obs_id in seen:
                raise _fail(path, number, f"column 'obs_id': {spec.obs_id} is already on "
                                f"line {seen[spec.obs_id]}", "list each observation once")
            seen[spec.obs_id] = number
        specs.append(spec)
    return tuple(specs)
