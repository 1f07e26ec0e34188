"""The Python daemon answers what PROTOCOL.md (wire version 2) says, byte for byte, to raw
frames built here: the wire version, well-formed frames, the strictness of arguments, request
ids, acknowledged subscriptions, requests sent right after HELLO, uncaught handler errors,
connection limits and nesting depth."""

from __future__ import annotations

import os
import resource
import socket
import struct
import threading
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

import lists
import student_system as ss
from student_system import _medium
from test_daemon_limits import call_frame, raw_connection, wait_until
from test_lists_and_nested_models import ListsDaemon
from test_student import Daemon, ada

STUDENT = "com.pcthingz.libmedium.student.StudentSystem"


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def packed(value: Any) -> bytes:
    return bytes(msgpack.packb(value, use_bin_type=True))


def call_body(call_id: int, method: str, raw_args: bytes) -> bytes:
    """A `CALL` body whose arguments are `raw_args`, MessagePack written by hand."""
    return b"\x94" + packed(_medium.CALL) + packed(call_id) + packed(method) + raw_args


def nested(depth: int) -> bytes:
    """`depth` arrays, one inside the other, around the string "x"."""
    return b"\x91" * depth + packed("x")


def assert_still_served(sock: socket.socket, call_id: int = 99) -> None:
    """The connection `sock` still gets its calls answered."""
    sock.sendall(call_frame(call_id, "get_student", "nobody"))
    reply = _medium.read_frame(sock)
    assert reply is not None and reply[:2] == [_medium.EXCEPTION, call_id], reply


def assert_closed(sock: socket.socket) -> None:
    """The daemon closed `sock`: an end of stream, or a reset when it closed with bytes of
    ours unread."""
    try:
        assert _medium.read_frame(sock) is None
    except ConnectionResetError:
        pass


def assert_fatal(sock: socket.socket, code: int, message: str | None = None) -> None:
    fatal = _medium.read_frame(sock)
    assert fatal is not None and fatal[:2] == [_medium.FATAL, code], fatal
    if message is not None:
        assert fatal[2] == message
    assert _medium.read_frame(sock) is None


def test_a_hello_of_wire_version_1_is_refused_with_code_9_naming_both_versions(
    serve: Any,
) -> None:
    daemon = Daemon()
    serve(daemon)
    p = ss._PROTOCOL
    with raw_connection(daemon, handshake=False) as sock:
        hello = [_medium.HELLO, _medium.MAGIC, 1, p.namespace, p.class_name, p.fingerprint]
        sock.sendall(_medium.encode_frame(hello) + call_frame(1, "get_student", "s1"))
        assert _medium.read_frame(sock) == [
            _medium.REFUSED,
            _medium.UNSUPPORTED_VERSION,
            "this daemon speaks wire version 2; the application speaks version 1: rebuild it "
            "with the same medium-runtime / cargo-medium version",
            p.namespace,
            p.class_name,
            p.fingerprint,
        ]
        # The call sent after the refused hello is discarded unanswered.
        assert_closed(sock)
    assert daemon.callers == []


GET = call_body(1, "get_student", b"")


@pytest.mark.parametrize(
    "body",
    [
        packed([_medium.CALL, 1, "get_student", ["s1"]]) + b"\x00",
        GET + b"\x91\xa5ab",
        GET + b"\x91\xc1",
        GET + b"\x91\xa2\xff\xfe",
        GET + b"\xdc\xff\xff\xa1x",
        GET + b"\x91\xc4\x10ab",
        GET + nested(2000)[:-2] + b"\xc1",
    ],
    ids=[
        "bytes-after-the-value",
        "truncated-str",
        "reserved-0xc1",
        "str-not-utf8",
        "array-past-the-body",
        "bin-past-the-body",
        "deep-and-malformed",
    ],
)
def test_a_frame_malformed_anywhere_even_inside_the_args_gets_fatal_6(
    serve: Any, body: bytes
) -> None:
    daemon = Daemon()
    serve(daemon)
    with ss.StudentSystemConnection() as bystander, raw_connection(daemon) as sock:
        sock.sendall(frame(body))
        assert_fatal(sock, _medium.MALFORMED)
        bystander.update_student(ada())
        assert bystander.get_student("s1") == ada()
    assert [c.id for c in daemon.callers] == [daemon.callers[0].id]


