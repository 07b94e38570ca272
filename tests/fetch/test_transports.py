"""Transports in isolation: retry policy, error kinds, error messages."""

from __future__ import annotations

import pytest

from reprocal.fetch._transports import (
    ERROR_KINDS,
    RetryPolicy,
    TransferError,
    _content_range_start,
    _short,
)


def test_backoff_doubles_and_is_capped():
    """0.5, 1, 2, ... up to the cap."""
    policy = RetryPolicy(backoff=0.5, max_backoff=3)
    assert [policy.pause(i) for i in range(5)] == [0.5, 1.0, 2.0, 3, 3]


def test_transfer_error_kind():
    """A transfer error carries its kind and whether it is worth retrying."""
    exc = TransferError("hash-mismatch", "sha256 x, pinned y")
    assert (str(exc), exc.kind, exc.transient) == ("hash-mismatch: sha256 x, pinned y",
                                                   "hash-mismatch", False)


def test_unknown_error_kind_is_a_programming_error():
    """Kinds are a closed set: the report's consumers can rely on it."""
    assert "hash-mismatch" in ERROR_KINDS and "connection" in ERROR_KINDS
    with pytest.raises(AssertionError):
        TransferError("oops", "x")


@pytest.mark.parametrize(("header", "start"), [
    ("bytes 100-199/200", 100),
    ("bytes 0-9/*", 0),
    ("bytes */200", None),
    ("", None),
])
def test_content_range_start(header, start):
    """Only a well-formed Content-Range says where a 206 body starts."""
    assert _content_range_start(header) == start


def test_short_messages_unwrap_nested_causes():
    """urllib3's nested wrappers are reduced to the reason a user can act on."""
    inner = ConnectionRefusedError(111, "Connection refused")
    outer = OSError("HTTPConnection(host='h', port=1): Failed to establish a new connection")
    outer.reason = inner  # type: ignore[attr-defined]
    assert _short(outer) == "[Errno 111] Connection refused"
    assert _short(ValueError("HTTPConnection(host='h', port=1): boom")) == "boom"
