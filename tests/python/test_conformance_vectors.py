"""The conformance vectors of `tests/vectors/` (README.md there), played against the Python
runtime: every session against the reference daemon (a `ConformanceServerBase` implemented as
the README says) over a raw Unix socket, every case of values.json as `echo_<type>` calls, the
frames of messages.json a daemon must reject; and, on the application side, a scripted daemon
feeding messages.json and values.json to the real blocking client.

Each session, value type and message is its own test (`pytest -k <name>`); a failure names the
case, the bytes sent, and what was expected against what came."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import conformance
import vector_notation as vn

# How long one expected frame (or the close) may take unless a step says otherwise.
STEP_TIMEOUT = 5.0
FINGERPRINT = conformance.FINGERPRINT


class ReferenceDaemon(conformance.ConformanceServerBase):
    """The reference implementation of tests/vectors/README.md."""

    def _echo(self, application: Any, value: Any) -> Any:
        return value

    echo_boolean = echo_int8 = echo_int16 = echo_int32 = echo_int64 = _echo
    echo_uint8 = echo_uint16 = echo_uint32 = echo_uint64 = _echo
    echo_float = echo_double = echo_string = echo_binary = echo_inner = echo_everything = _echo
    echo_list_int32 = echo_list_uint8 = echo_list_binary = echo_list_list_string = _echo
    echo_list_inner = _echo

    def raise_failure(self, application: Any, message: str) -> None:
        raise conformance.Failure(message)

    def fire(self, application: Any, text: str, number: int) -> None:
        self.fired(text, number)

    def fire_recorded(self, application: Any, record: conformance.Everything) -> None:
        self.recorded(record)

    def ping(self, application: Any) -> None:
        return None

    def sleep(self, application: Any, milliseconds: int) -> None:
        time.sleep(milliseconds / 1000)


@pytest.fixture()
def daemon_path(serve: Any) -> str:
    served = serve(ReferenceDaemon())
    return str(served.daemon.socket_path)


class Peer:
    """One raw connection; reads frames with a deadline and keeps a log for failure reports."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.log: list[str] = []

    def send(self, data: bytes, prefixed: bool = True) -> None:
        frame = struct.pack(">I", len(data)) + data if prefixed else data
        self.log.append(f"sent     {frame.hex(' ')}")
        try:
            self.sock.sendall(frame)
        except OSError as err:  # the daemon closed already: what it sent is what matters
            self.log.append(f"(write failed: {err})")

    def _exact(self, n: int, deadline: float) -> bytes | None:
        data = b""
        while len(data) < n:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = self.sock.recv(n - len(data))
            except socket.timeout:
                raise AssertionError(f"nothing within the deadline (got {data.hex(' ')!r} so far)")
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if data:
                    raise AssertionError(
                        f"connection closed in the middle of a frame: {data.hex(' ')}"
                    )
                return None
            data += chunk
        return data

    def recv(self, timeout: float = STEP_TIMEOUT) -> bytes | None:
        """The next frame's body, or None when the peer closed the connection."""
        deadline = time.monotonic() + timeout
        prefix = self._exact(4, deadline)
        if prefix is None:
            self.log.append("received end of stream")
            return None
        body = self._exact(struct.unpack(">I", prefix)[0], deadline)
        assert body is not None, "connection closed after a length prefix"
        self.log.append(f"received {body.hex(' ')}")
        return body


def connect(path: str) -> Peer:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return Peer(sock)


def frame_mismatch(pattern: Any, body: bytes | None) -> str | None:
    """Why the frame `body` (None: end of stream) does not match `pattern`."""
    if body is None:
        return f"expected {vn.show_pattern(pattern)}, got the end of the connection"
    try:
        node = vn.decode_exactly_one(body)
    except vn.Malformed as err:
        return (
            f"expected {vn.show_pattern(pattern)}, got a malformed frame ({err}): {body.hex(' ')}"
        )
    return vn.mismatch(pattern, node, FINGERPRINT)


