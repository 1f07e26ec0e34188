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
import os
import select
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

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
    echo_list_inner = echo_fd = echo_list_fd = echo_handles = _echo

    def write_into(self, application: Any, sink: Any, data: bytes) -> None:
        with sink.open("wb") as pipe:
            pipe.write(data)

    def hand_out(self, application: Any, file: Any) -> None:
        with file:
            self.handed(file)

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
    """One raw connection; reads frames (and the descriptors that come with them) with a
    deadline, and keeps a log for failure reports."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.log: list[str] = []
        # Descriptors received with the frame being read (this side owns them).
        self._fds: list[int] = []

    def send(self, data: bytes, prefixed: bool = True, fds: list[int] | None = None) -> None:
        """Writes a frame (or raw bytes); `fds` go with its first byte, in one `sendmsg`
        whose data holds nothing of another frame (PROTOCOL.md §3.1)."""
        frame = struct.pack(">I", len(data)) + data if prefixed else data
        shown = frame.hex(" ") if len(frame) <= 256 else f"{frame[:64].hex(' ')} … ({len(frame)})"
        self.log.append(f"sent     {shown}" + (f" with {len(fds)} descriptors" if fds else ""))
        try:
            sent = socket.send_fds(self.sock, [frame], fds) if fds else 0
            self.sock.sendall(frame[sent:])
        except OSError as err:  # the daemon closed already: what it sent is what matters
            self.log.append(f"(write failed: {err})")

    def _exact(self, n: int, deadline: float) -> bytes | None:
        data = b""
        while len(data) < n:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk, fds, _, _ = socket.recv_fds(
                    self.sock, n - len(data), SCM_MAX_FD, socket.MSG_CMSG_CLOEXEC
                )
            except socket.timeout:
                raise AssertionError(f"nothing within the deadline (got {data.hex(' ')!r} so far)")
            except ConnectionResetError:
                chunk, fds = b"", []
            self._fds += fds
            if not chunk:
                if data:
                    raise AssertionError(
                        f"connection closed in the middle of a frame: {data.hex(' ')}"
                    )
                return None
            data += chunk
        return data

    def recv(self, timeout: float = STEP_TIMEOUT) -> tuple[bytes | None, list[int]]:
        """The next frame's body (None when the peer closed the connection), and the
        descriptors that came with it, now the caller's to close."""
        deadline = time.monotonic() + timeout
        try:
            prefix = self._exact(4, deadline)
            if prefix is None:
                self.log.append("received end of stream")
                return None, self._take_fds()
            body = self._exact(struct.unpack(">I", prefix)[0], deadline)
            assert body is not None, "connection closed after a length prefix"
        except BaseException:
            close_all(self._take_fds())
            raise
        fds = self._take_fds()
        self.log.append(
            f"received {body.hex(' ')}" + (f" with {len(fds)} descriptors" if fds else "")
        )
        return body, fds

    def _take_fds(self) -> list[int]:
        fds, self._fds = self._fds, []
        return fds


# The most descriptors one frame can carry (the kernel's SCM_MAX_FD).
SCM_MAX_FD = 253


def close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def connect(path: str) -> Peer:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return Peer(sock)


