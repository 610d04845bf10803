"""Memories through the memory application and the memory read model: keys, layers,
promotion and merge, expiry, deletion, history, the working set's ranking."""

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from arqium.domain.memory.application import MemoryApplication, MemoryDraft
from arqium.domain.memory.domainmodel import (
    MAX_TTL_SECONDS,
    LayerConflict,
    MemoryNotFound,
    PromotionRefused,
    memory_id_for,
)
from arqium.domain.shared import Conflict, Invalid
from tests.application.conftest import at_once
from tests.conftest import SETUP

KEY = "user:123:preference:theme"


def upsert(system, key=KEY, content=None, owner="ada", **fields):
    draft = MemoryDraft(key=key, content={"theme": "dark"} if content is None else content,
                        **fields)
    return system.memory.upsert(owner, draft, cause=SETUP)


def promote(system, key=KEY, **options):
    return system.memory.promote("ada", key, cause=SETUP, **options)


@pytest.fixture
def memory_items(system, workers):
    """The memory read model, with its projector running."""
    workers("memory_items")
    return system.read_models.memory_items


def recent(system, memory_items, position, limit=10) -> list[dict]:
    memory_items.wait("memory", position, timeout=5)
    return memory_items.recent("ada", limit, system.clock())


def last_event(system, item_id):
    return list(system.memory.events.get(item_id))[-1]


def test_upserting_the_same_key_again_revises_the_same_memory(system):
    first, _ = upsert(system)
    again, _ = upsert(system, content={"theme": "light"})
    assert (again.id, again.version, again.content) == (first.id, 2, {"theme": "light"})


def test_a_memory_stored_without_a_key_is_a_new_one_under_a_fresh_key(system):
    first, _ = upsert(system, key=None)
    second, _ = upsert(system, key=None)
    assert first.id != second.id
    assert (first.version, second.version) == (1, 1)
    assert UUID(first.key) != UUID(second.key)


def test_a_memory_stored_without_a_key_never_supersedes_one_that_has_its_key(system):
    """The fresh key is not looked up first: were it taken, the save conflicts."""
    taken = uuid4()
    stored, _ = upsert(system, key=str(taken), content={"theme": "dark"})
    system.memory.new_id = lambda: taken
    with pytest.raises(Conflict):
        upsert(system, key=None, content={"theme": "light"})
    kept = system.memory.repository.get(stored.id)
    assert (kept.version, kept.content) == (1, {"theme": "dark"})


def test_a_key_another_process_stored_is_superseded_not_refused(system, clock):
    """This process has not seen the key stored: its create conflicts, and the stored
    memory is loaded and superseded instead."""
    upsert(system, content={"theme": "dark"})
    another_process = MemoryApplication(system.env, clock=clock)
    try:
        stored, _ = another_process.upsert(
            "ada", MemoryDraft(key=KEY, content={"theme": "light"}), cause=SETUP)
    finally:
        another_process.close()
    kept = system.memory.repository.get(stored.id)
    assert (stored.version, kept.version, kept.content) == (2, 2, {"theme": "light"})


def test_two_stores_of_a_new_key_at_once_both_land(system, processes):
    """The one whose create conflicts supersedes the other's memory."""
    apps = processes(system.memory)
    results = at_once(2, lambda n: apps[n % len(apps)].upsert(
        "ada", MemoryDraft(key=KEY, content={"n": n}), cause=SETUP))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(item.version for item, _ in results) == [1, 2]
    kept = system.memory.repository.get(memory_id_for("ada", KEY))
    assert kept.version == 2


def test_the_same_key_of_another_owner_is_another_memory(system):
    assert upsert(system)[0].id != upsert(system, owner="eve")[0].id


def test_upserting_a_key_into_another_layer_is_a_layer_conflict(system):
    upsert(system, layer="temporary")
    with pytest.raises(LayerConflict) as refused:
        upsert(system, layer="permanent")
    assert (refused.value.details["existing_layer"],
            refused.value.details["requested_layer"]) == ("temporary", "permanent")


def test_a_layer_other_than_the_three_is_invalid(system):
    with pytest.raises(Invalid) as refused:
        upsert(system, layer="forever")
    assert refused.value.details == {"field": "layer"}


def test_a_ttl_in_seconds_sets_the_expiry(system, clock):
    stored, _ = upsert(system, ttl_seconds=90)
    assert stored.expires_at == clock() + timedelta(seconds=90)


def test_a_ttl_longer_than_a_century_is_invalid(system):
    with pytest.raises(Invalid, match="100 years"):
        upsert(system, ttl_seconds=MAX_TTL_SECONDS + 1)
    upsert(system, ttl_seconds=MAX_TTL_SECONDS)


def test_promotion_below_the_threshold_is_refused_unless_forced(system):
    upsert(system, confidence=0.3)
    with pytest.raises(PromotionRefused) as refused:
        promote(system)
    assert refused.value.details["rule"] == "confidence_threshold"
    assert promote(system, force=True)[0].layer == "permanent"


def test_a_confident_memory_is_promoted_one_layer_up(system, clock):
    upsert(system, confidence=0.9, layer="context")
    promoted, _ = promote(system)
    assert (promoted.layer, promoted.promoted_at) == ("temporary", clock())


def test_a_permanent_memory_cannot_be_promoted(system):
    upsert(system, layer="permanent", confidence=1.0)
    with pytest.raises(PromotionRefused) as refused:
        promote(system)
    assert refused.value.details["rule"] == "already_permanent"