def play(path: str, steps: list[dict[str, Any]]) -> None:
    """Plays the steps of one session, each on its connection (`"on"`, default `a`, opened
    when first used); fails naming the step."""
    peers: dict[str, Peer] = {}
    try:
        for index, step in enumerate(steps):
            on = step.get("on", "a")
            if on not in peers:
                peers[on] = connect(path)
            try:
                why = play_step(peers[on], step)
            except AssertionError as err:  # nothing came in time, or a frame was cut short
                why = str(err)
            if why:
                log = "\n  ".join(peers[on].log)
                raise AssertionError(f"step {index} {step}: {why}\n  frames on {on}:\n  {log}")
    finally:
        for peer in peers.values():
            peer.sock.close()


def play_step(peer: Peer, step: dict[str, Any]) -> str | None:
    timeout = step.get("within_ms", STEP_TIMEOUT * 1000) / 1000
    if "send" in step:
        peer.send(vn.parse_bytes(step["send"], FINGERPRINT))
        return None
    if "send_raw" in step:
        peer.send(vn.parse_bytes(step["send_raw"], FINGERPRINT), prefixed=False)
        return None
    if "recv" in step:
        return frame_mismatch(step["recv"], peer.recv(timeout))
    if "recv_any_order" in step:
        left = list(step["recv_any_order"])
        while left:
            body = peer.recv(timeout)
            at = next((i for i, p in enumerate(left) if frame_mismatch(p, body) is None), None)
            if at is None:
                shown = "end of stream" if body is None else body.hex(" ")
                return f"{shown} matches none of {vn.show_pattern(left)}"
            left.pop(at)
        return None
    if step.get("expect") == "closed":
        body = peer.recv(timeout)
        return None if body is None else f"expected the connection to close, got {body.hex(' ')}"
    raise vn.NotationError(f"unknown step {step}")


def _sessions() -> Iterator[Any]:
    for file in vn.session_files():
        for session in vn.load(file)["sessions"]:
            yield pytest.param(session["steps"], id=f"{file}:{session['name']}")


@pytest.mark.parametrize("steps", list(_sessions()))
def test_session(daemon_path: str, steps: list[dict[str, Any]]) -> None:
    play(daemon_path, steps)


HELLO = vn.load("sessions/handshake.json")["sessions"][0]["steps"][:2]
VALUES = vn.load("values.json")
MESSAGES = vn.load("messages.json")


def call_body(call_id: int, method: str, args: bytes) -> bytes:
    return b"\x94\x01\xcf" + struct.pack(">Q", call_id) + _str(method) + args


def _str(text: str) -> bytes:
    raw = text.encode()
    assert len(raw) < 32
    return bytes([0xA0 | len(raw)]) + raw


# What a call of a values.json case must get instead of a VALUE.
REJECTED: Any = object()


def expected_reply(call_id: int, value: Any) -> Any:
    """`VALUE [2, id, value]`, or `ERROR [4, id, 2, …]` for `REJECTED`."""
    return [4, call_id, 2, {"any": "str"}] if value is REJECTED else [2, call_id, value]


def _value_types() -> Iterator[Any]:
    for entry in VALUES["types"]:
        if entry["method"] != "ping":
            yield pytest.param(entry, id=entry["type"])


@pytest.mark.parametrize("entry", list(_value_types()))
def test_values_echoed_by_the_daemon(daemon_path: str, entry: dict[str, Any]) -> None:
    """Every case of one type on one connection (a rejected one must keep it open): an accepted
    encoding comes back as its value, a rejected one is ERROR 2. Reports every failing case."""
    cases = [
        (c["name"], b"\x91" + vn.parse_bytes(c["bytes"]), c["value"]) for c in entry["accepted"]
    ]
    cases += [
        (c["name"], b"\x91" + vn.parse_bytes(c["bytes"]), REJECTED) for c in entry["rejected"]
    ]
    _play_calls(daemon_path, entry["method"], cases)


def test_arguments_by_the_daemon(daemon_path: str) -> None:
    by_method: dict[str, list[tuple[str, bytes, Any]]] = {}
    for case in VALUES["arguments"]["accepted"]:
        by_method.setdefault(case["method"], []).append(
            (case["name"], vn.parse_bytes(case["args"]), case["reply"])
        )
    for case in VALUES["arguments"]["rejected"]:
        by_method.setdefault(case["method"], []).append(
            (case["name"], vn.parse_bytes(case["args"]), REJECTED)
        )
    for method, cases in by_method.items():
        _play_calls(daemon_path, method, cases)


