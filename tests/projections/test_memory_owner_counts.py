"""Each owner's count of live memories, the N of the keyword search's BM25: a memory
counts once however often it changes, stops counting when deleted, counts again when it
comes back, and the count goes with its owner; a rebuild counts the same."""

from arqium.domain.memory.application import MemoryDraft
from tests.conftest import SETUP, memory_items_applied


def documents(system, owner_id: str) -> int | None:
    rows = system.views["memory_items"].query(
        "SELECT documents FROM {owners} WHERE owner_id = %(owner_id)s", owner_id=owner_id)
    return rows[0]["documents"] if rows else None


def stored(system, owner_id: str, key: str, text: str):
    return system.memory.upsert(owner_id, MemoryDraft(key=key, content=text), cause=SETUP)


def test_a_memory_counts_once_however_often_it_changes(system, workers):
    workers("memory_items")
    stored(system, "u1", "a", "tea")
    stored(system, "u1", "a", "green tea")
    _, position = stored(system, "u1", "b", "coffee")
    memory_items_applied(system, stored(system, "u2", "a", "rice")[1])
    memory_items_applied(system, position)
    assert (documents(system, "u1"), documents(system, "u2")) == (2, 1)


def test_a_deleted_memory_stops_counting_and_counts_again_when_it_comes_back(system,
                                                                            workers):
    workers("memory_items")
    item, _ = stored(system, "u1", "a", "tea")
    stored(system, "u1", "b", "coffee")
    _, position = system.memory.delete("u1", item.id, cause=SETUP)
    memory_items_applied(system, position)
    assert documents(system, "u1") == 1
    memory_items_applied(system, stored(system, "u1", "a", "tea again")[1])
    assert documents(system, "u1") == 2


def test_a_forgotten_owners_count_goes(system, workers):
    workers("memory_items")
    stored(system, "u1", "a", "tea")
    memory_items_applied(system, system.memory.forget_owner("u1", cause=SETUP))
    assert documents(system, "u1") is None
    memory_items_applied(system, stored(system, "u1", "b", "coffee")[1])
    assert documents(system, "u1") == 1