def test_promoting_an_unknown_key_is_not_found(system):
    with pytest.raises(MemoryNotFound):
        promote(system, key="never stored")


def test_merge_merges_onto_what_the_target_layer_held_before(system):
    stored, _ = upsert(system, layer="permanent",
                       content={"theme": "dark", "font": "serif"})
    system.memory.delete("ada", stored.id, cause=SETUP)
    upsert(system, layer="temporary", content={"theme": "light", "font": None},
           confidence=0.9)
    promoted, _ = promote(system, merge=True)
    history = system.memory.history("ada", promoted.id)
    assert (history[-1]["type"], history[-1]["content"]) == ("Promoted", {"theme": "light"})
    assert last_event(system, promoted.id).merged is True


def test_merge_without_an_earlier_life_in_the_target_layer_promotes_unchanged(system):
    upsert(system, content={"theme": "light", "font": None}, confidence=0.9)
    promoted, _ = promote(system, merge=True)
    assert promoted.content == {"theme": "light", "font": None}
    assert last_event(system, promoted.id).merged is False


def test_a_promotion_reaches_the_read_model_without_an_expiry(system, memory_items):
    upsert(system, confidence=0.9)
    _, position = promote(system)
    [row] = recent(system, memory_items, position)
    assert (row["layer"], row["expires_at"]) == ("permanent", None)


def test_recent_lists_the_newest_first_up_to_the_limit(system, memory_items, clock):
    for key in ("a", "b", "c"):
        _, position = upsert(system, key=key)
        clock.advance(seconds=1)
    assert [row["key"] for row in recent(system, memory_items, position, limit=2)] == [
        "c", "b"]


def test_an_expired_memory_is_not_listed_even_before_its_expiry_is_recorded(
        system, memory_items, clock):
    _, position = upsert(system, key="fleeting", layer="context")
    memory_items.wait("memory", position, timeout=5)
    clock.advance(minutes=16)
    assert memory_items.recent("ada", 10, clock()) == []
    assert memory_items.get("ada", memory_id_for("ada", "fleeting"), clock()) is None


def test_a_deleted_memory_leaves_the_read_model_but_not_its_history(system, memory_items):
    stored, _ = upsert(system)
    _, position = system.memory.delete("ada", stored.id, cause=SETUP)
    assert recent(system, memory_items, position) == []
    assert [v["type"] for v in system.memory.history("ada", stored.id)] == [
        "Upserted", "Deleted"]


def test_deleting_a_deleted_memory_is_not_found(system):
    stored, _ = upsert(system)
    system.memory.delete("ada", stored.id, cause=SETUP)
    with pytest.raises(MemoryNotFound):
        system.memory.delete("ada", stored.id, cause=SETUP)


def test_another_owners_memory_is_not_found(system):
    stored, _ = upsert(system)
    with pytest.raises(MemoryNotFound):
        system.memory.delete("eve", stored.id, cause=SETUP)
    with pytest.raises(MemoryNotFound):
        system.memory.history("eve", stored.id)


def test_history_lists_every_version_with_who_acted(system):
    stored, _ = upsert(system, content="dark")
    upsert(system, content="light")
    versions = system.memory.history("ada", stored.id)
    assert [(v["version"], v["type"], v["content"], v["actor"]) for v in versions] == [
        (1, "Upserted", "dark", SETUP.actor), (2, "Revised", "light", SETUP.actor)]


def stored_events(system) -> bytes:
    with system.memory.recorder.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT state FROM memory_events ORDER BY notification_id")
        return b"".join(bytes(row["state"]) for row in curs.fetchall())


# Eight digits never turn up by chance in a stored time's microseconds, an id or a
# ciphertext (four did: "4321" in "08.432123").
PIN = "90817263"
NOTE = f"my PIN is {PIN}"


@pytest.mark.parametrize("sensitivity", ["secret", "pii"])
def test_sensitive_content_is_sealed_before_it_enters_an_event(system, sensitivity):
    system.memory.keys.create("ada")  # registering makes a user's data key
    stored, _ = upsert(system, key="pin", content=NOTE, sensitivity=sensitivity)
    assert system.memory.readable_content(stored) == NOTE
    assert PIN.encode() not in stored_events(system) and b"$sealed" in stored_events(system)


def test_public_content_is_stored_as_it_is(system):
    system.memory.keys.create("ada")
    upsert(system, key="pin", content=NOTE, sensitivity="public")
    assert NOTE.encode() in stored_events(system)


def test_clear_deletes_each_live_memory_with_its_own_event(system):
    ids = [upsert(system, key=key)[0].id for key in ("a", "b", "c")]
    system.memory.delete("ada", ids[2], cause=SETUP)
    head = system.memory.recorder.max_notification_id()
    cleared, position = system.memory.clear("ada", ids, cause=SETUP)
    assert (cleared, position) == (2, head + 2)


def test_the_working_set_ranks_by_layer_then_confidence_and_recency(system, memory_items,
                                                                    clock):
    upsert(system, key="old", confidence=0.5, ttl_seconds=90 * 24 * 3600)
    clock.advance(days=30)
    for key, layer, confidence in [("ctx", "context", 1.0), ("new", "temporary", 0.5),
                                   ("sure", "temporary", 1.0), ("perm", "permanent", 0.1)]:
        _, position = upsert(system, key=key, layer=layer, confidence=confidence)
    memory_items.wait("memory", position, timeout=5)
    shown = system.memory_search.working_set("ada", clock(), 1000, 100)
    assert [row["key"] for row in shown] == ["perm", "sure", "new", "ctx", "old"]
