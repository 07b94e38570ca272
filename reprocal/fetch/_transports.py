"""Transports: read one file from one mirror into a sink, with retries, resume and timeouts.

A transport copies one file from a :class:`~reprocal.fetch._mirrors.Mirror` into a *sink* (the fetch
engine's temporary ``.part`` file, which hashes while it is written); it never writes anywhere
else and never decides whether the bytes are right. Failures are :class:`TransferError` with a
structured ``kind`` (:data:`ERROR_KINDS`); transient ones (5xx, 429, dropped connections,
timeouts) are retried on the same mirror with exponential backoff, through an injectable
``sleep``. HTTP resumes a partial ``.part`` with ``Range`` and starts over when the server
answers 200; rsync resumes with ``--inplace``; a local copy simply starts over.

Every transfer is bounded (:mod:`reprocal.fs._limits`): a mirror that cannot be reached at all
(a host name that does not resolve, a refused connection, a connect timeout) fails at once with
kind ``unreachable`` and is not retried (the engine then marks it down for the run); a transfer
slower than ``min-rate`` over ``rate-window``, or past the per-file ``file-deadline``, stops with
kind ``too-slow``; a file of unknown size is cut at ``download-size`` (kind ``too-large``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from reprocal.errors import ComponentUnavailable, InputError
from reprocal.fetch._mirrors import Mirror
from reprocal.fs._inputs import NotRegularError, open_input
from reprocal.fs._limits import Limits, current_limits

log = logging.getLogger(__name__)

ERROR_KINDS: tuple[str, ...] = (
    "not-found", "http-error", "connection", "timeout", "unreachable", "too-slow", "too-large",
    "size-mismatch", "hash-mismatch", "content-mismatch", "local-error",
)
"""Every ``kind`` a failed attempt can have. ``size-mismatch`` and ``hash-mismatch`` are about the
bytes a mirror sent (not network failures), as is ``content-mismatch`` (a file without a pin
whose FITS header or checksums are not those expected); ``local-error`` is our side (disk full).
``unreachable``: no connection could be made at all (the mirror is then down for the run);
``too-slow``: below the minimum rate or past the per-file deadline; ``too-large``: a file of
unknown size past the ``download-size`` limit."""

CHUNK = 256 * 1024


class Cancelled(Exception):
    """The fetch was interrupted (Ctrl-C): stop writing, keep the prefix for the next run."""


class TransferError(Exception):
    """One attempt to read a file from a mirror failed; ``kind`` is one of :data:`ERROR_KINDS`."""

    def __init__(self, kind: str, message: str, *, transient: bool = False):
        assert kind in ERROR_KINDS, kind
        self.kind = kind
        self.message = message
        self.transient = transient
        """True when trying the same mirror again may succeed (5xx, 429, dropped connection)."""
        super().__init__(f"{kind}: {message}")


class LocalWriteError(Exception):
    """The sink could not store bytes (disk full, permissions): our side, not the mirror's.

    Deliberately not an OSError, so that no transport mistakes it for a network failure."""

    def __init__(self, error: OSError):
        self.error = error
        super().__init__(f"{error.filename or 'temporary file'}: {error.strerror or error}")


# --- transports --------------------------------------------------------------------------------


class Sink(Protocol):
    """The engine's temporary file for one constituent; it hashes what is written."""

    path: Path
    """The temporary ``.part`` file (never the constituent's own name)."""
    size: int | None
    """The size the file must have (None when not pinned)."""
    started: float
    """``time.monotonic()`` when this file's first try began (its deadline counts from here)."""
    cancel: threading.Event
    """Set when the fetch is interrupted: a transport waiting for bytes stops
    (:class:`Cancelled`)."""

    @property
    def offset(self) -> int:
        """How many bytes the temporary file holds already (resume from here)."""
        ...

    def write(self, chunk: bytes) -> None:
        """Append bytes; raises :class:`TransferError` (size-mismatch) past the expected size,
        :class:`LocalWriteError` when the disk refuses them."""

    def restart(self) -> None:
        """Empty the temporary file (the mirror sends the whole file again)."""

    def flush(self) -> None:
        """Put buffered bytes on disk, before an external program (rsync) reads the file."""

    def reload(self) -> None:
        """Re-read the temporary file after an external program (rsync) wrote it."""

    def note(self, kind: str, message: str) -> None:
        """Record a failed try that the transport retried on the same mirror."""


