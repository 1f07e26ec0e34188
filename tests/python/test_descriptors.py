"""File descriptors across the socket (PROTOCOL.md §3.1), Python daemon and Python clients over
real sockets: a returned file, a pipe passed to the daemon, a model with a list of
descriptors, an event with a descriptor to two subscribers, and hostile raw peers (descriptors
that do not fit the frame's indices, too many, in the middle of a frame, on messages that
carry no value, on a protocol without `fd`, over the in-flight limit). Every test counts the
open descriptors of this process (daemon and clients both run here) before and after: nothing
received may leak."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import socket
import struct
import threading
from pathlib import Path
from typing import Any, Iterator

import msgpack  # type: ignore[import-untyped]
import pytest

import descriptors as fdp
import student_system as ss
from descriptors import _medium
from test_daemon_limits import raw_connection, wait_until
from test_student import Daemon as StudentDaemon


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture()
def no_leak() -> Iterator[None]:
    """Fails the test if it leaves more descriptors open than it found (after the daemon's
    threads had a moment to finish closing theirs)."""
    before = open_fds()
    yield
    wait_until(lambda: open_fds() <= before, f"the {open_fds() - before} leaked fds are closed")


class FdDaemon(fdp.DescriptorsServerBase):
    """Serves files of `folder`; `write_into` waits for `release` when `hold` is set."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.hold = False
        self.release = threading.Event()
        self.kept: list[_medium.Fd] = []

    def open_file(self, application: Any, name: str) -> _medium.Fd:
        return fdp.Fd(os.open(self.folder / name, os.O_RDONLY | os.O_CLOEXEC))

    def write_into(self, application: Any, sink: _medium.Fd, text: str) -> None:
        if self.hold:
            self.release.wait(10)
        with sink.open("w") as pipe:
            pipe.write(text)

    def read_bundle(self, application: Any, bundle: fdp.Bundle) -> list[str]:
        contents = []
        for fd in bundle.files:
            with fd.open("r") as file:
                contents.append(file.read())
        return contents

    def make_bundle(self, application: Any, how_many: int) -> fdp.Bundle:
        files = []
        for index in range(how_many):
            path = self.folder / f"part{index}"
            path.write_text(str(index))
            files.append(fdp.Fd(os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
        # The runtime sends duplicates: these are closed when the bundle is collected.
        return fdp.Bundle(name="parts", files=files)

    def announce(self, application: Any, text: str) -> None:
        path = self.folder / "log"
        path.write_text(text)
        with open(path, "rb") as log:
            self.log_opened(log, text)

    def plain(self, application: Any, x: int) -> int:
        return x


@pytest.fixture()
def daemon(serve: Any, tmp_path: Path) -> FdDaemon:
    (tmp_path / "hello.txt").write_text("hello from the daemon")
    served = FdDaemon(tmp_path)
    serve(served)
    return served


def test_the_daemon_returns_an_opened_file_and_the_client_reads_it(
    daemon: FdDaemon, no_leak: None
) -> None:
    with fdp.DescriptorsConnection(daemon.socket_path) as client:
        fd = client.open_file("hello.txt")
        assert isinstance(fd, _medium.Fd)
        with fd.open("r") as file:
            assert file.read() == "hello from the daemon"
        assert fd.closed


def test_the_client_passes_a_pipe_write_end_and_the_daemon_writes_into_it(
    daemon: FdDaemon, no_leak: None
) -> None:
    read_end, write_end = os.pipe()
    with fdp.DescriptorsConnection(daemon.socket_path) as client:
        # The runtime sends a duplicate: the write end stays ours, so close it for EOF.
        client.write_into(write_end, "through the pipe")
        os.close(write_end)
        with open(read_end, "r") as pipe:
            assert pipe.read() == "through the pipe"


def test_a_model_with_a_list_of_fds_travels_both_ways(
    daemon: FdDaemon, tmp_path: Path, no_leak: None
) -> None:
    with fdp.DescriptorsConnection(daemon.socket_path) as client:
        bundle = client.make_bundle(3)
        assert bundle.name == "parts" and len(bundle.files) == 3
        assert [os.read(fd.fileno(), 10) for fd in bundle.files] == [b"0", b"1", b"2"]
        for fd in bundle.files:
            fd.close()
        paths = [tmp_path / name for name in ("a", "b")]
        for path in paths:
            path.write_text(path.name * 3)
        with open(paths[0], "rb") as a, open(paths[1], "rb") as b:
            # A file object and an Fd (ours to close) go in the same list.
            theirs = _medium.Fd(os.dup(b.fileno()))
            assert client.read_bundle(fdp.Bundle("mine", [a, theirs])) == ["aaa", "bbb"]
            theirs.close()
        assert client.read_bundle(fdp.Bundle("none", [])) == []


def test_an_event_carrying_an_fd_reaches_two_subscribers_each_with_its_own_descriptor(
    daemon: FdDaemon, no_leak: None
) -> None:
    with (
        fdp.DescriptorsConnection(daemon.socket_path) as first,
        fdp.DescriptorsConnection(daemon.socket_path) as second,
    ):
        one, two, same_client = first.log_opened(), second.log_opened(), second.log_opened()
        first.announce("rotated")
        events = [one.get(5), two.get(5), same_client.get(5)]
        numbers = {event.log.fileno() for event in events}
        assert len(numbers) == 3, "every subscription owns its own descriptor"
        for event in events:
            assert event.label == "rotated"
            assert os.pread(event.log.fileno(), 100, 0) == b"rotated"
            event.log.close()
        for subscription in (one, two, same_client):
            subscription.close()


def test_the_asyncio_client_passes_and_receives_fds(daemon: FdDaemon, no_leak: None) -> None:
    async def scenario() -> None:
        client = await fdp.DescriptorsAsyncConnection.connect(daemon.socket_path)
        try:
            with (await client.open_file("hello.txt")).open("r") as file:
                assert file.read() == "hello from the daemon"
            read_end, write_end = os.pipe()
            await client.write_into(write_end, "async pipe")
            os.close(write_end)
            with open(read_end) as pipe:
                assert pipe.read() == "async pipe"
            subscription = await client.log_opened()
            await client.announce("async event")
            event = await asyncio.wait_for(subscription.get(), 5)
            with event.log:
                assert os.pread(event.log.fileno(), 100, 0) == b"async event"
            assert await client.plain(7) == 7
        finally:
            await client.close()

    asyncio.run(scenario())


# ---- hostile peers --------------------------------------------------------------------------


def body(*message: Any) -> bytes:
    packed = msgpack.packb(list(message), use_bin_type=True)
    return struct.pack(">I", len(packed)) + packed


def send_with(sock: socket.socket, data: bytes, count: int) -> None:
    """Sends `data` with `count` descriptors (of /dev/null, closed here once sent)."""
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(count)]
    try:
        socket.send_fds(sock, [data], fds)
    finally:
        for fd in fds:
            os.close(fd)


def connected(daemon: Any) -> socket.socket:
    """A raw socket to `daemon`, past the handshake of the descriptor protocol."""
    sock = raw_connection(daemon, handshake=False)
    sock.sendall(_medium.hello(fdp._PROTOCOL))
    welcome = _medium.read_frame(sock)
    assert welcome is not None and welcome[0] == _medium.WELCOME
    return sock


def test_a_call_whose_indices_disagree_with_its_descriptors_gets_error_15_and_goes_on(
    daemon: FdDaemon, no_leak: None
) -> None:
    cases = [
        # A method without `fd` parameters, sent a descriptor.
        (body(_medium.CALL, 1, "plain", [5]), 1, "descriptor 0 of the 1 attached is not used"),
        # An index past the set.
        (body(_medium.CALL, 2, "write_into", [3, "x"]), 2, "descriptor index 3, but the frame"),
        # Two descriptors, one index.
        (body(_medium.CALL, 3, "write_into", [0, "x"]), 2, "descriptor 1 of the 2 attached"),
        # One descriptor used twice.
        (
            body(_medium.CALL, 4, "read_bundle", [{"name": "n", "files": [0, 0]}]),
            1,
            "descriptor 0 is used twice",
        ),
        # An index, no descriptor.
        (body(_medium.CALL, 5, "write_into", [0, "x"]), 0, "but the frame carries 0"),
    ]
    with connected(daemon) as sock:
        for frame, count, reason in cases:
            send_with(sock, frame, count)
            reply = _medium.read_frame(sock)
            assert reply is not None and reply[:3] == [
                _medium.ERROR,
                msgpack.unpackb(frame[4:])[1],
                _medium.BAD_DESCRIPTORS,
            ], reply
            assert reason in reply[3], reply
        # The connection goes on.
        sock.sendall(body(_medium.CALL, 9, "plain", [5]))
        assert _medium.read_frame(sock) == [_medium.VALUE, 9, 5]


def fatal_15(sock: socket.socket) -> str:
    """The reason of the `FATAL` 15 the daemon closes `sock` with."""
    fatal = _medium.read_frame(sock)
    assert fatal is not None and fatal[:2] == [_medium.FATAL, _medium.BAD_DESCRIPTORS], fatal
    try:
        assert _medium.read_frame(sock) is None
    except ConnectionResetError:
        pass  # the daemon closed with bytes of ours unread
    return str(fatal[2])


def test_descriptors_in_the_middle_of_a_frame_are_fatal_15(
    daemon: FdDaemon, no_leak: None
) -> None:
    frame = body(_medium.CALL, 1, "plain", [5])
    with connected(daemon) as sock:
        # However the daemon's reads fall, the descriptors come with bytes in which no frame
        # begins.
        sock.sendall(frame[:6])
        send_with(sock, frame[6:], 1)
        assert "in the middle of a frame" in fatal_15(sock)


def test_more_descriptors_than_the_frame_limit_are_fatal_15(
    daemon: FdDaemon, no_leak: None
) -> None:
    daemon.max_fds_per_frame = 4
    bundle = {"name": "many", "files": list(range(6))}
    with connected(daemon) as sock:
        send_with(sock, body(_medium.CALL, 1, "read_bundle", [bundle]), 6)
        reason = fatal_15(sock)
        assert "more than" in reason or "lost" in reason, reason


@pytest.mark.parametrize(
    "message",
    [
        [_medium.SUBSCRIBE, 1, "log_opened"],
        [_medium.UNSUBSCRIBE, 1, "log_opened"],
        [_medium.BUILTIN, 1, "introspect", []],
    ],
)
def test_descriptors_on_a_message_that_carries_no_value_are_fatal_15(
    daemon: FdDaemon, message: list[Any], no_leak: None
) -> None:
    with connected(daemon) as sock:
        send_with(sock, body(*message), 1)
        assert "carries no value" in fatal_15(sock)


def test_descriptors_with_the_hello_are_fatal_15(daemon: FdDaemon, no_leak: None) -> None:
    with raw_connection(daemon, handshake=False) as sock:
        send_with(sock, _medium.hello(fdp._PROTOCOL), 1)
        fatal_15(sock)


@pytest.fixture()
def student_daemon(serve: Any) -> StudentDaemon:
    daemon = StudentDaemon()
    serve(daemon)
    return daemon


def test_a_protocol_without_fd_refuses_any_descriptor_with_fatal_15(
    student_daemon: StudentDaemon, no_leak: None
) -> None:
    with raw_connection(student_daemon) as sock:
        send_with(sock, body(_medium.CALL, 1, "get_student", ["x"]), 2)
        assert "this protocol has no `fd`" in fatal_15(sock)


def test_descriptors_held_by_running_calls_over_the_limit_are_fatal_15(
    daemon: FdDaemon, no_leak: None
) -> None:
    daemon.max_fds_in_flight = 2
    daemon.hold = True
    with connected(daemon) as sock:
        for call_id in (1, 2):
            send_with(sock, body(_medium.CALL, call_id, "write_into", [0, "x"]), 1)
        send_with(sock, body(_medium.CALL, 3, "write_into", [0, "x"]), 1)
        fatal = _medium.read_frame(sock)
        daemon.release.set()
        assert fatal is not None and fatal[:2] == [_medium.FATAL, _medium.BAD_DESCRIPTORS]
        assert "max_fds_in_flight" in fatal[2]


def test_the_client_closes_descriptors_a_daemon_attaches_wrongly(
    socket_dir: Path, no_leak: None
) -> None:
    """A hostile daemon: an `EVENT` or a `VALUE` whose indices disagree with its descriptors
    is a rejected value (code 15) on its stream or for its call; descriptors on an `ERROR`
    close the connection."""
    path = str(socket_dir / "hostile")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def hostile() -> None:
        conn, _ = listener.accept()
        with conn:
            _medium.read_frame(conn)
            conn.sendall(_medium.encode_frame([_medium.WELCOME, _medium.MAGIC, 2, "hostile"]))
            subscribe = _medium.read_frame(conn)
            assert subscribe is not None
            conn.sendall(body(_medium.VALUE, subscribe[1], None))
            send_with(conn, body(_medium.EVENT, "log_opened", [0, "two for one"]), 2)
            send_with(conn, body(_medium.EVENT, "log_opened", [0, "fine"]), 1)
            first = _medium.read_frame(conn)
            assert first is not None
            send_with(conn, body(_medium.VALUE, first[1], 1), 2)
            second = _medium.read_frame(conn)
            assert second is not None
            send_with(conn, body(_medium.ERROR, second[1], 5, "no"), 1)
            _medium.read_frame(conn)

    thread = threading.Thread(target=hostile, daemon=True)
    thread.start()
    try:
        with fdp.DescriptorsConnection(path) as client:
            subscription = client.log_opened()
            with pytest.raises(_medium.ProtocolError) as rejected:
                subscription.get(5)
            assert rejected.value.code == _medium.BAD_DESCRIPTORS
            with subscription.get(5).log as log:
                assert os.fstat(log.fileno())
            with pytest.raises(_medium.ProtocolError) as raised:
                client.open_file("x")
            assert raised.value.code == _medium.BAD_DESCRIPTORS
            with pytest.raises(_medium.ConnectionClosed) as closed:
                client.open_file("y")
            assert "kind 4" in str(closed.value)
    finally:
        thread.join(5)
        listener.close()


def test_the_client_closes_the_connection_over_its_descriptor_limits(
    daemon: FdDaemon, no_leak: None
) -> None:
    class FewPerFrame(fdp.DescriptorsConnection):
        max_fds_per_frame = 4

    with FewPerFrame(daemon.socket_path) as client:
        assert len(client.make_bundle(4).files) == 4
        with pytest.raises(_medium.ConnectionClosed):
            client.make_bundle(5)

    class FewWaiting(fdp.DescriptorsConnection):
        max_fds_in_flight = 2

    with FewWaiting(daemon.socket_path) as client:
        subscription = client.log_opened()
        client.announce("1")
        client.announce("2")
        # A third descriptor waiting unread in the subscription is one too many.
        with pytest.raises(_medium.ConnectionClosed):
            client.announce("3")
        for label in ("1", "2"):
            event = subscription.get(5)
            assert event.label == label
            event.log.close()
        with pytest.raises(_medium.ConnectionClosed):
            subscription.get(5)


def test_descriptors_belong_to_the_last_frame_beginning_in_the_bytes_they_came_with(
    no_leak: None,
) -> None:
    """PROTOCOL.md §3.1's rule, fed to a reader that reads ahead as a client's does."""
    first, second = body(_medium.VALUE, 1, 0), body(_medium.VALUE, 2, 0)

    def devnull() -> _medium.Fd:
        return _medium.Fd(os.open(os.devnull, os.O_RDONLY))

    reader = _medium.client_reader(fd_room=4)
    reader.feed(first + second, [devnull()])
    one, two = reader.frame(), reader.frame()
    assert one is not None and one[0][1] == 1 and one[2] == []
    assert two is not None and two[0][1] == 2 and len(two[2]) == 1
    two[2][0].close()
    assert reader.frame() is None

    # The first frame began in the earlier bytes: the descriptor is the second's.
    reader.feed(first[:2], [])
    reader.feed(first[2:] + second[:1], [devnull()])
    reader.feed(second[1:], [])
    one, two = reader.frame(), reader.frame()
    assert one is not None and one[2] == []
    assert two is not None and len(two[2]) == 1
    two[2][0].close()

    # No frame begins in the bytes the descriptor came with.
    reader.feed(first[:5], [])
    with pytest.raises(_medium.ProtocolError) as raised:
        reader.feed(first[5:], [devnull()])
    assert raised.value.code == _medium.BAD_DESCRIPTORS


def test_a_reading_ahead_reader_gets_every_frame_and_descriptor_however_the_bytes_are_cut(
    no_leak: None,
) -> None:
    """Random streams of replies, some over the reader's limit (skipped: `ERROR` 7), cut at
    random places; a descriptor comes with random chunks and must reach the last frame
    beginning in that chunk (or, with no frame beginning there, be refused)."""
    rng = random.Random(19)
    limit = 64
    for _ in range(200):
        sizes = [rng.choice([0, 1, 30, 60, 200]) for _ in range(rng.randint(1, 6))]
        frames = [body(_medium.VALUE, i, "x" * size) for i, size in enumerate(sizes)]
        stream = b"".join(frames)
        starts = list(itertools.accumulate([0] + [len(f) for f in frames[:-1]]))
        cuts = sorted(rng.sample(range(1, len(stream)), min(rng.randint(0, 5), len(stream) - 1)))
        reader = _medium.client_reader(fd_room=4, limit=limit)
        expected: dict[int, int] = {}
        taken: list[tuple[list[Any], list[_medium.Fd]]] = []
        refused = False
        for begin, end in zip([0] + cuts, cuts + [len(stream)]):
            with_fd = rng.random() < 0.4
            beginning = [i for i, start in enumerate(starts) if begin <= start < end]
            fds = [_medium.Fd(os.open(os.devnull, os.O_RDONLY))] if with_fd else []
            if with_fd and not beginning:
                with pytest.raises(_medium.ProtocolError):
                    reader.feed(stream[begin:end], fds)
                refused = True
                break
            reader.feed(stream[begin:end], fds)
            if with_fd:
                expected[beginning[-1]] = expected.get(beginning[-1], 0) + 1
            while (frame := reader.frame()) is not None:
                taken.append((frame[0], frame[2]))
        reader.close()
        for message, fds in taken:
            _medium.descriptors.close_all(fds)
        if refused:
            continue
        assert [m[1] for m, _ in taken] == list(range(len(frames)))
        for (message, fds), size in zip(taken, sizes):
            index = message[1]
            if len(frames[index]) - 4 > limit:
                assert message[0] == _medium.ERROR and message[2] == _medium.FRAME_TOO_LARGE
                assert fds == []  # a skipped frame's descriptors are closed
            else:
                assert message == [_medium.VALUE, index, "x" * size]
                assert len(fds) == expected.get(index, 0)


def test_fd_objects_own_their_descriptor() -> None:
    read_end, write_end = os.pipe()
    fd = _medium.Fd(write_end)
    assert fd.fileno() == write_end and not fd.closed
    number = fd.detach()
    assert fd.closed and number == write_end
    with pytest.raises(ValueError):
        fd.fileno()
    with _medium.Fd(number) as again:
        os.write(again.fileno(), b"x")
    assert again.closed
    with pytest.raises(OSError):
        os.fstat(number)
    os.close(read_end)


def test_the_student_protocol_passes_no_fds_and_the_descriptor_one_does() -> None:
    assert not ss._PROTOCOL.passes_fds
    assert fdp._PROTOCOL.passes_fds
