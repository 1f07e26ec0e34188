"""The Python bench: what the bundled Python runtime costs beside a hand-written Python loop.

    taskset -c 0 python3 bench/python/ipc.py [--json] [--quick] [CASE…]

Two groups of cases, each timing the generated code and a hand-written Python msgpack socket
loop that speaks the same wire protocol (PROTOCOL.md) and does the same encode/decode work
(`msgpack.packb`/`unpackb`, building the `Student` object), against the same Rust peer:

- `client_*`: the generated Python client (`PyBenchConnection`; `PyBenchAsyncConnection` for
  calls in flight) calling a Rust daemon, beside a hand-written client loop (one blocking
  socket; a pipeline keeping 64 calls in flight); `client_events` receives the `student_added`
  events of one `fire(count)` (a callback subscription beside a loop reading `EVENT` frames).
- `daemon_*`: a Rust client calling the generated Python daemon (`PyBenchServerBase`), beside a
  hand-written server loop (one thread per connection answering its frames in order).

The Python package is generated from `bench.lmspc` by `cargo-medium gen python` into a temporary
directory; the Rust peer is the `python-peer` binary of the bench crate (`peer.rs`). Both are
built with cargo from this checkout unless `CARGO_MEDIUM` / `MEDIUM_PYTHON_PEER` name them.
`--quick` is a smoke run (a debug peer, few calls; its figures mean nothing). The goal is a cost
at most 1.5× the hand-written loop's (issue 17). Needs only `msgpack`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SPEC = HERE / "bench.lmspc"
PACKAGE = "py_bench"

STUDENT_ID = "s-000042"
PHOTO = bytes(range(64))
BULK = b"\xa5" * (1024 * 1024)
IN_FLIGHT = 64
WIRE_VERSION = 2
# Message kinds (PROTOCOL.md §4, §5).
HELLO, CALL, SUBSCRIBE = 0, 1, 2
WELCOME, VALUE, EVENT = 0, 2, 5

# A cost (time per call, or the inverse of a rate) at most this many times the hand-written
# loop's.
GOAL = 1.5


@dataclass(frozen=True)
class Scale:
    """Calls per measurement and repetitions (the figure is the median of these)."""

    sequential: int
    in_flight: int
    bulk: int
    events: int
    repetitions: int


FULL = Scale(sequential=5_000, in_flight=10_000, bulk=100, events=20_000, repetitions=5)
QUICK = Scale(sequential=100, in_flight=256, bulk=3, events=200, repetitions=1)

# case: (unit, which direction is better)
CASES: dict[str, tuple[str, str]] = {
    "client_call_latency_us": ("us", "lower"),
    "client_in_flight_64": ("calls/s", "higher"),
    "client_bulk_1mib": ("MiB/s", "higher"),
    "client_events": ("events/s", "higher"),
    "daemon_call_latency_us": ("us", "lower"),
    "daemon_in_flight_64": ("calls/s", "higher"),
    "daemon_bulk_1mib": ("MiB/s", "higher"),
}


# --- building and generating -------------------------------------------------------------------


def cargo_binary(manifest: Path, package: str, name: str, release: bool) -> str:
    """Builds the binary `name` of `package` in the workspace of `manifest`; returns its path."""
    manifest_path = ["--manifest-path", str(manifest)]
    profile = ["--release"] if release else []
    build = ["cargo", "build", "-q", *manifest_path, *profile, "-p", package, "--bin", name]
    subprocess.run(build, check=True)
    metadata = subprocess.run(
        ["cargo", "metadata", "-q", "--format-version", "1", "--no-deps", *manifest_path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    target = Path(json.loads(metadata)["target_directory"])
    return str(target / ("release" if release else "debug") / name)


def generate_package(out: Path) -> Any:
    """The package generated from `bench.lmspc` into `out`, imported."""
    binary = os.environ.get("CARGO_MEDIUM") or cargo_binary(
        ROOT / "Cargo.toml", "cargo-medium", "cargo-medium", release=False
    )
    subprocess.run([binary, "-q", "gen", "python", str(SPEC), "-o", str(out)], check=True)
    sys.path.insert(0, str(out))
    return importlib.import_module(PACKAGE)


def python_peer(quick: bool) -> str:
    """The Rust peer binary: release for real figures, debug (quicker to build) for a smoke run."""
    given = os.environ.get("MEDIUM_PYTHON_PEER")
    if given:
        return given
    return cargo_binary(ROOT / "bench" / "Cargo.toml", "medium-bench", "python-peer", not quick)


# --- framing, as PROTOCOL.md §2 --------------------------------------------------------------


def frame(message: list[Any]) -> bytes:
    body: bytes = msgpack.packb(message, use_bin_type=True)
    return len(body).to_bytes(4, "big") + body


def read_message(reader: Any) -> list[Any] | None:
    """The next message from a buffered reader, or None at the end of the stream."""
    prefix = reader.read(4)
    if len(prefix) < 4:
        return None
    body = reader.read(int.from_bytes(prefix, "big"))
    message: list[Any] = msgpack.unpackb(body, raw=False)
    return message


# --- the hand-written client -------------------------------------------------------------------


class HandwrittenClient:
    """One blocking socket speaking the protocol: a HELLO, then CALLs and their VALUEs."""

    def __init__(self, path: str, package: Any) -> None:
        self.student = package.Student
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")
        self.next_id = 0
        protocol = [package.NAMESPACE, package.CLASS, package.FINGERPRINT]
        self.sock.sendall(frame([HELLO, "medium", WIRE_VERSION, *protocol]))
        welcome = read_message(self.reader)
        if not welcome or welcome[0] != WELCOME:
            raise RuntimeError(f"handshake refused: {welcome}")

    def request(self, kind: int, *fields: Any) -> bytes:
        """The frame of a request of `kind` (PROTOCOL.md §4): the next id, then `fields`."""
        self.next_id += 1
        return frame([kind, self.next_id, *fields])

    def value(self) -> Any:
        message = read_message(self.reader)
        if not message or message[0] != VALUE:
            raise RuntimeError(f"call failed: {message}")
        return message[2]

    def get_student(self, id: str) -> Any:
        self.sock.sendall(self.request(CALL, "get_student", [id]))
        return self.student(**self.value())

    def echo_bytes(self, data: bytes) -> bytes:
        self.sock.sendall(self.request(CALL, "echo_bytes", [data]))
        back: bytes = self.value()
        return back

    def pipeline(self, calls: int) -> None:
        """`calls` get_student calls, keeping IN_FLIGHT in flight: one sent per reply read."""
        first = min(IN_FLIGHT, calls)
        frames = (self.request(CALL, "get_student", [STUDENT_ID]) for _ in range(first))
        self.sock.sendall(b"".join(frames))
        sent = first
        for _ in range(calls):
            check_student(self.student(**self.value()))
            if sent < calls:
                self.sock.sendall(self.request(CALL, "get_student", [STUDENT_ID]))
                sent += 1

    def events(self, count: int, record: Callable[[float, Any], Any]) -> None:
        """Subscribes to `student_added`, calls `fire(count)` and reads its events and reply."""
        self.sock.sendall(self.request(SUBSCRIBE, "student_added"))
        self.value()
        self.sock.sendall(self.request(CALL, "fire", [count]))
        received, replied = 0, False
        while received < count or not replied:
            message = read_message(self.reader)
            if message and message[0] == EVENT:
                at, info = message[2]
                check_student(record(at, self.student(**info)).info)
                received += 1
            elif message and message[0] == VALUE:
                replied = True
            else:
                raise RuntimeError(f"unexpected message {message} after {received} events")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def check_student(student: Any) -> None:
    if student.id != STUDENT_ID or student.photo != PHOTO:
        raise RuntimeError(f"get_student returned {student}")


def check_echo(back: bytes) -> None:
    if len(back) != len(BULK):
        raise RuntimeError(f"echo_bytes returned {len(back)} bytes")


# --- Python clients against the Rust daemon ----------------------------------------------------


def repeat(count: int, call: Callable[[], None]) -> float:
    """Seconds `count` calls of `call` take."""
    start = time.perf_counter()
    for _ in range(count):
        call()
    return time.perf_counter() - start


def one_at_a_time(client: Any, case: str, count: int) -> float:
    """Seconds of `count` calls of `case` (`sequential` or `bulk`) by a connected client."""
    check_student(client.get_student(STUDENT_ID))  # warm-up
    if case == "sequential":
        return repeat(count, lambda: check_student(client.get_student(STUDENT_ID)))
    return repeat(count, lambda: check_echo(client.echo_bytes(BULK)))


def generated_client_seconds(package: Any, path: str, case: str, count: int) -> float:
    if case == "in_flight":
        return asyncio.run(generated_in_flight(package, path, count))
    client = package.PyBenchConnection(path)
    try:
        if case == "events":
            return generated_events(client, count)
        return one_at_a_time(client, case, count)
    finally:
        client.close()


def generated_events(client: Any, count: int) -> float:
    """Seconds from calling `fire(count)` until its `count` events reached a callback."""
    received = 0
    all_received = threading.Event()

    def on_event(at: float, info: Any) -> None:
        nonlocal received
        check_student(info)
        received += 1
        if received == count:
            all_received.set()

    subscription = client.on_student_added(on_event)
    start = time.perf_counter()
    client.fire(count)
    if not all_received.wait(10):
        raise RuntimeError(f"{received} of {count} events arrived")
    seconds = time.perf_counter() - start
    subscription.close()
    return seconds


async def generated_in_flight(package: Any, path: str, count: int) -> float:
    """IN_FLIGHT tasks sharing one asyncio connection, `count` calls in all."""
    client = await package.PyBenchAsyncConnection.connect(path)
    try:
        check_student(await client.get_student(STUDENT_ID))

        async def caller(calls: int) -> None:
            for _ in range(calls):
                check_student(await client.get_student(STUDENT_ID))

        shares = [count // IN_FLIGHT + (i < count % IN_FLIGHT) for i in range(IN_FLIGHT)]
        start = time.perf_counter()
        await asyncio.gather(*(caller(n) for n in shares))
        return time.perf_counter() - start
    finally:
        await client.close()


def handwritten_client_seconds(package: Any, path: str, case: str, count: int) -> float:
    client = HandwrittenClient(path, package)
    try:
        if case == "in_flight":
            check_student(client.get_student(STUDENT_ID))
            start = time.perf_counter()
            client.pipeline(count)
            return time.perf_counter() - start
        if case == "events":
            start = time.perf_counter()
            client.events(count, package.StudentAdded)
            return time.perf_counter() - start
        return one_at_a_time(client, case, count)
    finally:
        client.close()


# --- the Python daemons, each run as its own process (`--serve KIND SOCKET PACKAGE_DIR`) -------


def ada(package: Any, id: str) -> Any:
    """The student both daemons return."""
    return package.Student(id=id, first_name="Ada", last_name="Lovelace", age=36, photo=PHOTO)


def serve_generated(package: Any, path: str) -> None:
    class Daemon(package.PyBenchServerBase):  # type: ignore[misc]
        def get_student(self, application: Any, id: str) -> Any:
            return ada(package, id)

        def echo_bytes(self, application: Any, data: bytes) -> bytes:
            return data

    Daemon(path).serve()


def serve_handwritten(package: Any, path: str) -> None:
    """Accepts connections; each gets a thread that answers its frames in order."""
    def get_student(id: str) -> Any:
        return vars(ada(package, id))

    def echo_bytes(data: bytes) -> bytes:
        return data

    methods: dict[str, Callable[..., Any]] = {"get_student": get_student, "echo_bytes": echo_bytes}
    welcome = frame([WELCOME, "medium", WIRE_VERSION, "handwritten"])

    def connection(sock: socket.socket) -> None:
        with sock, sock.makefile("rb") as reader:
            hello = read_message(reader)
            if not hello or hello[0] != HELLO or hello[5] != package.FINGERPRINT:
                return
            sock.sendall(welcome)
            while (message := read_message(reader)) is not None:
                _, id, method, args = message
                sock.sendall(frame([VALUE, id, methods[method](*args)]))

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(128)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=connection, args=(sock,), daemon=True).start()


@contextmanager
def running(command: list[str], path: str) -> Iterator[None]:
    """Runs a daemon process until the block ends; yields once its socket accepts."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not accepts(path):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[:3]} did not start listening at {path}")
            time.sleep(0.01)
        yield
    finally:
        process.kill()
        process.wait()
        if os.path.exists(path):
            os.unlink(path)


