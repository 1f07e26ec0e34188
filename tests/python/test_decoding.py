"""`_medium.decoding`, the one place a frame's body becomes a message: its byte scanner (used
for the bodies msgpack refuses) judges well-formedness exactly as msgpack does, and what msgpack
cannot decode though well-formed becomes an `Unreadable` element instead of ending the
connection."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

from student_system import _medium
from student_system._medium import decoding


def random_value(rnd: random.Random, depth: int = 0) -> Any:
    if depth > 4 or rnd.random() < 0.5:
        scalars = [None, True, 0, -1, 2**63, -(2**63), 1.5, "é", "", b"\x00" * 300, "x" * 40]
        return rnd.choice(scalars + [msgpack.ExtType(3, b"ab")])
    if rnd.random() < 0.5:
        return [random_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {rnd.choice("abcd"): random_value(rnd, depth + 1) for _ in range(rnd.randrange(4))}


def mangled(rnd: random.Random, body: bytes) -> bytes:
    """`body` with up to two bytes changed, inserted, or the end cut off."""
    out = bytearray(body)
    for _ in range(rnd.randrange(3)):
        where = rnd.randrange(len(out) + 1)
        choice = rnd.random()
        if choice < 0.4 and where < len(out):
            out[where] = rnd.randrange(256)
        elif choice < 0.7:
            del out[where:]
        else:
            out.insert(where, rnd.randrange(256))
    return bytes(out)


def test_the_scanner_judges_well_formedness_as_msgpack_does() -> None:
    rnd = random.Random(7)
    for _ in range(3000):
        message = [random_value(rnd) for _ in range(rnd.randrange(1, 4))]
        body = mangled(rnd, msgpack.packb(message, use_bin_type=True))
        try:
            msgpack.unpackb(body, raw=False, strict_map_key=False, object_pairs_hook=list)
            by_msgpack = None
        except Exception as err:
            by_msgpack = str(err)
        try:
            decoding._scan(body)
            well_formed = True
        except (ValueError, IndexError):
            well_formed = False
        if by_msgpack is None:
            assert well_formed, body.hex()
        elif well_formed:
            # Well-formed values msgpack does not decode: reserved ext types and timestamps.
            assert "code must be 0~127" in by_msgpack or "timestamp" in by_msgpack, body.hex()


@pytest.mark.parametrize(
    ("element", "code"),
    [
        (b"\xd5\xfe\x00\x00", _medium.BAD_ARGUMENTS),  # ext type -2, reserved
        (b"\xd4\xff\x00", _medium.BAD_ARGUMENTS),  # ext -1 whose data is no timestamp
        (b"\x91" * 1500 + b"\xc0", _medium.MALFORMED),  # deeper than msgpack decodes
    ],
)
def test_a_well_formed_element_msgpack_cannot_decode_is_unreadable(element: bytes, code: int) -> None:
    message = decoding.decode_message(b"\x93\x02\x07" + element, 128)
    assert message[:2] == [2, 7]
    assert isinstance(message[2], decoding.Unreadable) and message[2].code == code


@pytest.mark.parametrize(
    "key",
    [b"\x01", b"\xc4\x01a", b"\xc0", b"\xc3", b"\xcb" + bytes(8), b"\x91\x01", b"\x81\xa1a\x01"],
    ids=["int", "bin", "nil", "bool", "float", "array", "map"],
)
def test_a_map_with_any_key_that_is_not_a_str_is_a_rejected_map(key: bytes) -> None:
    # Beside a `str` key, first or last: one key of another type rejects the map.
    for entries in (key + b"\x01\xa1b\x02", b"\xa1b\x02" + key + b"\x01"):
        (_, value) = decoding.decode_message(b"\x92\x02\x82" + entries, 128)
        assert isinstance(value, decoding.RejectedMap) and "not a str" in value.problem


def test_maps_with_duplicate_or_non_str_keys_are_rejected_maps_and_depth_counts_them() -> None:
    duplicate = b"\x82\xa1a\x01\xa1a\x02"
    (_, value) = decoding.decode_message(b"\x92\x02" + duplicate, 128)
    assert isinstance(value, decoding.RejectedMap) and "`a` twice" in value.problem
    (_, value) = decoding.decode_message(b"\x92\x02\x81\x01\x02", 128)
    assert isinstance(value, decoding.RejectedMap) and "not a str" in value.problem
    # A key nesting 3 arrays, in a map: 4 levels.
    deep_key = b"\x81" + b"\x91\x91\x90" + b"\x01"
    assert isinstance(decoding.decode_message(b"\x92\x02" + deep_key, 4)[1], decoding.RejectedMap)
    assert isinstance(decoding.decode_message(b"\x92\x02" + deep_key, 3)[1], decoding.Unreadable)


@pytest.mark.parametrize("read_ahead", [True, False])
def test_a_large_frame_is_read_in_steps_that_double_at_most_what_arrived(read_ahead: bool) -> None:
    """A 1 MiB frame takes a handful of reads, not one per 64 KiB, yet no read asks for more
    than what already arrived of the frame (beyond 64 KiB): the buffer never grows to an
    announced length in advance. The frame comes out whole."""
    payload = bytes(range(256)) * 4096
    packed = msgpack.packb([2, 1, payload], use_bin_type=True)
    stream = len(packed).to_bytes(4, "big") + packed
    reader = _medium.FrameReader(limit=2 << 20, read_ahead=read_ahead)
    wants: list[int] = []
    received = 0
    while (read := reader.frame()) is None:
        want = reader.want()
        assert want <= max(64 * 1024, received)
        wants.append(want)
        # The socket hands over what it has, at most what was asked for.
        chunk = stream[received : received + min(want, 300_000)]
        reader.feed(chunk, [])
        received += len(chunk)
    assert read[0] == [2, 1, payload]
    assert len(wants) <= 8


def test_a_model_decodes_its_fields_by_name_whatever_order_its_class_declares_them_in() -> None:
    @dataclasses.dataclass
    class Reversed:
        second: str
        first: int

    @dataclasses.dataclass
    class Ordered:
        first: int
        second: str

    # Built by position for `Ordered` (its `__init__` order), by keyword for `Reversed`.
    for cls in (Reversed, Ordered):
        model = _medium.Model(cls)
        model.define(("first", "first", _medium.UINT8), ("second", "second", _medium.STRING))
        assert model.decode({"second": "b", "first": 1}, "pair") == cls(first=1, second="b")


def test_a_run_of_frames_decodes_as_frame_by_frame_and_leaves_the_others_to_frame() -> None:
    # `messages` takes the whole frames at the head that decode into messages and cannot
    # nest too deeply; `frame` takes each of the others (a value nesting deeper than the
    # limit, one msgpack refuses, a frame over the limit, a malformed body), and what a
    # reader gives, taking turns, is what `frame` alone gives, frame by frame.
    def framed(body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + body

    def message(index: int) -> bytes:
        return framed(msgpack.packb([_medium.EVENT, "student_added", [float(index), {"id": "s"}]]))

    others = [
        framed(b"\x93\x05\xadstudent_added" + b"\x91" * 200 + b"\xc0"),  # too deep: Unreadable
        framed(b"\x93\x05\xadstudent_added\xd4\xff\x00"),  # msgpack refuses ext -1 of 1 byte
        framed(msgpack.packb([_medium.EVENT, "student_added", "x" * 2000])),  # over the limit
        framed(b"\x92\x05"),  # ends in the middle of the array: malformed
    ]
    stream = b"".join(message(2 * i) + message(2 * i + 1) + other for i, other in enumerate(others))

    one_by_one = _medium.client_reader(0, limit=1000)
    one_by_one.feed(stream, [])
    expected: list[Any] = []
    with pytest.raises(_medium.ProtocolError) as alone:
        while (read := one_by_one.frame()) is not None:
            expected.append(read[0])

    in_runs = _medium.client_reader(0, limit=1000)
    in_runs.feed(stream, [])
    taken: list[Any] = []
    runs: list[int] = []
    with pytest.raises(_medium.ProtocolError) as raised:
        while True:
            run = in_runs.messages()
            runs.append(len(run))
            taken += run
            read = in_runs.frame()
            assert read is not None
            taken.append(read[0])
    assert taken == expected and len(taken) == 11
    assert runs == [2, 2, 2, 2]  # every other frame went to `frame`
    assert isinstance(taken[2][2], decoding.Unreadable)
    assert taken[8] == [_medium.LAGGED, 1]  # the event over the limit, skipped
    assert (raised.value.code, str(raised.value)) == (alone.value.code, str(alone.value))
