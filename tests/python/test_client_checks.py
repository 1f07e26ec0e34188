"""What the Python clients (blocking and asyncio) do with what a daemon sends, played here by
a socket that welcomes them and answers with frames built by hand: a reply value of the wrong
shape (or nesting too deeply) fails only its call, an event of the wrong shape is reported on
its subscription, which goes on, a malformed frame ends the connection; and subscribing waits
for the daemon's acknowledgement (wire version 2)."""

from __future__ import annotations

import asyncio
import socket
import struct
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import msgpack  # type: ignore[import-untyped]
import pytest

import student_system as ss
from student_system import _medium
from test_daemon_protocol import nested, packed
from test_student import Daemon, ada

# What the played daemon answers a request with: the bytes of its frames.
Answer = Callable[[list[Any]], bytes]


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def value(request_id: int, raw_value: bytes) -> bytes:
    """A `VALUE` frame whose value is `raw_value`, MessagePack written by hand."""
    return frame(b"\x93" + packed(_medium.VALUE) + packed(request_id) + raw_value)


def event(raw_args: bytes) -> bytes:
    return frame(b"\x93" + packed(_medium.EVENT) + packed("student_added") + raw_args)


STUDENT = {"id": "s1", "first_name": "Ada", "last_name": "Lovelace", "age": 36, "photo": b"\x00\x01\xff"}


class PlayedDaemon:
    """A socket that welcomes one application, then answers each request with `answer`'s
    bytes."""

    def __init__(self, answer: Answer, welcome: list[Any] | None = None) -> None:
        self.path = str(Path(tempfile.mkdtemp(prefix="medium-played-")) / "socket")
        self._answer = answer
        self._welcome = welcome or [_medium.WELCOME, _medium.MAGIC, 2, "played"]
        self.received: list[list[Any]] = []
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        sock, _ = self._listener.accept()
        with sock:
            hello = _medium.read_frame(sock)
            assert hello is not None and hello[:3] == [_medium.HELLO, _medium.MAGIC, 2]
            sock.sendall(_medium.encode_frame(self._welcome))
            while (message := _medium.read_frame(sock)) is not None:
                self.received.append(message)
                sock.sendall(self._answer(message))

    def close(self) -> None:
        self._listener.close()


@pytest.fixture()
def play() -> Iterator[Callable[..., PlayedDaemon]]:
    played: list[PlayedDaemon] = []

    def start(answer: Answer, welcome: list[Any] | None = None) -> PlayedDaemon:
        played.append(PlayedDaemon(answer, welcome))
        return played[-1]

    yield start
    for daemon in played:
        daemon.close()


# The frames answering a request, given its id.
Reply = Callable[[int], bytes]


def by_id(answers: dict[str, Reply]) -> Answer:
    """Answers `get_student(id)` with `answers[id]`, anything else with `VALUE nil`."""

    def answer(message: list[Any]) -> bytes:
        if message[0] == _medium.CALL and message[2] == "get_student":
            return answers[message[3][0]](message[1])
        return value(message[1], packed(None))

    return answer


def student_value(raw_student: bytes) -> Reply:
    return lambda request_id: value(request_id, raw_student)


def fixed(frames: bytes) -> Reply:
    return lambda request_id: frames


GOOD = student_value(packed(STUDENT))

WRONG_VALUES = {
    "bool-for-uint8": (packed({**STUDENT, "age": True}), "age: expected a uint8, found true"),
    "out-of-range": (packed({**STUDENT, "age": 256}), "age: expected a uint8, found int 256"),
    "str-for-binary": (packed({**STUDENT, "photo": "x"}), "photo: expected binary, found str"),
    "bin-for-string": (packed({**STUDENT, "id": b"s1"}), "id: expected a string, found bin"),
    "missing-field": (packed({k: v for k, v in STUDENT.items() if k != "age"}), "`age` is missing"),
    "unknown-field": (packed({**STUDENT, "x": 1}), "unknown field `x`"),
    "duplicate-key": (
        b"\x86" + packed(STUDENT)[1:] + packed("id") + packed("s2"),
        "a map with the key `id` twice",
    ),
    "array-for-model": (packed(list(STUDENT.values())), "expected a Student (a map)"),
    "too-deep": (nested(129), "value nests deeper than 128 arrays and maps"),
    "too-deep-for-msgpack": (nested(2000), "value nests deeper than 128 arrays and maps"),
}


