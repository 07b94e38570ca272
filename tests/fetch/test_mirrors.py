"""Mirror values: parsing, precedence of the places they come from, URLs of files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.errors import InputError
from reprocal.fetch._mirrors import (
    DEFAULT_MIRRORS,
    ENV_VAR,
    InvalidMirrorError,
    Mirror,
    config_file,
    configured_mirrors,
    parse_mirror,
)


@pytest.mark.parametrize(("value", "kind", "base"), [
    ("https://sasdev-xmm.esac.esa.int/pub/ccf/constituents/", "http",
     "https://sasdev-xmm.esac.esa.int/pub/ccf/constituents/"),
    ("HTTPS://example.org/ccf", "https", "https://example.org/ccf/"),
    ("http://127.0.0.1:8080", "http", "http://127.0.0.1:8080/"),
    ("http://[::1]:8080/x", "http", "http://[::1]:8080/x/"),
    ("  https://example.org/ccf/  ", "http", "https://example.org/ccf/"),
    ("rsync://sasdev-xmm.esac.esa.int/XMM_CCF", "rsync", "rsync://sasdev-xmm.esac.esa.int/XMM_CCF/"),
    ("rsync://127.0.0.1:8873/ccf/sub/", "rsync", "rsync://127.0.0.1:8873/ccf/sub/"),
    ("sasdev-xmm.esac.esa.int::XMM_VALID_CCF", "rsync", "sasdev-xmm.esac.esa.int::XMM_VALID_CCF/"),
    ("host::mod/path/", "rsync", "host::mod/path/"),
])
def test_parse_remote_mirrors(value, kind, base):
    """URLs and rsync sources are normalised to a base ending with ``/``."""
    mirror = parse_mirror(value)
    assert (mirror.kind, mirror.base) == ("http" if kind == "https" else kind, base)


def test_parse_local_directories(tmp_path, monkeypatch):
    """A path, a relative path and a ``file://`` URL all name the absolute directory."""
    (tmp_path / "ccf dir").mkdir()
    monkeypatch.chdir(tmp_path)
    expected = Mirror("file", str(tmp_path / "ccf dir"))
    assert parse_mirror(str(tmp_path / "ccf dir")) == expected
    assert parse_mirror("ccf dir") == expected
    assert parse_mirror((tmp_path / "ccf dir").as_uri()) == expected
    assert parse_mirror(f"file://localhost{tmp_path}/ccf%20dir") == expected


@pytest.mark.parametrize(("value", "message"), [
    ("", "--mirror: empty mirror; give a URL or a directory"),
    ("ftp://example.org/ccf", "--mirror: mirror 'ftp://example.org/ccf' has unsupported scheme "
     "'ftp'; use http(s)://, file://, rsync://, host::module or a directory"),
    ("http://", "--mirror: mirror 'http://' has no valid host name"),
    ("http://bad_host/", "--mirror: mirror 'http://bad_host/' has no valid host name"),
    ("http://h:99999/", "--mirror: mirror 'http://h:99999/' has a bad port"),
    ("https://h/x?y=1", "--mirror: mirror 'https://h/x?y=1' must be a base URL without ?query "
     "or #fragment"),
    ("http://h/a b", "--mirror: mirror 'http://h/a b' contains spaces or control characters"),
    ("/tmp/a\nb", "--mirror: mirror '/tmp/a\\nb' contains control characters"),
    ("http://[", "--mirror: mirror 'http://[' is not a valid URL (Invalid IPv6 URL)"),
    ("~nosuchuser0/ccf", "--mirror: mirror '~nosuchuser0/ccf': cannot expand '~nosuchuser0' "
     "(no such user)"),
    ("rsync://h/", "--mirror: rsync mirror 'rsync://h/' is not rsync://host[:port]/module[/path]/"),
    ("rsync://h/mod/../etc", "--mirror: rsync mirror 'rsync://h/mod/../etc' is not "
     "rsync://host[:port]/module[/path]/"),
    ("h::", "--mirror: rsync mirror 'h::' is not host::module[/path]"),
    ("-e sh::x", "--mirror: mirror '-e sh::x' contains spaces or control characters"),
    ("-rf::x", "--mirror: rsync mirror '-rf::x' is not host::module[/path]"),
    ("file://server/share", "--mirror: file URL 'file://server/share' names a remote host; use "
     "file:///absolute/path"),
    ("/no/such/dir", "--mirror: mirror directory '/no/such/dir' does not exist; give an "
     "existing directory, or a http(s)/rsync URL"),
])
def test_bad_mirrors_are_one_line_input_errors(value, message):
    """Every unusable value is refused with the reason and the fix (exit 2)."""
    with pytest.raises(InvalidMirrorError) as info:
        parse_mirror(value)
    assert str(info.value) == message
    assert isinstance(info.value, InputError) and info.value.exit_code == 2


