"""The medium wire protocol (PROTOCOL.md, version 1) for Python: framing, values, the
blocking client and the threaded daemon. Generated packages bundle this file unchanged; the
spec-specific module next to it describes models, methods and events with the type
descriptors defined here.

Depends only on `msgpack` and the standard library.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import itertools
import os
import queue
import signal
import socket
import stat
import struct
import threading
from collections import deque
from typing import Any, Callable, ClassVar, Generic, Iterator, TypeVar

import msgpack  # type: ignore[import-untyped]

WIRE_VERSION = 1
MAGIC = "medium"
RUNTIME_VERSION = "0.1.0-python"
MAX_FRAME = 16 * 1024 * 1024
HANDSHAKE_TIMEOUT = 5.0
EVENT_BUFFER = 1024
QUEUE_CAPACITY = 1024

# Application → daemon kinds.
HELLO, CALL, SUBSCRIBE, UNSUBSCRIBE, BUILTIN = 0, 1, 2, 3, 4
# Daemon → application kinds.
WELCOME, REFUSED, VALUE, EXCEPTION, ERROR, EVENT, LAGGED, FATAL = 0, 1, 2, 3, 4, 5, 6, 7

# Error codes (PROTOCOL.md §6).
UNKNOWN_METHOD = 1
BAD_ARGUMENTS = 2
HANDLER_PANICKED = 3
NOT_IMPLEMENTED = 4
INTERNAL = 5
MALFORMED = 6
FRAME_TOO_LARGE = 7
HANDSHAKE_MISMATCH = 8
UNSUPPORTED_VERSION = 9


# ---------------------------------------------------------------------------------------------
# Errors


class MediumError(Exception):
    """Base of every error this package raises that is not a spec exception."""


class DaemonNotRunning(MediumError, ConnectionError):
    """No daemon listens at the socket path."""


class HandshakeMismatch(MediumError, ConnectionError):
    """The daemon serves another protocol (namespace, class or fingerprint differ)."""


class NotMedium(MediumError, ConnectionError):
    """The peer at the socket path does not speak the medium protocol."""


class ConnectionClosed(MediumError, ConnectionError):
    """The connection ended (or was closed) before the call got its reply."""


class ProtocolError(MediumError):
    """The daemon's runtime failed a call (`ERROR`) or closed the connection (`FATAL`)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RemoteException(Exception):
    """Base of the spec's exceptions: raised by a daemon's handler, reported to the caller."""

    # The spec's name of the exception, which the wire carries (set by generated classes).
    wire_name: ClassVar[str] = ""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class Lagged(MediumError):
    """Events were dropped because this application did not read them fast enough."""

    def __init__(self, dropped: int) -> None:
        super().__init__(f"{dropped} events were dropped because they were not read in time")
        self.dropped = dropped


# ---------------------------------------------------------------------------------------------
# Socket path (PROTOCOL.md §9)


def socket_path(namespace: str, spec_socket: str | None) -> str:
    """`<base>/<namespace>/socket`, the base resolved exactly as the Rust runtime does."""
    base = os.environ.get("MEDIUM_SOCKET_DIR") or spec_socket or os.environ.get("XDG_RUNTIME_DIR")
    if not base:
        if os.geteuid() == 0:
            base = "/run"
        else:
            raise MediumError(
                "cannot find a folder for the socket: set MEDIUM_SOCKET_DIR or XDG_RUNTIME_DIR"
            )
    return os.path.join(base, namespace, "socket")


# ---------------------------------------------------------------------------------------------
# Framing (PROTOCOL.md §2)


def encode_frame(message: list[Any]) -> bytes:
    body: bytes = msgpack.packb(message, use_bin_type=True)
    if len(body) > MAX_FRAME:
        raise ValueError(f"message of {len(body)} bytes exceeds the {MAX_FRAME}-byte frame limit")
    return struct.pack(">I", len(body)) + body


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    """`n` bytes, or None on a clean end of stream before the first byte."""
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(min(n - len(chunks), 1 << 20))
        if not chunk:
            if chunks:
                raise ProtocolError(MALFORMED, "connection ended in the middle of a frame")
            return None
        chunks += chunk
    return bytes(chunks)