def accepts(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def rust_client_seconds(peer: list[str], path: str, case: str, count: int) -> float:
    output = subprocess.run(
        [peer[0], "call", path, *peer[1:], case, str(count)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(output)


# --- running the cases -------------------------------------------------------------------------


def figure(case: str, count: int, seconds: float) -> float:
    """The case's figure for `count` calls of its kind in `seconds`."""
    if case.endswith("latency_us"):
        return seconds / count * 1e6
    if case.endswith("bulk_1mib"):
        return count * len(BULK) / (1024 * 1024) / seconds
    return count / seconds


def calls(case: str, scale: Scale) -> tuple[str, int]:
    """The peer's name of the case's calls, and how many per measurement."""
    if case.endswith("latency_us"):
        return "sequential", scale.sequential
    if case.endswith("in_flight_64"):
        return "in_flight", scale.in_flight
    if case.endswith("events"):
        return "events", scale.events
    return "bulk", scale.bulk


def result(case: str, generated: list[float], handwritten: list[float]) -> dict[str, Any]:
    unit, better = CASES[case]
    ours, theirs = statistics.median(generated), statistics.median(handwritten)
    # What a call costs beside the hand-written loop: time per call, or the inverse of a rate.
    cost = ours / theirs if better == "lower" else theirs / ours
    return {
        "case": case,
        "unit": unit,
        "generated": ours,
        "handwritten": theirs,
        "better": better,
        "cost_ratio": cost,
        "goal": f"cost_ratio <= {GOAL}",
        "met": cost <= GOAL,
    }


def run(selected: list[str], scale: Scale, quick: bool) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="medium-pybench-") as work:
        return run_in(Path(work), selected, scale, quick)


def run_in(work: Path, selected: list[str], scale: Scale, quick: bool) -> list[dict[str, Any]]:
    """Runs the cases with the package, sockets and daemons in `work`."""
    package = generate_package(work / "generated")
    peer = [python_peer(quick), package.NAMESPACE, package.CLASS, package.FINGERPRINT]
    figures: dict[str, tuple[list[float], list[float]]] = {case: ([], []) for case in selected}
    client_cases = [c for c in selected if c.startswith("client_")]
    daemon_cases = [c for c in selected if c.startswith("daemon_")]
    rust_socket = str(work / "rust.sock")
    # Each case has daemons of its own: a process's memory allocator keeps the shape the
    # previous case left (glibc's thresholds rise with the buffers freed), which made one
    # case's figures depend on the cases run before it.
    for case in client_cases:
        eprint(f"running {case}")
        kind, count = calls(case, scale)
        with running([peer[0], "serve", rust_socket, *peer[1:]], rust_socket):
            # Implementations take turns in each repetition, so drift hits both alike.
            for _ in range(scale.repetitions):
                seconds = generated_client_seconds(package, rust_socket, kind, count)
                figures[case][0].append(figure(case, count, seconds))
                seconds = handwritten_client_seconds(package, rust_socket, kind, count)
                figures[case][1].append(figure(case, count, seconds))
    generated_socket = str(work / "generated.sock")
    handwritten_socket = str(work / "handwritten.sock")
    serve = [sys.executable, str(Path(__file__).resolve()), "--serve"]
    generated = [*serve, "generated", generated_socket, str(work / "generated")]
    handwritten = [*serve, "handwritten", handwritten_socket, str(work / "generated")]
    for case in daemon_cases:
        eprint(f"running {case}")
        kind, count = calls(case, scale)
        with running(generated, generated_socket), running(handwritten, handwritten_socket):
            for _ in range(scale.repetitions):
                sockets = (generated_socket, handwritten_socket)
                for figures_of, path in zip(figures[case], sockets):
                    seconds = rust_client_seconds(peer, path, kind, count)
                    figures_of.append(figure(case, count, seconds))
    return [result(case, *figures[case]) for case in selected]


def table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'case':<24} {'unit':<8} {'generated':>10} {'handwr.':>10} {'cost':>6}  goal"]
    for r in results:
        goal = f"{r['goal']} {'yes' if r['met'] else 'NO'}"
        lines.append(
            f"{r['case']:<24} {r['unit']:<8} {r['generated']:>10.{precision(r)}f} "
            f"{r['handwritten']:>10.{precision(r)}f} {r['cost_ratio']:>6.2f}  {goal}"
        )
    return "\n".join(lines)


def precision(result: dict[str, Any]) -> int:
    return 2 if result["unit"] == "us" else 0


def eprint(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        kind, path, package_dir = sys.argv[2:5]
        sys.path.insert(0, package_dir)
        package = importlib.import_module(PACKAGE)
        {"generated": serve_generated, "handwritten": serve_handwritten}[kind](package, path)
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per case and line")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few calls, a debug peer")
    parser.add_argument("cases", nargs="*", help="run the cases whose names contain one of these")
    args = parser.parse_args()
    selected = [c for c in CASES if not args.cases or any(f in c for f in args.cases)]
    if args.quick:
        eprint("note: quick smoke run; its figures mean nothing")
    results = run(selected, QUICK if args.quick else FULL, args.quick)
    if args.json:
        for r in results:
            print(json.dumps(r))
    else:
        print(f"python {sys.version.split()[0]}, msgpack {msgpack.version}")
        print(table(results))


if __name__ == "__main__":
    main()