def _play_calls(path: str, method: str, cases: list[tuple[str, bytes, Any]]) -> None:
    peer = connect(path)
    failures = []
    try:
        for step in HELLO:
            assert play_step(peer, step) is None, peer.log
        for call_id, (name, args, value) in enumerate(cases, start=1):
            body = call_body(call_id, method, args)
            peer.send(body)
            reply = peer.recv()
            why = frame_mismatch(expected_reply(call_id, value), reply)
            if why:
                failures.append(f"{method} case {name!r}: sent {body.hex(' ')}: {why}")
            if reply is None:
                break
    finally:
        peer.sock.close()
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures)


def _malformed() -> Iterator[Any]:
    for case in VALUES["malformed"]:
        yield pytest.param(
            case["method"], vn.parse_bytes(case["bytes"]), id=f"values:{case['name']}"
        )
    for case in MESSAGES["rejected_by_daemon"]:
        yield pytest.param(
            None, vn.parse_bytes(case["bytes"], FINGERPRINT), id=f"messages:{case['name']}"
        )


@pytest.mark.parametrize(("method", "data"), list(_malformed()))
def test_malformed_frames_are_fatal(daemon_path: str, method: str | None, data: bytes) -> None:
    """A value that is not well-formed MessagePack in a CALL's args (values.json `malformed`), or
    a frame that is not a valid message (messages.json `rejected_by_daemon`): FATAL 6, close."""
    body = call_body(1, method, b"\x91" + data) if method else data
    play(
        daemon_path,
        HELLO + [{"send": body.hex()}, {"recv": [7, 6, {"any": "str"}]}, {"expect": "closed"}],
    )


# ---------------------------------------------------------------- the application side


