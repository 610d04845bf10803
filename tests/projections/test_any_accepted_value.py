"""Every read model applies any event the write side accepts: values of every kind
(long, astral, deeply nested, huge numbers, empty) written through each application,
and what PostgreSQL cannot hold (NUL, NaN) written past the boundary that refuses it,
are applied by every projection, which changes only what it must."""

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arqium.domain.memory.application import MemoryDraft
from arqium.domain.sessions.application import MessageDraft
from arqium.projections.catalog import PROJECTIONS
from arqium.projections.storable import (
    StorableJSON,
    _storable_json_by_json,
    storable,
    storable_json,
    storable_text,
)
from tests.conftest import SETUP

LONG = "long text " * 20_000
UNICODE = "naïve ∑ 中文 \u200b \U0001F600\U0001F9EC"
NUL = "a\u0000b"


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"in": value}
    return value


ACCEPTED: dict[str, Any] = {  # what the boundary lets through, kind by kind
    "long": LONG, "unicode": UNICODE, "empty text": "", "empty object": {},
    "empty list": [], "nested": nested(30), "huge int": 10**40, "tiny float": 5e-324,
    "huge float": 1.7e308, "negative": -(2**63), "null": None, "true": True,
    f"key {UNICODE}": "astral key",
}
BEYOND_THE_BOUNDARY: dict[str, Any] = {"nul": NUL, f"key{NUL}": 1, "nan": float("nan"),
                                       "infinity": float("inf")}


def numbers_as_decimals(value: Any) -> Any:
    """jsonb keeps numbers as numeric: 1.7e308 comes back as an int of 309 digits."""
    return json.loads(json.dumps(value), parse_int=Decimal, parse_float=Decimal)


def write_everything(system, values: dict[str, Any], text: str) -> None:
    """One command of each kind, with `values` in every free-form field and `text` in
    every free text field."""
    user, _ = system.identity.register(f"{len(text)}@example.com", text, "correct horse",
                                       cause=SETUP)
    owner = str(user.id)
    system.identity.update_profile(owner, text, values, cause=SETUP)
    system.identity.issue_api_key(owner, text, ["memory:read"], cause=SETUP)
    system.identity.start_session(user, text, text, cause=SETUP)
    system.memory.upsert(owner, MemoryDraft(key=text or "k", content=values, tags=[text],
                                            metadata=values), cause=SETUP)
    context, _ = system.memory.create_context(owner, text, values, None, cause=SETUP)
    system.memory.replace_context(owner, context.id, text, {**values, "more": text}, 1,
                                  cause=SETUP)
    vault, _ = system.memory.create_vault(owner, "vault", text, cause=SETUP)
    collection, _ = system.memory.create_memory(owner, str(vault.id), "notes",
                                                "conversation", text, cause=SETUP)
    system.memory.add_entry(owner, str(vault.id), str(collection.id), text or "e",
                            {text: text}, text, values, None, cause=SETUP)
    system.memory.put_memory_context(owner, str(vault.id), str(collection.id), values,
                                     cause=SETUP)
    session, _ = system.sessions.create_session(owner, text or None, values, cause=SETUP)
    system.sessions.append_message(owner, session.id, MessageDraft(
        role="user", content=text, components=values), cause=SETUP)
    exact = {key: value for key, value in values.items()  # the ledger takes no floats
             if not isinstance(value, float)}
    ledger_object, _ = system.ledger.create_object(owner, text or "t", {
        **exact, "amount": Decimal("12345678901234567890.000000001")}, cause=SETUP)
    system.ledger.transact(owner, ledger_object.id, text or "a", exact, exact,
                           cause=SETUP)
    document = system.blobs.draft()  # a text document: its text read into chunks
    document.write(f"{text} {LONG[:5000]} {text}".encode())
    stored, _ = system.files.record_upload(owner, "notes.txt", "text/plain", document.size,
                                           system.blobs.commit(document), cause=SETUP)
    system.files.complete_analysis(stored.id, exact, cause=SETUP)
    asked = {"input": text, "parameters": {key: value for key, value in values.items()
                                           if key != "long"}}  # parameters are small
    system.agents.record_answer(owner, "memory-search", asked, 1, text, cause=SETUP)
    system.agents.record_failure(owner, "file-analyst", asked, 1, {
        "code": "Invalid", "message": text}, cause=SETUP)
    settings = {"general": {"site_name": text or "s"}}
    system.platform.create_profile(text or "p", text, settings, cause=SETUP)
    system.platform.update_config(settings, cause=SETUP)