STUDENT_FIELDS = {"id": "s1", "first_name": "A", "last_name": "B", "age": 3, "photo": b""}


def info(**changes: Any) -> dict[str, Any]:
    return {**STUDENT_FIELDS, **changes}


def pairs_map(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """A map written by hand from packed keys and values (duplicates and all)."""
    return bytes([0x80 | len(pairs)]) + b"".join(key + value for key, value in pairs)


DUPLICATE_ID = pairs_map(
    [(packed(k), packed(v)) for k, v in STUDENT_FIELDS.items()] + [(packed("id"), packed("s2"))]
)
INT_KEY = pairs_map(
    [(packed(k), packed(v)) for k, v in STUDENT_FIELDS.items() if k != "photo"]
    + [(packed(7), packed(b""))]
)


@pytest.mark.parametrize(
    ("method", "raw_args", "message"),
    [
        ("get_student", packed([b"s1"]), "get_student(id): expected a string, found bin of 2 bytes"),
        ("get_student", packed([]), "`get_student` takes 1 arguments, found an array of 0 elements"),
        ("get_student", packed(["a", "b"]), "`get_student` takes 1 arguments, found an array of 2"),
        ("get_student", packed("s1"), "`get_student` takes 1 arguments, found str 's1'"),
        ("get_student", packed([None]), "get_student(id): expected a string, found nil"),
        ("get_student", b"\x91\xd4\x05\x00", "get_student(id): expected a string, found an ext"),
        ("get_student", b"\x91\xc7\x03\xff\x01\x02\x03", "arguments of `get_student`: undecodable"),
        ("update_student", packed([info(age=True)]), "update_student(info).age: expected a uint8, found true"),
        ("update_student", packed([info(age=3.0)]), "update_student(info).age: expected a uint8, found float 3.0"),
        ("update_student", packed([info(age=256)]), "update_student(info).age: expected a uint8, found int 256"),
        ("update_student", packed([info(age=-1)]), "update_student(info).age: expected a uint8, found int -1"),
        ("update_student", packed([info(photo=[1, 2])]), "update_student(info).photo: expected binary, found an"),
        ("update_student", packed([info(photo="ab")]), "update_student(info).photo: expected binary, found str"),
        ("update_student", packed([info(id=b"s1")]), "update_student(info).id: expected a string, found bin"),
        ("update_student", packed([list(STUDENT_FIELDS.values())]), "expected a Student (a map)"),
        ("update_student", packed([{k: v for k, v in info().items() if k != "photo"}]), "field `photo` is missing"),
        ("update_student", packed([info(nickname="Al")]), "unknown field `nickname` in a Student"),
        ("update_student", b"\x91" + DUPLICATE_ID, "found a map with the key `id` twice"),
        ("update_student", b"\x91" + INT_KEY, "found a map with a key that is not a str"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else None,
)
def test_arguments_of_the_wrong_shape_get_error_2_naming_the_parameter_and_the_connection_goes_on(
    serve: Any, method: str, raw_args: bytes, message: str
) -> None:
    daemon = Daemon()
    serve(daemon)
    with raw_connection(daemon) as sock:
        sock.sendall(frame(call_body(1, method, raw_args)))
        reply = _medium.read_frame(sock)
        assert reply is not None and reply[:3] == [_medium.ERROR, 1, _medium.BAD_ARGUMENTS], reply
        assert message in reply[3]
        assert_still_served(sock)
    assert daemon.students == {}


def test_integers_in_any_encoding_are_accepted(serve: Any) -> None:
    daemon = Daemon()
    serve(daemon)
    fields = [(packed(k), packed(v)) for k, v in STUDENT_FIELDS.items() if k != "age"]
    # age 3 as a uint 64 (0xcf).
    student = pairs_map(fields + [(packed("age"), b"\xcf" + (3).to_bytes(8, "big"))])
    with raw_connection(daemon) as sock:
        sock.sendall(frame(call_body(1, "update_student", b"\x91" + student)))
        assert _medium.read_frame(sock) == [_medium.VALUE, 1, None]
    assert daemon.students["s1"].age == 3


def test_doubles_take_integers_but_lists_take_no_bools_or_bin(serve: Any) -> None:
    daemon = ListsDaemon()
    serve(daemon)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(daemon.socket_path)
        sock.sendall(_medium.hello(lists._PROTOCOL))
        assert _medium.read_frame(sock) is not None
        sock.sendall(frame(call_body(1, "grid", packed([[[[1, 2.5]], []]]))))
        assert _medium.read_frame(sock) == [_medium.VALUE, 1, [[[1.0, 2.5]], []]]
        for call_id, (method, args) in enumerate(
            [("grid", [[[[True]]]]), ("blobs", [b"ab"]), ("nested", [[b"ab"]])], start=2
        ):
            sock.sendall(frame(call_body(call_id, method, packed(args))))
            reply = _medium.read_frame(sock)
            assert reply is not None and reply[:3] == [_medium.ERROR, call_id, 2], reply


@pytest.mark.parametrize("depth", [129, 2000])
def test_arguments_nesting_deeper_than_128_get_error_6_and_the_connection_goes_on(
    serve: Any, depth: int
) -> None:
    daemon = Daemon()
    serve(daemon)
    with raw_connection(daemon) as sock:
        # The arguments array counts: 128 levels are within the limit (and the wrong type).
        sock.sendall(frame(call_body(1, "get_student", nested(128))))
        reply = _medium.read_frame(sock)
        assert reply is not None and reply[:3] == [_medium.ERROR, 1, _medium.BAD_ARGUMENTS]
        sock.sendall(frame(call_body(2, "get_student", nested(depth))))
        assert _medium.read_frame(sock) == [
            _medium.ERROR,
            2,
            _medium.MALFORMED,
            "arguments of `get_student`: value nests deeper than 128 arrays and maps "
            "(the daemon's limit)",
        ]
        assert_still_served(sock)
    assert daemon.callers and all(c.id == daemon.callers[0].id for c in daemon.callers)


def test_max_nesting_depth_is_a_class_attribute(serve: Any) -> None:
    daemon = Daemon()
    daemon.max_nesting_depth = 3
    serve(daemon)
    with raw_connection(daemon) as sock:
        sock.sendall(frame(call_body(1, "get_student", nested(4))))
        reply = _medium.read_frame(sock)
        assert reply is not None and reply[:3] == [_medium.ERROR, 1, _medium.MALFORMED]
        assert "deeper than 3 arrays and maps" in reply[3]


class Slow(Daemon):
    """`get_student` waits until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_student(self, application: ss.Application, id: str) -> ss.Student:
        self.release.wait(10)
        return super().get_student(application, id)


@pytest.mark.parametrize(
    "second",
    [
        call_frame(7, "get_student", "again"),
        _medium.encode_frame([_medium.BUILTIN, 7, "introspect", []]),
        _medium.encode_frame([_medium.SUBSCRIBE, 7, "student_added"]),
        _medium.encode_frame([_medium.UNSUBSCRIBE, 7, "student_added"]),
    ],
    ids=["call", "builtin", "subscribe", "unsubscribe"],
)
def test_a_request_reusing_the_id_of_a_call_in_flight_gets_fatal_6(
    serve: Any, second: bytes
) -> None:
    daemon = Slow()
    serve(daemon)
    with raw_connection(daemon) as sock:
        # An id answered already may be used again.
        daemon.release.set()
        sock.sendall(call_frame(7, "get_student", "first"))
        assert _medium.read_frame(sock) is not None
        daemon.release.clear()
        sock.sendall(call_frame(7, "get_student", "running") + second)
        assert_fatal(
            sock, _medium.MALFORMED, "request id 7 is already in use by a request in flight"
        )
        daemon.release.set()


def test_subscribe_and_unsubscribe_are_acknowledged_and_unknown_events_cost_nothing(
    serve: Any,
) -> None:
    daemon = Daemon()
    serve(daemon)

    def request(kind: int, request_id: int, event: str) -> list[Any] | None:
        sock.sendall(_medium.encode_frame([kind, request_id, event]))
        return _medium.read_frame(sock)

    with raw_connection(daemon) as sock:
        assert request(_medium.SUBSCRIBE, 1, "student_added") == [_medium.VALUE, 1, None]
        # Subscribing twice is subscribing once.
        assert request(_medium.SUBSCRIBE, 2, "student_added") == [_medium.VALUE, 2, None]
        # Every event emitted after the acknowledgement reaches the connection, once.
        daemon.student_added(1.0, ada("e1"))
        event = _medium.read_frame(sock)
        assert event is not None and event[:2] == [_medium.EVENT, "student_added"]
        for n in range(1000):
            assert request(_medium.SUBSCRIBE, 10 + n, f"nope{n}") == [
                _medium.ERROR,
                10 + n,
                _medium.UNKNOWN_EVENT,
                f"no event `nope{n}` in {STUDENT}",
            ]
        (connection,) = daemon._connections.values()
        assert connection._subscriptions == {"student_added"}
        # A long name is cut in the answer, which stays small, as the Rust daemon's does.
        assert request(_medium.SUBSCRIBE, 6, "é" * 100_000) == [
            _medium.ERROR,
            6,
            _medium.UNKNOWN_EVENT,
            f"no event `{'é' * 64}` in {STUDENT}",
        ]
        assert request(_medium.UNSUBSCRIBE, 3, "nope")[:3] == [  # type: ignore[index]
            _medium.ERROR, 3, _medium.UNKNOWN_EVENT
        ]
        # No event is sent after the acknowledgement of an unsubscription.
        assert request(_medium.UNSUBSCRIBE, 4, "student_added") == [_medium.VALUE, 4, None]
        daemon.student_added(2.0, ada("e2"))
        assert request(_medium.UNSUBSCRIBE, 5, "student_added") == [_medium.VALUE, 5, None]
        assert_still_served(sock)


def test_requests_sent_right_after_hello_are_served_after_welcome_in_order(serve: Any) -> None:
    daemon = Daemon()
    daemon.students["s1"] = ada()
    serve(daemon)
    with raw_connection(daemon, handshake=False) as sock:
        sock.sendall(
            _medium.hello(ss._PROTOCOL)
            + _medium.encode_frame([_medium.SUBSCRIBE, 1, "student_added"])
            + call_frame(2, "get_student", "s1")
            + _medium.encode_frame([_medium.BUILTIN, 3, "no-such-request", []])
        )
        welcome = _medium.read_frame(sock)
        assert welcome is not None and welcome[:3] == [_medium.WELCOME, _medium.MAGIC, 2]
        assert _medium.read_frame(sock) == [_medium.VALUE, 1, None]
        replies = {}
        for _ in range(2):
            reply = _medium.read_frame(sock)
            assert reply is not None
            replies[reply[1]] = reply[0]
        assert replies == {2: _medium.VALUE, 3: _medium.ERROR}


def test_requests_sent_after_a_refused_hello_are_discarded(serve: Any) -> None:
    daemon = Daemon()
    serve(daemon)
    p = ss._PROTOCOL
    with raw_connection(daemon, handshake=False) as sock:
        hello = [_medium.HELLO, _medium.MAGIC, 2, p.namespace, p.class_name, "0" * 64]
        sock.sendall(_medium.encode_frame(hello) + call_frame(1, "get_student", "s1"))
        refused = _medium.read_frame(sock)
        assert refused is not None and refused[:2] == [_medium.REFUSED, _medium.HANDSHAKE_MISMATCH]
        assert_closed(sock)
    assert daemon.callers == []


class Buggy(Daemon):
    def get_student(self, application: ss.Application, id: str) -> ss.Student:
        raise KeyError(id)


def test_an_uncaught_handler_exception_is_error_5_never_3(serve: Any) -> None:
    serve(Buggy())
    with ss.StudentSystemConnection() as connection:
        with pytest.raises(ss.ProtocolError) as raised:
            connection.get_student("s1")
        assert raised.value.code == _medium.INTERNAL
        assert str(raised.value) == "KeyError: 's1'"
        connection.update_student(ada())


@pytest.mark.parametrize("limit", ["max_connections", "max_connections_per_uid"])
def test_a_connection_over_a_limit_gets_fatal_11_before_it_sends_a_byte(
    serve: Any, limit: str
) -> None:
    daemon = Daemon()
    setattr(daemon, limit, 2)
    serve(daemon)
    if limit == "max_connections":
        message = (
            "too many connections: the daemon already serves its limit of 2 (max_connections); "
            "close some or try again later"
        )
    else:
        message = (
            f"too many connections: uid {os.getuid()} already has its limit of 2 "
            "(max_connections_per_uid); close some or try again later"
        )
    # Every connection counts from accept to close, handshake or not: the fixture's probe
    # too, until the daemon saw it close. Connections are accepted in order, so once this
    # one was served the probe was accepted.
    with ss.StudentSystemConnection():
        pass
    wait_until(lambda: daemon._connection_count == 0, "the daemon closed the probe")
    with raw_connection(daemon, handshake=False), ss.StudentSystemConnection() as served:
        with raw_connection(daemon, handshake=False) as refused:
            assert_fatal(refused, _medium.TOO_MANY_CONNECTIONS, message)
        with pytest.raises(ss.Rejected) as raised:
            ss.StudentSystemConnection()
        assert raised.value.code == _medium.TOO_MANY_CONNECTIONS
        assert message in str(raised.value)
        served.update_student(ada())
    # Closed connections give their places back (once the daemon saw them close).
    wait_until(lambda: daemon._connection_count == 0, "the daemon closed every connection")
    with ss.StudentSystemConnection() as first, ss.StudentSystemConnection() as second:
        first.update_student(ada())
        assert second.get_student("s1") == ada()


def test_refused_peers_beyond_32_are_told_without_waiting_and_the_daemon_serves_on(
    serve: Any,
) -> None:
    daemon = Daemon()
    serve(daemon)
    with ss.StudentSystemConnection():
        pass
    wait_until(lambda: daemon._connection_count == 0, "the daemon closed the probe")
    daemon.max_connections_per_uid = 1
    with ss.StudentSystemConnection() as served:
        refused = [raw_connection(daemon, handshake=False) for _ in range(50)]
        try:
            lingering = [t for t in threading.enumerate() if t.name == "medium refusal"]
            assert len(lingering) <= 32
            for sock in refused:
                fatal = _medium.read_frame(sock)
                assert fatal is not None and fatal[:2] == [_medium.FATAL, 11], fatal
        finally:
            for sock in refused:
                sock.close()
        served.update_student(ada())


def test_max_connections_defaults_to_90_percent_of_the_open_file_limit_at_most_4096() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        assert _medium.server.default_max_connections() == 921
        # Refused peers kept open at once: 32, or half of what the limit leaves of the 1024.
        assert _medium.server.refusals_at_once(921) == 32
        assert _medium.server.refusals_at_once(1014) == 5
        if hard == resource.RLIM_INFINITY or hard >= 10_000:
            resource.setrlimit(resource.RLIMIT_NOFILE, (10_000, hard))
            assert _medium.server.default_max_connections() == 4096
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert ss.StudentSystemServerBase.max_connections is None
    assert ss.StudentSystemServerBase.max_connections_per_uid == 1024
    assert ss.StudentSystemServerBase.max_nesting_depth == 128


def test_emitting_an_event_over_the_frame_limit_raises_and_sends_it_to_nobody(
    serve: Any,
) -> None:
    daemon = Daemon()
    daemon.max_frame_len = 1024
    serve(daemon)
    with ss.StudentSystemConnection() as connection:
        events = connection.student_added()
        big = ss.Student("big", "", "", 0, bytes(2000))
        with pytest.raises(ss.FrameTooLarge) as raised:
            daemon.student_added(1.0, big)
        assert isinstance(raised.value, ValueError)
        assert raised.value.limit == 1024 and raised.value.size > 2000
        assert str(raised.value) == (
            f"event `student_added` of {raised.value.size} bytes exceeds the 1024-byte frame limit"
        )
        # Nobody got it, and nothing counts as lost: the next event comes next.
        daemon.student_added(2.0, ada())
        assert events.get(5) == (2.0, ada())