class ScriptedDaemon:
    """A daemon that is a script: accepts one connection, answers its HELLO with `welcome`,
    then calls `answer(peer, request)` for each request the application sends."""

    def __init__(
        self, folder: Path, welcome: bytes, answer: Callable[[Peer, vn.Node], None]
    ) -> None:
        self.path = str(folder / "scripted.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.welcome = welcome
        self.answer = answer
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            sock, _ = self.listener.accept()
            peer = Peer(sock)
            with sock:
                hello = peer.recv(STEP_TIMEOUT)
                assert hello is not None, "the client sent no HELLO"
                peer.send(self.welcome)
                while (body := peer.recv(60)) is not None:
                    self.answer(peer, vn.decode_exactly_one(body))
        except BaseException as err:  # reported by `close`
            self.error = err

    def close(self) -> None:
        self.listener.close()
        self.thread.join(10)


@pytest.fixture()
def scripted(socket_dir: Path) -> Iterator[Callable[..., ScriptedDaemon]]:
    started: list[ScriptedDaemon] = []

    def start(
        answer: Callable[[Peer, vn.Node], None], welcome: str | None = None
    ) -> ScriptedDaemon:
        daemon = ScriptedDaemon(socket_dir, vn.parse_bytes(welcome or WELCOME), answer)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.close()


WELCOME = next(m["bytes"] for m in MESSAGES["daemon_to_app"] if m["name"] == "WELCOME")


def request_id(request: vn.Node) -> int:
    return int(request[1][1][1])


def reply_with(values: list[bytes]) -> Callable[[Peer, vn.Node], None]:
    """Answers the n-th request with `VALUE [2, id, values[n]]`."""
    queue = list(values)

    def answer(peer: Peer, request: vn.Node) -> None:
        peer.send(b"\x93\x02\xcf" + struct.pack(">Q", request_id(request)) + queue.pop(0))

    return answer


def sample(type_name: str) -> Any:
    """A valid argument of the type, for the client to encode (the scripted daemon ignores it)."""
    inner = conformance.Inner(name="", tags=[])
    if type_name == "Everything":
        fields = {f.name: 0 for f in dataclasses.fields(conformance.Everything)}
        fields.update(
            boolean=False,
            float_=0.0,
            double=0.0,
            string="",
            binary=b"",
            inner=inner,
            inners=[],
            numbers=[],
        )
        return conformance.Everything(**fields)
    simple = {
        "boolean": False,
        "float": 0.0,
        "double": 0.0,
        "string": "",
        "binary": b"",
        "Inner": inner,
    }
    return [] if type_name.startswith("*") else simple.get(type_name, 0)


def python_mismatch(pattern: Any, value: Any, path: str = "$") -> str | None:
    """Why the decoded Python `value` is not the typed-JSON `pattern`."""
    found = f"{path}: expected {vn.show_pattern(pattern)}, got {value!r}"
    if pattern is None or isinstance(pattern, (bool, str)):
        return None if type(value) is type(pattern) and value == pattern else found
    if isinstance(pattern, int):
        return None if type(value) is int and value == pattern else found
    if isinstance(pattern, list):
        if not isinstance(value, list) or len(value) != len(pattern):
            return found
        for i, (p, v) in enumerate(zip(pattern, value)):
            if why := python_mismatch(p, v, f"{path}[{i}]"):
                return why
        return None
    ((tag, arg),) = pattern.items()
    if tag in ("float", "f64", "f32"):
        return None if isinstance(value, float) and vn.same_float(value, arg) else found
    if tag == "bin":
        return None if isinstance(value, bytes) and value == bytes.fromhex(arg) else found
    if tag == "map" and dataclasses.is_dataclass(value):
        entries = arg.items() if isinstance(arg, dict) else arg
        for key, p in entries:
            # Generated Python adds `_` to a field named like a builtin (`float` is `float_`).
            attr = key if hasattr(value, key) else f"{key}_"
            if why := python_mismatch(p, getattr(value, attr), f"{path}.{key}"):
                return why
        return None
    return found


@pytest.mark.parametrize("entry", [pytest.param(e, id=e["type"]) for e in VALUES["types"]])
def test_values_decoded_by_the_client(scripted: Any, entry: dict[str, Any]) -> None:
    """Each case as the VALUE of a call: accepted ones decode to their value, rejected ones fail
    that call only (the connection goes on)."""
    cases = [(c["name"], vn.parse_bytes(c["bytes"]), c["value"]) for c in entry["accepted"]]
    cases += [(c["name"], vn.parse_bytes(c["bytes"]), REJECTED) for c in entry["rejected"]]
    daemon = scripted(reply_with([data for _, data, _ in cases]))
    method = entry["method"]
    args = () if method == "ping" else (sample(entry["type"]),)
    failures = []
    with conformance.ConformanceConnection(daemon.path, timeout=STEP_TIMEOUT) as connection:
        for name, data, expected in cases:
            try:
                value = connection.call(method, args)
            except conformance.MediumError as err:
                if expected is not REJECTED:
                    failures.append(
                        f"{name!r} ({data.hex(' ')}): expected {expected}, the call failed: {err!r}"
                    )
                continue
            if expected is REJECTED:
                failures.append(
                    f"{name!r} ({data.hex(' ')}): expected a decode error, got {value!r}"
                )
            elif why := python_mismatch(expected, value):
                failures.append(f"{name!r} ({data.hex(' ')}): {why}")
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures)


@pytest.mark.parametrize(
    "data",
    [pytest.param(vn.parse_bytes(c["bytes"]), id=c["name"]) for c in MESSAGES["rejected_by_client"]]
    + [
        pytest.param(b"\x93\x02\x01" + vn.parse_bytes(c["bytes"]), id=f"VALUE holding {c['name']}")
        for c in VALUES["malformed"]
    ],
)
def test_malformed_replies_close_the_client_connection(scripted: Any, data: bytes) -> None:
    """In place of the reply to `ping` (id 1): the call fails and the connection is closed."""

    daemon = scripted(first_reply(data))
    with conformance.ConformanceConnection(daemon.path, timeout=STEP_TIMEOUT) as connection:
        with pytest.raises(conformance.MediumError):
            connection.ping()
        assert_closed(connection)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(vn.parse_bytes(c["bytes"]), id=c["name"])
        for c in MESSAGES["rejected_by_client"]
    ],
)
def test_malformed_replies_close_the_asyncio_client_connection(scripted: Any, data: bytes) -> None:
    """The asyncio client reads frames its own way: the same frames must close it too."""
    daemon = scripted(first_reply(data))

    async def calls() -> None:
        connection = await conformance.ConformanceAsyncConnection.connect(daemon.path)
        async with connection:
            with pytest.raises(conformance.MediumError):
                await connection.ping()
            assert connection.state == conformance.ConnectionState.CLOSED
            with pytest.raises(conformance.MediumError):
                await connection.ping()

    asyncio.run(asyncio.wait_for(calls(), STEP_TIMEOUT))


