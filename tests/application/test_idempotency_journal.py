"""A keyed request's journal against the real event store: its saves carry receipts
atomically, a retry answers the stored commands from them and runs the rest, and a
request whose key was taken over cannot store anything."""

import os
from functools import cache
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from arqium.domain.journal import journaling, remember
from arqium.domain.memory.application import MemoryDraft
from arqium.infra.idempotency import ClaimTakenOver, IdempotencyStore, KeyJournal
from arqium.infra.keys import MasterKey
from arqium.system.bootstrap import open_system
from tests.conftest import SETUP

SCOPE, KEY, FINGERPRINT = "user:u1", "key-1", "same request"
MASTER = cache(lambda: MasterKey(os.urandom(32)))


@pytest.fixture(params=[True, False], ids=["group_commit", "a_transaction_each"])
def system(request, settings, clock):
    """Both recorders write receipts: with group commit (the default) and without."""
    system = open_system(settings.model_copy(update={"group_commit": request.param}),
                         clock=clock)
    yield system
    system.close()


@pytest.fixture
def store(system) -> IdempotencyStore:
    return IdempotencyStore(system.pool.get_connection, system.master_key)


def run_out(system) -> None:
    """The lease of the key's holder ends (as when its process died)."""
    with system.pool.get_connection() as conn:
        conn.execute("UPDATE idempotent_responses SET leased_until = now() "
                     "WHERE key = %s", (KEY,))


def journal_of(claim) -> KeyJournal:
    return KeyJournal(SCOPE, KEY, claim.token, MASTER, claim.receipts)


def upsert(system, key: str):
    return system.memory.upsert("u1", MemoryDraft(key=key, content=key), cause=SETUP)


def test_a_retry_answers_the_stored_command_again_and_runs_the_one_that_was_not(
        system, store):
    with journaling(journal_of(store.claim(SCOPE, KEY, FINGERPRINT))):
        item, position = upsert(system, "first")
        # ... and the attempt dies here, before its second command
    run_out(system)
    with journaling(journal_of(store.claim(SCOPE, KEY, FINGERPRINT))) as retry:
        again, again_position = upsert(system, "first")
        _, second_position = upsert(system, "second")
    assert (again.id, again.version, again_position) == (item.id, item.version, position)
    assert system.memory.recorder.max_notification_id() == second_position == position + 1
    assert (retry.replayed, retry.saves) == (1, 1)


def test_a_request_whose_key_was_taken_over_cannot_store_its_command(system, store):
    late = journal_of(store.claim(SCOPE, KEY, FINGERPRINT))
    run_out(system)
    taker = journal_of(store.claim(SCOPE, KEY, FINGERPRINT))
    with journaling(late), pytest.raises(ClaimTakenOver):
        upsert(system, "late")
    assert system.memory.recorder.max_notification_id() is None
    with journaling(taker):
        upsert(system, "late")
    assert system.memory.recorder.max_notification_id() == 1


def test_a_key_whose_holder_still_runs_is_not_taken_over(store):
    store.claim(SCOPE, KEY, FINGERPRINT)
    held = store.claim(SCOPE, KEY, FINGERPRINT)
    assert held.status is None and 0 < held.lease_left <= store.lease_seconds


def test_a_renewed_lease_keeps_the_key_from_a_retry(system, store):
    claim = store.claim(SCOPE, KEY, FINGERPRINT)
    run_out(system)
    store.extend(SCOPE, KEY, claim.token)
    assert store.claim(SCOPE, KEY, FINGERPRINT).status is None


def test_every_save_of_a_command_keeps_what_it_remembered():
    # A save refused on a version clash is tried again: the one that lands needs them.
    journal = KeyJournal(SCOPE, KEY, uuid4(), MASTER)
    event = StoredEvent(originator_id=uuid4(), originator_version=1, topic="t", state=b"")
    with journaling(journal), journal.command(app=None):
        remember("transaction_id", "t-1")
        first, second = journal.receipt([event]), journal.receipt([event])
    assert [journal._opened_notes(receipt.entry["notes"]) for receipt in (first, second)
            ] == [{"transaction_id": "t-1"}] * 2
    assert "t-1" not in str(first.entry["notes"])  # sealed: it may be a secret
