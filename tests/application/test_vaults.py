"""Vaults, their memories, contexts and entries (the Memory Service v0 face's resources)
through the memory application and the vaults and memory read models."""

from datetime import timedelta
from uuid import uuid4

import pytest

from arqium.domain.memory.domainmodel import MemoryNotFound
from arqium.domain.memory.vaults import (
    CollectionNotFound,
    ContextNotFound,
    TitleTaken,
    VaultNotFound,
    entry_key_prefix,
)
from arqium.domain.shared import Invalid
from tests.conftest import SETUP


def vault(system, title="work", owner="ada"):
    return system.memory.create_vault(owner, title, "", cause=SETUP)[0]


def collection(system, in_vault, title="notes", memory_type="conversation"):
    return system.memory.create_memory("ada", str(in_vault.id), title, memory_type, "",
                                       cause=SETUP)[0]


def entry(system, of, raw="hello", tags=None, expires_at=None):
    return system.memory.add_entry("ada", of.vault_id, str(of.id), raw, tags or [], None,
                                   {}, expires_at, cause=SETUP)


@pytest.fixture
def notes(system):
    """Ada's memory "notes" in her vault "work"."""
    return collection(system, vault(system))


@pytest.fixture
def vaults(system, workers):
    """The vaults read model, with its projector running."""
    workers("vaults")
    return system.read_models.vaults


@pytest.fixture
def memory_items(system, workers):
    workers("memory_items")
    return system.read_models.memory_items


def caught_up(view, position):
    view.wait("memory", position, timeout=5)
    return view


def test_a_vault_title_is_taken_per_owner(system):
    vault(system, "work")
    with pytest.raises(TitleTaken):
        vault(system, "work")
    assert vault(system, "work", owner="eve").title == "work"


def test_a_deleted_vaults_title_is_free_again(system):
    work = vault(system, "work")
    system.memory.delete_vault("ada", str(work.id), [], [], cause=SETUP)
    assert vault(system, "work").id != work.id


@pytest.mark.parametrize("title", ["", "   ", "x" * 101, "a/b", "line\nbreak"])
def test_a_title_not_of_1_to_100_printable_characters_without_slash_is_invalid(system,
                                                                               title):
    with pytest.raises(Invalid):
        vault(system, title)


def test_a_memory_title_is_taken_per_vault(system, notes):
    with pytest.raises(TitleTaken):
        collection(system, system.memory.owned_vault("ada", notes.vault_id))
    assert collection(system, vault(system, "home")).title == "notes"


def test_a_vault_and_its_memory_are_found_by_id_or_by_title(system, notes, vaults):
    caught_up(vaults, system.memory.recorder.max_notification_id())
    assert str(vaults.vault("ada", "work")["id"]) == notes.vault_id
    assert vaults.vault("ada", notes.vault_id)["title"] == "work"
    assert vaults.memory("ada", notes.vault_id, "notes")["id"] == notes.id
    assert vaults.vault("eve", "work") is None


def test_a_new_memory_has_an_empty_context_from_the_start(system, notes, vaults):
    caught_up(vaults, system.memory.recorder.max_notification_id())
    assert vaults.latest_context(notes.id)["context"] == {}


def test_deleting_the_latest_context_makes_the_one_before_latest_again(system, notes,
                                                                       vaults):
    put = system.memory.put_memory_context
    put("ada", notes.vault_id, str(notes.id), {"step": 1}, cause=SETUP)
    latest, _, _ = put("ada", notes.vault_id, str(notes.id), "plain text", cause=SETUP)
    position = system.memory.delete_memory_context("ada", notes.vault_id, str(notes.id),
                                                   latest, cause=SETUP)
    assert caught_up(vaults, position).latest_context(notes.id)["context"] == {"step": 1}
    with pytest.raises(ContextNotFound):
        system.memory.delete_memory_context("ada", notes.vault_id, str(notes.id), latest,
                                            cause=SETUP)


def test_an_entry_keeps_its_tags_in_the_shape_sent_and_is_filtered_by_their_names(
        system, notes):
    item, _ = entry(system, notes, tags={"topic": "food"})
    assert (item.tags, item.metadata["v0"]["tags"]) == (["topic"], {"topic": "food"})
    retagged, _ = system.memory.retag_entry("ada", notes.vault_id, str(notes.id),
                                            item.metadata["v0"]["entryId"], ["a", "b"],
                                            cause=SETUP)
    assert (retagged.tags, retagged.metadata["v0"]["tags"]) == (["a", "b"], ["a", "b"])


