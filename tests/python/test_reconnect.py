"""Automatic reconnection (`reconnect=Reconnect(...)`) against daemon processes that are
killed with SIGKILL and restarted on the same socket: subscriptions come back (after one
`Reconnected`), calls during the outage fail fast or wait, and a daemon built from another
spec, or one that never comes back, closes the client with `ReconnectFailed`."""

from __future__ import annotations

import asyncio
import queue
import subprocess
import threading
from typing import Callable

import pytest

import student_system as ss
from conftest import STUDENT_DAEMON, SpawnDaemon

# A daemon of another spec at the student socket path.
OTHER_SPEC_DAEMON = """
import os, lists, student_system as ss

class Other(lists.ListsServerBase):
    def run(self) -> None:
        print("ready", flush=True)

Other(os.path.join(os.environ["MEDIUM_SOCKET_DIR"], ss.NAMESPACE, "socket")).serve()
"""

# Quick retries, enough of them (40 s) to outlast a daemon's restart on a loaded machine.
FAST = ss.Reconnect(attempts=2000, initial_delay=0.01, max_delay=0.02)
WAIT = ss.Reconnect(attempts=2000, initial_delay=0.01, max_delay=0.02, calls_during_outage="wait")

Start = Callable[..., "subprocess.Popen[str]"]


@pytest.fixture()
def start(spawn_daemon: SpawnDaemon) -> Start:
    """Starts the student daemon of generation `generation`, or one of another spec."""

    def start_generation(generation: int = 1, spec: str = "student") -> subprocess.Popen[str]:
        script = STUDENT_DAEMON if spec == "student" else OTHER_SPEC_DAEMON
        return spawn_daemon(script, GENERATION=str(generation))

    return start_generation


def kill(daemon: subprocess.Popen[str]) -> None:
    daemon.kill()
    daemon.wait()


def student(id: str = "s1") -> ss.Student:
    return ss.Student(id=id, first_name="Ada", last_name="Lovelace", age=36, photo=b"")


def in_outage(connection: ss.StudentSystemConnection, daemon: subprocess.Popen[str]) -> None:
    """Kills `daemon` and waits until `connection` noticed and is reconnecting."""
    kill(daemon)
    assert connection.state_change(ss.ConnectionState.CONNECTED, 5) is ss.ConnectionState.RECONNECTING


def test_a_restarted_daemon_is_reconnected_and_every_subscription_resumes_after_a_notice(
    start: Start,
) -> None:
    first = start(1)
    with ss.StudentSystemConnection(timeout=5, reconnect=FAST) as connection:
        events = connection.student_added()
        called_back: queue.Queue[tuple[float, ss.Student]] = queue.Queue()
        callback = connection.on_student_added(lambda time, info: called_back.put((time, info)))
        connection.update_student(student())
        assert events.get(5) == (1.0, student())
        assert called_back.get(timeout=5) == (1.0, student())
        in_outage(connection, first)
        with pytest.raises(ss.Reconnecting, match="reconnecting"):
            connection.get_student("s1")
        start(2)
        # Events fired during the outage are lost: the iterator says so before going on.
        with pytest.raises(ss.Reconnected):
            events.get(5)
        with pytest.raises(ss.Reconnected):
            callback.get(5)
        # `Reconnected` comes once the new daemon acknowledged the resubscription: an event
        # another application makes it fire from now on arrives.
        with ss.StudentSystemConnection(timeout=5) as other:
            other.update_student(student("s3"))
        assert events.get(5) == (2.0, student("s3"))
        assert called_back.get(timeout=5) == (2.0, student("s3"))
        assert connection.state is ss.ConnectionState.CONNECTED
        assert connection.get_student("s2").last_name == "2"
    assert connection.state is ss.ConnectionState.CLOSED


def test_a_call_in_flight_when_the_daemon_dies_fails_and_is_not_resent(start: Start) -> None:
    first = start(1)
    with ss.StudentSystemConnection(timeout=5, reconnect=FAST) as connection:
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                connection.get_student("slow-30")
            except BaseException as err:
                outcome.append(err)

        thread = threading.Thread(target=call)
        thread.start()
        assert first.stdout is not None and first.stdout.readline() == "started slow-30\n"
        kill(first)
        thread.join(5)
        assert type(outcome[0]) is ss.ConnectionClosed
        assert "may or may not have run" in str(outcome[0])
        restarted = start(2)
        assert connection.state_change(ss.ConnectionState.RECONNECTING, 5) is ss.ConnectionState.CONNECTED
        # The call was not sent again: the first call the new daemon starts is the next one.
        assert connection.get_student("slow-0").last_name == "2"
        assert restarted.stdout is not None
        assert restarted.stdout.readline() == "started slow-0\n"