def run_blocking(daemon: PlayedDaemon, ids: list[str]) -> list[Any]:
    """Calls `get_student(id)` for each id on one blocking connection: results or errors."""
    outcomes: list[Any] = []
    with ss.StudentSystemConnection(path=daemon.path, timeout=5) as connection:
        for id in ids:
            try:
                outcomes.append(connection.get_student(id))
            except ss.MediumError as err:
                outcomes.append(err)
    return outcomes


def run_async(daemon: PlayedDaemon, ids: list[str]) -> list[Any]:
    async def scenario() -> list[Any]:
        connection = await ss.StudentSystemAsyncConnection.connect(path=daemon.path, timeout=5)
        outcomes: list[Any] = []
        async with connection:
            for id in ids:
                try:
                    outcomes.append(await connection.get_student(id))
                except ss.MediumError as err:
                    outcomes.append(err)
        return outcomes

    return asyncio.run(scenario())


CLIENTS = pytest.mark.parametrize("run", [run_blocking, run_async], ids=["blocking", "asyncio"])


@CLIENTS
@pytest.mark.parametrize("case", list(WRONG_VALUES))
def test_a_reply_value_of_the_wrong_shape_fails_only_its_call(
    play: Callable[..., PlayedDaemon], run: Callable[..., list[Any]], case: str
) -> None:
    raw, message = WRONG_VALUES[case]
    daemon = play(by_id({"bad": student_value(raw), "good": GOOD}))
    bad, good = run(daemon, ["bad", "good"])
    assert isinstance(bad, ss.ProtocolError), bad
    assert message in str(bad)
    assert good == ada()


@CLIENTS
def test_a_value_for_a_method_returning_nothing_must_be_nil(
    play: Callable[..., PlayedDaemon], run: Callable[..., list[Any]]
) -> None:
    def answer(message: list[Any]) -> bytes:
        return value(message[1], packed(0 if message[3][0]["id"] == "bad" else None))

    daemon = play(answer)

    def update(connection: Any, id: str) -> Any:
        return connection.update_student(ada(id))

    if run is run_blocking:
        with ss.StudentSystemConnection(path=daemon.path, timeout=5) as connection:
            with pytest.raises(ss.ProtocolError, match="expected nil"):
                update(connection, "bad")
            assert update(connection, "good") is None
    else:

        async def scenario() -> None:
            async with await ss.StudentSystemAsyncConnection.connect(path=daemon.path) as connection:
                with pytest.raises(ss.ProtocolError, match="expected nil"):
                    await update(connection, "bad")
                assert await update(connection, "good") is None

        asyncio.run(scenario())


# Answers to the first call (id 1).
MALFORMED = {
    "bytes-after-the-value": fixed(frame(packed([_medium.VALUE, 1, STUDENT]) + b"\x00")),
    "str-not-utf8": fixed(frame(b"\x93\x02\x01\xa2\xff\xfe")),
    "reserved-0xc1": fixed(frame(b"\x93\x02\x01\xc1")),
    "truncated": fixed(frame(b"\x93\x02\x01\xa5ab")),
    "value-too-short": fixed(frame(packed([_medium.VALUE, 1]))),
    "unknown-kind": fixed(frame(packed([9, 1, None]))),
}


