"""A batch's rows, sent to PostgreSQL as JSON documents: one statement writes many rows.

psycopg dumps parameters value by value in Python; a JSON document of the rows, written
by orjson, costs a fraction of that. PostgreSQL parses each document as jsonb once and
reads each row's values by position: `json_to_recordset`, which read each row's object
by name and parsed it again, cost nearly twice as much of its processor per row.

A document holds at most MAX_DOCUMENT_CHARS: a batch of large rows (memories of a
megabyte) goes in several statements, as a statement's parameter holds at most 1 GB, a
jsonb value 256 MB, and a backend holds the whole parsed document in its memory."""

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from psycopg import Cursor
from psycopg.sql import Composed

from arqium.projections.storable import StorableJSON, storable_json

MAX_DOCUMENT_CHARS = 16 * 1024 * 1024


class Rows:
    """The shape of a statement's rows: their columns' names and SQL types, in order."""

    def __init__(self, *columns: tuple[str, str]):
        self.columns = columns
        names = [name for name, _ in columns]
        # A row's values in order, read in C (a single column's value made a 1-tuple).
        self._values = itemgetter(*names) if len(names) > 1 else (
            lambda row: (row[names[0]],))

    @property
    def relation(self) -> str:
        """A FROM item of the rows of the document `%(rows)s` (alias it in the
        statement). A JSON null is SQL NULL in every column, jsonb ones too."""
        values = ", ".join(
            f"nullif(r -> {index}, 'null') AS {name}" if kind == "jsonb"
            else f"(r ->> {index})::{kind} AS {name}"
            for index, (name, kind) in enumerate(self.columns))
        return f"(SELECT {values} FROM jsonb_array_elements(%(rows)s::jsonb) AS r)"

    def write(self, curs: Cursor, statement: Composed, rows: Sequence[Mapping[str, Any]]
              ) -> None:
        """Run `statement` on the rows (each a mapping holding every column's name), in
        as few statements as the documents' size allows (none for no rows)."""
        for document in self.documents(rows):
            curs.execute(statement, {"rows": document})

    def documents(self, rows: Sequence[Mapping[str, Any]]) -> list[StorableJSON]:
        """The rows as documents of `relation`: each an array of their values' arrays,
        every string in it one PostgreSQL can hold."""
        return _documents([self._values(row) for row in rows])


def _documents(values: list[tuple]) -> list[StorableJSON]:
    if not values:
        return []
    # Written whole first: a batch almost always fits, and one call costs least (dumped
    # in slices and joined, a batch cost twice as much). Its text is no larger than the
    # batch's events, which the projector holds already.
    document = storable_json(values)
    if len(document) <= MAX_DOCUMENT_CHARS or len(values) == 1:
        return [document]
    half = len(values) // 2
    return _documents(values[:half]) + _documents(values[half:])