class Pipes:
    """The pipes a session (or a values.json case) attaches, numbered from 0 in the order they
    are attached: each attached descriptor is a fresh pipe's write end, sent and then closed
    here; the read ends stay here, to check what came through and that every copy of the
    write end was closed (end of file)."""

    def __init__(self) -> None:
        self.read_ends: list[int] = []
        self.identities: list[tuple[int, int]] = []

    def attach(self, count: int) -> list[int]:
        """`count` new write ends, the caller's to close once sent."""
        ends = []
        for _ in range(count):
            read_end, write_end = os.pipe()
            self.read_ends.append(read_end)
            self.identities.append(identity(write_end))
            ends.append(write_end)
        return ends

    def descriptors(self, fds: list[int]) -> vn.Descriptors:
        """The descriptors `fds` of a received frame, matched against these pipes."""
        return vn.Descriptors(
            len(fds),
            lambda index, pipe: pipe < len(self.identities)
            and identity(fds[index]) == self.identities[pipe],
        )

    def holds(self, pipe: int, timeout: float) -> bytes:
        """What pipe `pipe` holds up to its end of file; fails if the end does not come in
        time (a copy of its write end is still open)."""
        read_end = self.read_ends[pipe]
        deadline = time.monotonic() + timeout
        data = b""
        while True:
            ready, _, _ = select.select([read_end], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise AssertionError(
                    f"pipe {pipe} did not end within the deadline (it held {data!r} so far): "
                    "a copy of its write end is still open"
                )
            chunk = os.read(read_end, 65536)
            if not chunk:
                return data
            data += chunk

    def close(self) -> None:
        close_all(self.read_ends)
        self.read_ends = []


def identity(fd: int) -> tuple[int, int]:
    """What makes two descriptors the same pipe: its device and inode."""
    status = os.fstat(fd)
    return status.st_dev, status.st_ino


def frame_mismatch(
    pattern: Any, body: bytes | None, fds: vn.Descriptors | None = None
) -> str | None:
    """Why the frame `body` (None: end of stream) and the descriptors that came with it do not
    match `pattern`."""
    fds = fds if fds is not None else vn.Descriptors()
    if body is None:
        return f"expected {vn.show_pattern(pattern)}, got the end of the connection"
    try:
        node = vn.decode_exactly_one(body)
    except vn.Malformed as err:
        return (
            f"expected {vn.show_pattern(pattern)}, got a malformed frame ({err}): {body.hex(' ')}"
        )
    return vn.mismatch(pattern, node, FINGERPRINT, fds=fds) or fds.unnamed()


def play(path: str, steps: list[dict[str, Any]]) -> None:
    """Plays the steps of one session, each on its connection (`"on"`, default `a`, opened
    when first used); fails naming the step."""
    peers: dict[str, Peer] = {}
    pipes = Pipes()
    try:
        for index, step in enumerate(steps):
            on = step.get("on", "a")
            if on not in peers:
                peers[on] = connect(path)
            try:
                why = play_step(peers[on], step, pipes)
            except AssertionError as err:  # nothing came in time, or a frame was cut short
                why = str(err)
            if why:
                log = "\n  ".join(peers[on].log)
                raise AssertionError(f"step {index} {step}: {why}\n  frames on {on}:\n  {log}")
    finally:
        for peer in peers.values():
            peer.sock.close()
        pipes.close()


def play_step(peer: Peer, step: dict[str, Any], pipes: Pipes) -> str | None:
    timeout = step.get("within_ms", STEP_TIMEOUT * 1000) / 1000
    if "send" in step or "send_raw" in step:
        data = vn.parse_bytes(step.get("send", step.get("send_raw", "")), FINGERPRINT)
        ends = pipes.attach(step.get("fds", 0))
        try:
            peer.send(data, prefixed="send" in step, fds=ends)
        finally:
            close_all(ends)
        return None
    if "recv" in step:
        body, fds = peer.recv(timeout)
        try:
            return frame_mismatch(step["recv"], body, pipes.descriptors(fds))
        finally:
            close_all(fds)
    if "recv_any_order" in step:
        left = list(step["recv_any_order"])
        while left:
            body, fds = peer.recv(timeout)
            try:
                at = next(
                    (
                        i
                        for i, p in enumerate(left)
                        if frame_mismatch(p, body, pipes.descriptors(fds)) is None
                    ),
                    None,
                )
            finally:
                close_all(fds)
            if at is None:
                shown = "end of stream" if body is None else body.hex(" ")
                return f"{shown} (with {len(fds)} descriptors) matches none of " + (
                    vn.show_pattern(left)
                )
            left.pop(at)
        return None
    if step.get("expect") == "closed":
        body, fds = peer.recv(timeout)
        close_all(fds)
        return None if body is None else f"expected the connection to close, got {body.hex(' ')}"
    if "pipe" in step:
        held = pipes.holds(step["pipe"], timeout)
        wanted = vn.parse_bytes(step["holds"])
        return None if held == wanted else f"pipe {step['pipe']} held {held!r}, not {wanted!r}"
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


class Case(NamedTuple):
    """One case of values.json: its bytes, the value it decodes to (or `REJECTED`), how many
    pipes' write ends go with it, and the ERROR code a daemon rejects it with."""

    name: str
    data: bytes
    expected: Any
    fds: int = 0
    code: int = 2


def cases_of(entry: dict[str, Any]) -> list[Case]:
    """The accepted, then the rejected cases of a values.json type."""
    return [
        Case(c["name"], vn.parse_bytes(c["bytes"]), c["value"], c.get("fds", 0))
        for c in entry["accepted"]
    ] + [
        Case(c["name"], vn.parse_bytes(c["bytes"]), REJECTED, c.get("fds", 0), c.get("code", 2))
        for c in entry["rejected"]
    ]


def expected_reply(call_id: int, case: Case) -> Any:
    """`VALUE [2, id, value]`, or `ERROR [4, id, code, …]` for a rejected case."""
    if case.expected is REJECTED:
        return [4, call_id, case.code, {"any": "str"}]
    return [2, call_id, case.expected]


def _value_types() -> Iterator[Any]:
    for entry in VALUES["types"]:
        if entry["method"] != "ping":
            yield pytest.param(entry, id=entry["type"])


@pytest.mark.parametrize("entry", list(_value_types()))
def test_values_echoed_by_the_daemon(daemon_path: str, entry: dict[str, Any]) -> None:
    """Every case of one type on one connection (a rejected one must keep it open): an accepted
    encoding comes back as its value, a rejected one is ERROR 2 (or the case's code), and the
    daemon keeps none of a case's descriptors. Reports every failing case."""
    cases = [case._replace(data=b"\x91" + case.data) for case in cases_of(entry)]
    _play_calls(daemon_path, entry["method"], cases)


def test_arguments_by_the_daemon(daemon_path: str) -> None:
    by_method: dict[str, list[Case]] = {}
    for case in VALUES["arguments"]["accepted"]:
        by_method.setdefault(case["method"], []).append(
            Case(case["name"], vn.parse_bytes(case["args"]), case["reply"])
        )
    for case in VALUES["arguments"]["rejected"]:
        by_method.setdefault(case["method"], []).append(
            Case(case["name"], vn.parse_bytes(case["args"]), REJECTED)
        )
    for method, cases in by_method.items():
        _play_calls(daemon_path, method, cases)


def _play_calls(path: str, method: str, cases: list[Case]) -> None:
    """Each case as `CALL [1, id, method, case.data]` with its pipes' write ends attached."""
    peer = connect(path)
    failures = []
    try:
        for step in HELLO:
            assert play_step(peer, step, Pipes()) is None, peer.log
        for call_id, case in enumerate(cases, start=1):
            why, reply = _play_call(peer, call_id, method, case)
            if why:
                failures.append(f"{method} case {case.name!r}: {why}")
            if reply is None:
                break
    finally:
        peer.sock.close()
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures)