def first_reply(data: bytes) -> Callable[[Peer, vn.Node], None]:
    """Answers the first request (which must have id 1) with the body `data`, later ones with
    `VALUE nil`, so a connection the client wrongly kept would answer again."""
    answered: list[int] = []

    def answer(peer: Peer, request: vn.Node) -> None:
        call_id = request_id(request)
        if not answered:
            assert call_id == 1, f"the first request's id is {call_id}"
            peer.send(data)
        else:
            peer.send(b"\x93\x02\xcf" + struct.pack(">Q", call_id) + b"\xc0")
        answered.append(call_id)

    return answer


def assert_closed(connection: Any) -> None:
    """The client closed the connection: its state says so and a further call fails."""
    assert connection.state == conformance.ConnectionState.CLOSED
    with pytest.raises(conformance.MediumError):
        connection.ping()


def _reply(name: str) -> bytes:
    return vn.parse_bytes(next(m["bytes"] for m in MESSAGES["daemon_to_app"] if m["name"] == name))


def _client_sees(connection: Any, name: str) -> Any:
    """What the client makes of the daemon→app message `name` sent as the reply to its first
    request (id 1), or as an event after an acknowledged subscription."""
    if name.startswith("VALUE nil"):
        return connection.ping()
    if name.startswith("VALUE"):
        return connection.echo_string("")
    if name.startswith("EXCEPTION"):
        with pytest.raises(conformance.Failure) as raised:
            connection.raise_failure("")
        return ("Failure", raised.value.message)
    if name.startswith("ERROR"):
        with pytest.raises(conformance.ProtocolError) as error:
            connection.ping()
        return ("error", error.value.code, error.value.message)
    raise AssertionError(f"no client check for {name}")


CLIENT_SEES = {
    "VALUE": "hi",
    "VALUE nil, id as uint 64": None,
    "EXCEPTION": ("Failure", "boom"),
    "EXCEPTION with the reserved fifth element": ("Failure", "boom"),
    "ERROR": ("error", 2, "bad arguments"),
    "ERROR unknown_event": ("error", 12, "no event `nope`"),
    "ERROR with a code unknown to the receiver": ("error", 200, "new"),
}


@pytest.mark.parametrize("name", list(CLIENT_SEES))
def test_replies_reach_the_client(scripted: Any, name: str) -> None:
    daemon = scripted(first_reply(_reply(name)))
    with conformance.ConformanceConnection(daemon.path, timeout=STEP_TIMEOUT) as connection:
        assert _client_sees(connection, name) == CLIENT_SEES[name]


def test_messages_json_names_every_client_check() -> None:
    """A daemon→app vector added to messages.json needs a check here (or a session)."""
    handled = set(CLIENT_SEES) | {
        "WELCOME",
        "WELCOME with a future trailing element",
        "REFUSED handshake_mismatch",
        "EVENT",
        "LAGGED",
        "FATAL malformed",
        "FATAL handshake_timeout",
    }
    assert {m["name"] for m in MESSAGES["daemon_to_app"]} == handled


@pytest.mark.parametrize("welcome", ["WELCOME", "WELCOME with a future trailing element"])
def test_welcome_accepts_the_handshake(scripted: Any, welcome: str) -> None:
    daemon = scripted(
        reply_with([b"\xc0"]),
        welcome=next(m["bytes"] for m in MESSAGES["daemon_to_app"] if m["name"] == welcome),
    )
    with conformance.ConformanceConnection(daemon.path, timeout=STEP_TIMEOUT) as connection:
        assert connection.ping() is None