def read_frame(sock: socket.socket) -> list[Any] | None:
    """The next message, or None at the end of the stream."""
    prefix = _read_exact(sock, 4)
    if prefix is None:
        return None
    (length,) = struct.unpack(">I", prefix)
    if length > MAX_FRAME:
        raise ProtocolError(FRAME_TOO_LARGE, f"frame of {length} bytes exceeds the limit")
    body = _read_exact(sock, length) if length else b""
    if body is None:
        raise ProtocolError(MALFORMED, "connection ended in the middle of a frame")
    try:
        message = msgpack.unpackb(body, raw=False, strict_map_key=False)
    except Exception as err:
        raise ProtocolError(MALFORMED, f"frame is not MessagePack: {err}") from err
    if not isinstance(message, list) or not message or not isinstance(message[0], int):
        raise ProtocolError(MALFORMED, "message is not an array starting with a kind tag")
    return message


# ---------------------------------------------------------------------------------------------
# Values (PROTOCOL.md §3): type descriptors, checked encoding and decoding


class Type:
    """How one spec type is sent and received."""

    def encode(self, value: Any, where: str) -> Any:
        raise NotImplementedError

    def decode(self, raw: Any, where: str) -> Any:
        raise NotImplementedError


class Int(Type):
    def __init__(self, name: str, low: int, high: int) -> None:
        self.name, self.low, self.high = name, low, high

    def encode(self, value: Any, where: str) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{where}: expected an int for {self.name}, got {value!r}")
        if not self.low <= value <= self.high:
            raise ValueError(f"{where}: {value} is out of range for {self.name}")
        return value

    def decode(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, int) or isinstance(raw, bool) or not self.low <= raw <= self.high:
            raise ProtocolError(BAD_ARGUMENTS, f"{where}: {raw!r} is not a {self.name}")
        return raw


class _Exact(Type):
    def __init__(self, name: str, python: type) -> None:
        self.name, self.python = name, python

    def encode(self, value: Any, where: str) -> Any:
        if not isinstance(value, self.python):
            raise TypeError(f"{where}: expected {self.python.__name__} for {self.name}, got {value!r}")
        return value

    def decode(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, self.python):
            raise ProtocolError(BAD_ARGUMENTS, f"{where}: {raw!r} is not a {self.name}")
        return raw


class Float(Type):
    # Python's msgpack sends every float as `float 64`; receivers accept it for `float` too.
    def __init__(self, name: str) -> None:
        self.name = name

    def encode(self, value: Any, where: str) -> Any:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"{where}: expected a float for {self.name}, got {value!r}")
        return float(value)

    def decode(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, (int, float)) or isinstance(raw, bool):
            raise ProtocolError(BAD_ARGUMENTS, f"{where}: {raw!r} is not a {self.name}")
        return float(raw)


class Binary(Type):
    def encode(self, value: Any, where: str) -> Any:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"{where}: expected bytes for binary, got {value!r}")
        return bytes(value)

    def decode(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, bytes):
            raise ProtocolError(BAD_ARGUMENTS, f"{where}: {raw!r} is not binary")
        return raw


class ListOf(Type):
    def __init__(self, item: Type) -> None:
        self.item = item

    def encode(self, value: Any, where: str) -> Any:
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"{where}: expected a list, got {value!r}")
        return [self.item.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]

    def decode(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, list):
            raise ProtocolError(BAD_ARGUMENTS, f"{where}: {raw!r} is not a list")
        return [self.item.decode(v, f"{where}[{i}]") for i, v in enumerate(raw)]