@CLIENTS
@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_frame_ends_the_connection(
    play: Callable[..., PlayedDaemon], run: Callable[..., list[Any]], case: str
) -> None:
    daemon = play(by_id({"bad": MALFORMED[case], "good": GOOD}))
    bad, after = run(daemon, ["bad", "good"])
    assert isinstance(bad, ss.ConnectionClosed), bad
    assert isinstance(after, ss.ConnectionClosed), after


def subscription_answer(events: bytes) -> Answer:
    """Acknowledges a `SUBSCRIBE`, then sends `events`; answers anything else with nil."""

    def answer(message: list[Any]) -> bytes:
        reply = value(message[1], packed(None))
        return reply + events if message[0] == _medium.SUBSCRIBE else reply

    return answer


EVENTS = (
    event(packed([1.0, {**STUDENT, "age": -1}]))
    + event(packed([1.0]))
    + event(b"\x92\xcb" + struct.pack(">d", 2.0) + nested(200))
    + event(packed([3, STUDENT]))
)


def test_an_event_of_the_wrong_shape_is_reported_on_its_subscription_which_goes_on(
    play: Callable[..., PlayedDaemon],
) -> None:
    daemon = play(subscription_answer(EVENTS))
    with ss.StudentSystemConnection(path=daemon.path, timeout=5) as connection:
        events = connection.student_added()
        with pytest.raises(ss.ProtocolError, match=r"student_added\(info\).age: expected a uint8"):
            events.get(5)
        with pytest.raises(ss.ProtocolError, match="`student_added` takes 2 arguments"):
            events.get(5)
        with pytest.raises(ss.ProtocolError, match="nests deeper than 128") as raised:
            events.get(5)
        assert raised.value.code == _medium.MALFORMED
        # An integer is a valid double.
        assert events.get(5) == (3.0, ada())
        assert connection.update_student(ada()) is None
        assert connection.state is ss.ConnectionState.CONNECTED

    async def scenario() -> None:
        daemon = play(subscription_answer(EVENTS))
        async with await ss.StudentSystemAsyncConnection.connect(path=daemon.path) as connection:
            events = await connection.student_added()
            for _ in range(3):
                with pytest.raises(ss.ProtocolError):
                    await events.get()
            assert await events.get() == (3.0, ada())

    asyncio.run(scenario())


def test_a_callback_gets_the_arguments_and_its_subscription_the_events_of_the_wrong_shape(
    play: Callable[..., PlayedDaemon], caplog: pytest.LogCaptureFixture
) -> None:
    # `on_<event>` asks `subscribe` for a callback taking the arguments (`unpacked`): it is
    # called with them as they are decoded, no record made; what is not an event goes to
    # `get()`, and a callback raising is logged while the events after it still arrive.
    arrived: list[tuple[Any, ...]] = []
    got_both = threading.Event()

    def on_event(*args: Any) -> None:
        arrived.append(args)
        if len(arrived) == 2:
            got_both.set()
        if len(arrived) == 1:
            raise RuntimeError("the callback failed")

    daemon = play(subscription_answer(EVENTS + event(packed([4.5, STUDENT]))))
    with ss.StudentSystemConnection(path=daemon.path, timeout=5) as connection:
        subscription = connection.subscribe("student_added", on_event, unpacked=True)
        for expected in ("expected a uint8", "takes 2 arguments", "nests deeper than 128"):
            with pytest.raises(ss.ProtocolError, match=expected):
                subscription.get(5)
        assert got_both.wait(5)
        assert arrived == [(3.0, ada()), (4.5, ada())]
        assert "the `student_added` callback failed" in caplog.text
        subscription.close()
        with pytest.raises(ss.ConnectionClosed):
            subscription.get(5)
        with connection.on_student_added(lambda time, info: None) as generated:
            assert generated._call is not None  # the callback itself, given the arguments
        # Answered after both `UNSUBSCRIBE`s: the played daemon writes nothing once closed.
        assert connection.update_student(ada()) is None


