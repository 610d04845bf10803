"""Profiles, contexts and the ledger through the client, and the server's refusals as
the client's exceptions."""

from datetime import UTC, datetime

import pytest

from arqium_client import Conflict, Forbidden, NotFound, ValidationFailed


def test_a_profile_update_is_read_back(client):
    client.users.update_profile(name="Ada Lovelace", preferences={"theme": "dark"})
    profile = client.users.profile()
    assert (profile.name, profile.preferences) == ("Ada Lovelace", {"theme": "dark"})


def test_a_context_is_created_read_updated_and_deleted(client):
    created = client.contexts.create("draft", {"step": 1})
    updated = client.contexts.update(created.id, state={"step": 2}, version=created.version)
    assert client.contexts.get(created.id).state == updated.state == {"step": 2}
    client.contexts.delete(created.id)
    with pytest.raises(NotFound):
        client.contexts.get(created.id)


def test_an_update_at_an_old_version_raises_conflict(client):
    created = client.contexts.create("draft", {"step": 1})
    client.contexts.update(created.id, state={"step": 2}, version=created.version)
    with pytest.raises(Conflict) as raised:
        client.contexts.update(created.id, state={"step": 3}, version=created.version)
    assert raised.value.code == "CONFLICT"


def test_sync_merges_changes_made_since_a_version(client):
    created = client.contexts.create("draft", {"a": 1})
    client.contexts.update(created.id, state={"a": 1, "b": 2}, version=created.version)
    synced = client.contexts.sync(created.id, {"a": 1, "c": 3}, base_version=created.version)
    assert synced.state == {"a": 1, "b": 2, "c": 3}


def test_the_contexts_list_follows_the_pages(client):
    for number in range(5):
        client.contexts.create(f"context {number}")
    names = [context.name for context in client.contexts.list(per_page=2)]
    assert names == [f"context {number}" for number in range(5)]


def test_invalid_input_raises_validation_failed_with_the_field(client):
    with pytest.raises(ValidationFailed) as raised:
        client.memory.store("too sure", confidence=2)
    assert (raised.value.code, raised.value.status) == ("VALIDATION_ERROR", 400)
    assert "confidence" in str(raised.value.details)


def test_a_ledger_object_is_read_now_and_as_it_was(client):
    created = client.ledger.create_object("contract", {"amount": 100, "status": "draft"})
    client.ledger.transact(created.id, "sign", {"status": "signed"})
    now = client.ledger.get(created.id)
    before = client.ledger.get(created.id, version=1)
    assert (now.version, now.data) == (2, {"amount": 100, "status": "signed"})
    assert before.data == {"amount": 100, "status": "draft"}
    assert client.ledger.get(created.id, as_of=datetime.now(UTC)).version == 2


def test_a_ledger_objects_history_is_hash_chained(client):
    created = client.ledger.create_object("invoice", {"total": 5})
    client.ledger.transact(created.id, "pay", {"paid": True})
    first, second = client.ledger.history(created.id)
    assert second.prev_hash == first.hash
    assert [first.version, second.version] == [1, 2]


def test_verifying_the_ledger_takes_the_auditor_role(client):
    with pytest.raises(Forbidden) as raised:
        client.ledger.verify()
    assert raised.value.code == "FORBIDDEN"


def test_an_admin_verifies_and_exports_the_ledger(client, admin):
    created = client.ledger.create_object("receipt", {"total": 7})
    assert admin.ledger.verify().ok
    exported = [event for event in admin.ledger.export() if event.object_id == created.id]
    assert [event.data for event in exported] == [{"total": 7}]
