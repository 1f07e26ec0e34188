"""Who reads the blocking client's connection (leader/follower): a call alone is answered on
its own thread; a caller reading routes other callers' replies to them; a caller that gives
up hands reading to one still waiting; the connection ending mid-call fails every waiting
caller. Against a Python daemon in this process, or a daemon process that is killed; each
read of the client's socket is recorded with the thread that made it."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

import pytest

import student_system as ss
from conftest import STUDENT_DAEMON, SpawnDaemon
from student_system import _medium


def ada(id: str) -> ss.Student:
    return ss.Student(id=id, first_name="Ada", last_name="Lovelace", age=36, photo=b"")


class Gated(ss.StudentSystemServerBase):
    """`get_student("wait-NAME")` answers once `open_gate(NAME)` was called; any other id at
    once."""

    def __init__(self) -> None:
        super().__init__()
        self._gates: dict[str, threading.Event] = {}
        self._started: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def _events(self, name: str) -> tuple[threading.Event, threading.Event]:
        with self._lock:
            gate = self._gates.setdefault(name, threading.Event())
            return gate, self._started.setdefault(name, threading.Event())

    def open_gate(self, name: str) -> None:
        self._events(name)[0].set()

    def wait_started(self, name: str) -> None:
        assert self._events(name)[1].wait(5), f"the call `{name}` did not reach the daemon"

    def get_student(self, application: ss.Application, id: str) -> ss.Student:
        if id.startswith("wait-"):
            gate, started = self._events(id[len("wait-") :])
            started.set()
            assert gate.wait(10)
        return ada(id)


Reads = list[tuple[str, int]]


@pytest.fixture()
def reads_of(monkeypatch: pytest.MonkeyPatch) -> Callable[[ss.StudentSystemConnection], Reads]:
    """Records, for a connection, each read of its socket after the handshake: the reading
    thread's name and how many bytes came (-1: the read failed)."""
    recorded: dict[int, Reads] = {}
    receive = _medium.framing.receive

    def recording(sock: Any, size: int, room: int) -> Any:
        reads = recorded.setdefault(sock.fileno(), [])
        try:
            data, fds = receive(sock, size, room)
        except OSError:
            reads.append((threading.current_thread().name, -1))
            raise
        reads.append((threading.current_thread().name, len(data)))
        return data, fds

    monkeypatch.setattr(_medium.framing, "receive", recording)

    def reads(connection: ss.StudentSystemConnection) -> Reads:
        return recorded.setdefault(connection._sock.fileno(), [])

    return reads


def connect(
    reads_of: Callable[[ss.StudentSystemConnection], Reads], timeout: float | None = None
) -> ss.StudentSystemConnection:
    """A connection whose reads are recorded from now on (the handshake's are forgotten)."""
    connection = ss.StudentSystemConnection(timeout=timeout)
    reads_of(connection).clear()
    return connection

    return reads


def in_thread(name: str, call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Runs `call` on a thread named `name`; the list gets its result or exception."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as err:
            outcome.append(err)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, outcome


@pytest.fixture()
def gated(serve: Any) -> Iterator[Gated]:
    daemon = Gated()
    serve(daemon)
    yield daemon
    for name in ("a", "b"):
        daemon.open_gate(name)  # never leave a handler waiting


def test_a_call_alone_is_answered_on_the_calling_thread(
    gated: Gated, reads_of: Callable[[ss.StudentSystemConnection], Reads]
) -> None:
    with connect(reads_of, timeout=5) as connection:
        for n in range(20):
            assert connection.get_student(f"s{n}") == ada(f"s{n}")
        readers = {thread for thread, _ in reads_of(connection)}
    # No other thread was woken to read a reply.
    assert readers == {threading.current_thread().name}


def test_a_reading_caller_routes_another_callers_reply_to_it(
    gated: Gated, reads_of: Callable[[ss.StudentSystemConnection], Reads]
) -> None:
    with connect(reads_of, timeout=5) as connection:
        slow, slow_outcome = in_thread("caller a", lambda: connection.get_student("wait-a"))
        gated.wait_started("a")  # "caller a" reads now, waiting for its reply
        assert connection.get_student("s1") == ada("s1")
        assert slow.is_alive(), "the slow call returned before its gate opened"
        assert {thread for thread, _ in reads_of(connection)} == {"caller a"}
        gated.open_gate("a")
        slow.join(5)
        assert slow_outcome == [ada("wait-a")]


def test_a_caller_that_times_out_hands_reading_to_one_still_waiting(
    gated: Gated, reads_of: Callable[[ss.StudentSystemConnection], Reads]
) -> None:
    with connect(reads_of) as connection:
        first, first_outcome = in_thread(
            "caller a", lambda: connection.call("get_student", ("wait-a",), timeout=0.5)
        )
        gated.wait_started("a")
        second, second_outcome = in_thread(
            "caller b", lambda: connection.call("get_student", ("wait-b",), timeout=10)
        )
        gated.wait_started("b")
        first.join(5)
        assert len(first_outcome) == 1 and isinstance(first_outcome[0], TimeoutError)
        gated.open_gate("b")
        second.join(5)
        assert second_outcome == [ada("wait-b")]
        # "caller a" read nothing (no byte came before its deadline), then handed the turn to
        # "caller b", which read its reply itself.
        assert {thread for thread, _ in reads_of(connection)} == {"caller b"}


def test_the_connection_ending_mid_call_fails_every_waiting_caller(
    spawn_daemon: SpawnDaemon, reads_of: Callable[[ss.StudentSystemConnection], Reads]
) -> None:
    daemon = spawn_daemon(STUDENT_DAEMON)
    with connect(reads_of, timeout=10) as connection:
        callers = [
            in_thread(f"caller {n}", lambda: connection.get_student("slow-30")) for n in range(3)
        ]
        assert daemon.stdout is not None
        # The daemon's threads print "started slow-30" each, their lines may interleave.
        started = 0
        while started < len(callers):
            started += daemon.stdout.readline().count("slow-30")
        daemon.kill()
        daemon.wait()
        for thread, outcome in callers:
            thread.join(5)
            assert len(outcome) == 1 and isinstance(outcome[0], ss.ConnectionClosed), outcome
        assert connection.state_change(ss.ConnectionState.CONNECTED, 5) is ss.ConnectionState.CLOSED
        # The end of the stream was read by one of the callers, which told the others.
        reads = reads_of(connection)
        assert [size for _, size in reads] in ([0], [-1]), reads
        assert reads[0][0].startswith("caller "), reads

