"""Tests of reprocal.odf: observation dates from ODF summaries, and observation lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reprocal.core._dates import CalDate
from reprocal.errors import OdfError
from reprocal.fits._odf import (
    ObsSpec,
    OdfObservation,
    demo_summary_path,
    find_summary,
    observation_date,
    read_obs_list,
    read_summary,
)

HEADER = "// ODF Summary File (test)\n//\n"
RECORD = (
    "OBSERVATION\n"
    "0201901401 / Observation Identifier\n"
    "0809 / Revolution Identifier\n"
    "2004-05-09T13:00:16.000 / Observation Start Time\n"
    "2004-05-09T20:20:16.000 / Observation End Time\n"
)
TAIL = "//\nFILES\n1 / Number of Files\n0809_0201901401_SCX00000SUM.ASC / ODF Constituent\n"
GOOD = HEADER + RECORD + TAIL  # OBSERVATION on line 3, start time on line 6

REAL = [  # (obs id, revolution, OBSVDATE of the sample's ccf.cif, from the samples README)
    ("0201901401", "0809", "2004-05-09T13:00:16"),
    ("0201903501", "0828", "2004-06-17T10:38:28"),
    ("0404910601", "1184", "2006-05-27T09:57:27"),
]


def write(directory: Path, content: str, name: str = "0809_0201901401_SCX00000SUM.SAS") -> Path:
    path = directory / name
    path.write_text(content)
    return path


# --- real summaries -------------------------------------------------------------------------


@pytest.mark.parametrize(("obs_id", "revolution", "obsvdate"), REAL)
def test_real_summary_gives_the_cif_obsvdate(samples: Path, obs_id, revolution, obsvdate):
    """Each real odfingest summary gives exactly the OBSVDATE cifbuild wrote into its ccf.cif."""
    path = samples / obs_id / f"{revolution}_{obs_id}_SCX00000SUM.SAS"
    obs = read_summary(path)
    assert (obs.obs_id, obs.revolution, obs.start) == (obs_id, revolution, CalDate(obsvdate))
    assert obs.line == 18
    assert obs.source == str(path)
    assert obs.end is not None and obs.end > obs.start


@pytest.mark.parametrize(("obs_id", "revolution", "obsvdate"), REAL)
def test_real_odf_directory(samples: Path, obs_id, revolution, obsvdate):
    """A directory holding a real summary (and other files) is accepted like SAS_ODF is."""
    obs = observation_date(samples / obs_id)
    assert obs.start == CalDate(obsvdate)
    assert Path(obs.source).name == f"{revolution}_{obs_id}_SCX00000SUM.SAS"


# --- good inputs ----------------------------------------------------------------------------


def test_sas_summary_fields(tmp_path: Path):
    """All fields of the OBSERVATION record are parsed; the start is truncated to seconds."""
    path = write(tmp_path, GOOD.replace("13:00:16.000", "13:00:16.999"))
    assert read_summary(path) == OdfObservation(
        obs_id="0201901401", revolution="0809", start=CalDate("2004-05-09T13:00:16"),
        end=CalDate("2004-05-09T20:20:16"), source=str(path), line=6,
    )


def test_raw_asc_summary_uses_scheduled_start_time(tmp_path: Path):
    """A raw ODF *SUM.ASC (80-column space-filled lines) gives its Scheduled Start Time."""
    lines = [
        "OBSERVATION", "0201901401 / Observation Identifier", "0809 / Revolution Identifier",
        "2004-05-09T12:40:00 / Scheduled Start Time", "2004-05-09T20:20:00 / Scheduled End Time",
        "FILES", "1 / Number of Files",
    ]
    path = write(tmp_path, "".join(f"{line:<80}\n" for line in lines),
                 "0809_0201901401_SCX00000SUM.ASC")
    obs = read_summary(path)
    assert (obs.obs_id, obs.start, obs.end, obs.line) == (
        "0201901401", CalDate("2004-05-09T12:40:00"), CalDate("2004-05-09T20:20:00"), 4)


def test_exposure_scheduled_times_are_not_the_observation_start(tmp_path: Path):
    """Only the OBSERVATION record counts, not later EXPOSURE records' scheduled times."""
    exposure = ("EXPOSURE\n002 / Exposure Identifier\n"
                "2004-05-09T16:07:05.000 / Scheduled Start Time\n")
    path = write(tmp_path, "// x\n" + RECORD + exposure)
    assert read_summary(path).start == CalDate("2004-05-09T13:00:16")