def test_subscribing_to_an_event_the_daemon_does_not_have_raises_error_12(serve: Any) -> None:
    serve(Daemon())
    message = "no event `nope` in com.pcthingz.libmedium.student.StudentSystem"
    with ss.StudentSystemConnection() as connection:
        with pytest.raises(ss.ProtocolError) as raised:
            connection.subscribe("nope")
        assert (raised.value.code, raised.value.message) == (_medium.UNKNOWN_EVENT, message)
        assert connection._subscriptions.get("nope") in (None, [])
        connection.update_student(ada())

    async def scenario() -> None:
        async with await ss.StudentSystemAsyncConnection.connect() as connection:
            with pytest.raises(ss.ProtocolError) as raised:
                await connection.subscribe("nope")
            assert raised.value.code == _medium.UNKNOWN_EVENT
            await connection.update_student(ada())

    asyncio.run(scenario())


def test_an_event_fired_once_subscribing_returned_always_arrives(serve: Any) -> None:
    daemon = serve(Daemon()).daemon
    # Many rounds: before subscribing waited for the daemon, this lost the race now and then.
    for n in range(30):
        with ss.StudentSystemConnection() as connection:
            events = connection.student_added()
            daemon.student_added(float(n), ada())
            assert events.get(5) == (float(n), ada())

    async def scenario() -> None:
        for n in range(30):
            async with await ss.StudentSystemAsyncConnection.connect() as connection:
                events = await connection.student_added()
                daemon.student_added(float(n), ada())
                assert await asyncio.wait_for(events.get(), 5) == (float(n), ada())

    asyncio.run(scenario())


def test_subscriptions_are_requests_and_the_last_closed_one_unsubscribes(
    play: Callable[..., PlayedDaemon],
) -> None:
    daemon = play(subscription_answer(b""))
    with ss.StudentSystemConnection(path=daemon.path, timeout=5) as connection:
        first = connection.student_added()
        second = connection.student_added()
        first.close()
        second.close()
        connection.update_student(ada())  # answered after the frames sent before it
    kinds = [(m[0], m[2]) for m in daemon.received]
    assert kinds == [
        (_medium.SUBSCRIBE, "student_added"),
        (_medium.SUBSCRIBE, "student_added"),
        (_medium.UNSUBSCRIBE, "student_added"),
        (_medium.CALL, "update_student"),
    ]
    # Every request has an id of its own.
    ids = [m[1] for m in daemon.received]
    assert len(set(ids)) == len(ids)


def test_a_daemon_of_another_wire_version_is_reported_plainly(socket_dir: Path) -> None:
    path = str(socket_dir / "socket")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def refuse() -> None:
        sock, _ = listener.accept()
        with sock:
            _medium.read_frame(sock)
            p = ss._PROTOCOL
            message = "this daemon speaks wire version 3; the application speaks version 2"
            refused = [_medium.REFUSED, 9, message, p.namespace, p.class_name, p.fingerprint]
            sock.sendall(_medium.encode_frame(refused))

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    with pytest.raises(ss.HandshakeMismatch, match="speaks wire version 3; the application"):
        ss.StudentSystemConnection(path=path)
    thread.join(5)
    listener.close()


def test_float_narrows_to_the_nearest_32_bit_float_and_takes_integers() -> None:
    narrowed = struct.unpack("f", struct.pack("f", 0.1))[0]
    assert _medium.FLOAT.decode(0.1, "x") == narrowed != 0.1
    assert _medium.DOUBLE.decode(0.1, "x") == 0.1
    assert _medium.FLOAT.decode(1e300, "x") == float("inf")
    assert _medium.FLOAT.decode(2**64 - 1, "x") == float(2**64)
    with pytest.raises(ss.ProtocolError, match="expected a float, found true"):
        _medium.FLOAT.decode(True, "x")
    assert msgpack.unpackb(packed(1.5)) == 1.5
