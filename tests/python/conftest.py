"""Shared fixtures: the generated packages (from the real `cargo-medium gen python`) on
`sys.path`, a private socket folder per test, a Python daemon served in a thread, and daemons
run as their own processes.

`CARGO_MEDIUM` names the cargo-medium binary to use (the e2e suite sets it to the one it just
built); without it, the binary is built with cargo first, so it is never stale.

The e2e suite runs this suite in the venv the tests make (`target/python-venv/`, with the
packages of `requirements.txt`); by hand: `target/python-venv/bin/python -m pytest tests/python`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPECS = {
    "student_system": ROOT / "examples" / "student.lmspc",
    "lists": ROOT / "tests" / "specs" / "valid" / "lists.lmspc",
    "catalog": ROOT / "tests" / "specs" / "valid" / "nested_models.lmspc",
    "conformance": ROOT / "tests" / "vectors" / "conformance.lmspc",
    "descriptors": ROOT / "tests" / "specs" / "fd" / "descriptors.lmspc",
    "blobs": ROOT / "examples" / "blobs.lmspc",
}


def cargo_medium() -> str:
    binary = os.environ.get("CARGO_MEDIUM")
    if binary:
        return binary
    output = subprocess.run(
        ["cargo", "build", "-q", "-p", "cargo-medium", "--message-format=json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in output.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable"):
            if message["target"]["name"] == "cargo-medium":
                return str(message["executable"])
    raise RuntimeError("cargo build did not report the cargo-medium binary")


def pytest_configure(config: pytest.Config) -> None:
    # Before collection, since the test modules import the generated packages.
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="medium-py-generated-"))
    binary = cargo_medium()
    for package, spec in SPECS.items():
        subprocess.run([binary, "-q", "gen", "python", str(spec), "-o", str(out)], check=True)
        assert (out / package / "__init__.py").is_file()
    sys.path.insert(0, str(out))


@pytest.fixture()
def socket_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Unix socket paths are short (108 bytes): pytest's tmp_path may be too deep.
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="medium-py-"))
    monkeypatch.setenv("MEDIUM_SOCKET_DIR", str(folder))
    return folder


class Served:
    """A daemon object serving in a background thread; stopped and joined on exit."""

    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 5
        while not self._accepts():
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"daemon did not start: {self.error}")
            time.sleep(0.01)

    def _accepts(self) -> bool:
        """Whether the daemon accepts connections (the socket file exists a moment before)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(self.daemon.socket_path)
            except OSError:
                return False
        return True

    def _serve(self) -> None:
        try:
            self.daemon.serve()
        except BaseException as err:  # reported by the test that waits for it
            self.error = err

    def stop(self) -> None:
        self.daemon.stop()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the daemon did not stop"


@pytest.fixture()
def serve(socket_dir: Path) -> Iterator[Any]:
    started: list[Served] = []

    def start(daemon: Any) -> Served:
        served = Served(daemon)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


SpawnDaemon = Callable[..., "subprocess.Popen[str]"]

# A student daemon process for `spawn_daemon`. `get_student("slow-S")` prints "started slow-S" and
# takes S seconds; students it returns have the last name `GENERATION` (default 1), and
# `update_student` fires `student_added` with it as the time, so an application can tell
# a restarted daemon from the first. `GRACE_PERIOD` sets the grace period (default 5 s),
# `NOFILE` lowers the limit of open files. It prints "stopped" once `serve()` returned.
STUDENT_DAEMON = """
import os, resource, time, student_system as ss

if "NOFILE" in os.environ:
    limit = int(os.environ["NOFILE"])
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
GENERATION = os.environ.get("GENERATION", "1")

class Daemon(ss.StudentSystemServerBase):
    grace_period = float(os.environ.get("GRACE_PERIOD", "5"))

    def run(self) -> None:
        print("ready", flush=True)

    def get_student(self, application, id):
        if id.startswith("slow-"):
            print("started", id, flush=True)
            time.sleep(float(id[len("slow-"):]))
        return ss.Student(id=id, first_name="Bo", last_name=GENERATION, age=1, photo=b"")

    def update_student(self, application, info):
        self.student_added(float(GENERATION), info)

Daemon().serve()
print("stopped", flush=True)
"""


@pytest.fixture()
def spawn_daemon(socket_dir: Path) -> Iterator[SpawnDaemon]:
    """`spawn_daemon(script, **env)` runs `script` with the generated packages importable and
    `env` added to the environment, and returns once it printed "ready" (the script's daemon
    prints it from `run()`, which starts once the socket listens). Killed at the end."""
    started: list[subprocess.Popen[str]] = []

    def spawn(script: str, **env_vars: str) -> subprocess.Popen[str]:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), **env_vars)
        daemon = subprocess.Popen(
            [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
        )
        started.append(daemon)
        assert daemon.stdout is not None
        assert daemon.stdout.readline() == "ready\n"
        return daemon

    yield spawn
    for daemon in started:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