def test_rsync_module_path_with_dot_dot_is_refused():
    """Module paths are plain segments; ``..`` is not one."""
    with pytest.raises(InvalidMirrorError):
        parse_mirror("h::mod/../x")


@pytest.mark.parametrize(("base", "url"), [
    ("https://h/ccf", "https://h/ccf/EPN_QUANTUMEF_0017.CCF"),
    ("rsync://h/m", "rsync://h/m/EPN_QUANTUMEF_0017.CCF"),
    ("h::m", "h::m/EPN_QUANTUMEF_0017.CCF"),
])
def test_file_url(base, url):
    """A file's place on a mirror is the base plus the canonical name."""
    assert parse_mirror(base).url("EPN_QUANTUMEF_0017.CCF") == url


# --- precedence -------------------------------------------------------------------------------


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "cfg" / "reprocal" / "mirrors.txt"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}


def bases(mirrors) -> list[str]:
    return [m.base for m in mirrors]


def test_defaults_are_esa_then_heasarc(tmp_path):
    """With nothing configured: ESA's constituents directory, then HEASARC."""
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert bases(configured_mirrors(env=env)) == list(DEFAULT_MIRRORS)
    assert DEFAULT_MIRRORS[0].startswith("https://sasdev-xmm.esac.esa.int/")
    assert DEFAULT_MIRRORS[1].startswith("https://heasarc.gsfc.nasa.gov/")


def test_config_file_lines_and_comments(tmp_path):
    """One mirror a line; blank lines and ``#`` comments are ignored; order is kept."""
    env = write_config(tmp_path, "# my mirrors\n\nhttps://a.example/ccf  # nearest\nb::m\n")
    assert bases(configured_mirrors(env=env)) == ["https://a.example/ccf/", "b::m/"]
    assert config_file(env) == tmp_path / "cfg" / "reprocal" / "mirrors.txt"


def test_config_file_error_names_the_line(tmp_path):
    """A bad line is reported as FILE:LINE."""
    env = write_config(tmp_path, "https://a.example/\n\nftp://x\n")
    with pytest.raises(InvalidMirrorError) as info:
        configured_mirrors(env=env)
    assert str(info.value).startswith(f"{tmp_path}/cfg/reprocal/mirrors.txt:3: mirror 'ftp://x' "
                                      "has unsupported scheme")


def test_environment_beats_config_file(tmp_path):
    """``REPROCAL_MIRRORS`` (whitespace or commas) overrides the config file."""
    env = write_config(tmp_path, "https://a.example/\n")
    env[ENV_VAR] = "https://b.example/, c::m\n https://d.example/"
    assert bases(configured_mirrors(env=env)) == ["https://b.example/", "c::m/",
                                                   "https://d.example/"]


def test_options_beat_everything(tmp_path):
    """``--mirror`` values replace the environment, the config file and the defaults."""
    env = write_config(tmp_path, "https://a.example/\n")
    env[ENV_VAR] = "https://b.example/"
    assert bases(configured_mirrors(["https://e.example/x"], env=env)) == ["https://e.example/x/"]


def test_environment_error_names_the_variable():
    """A bad value in the environment says where it came from."""
    with pytest.raises(InvalidMirrorError) as info:
        configured_mirrors(env={ENV_VAR: "gopher://x"})
    assert str(info.value).startswith("$REPROCAL_MIRRORS: mirror 'gopher://x' has unsupported")


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(max_size=40),
    st.builds(lambda s, rest: s + rest, st.sampled_from(["http://", "https://", "rsync://",
                                                          "file://", "h::", "::"]),
              st.text(max_size=30)),
))
def test_any_value_parses_or_is_refused_in_one_line(value):
    """Whatever the text, parsing gives a mirror whose file URLs extend its base, or one
    InvalidMirrorError line; never another exception."""
    try:
        mirror = parse_mirror(value)
    except InvalidMirrorError as exc:
        assert "\n" not in str(exc)
        return
    name = "EPN_QUANTUMEF_0017.CCF"
    if mirror.kind == "file":
        assert Path(mirror.url(name)) == Path(mirror.base) / name
    else:
        assert mirror.base.endswith("/") and mirror.url(name) == mirror.base + name
        assert not any(c.isspace() for c in mirror.base)
