"""A generated daemon as its own process: it removes its socket on SIGTERM, and its `run()`
hook runs beside serving."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import student_system as ss

DAEMON = """
import sys, student_system as ss

class Daemon(ss.StudentSystemServerBase):
    def run(self) -> None:
        print("ready", flush=True)

    def get_student(self, application, id):
        return ss.Student(id=id, first_name="Bo", last_name="", age=1, photo=b"")

Daemon().serve()
print("stopped", flush=True)
"""


def test_a_daemon_process_serves_then_removes_its_socket_on_sigterm(socket_dir: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    daemon = subprocess.Popen(
        [sys.executable, "-c", DAEMON], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert daemon.stdout is not None
        assert daemon.stdout.readline() == "ready\n"
        path = socket_dir / ss.NAMESPACE / "socket"
        assert path.exists()
        assert oct(path.stat().st_mode & 0o777) == oct(0o600)
        with ss.StudentSystemConnection() as connection:
            assert connection.get_student("s9").first_name == "Bo"
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(10) == 0
        assert daemon.stdout.read() == "stopped\n"
        assert not path.exists()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