def _play_call(peer: Peer, call_id: int, method: str, case: Case) -> tuple[str | None, Any]:
    """Why one call went wrong (None if it did not), and its reply."""
    body = call_body(call_id, method, case.data)
    pipes = Pipes()
    try:
        ends = pipes.attach(case.fds)
        peer.send(body, fds=ends)
        close_all(ends)
        reply, fds = peer.recv()
        try:
            why = frame_mismatch(expected_reply(call_id, case), reply, pipes.descriptors(fds))
        finally:
            close_all(fds)
        sent = f"sent {body.hex(' ')} with {case.fds} descriptors"
        if why:
            return f"{sent}: {why}", reply
        for pipe in range(case.fds):
            if held := pipes.holds(pipe, STEP_TIMEOUT):
                return f"{sent}: pipe {pipe} held {held!r}", reply
        return None, reply
    except AssertionError as err:  # nothing came in time, or a pipe did not end
        return str(err), None
    finally:
        pipes.close()


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
                hello, _ = peer.recv(STEP_TIMEOUT)
                assert hello is not None, "the client sent no HELLO"
                peer.send(self.welcome)
                while True:
                    body, fds = peer.recv(60)
                    close_all(fds)  # what the client attached to its arguments
                    if body is None:
                        break
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


# A frame body a scripted daemon sends, and the descriptors it attaches (then closes).
Scripted = tuple[bytes, list[int]]


def send_scripted(peer: Peer, body: bytes, ends: list[int]) -> None:
    try:
        peer.send(body, fds=ends)
    finally:
        close_all(ends)


def reply_with(values: list[bytes | Scripted]) -> Callable[[Peer, vn.Node], None]:
    """Answers the n-th request with `VALUE [2, id, values[n]]` (with its descriptors)."""
    queue = [value if isinstance(value, tuple) else (value, []) for value in values]

    def answer(peer: Peer, request: vn.Node) -> None:
        value, ends = queue.pop(0)
        send_scripted(peer, b"\x93\x02\xcf" + struct.pack(">Q", request_id(request)) + value, ends)

    return answer