@pytest.mark.parametrize("raw", ["", "x" * 9001])
def test_an_empty_or_oversize_entry_is_invalid_and_stores_nothing(system, notes, raw):
    head = system.memory.recorder.max_notification_id()
    with pytest.raises(Invalid) as refused:
        entry(system, notes, raw=raw)
    assert refused.value.details == {"field": "rawEntry"}
    assert system.memory.recorder.max_notification_id() == head


def test_an_expired_entry_is_no_longer_returned(system, notes, memory_items, clock):
    item, position = entry(system, notes, expires_at=clock() + timedelta(minutes=5))
    caught_up(memory_items, position)
    clock.advance(minutes=6)
    assert memory_items.get("ada", item.id, clock()) is None
    assert memory_items.with_key_prefix("ada", entry_key_prefix(str(notes.id)), clock(),
                                        limit=10) == []


def test_entries_are_listed_newest_first_by_offset_or_by_time(system, notes, memory_items,
                                                              clock):
    times = []
    for n in range(4):
        times.append(clock())
        _, position = entry(system, notes, raw=f"entry {n}")
        clock.advance(seconds=1)
    caught_up(memory_items, position)

    def listed(**paging) -> list[str]:
        rows = memory_items.with_key_prefix("ada", entry_key_prefix(str(notes.id)),
                                            clock(), **{"limit": 50, **paging})
        return [row["content"] for row in rows]

    assert listed(limit=2, offset=1) == ["entry 2", "entry 1"]
    assert listed(before=times[2]) == ["entry 1", "entry 0"]
    assert listed(after=times[2]) == ["entry 3"]


def test_a_deleted_entry_is_not_found_again(system, notes):
    item, _ = entry(system, notes)
    entry_id = item.metadata["v0"]["entryId"]
    system.memory.delete_entry("ada", notes.vault_id, str(notes.id), entry_id, cause=SETUP)
    with pytest.raises(MemoryNotFound):
        system.memory.delete_entry("ada", notes.vault_id, str(notes.id), entry_id,
                                   cause=SETUP)


def test_an_unknown_vault_or_memory_takes_no_entry(system, notes):
    with pytest.raises(CollectionNotFound):
        system.memory.add_entry("ada", notes.vault_id, str(uuid4()), "x", [], None, {},
                                None, cause=SETUP)
    with pytest.raises(VaultNotFound):
        system.memory.add_entry("eve", notes.vault_id, str(notes.id), "x", [], None, {},
                                None, cause=SETUP)


def event_types(system, aggregate_id) -> list[str]:
    return [type(e).__qualname__ for e in system.memory.events.get(aggregate_id)]


def test_deleting_a_vault_deletes_its_memories_and_their_entries_each_with_an_event(
        system, notes):
    item, _ = entry(system, notes)
    system.memory.delete_vault("ada", notes.vault_id, [str(notes.id)], [item.id],
                               cause=SETUP)
    assert event_types(system, notes.id)[-1] == "MemoryCollection.Deleted"
    assert event_types(system, item.id) == ["MemoryItem.Upserted", "MemoryItem.Deleted"]


def test_deleting_a_vault_leaves_a_memory_of_another_vault_alone(system, notes):
    other = collection(system, vault(system, "home"))
    system.memory.delete_vault("ada", notes.vault_id, [str(notes.id), str(other.id)], [],
                               cause=SETUP)
    assert event_types(system, other.id) == ["MemoryCollection.Created"]


def test_deleting_a_memory_deletes_its_entries_and_frees_its_title(system, notes):
    item, _ = entry(system, notes)
    system.memory.delete_memory("ada", notes.vault_id, str(notes.id), [item.id],
                                cause=SETUP)
    assert event_types(system, item.id) == ["MemoryItem.Upserted", "MemoryItem.Deleted"]
    work = system.memory.owned_vault("ada", notes.vault_id)
    assert collection(system, work).id != notes.id


def test_attaching_moves_a_memory_and_its_title_to_another_vault(system, notes, vaults):
    work = system.memory.owned_vault("ada", notes.vault_id)
    home = vault(system, "home")
    _, position = system.memory.attach_memory("ada", str(home.id), str(notes.id),
                                              cause=SETUP)
    caught_up(vaults, position)
    assert vaults.memory("ada", home.id, "notes")["id"] == notes.id
    assert vaults.memory("ada", work.id, "notes") is None
    with pytest.raises(TitleTaken):
        collection(system, home)
    assert collection(system, work).title == "notes"  # freed in the vault it left
