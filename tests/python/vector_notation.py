"""The notations of the conformance vectors (`tests/vectors/README.md`): bytes written as hex
with `'text'`, `{fingerprint}` and `hh*N` repeats, MessagePack decoded without losing its types
(str vs bin, float 32 vs float 64, maps as ordered pairs), and the typed-JSON patterns a
decoded value is matched against, `{"fd": k}` included (through `Descriptors`, which knows how
to compare the descriptors that came with a frame). Pure: no sockets, no generated package."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any, Callable

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors"


def load(name: str) -> Any:
    """A JSON file of `tests/vectors/` (`"values.json"`, `"sessions/calls.json"`)."""
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def session_files() -> list[str]:
    """The session files, sorted: `sessions/<name>.json`."""
    return sorted(f"sessions/{path.name}" for path in (VECTORS / "sessions").glob("*.json"))


class NotationError(ValueError):
    """A vector that does not follow the notation of `tests/vectors/README.md`."""


def parse_bytes(notation: str, fingerprint: str = "") -> bytes:
    """The bytes a bytes notation stands for: hex digit pairs (whitespace between pairs is
    ignored), `hh*N` for the byte `hh` N times (N decimal), `'text'` for the UTF-8 bytes of
    text, `{fingerprint}` for the 64 ASCII hex characters of the conformance spec's
    fingerprint."""
    out = bytearray()
    i = 0
    while i < len(notation):
        c = notation[i]
        if c.isspace():
            i += 1
        elif c == "'":
            end = notation.index("'", i + 1)
            out += notation[i + 1 : end].encode("utf-8")
            i = end + 1
        elif c == "{":
            end = notation.index("}", i)
            name = notation[i + 1 : end]
            if name != "fingerprint" or not fingerprint:
                raise NotationError(f"unknown placeholder {{{name}}} in {notation!r}")
            out += fingerprint.encode("ascii")
            i = end + 1
        else:
            pair = notation[i : i + 2]
            if len(pair) != 2 or any(ch not in "0123456789abcdef" for ch in pair):
                raise NotationError(f"bad hex {pair!r} at {i} in {notation!r}")
            i += 2
            count = 1
            if notation[i : i + 1] == "*":
                digits = i + 1
                while notation[digits : digits + 1].isdigit():
                    digits += 1
                if digits == i + 1:
                    raise NotationError(f"a repeat without a count at {i} in {notation!r}")
                count, i = int(notation[i + 1 : digits]), digits
            out += bytes([int(pair, 16)]) * count
    return bytes(out)


class Malformed(ValueError):
    """Bytes that are not exactly one well-formed MessagePack value."""


# A decoded MessagePack value keeping its wire type: (kind, payload), kind one of nil, bool,
# int, f32, f64, str, bin, array, map (payload: list of (key, value) pairs), ext ((type, data)).
Node = tuple[str, Any]


def decode_exactly_one(data: bytes) -> Node:
    """The one MessagePack value `data` holds; `Malformed` for anything else (truncated,
    reserved `c1`, invalid UTF-8 in a `str`, bytes after the value)."""
    node, end = _decode(data, 0)
    if end != len(data):
        raise Malformed(f"{len(data) - end} bytes after the value")
    return node


def _take(data: bytes, at: int, n: int) -> bytes:
    if at + n > len(data):
        raise Malformed(f"truncated: {n} bytes wanted at offset {at}, {len(data) - at} left")
    return data[at : at + n]


def _decode(data: bytes, at: int) -> tuple[Node, int]:
    marker = _take(data, at, 1)[0]
    at += 1
    if marker <= 0x7F:
        return ("int", marker), at
    if marker >= 0xE0:
        return ("int", marker - 0x100), at
    if 0x80 <= marker <= 0x8F:
        return _pairs(data, at, marker & 0x0F)
    if 0x90 <= marker <= 0x9F:
        return _items(data, at, marker & 0x0F)
    if 0xA0 <= marker <= 0xBF:
        return _str(data, at, marker & 0x1F)
    simple = {0xC0: ("nil", None), 0xC2: ("bool", False), 0xC3: ("bool", True)}
    if marker in simple:
        return simple[marker], at
    sized = {
        0xC4: 1,
        0xC5: 2,
        0xC6: 4,
        0xD9: 1,
        0xDA: 2,
        0xDB: 4,
        0xDC: 2,
        0xDD: 4,
        0xDE: 2,
        0xDF: 4,
    }
    if marker in sized:
        width = sized[marker]
        length = int.from_bytes(_take(data, at, width), "big")
        at += width
        if marker in (0xC4, 0xC5, 0xC6):
            return ("bin", _take(data, at, length)), at + length
        if marker in (0xD9, 0xDA, 0xDB):
            return _str(data, at, length)
        if marker in (0xDC, 0xDD):
            return _items(data, at, length)
        return _pairs(data, at, length)
    ints = {
        0xCC: ">B",
        0xCD: ">H",
        0xCE: ">I",
        0xCF: ">Q",
        0xD0: ">b",
        0xD1: ">h",
        0xD2: ">i",
        0xD3: ">q",
    }
    if marker in ints:
        fmt = ints[marker]
        size = struct.calcsize(fmt)
        return ("int", struct.unpack(fmt, _take(data, at, size))[0]), at + size
    if marker == 0xCA:
        return ("f32", struct.unpack(">f", _take(data, at, 4))[0]), at + 4
    if marker == 0xCB:
        return ("f64", struct.unpack(">d", _take(data, at, 8))[0]), at + 8
    fixext = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}
    if marker in fixext:
        ext_type = struct.unpack(">b", _take(data, at, 1))[0]
        return ("ext", (ext_type, _take(data, at + 1, fixext[marker]))), at + 1 + fixext[marker]
    if marker in (0xC7, 0xC8, 0xC9):
        width = {0xC7: 1, 0xC8: 2, 0xC9: 4}[marker]
        length = int.from_bytes(_take(data, at, width), "big")
        ext_type = struct.unpack(">b", _take(data, at + width, 1))[0]
        start = at + width + 1
        return ("ext", (ext_type, _take(data, start, length))), start + length
    raise Malformed(f"reserved marker {marker:#04x} at offset {at - 1}")


def _str(data: bytes, at: int, length: int) -> tuple[Node, int]:
    raw = _take(data, at, length)
    try:
        return ("str", raw.decode("utf-8")), at + length
    except UnicodeDecodeError as err:
        raise Malformed(f"str at offset {at} is not UTF-8: {err}") from err


def _items(data: bytes, at: int, count: int) -> tuple[Node, int]:
    items = []
    for _ in range(count):
        item, at = _decode(data, at)
        items.append(item)
    return ("array", items), at


def _pairs(data: bytes, at: int, count: int) -> tuple[Node, int]:
    pairs = []
    for _ in range(count):
        key, at = _decode(data, at)
        value, at = _decode(data, at)
        pairs.append((key, value))
    return ("map", pairs), at


def show(node: Node) -> str:
    """A node in the typed-JSON notation, for failure messages."""
    kind, payload = node
    if kind in ("nil", "bool", "int", "str"):
        return json.dumps(payload, ensure_ascii=False)
    if kind in ("f32", "f64"):
        return f'{{"{kind}": {payload!r}}}'
    if kind == "bin":
        return f'{{"bin": "{payload.hex()}"}}'
    if kind == "array":
        return "[" + ", ".join(show(item) for item in payload) + "]"
    if kind == "map":
        return '{"map": [' + ", ".join(f"[{show(k)}, {show(v)}]" for k, v in payload) + "]}"
    return f'{{"ext": [{payload[0]}, "{payload[1].hex()}"]}}'


class Descriptors:
    """The descriptors that came with one frame, for its `{"fd": k}` patterns: `same(i, k)`
    says whether the frame's descriptor `i` is the session's pipe `k`. Each pattern names one
    descriptor, and each descriptor must be named exactly once (`unnamed`)."""

    def __init__(self, count: int = 0, same: Callable[[int, int], bool] | None = None) -> None:
        self.count = count
        self.same = same or (lambda index, pipe: False)
        self.named: set[int] = set()

    def name(self, index: int, pipe: int, path: str) -> str | None:
        """Why the frame's descriptor `index` is not pipe `pipe` here; None if it is."""
        if index >= self.count:
            return f"{path}: descriptor index {index}, but the frame came with {self.count}"
        if index in self.named:
            return f"{path}: descriptor {index} is named twice"
        if not self.same(index, pipe):
            return f"{path}: descriptor {index} is not pipe {pipe}"
        self.named.add(index)
        return None

    def unnamed(self) -> str | None:
        """Why the frame's set is not exactly what its patterns named; None if it is."""
        left = sorted(set(range(self.count)) - self.named)
        if left:
            return f"the frame came with {self.count} descriptors; no value names {left}"
        return None