def sample(type_name: str, descriptor: int) -> Any:
    """A valid argument of the type, for the client to encode (the scripted daemon ignores it);
    `descriptor` is what it passes as an `fd`."""
    inner = conformance.Inner(name="", tags=[])
    if type_name == "Handles":
        return conformance.Handles(label="", main=descriptor, more=[])
    if type_name == "fd":
        return descriptor
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


def python_mismatch(
    pattern: Any, value: Any, pipes: Pipes | None = None, path: str = "$"
) -> str | None:
    """Why the decoded Python `value` is not the typed-JSON `pattern`; `{"fd": k}` is an `Fd`
    of pipe `k` of `pipes`."""
    found = f"{path}: expected {vn.show_pattern(pattern)}, got {value!r}"
    if pattern is None or isinstance(pattern, (bool, str)):
        return None if type(value) is type(pattern) and value == pattern else found
    if isinstance(pattern, int):
        return None if type(value) is int and value == pattern else found
    if isinstance(pattern, list):
        if not isinstance(value, list) or len(value) != len(pattern):
            return found
        for i, (p, v) in enumerate(zip(pattern, value)):
            if why := python_mismatch(p, v, pipes, f"{path}[{i}]"):
                return why
        return None
    ((tag, arg),) = pattern.items()
    if tag in ("float", "f64", "f32"):
        return None if isinstance(value, float) and vn.same_float(value, arg) else found
    if tag == "fd":
        if not isinstance(value, conformance.Fd) or pipes is None:
            return found
        return None if identity(value.fileno()) == pipes.identities[arg] else f"{found}: not pipe {arg}"
    if tag == "bin":
        return None if isinstance(value, bytes) and value == bytes.fromhex(arg) else found
    if tag == "map" and dataclasses.is_dataclass(value):
        entries = arg.items() if isinstance(arg, dict) else arg
        for key, p in entries:
            # Generated Python adds `_` to a field named like a builtin (`float` is `float_`).
            attr = key if hasattr(value, key) else f"{key}_"
            if why := python_mismatch(p, getattr(value, attr), pipes, f"{path}.{key}"):
                return why
        return None
    return found


@pytest.mark.parametrize("entry", [pytest.param(e, id=e["type"]) for e in VALUES["types"]])
def test_values_decoded_by_the_client(scripted: Any, entry: dict[str, Any]) -> None:
    """Each case as the VALUE of a call (its pipes' write ends attached): accepted ones decode
    to their value, rejected ones fail that call only (the connection goes on), and the client
    keeps none of a case's descriptors once the test closed what it got."""
    cases = cases_of(entry)
    pipes = [Pipes() for _ in cases]
    daemon = scripted(
        reply_with([(case.data, pipe.attach(case.fds)) for case, pipe in zip(cases, pipes)])
    )
    method = entry["method"]
    failures = []
    with (
        open(os.devnull, "rb") as descriptor,
        conformance.ConformanceConnection(daemon.path, timeout=STEP_TIMEOUT) as connection,
    ):
        args = () if method == "ping" else (sample(entry["type"], descriptor.fileno()),)
        for case, pipe in zip(cases, pipes):
            if why := _decoded(connection, method, args, case, pipe):
                failures.append(f"{case.name!r} ({case.data.hex(' ')}): {why}")
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures)


def _decoded(connection: Any, method: str, args: Any, case: Case, pipes: Pipes) -> str | None:
    """Why the client's call, answered with `case`, went wrong; None if it did not."""
    return _received(case, pipes, lambda: connection.call(method, args), conformance.MediumError)


def _received(
    case: Case, pipes: Pipes, receive: Callable[[], Any], failure: type[Exception]
) -> str | None:
    """Why what `receive()` gave for `case` (or the `failure` it raised) is not what the case
    expects, or why the client kept one of the case's descriptors; None if all is well. Closes
    the descriptors of what came, and the case's pipes."""
    try:
        try:
            value = receive()
        except failure as err:
            if case.expected is not REJECTED:
                return f"expected {case.expected}, got {err!r}"
        else:
            try:
                if case.expected is REJECTED:
                    return f"expected a decode error, got {value!r}"
                if why := python_mismatch(case.expected, value, pipes):
                    return why
            finally:
                close_fds_in(value)
        return _kept(pipes)
    finally:
        pipes.close()


