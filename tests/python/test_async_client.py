"""The asyncio client of the student package against a Python daemon: concurrent calls, the
typed exception, events as an async iterator, and the same connection errors."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import pytest

import student_system as ss
from student_system import _medium
from test_student import Daemon, ada


def test_async_calls_run_concurrently_and_raise_the_typed_exception(serve: Any) -> None:
    serve(Daemon())

    async def scenario() -> None:
        connection = await ss.StudentSystemAsyncConnection.connect()
        async with connection:
            await connection.update_student(ada())
            assert await connection.get_student("s1") == ada()
            with pytest.raises(ss.StudentNotFound, match="no student with id nobody"):
                await connection.get_student("nobody")
            started = time.monotonic()
            outcomes = await asyncio.gather(
                *(connection.get_student(f"slow-{n}") for n in range(6)), return_exceptions=True
            )
            # Six calls of 0.5 s in flight together on one connection.
            assert time.monotonic() - started < 2.0
            assert all(isinstance(o, ss.StudentNotFound) for o in outcomes)

    asyncio.run(scenario())


def test_async_events_arrive_through_async_for_and_end_when_closed(serve: Any) -> None:
    serve(Daemon())

    async def scenario() -> None:
        connection = await ss.StudentSystemAsyncConnection.connect()
        events = await connection.student_added()
        await connection.update_student(ada("s7"))
        received = []
        async for event in events:
            received.append(event)
            await connection.close()
        assert received == [ss.StudentAdded(2.5, ada("s7"))]
        with pytest.raises(ss.ConnectionClosed):
            await connection.get_student("s7")

    asyncio.run(scenario())


def test_async_connect_without_a_daemon_is_a_connection_error_naming_the_path(
    socket_dir: Path,
) -> None:
    with pytest.raises(ConnectionError, match=str(socket_dir)):
        asyncio.run(ss.StudentSystemAsyncConnection.connect())


def test_async_range_check_happens_before_sending(serve: Any) -> None:
    daemon = Daemon()
    serve(daemon)

    async def scenario() -> None:
        async with await ss.StudentSystemAsyncConnection.connect() as connection:
            with pytest.raises(ValueError, match="out of range for uint8"):
                await connection.update_student(ss.Student("s1", "A", "B", 256, b""))
            await connection.update_student(ada())

    asyncio.run(scenario())
    assert list(daemon.students) == ["s1"]


def test_a_failed_write_fails_the_calls_waiting_for_replies() -> None:
    """Calls do not wait for their frame to be written before awaiting the reply: when
    writing fails, every call waiting on the connection fails with it, even one whose request
    left before (its reply may never come while the daemon's writes still arrive)."""

    async def scenario() -> None:
        client_end, daemon_end = socket.socketpair()
        with daemon_end:
            connection = _medium.AsyncSocket(client_end)
            client = ss.StudentSystemAsyncConnection(ss._PROTOCOL, "a socketpair", 5, connection)
            waiting = asyncio.ensure_future(client.get_student("s1"))
            await asyncio.sleep(0.05)  # its request is written; the "daemon" never answers
            assert not waiting.done()
            # The daemon stops reading (its writes would still arrive): the next write fails.
            daemon_end.shutdown(socket.SHUT_RD)
            with pytest.raises(ss.ConnectionClosed, match="failed"):
                await client.get_student("s2")
            with pytest.raises(ss.ConnectionClosed, match="failed"):
                await asyncio.wait_for(waiting, 1)
            await client.close()

    asyncio.run(scenario())
