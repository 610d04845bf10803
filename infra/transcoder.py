"""The event store's JSON transcoder: the library's, made safe for clients' JSON and
faster to decode.

The library writes a UUID, a datetime or a Decimal as `{"_type_": name, "_data_": ...}`
and, reading, turns every object of exactly those two keys back into one. A client's
own JSON (a memory's content, a message's metadata ...) may hold such an object too:
`{"_type_": "x", "_data_": 1}` made the event unreadable, and every read model and the
NATS relay stopped at it. So an object of a client's that has those two keys is written
as a `verbatim_dict` (its items as pairs), and read back as it was; an object the
library cannot read (events stored before this) is read as the plain object it is.

Reading parses with orjson and revives the typed objects in one walk: the standard
library's parser, calling back into Python for every object, was most of the time each
read model spent per event. JSON orjson would misread or refuses (an integer past 64
bits, NaN) is parsed by the standard library (infra/json_reading.py), then revived alike.
"""

import json
from decimal import InvalidOperation
from typing import Any

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    UUIDAsHex,
)

from arqium.infra.json_reading import json_loads

TYPE, DATA = "_type_", "_data_"
TYPE_KEY = f'"{TYPE}":'  # only a key is written so: inside a string the quote is escaped
UNREADABLE = (AssertionError, TypeError, ValueError, InvalidOperation, RecursionError)


class Verbatim:
    """A client's object whose keys are exactly the library's two: written as pairs."""

    __slots__ = ("items",)

    def __init__(self, items: dict[str, Any]):
        self.items = items


class VerbatimDict(Transcoding):
    type = Verbatim
    name = "verbatim_dict"

    def encode(self, obj: Verbatim) -> list[list[Any]]:
        return [[key, value] for key, value in obj.items.items()]

    def decode(self, data: list[list[Any]]) -> dict[str, Any]:
        return {key: value for key, value in data}


class SafeJSONTranscoder(JSONTranscoder):
    """The library's JSONTranscoder (the same bytes for every event that holds no object
    of the library's two keys), registering its transcodings itself."""

    def __init__(self) -> None:
        super().__init__()
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), VerbatimDict()):
            self.register(transcoding)

    def encode(self, obj: Any) -> bytes:
        transcoded = 0

        def counting(value: Any) -> dict[str, Any]:
            nonlocal transcoded
            transcoded += 1
            return self._encode_obj(value)

        text = self._encoder(counting).encode(obj)
        if text.count(TYPE_KEY) != transcoded:  # some object of the client's has the key
            text = self._encoder(self._encode_obj).encode(escaped(obj))
        return text.encode("utf8")

    def decode(self, data: bytes) -> Any:
        try:
            return self._revived(json_loads(data))
        except RecursionError:  # nested deeper than the walk may go: the library's parser
            return self.decoder.decode(data.decode("utf8"))

    def _encoder(self, default: Any) -> json.JSONEncoder:
        return json.JSONEncoder(default=default, separators=(",", ":"), ensure_ascii=False)

    def _revived(self, value: Any) -> Any:
        """`value` with its typed objects turned back into what they were, innermost
        first (as the library's object hook does)."""
        if type(value) is dict:
            for key, item in value.items():
                if type(item) is dict or type(item) is list:
                    value[key] = self._revived(item)
            if len(value) == 2 and TYPE in value and DATA in value:
                return self._decode_obj(value)
        elif type(value) is list:
            for index, item in enumerate(value):
                if type(item) is dict or type(item) is list:
                    value[index] = self._revived(item)
        return value

    def _decode_obj(self, d: dict[str, Any]) -> Any:
        if len(d) != 2 or TYPE not in d or DATA not in d:
            return d
        name = d[TYPE]
        transcoding = self.names.get(name) if isinstance(name, str) else None
        if transcoding is None:
            return d
        try:
            return transcoding.decode(d[DATA])
        except UNREADABLE:
            return d


def escaped(value: Any) -> Any:
    """`value` with each object whose keys are exactly the library's two made Verbatim."""
    if isinstance(value, dict):
        items = {key: escaped(item) for key, item in value.items()}
        return Verbatim(items) if len(items) == 2 and TYPE in items and DATA in items \
            else items
    if isinstance(value, list | tuple):
        return [escaped(item) for item in value]
    return value