def test_refused_is_a_handshake_mismatch(scripted: Any) -> None:
    daemon = scripted(
        reply_with([]),
        welcome=next(
            m["bytes"]
            for m in MESSAGES["daemon_to_app"]
            if m["name"] == "REFUSED handshake_mismatch"
        ),
    )
    with pytest.raises(conformance.HandshakeMismatch):
        conformance.ConformanceConnection(daemon.path, timeout=STEP_TIMEOUT)


@pytest.mark.parametrize("name", ["FATAL malformed", "FATAL handshake_timeout"])
def test_fatal_fails_the_call_and_closes(scripted: Any, name: str) -> None:
    daemon = scripted(first_reply(_reply(name)))
    message = vn.decode_exactly_one(_reply(name))[1][2][1]
    with conformance.ConformanceConnection(daemon.path, timeout=STEP_TIMEOUT) as connection:
        with pytest.raises(conformance.MediumError, match=message):
            connection.ping()
        assert_closed(connection)


def acknowledge_then(frames: list[bytes]) -> Callable[[Peer, vn.Node], None]:
    """Answers the SUBSCRIBE (the first request) with `VALUE nil`, then sends `frames`."""

    def answer(peer: Peer, request: vn.Node) -> None:
        kind, call_id = request[1][0][1], request_id(request)
        assert kind == 2, f"expected a SUBSCRIBE, got {vn.show(request)}"
        peer.send(b"\x93\x02\xcf" + struct.pack(">Q", call_id) + b"\xc0")
        for frame in frames:
            peer.send(frame)

    return answer


def event_body(event: str, args: bytes) -> bytes:
    """`EVENT [5, event, args]`."""
    return b"\x93\x05" + _str(event) + args


def stream_failures(events: Any, cases: list[tuple[str, bytes, Any]]) -> list[str]:
    """Each case's EVENT, read from the subscription `events`: an expected value is yielded as
    the event's arguments (in order), `REJECTED` raises `ProtocolError` once in its place."""
    failures = []
    for name, data, expected in cases:
        try:
            event = events.get(timeout=STEP_TIMEOUT)
        except conformance.ProtocolError as err:
            if expected is not REJECTED:
                failures.append(
                    f"{name!r} (EVENT {data.hex(' ')}): expected {expected}, got {err!r}"
                )
            continue
        arguments = list(event)  # an event is a NamedTuple of its arguments
        if expected is REJECTED:
            failures.append(
                f"{name!r} (EVENT {data.hex(' ')}): expected a decode error, got {arguments!r}"
            )
        elif why := python_mismatch(expected, arguments):
            failures.append(f"{name!r} (EVENT {data.hex(' ')}): {why}")
    return failures


# The values.json types that are event parameters in conformance.lmspc: the event, and the other
# arguments before and after the case (bytes, and what the subscription yields for them).
EVENT_PARAMETERS = {
    "string": ("fired", [], [(b"\x07", 7)]),
    "int64": ("fired", [(b"\xa2hi", "hi")], []),
    "Everything": ("recorded", [], []),
}


