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
    created = client.ledger.create("contract", {"amount": 100, "status": "draft"})
    client.ledger.transact(created.id, "sign", {"status": "signed"})
    now = client.ledger.get(created.id)
    before = client.ledger.get(created.id, version=1)
    assert (now.version, now.data) == (2, {"amount": 100, "status": "signed"})
    assert before.data == {"amount": 100, "status": "draft"}
    assert client.ledger.get(created.id, as_of=datetime.now(UTC)).version == 2


def test_a_ledger_objects_history_is_hash_chained(client):
    created = client.ledger.create("invoice", {"total": 5})
    client.ledger.transact(created.id, "pay", {"paid": True})
    first, second = client.ledger.history(created.id)
    assert second.prev_hash == first.hash
    assert [first.version, second.version] == [1, 2]


def test_a_transaction_answers_what_the_objects_transactions_list(client):
    created = client.ledger.create("invoice", {"total": 5})
    paid = client.ledger.transact(created.id, "pay", {"paid": True}, metadata={"by": "Ada"})
    assert (paid.object_id, paid.version, paid.metadata) == (created.id, 2, {"by": "Ada"})
    assert list(client.ledger.transactions(created.id)) == [paid]


def test_a_created_object_is_listed_as_get_shows_it(client):
    created = client.ledger.create("receipt", {"total": 7})
    assert list(client.ledger.objects()) == [created] == [client.ledger.get(created.id)]


def test_the_ledger_lists_follow_the_pages(client):
    ids = [client.ledger.create("contract", {"n": number}).id for number in range(5)]
    for number in range(5):
        client.ledger.transact(ids[0], "count", {"n": number})
    assert [obj.id for obj in client.ledger.objects(per_page=2)] == ids
    counted = [t.data["n"] for t in client.ledger.transactions(ids[0], per_page=2)]
    assert counted == list(range(5))
    assert [event.version for event in client.ledger.history(ids[0], per_page=4)] == list(
        range(1, 7))


def test_a_stale_expected_version_raises_conflict(client):
    created = client.ledger.create("contract", {"status": "draft"})
    with pytest.raises(Conflict):
        client.ledger.transact(created.id, "sign", {"status": "signed"}, expected_version=2)


def test_verifying_the_ledger_takes_the_auditor_role(client):
    with pytest.raises(Forbidden) as raised:
        client.ledger.verify()
    assert raised.value.code == "FORBIDDEN"


def test_an_admin_verifies_and_exports_the_ledger(client, admin):
    created = client.ledger.create("receipt", {"total": 7})
    assert admin.ledger.verify().ok
    exported = [event for event in admin.ledger.export() if event.object_id == created.id]
    assert [event.data for event in exported] == [{"total": 7}]
