"""The Python daemon's guarantees of SECURITY.md, over a real socket: the uid allow-list, the
handshake timeout, the frame limit, malformed input ending only its connection, the
per-connection call budget and the bounded outgoing queue. Raw sockets play the misbehaving
clients; each limit is lowered so the tests are fast. (Shutdown with calls in flight is in
test_daemon_process.py.)"""

from __future__ import annotations

import asyncio
import os
import select
import socket
import struct
import threading
import time
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

import student_system as ss
from student_system import _medium
from test_student import Daemon, ada


def raw_connection(daemon: ss.StudentSystemServerBase, handshake: bool = True) -> socket.socket:
    """A socket to `daemon`, after a completed handshake if `handshake`."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(daemon.socket_path)
    sock.settimeout(5)
    if handshake:
        sock.sendall(_medium.hello(ss._PROTOCOL))
        welcome = _medium.read_frame(sock)
        assert welcome is not None and welcome[0] == _medium.WELCOME
    return sock


def call_frame(call_id: int, method: str, *args: Any) -> bytes:
    return _medium.encode_frame([_medium.CALL, call_id, method, list(args)])


def wait_until(condition: Any, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.01)


def test_a_peer_outside_the_uid_allow_list_gets_fatal_10_before_it_sends_a_byte(serve: Any) -> None:
    daemon = Daemon()
    daemon.allowed_uids = [os.getuid() + 1]
    serve(daemon)
    # Nothing sent: the refusal comes before the daemon reads anything, then it closes.
    with raw_connection(daemon, handshake=False) as sock:
        message = f"uid {os.getuid()} is not allowed to use this daemon"
        assert _medium.read_frame(sock) == [_medium.FATAL, _medium.PEER_NOT_ALLOWED, message]
        assert _medium.read_frame(sock) is None
    # The Python client says why, as a connection error.
    with pytest.raises(ss.Rejected) as raised:
        ss.StudentSystemConnection()
    assert isinstance(raised.value, ConnectionError)
    assert raised.value.code == _medium.PEER_NOT_ALLOWED
    assert f"uid {os.getuid()} is not allowed" in str(raised.value)
    # Refused peers never became applications, and no handler ran for them.
    assert daemon.applications == []
    assert daemon.callers == []


def test_a_listed_uid_is_served(serve: Any) -> None:
    daemon = Daemon()
    daemon.allowed_uids = {os.getuid()}
    serve(daemon)
    with ss.StudentSystemConnection() as connection:
        connection.update_student(ada())
        assert connection.get_student("s1") == ada()


def test_a_handshake_trickled_byte_by_byte_is_cut_off_at_the_timeout_with_fatal_13(
    serve: Any,
) -> None:
    daemon = Daemon()
    daemon.handshake_timeout = 0.3
    serve(daemon)
    hello = _medium.hello(ss._PROTOCOL)
    with raw_connection(daemon, handshake=False) as sock:
        started = time.monotonic()
        closed_after: float | None = None
        # A byte every 20 ms keeps every single read short; only a deadline for the whole
        # handshake ends it.
        for byte in hello:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed: its answer waits to be read
            else:
                if not select.select([sock], [], [], 0.02)[0]:
                    continue
            closed_after = time.monotonic() - started
            break
        assert closed_after is not None, "the daemon waited for the whole trickled handshake"
        assert 0.25 <= closed_after < 2.0
        assert _medium.read_frame(sock) == [
            _medium.FATAL, _medium.HANDSHAKE_TIMED_OUT, "no handshake within 0.3 s"
        ]
    # The daemon still serves everyone else.
    with ss.StudentSystemConnection() as connection:
        connection.update_student(ada())


def test_an_oversized_first_frame_gets_fatal_7_and_others_are_served(serve: Any) -> None:
    daemon = Daemon()
    daemon.max_frame_len = 1024
    serve(daemon)
    with raw_connection(daemon, handshake=False) as sock:
        sock.sendall(struct.pack(">I", 1025))
        fatal = _medium.read_frame(sock)
        assert fatal is not None and fatal[:2] == [_medium.FATAL, _medium.FRAME_TOO_LARGE]
        assert _medium.read_frame(sock) is None
    with raw_connection(daemon) as sock:
        sock.sendall(call_frame(1, "get_student", "x" * 2000))
        fatal = _medium.read_frame(sock)
        assert fatal is not None and fatal[:2] == [_medium.FATAL, _medium.FRAME_TOO_LARGE]
    with ss.StudentSystemConnection() as connection:
        connection.update_student(ada())
        assert connection.get_student("s1") == ada()


class Photographer(Daemon):
    """Every student it returns has a 2000-byte photo."""

    def get_student(self, application: ss.Application, id: str) -> ss.Student:
        return ss.Student(id=id, first_name="", last_name="", age=0, photo=bytes(2000))


def test_a_reply_over_the_frame_limit_fails_only_its_call(serve: Any) -> None:
    daemon = Photographer()
    daemon.max_frame_len = 1024
    serve(daemon)
    with ss.StudentSystemConnection() as connection:
        with pytest.raises(ss.ProtocolError) as raised:
            connection.get_student("s1")
        assert raised.value.code == _medium.FRAME_TOO_LARGE
        assert "exceeds the 1024-byte frame limit" in str(raised.value)
        # The connection goes on.
        connection.update_student(ada())


class Arsonist(Daemon):
    """Fails `update_student` with an internal error whose message is 2000 bytes."""

    def update_student(self, application: ss.Application, info: ss.Student) -> None:
        raise RuntimeError("x" * 2000)


def read_replies(sock: socket.socket, count: int) -> dict[int, tuple[int, list[Any]]]:
    """The next `count` replies on `sock`, by call id, with each frame's body size."""
    replies: dict[int, tuple[int, list[Any]]] = {}
    for _ in range(count):
        (length,) = struct.unpack(">I", sock.recv(4, socket.MSG_WAITALL))
        body = sock.recv(length, socket.MSG_WAITALL)
        message = msgpack.unpackb(body, raw=False)
        replies[message[1]] = (length, message)
    return replies