@pytest.mark.parametrize("type_name", list(EVENT_PARAMETERS))
def test_event_values_reach_a_subscription(scripted: Any, type_name: str) -> None:
    """Each case of the type as an argument of an EVENT after an acknowledged SUBSCRIBE:
    accepted ones are yielded, rejected ones raise once and the subscription goes on (the first
    case again, last, shows it)."""
    event, before, after = EVENT_PARAMETERS[type_name]
    entry = next(e for e in VALUES["types"] if e["type"] == type_name)
    cases = [(c["name"], vn.parse_bytes(c["bytes"]), c["value"]) for c in entry["accepted"]]
    cases += [(c["name"], vn.parse_bytes(c["bytes"]), REJECTED) for c in entry["rejected"]]
    cases.append((f"{cases[0][0]} again, last", cases[0][1], cases[0][2]))
    head = bytes([0x90 | (len(before) + 1 + len(after))]) + b"".join(b for b, _ in before)
    tail = b"".join(b for b, _ in after)

    def arguments(expected: Any) -> Any:
        if expected is REJECTED:
            return REJECTED
        return [v for _, v in before] + [expected] + [v for _, v in after]

    played = [
        (name, event_body(event, head + data + tail), arguments(expected))
        for name, data, expected in cases
    ]
    daemon = scripted(acknowledge_then([body for _, body, _ in played]))
    with conformance.ConformanceConnection(daemon.path, timeout=STEP_TIMEOUT) as connection:
        events = getattr(connection, event)()
        failures = stream_failures(events, played)
    assert not failures, f"{len(failures)} of {len(played)} cases failed:\n" + "\n".join(failures)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(vn.parse_bytes(c["args"]), accepted, id=c["name"])
        for outcome, accepted in (("accepted", True), ("rejected", False))
        for c in VALUES["arguments"][outcome]
        if c["method"] == "fire"
    ],
)
def test_event_arguments_reach_a_subscription(scripted: Any, args: bytes, expected: bool) -> None:
    """`fire`'s argument arrays of values.json as `fired`'s (the same parameters); messages.json's
    EVENT after it shows the subscription went on."""
    # An accepted one (a str and an int) is yielded as its arguments, which `show` writes as
    # their pattern.
    pattern = json.loads(vn.show(vn.decode_exactly_one(args))) if expected else REJECTED
    played = [
        ("args", event_body("fired", args), pattern),
        ("messages.json's EVENT", _reply("EVENT"), _event_arguments()),
    ]
    daemon = scripted(acknowledge_then([body for _, body, _ in played]))
    with conformance.ConformanceConnection(daemon.path, timeout=STEP_TIMEOUT) as connection:
        failures = stream_failures(connection.fired(), played)
    assert not failures, "\n".join(failures)


def test_events_and_lagged_reach_a_subscription(scripted: Any) -> None:
    """SUBSCRIBE is acknowledged (VALUE nil); then LAGGED and EVENT reach the subscription."""
    daemon = scripted(acknowledge_then([_reply("LAGGED"), _reply("EVENT")]))
    with conformance.ConformanceConnection(daemon.path, timeout=STEP_TIMEOUT) as connection:
        events = connection.fired()
        with pytest.raises(conformance.Lagged) as lagged:
            events.get(timeout=STEP_TIMEOUT)
        assert lagged.value.dropped == 5
        assert events.get(timeout=STEP_TIMEOUT) == conformance.Fired("hi", 7)


def _event_arguments() -> Any:
    """The arguments of messages.json's EVENT, as a pattern."""
    return next(m["value"] for m in MESSAGES["daemon_to_app"] if m["name"] == "EVENT")[2]


def test_unknown_event_refuses_the_subscription(scripted: Any) -> None:
    """ERROR 12 in answer to the SUBSCRIBE: `ProtocolError` code 12, the connection goes on."""
    daemon = scripted(first_reply(_reply("ERROR unknown_event")))
    with conformance.ConformanceConnection(daemon.path, timeout=STEP_TIMEOUT) as connection:
        with pytest.raises(conformance.ProtocolError) as error:
            connection.fired()
        assert (error.value.code, error.value.message) == (12, "no event `nope`")
        assert connection.ping() is None


# ---------------------------------------------------------------- the vectors themselves


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(m, id=f"{side}:{m['name']}")
        for side in ("app_to_daemon", "daemon_to_app")
        for m in MESSAGES[side]
    ],
)
def test_message_bytes_are_their_value(message: dict[str, Any]) -> None:
    """messages.json agrees with itself: each body is exactly one value, the one written."""
    node = vn.decode_exactly_one(vn.parse_bytes(message["bytes"]))
    assert vn.mismatch(message["value"], node) is None


def test_value_bytes_are_well_formed_exactly_where_the_vectors_say() -> None:
    for entry in VALUES["types"]:
        for case in entry["accepted"] + entry["rejected"]:
            vn.decode_exactly_one(vn.parse_bytes(case["bytes"]))
    for case in VALUES["malformed"]:
        with pytest.raises(vn.Malformed):
            vn.decode_exactly_one(vn.parse_bytes(case["bytes"]))