class Transport(Protocol):
    def __call__(self, mirror: Mirror, filename: str, sink: Sink) -> None: ...


@attrs.frozen
class RetryPolicy:
    """How often and how patiently a transport retries transient failures on one mirror."""

    retries: int = 3
    """Extra tries after the first one, for 5xx, 429, dropped connections and timeouts."""
    backoff: float = 0.5
    """First pause in seconds; doubles after each try (0.5, 1, 2, ...)."""
    max_backoff: float = 30.0
    """Longest pause."""
    connect_timeout: float = 10.0
    """Seconds to wait for a TCP connection."""
    read_timeout: float = 60.0
    """Seconds without a byte before a transfer counts as stalled (timeout)."""
    min_rate: float = 1024.0
    """Slowest rate accepted (bytes a second), averaged over ``rate_window``."""
    rate_window: float = 60.0
    """Seconds over which ``min_rate`` is measured."""
    deadline: float = 7200.0
    """Longest time one file may take, over all its tries on all mirrors."""

    @classmethod
    def of(cls, limits: Limits | None = None, **kw: Any) -> RetryPolicy:
        """The policy for the limits in force (:func:`reprocal.fs._limits.current_limits`)."""
        lim = current_limits() if limits is None else limits
        return cls(connect_timeout=lim.connect_timeout, read_timeout=lim.read_timeout,
                   min_rate=float(lim.min_rate), rate_window=lim.rate_window,
                   deadline=lim.file_deadline, **kw)

    def check_deadline(self, sink: Sink, what: str) -> None:
        """Raise ``too-slow`` once the file's deadline has passed."""
        spent = time.monotonic() - sink.started
        if spent > self.deadline:
            raise TransferError("too-slow", f"{what}: past the per-file deadline of "
                                f"{self.deadline:g} s (--limit file-deadline)")

    def pause(self, attempt: int) -> float:
        """Seconds to sleep before retry number ``attempt`` (0-based)."""
        return min(self.max_backoff, self.backoff * 2 ** attempt)


def _retrying(fn: Callable[[], None], sink: Sink, policy: RetryPolicy,
              sleep: Callable[[float], None], what: str = "") -> None:
    for attempt in range(policy.retries + 1):
        policy.check_deadline(sink, what)
        try:
            fn()
            return
        except TransferError as exc:
            if not exc.transient or attempt == policy.retries:
                raise
            sink.note(exc.kind, exc.message)
            pause = policy.pause(attempt)
            log.info("retrying in %.1fs after %s", pause, exc)
            sleep(pause)