def test_comment_lines_inside_the_record_are_skipped(tmp_path: Path):
    """'//' comments and blank lines between the record's lines do not shift the fields."""
    content = RECORD.replace("0809 /", "// a comment\n\n0809 /")
    obs = read_summary(write(tmp_path, content))
    assert (obs.revolution, obs.start, obs.line) == ("0809", CalDate("2004-05-09T13:00:16"), 6)


def test_blank_end_and_ids_are_none(tmp_path: Path):
    """Blank identifier, revolution and end fields are None, not empty strings."""
    content = "OBSERVATION\n / Observation Identifier\n / Revolution Identifier\n" \
              "2004-05-09T13:00:16 / Observation Start Time\n / Observation End Time\n"
    obs = read_summary(write(tmp_path, content))
    assert (obs.obs_id, obs.revolution, obs.end) == (None, None, None)


def test_directory_prefers_sas_over_asc(tmp_path: Path):
    """In an ODF directory holding both, odfingest's *SUM.SAS is used, as cifbuild does."""
    write(tmp_path, GOOD.replace("Observation S", "Scheduled S").replace("13:00", "12:40"),
          "0809_0201901401_SCX00000SUM.ASC")
    sas = write(tmp_path, GOOD)
    (tmp_path / "0809_0201901401_M1U00200AUX.FIT").write_bytes(b"")
    assert find_summary(tmp_path) == sas
    assert observation_date(tmp_path).start == CalDate("2004-05-09T13:00:16")


def test_directory_with_only_asc(tmp_path: Path):
    """A raw ODF directory (no odfingest yet) falls back to its *SUM.ASC."""
    asc = write(tmp_path, GOOD, "0809_0201901401_SCX00000SUM.ASC")
    assert find_summary(tmp_path) == asc