@pytest.mark.parametrize("kind", ["exception", "error"])
def test_an_exception_or_error_over_the_frame_limit_fails_only_its_call(
    serve: Any, kind: str
) -> None:
    daemon = Arsonist()
    daemon.max_frame_len = 1024
    daemon.students["s1"] = ada()
    serve(daemon)
    # The exception echoes a 1000-byte id: the call fits, its reply would not.
    big = call_frame(1, "get_student", "x" * 1000)
    if kind == "error":
        info = {"id": "s2", "first_name": "", "last_name": "", "age": 0, "photo": b""}
        big = call_frame(1, "update_student", info)
    with raw_connection(daemon) as sock:
        # Both calls in flight at once on one connection.
        sock.sendall(big + call_frame(2, "get_student", "s1"))
        replies = read_replies(sock, 2)
        length, reply = replies[1]
        assert length <= 1024
        assert reply[:3] == [_medium.ERROR, 1, _medium.FRAME_TOO_LARGE], reply
        assert "exceeds the 1024-byte frame limit" in reply[3]
        assert replies[2][1][:2] == [_medium.VALUE, 2]
        # The connection goes on.
        sock.sendall(call_frame(3, "get_student", "s1"))
        assert read_replies(sock, 1)[3][1][:2] == [_medium.VALUE, 3]
    # And through the client: the call fails alone, another thread's call succeeds.
    with ss.StudentSystemConnection() as connection:
        results: list[Any] = []
        other = threading.Thread(target=lambda: results.append(connection.get_student("s1")))
        other.start()
        with pytest.raises(ss.ProtocolError) as raised:
            if kind == "error":
                connection.update_student(ada())
            else:
                connection.get_student("x" * 1000)
        other.join()
        assert raised.value.code == _medium.FRAME_TOO_LARGE
        assert results == [ada()]
        assert connection.get_student("s1") == ada()


class Verbose(Daemon):
    """Raises, for id `huge`, an exception whose message is over the clients' 16 MiB limit."""

    max_frame_len = 32 << 20

    def get_student(self, application: ss.Application, id: str) -> ss.Student:
        if id == "huge":
            raise ss.StudentNotFound("x" * (17 << 20))
        return super().get_student(application, id)


def test_a_client_skips_a_reply_over_its_limit_and_keeps_the_connection(serve: Any) -> None:
    daemon = Verbose()
    daemon.students["s1"] = ada()
    serve(daemon)
    # The daemon may send 32 MiB; a Python client reads at most 16 MiB (`MAX_FRAME`).
    with ss.StudentSystemConnection() as connection:
        results: list[Any] = []
        other = threading.Thread(target=lambda: results.append(connection.get_student("s1")))
        other.start()
        with pytest.raises(ss.ProtocolError) as raised:
            connection.get_student("huge")
        other.join()
        assert raised.value.code == _medium.FRAME_TOO_LARGE
        assert "it was skipped" in str(raised.value)
        assert results == [ada()]
        assert connection.get_student("s1") == ada()
        assert connection.state == ss.ConnectionState.CONNECTED

    async def scenario() -> None:
        async with await ss.StudentSystemAsyncConnection.connect() as connection:
            huge, small = await asyncio.gather(
                connection.get_student("huge"), connection.get_student("s1"), return_exceptions=True
            )
            assert isinstance(huge, ss.ProtocolError), huge
            assert huge.code == _medium.FRAME_TOO_LARGE
            assert small == ada()
            assert await connection.get_student("s1") == ada()

    asyncio.run(scenario())