class HttpTransport:
    """GET with one keep-alive ``requests.Session`` per worker thread; resumes with ``Range``."""

    def __init__(self, policy: RetryPolicy = RetryPolicy(), *,
                 sleep: Callable[[float], None] = time.sleep, user_agent: str | None = None):
        self.policy = policy
        self.sleep = sleep
        self.user_agent = user_agent
        self._local = threading.local()

    def session(self):  # -> requests.Session
        s = getattr(self._local, "session", None)
        if s is None:
            import requests

            s = requests.Session()
            # Proxy and CA settings are read from the environment once per mirror (see
            # _settings), not on every request as trust_env would: that costs ~0.5 ms a file.
            s.trust_env = False
            s.reprocal_settings = {}
            if self.user_agent:
                s.headers["User-Agent"] = self.user_agent
            self._local.session = s
        return s

    def __call__(self, mirror: Mirror, filename: str, sink: Sink) -> None:
        url = mirror.url(filename)
        _retrying(lambda: self._once(url, sink), sink, self.policy, self.sleep, url)

    def _once(self, url: str, sink: Sink) -> None:
        import requests
        import urllib3

        offset = sink.offset
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        # identity: a byte range of a gzip-encoded body is not a range of the file
        headers["Accept-Encoding"] = "identity"
        timeout = (self.policy.connect_timeout, self.policy.read_timeout)
        session = self.session()
        try:
            with session.get(url, headers=headers, stream=True, timeout=timeout,
                             allow_redirects=True, **_settings(session, url)) as r:
                status = r.status_code
                if status in (404, 410):
                    raise TransferError("not-found", f"{url}: HTTP {status}")
                if status == 416 and offset:
                    sink.restart()  # our partial file is not a prefix of theirs: start over
                    raise TransferError("http-error", f"{url}: HTTP 416 for a resume at byte "
                                        f"{offset}; restarting from zero", transient=True)
                if status == 429 or status >= 500:
                    raise TransferError("http-error", f"{url}: HTTP {status}", transient=True)
                if status == 206:
                    start = _content_range_start(r.headers.get("Content-Range", ""))
                    if start != offset:
                        sink.restart()
                        raise TransferError("http-error", f"{url}: asked for bytes from {offset}, "
                                            f"got Content-Range {r.headers.get('Content-Range')!r}",
                                            transient=True)
                elif status == 200:
                    if offset:
                        log.info("%s: no range support, restarting from zero", url)
                        sink.restart()
                else:
                    raise TransferError("http-error", f"{url}: HTTP {status}")
                encoding = r.headers.get("Content-Encoding", "").strip().lower()
                if encoding not in ("", "identity"):
                    # asked for identity: a compressed body is not the file's bytes, and
                    # decompressing it would let a gzip bomb through
                    raise TransferError("http-error", f"{url}: the mirror sent the file with "
                                        f"Content-Encoding {encoding!r} although asked not to")
                _check_length(url, r.headers.get("Content-Length"), sink)
                _stream(r.raw, sink, self.policy, url)
        except requests.ConnectTimeout as exc:
            raise TransferError("unreachable", f"{url}: {_short(exc)}") from None
        except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
            raise TransferError("timeout", f"{url}: {_short(exc)}", transient=True) from None
        except requests.ConnectionError as exc:
            if _no_connection(exc):
                raise TransferError("unreachable", f"{url}: {_short(exc)}") from None
            raise TransferError("connection", f"{url}: {_short(exc)}", transient=True) from None
        except (requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError, urllib3.exceptions.HTTPError,
                OSError) as exc:
            raise TransferError("connection", f"{url}: {_short(exc)}", transient=True) from None
        except requests.RequestException as exc:
            raise TransferError("http-error", f"{url}: {_short(exc)}") from None


def _settings(session, url: str) -> dict[str, object]:  # noqa: ANN001
    """``proxies`` (honouring no_proxy) and ``verify`` (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) for
    the host of ``url``, as requests' trust_env would give them, computed once per host."""
    import requests.utils

    host = urllib.parse.urlsplit(url).netloc
    cached = session.reprocal_settings.get(host)
    if cached is None:
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        cached = {"proxies": requests.utils.get_environ_proxies(url), "verify": verify}
        session.reprocal_settings[host] = cached
    return cached


def _no_connection(exc: BaseException) -> bool:
    """True when no connection was made at all (name resolution, refused, unreachable host):
    the mirror is down, not the transfer interrupted."""
    import urllib3

    seen = 0
    stack: list[object] = [exc]
    while stack and seen < 20:
        e = stack.pop()
        seen += 1
        if isinstance(e, (urllib3.exceptions.NewConnectionError, socket.gaierror,
                          ConnectionRefusedError, urllib3.exceptions.ProxyError)):
            return True
        if isinstance(e, BaseException):
            stack.extend(x for x in (getattr(e, "reason", None), e.__cause__, e.__context__,
                                     *(a for a in e.args if isinstance(a, BaseException)))
                         if x is not None)
    return False


