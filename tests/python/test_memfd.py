"""The sealed-memfd pattern for bulk data (README.md, "Bulk data through a sealed memfd"): the
Python example of `tests/e2e/fixtures/memfd/memfd_blobs.py`, its daemon and its client, over a
real socket. Payloads go both ways through a descriptor only; a descriptor that is not a fully
sealed memfd is refused; nothing leaks."""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

import blobs
from test_descriptors import open_fds
from test_daemon_limits import wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e" / "fixtures" / "memfd"))
from memfd_blobs import SEALS, BlobsDaemon, call, mapped_sealed, sealed_memfd  # noqa: E402


@pytest.fixture()
def client(serve: Any) -> Iterator[blobs.BlobsConnection]:
    daemon = BlobsDaemon()
    serve(daemon)
    before = open_fds()
    with blobs.BlobsConnection(daemon.socket_path) as connection:
        yield connection
    wait_until(lambda: open_fds() <= before, "every descriptor of the calls is closed")


@pytest.mark.parametrize("size", [0, 1, 4096, 24 << 20])
def test_bulk_data_travels_both_ways_as_a_sealed_memfd(
    client: blobs.BlobsConnection, size: int
) -> None:
    # 24 MiB is more than a frame may hold (16 MiB): only the descriptor crossed the socket.
    digest, head = call(client, size)
    assert len(digest) == 64 and head == bytes(range(min(size, 8)))


def test_what_the_daemon_returns_is_sealed_against_every_change(
    client: blobs.BlobsConnection,
) -> None:
    with client.pattern(4096) as received:
        assert fcntl.fcntl(received.fileno(), fcntl.F_GET_SEALS) & SEALS == SEALS
        with pytest.raises(PermissionError):
            os.pwrite(received.fileno(), b"x", 0)
        with pytest.raises(PermissionError):
            os.ftruncate(received.fileno(), 0)


def unsealed_memfd() -> int:
    fd = os.memfd_create("unsealed", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, b"changeable")
    return fd


def write_sealed_only() -> int:
    """A memfd sealed against writes but not against shrinking: a mapping could fault."""
    fd = unsealed_memfd()
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL)
    return fd


def a_pipe() -> int:
    read_end, write_end = os.pipe()
    os.close(write_end)
    return read_end


@pytest.mark.parametrize("make", [unsealed_memfd, write_sealed_only, a_pipe])
def test_a_descriptor_that_is_not_a_sealed_memfd_is_refused(
    client: blobs.BlobsConnection, make: Any
) -> None:
    with blobs.Fd(make()) as fd:
        with pytest.raises(blobs.NotSealed, match="not a sealed memfd"):
            client.digest(fd)


def test_the_sender_cannot_change_a_sealed_memfd_after_sending() -> None:
    with sealed_memfd(b"fixed") as fd:
        with pytest.raises(PermissionError):
            os.pwrite(fd.fileno(), b"X", 0)
        with mapped_sealed(fd) as view:
            assert view[:] == b"fixed"


def test_close_ends_the_clients_watcher_at_once(serve: Any) -> None:
    # Its watcher may be waiting without looking at the socket (after a caller read, or once it
    # saw the hang-up): `close()` must still end it, and with it its wake-up pair of sockets,
    # or they stay open until the process ends.
    daemon = BlobsDaemon()
    serve(daemon)
    for attempt in range(60):
        connection = blobs.BlobsConnection(daemon.socket_path)
        call(connection, 4096)
        watcher = connection._watcher
        connection.close()
        watcher.join(timeout=2)
        assert not watcher.is_alive(), f"attempt {attempt}: the watcher outlived close()"