def test_sas_odf_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Without a path, $SAS_ODF names the ODF (here through the process environment)."""
    write(tmp_path, GOOD)
    monkeypatch.setenv("SAS_ODF", str(tmp_path))
    assert observation_date().start == CalDate("2004-05-09T13:00:16")


def test_explicit_path_wins_over_sas_odf(tmp_path: Path):
    """A path given explicitly is used even when SAS_ODF names another ODF."""
    path = write(tmp_path, GOOD)
    obs = observation_date(path, env={"SAS_ODF": str(tmp_path / "elsewhere")})
    assert obs.source == str(path)


def test_demo_summary_is_bundled_and_synthetic():
    """The bundled demo summary parses and is clearly not a real observation."""
    path = demo_summary_path()
    assert path.name == "demo_SCX00000SUM.SAS"
    assert "reprocal demo file" in path.read_text()
    obs = read_summary(path)
    assert (obs.obs_id, obs.start.date[:4]) == ("0999990101", "2005")


# --- bad summaries --------------------------------------------------------------------------

TRUNCATED = "the summary is truncated; copy it again from the ODF or re-run odfingest"
DAMAGED = "the summary is damaged; re-run odfingest, or give the date with --obs-date"
INSIDE = "inside the OBSERVATION record that starts on line 3"

BAD_SUMMARIES = [
    pytest.param(
        HEADER + "OBSERVATION\n",
        f"{{path}}:3: the file ends {INSIDE}; expected the Observation Identifier on the next "
        f"line; {TRUNCATED}", id="eof-after-keyword"),
    pytest.param(
        GOOD[: GOOD.index("0809 /")],
        f"{{path}}:4: the file ends {INSIDE}; expected the Revolution Identifier on the next "
        f"line; {TRUNCATED}", id="eof-after-obs-id"),
    pytest.param(
        GOOD[: GOOD.index("2004-05-09T13")] + "// trailing comment\n",
        f"{{path}}:6: the file ends {INSIDE}; expected the Observation Start Time on the next "
        f"line; {TRUNCATED}", id="eof-after-revolution"),
    pytest.param(
        GOOD[: GOOD.index("2004-05-09T20")],
        f"{{path}}:6: the file ends {INSIDE}; expected the Observation End Time on the next "
        f"line; {TRUNCATED}", id="eof-after-start"),
    pytest.param(
        GOOD[: GOOD.index("2004-05-09T13") + 15],
        f"{{path}}:6: the file ends in the middle of the Observation Start Time "
        f"('2004-05-09T13:0'), {INSIDE}; {TRUNCATED}", id="cut-inside-start"),
    pytest.param(
        GOOD[: GOOD.index("0809 /") + 2],
        f"{{path}}:5: the file ends in the middle of the Revolution Identifier ('08'), {INSIDE}; "
        f"{TRUNCATED}", id="cut-inside-revolution"),
    pytest.param(
        GOOD[: GOOD.index("2004-05-09T20") + 10],
        f"{{path}}:7: the file ends in the middle of the Observation End Time ('2004-05-09'), "
        f"{INSIDE}; {TRUNCATED}", id="cut-end-date-that-would-parse"),
    pytest.param(
        GOOD.replace("2004-05-09T13:00:16.000", "2004-13-09T13:00:16.000"),
        f"{{path}}:6: Observation Start Time '2004-13-09T13:00:16.000' has month 13; expected "
        f"01..12; {DAMAGED}", id="bad-month"),
    pytest.param(
        GOOD.replace("2004-05-09T13:00:16.000", "9 May 2004"),
        f"{{path}}:6: Observation Start Time '9 May 2004' is not a date; expected YYYY-MM-DD or "
        f"YYYY-MM-DDThh:mm:ss; {DAMAGED}", id="not-a-date"),
    pytest.param(
        GOOD.replace("2004-05-09T20:20:16.000", "2004-05-09T25:20:16.000"),
        f"{{path}}:7: Observation End Time '2004-05-09T25:20:16.000' has an impossible time of "
        f"day; {DAMAGED}", id="bad-end"),
    pytest.param(
        HEADER + "2004-05-09T13:00:16.000 / Observation Start Time\n" + TAIL,
        "{path}:7: the file ends (after 7 lines) without an OBSERVATION record; this is not an "
        "ODF summary; give the *SUM.SAS written by odfingest or the ODF's *SUM.ASC",
        id="no-observation-record"),
    pytest.param(
        "\n",
        "{path}:1: the file ends (after 1 line) without an OBSERVATION record; this is not an "
        "ODF summary; give the *SUM.SAS written by odfingest or the ODF's *SUM.ASC",
        id="one-blank-line"),
    pytest.param(
        "",
        "{path}:1: the file is empty; expected an ODF summary with an OBSERVATION record; copy "
        "the summary again from the ODF or re-run odfingest", id="empty"),
    pytest.param(
        HEADER + "OBSERVA",
        f"{{path}}:3: the file ends in the middle of line 3, before any OBSERVATION record; "
        f"{TRUNCATED}", id="cut-inside-keyword"),
    pytest.param(
        RECORD.replace("\n", "\r\n").replace("13:00:16", "13:61:16"),
        f"{{path}}:4: Observation Start Time '2004-05-09T13:61:16.000' has an impossible time "
        f"of day; {DAMAGED}", id="crlf-line-numbers"),
    pytest.param(
        HEADER + "SLEW\n",
        "{path}:3: this is a slew summary (SLEW record), not an observation; give the ODF of a "
        "pointed observation, or pin the date with --obs-date", id="slew"),
]


@pytest.mark.parametrize(("content", "message"), BAD_SUMMARIES)
def test_bad_summary_messages(tmp_path: Path, content: str, message: str):
    """Each bad summary gives one exact line naming the file and the line, and what to do."""
    path = write(tmp_path, content)
    with pytest.raises(OdfError) as info:
        observation_date(path)
    assert str(info.value) == message.format(path=path)
    assert info.value.exit_code == 2


def test_every_cut_of_a_summary_is_refused_until_the_record_is_whole(tmp_path: Path):
    """Cutting a summary at any byte: an OdfError until the end time and its ' / ' are there,
    the right start time from then on (a cut date never parses to a wrong one)."""
    whole = GOOD.index(" / Observation End Time") + len(" / ")
    path = tmp_path / "cut_SUM.SAS"
    for size in range(len(GOOD) + 1):
        path.write_text(GOOD[:size])
        if size < whole:
            with pytest.raises(OdfError, match=r"empty|truncated|not an ODF summary"):
                read_summary(path)
        else:
            assert read_summary(path).start == CalDate("2004-05-09T13:00:16"), size


def test_real_summary_truncated_names_the_line(samples: Path, tmp_path: Path):
    """A real summary cut after its Revolution line fails at line 17, naming the next field."""
    real = samples / "0201901401" / "0809_0201901401_SCX00000SUM.SAS"
    path = write(tmp_path, "".join(real.read_text().splitlines(keepends=True)[:17]))
    with pytest.raises(OdfError, match=r":17: the file ends inside the OBSERVATION record that "
                       r"starts on line 15; expected the Observation Start Time"):
        read_summary(path)


@pytest.mark.parametrize(("names", "message"), [
    pytest.param(("a_SCX00000SUM.SAS", "b_SCX00000SUM.SAS"),
                 "{path}: 2 ODF summaries (*SUM.SAS) in one directory: a_SCX00000SUM.SAS, "
                 "b_SCX00000SUM.SAS; give the summary file to use instead of the directory",
                 id="two-sas"),
    pytest.param(("a_SCX00000SUM.ASC", "b_SCX00000SUM.ASC"),
                 "{path}: 2 ODF summaries (*SUM.ASC) in one directory: a_SCX00000SUM.ASC, "
                 "b_SCX00000SUM.ASC; give the summary file to use instead of the directory",
                 id="two-asc"),
    pytest.param(("x_M1U00200AUX.FIT",),
                 "{path}: no ODF summary (*SUM.SAS or *SUM.ASC) in this directory; run odfingest "
                 "in the ODF directory, or give the summary file", id="no-summary"),
])
def test_bad_directory_messages(tmp_path: Path, names: tuple[str, ...], message: str):
    """A directory must hold exactly one summary of the preferred kind."""
    for name in names:
        write(tmp_path, GOOD, name)
    with pytest.raises(OdfError) as info:
        observation_date(tmp_path)
    assert str(info.value) == message.format(path=tmp_path)


def test_missing_path(tmp_path: Path):
    """A path that does not exist is named, with where the ODF may come from."""
    with pytest.raises(OdfError) as info:
        observation_date(tmp_path / "nope")
    assert str(info.value) == (f"{tmp_path / 'nope'}: no such file or directory; give an ODF "
                               "directory or its *SUM.SAS summary (--odf, or SAS_ODF)")


@pytest.mark.parametrize("env", [{}, {"SAS_ODF": "  "}])
def test_no_odf_and_no_sas_odf(env: dict[str, str]):
    """Neither a path nor SAS_ODF: tell the user to pass --odf or set SAS_ODF."""
    with pytest.raises(OdfError) as info:
        observation_date(env=env)
    assert str(info.value) == ("no ODF given and SAS_ODF is not set; pass --odf DIR (or a "
                               "*SUM.SAS file), set SAS_ODF, or give the date with --obs-date")


# --- observation lists ----------------------------------------------------------------------


def test_obs_list_literal_dates_and_odfs(tmp_path: Path):
    """Literal dates and ODF paths (relative to the list) mix; comments and blanks are ignored."""
    odf = tmp_path / "odfs" / "0201901401"
    odf.mkdir(parents=True)
    summary = write(odf, GOOD)
    listing = tmp_path / "obs.csv"
    listing.write_text(
        "# observations of the paper\n"
        "obs_id, obs_date, odf, analysis_date\n"
        "\n"
        "0201903501,2004-06-17T10:38:28.500,,2018-07-27T17:50:42\n"
        "# taken from its ODF:\n"
        ",,odfs/0201901401,now\n"
        "0404910601,2006-05-27,,\n"
    )
    assert read_obs_list(listing) == (
        ObsSpec("0201903501", CalDate("2004-06-17T10:38:28"), "2018-07-27T17:50:42", None),
        ObsSpec("0201901401", CalDate("2004-05-09T13:00:16"), "now", str(summary)),
        ObsSpec("0404910601", CalDate("2006-05-27T00:00:00"), None, None),
    )


def test_obs_list_minimal_columns(tmp_path: Path):
    """A list with only obs_date is enough (no obs_id, no analysis date)."""
    listing = tmp_path / "obs.csv"
    listing.write_text("OBS_DATE\n2004-05-09T13:00:16\n")
    assert read_obs_list(listing) == (ObsSpec(None, CalDate("2004-05-09T13:00:16"), None, None),)


BAD_LISTS = [
    pytest.param("obs_id,obs_date,exposure\n",
                 "{path}:1: column 3: unknown column 'exposure'; the columns are obs_id, "
                 "obs_date, odf, analysis_date", id="unknown-column"),
    pytest.param("obs_id,obs_date,obs_date\n",
                 "{path}:1: column 3: column 'obs_date' appears twice; keep one of them",
                 id="duplicate-column"),
    pytest.param("# only\nobs_id,analysis_date\n",
                 "{path}:2: the header has neither an 'obs_date' nor an 'odf' column; add "
                 "obs_date (a literal date) or odf (an ODF directory or summary)",
                 id="no-date-column"),
    pytest.param("obs_id,obs_date,odf\n0201901401,,\n",
                 "{path}:2: column 'obs_date': no observation date: both obs_date and odf are "
                 "empty; give a date (YYYY-MM-DDThh:mm:ss) or an ODF directory or summary",
                 id="missing-date"),
    pytest.param("obs_id,obs_date,odf\n0201901401,2004-05-09,odf\n",
                 "{path}:2: column 'odf': give either obs_date or odf on a line, not both; "
                 "leave one of the two fields empty", id="both"),
    pytest.param("obs_id,obs_date\n\n# x\n0201901401,2004-02-30\n",
                 "{path}:4: column 'obs_date': '2004-02-30' has day 30; 2004-02 has 29 days; fix "
                 "the date", id="bad-date"),
    pytest.param("obs_id,obs_date,analysis_date\n0201901401,2004-05-09,yesterday\n",
                 "{path}:2: column 'analysis_date': 'yesterday' is not a date; expected "
                 "YYYY-MM-DD or YYYY-MM-DDThh:mm:ss; fix the date, or write 'now'",
                 id="bad-analysis-date"),
    pytest.param("obs_id,obs_date\n0201901401,2004-05-09\n0201903501,2004-06-17\n"
                 "0201901401,2004-05-10\n",
                 "{path}:4: column 'obs_id': 0201901401 is already on line 2; list each "
                 "observation once", id="duplicate-obs-id"),
    pytest.param("obs_id,obs_date\n0201901401,2004-05-09,extra\n",
                 "{path}:2: 3 fields but the header has 2 (obs_id,obs_date); one field per column",
                 id="field-count"),
    pytest.param("obs_id,odf\n0201901401,missing/odf\n",
                 "{path}:2: column 'odf': {dir}/missing/odf: no such file or directory; odf "
                 "paths are relative to the list's directory", id="missing-odf"),
    pytest.param("obs_id,obs_date\n",
                 "{path}:1: no observations after the header; add one line per observation",
                 id="header-only"),
    pytest.param("# nothing\n\n",
                 "{path}:2: the file is empty; expected a header row such as "
                 "'obs_id,obs_date,analysis_date'; add the header and one line per observation",
                 id="only-comments"),
    pytest.param("",
                 "{path}:1: the file is empty; expected a header row such as "
                 "'obs_id,obs_date,analysis_date'; add the header and one line per observation",
                 id="empty"),
]


@pytest.mark.parametrize(("content", "message"), BAD_LISTS)
def test_bad_obs_list_messages(tmp_path: Path, content: str, message: str):
    """Each bad list gives one exact line naming the CSV file, the line and the column."""
    listing = tmp_path / "obs.csv"
    listing.write_text(content)
    with pytest.raises(OdfError) as info:
        read_obs_list(listing)
    assert str(info.value) == message.format(path=listing, dir=tmp_path)


def test_obs_list_odf_errors_name_both_files(tmp_path: Path):
    """A bad ODF summary named in a list is reported with the list's line and the summary's."""
    write(tmp_path, GOOD[: GOOD.index("2004-05-09T20")], "bad_SUM.SAS")
    listing = tmp_path / "obs.csv"
    listing.write_text("odf\nbad_SUM.SAS\n")
    with pytest.raises(OdfError) as info:
        read_obs_list(listing)
    assert str(info.value) == (
        f"{listing}:2: column 'odf': {tmp_path / 'bad_SUM.SAS'}:6: the file ends {INSIDE}; "
        f"expected the Observation End Time on the next line; {TRUNCATED}")


def test_obs_list_odf_of_another_observation(tmp_path: Path):
    """An obs_id that disagrees with its ODF summary's identifier is refused."""
    write(tmp_path, GOOD)
    listing = tmp_path / "obs.csv"
    listing.write_text("obs_id,odf\n0201903501,.\n")
    with pytest.raises(OdfError) as info:
        read_obs_list(listing)
    summary = tmp_path / "0809_0201901401_SCX00000SUM.SAS"
    assert str(info.value) == (
        f"{listing}:2: column 'odf': obs_id is 0201903501 but {summary} is observation "
        "0201901401; give the ODF of that observation")