def _check_length(url: str, header: str | None, sink: Sink) -> None:
    """Refuse before downloading a body whose announced length cannot give the pinned size, or
    (size unknown) is past the ``download-size`` limit."""
    if header is None or not header.strip().isdigit() or len(header.strip()) > 20:
        return
    if sink.size is None:
        limit = getattr(sink, "max_size", None)
        if limit is not None and sink.offset + int(header) > limit:
            raise TransferError("too-large", f"{url}: the mirror announces "
                                f"{sink.offset + int(header)} bytes, more than the limit of "
                                f"{limit} for a file of unknown size (--limit download-size)")
        return
    total = sink.offset + int(header)
    if total != sink.size:
        raise TransferError("size-mismatch", f"{url}: the mirror's file is {total} bytes, "
                            f"pinned {sink.size}")


def _stream(raw, sink: Sink, policy: RetryPolicy, url: str) -> None:  # noqa: ANN001
    """Copy the body (a urllib3 response) as it arrives: ``read1`` hands over what came before a
    dropped connection, so a retry resumes from the last byte received rather than the last full
    chunk. A body slower than ``min_rate`` over ``rate_window`` seconds, or still coming at the
    file's deadline, is cut (``too-slow``); the bytes received are kept for a resume."""
    read = getattr(raw, "read1", None) or raw.read
    window_start = time.monotonic()
    window_bytes = 0
    while chunk := read(CHUNK, decode_content=False):
        sink.write(chunk)
        window_bytes += len(chunk)
        now = time.monotonic()
        policy.check_deadline(sink, url)
        elapsed = now - window_start
        if elapsed >= policy.rate_window:
            if window_bytes < policy.min_rate * elapsed:
                raise TransferError("too-slow", f"{url}: {window_bytes} bytes in {elapsed:.0f} s, "
                                    f"below the minimum rate of {policy.min_rate:g} bytes/s "
                                    "(--limit min-rate)")
            window_start, window_bytes = now, 0


def _content_range_start(value: str) -> int | None:
    m = re.match(r"^\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*\Z", value)
    return int(m.group(1)) if m else None


def _short(exc: BaseException) -> str:
    """The innermost readable reason: what a user can act on, not urllib3's nested reprs."""
    for _ in range(6):
        inner = getattr(exc, "reason", None)
        if isinstance(inner, BaseException):
            exc = inner
        elif exc.args and isinstance(exc.args[0], BaseException):
            exc = exc.args[0]
        else:
            break
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    text = re.sub(r"^(<[^>]*>|\w+\(host=[^)]*\)): ", "", " ".join(text.split()))
    return text[:300] or type(exc).__name__


def copy_file(mirror: Mirror, filename: str, sink: Sink) -> None:
    """The ``file`` transport: copy from a local directory (a local copy is cheap to restart)."""
    _copy_into(Path(mirror.url(filename)), sink)


def _copy_into(source: Path, sink: Sink) -> None:
    """Copy a local regular file into ``sink`` from its first byte."""
    try:
        f = open_input(source, what="mirror file")
    except NotRegularError as exc:  # a FIFO or a device in a mirror directory: never read
        raise TransferError("not-found", exc.one_line()) from None
    except InputError as exc:
        if not source.exists():
            raise TransferError("not-found", f"{source}: no such file") from None
        raise TransferError("connection", exc.one_line()) from None
    with f:
        sink.restart()
        while chunk := f.read(CHUNK):
            sink.write(chunk)


_RSYNC_UNREACHABLE = ("Connection refused", "Name or service not known", "No route to host",
                      "Temporary failure in name resolution", "Network is unreachable",
                      "failed to connect")
"""rsync's words for a daemon it could not reach at all."""