def test_a_refusal_repeating_a_huge_hello_stays_under_the_frame_limit(serve: Any) -> None:
    daemon = Daemon()
    daemon.max_frame_len = 1024
    serve(daemon)
    p = ss._PROTOCOL
    hello = [_medium.HELLO, _medium.MAGIC, _medium.WIRE_VERSION, "n" * 900, p.class_name, p.fingerprint]
    with raw_connection(daemon, handshake=False) as sock:
        sock.sendall(_medium.encode_frame(hello))
        (length,) = struct.unpack(">I", sock.recv(4, socket.MSG_WAITALL))
        assert length <= 1024
        refused = msgpack.unpackb(sock.recv(length, socket.MSG_WAITALL), raw=False)
        assert refused[:2] == [_medium.REFUSED, _medium.HANDSHAKE_MISMATCH]
        assert "n" * 128 in refused[2] and "n" * 129 not in refused[2]


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00\x00\x00\x01\xc1",  # not MessagePack
        _medium.encode_frame([_medium.CALL, "1", "get_student", ["s1"]]),  # id not an integer
        _medium.encode_frame([_medium.CALL, 1, ["get_student"], ["s1"]]),  # name not a string
        _medium.encode_frame([_medium.SUBSCRIBE, 1, ["student_added"]]),  # event not a string
        _medium.encode_frame([_medium.SUBSCRIBE, "student_added"]),  # version 1's SUBSCRIBE
        _medium.encode_frame([_medium.HELLO, "medium", 2, "a", "b", "c"]),  # a second HELLO
    ],
    ids=["garbage", "id", "name", "event", "subscribe-v1", "second-hello"],
)
def test_a_malformed_message_gets_fatal_6_and_ends_only_its_connection(
    serve: Any, frame: bytes
) -> None:
    daemon = Daemon()
    serve(daemon)
    with ss.StudentSystemConnection() as bystander, raw_connection(daemon) as sock:
        sock.sendall(frame)
        fatal = _medium.read_frame(sock)
        assert fatal is not None and fatal[:2] == [_medium.FATAL, _medium.MALFORMED]
        assert _medium.read_frame(sock) is None
        bystander.update_student(ada())
        assert bystander.get_student("s1") == ada()
        assert len(daemon.applications) == 1


class Observed(Daemon):
    """Records the ids `get_student` is called with; `get_student("block-…")` waits until
    `release` is set, counting how many wait at once."""

    def __init__(self) -> None:
        super().__init__()
        self.requested: list[str] = []
        self.release = threading.Event()
        self.counter = threading.Lock()
        self.running = 0
        self.most_running = 0

    def get_student(self, application: ss.Application, id: str) -> ss.Student:
        self.requested.append(id)
        if id.startswith("block-"):
            with self.counter:
                self.running += 1
                self.most_running = max(self.most_running, self.running)
            self.release.wait(10)
            with self.counter:
                self.running -= 1
        return super().get_student(application, id)


def test_a_slow_call_blocks_neither_the_calls_read_with_it_nor_those_after_it(serve: Any) -> None:
    """A connection's reading thread runs the calls it reads itself and holds the replies of
    frames that arrived together, to send them together: once a call proves slow, its reply
    waits alone, and the calls around it (read in the same system call, or sent later on the
    same connection) are answered at once."""
    daemon = Observed()
    serve(daemon)
    with raw_connection(daemon) as sock:
        sock.sendall(
            call_frame(1, "get_student", "before")
            + call_frame(2, "get_student", "block-2")
            + call_frame(3, "get_student", "after")
        )
        answered = {_medium.read_frame(sock)[1] for _ in range(2)}  # type: ignore[index]
        assert answered == {1, 3}
        sock.sendall(call_frame(4, "get_student", "later"))
        assert _medium.read_frame(sock)[1] == 4  # type: ignore[index]
        assert daemon.running == 1, "the slow call was not running meanwhile"
        daemon.release.set()
        assert _medium.read_frame(sock)[1] == 2  # type: ignore[index]
        # One thread reads on (the one whose call was slow stopped reading): every call of a
        # pipelined burst is answered once.
        sock.sendall(b"".join(call_frame(n, "get_student", f"s{n}") for n in range(10, 60)))
        replies = [_medium.read_frame(sock) for _ in range(50)]
    assert sorted(r[1] for r in replies if r is not None) == list(range(10, 60))