def test_obs_list_duplicate_obs_id_from_odf(tmp_path: Path):
    """Duplicates are found also when one obs_id comes from an ODF summary."""
    write(tmp_path, GOOD)
    listing = tmp_path / "obs.csv"
    listing.write_text("obs_id,obs_date,odf\n0201901401,2004-05-09,\n,,.\n")
    with pytest.raises(OdfError, match=r"obs.csv:3: column 'obs_id': 0201901401 is already on "
                                       r"line 2"):
        read_obs_list(listing)


def test_obs_list_missing_file(tmp_path: Path):
    """A list that does not exist is named."""
    with pytest.raises(OdfError) as info:
        read_obs_list(tmp_path / "nope.csv")
    assert str(info.value) == (f"{tmp_path / 'nope.csv'}: no such file; give a CSV file with "
                               "columns obs_id,obs_date (or odf),analysis_date")


@given(st.lists(st.text(st.characters(blacklist_characters='",\r\n'), max_size=12),
                min_size=1, max_size=6))
def test_an_unquoted_line_splits_as_the_csv_module_splits_it(fields: list[str]) -> None:
    """The shortcut for lines without quotes gives the csv module's fields (stripped)."""
    import csv

    from reprocal.fits._odf import _split

    text = ",".join(fields)
    assert _split(Path("obs.csv"), 1, text) == [f.strip() for f in next(csv.reader([text]))]
