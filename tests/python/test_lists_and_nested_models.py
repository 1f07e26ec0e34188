"""Lists, nested lists, binary in lists and recursive models cross the wire intact, both
ways, through a Python daemon that echoes them back (lists.lmspc, nested_models.lmspc)."""

from __future__ import annotations

from typing import Any

import pytest

import catalog
import lists


class ListsDaemon(lists.ListsServerBase):
    def tags(self, application: lists.Application) -> list[str]:
        return ["a", "é", ""]

    def nested(self, application: lists.Application, rows: list[list[str]]) -> list[list[str]]:
        if not rows:
            raise lists.EmptyInput("no rows")
        return [list(reversed(row)) for row in rows]

    def models(self, application: lists.Application, items: list[lists.Tagged]) -> list[lists.Tagged]:
        self.batch(items, [item.name.encode() for item in items])
        return items

    def blobs(self, application: lists.Application, items: list[bytes]) -> list[bytes]:
        return items

    def blob(self, application: lists.Application, data: bytes) -> bytes:
        return data[::-1]

    def grid(
        self, application: lists.Application, cells: list[list[list[float]]]
    ) -> list[list[list[float]]]:
        return cells


TAGGED = lists.Tagged(
    name="t",
    tags=["x", "y"],
    matrix=[[1, -2], [], [2**31 - 1]],
    blobs=[b"", b"\x00\xff"],
    grid=[[b"a"], [], [b"b", b"c"]],
)


def test_lists_and_nested_lists_round_trip(serve: Any) -> None:
    serve(ListsDaemon())
    with lists.ListsConnection() as connection:
        assert connection.tags() == ["a", "é", ""]
        assert connection.nested([["a", "b"], [], ["c"]]) == [["b", "a"], [], ["c"]]
        assert connection.blobs([b"", b"\x00" * 70000]) == [b"", b"\x00" * 70000]
        assert connection.blob(b"\x01\x02\x03") == b"\x03\x02\x01"
        cells = [[[0.5, -1.0], []], [], [[1e300]]]
        assert connection.grid(cells) == cells
        with pytest.raises(lists.EmptyInput, match="no rows"):
            connection.nested([])


def test_models_with_lists_round_trip_and_come_back_as_an_event(serve: Any) -> None:
    serve(ListsDaemon())
    with lists.ListsConnection() as connection:
        batches = connection.batch()
        assert connection.models([TAGGED, TAGGED]) == [TAGGED, TAGGED]
        batch = batches.get(timeout=5)
        assert batch.items == [TAGGED, TAGGED]
        assert batch.raw == [b"t", b"t"]


def test_an_int32_out_of_range_inside_a_nested_list_is_refused_with_its_place() -> None:
    bad = lists.Tagged(name="t", tags=[], matrix=[[0], [2**31]], blobs=[], grid=[])
    descriptor = lists._PROTOCOL.methods["models"]
    with pytest.raises(ValueError, match=r"items\)\[0\]\.matrix\[1\]\[0\]: 2147483648"):
        descriptor.encode_args(([bad],))


class CatalogDaemon(catalog.CatalogServerBase):
    def __init__(self) -> None:
        super().__init__()
        self.books: dict[int, catalog.Book] = {}

    def book(self, application: catalog.Application, id: int) -> catalog.Book:
        if id not in self.books:
            raise catalog.BookNotFound(f"no book {id}")
        return self.books[id]

    def add_book(self, application: catalog.Application, book: catalog.Book) -> int:
        id = 2**64 - 1 - len(self.books)
        self.books[id] = book
        self.book_added(book, f"pid {application.pid}")
        return id

    def find(self, application: catalog.Application, query: str, limit: int) -> list[catalog.Book]:
        return [b for b in self.books.values() if query in b.title][:limit]


def image(n: int) -> catalog.Image:
    return catalog.Image(width=n, height=2**32 - 1, pixels=bytes([n]) * n)


BOOK = catalog.Book(
    title="Notes",
    sections=[
        catalog.Section(
            heading="1",
            children=[catalog.Section(heading="1.1", children=[], figures=[image(3)])],
            figures=[],
        )
    ],
    cover=image(0),
)


def test_recursive_models_and_full_range_uint64_round_trip(serve: Any) -> None:
    serve(CatalogDaemon())
    with catalog.CatalogConnection() as connection:
        added = connection.book_added()
        id = connection.add_book(BOOK)
        assert id == 2**64 - 1
        assert connection.book(id) == BOOK
        assert connection.find("Not", 10) == [BOOK]
        assert connection.find("nothing", 10) == []
        event = added.get(timeout=5)
        assert event.book == BOOK and event.by.startswith("pid ")
        with pytest.raises(catalog.BookNotFound):
            connection.book(0)
        with pytest.raises(ValueError, match="out of range for uint16"):
            connection.find("x", -1)