def test_the_slow_call_monitor_runs_only_while_calls_run(serve: Any) -> None:
    """The thread that notices slow calls looks every few milliseconds while calls run, and
    ends once none has run for a while: an idle daemon has no thread waking up."""

    def monitors() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "medium slow calls"]

    daemon = Observed()
    serve(daemon)
    with raw_connection(daemon) as sock:
        sock.sendall(call_frame(1, "get_student", "block-1"))
        wait_until(lambda: daemon.running == 1, "the call runs")
        assert monitors(), "no monitor while a call runs"
        daemon.release.set()
        assert _medium.read_frame(sock) is not None
        wait_until(lambda: not monitors(), "the monitor ends", timeout=1.0)
        # The next call starts another.
        daemon.release.clear()
        sock.sendall(call_frame(2, "get_student", "block-2"))
        wait_until(lambda: daemon.running == 1, "the call runs")
        assert monitors(), "no monitor while a call runs"
        daemon.release.set()
        assert _medium.read_frame(sock) is not None


# The byte budget as a number of the test's call frames (all the same length): 2.5 runs two.
@pytest.mark.parametrize(("max_calls", "budget_in_frames", "cap"), [(4, None, 4), (256, 2.5, 2)])
def test_calls_beyond_the_budget_wait_unread_while_other_clients_are_served(
    serve: Any, max_calls: int, budget_in_frames: float | None, cap: int
) -> None:
    calls = 40
    frames = [call_frame(n, "get_student", f"block-{n:03}") for n in range(1, calls + 1)]
    (frame_len,) = {len(frame) - 4 for frame in frames}
    daemon = Observed()
    daemon.max_in_flight_calls = max_calls
    if budget_in_frames is not None:
        daemon.max_in_flight_bytes = int(budget_in_frames * frame_len)
    serve(daemon)
    with raw_connection(daemon) as flooder:
        flooder.sendall(b"".join(frames))
        wait_until(lambda: daemon.running == cap, f"{cap} calls run")
        time.sleep(0.2)
        assert daemon.running == cap, "the daemon ran calls beyond the budget"
        # Another application is served at once.
        with ss.StudentSystemConnection(timeout=2) as other:
            started = time.monotonic()
            with pytest.raises(ss.StudentNotFound):
                other.get_student("free")
            assert time.monotonic() - started < 1.0
        # Calls beyond the budget were held back, not refused: every one gets its answer.
        daemon.release.set()
        replies = [_medium.read_frame(flooder) for _ in range(calls)]
    assert sorted(r[1] for r in replies if r is not None) == list(range(1, calls + 1))
    assert {r[0] for r in replies if r is not None} == {_medium.EXCEPTION}
    assert daemon.most_running == cap


def test_a_client_that_does_not_read_loses_events_with_lagged_and_is_read_no_further(
    serve: Any,
) -> None:
    daemon = Observed()
    daemon.event_queue_len = 8
    serve(daemon)
    big = ss.Student(id="", first_name="", last_name="", age=0, photo=bytes(256 * 1024))
    with raw_connection(daemon) as idle, ss.StudentSystemConnection(timeout=5) as busy:
        idle.sendall(_medium.encode_frame([_medium.SUBSCRIBE, 1, "student_added"]))
        # The subscription is in effect once the daemon acknowledged it.
        assert _medium.read_frame(idle) == [_medium.VALUE, 1, None]
        # 40 events of 256 KiB for a client that reads none: the socket buffer and the queue
        # fill up, the rest is dropped, and the daemon is not slowed down.
        started = time.monotonic()
        for n in range(40):
            busy.update_student(ss.Student(**{**big.__dict__, "id": f"s{n}"}))
        assert time.monotonic() - started < 5.0
        # While its queue is full, the daemon reads nothing more from that client.
        idle.sendall(call_frame(2, "get_student", "probe-2"))
        time.sleep(0.3)
        assert "probe-2" not in daemon.requested
        # One gap, however late the daemon's writer thread ran: a frame counts in the queue
        # until the socket took all of it, so no room appears while the client reads nothing.
        ids: list[str] = []
        while True:
            frame = _medium.read_frame(idle)
            assert frame is not None
            if frame[0] == _medium.EVENT:
                ids.append(frame[2][1]["id"])
            else:
                assert frame[:2] == [_medium.EXCEPTION, 2]
                break
        assert "probe-2" in daemon.requested
        # What reached it is in order; the next event that fits says how many were lost.
        assert ids == [f"s{n}" for n in range(len(ids))] and len(ids) < 40
        busy.update_student(ss.Student(**{**big.__dict__, "id": "last"}))
        assert _medium.read_frame(idle) == [_medium.LAGGED, 40 - len(ids)]
        last = _medium.read_frame(idle)
        assert last is not None and last[:2] == [_medium.EVENT, "student_added"]
        assert last[2][1]["id"] == "last"