class Model(Type):
    """A dataclass sent as a map from wire field name to value. `fields` is set once every
    model of the spec exists, since models may refer to each other in any order."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.fields: tuple[tuple[str, str, Type], ...] = ()

    def define(self, *fields: tuple[str, str, Type]) -> None:
        self.fields = fields

    def encode(self, value: Any, where: str) -> Any:
        if not isinstance(value, self.cls):
            raise TypeError(f"{where}: expected {self.cls.__name__}, got {value!r}")
        return {
            wire: ty.encode(getattr(value, attr), f"{where}.{attr}")
            for wire, attr, ty in self.fields
        }

    def decode(self, raw: Any, where: str) -> Any:
        if not isinstance(raw, dict):
            raise ProtocolError(BAD_ARGUMENTS, f"{where}: {raw!r} is not a {self.cls.__name__}")
        values = {}
        for wire, attr, ty in self.fields:
            if wire not in raw:
                raise ProtocolError(BAD_ARGUMENTS, f"{where}: field `{wire}` is missing")
            values[attr] = ty.decode(raw[wire], f"{where}.{attr}")
        return self.cls(**values)


class Nothing(Type):
    def encode(self, value: Any, where: str) -> Any:
        return None

    def decode(self, raw: Any, where: str) -> Any:
        return None


BOOLEAN = _Exact("boolean", bool)
INT8 = Int("int8", -(1 << 7), (1 << 7) - 1)
UINT8 = Int("uint8", 0, (1 << 8) - 1)
INT16 = Int("int16", -(1 << 15), (1 << 15) - 1)
UINT16 = Int("uint16", 0, (1 << 16) - 1)
INT32 = Int("int32", -(1 << 31), (1 << 31) - 1)
UINT32 = Int("uint32", 0, (1 << 32) - 1)
INT64 = Int("int64", -(1 << 63), (1 << 63) - 1)
UINT64 = Int("uint64", 0, (1 << 64) - 1)
FLOAT = Float("float")
DOUBLE = Float("double")
STRING = _Exact("string", str)
BINARY = Binary()
NOTHING = Nothing()


@dataclasses.dataclass(frozen=True)
class Signature:
    """A method or event: wire name, parameters `(wire name, type)`, return type."""

    name: str
    attr: str
    params: tuple[tuple[str, Type], ...]
    returns: Type = NOTHING
    record: Callable[..., Any] | None = None

    def encode_args(self, args: tuple[Any, ...]) -> list[Any]:
        return [ty.encode(v, f"{self.name}({name})") for (name, ty), v in zip(self.params, args)]

    def decode_args(self, raw: Any) -> list[Any]:
        if not isinstance(raw, list) or len(raw) != len(self.params):
            raise ProtocolError(
                BAD_ARGUMENTS, f"`{self.name}` takes {len(self.params)} arguments, got {raw!r}"
            )
        return [ty.decode(v, f"{self.name}({name})") for (name, ty), v in zip(self.params, raw)]


@dataclasses.dataclass(frozen=True)
class Protocol:
    """What the generated module knows about its spec."""

    namespace: str
    class_name: str
    fingerprint: str
    socket: str | None
    exceptions: dict[str, type[RemoteException]]
    methods: dict[str, Signature]
    events: dict[str, Signature]


def hello(protocol: Protocol) -> bytes:
    """The `HELLO` frame an application sends first."""
    p = protocol
    return encode_frame([HELLO, MAGIC, WIRE_VERSION, p.namespace, p.class_name, p.fingerprint])


def check_welcome(protocol: Protocol, path: str, message: list[Any] | None) -> None:
    """Raises unless `message`, the daemon's first, accepts the handshake."""
    if message is None:
        raise NotMedium(f"{path} closed the connection during the handshake")
    if message[0] == WELCOME and len(message) >= 4 and message[1] == MAGIC:
        return
    if message[0] == REFUSED and len(message) >= 6 and message[1] == HANDSHAKE_MISMATCH:
        raise HandshakeMismatch(
            f"daemon at {path} speaks {message[3]}.{message[4]} (fingerprint {message[5]}), "
            f"this app was built for {protocol.namespace}.{protocol.class_name} "
            f"(fingerprint {protocol.fingerprint}): rebuild one of them"
        )
    if message[0] == REFUSED and len(message) >= 3:
        raise HandshakeMismatch(f"daemon at {path} refused the handshake: {message[2]}")
    if message[0] == FATAL and len(message) == 3:
        raise ProtocolError(message[1], f"daemon at {path} rejected us: {message[2]}")
    raise NotMedium(f"{path} does not answer as a medium daemon")


def reply_outcome(protocol: Protocol, signature: Signature, message: list[Any]) -> tuple[bool, Any]:
    """`(True, value)` or `(False, exception)` for a `VALUE`, `EXCEPTION` or `ERROR` reply."""
    kind = message[0]
    if kind == VALUE:
        try:
            return True, signature.returns.decode(message[2], signature.name)
        except ProtocolError as err:
            return False, err
    if kind == EXCEPTION:
        cls = protocol.exceptions.get(message[2])
        if cls is None:
            return False, RemoteException(f"unknown exception {message[2]}: {message[3]}")
        return False, cls(message[3])
    return False, ProtocolError(message[2], message[3])


def event_item(protocol: Protocol, message: list[Any]) -> Any:
    """What an `EVENT` message delivers to a subscription: the event's named tuple."""
    event = protocol.events.get(message[1])
    if event is None:
        return None
    args = event.decode_args(message[2])
    return event.record(*args) if event.record is not None else tuple(args)


def not_running(protocol: Protocol, path: str, err: OSError) -> DaemonNotRunning:
    return DaemonNotRunning(
        f"no daemon is running at {path} ({err.strerror}); start the "
        f"{protocol.class_name} daemon, or set MEDIUM_SOCKET_DIR to where it listens"
    )


# ---------------------------------------------------------------------------------------------
# Client

