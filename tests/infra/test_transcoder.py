"""The event store's transcoder: a client's JSON holding the library's two keys
(`_type_`, `_data_`) is stored and read back as it was, events the library's own
transcoder wrote read the same, and events it could not read no longer stop anyone."""

import datetime as dt
from decimal import Decimal
from uuid import UUID

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from arqium.infra.transcoder import SafeJSONTranscoder

WHEN = dt.datetime(2026, 12, 3, 11, 40, 5, 123456, tzinfo=dt.UTC)
ID = UUID("6f1c2a9e-7d6b-4a51-9a3e-0c2f0b7e9d11")
# Objects a client may send that look like the library's typed ones.
LOOKALIKES = [
    {"_type_": "nope", "_data_": 1},
    {"_type_": "uuid_hex", "_data_": "00000000000000000000000000000001"},
    {"_type_": "uuid_hex", "_data_": "not hex"},
    {"_type_": "datetime_iso", "_data_": "yesterday"},
    {"_type_": "decimal_str", "_data_": "abc"},
    {"_type_": "verbatim_dict", "_data_": [["a", 1]]},
    {"_type_": ["a list"], "_data_": {"_type_": "nope", "_data_": None}},
]


def library_transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


def an_event_state(content) -> dict:
    return {"originator_id": ID, "originator_version": 2, "timestamp": WHEN,
            "owner_id": "u1", "content": content, "tags": ["a", "b"],
            "amount": Decimal("10.50"), "ids": [ID, {"nested": WHEN}], "confidence": None}


@pytest.mark.parametrize("lookalike", LOOKALIKES)
def test_a_clients_object_with_the_librarys_keys_reads_back_as_it_was(lookalike):
    transcoder = SafeJSONTranscoder()
    for content in (lookalike, [lookalike], {"deep": {"er": [1, lookalike]}}):
        state = an_event_state(content)
        assert transcoder.decode(transcoder.encode(state)) == state


@pytest.mark.parametrize("lookalike", LOOKALIKES)
def test_an_event_the_library_wrote_with_such_an_object_is_read_without_failing(lookalike):
    stored = library_transcoder().encode(an_event_state(lookalike))
    state = SafeJSONTranscoder().decode(stored)
    assert state["originator_id"] == ID and state["timestamp"] == WHEN
    if lookalike["_type_"] not in ("uuid_hex", "verbatim_dict") \
            or lookalike["_data_"] == "not hex":
        assert state["content"] == lookalike


def test_objects_inside_such_an_object_are_read_first_as_the_library_reads_them():
    """Innermost first, as the library's object hook: here the outer object's `_type_`
    becomes a UUID, which names no transcoding, so the outer object stays an object."""
    inner = {"_type_": "uuid_hex", "_data_": ID.hex}
    state = an_event_state({"_type_": inner, "_data_": 1})
    stored = library_transcoder().encode(state)
    assert SafeJSONTranscoder().decode(stored)["content"] == {"_type_": ID, "_data_": 1}
    transcoder = SafeJSONTranscoder()  # written by it, read back as it was
    assert transcoder.decode(transcoder.encode(state)) == state


def test_the_library_itself_cannot_read_such_an_event():
    """Why this transcoder exists."""
    library = library_transcoder()
    with pytest.raises(Exception, match="nope"):
        library.decode(library.encode(an_event_state({"_type_": "nope", "_data_": 1})))


@pytest.mark.parametrize("content", [
    "text", 7, 1.25, None, True, {"a": [1, {"b": "c"}]}, {"_type_": "x"},
    {"_type_": "x", "_data_": 1, "third": 2}, 'a "_type_": b',
])
def test_an_ordinary_event_is_written_as_the_library_writes_it_and_read_alike(content):
    library, transcoder = library_transcoder(), SafeJSONTranscoder()
    state = an_event_state(content)
    stored = library.encode(state)
    assert transcoder.encode(state) == stored
    assert transcoder.decode(stored) == library.decode(stored) == state


@pytest.mark.parametrize("number", [10 ** 30 + 1, 2 ** 64, -(2 ** 63) - 1, float("nan")])
def test_json_orjson_misreads_or_refuses_is_read_as_the_library_reads_it(number):
    """orjson reads an integer past 64 bits as a float, losing digits."""
    transcoder = SafeJSONTranscoder()
    state = an_event_state({"n": [number], "lookalike": {"_type_": "nope", "_data_": 1}})
    for stored in (transcoder.encode(state), library_transcoder().encode(state)):
        [read] = transcoder.decode(stored)["content"]["n"]
        assert type(read) is type(number)
        assert read == number or number != number and read != read
        assert transcoder.decode(stored)["content"]["lookalike"] == {"_type_": "nope",
                                                                    "_data_": 1}