def test_in_wait_mode_a_call_during_the_outage_waits_for_the_restarted_daemon(
    start: Start,
) -> None:
    first = start(1)
    with ss.StudentSystemConnection(timeout=10, reconnect=WAIT) as connection:
        in_outage(connection, first)
        result: list[ss.Student] = []
        waiting = threading.Thread(target=lambda: result.append(connection.get_student("s1")))
        waiting.start()
        waiting.join(0.2)
        assert waiting.is_alive(), "the call did not wait for the daemon"
        start(2)
        waiting.join(5)
        assert [s.last_name for s in result] == ["2"]


def test_in_wait_mode_the_call_timeout_bounds_the_wait(start: Start) -> None:
    first = start(1)
    with ss.StudentSystemConnection(timeout=0.3, reconnect=WAIT) as connection:
        in_outage(connection, first)
        with pytest.raises(TimeoutError, match="not back in time"):
            connection.get_student("s1")
        assert connection.state is ss.ConnectionState.RECONNECTING


def test_a_daemon_restarted_from_another_spec_closes_the_client_naming_the_mismatch(
    start: Start,
) -> None:
    first = start(1)
    with ss.StudentSystemConnection(reconnect=FAST) as connection:
        events = connection.student_added()
        in_outage(connection, first)
        start(spec="lists")
        with pytest.raises(ss.ReconnectFailed) as raised:
            events.get(5)
        assert isinstance(raised.value.reason, ss.HandshakeMismatch)
        assert "speaks com.example.lists.Lists" in str(raised.value)
        assert list(events) == []  # then the iterator ends
        assert connection.state is ss.ConnectionState.CLOSED
        with pytest.raises(ss.ReconnectFailed, match="com.example.lists.Lists"):
            connection.get_student("s1")


def test_when_the_attempts_run_out_the_client_closes_with_reconnect_failed(start: Start) -> None:
    first = start(1)
    policy = ss.Reconnect(attempts=3, initial_delay=0.01, max_delay=0.02)
    with ss.StudentSystemConnection(reconnect=policy) as connection:
        events = connection.student_added()
        in_outage(connection, first)
        assert connection.state_change(ss.ConnectionState.RECONNECTING, 5) is ss.ConnectionState.CLOSED
        with pytest.raises(ss.ReconnectFailed) as raised:
            for _ in events:
                pass
        assert isinstance(raised.value.reason, ss.DaemonNotRunning)
        with pytest.raises(ss.ReconnectFailed, match="no daemon is running"):
            connection.get_student("s1")


def test_without_reconnect_a_killed_daemon_closes_the_client(start: Start) -> None:
    first = start(1)
    with ss.StudentSystemConnection() as connection:
        events = connection.student_added()
        kill(first)
        assert list(events) == []
        assert connection.state is ss.ConnectionState.CLOSED
        with pytest.raises(ss.ConnectionClosed) as raised:
            connection.get_student("s1")
        assert not isinstance(raised.value, ss.Reconnecting)


def test_the_async_client_reconnects_to_a_restarted_daemon_and_resubscribes(start: Start) -> None:
    first = start(1)

    async def scenario() -> None:
        connection = await ss.StudentSystemAsyncConnection.connect(timeout=5, reconnect=FAST)
        async with connection:
            events = await connection.student_added()
            await connection.update_student(student())
            assert await events.get() == (1.0, student())
            kill(first)
            changed = connection.state_change(ss.ConnectionState.CONNECTED)
            assert await asyncio.wait_for(changed, 5) is ss.ConnectionState.RECONNECTING
            with pytest.raises(ss.Reconnecting):
                await connection.get_student("s1")
            await asyncio.to_thread(start, 2)
            with pytest.raises(ss.Reconnected):
                await asyncio.wait_for(events.get(), 5)
            await connection.update_student(student("s2"))
            assert await asyncio.wait_for(events.get(), 5) == (2.0, student("s2"))

    asyncio.run(scenario())


def test_the_async_client_waits_out_an_outage_in_wait_mode(start: Start) -> None:
    first = start(1)

    async def scenario() -> None:
        connection = await ss.StudentSystemAsyncConnection.connect(timeout=10, reconnect=WAIT)
        async with connection:
            kill(first)
            changed = connection.state_change(ss.ConnectionState.CONNECTED)
            assert await asyncio.wait_for(changed, 5) is ss.ConnectionState.RECONNECTING
            call = asyncio.ensure_future(connection.get_student("s1"))
            await asyncio.sleep(0.2)
            assert not call.done(), "the call did not wait for the daemon"
            await asyncio.to_thread(start, 2)
            assert (await asyncio.wait_for(call, 5)).last_name == "2"

    asyncio.run(scenario())


def test_a_misspelt_outage_mode_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="'Wait'"):
        ss.Reconnect(calls_during_outage="Wait")  # type: ignore[arg-type]