def mismatch(
    pattern: Any,
    node: Node,
    fingerprint: str = "",
    path: str = "$",
    fds: Descriptors | None = None,
) -> str | None:
    """Why `node` does not match the typed-JSON `pattern`, naming the place; None if it does.
    `{"fd": k}` patterns name descriptors of `fds` (none if not given)."""
    fds = fds if fds is not None else Descriptors()
    kind, payload = node
    found = f"{path}: expected {json.dumps(pattern, ensure_ascii=False)}, got {show(node)}"
    if pattern is None:
        return None if kind == "nil" else found
    if isinstance(pattern, bool):
        return None if kind == "bool" and payload is pattern else found
    if isinstance(pattern, int):
        return None if kind == "int" and payload == pattern else found
    if isinstance(pattern, float):
        raise NotationError(f'{path}: a bare JSON float; write {{"f64": {pattern}}}')
    if isinstance(pattern, str):
        return None if kind == "str" and payload == pattern else found
    if isinstance(pattern, list):
        if kind != "array" or len(payload) != len(pattern):
            return found
        for i, (item_pattern, item) in enumerate(zip(pattern, payload)):
            why = mismatch(item_pattern, item, fingerprint, f"{path}[{i}]", fds)
            if why:
                return why
        return None
    if not isinstance(pattern, dict) or len(pattern) != 1:
        raise NotationError(f"{path}: not a pattern: {pattern!r}")
    ((tag, arg),) = pattern.items()
    if tag in ("f32", "f64", "float"):
        if kind not in ("f32", "f64") or (tag != "float" and kind != tag):
            return found
        return None if same_float(payload, arg) else found
    if tag == "bin":
        return None if kind == "bin" and payload == bytes.fromhex(arg) else found
    if tag == "ext":
        return None if kind == "ext" and payload == (arg[0], bytes.fromhex(arg[1])) else found
    if tag == "any":
        return None if arg == "value" or arg == kind else found
    if tag == "placeholder":
        if arg != "fingerprint" or not fingerprint:
            raise NotationError(f"{path}: unknown placeholder {arg!r}")
        return None if kind == "str" and payload == fingerprint else found
    if tag == "fd":
        if kind != "int" or payload < 0:
            return found
        return fds.name(payload, arg, path)
    if tag == "map":
        return _map_mismatch(arg, node, fingerprint, path, found, fds)
    raise NotationError(f"{path}: unknown tag {tag!r}")