T = TypeVar("T")
C = TypeVar("C", bound="Client")
A = TypeVar("A", bound="AsyncClient")
_END = object()


class Subscription(Generic[T]):
    """Occurrences of one event, as an iterator (blocking) or through a callback.

    Holds at most `EVENT_BUFFER` unread events; beyond that events are dropped and the iterator
    raises `Lagged` once, then goes on. The iterator ends when the connection closes.
    """

    def __init__(self, client: Client, event: str, callback: Callable[[T], None] | None) -> None:
        self._client = client
        self.event = event
        self._callback = callback
        self._items: deque[Any] = deque()
        self._ready = threading.Condition()
        self._dropped = 0

    def _push(self, item: Any) -> None:
        if self._callback is not None and item is not _END and not isinstance(item, Lagged):
            self._callback(item)
            return
        with self._ready:
            if item is not _END and len(self._items) >= EVENT_BUFFER:
                self._dropped += 1
                return
            if self._dropped:
                self._items.append(Lagged(self._dropped))
                self._dropped = 0
            self._items.append(item)
            self._ready.notify_all()

    def get(self, timeout: float | None = None) -> T:
        """The next occurrence; `TimeoutError` after `timeout` seconds, `ConnectionClosed` when
        the connection ended."""
        with self._ready:
            if not self._ready.wait_for(lambda: bool(self._items), timeout):
                raise TimeoutError(f"no `{self.event}` event within {timeout} s")
            item = self._items[0]
            if item is _END:
                raise ConnectionClosed(f"connection to {self._client.path} closed")
            self._items.popleft()
        if isinstance(item, Lagged):
            raise item
        return item  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[T]:
        while True:
            try:
                yield self.get()
            except ConnectionClosed:
                return

    def close(self) -> None:
        """Stops receiving this event (the daemon is told when no subscription is left)."""
        self._client._unsubscribe(self)
        self._push(_END)

    def __enter__(self) -> Subscription[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Client:
    """A connection to a daemon: thread-safe blocking calls, events delivered by a reader
    thread. Generated `…Connection` classes add one method per spec method and event."""

    def __init__(
        self,
        protocol: Protocol,
        path: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self._protocol = protocol
        self.path = path if path is not None else socket_path(protocol.namespace, protocol.socket)
        self.timeout = timeout
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.connect(self.path)
        except (FileNotFoundError, ConnectionRefusedError) as err:
            self._sock.close()
            raise not_running(protocol, self.path, err) from err
        except OSError:
            self._sock.close()
            raise
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[concurrent.futures.Future[Any], Signature]] = {}
        self._subscriptions: dict[str, list[Subscription[Any]]] = {}
        self._closed: BaseException | None = None
        try:
            self._handshake()
        except BaseException:
            self._sock.close()
            raise
        self._reader = threading.Thread(
            target=self._read_loop, name=f"medium reader {self.path}", daemon=True
        )
        self._reader.start()

    def _handshake(self) -> None:
        self._sock.sendall(hello(self._protocol))
        self._sock.settimeout(HANDSHAKE_TIMEOUT)
        try:
            message = read_frame(self._sock)
        except (TimeoutError, ProtocolError) as err:
            raise NotMedium(f"{self.path} does not answer as a medium daemon: {err}") from err
        finally:
            self._sock.settimeout(None)
        check_welcome(self._protocol, self.path, message)

    def _read_loop(self) -> None:
        reason: BaseException = ConnectionClosed(f"daemon at {self.path} closed the connection")
        try:
            while True:
                message = read_frame(self._sock)
                if message is None:
                    break
                if message[0] == FATAL:
                    reason = ProtocolError(message[1], f"daemon closed the connection: {message[2]}")
                    break
                self._dispatch(message)
        except (OSError, ProtocolError) as err:
            if self._closed is None:
                reason = ConnectionClosed(f"connection to {self.path} failed: {err}")
        self._shut(reason)

    def _dispatch(self, message: list[Any]) -> None:
        kind = message[0]
        if kind in (VALUE, EXCEPTION, ERROR):
            with self._lock:
                entry = self._pending.pop(message[1], None)
            if entry is None:
                return  # a reply to a call that timed out
            future, signature = entry
            ok, outcome = reply_outcome(self._protocol, signature, message)
            if ok:
                future.set_result(outcome)
            else:
                future.set_exception(outcome)
        elif kind == EVENT:
            with self._lock:
                subscribers = list(self._subscriptions.get(message[1], ()))
            item = event_item(self._protocol, message) if subscribers else None
            if item is None:
                return  # nobody listens (any more), or an event this spec does not have
            for subscription in subscribers:
                subscription._push(item)
        elif kind == LAGGED:
            with self._lock:
                every = [s for subs in self._subscriptions.values() for s in subs]
            for subscription in every:
                subscription._push(Lagged(message[1]))

    def _shut(self, reason: BaseException) -> None:
        with self._lock:
            if self._closed is None:
                self._closed = reason
            pending = list(self._pending.values())
            self._pending.clear()
            every = [s for subs in self._subscriptions.values() for s in subs]
        for future, _ in pending:
            future.set_exception(reason)
        for subscription in every:
            subscription._push(_END)

    def _send(self, message: list[Any]) -> None:
        frame = encode_frame(message)
        with self._send_lock:
            if self._closed is not None:
                raise self._closed
            self._sock.sendall(frame)

    def call(self, method: str, args: tuple[Any, ...], timeout: float | None = None) -> Any:
        """Calls `method` and waits for its reply (the generated methods call this)."""
        signature = self._protocol.methods[method]
        encoded = signature.encode_args(args)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._closed is not None:
                raise self._closed
            call_id = next(self._ids)
            self._pending[call_id] = (future, signature)
        try:
            self._send([CALL, call_id, method, encoded])
        except BaseException:
            with self._lock:
                self._pending.pop(call_id, None)
            raise
        try:
            return future.result(timeout if timeout is not None else self.timeout)
        except concurrent.futures.TimeoutError:
            with self._lock:
                self._pending.pop(call_id, None)
            raise TimeoutError(f"`{method}` got no reply from {self.path} in time") from None

    def subscribe(self, event: str, callback: Callable[[Any], None] | None = None) -> Subscription[Any]:
        """Starts receiving `event` (the generated event methods call this)."""
        subscription: Subscription[Any] = Subscription(self, event, callback)
        with self._lock:
            subscribers = self._subscriptions.setdefault(event, [])
            first = not subscribers
            subscribers.append(subscription)
        if first:
            self._send([SUBSCRIBE, event])
        return subscription

    def _unsubscribe(self, subscription: Subscription[Any]) -> None:
        with self._lock:
            subscribers = self._subscriptions.get(subscription.event, [])
            if subscription in subscribers:
                subscribers.remove(subscription)
            last = not subscribers
        if last and self._closed is None:
            try:
                self._send([UNSUBSCRIBE, subscription.event])
            except (OSError, MediumError):
                pass  # the connection is gone: nothing is subscribed any more

    def close(self) -> None:
        """Closes the connection: pending calls fail, event iterators end."""
        self._shut(ConnectionClosed(f"connection to {self.path} was closed"))
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def __enter__(self: C) -> C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# asyncio client


async def read_frame_async(reader: asyncio.StreamReader) -> list[Any] | None:
    """The next message, or None at the end of the stream."""
    try:
        prefix = await reader.readexactly(4)
    except asyncio.IncompleteReadError as err:
        if err.partial:
            raise ProtocolError(MALFORMED, "connection ended in the middle of a frame") from err
        return None
    (length,) = struct.unpack(">I", prefix)
    if length > MAX_FRAME:
        raise ProtocolError(FRAME_TOO_LARGE, f"frame of {length} bytes exceeds the limit")
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError as err:
        raise ProtocolError(MALFORMED, "connection ended in the middle of a frame") from err
    try:
        message = msgpack.unpackb(body, raw=False, strict_map_key=False)
    except Exception as err:
        raise ProtocolError(MALFORMED, f"frame is not MessagePack: {err}") from err
    if not isinstance(message, list) or not message or not isinstance(message[0], int):
        raise ProtocolError(MALFORMED, "message is not an array starting with a kind tag")
    return message


class AsyncSubscription(Generic[T]):
    """Occurrences of one event as an async iterator (`async for … in`); ends when the
    connection closes. Buffers at most `EVENT_BUFFER` unread events, then drops and raises
    `Lagged` once."""

    def __init__(self, client: AsyncClient, event: str) -> None:
        self._client = client
        self.event = event
        self._items: deque[Any] = deque()
        self._ready = asyncio.Event()
        self._dropped = 0

    def _push(self, item: Any) -> None:
        if item is not _END and len(self._items) >= EVENT_BUFFER:
            self._dropped += 1
            return
        if self._dropped:
            self._items.append(Lagged(self._dropped))
            self._dropped = 0
        self._items.append(item)
        self._ready.set()

    async def get(self) -> T:
        """The next occurrence; `ConnectionClosed` when the connection ended."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        item = self._items[0]
        if item is _END:
            raise ConnectionClosed(f"connection to {self._client.path} closed")
        self._items.popleft()
        if isinstance(item, Lagged):
            raise item
        return item  # type: ignore[no-any-return]

    def __aiter__(self) -> AsyncSubscription[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.get()
        except ConnectionClosed:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Stops receiving this event."""
        self._client._unsubscribe(self)
        self._push(_END)


class AsyncClient:
    """A connection to a daemon for asyncio programs; open it with the generated class's
    `connect()`. Many calls may be in flight at once; use it from one event loop."""

    def __init__(
        self,
        protocol: Protocol,
        path: str,
        timeout: float | None,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self._protocol = protocol
        self.path = path
        self.timeout = timeout
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[Any], Signature]] = {}
        self._subscriptions: dict[str, list[AsyncSubscription[Any]]] = {}
        self._closed: BaseException | None = None
        self._task = asyncio.get_running_loop().create_task(self._read_loop())

    @staticmethod
    async def _open(
        protocol: Protocol, path: str | None, timeout: float | None
    ) -> tuple[str, asyncio.StreamReader, asyncio.StreamWriter]:
        """Connects and completes the handshake."""
        path = path if path is not None else socket_path(protocol.namespace, protocol.socket)
        try:
            reader, writer = await asyncio.open_unix_connection(path)
        except (FileNotFoundError, ConnectionRefusedError) as err:
            raise not_running(protocol, path, err) from err
        try:
            writer.write(hello(protocol))
            await writer.drain()
            try:
                message = await asyncio.wait_for(read_frame_async(reader), HANDSHAKE_TIMEOUT)
            except (asyncio.TimeoutError, ProtocolError) as err:
                raise NotMedium(f"{path} does not answer as a medium daemon: {err}") from err
            check_welcome(protocol, path, message)
        except BaseException:
            writer.close()
            raise
        return path, reader, writer

    async def _read_loop(self) -> None:
        reason: BaseException = ConnectionClosed(f"daemon at {self.path} closed the connection")
        try:
            while True:
                message = await read_frame_async(self._reader)
                if message is None:
                    break
                if message[0] == FATAL:
                    reason = ProtocolError(message[1], f"daemon closed the connection: {message[2]}")
                    break
                self._dispatch(message)
        except (OSError, ProtocolError) as err:
            reason = ConnectionClosed(f"connection to {self.path} failed: {err}")
        self._shut(reason)

    def _dispatch(self, message: list[Any]) -> None:
        kind = message[0]
        if kind in (VALUE, EXCEPTION, ERROR):
            entry = self._pending.pop(message[1], None)
            if entry is None or entry[0].done():
                return  # a reply to a call that timed out or was cancelled
            future, signature = entry
            ok, outcome = reply_outcome(self._protocol, signature, message)
            if ok:
                future.set_result(outcome)
            else:
                future.set_exception(outcome)
        elif kind == EVENT:
            subscribers = list(self._subscriptions.get(message[1], ()))
            item = event_item(self._protocol, message) if subscribers else None
            if item is None:
                return
            for subscription in subscribers:
                subscription._push(item)
        elif kind == LAGGED:
            for subscribers in self._subscriptions.values():
                for subscription in subscribers:
                    subscription._push(Lagged(message[1]))

    def _shut(self, reason: BaseException) -> None:
        if self._closed is None:
            self._closed = reason
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(reason)
        self._pending.clear()
        for subscribers in self._subscriptions.values():
            for subscription in subscribers:
                subscription._push(_END)

    async def call(self, method: str, args: tuple[Any, ...], timeout: float | None = None) -> Any:
        """Calls `method` and waits for its reply (the generated methods call this)."""
        if self._closed is not None:
            raise self._closed
        signature = self._protocol.methods[method]
        encoded = signature.encode_args(args)
        call_id = next(self._ids)
        frame = encode_frame([CALL, call_id, method, encoded])
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = (future, signature)
        try:
            self._writer.write(frame)
            await self._writer.drain()
            return await asyncio.wait_for(future, timeout if timeout is not None else self.timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"`{method}` got no reply from {self.path} in time") from None
        finally:
            self._pending.pop(call_id, None)

    def subscribe(self, event: str) -> AsyncSubscription[Any]:
        """Starts receiving `event` (the generated event methods call this)."""
        if self._closed is not None:
            raise self._closed
        subscription: AsyncSubscription[Any] = AsyncSubscription(self, event)
        subscribers = self._subscriptions.setdefault(event, [])
        if not subscribers:
            self._writer.write(encode_frame([SUBSCRIBE, event]))
        subscribers.append(subscription)
        return subscription

    def _unsubscribe(self, subscription: AsyncSubscription[Any]) -> None:
        subscribers = self._subscriptions.get(subscription.event, [])
        if subscription in subscribers:
            subscribers.remove(subscription)
        if not subscribers and self._closed is None:
            self._writer.write(encode_frame([UNSUBSCRIBE, subscription.event]))

    async def close(self) -> None:
        """Closes the connection: pending calls fail, event iterators end."""
        self._shut(ConnectionClosed(f"connection to {self.path} was closed"))
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except OSError:
            pass
        self._task.cancel()

    async def __aenter__(self: A) -> A:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# ---------------------------------------------------------------------------------------------