def _start_rsync(cmd: list[str], **popen: Any) -> subprocess.Popen[Any]:
    """Start rsync in a process group of its own, so that :func:`_kill_rsync` reaches the
    receiver it forks as well: killed alone, the parent left that child reparented to init,
    writing on (or sleeping in ``--bwlimit``) until its own timeout. Ctrl-C at the terminal
    reaches reprocal only, which stops every rsync it started."""
    return subprocess.Popen(cmd, start_new_session=True, **popen)


def _kill_rsync(proc: subprocess.Popen[Any]) -> None:
    """Kill ``proc``'s process group (rsync and its forked children); nothing left: no error."""
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()


class _Batch:
    """One rsync process bringing many files into a staging directory, in the background.

    A file counts as arrived once its own name is in the directory as a regular file: rsync
    writes each file under a temporary name and renames it when it is whole and its checksum
    matched, so a name that exists is a complete file (and the sink checks its size and sha256
    anyway). rsync's ``--out-format`` lines only wake the waiting threads early; a short poll
    covers an rsync that prints nothing, and the end of the process settles every file that did
    not come. The process is killed past ``deadline`` seconds, or when :meth:`close` finds it
    still running.
    """

    POLL = 0.02
    """Seconds between looks for a file when rsync has printed nothing meanwhile."""
    CLOSE_WAIT = 5.0
    """Seconds :meth:`close` waits for the killed process's output to end."""

    def __init__(self, cmd: list[str], into: Path, *, deadline: float):
        self.into = into
        self._cond = threading.Condition()
        self._ended = False
        self._stopped = False
        self.proc = _start_rsync(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
        self._timer = threading.Timer(deadline, self._kill)
        self._timer.daemon = True
        self._timer.start()
        self._reader = threading.Thread(target=self._read, name="reprocal-rsync-batch",
                                        daemon=True)
        self._reader.start()

    def _kill(self) -> None:
        _kill_rsync(self.proc)

    def _read(self) -> None:
        out = self.proc.stdout
        try:
            while out is not None and os.read(out.fileno(), 65536):  # whatever has come
                with self._cond:
                    self._cond.notify_all()
        finally:
            if out is not None:
                out.close()
            self.proc.wait()
            self._timer.cancel()
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def _arrived(self, path: Path) -> bool:
        try:
            return stat.S_ISREG(os.lstat(path).st_mode)
        except OSError:
            return False

    def take(self, name: str, cancel: threading.Event) -> Path | None:
        """The staged file ``name`` once rsync has it; ``None`` when rsync ended without it.
        Raises :class:`Cancelled` when ``cancel`` is set or the batch is closed (before or
        during the wait) without it."""
        path = self.into / name
        with self._cond:
            while True:
                if self._arrived(path):
                    return path
                if cancel.is_set() or self._stopped:
                    raise Cancelled
                if self._ended:
                    return None
                self._cond.wait(self.POLL)

    def close(self) -> None:
        """Stop the process if it still runs (every file it was for has been taken, or the
        fetch was interrupted) and wait for it; threads still waiting raise :class:`Cancelled`."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._kill()  # the group: a forked receiver may outlive the parent
        # the reader ends when the last holder of rsync's output (its forked receiver, which
        # notices the parent gone at once) lets go; bounded all the same
        self._reader.join(self.CLOSE_WAIT)


class RsyncTransport:
    """The system ``rsync`` binary writing into the temporary file (``--inplace`` resumes it)."""

    def __init__(self, policy: RetryPolicy = RetryPolicy(), *,
                 sleep: Callable[[float], None] = time.sleep, binary: str | None = None):
        found = binary or shutil.which("rsync")
        if not found:
            raise ComponentUnavailable("the rsync program is not installed, so rsync mirrors "
                                       "cannot be read",
                                       hint="install rsync (apt-get install rsync) or use an "
                                            "http(s) mirror")
        self.binary = found
        self.policy = policy
        self.sleep = sleep
        # rsync dies with us: killed (kill -9) mid-transfer, we would leave an orphan writing
        # into a .part file that the next run resumes and installs. setpriv (util-linux) sets
        # the parent-death signal and execs rsync; a preexec_fn would risk a deadlock in a
        # threaded process. Where there is no setpriv, the next run's lock is the only guard.
        death = shutil.which("setpriv") if sys.platform.startswith("linux") else None
        self.prefix = [death, "--pdeathsig", "KILL"] if death else []

        self._batches: dict[tuple[str, str], _Batch] = {}
        self._batches_lock = threading.Lock()

    def __call__(self, mirror: Mirror, filename: str, sink: Sink) -> None:
        with self._batches_lock:
            batch = self._batches.pop((str(mirror), filename), None)
        if batch is not None:
            staged = batch.take(filename, sink.cancel)
            if staged is not None:
                try:
                    _copy_into(staged, sink)  # brought by the batch: checked by the sink as any
                    return
                except TransferError:  # gone or not a regular file: fetched on its own below
                    pass
                finally:
                    staged.unlink(missing_ok=True)
        source = mirror.url(filename)
        _retrying(lambda: self._once(source, sink), sink, self.policy, self.sleep, source)

    def start_batch(self, mirror: Mirror, remotes: Iterable[str], into: Path) -> _Batch | None:
        """Start one rsync process (``--files-from``) bringing ``remotes`` from ``mirror`` into
        the private directory ``into``, in the background, for :meth:`__call__` to copy from
        as each file arrives: a process and a connection per file cost ten times the transfer
        on a real mirror's 118 files, and waiting for the whole batch before checking the first
        file left the checks, fsyncs and renames to follow the transfer instead of overlapping
        it. Best effort: what does not arrive is fetched file by file, with the usual retries,
        and what arrives is checked by the sink (size, sha256) like any transfer. The caller
        :meth:`_Batch.close`\\ s it."""
        names = sorted(set(remotes))  # rsync's own order (its file list is sorted by name)
        if not names:
            return None
        fd, where = tempfile.mkstemp(prefix=".reprocal-names-", dir=into)  # one per batch
        listing = Path(where)
        with os.fdopen(fd, "wb") as f:
            f.write("\0".join(names).encode())
        # --out-format: a line per file, so that a file is picked up the moment it is renamed
        # into place (its final name appears only once rsync has it whole and checked)
        cmd = [*self.prefix, self.binary, "--no-motd", "-I", "--from0",
               f"--files-from={listing}", "--out-format=%n",
               f"--timeout={int(self.policy.read_timeout)}",
               f"--contimeout={int(self.policy.connect_timeout)}", mirror.base, f"{into}/"]
        try:
            batch = _Batch(cmd, into, deadline=self.policy.deadline)
        except OSError:  # rsync cannot be started: every file is tried on its own
            return None
        with self._batches_lock:
            for name in names:
                self._batches[(str(mirror), name)] = batch
        return batch

    def end_batch(self, batch: _Batch) -> None:
        """Forget the files ``batch`` was to bring that nobody took (they are fetched on their
        own from now on) and close it."""
        with self._batches_lock:
            for key in [k for k, b in self._batches.items() if b is batch]:
                del self._batches[key]
        batch.close()

    def _once(self, source: str, sink: Sink) -> None:
        # --inplace: write into the .part file itself, using what it holds as the basis (resume);
        # -I: never skip on size+mtime; no --delete, no recursion: one file in, one file out.
        cmd = [*self.prefix, self.binary, "-q", "--no-motd", "-I", "--inplace",
               f"--timeout={int(self.policy.read_timeout)}",
               f"--contimeout={int(self.policy.connect_timeout)}", source, str(sink.path)]
        sink.flush()
        now = time.monotonic()
        end = now + max(1.0, self.policy.deadline - (now - sink.started))
        proc = _start_rsync(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
        try:
            while True:  # wait, looking at the interrupt and the deadline every tenth second
                try:
                    _, stderr = proc.communicate(timeout=0.1)
                    break
                except subprocess.TimeoutExpired:
                    if sink.cancel.is_set():
                        raise Cancelled from None
                    if time.monotonic() >= end:
                        sink.reload()
                        raise TransferError(
                            "too-slow", f"{source}: past the per-file deadline of "
                            f"{self.policy.deadline:g} s (--limit file-deadline)") from None
        finally:
            _kill_rsync(proc)  # done: its group's leftovers; stopped: all of it
            proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
        sink.reload()
        if proc.returncode == 0:
            return
        err = " ".join(stderr.split())[:300] or f"rsync exited with {proc.returncode}"
        if any(s in stderr for s in _RSYNC_UNREACHABLE):
            raise TransferError("unreachable", f"{source}: {err}")
        if "No such file" in stderr or "not found" in stderr.lower():
            raise TransferError("not-found", f"{source}: {err}")
        if proc.returncode in (30, 35):
            raise TransferError("timeout", f"{source}: {err}", transient=True)
        if proc.returncode in (10, 12):  # socket I/O, protocol stream: worth another try
            raise TransferError("connection", f"{source}: {err}", transient=True)
        raise TransferError("connection", f"{source}: {err}")


@attrs.define
class Transports:
    """The transport for each mirror kind; one object shared by the worker threads."""

    http: Transport
    file: Transport
    rsync: Transport | None

    @classmethod
    def default(cls, mirrors: Iterable[Mirror], *, policy: RetryPolicy = RetryPolicy(),
                sleep: Callable[[float], None] = time.sleep) -> Transports:
        """Real transports; raises ComponentUnavailable now if an rsync mirror lacks the binary."""
        needs_rsync = any(m.kind == "rsync" for m in mirrors)
        return cls(http=HttpTransport(policy, sleep=sleep), file=copy_file,
                   rsync=RsyncTransport(policy, sleep=sleep) if needs_rsync else None)

    @contextlib.contextmanager
    def staged(self, work: Iterable[tuple[str, Sequence[Mirror]]], where: Path
               ) -> Iterator[frozenset[str]]:
        """While in the block, the files of ``work`` (``(remote name, mirrors)``) whose first
        mirror is an rsync one are being brought by one rsync process per mirror into a
        private hidden directory below ``where`` (removed afterwards, whatever happens); a
        transfer of one of them waits for it there. Yields their remote names: the caller
        takes them in name order, the order rsync brings them, so that each is checked and
        installed while the next ones are still coming."""
        by_mirror: dict[str, tuple[Mirror, list[str]]] = {}
        for remote, mirrors in work:
            if mirrors and mirrors[0].kind == "rsync":
                by_mirror.setdefault(str(mirrors[0]), (mirrors[0], []))[1].append(remote)
        if self.rsync is None or not isinstance(self.rsync, RsyncTransport) or not by_mirror:
            yield frozenset()
            return
        try:
            stage = Path(tempfile.mkdtemp(prefix=".reprocal-stage-", dir=where))
        except OSError:  # nowhere to stage (not made yet, read-only): file by file, as before
            yield frozenset()
            return
        batches: list[_Batch] = []
        try:
            for mirror, remotes in by_mirror.values():
                batch = self.rsync.start_batch(mirror, remotes, stage)
                if batch is not None:
                    batches.append(batch)
            yield frozenset(r for _m, remotes in by_mirror.values() for r in remotes)
        finally:
            for batch in batches:
                self.rsync.end_batch(batch)
            shutil.rmtree(stage, ignore_errors=True)

    def __call__(self, mirror: Mirror, filename: str, sink: Sink) -> None:
        transport = getattr(self, mirror.kind)
        if transport is None:
            raise ComponentUnavailable(f"no transport for {mirror.kind} mirror {mirror}")
        transport(mirror, filename, sink)