def _map_mismatch(
    entries: Any, node: Node, fingerprint: str, path: str, found: str, fds: Descriptors
) -> str | None:
    """Maps match whatever their order: each expected entry by exactly one entry of the map."""
    kind, pairs = node
    expected = list(entries.items()) if isinstance(entries, dict) else [tuple(e) for e in entries]
    if kind != "map" or len(pairs) != len(expected):
        return found
    unmatched = list(pairs)
    for key_pattern, value_pattern in expected:
        at = next(
            (i for i, (k, _) in enumerate(unmatched) if not mismatch(key_pattern, k, fingerprint)),
            None,
        )
        if at is None:
            return f"{path}: no key {json.dumps(key_pattern, ensure_ascii=False)} in {show(node)}"
        key, value = unmatched.pop(at)
        why = mismatch(value_pattern, value, fingerprint, f"{path}.{show(key)}", fds)
        if why:
            return why
    return None


def same_float(actual: float, expected: str) -> bool:
    """Whether `actual` is the float written as decimal text (`"0.1"`, `"-0.0"`, `"inf"`)."""
    if not isinstance(expected, str):
        raise NotationError(f"a float pattern holds decimal text, not {expected!r}")
    wanted = float(expected)
    return actual == wanted and math.copysign(1, actual) == math.copysign(1, wanted)


def show_pattern(pattern: Any) -> str:
    """A typed-JSON pattern as written in the vectors, for failure messages."""
    return json.dumps(pattern, ensure_ascii=False)