def caught_up(system) -> None:
    """Every read model reached its application's head (TimeoutError if one stopped)."""
    for projection in PROJECTIONS:
        app = next(a for a in system.applications() if isinstance(a, projection.application))
        system.views[projection.name].wait(app.name, app.recorder.max_notification_id(),
                                           timeout=120)


@pytest.fixture
def projecting(workers):
    return workers(*(projection.name for projection in PROJECTIONS))


def test_every_read_model_applies_values_of_every_allowed_kind(system, projecting):
    write_everything(system, ACCEPTED, UNICODE)
    write_everything(system, {"long": LONG}, "x" * 100)  # names and keys are short
    write_everything(system, {}, "")
    caught_up(system)
    contexts = system.views["contexts"].query("SELECT name, state FROM {table}")
    state = next(row["state"] for row in contexts if row["name"] == UNICODE)
    assert numbers_as_decimals(state) == numbers_as_decimals({**ACCEPTED, "more": UNICODE})


def test_every_read_model_applies_text_postgresql_cannot_hold_without_it(system,
                                                                         projecting):
    write_everything(system, {**ACCEPTED, **BEYOND_THE_BOUNDARY}, NUL)
    caught_up(system)
    users = system.views["users"].query("SELECT name, preferences FROM {table}")
    preferences = next(row["preferences"] for row in users if row["name"] == "ab")
    assert numbers_as_decimals(preferences) == numbers_as_decimals(
        storable({**ACCEPTED, **BEYOND_THE_BOUNDARY}))


def test_storable_values_lose_only_what_postgresql_cannot_hold():
    assert storable_text("a\u0000b\ud800c\U0001F600") == "ab\ufffdc\U0001F600"
    assert storable({"k\u0000": [float("nan"), 1.5, "x\u0000"]}) == {"k": [None, 1.5, "x"]}
    assert json.loads(json.dumps(storable(ACCEPTED))) == json.loads(json.dumps(ACCEPTED))


def test_storable_json_is_the_json_of_the_storable_value():
    values = [ACCEPTED, BEYOND_THE_BOUNDARY, {**ACCEPTED, **BEYOND_THE_BOUNDARY},
              "\\u0000 is six characters", ["x\ud800y", {"\udfff": 1}], NUL, None]
    for value in values:
        assert json.loads(storable_json(value)) == json.loads(json.dumps(storable(value)))


ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()))  # NUL, surrogates
JSON_LIKE = st.recursive(  # what events hold, and what got past the boundary
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(ANY_TEXT | st.integers(-5, 5), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(JSON_LIKE)
def test_storable_json_means_what_the_json_encoder_wrote_before(value):
    """orjson writes it now: the same JSON value (numbers may be spelt otherwise), NUL,
    lone surrogates, NaN and integers past 64 bits handled as before."""
    assert json.loads(storable_json(value)) == json.loads(_storable_json_by_json(value))


@settings(max_examples=300, deadline=None)
@given(JSON_LIKE)
def test_storable_json_holds_nothing_to_change_so_it_is_written_as_it_is(value):
    text = storable_json(value)
    assert isinstance(text, StorableJSON) and storable_text(text) == text


def distinct_words(size: int) -> str:
    """Words no two alike, `size` bytes in all: their tsvector is over twice as large."""
    words = (f"w{n:x}" for n in range(size))
    text = " ".join(next(words) for _ in range(size // 7))
    return text[:size]


def test_a_memory_of_a_megabyte_of_distinct_words_is_applied(system, workers):
    """Its tsvector would be over PostgreSQL's 1 MB: the first 256 KB are searchable."""
    workers("memory_items", "memory_embeddings", "memory_activity")
    owner, text = "00000000-0000-0000-0000-0000000000aa", distinct_words(1_000_000)
    _, position = system.memory.upsert(owner, MemoryDraft(
        key="distinct", content={"text": text}), cause=SETUP)
    for name in ("memory_items", "memory_embeddings", "memory_activity"):
        system.views[name].wait("memory", position, timeout=120)
    row = system.views["memory_items"].query(
        "SELECT octet_length(search_text) AS size, tsv @@ 'w1f'::tsquery AS first,"
        " tsv @@ 'w1ffff'::tsquery AS beyond FROM {table} WHERE key = 'distinct'")[0]
    assert row["first"] and not row["beyond"]
    assert 250_000 < row["size"] <= 256 * 1024
