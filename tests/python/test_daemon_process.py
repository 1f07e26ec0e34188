"""A generated daemon as its own process: it removes its socket on SIGTERM, lets a call in
flight finish within the grace period and abandons it after, and its `run()` hook runs beside
serving."""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

import student_system as ss
from conftest import STUDENT_DAEMON, SpawnDaemon

StartDaemon = Callable[..., "subprocess.Popen[str]"]


@pytest.fixture()
def start_daemon(spawn_daemon: SpawnDaemon) -> StartDaemon:
    def start(grace_period: float = 5.0, **env_vars: str) -> subprocess.Popen[str]:
        return spawn_daemon(STUDENT_DAEMON, GRACE_PERIOD=str(grace_period), **env_vars)

    return start


class CallInFlight:
    """`get_student(id)` from a thread, once the daemon has said it started."""

    def __init__(self, daemon: subprocess.Popen[str], id: str) -> None:
        self.connection = ss.StudentSystemConnection()
        self.outcome: ss.Student | BaseException | None = None
        self.thread = threading.Thread(target=self._call, args=(id,))
        self.thread.start()
        assert daemon.stdout is not None
        assert daemon.stdout.readline() == f"started {id}\n"

    def _call(self, id: str) -> None:
        try:
            self.outcome = self.connection.get_student(id)
        except BaseException as err:
            self.outcome = err

    def result(self) -> ss.Student | BaseException | None:
        self.thread.join(10)
        assert not self.thread.is_alive(), "the call never ended"
        self.connection.close()
        return self.outcome


def test_a_daemon_process_serves_then_removes_its_socket_on_sigterm(
    socket_dir: Path, start_daemon: StartDaemon
) -> None:
    daemon = start_daemon()
    path = socket_dir / ss.NAMESPACE / "socket"
    assert path.exists()
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    with ss.StudentSystemConnection() as connection:
        assert connection.get_student("s9").first_name == "Bo"
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(10) == 0
    assert daemon.communicate()[0] == "stopped\n"
    assert not path.exists()


def test_sigterm_lets_a_call_in_flight_finish_within_the_grace_period(
    socket_dir: Path, start_daemon: StartDaemon
) -> None:
    daemon = start_daemon(grace_period=5.0)
    path = socket_dir / ss.NAMESPACE / "socket"
    call = CallInFlight(daemon, "slow-2")
    daemon.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    # The socket goes at once, while the call (2 s) still runs: nobody new can connect. The
    # bound leaves room for a loaded machine (the suite runs beside cargo builds in CI).
    while path.exists():
        assert time.monotonic() - stopped_at < 1.5, "the socket outlived SIGTERM"
        time.sleep(0.01)
    assert call.thread.is_alive()
    with pytest.raises(ss.DaemonNotRunning):
        ss.StudentSystemConnection()
    # The call finishes and its reply goes out; then the daemon exits.
    outcome = call.result()
    assert isinstance(outcome, ss.Student) and outcome.id == "slow-2"
    assert daemon.wait(5) == 0
    assert time.monotonic() - stopped_at < 4.5
    assert daemon.communicate()[0] == "stopped\n"


def test_sigterm_abandons_a_call_still_running_after_the_grace_period(
    socket_dir: Path, start_daemon: StartDaemon
) -> None:
    daemon = start_daemon(grace_period=0.5)
    call = CallInFlight(daemon, "slow-30")
    daemon.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    assert daemon.wait(5) == 0
    # It waited for the grace period, not for the call.
    assert 0.5 <= time.monotonic() - stopped_at < 3.0
    assert daemon.communicate()[0] == "stopped\n"
    assert isinstance(call.result(), ss.ConnectionClosed)
    assert not (socket_dir / ss.NAMESPACE / "socket").exists()


def test_a_daemon_out_of_file_descriptors_backs_off_and_serves_again(
    socket_dir: Path, start_daemon: StartDaemon
) -> None:
    daemon = start_daemon(NOFILE="48")
    # More applications than the daemon has descriptors for: the last ones wait in the
    # listen backlog while its accept fails.
    crowd = [ss.StudentSystemConnection() for _ in range(30)]
    waiting = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(30)]
    for sock in waiting:
        sock.connect(str(socket_dir / ss.NAMESPACE / "socket"))
    time.sleep(0.3)
    assert daemon.poll() is None, "the daemon gave up when it ran out of descriptors"
    for connection in crowd:
        connection.close()
    for sock in waiting:
        sock.close()
    with ss.StudentSystemConnection(timeout=5) as connection:
        assert connection.get_student("s1").first_name == "Bo"
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(5) == 0


def test_a_daemon_stops_on_sigterm_delivered_to_any_of_its_threads(
    start_daemon: StartDaemon,
) -> None:
    # The kernel hands a process's signal to any thread that does not block it; Python runs
    # the handler on the main thread, which must not stay asleep in `accept` meanwhile.
    tgkill = getattr(ctypes.CDLL(None, use_errno=True), "tgkill", None)
    if tgkill is None:
        pytest.skip("this libc has no tgkill")
    daemon = start_daemon()
    with ss.StudentSystemConnection(timeout=5) as connection:
        assert connection.get_student("s1").first_name == "Bo"  # a thread serves it now
        tasks = Path(f"/proc/{daemon.pid}/task")
        others = [int(tid.name) for tid in tasks.iterdir() if int(tid.name) != daemon.pid]
        assert others, "the daemon runs no thread besides its main one"
        assert tgkill(daemon.pid, others[0], signal.SIGTERM) == 0, ctypes.get_errno()
        assert daemon.wait(5) == 0
    assert daemon.communicate()[0].endswith("stopped\n")
