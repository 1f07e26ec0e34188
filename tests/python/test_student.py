"""The student package against a Python daemon in this process (real socket, real threads):
calls, the typed exception, events to all and to one, applications, concurrency, checks on
send, and connection errors that name the socket path."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import student_system as ss
from student_system import _medium


class Daemon(ss.StudentSystemServerBase):
    def __init__(self) -> None:
        super().__init__()
        self.students: dict[str, ss.Student] = {}
        self.callers: list[ss.Application] = []

    def get_student(self, application: ss.Application, id: str) -> ss.Student:
        self.callers.append(application)
        if id.startswith("slow"):
            time.sleep(0.5)
        if id not in self.students:
            raise ss.StudentNotFound(f"no student with id {id}")
        return self.students[id]

    def update_student(self, application: ss.Application, info: ss.Student) -> None:
        self.students[info.id] = info
        if info.id.startswith("draft-"):
            self.student_added(1.5, info, application=application)
        else:
            self.student_added(2.5, info)


class Lazy(ss.StudentSystemServerBase):
    """Implements nothing."""


def ada(id: str = "s1") -> ss.Student:
    return ss.Student(id=id, first_name="Ada", last_name="Lovelace", age=36, photo=b"\x00\x01\xff")


def test_a_call_returns_the_model_the_daemon_stored(serve: Any) -> None:
    serve(Daemon())
    with ss.StudentSystemConnection() as connection:
        connection.update_student(ada())
        assert connection.get_student("s1") == ada()


def test_an_unknown_id_raises_the_typed_exception_with_its_message(serve: Any) -> None:
    serve(Daemon())
    with ss.StudentSystemConnection() as connection:
        with pytest.raises(ss.StudentNotFound) as raised:
            connection.get_student("nobody")
        assert raised.value.message == "no student with id nobody"
        assert isinstance(raised.value, ss.StudentSystemError)
        # The connection still works after an exception.
        connection.update_student(ada())
        assert connection.get_student("s1").first_name == "Ada"


def test_events_reach_every_subscribed_application_and_drafts_only_their_author(serve: Any) -> None:
    serve(Daemon())
    with ss.StudentSystemConnection() as first, ss.StudentSystemConnection() as second:
        first_events = first.student_added()
        second_events = second.student_added()
        called_back: list[tuple[float, ss.Student]] = []
        # Subscribing returns once the daemon acknowledged it: no event can be missed after.
        second.on_student_added(lambda time, info: called_back.append((time, info)))
        first.update_student(ada("draft-1"))
        second.update_student(ada("s2"))
        assert first_events.get(timeout=5) == ss.StudentAdded(1.5, ada("draft-1"))
        assert first_events.get(timeout=5) == (2.5, ada("s2"))
        # Events arrive in the order they were fired: the public one first means the draft
        # never reached the second application.
        time_, info = second_events.get(timeout=5)
        assert (time_, info.id) == (2.5, "s2")
        assert called_back == [(2.5, ada("s2"))]


def test_the_daemon_sees_each_application_with_its_credentials(serve: Any) -> None:
    daemon = Daemon()
    serve(daemon)
    with ss.StudentSystemConnection() as first, ss.StudentSystemConnection() as second:
        with pytest.raises(ss.StudentNotFound):
            first.get_student("x")
        with pytest.raises(ss.StudentNotFound):
            second.get_student("x")
        applications = daemon.applications
        assert len(applications) == 2
        assert {a.pid for a in applications} == {os.getpid()}
        assert {a.uid for a in applications} == {os.getuid()}
        assert {c.id for c in daemon.callers} == {a.id for a in applications}


def test_calls_from_many_threads_run_concurrently_in_the_daemon(serve: Any) -> None:
    serve(Daemon())
    with ss.StudentSystemConnection() as connection:
        errors: list[BaseException] = []

        def call(n: int) -> None:
            try:
                connection.get_student(f"slow-{n}")
            except ss.StudentNotFound as err:
                errors.append(err)

        started = time.monotonic()
        threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # Eight calls of 0.5 s each, one connection: in parallel, not one after the other.
        assert time.monotonic() - started < 2.0
        assert sorted(str(e) for e in errors) == [f"no student with id slow-{n}" for n in range(8)]


def test_a_method_the_daemon_does_not_implement_is_a_protocol_error(serve: Any) -> None:
    serve(Lazy())
    with ss.StudentSystemConnection() as connection:
        with pytest.raises(ss.ProtocolError) as raised:
            connection.get_student("s1")
        assert raised.value.code == _medium.NOT_IMPLEMENTED
        assert "does not implement `get_student`" in str(raised.value)


def test_integers_are_range_checked_before_sending(serve: Any) -> None:
    daemon = Daemon()
    serve(daemon)
    with ss.StudentSystemConnection() as connection:
        with pytest.raises(ValueError, match="300 is out of range for uint8"):
            connection.update_student(dataclasses.replace(ada(), age=300))
        with pytest.raises(TypeError, match="expected bytes"):
            connection.update_student(dataclasses.replace(ada(), photo=[1, 2]))  # type: ignore[arg-type]
        assert daemon.students == {}
        connection.update_student(ada())
        assert list(daemon.students) == ["s1"]


def test_no_daemon_is_a_connection_error_naming_the_socket_path(socket_dir: Path) -> None:
    with pytest.raises(ConnectionError) as raised:
        ss.StudentSystemConnection()
    assert isinstance(raised.value, ss.DaemonNotRunning)
    expected = socket_dir / "com.pcthingz.libmedium.student" / "socket"
    assert str(expected) in str(raised.value)


def test_a_daemon_of_another_spec_version_is_refused_naming_both_fingerprints(serve: Any) -> None:
    serve(Daemon())
    other = dataclasses.replace(ss._PROTOCOL, fingerprint="0" * 64)
    with pytest.raises(ss.HandshakeMismatch) as raised:
        _medium.Client(other)
    message = str(raised.value)
    assert ss.FINGERPRINT in message and "0" * 64 in message
    assert "com.pcthingz.libmedium.student.StudentSystem" in message


def test_a_second_daemon_on_the_same_socket_refuses_to_start(serve: Any) -> None:
    serve(Daemon())
    with pytest.raises(ss.MediumError, match="already running"):
        Daemon().serve()


def test_a_closed_daemon_ends_event_iterators_and_fails_calls(serve: Any) -> None:
    served = serve(Daemon())
    connection = ss.StudentSystemConnection()
    events = connection.student_added()
    served.stop()
    assert list(events) == []
    with pytest.raises(ss.ConnectionClosed):
        connection.get_student("s1")
    connection.close()


def test_the_socket_path_follows_the_documented_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIUM_SOCKET_DIR", "/a")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/c")
    assert _medium.socket_path("com.x", "/b") == "/a/com.x/socket"
    monkeypatch.setenv("MEDIUM_SOCKET_DIR", "")
    assert _medium.socket_path("com.x", "/b") == "/b/com.x/socket"
    assert _medium.socket_path("com.x", None) == "/c/com.x/socket"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    if os.geteuid() == 0:
        assert _medium.socket_path("com.x", None) == "/run/com.x/socket"
    else:
        with pytest.raises(ss.MediumError, match="MEDIUM_SOCKET_DIR or XDG_RUNTIME_DIR"):
            _medium.socket_path("com.x", None)


def test_a_failing_event_callback_does_not_stop_the_connection(serve: Any) -> None:
    serve(Daemon())
    with ss.StudentSystemConnection() as connection:

        def fail(time: float, info: ss.Student) -> None:
            raise RuntimeError("callback bug")

        connection.on_student_added(fail)
        events = connection.student_added()
        connection.update_student(ada("s3"))
        assert events.get(timeout=5).info.id == "s3"
        connection.update_student(ada("s4"))
        assert events.get(timeout=5).info.id == "s4"
        assert connection.get_student("s4") == ada("s4")


def introspect(path: str, hello_first: bool) -> tuple[list[Any], list[Any] | None]:
    """Sends `introspect` on a raw socket (after a handshake, or as the first frame) and
    returns the reply and the next frame: after a handshake, the reply to an unknown
    request; otherwise None, as the daemon closed the connection."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        if hello_first:
            sock.sendall(_medium.hello(ss._PROTOCOL))
            welcome = _medium.read_frame(sock)
            assert welcome is not None and welcome[0] == _medium.WELCOME
        sock.sendall(_medium.encode_frame([_medium.BUILTIN, 7, "introspect", []]))
        reply = _medium.read_frame(sock)
        assert reply is not None
        if hello_first:
            sock.sendall(_medium.encode_frame([_medium.BUILTIN, 8, "no-such-request", []]))
        sock.settimeout(5)
        return reply, _medium.read_frame(sock)


def test_introspection_reports_the_spec_with_or_without_a_handshake(serve: Any) -> None:
    served = serve(Daemon())
    expected = {
        "namespace": ss.NAMESPACE,
        "class": ss.CLASS,
        "fingerprint": ss.FINGERPRINT,
        "spec": ss.SPEC,
        "runtime_version": _medium.RUNTIME_VERSION,
        "wire_version": 2,
    }
    assert "method get_student(id: string): Student" in ss.SPEC
    # As the first frame: one answer, then the daemon closes; the peer never became an app.
    reply, after = introspect(served.daemon.socket_path, hello_first=False)
    assert reply == [_medium.VALUE, 7, expected]
    assert after is None
    # After a handshake: answered like a call, and the connection stays open.
    reply, after = introspect(served.daemon.socket_path, hello_first=True)
    assert reply == [_medium.VALUE, 7, expected]
    assert after == [
        _medium.ERROR, 8, _medium.UNKNOWN_METHOD, "unknown built-in request `no-such-request`"
    ]