# Daemon


@dataclasses.dataclass(frozen=True)
class Application:
    """A connected application, with the credentials the kernel reported for it."""

    id: int
    pid: int
    uid: int
    gid: int


class _Connection:
    """One application's connection in the daemon: an ordered outgoing queue drained by one
    writer thread; events are dropped (and counted) when it is full, replies never."""

    def __init__(self, sock: socket.socket, application: Application) -> None:
        self.sock = sock
        self.application = application
        self.subscriptions: set[str] = set()
        self._queue: deque[bytes | None] = deque()
        self._ready = threading.Condition()
        self._dropped = 0

    def send(self, frame: bytes, droppable: bool = False) -> None:
        with self._ready:
            if droppable and len(self._queue) >= QUEUE_CAPACITY:
                self._dropped += 1
                return
            if droppable and self._dropped:
                self._queue.append(encode_frame([LAGGED, self._dropped]))
                self._dropped = 0
            self._queue.append(frame)
            self._ready.notify()

    def finish(self) -> None:
        with self._ready:
            self._queue.append(None)
            self._ready.notify()

    def write_loop(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: bool(self._queue))
                frame = self._queue.popleft()
            if frame is None:
                break
            try:
                self.sock.sendall(frame)
            except OSError:
                break
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Server:
    """Serves a protocol on its socket: one reader and one writer thread per application,
    calls run concurrently on a thread pool. Generated `…ServerBase` classes derive from it."""

    _protocol: Protocol

    def __init__(self, path: str | None = None, max_workers: int = 32) -> None:
        p = self._protocol
        self.socket_path = path if path is not None else socket_path(p.namespace, p.socket)
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._connections: dict[int, _Connection] = {}
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._listener: socket.socket | None = None

    @property
    def applications(self) -> list[Application]:
        """The applications connected now."""
        with self._lock:
            return [c.application for c in self._connections.values()]

    def run(self) -> None:
        """Background work, started in its own thread once the socket listens. Override it; an
        exception stops the daemon."""

    def stop(self) -> None:
        """Stops serving: `serve()` removes the socket and returns."""
        self._stop.set()
        listener = self._listener
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _bind(self) -> socket.socket:
        folder = os.path.dirname(self.socket_path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        try:
            mode = os.lstat(self.socket_path).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None:
            if not stat.S_ISSOCK(mode):
                raise MediumError(f"{self.socket_path} exists and is not a socket; not touching it")
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(self.socket_path)
            except ConnectionRefusedError:
                os.unlink(self.socket_path)  # stale socket of a crashed daemon
            else:
                raise MediumError(f"a daemon is already running at {self.socket_path}")
            finally:
                probe.close()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            listener.bind(self.socket_path)
        finally:
            os.umask(old_umask)
        os.chmod(self.socket_path, 0o600)
        listener.listen(128)
        return listener

    def serve(self) -> None:
        """Binds the socket and serves until SIGINT/SIGTERM (when called from the main thread),
        `stop()`, or a failing `run()`; then removes the socket and returns."""
        listener = self._bind()
        self._listener = listener
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: self.stop())
        failure: list[BaseException] = []

        def background() -> None:
            try:
                self.run()
            except BaseException as err:
                failure.append(err)
                self.stop()

        pool = concurrent.futures.ThreadPoolExecutor(self._max_workers)
        threading.Thread(target=background, name="medium run()", daemon=True).start()
        try:
            while not self._stop.is_set():
                try:
                    sock, _ = listener.accept()
                except OSError:
                    break
                threading.Thread(
                    target=self._serve_connection, args=(sock, pool), daemon=True
                ).start()
        finally:
            try:
                os.unlink(self.socket_path)
            except FileNotFoundError:
                pass
            listener.close()
            with self._lock:
                connections = list(self._connections.values())
            pool.shutdown(wait=True)
            for connection in connections:
                connection.finish()
        if failure:
            raise failure[0]

    def _serve_connection(self, sock: socket.socket, pool: concurrent.futures.Executor) -> None:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, gid = struct.unpack("3i", creds)
        connection = _Connection(sock, Application(next(self._ids), pid, uid, gid))
        writer = threading.Thread(target=connection.write_loop, daemon=True)
        writer.start()
        try:
            if not self._handshake(connection):
                return
            with self._lock:
                self._connections[connection.application.id] = connection
            while not self._stop.is_set():
                message = read_frame(sock)
                if message is None:
                    break
                kind = message[0]
                if kind in (CALL, BUILTIN) and len(message) == 4:
                    pool.submit(self._call, connection, message)
                elif kind in (SUBSCRIBE, UNSUBSCRIBE) and len(message) == 2:
                    with self._lock:
                        if kind == SUBSCRIBE:
                            connection.subscriptions.add(message[1])
                        else:
                            connection.subscriptions.discard(message[1])
                else:
                    raise ProtocolError(MALFORMED, f"unexpected message kind {kind}")
        except ProtocolError as err:
            connection.send(encode_frame([FATAL, err.code, str(err)]))
        except (OSError, RuntimeError):
            pass  # the application went away, or the pool is shutting down
        finally:
            with self._lock:
                self._connections.pop(connection.application.id, None)
            connection.finish()
            writer.join()
            sock.close()

    def _handshake(self, connection: _Connection) -> bool:
        p = self._protocol
        connection.sock.settimeout(HANDSHAKE_TIMEOUT)
        try:
            hello = read_frame(connection.sock)
        except (OSError, ProtocolError):
            return False
        connection.sock.settimeout(None)
        if hello is None:
            return False
        if hello[0] != HELLO or len(hello) < 6 or hello[1] != MAGIC:
            connection.send(encode_frame([FATAL, MALFORMED, "the first message must be HELLO"]))
            return False
        if hello[2] != WIRE_VERSION:
            message = f"this daemon speaks wire version {WIRE_VERSION}, not {hello[2]}"
            code = UNSUPPORTED_VERSION
        elif (hello[3], hello[4], hello[5]) != (p.namespace, p.class_name, p.fingerprint):
            message = (
                f"daemon speaks {p.namespace}.{p.class_name} (fingerprint {p.fingerprint}), "
                f"app was built for {hello[3]}.{hello[4]} (fingerprint {hello[5]})"
            )
            code = HANDSHAKE_MISMATCH
        else:
            connection.send(encode_frame([WELCOME, MAGIC, WIRE_VERSION, RUNTIME_VERSION]))
            return True
        connection.send(
            encode_frame([REFUSED, code, message, p.namespace, p.class_name, p.fingerprint])
        )
        return False

    def _call(self, connection: _Connection, message: list[Any]) -> None:
        _, call_id, name, raw_args = message
        signature = self._protocol.methods.get(name) if message[0] == CALL else None
        try:
            if signature is None:
                what = "method" if message[0] == CALL else "built-in request"
                raise ProtocolError(UNKNOWN_METHOD, f"unknown {what} `{name}`")
            args = signature.decode_args(raw_args)
            handler = getattr(self, signature.attr)
            value = handler(connection.application, *args)
            reply = [VALUE, call_id, signature.returns.encode(value, f"{name} result")]
        except RemoteException as err:
            reply = [EXCEPTION, call_id, err.wire_name or type(err).__name__, err.message]
        except ProtocolError as err:
            reply = [ERROR, call_id, err.code, err.message]
        except NotImplementedError:
            reply = [ERROR, call_id, NOT_IMPLEMENTED, f"daemon does not implement `{name}` yet"]
        except Exception as err:
            reply = [ERROR, call_id, INTERNAL, f"{type(err).__name__}: {err}"]
        try:
            frame = encode_frame(reply)
        except ValueError as err:
            frame = encode_frame([ERROR, call_id, FRAME_TOO_LARGE, str(err)])
        connection.send(frame)

    def emit(self, event: str, args: tuple[Any, ...], application: Application | None) -> None:
        """Sends `event` to every subscribed application, or to `application` only (the
        generated event methods call this)."""
        frame = encode_frame([EVENT, event, self._protocol.events[event].encode_args(args)])
        with self._lock:
            if application is not None:
                targets = [self._connections[application.id]] if application.id in self._connections else []
            else:
                targets = list(self._connections.values())
            targets = [c for c in targets if event in c.subscriptions]
        for connection in targets:
            connection.send(frame, droppable=True)