def _kept(pipes: Pipes) -> str | None:
    """Why a pipe of `pipes` does not end (a copy of its write end kept open); None if all
    do."""
    for pipe in range(len(pipes.read_ends)):
        try:
            if held := pipes.holds(pipe, STEP_TIMEOUT):
                return f"pipe {pipe} held {held!r}"
        except AssertionError as err:
            return str(err)
    return None


def close_fds_in(value: Any) -> None:
    """Closes every `Fd` in a decoded value (lists, models, event arguments)."""
    if isinstance(value, conformance.Fd):
        value.close()
    elif isinstance(value, (list, tuple)):
        for item in value:
            close_fds_in(item)
    elif dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            close_fds_in(getattr(value, field.name))


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


def acknowledge_then(frames: list[bytes | Scripted]) -> Callable[[Peer, vn.Node], None]:
    """Answers the SUBSCRIBE (the first request) with `VALUE nil`, then sends `frames` (with
    their descriptors)."""

    def answer(peer: Peer, request: vn.Node) -> None:
        kind, call_id = request[1][0][1], request_id(request)
        assert kind == 2, f"expected a SUBSCRIBE, got {vn.show(request)}"
        peer.send(b"\x93\x02\xcf" + struct.pack(">Q", call_id) + b"\xc0")
        for frame in frames:
            body, ends = frame if isinstance(frame, tuple) else (frame, [])
            send_scripted(peer, body, ends)

    return answer


def event_body(event: str, args: bytes) -> bytes:
    """`EVENT [5, event, args]`."""
    return b"\x93\x05" + _str(event) + args


def stream_failures(events: Any, played: list[tuple[Case, Pipes]]) -> list[str]:
    """Each case's EVENT (`case.data`), read from the subscription `events`: an expected value
    is yielded as the event's arguments (in order), `REJECTED` raises `ProtocolError` once in
    its place; either way the client keeps none of the case's descriptors."""
    failures = []
    for case, pipes in played:
        why = _yielded(events, case, pipes)
        if why:
            failures.append(f"{case.name!r} (EVENT {case.data.hex(' ')}): {why}")
    return failures


def _yielded(events: Any, case: Case, pipes: Pipes) -> str | None:
    # An event is a NamedTuple of its arguments.
    return _received(
        case, pipes, lambda: list(events.get(timeout=STEP_TIMEOUT)), conformance.ProtocolError
    )


# The values.json types that are event parameters in conformance.lmspc: the event, and the other
# arguments before and after the case (bytes, and what the subscription yields for them).
EVENT_PARAMETERS = {
    "string": ("fired", [], [(b"\x07", 7)]),
    "int64": ("fired", [(b"\xa2hi", "hi")], []),
    "Everything": ("recorded", [], []),
    "fd": ("handed", [], []),
}


@pytest.mark.parametrize("type_name", list(EVENT_PARAMETERS))
def test_event_values_reach_a_subscription(scripted: Any, type_name: str) -> None:
    """Each case of the type as an argument of an EVENT after an acknowledged SUBSCRIBE (with
    its pipes' write ends): accepted ones are yielded, rejected ones raise once and the
    subscription goes on (the first case again, last, shows it)."""
    event, before, after = EVENT_PARAMETERS[type_name]
    entry = next(e for e in VALUES["types"] if e["type"] == type_name)
    cases = cases_of(entry)
    cases.append(cases[0]._replace(name=f"{cases[0].name} again, last"))
    head = bytes([0x90 | (len(before) + 1 + len(after))]) + b"".join(b for b, _ in before)
    tail = b"".join(b for b, _ in after)

    def arguments(expected: Any) -> Any:
        if expected is REJECTED:
            return REJECTED
        return [v for _, v in before] + [expected] + [v for _, v in after]

    played = [
        (
            case._replace(
                data=event_body(event, head + case.data + tail),
                expected=arguments(case.expected),
            ),
            Pipes(),
        )
        for case in cases
    ]
    daemon = scripted(
        acknowledge_then([(case.data, pipes.attach(case.fds)) for case, pipes in played])
    )
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
        (Case("args", event_body("fired", args), pattern), Pipes()),
        (Case("messages.json's EVENT", _reply("EVENT"), _event_arguments()), Pipes()),
    ]
    daemon = scripted(acknowledge_then([case.data for case, _ in played]))
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
