"""Commands on one aggregate take turns (KeyedLock) and retry a version taken by another
process until saved (until_saved); nothing else is retried."""

import time
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from arqium.domain import shared
from arqium.domain.shared import Conflict, KeyedLock, until_saved

TOO_BUSY = Conflict("too busy")
OBJECT_ID = "0b7e4a8e-8c1f-4d5e-9a57-3f7f1c2b9d10"


def in_another_thread(function):
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function).result()


def try_at_once(locks: KeyedLock, key) -> bool:
    """Whether the key could be held right now, from another thread."""
    def attempt() -> bool:
        with locks.holding(key, timeout=0) as ours:
            return ours
    return in_another_thread(attempt)


def test_a_held_key_cannot_be_held_by_another_thread_meanwhile():
    locks = KeyedLock()
    with locks.holding("a") as ours:
        assert ours and not try_at_once(locks, "a")
    assert try_at_once(locks, "a")


def test_holding_one_key_does_not_block_another():
    locks = KeyedLock()
    with locks.holding("a"):
        assert try_at_once(locks, "b")


def test_threads_holding_the_same_key_are_never_inside_together():
    locks, inside, most = KeyedLock(), [0], [0]

    def take_turn(_: int) -> None:
        with locks.holding("a"):
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            time.sleep(0)  # lets another thread run, and enter if it could
            inside[0] -= 1

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(take_turn, range(500)))
    assert most[0] == 1


def test_a_key_is_forgotten_once_nobody_holds_or_awaits_it():
    locks = KeyedLock()
    with locks.holding("a"):
        assert not try_at_once(locks, "a")  # a waiter that gave up leaves nothing
        assert len(locks) == 1
    with pytest.raises(ValueError), locks.holding("b"):
        raise ValueError("a failing command leaves nothing either")
    assert len(locks) == 0


def clashing(times: int, then=None, error=IntegrityError):
    """An attempt whose first `times` calls fail with `error`; its calls are counted."""
    calls = []

    def attempt():
        calls.append(1)
        if len(calls) <= times:
            raise error("clash")
        return then
    return attempt, calls


def test_a_version_taken_by_another_process_is_retried_past_ten_clashes():
    attempt, calls = clashing(12, then="saved")
    assert until_saved(KeyedLock(), OBJECT_ID, attempt, TOO_BUSY) == "saved"
    assert len(calls) == 13


def test_a_database_error_is_raised_at_once_not_retried():
    attempt, calls = clashing(1, error=OperationalError)
    with pytest.raises(OperationalError):
        until_saved(KeyedLock(), OBJECT_ID, attempt, TOO_BUSY)
    assert len(calls) == 1


def test_clashes_beyond_the_deadline_are_too_busy(monkeypatch):
    monkeypatch.setattr(shared, "SAVE_DEADLINE_SECONDS", 0.0)
    attempt, _ = clashing(1)
    with pytest.raises(Conflict) as refused:
        until_saved(KeyedLock(), OBJECT_ID, attempt, TOO_BUSY)
    assert refused.value is TOO_BUSY


def test_every_spelling_of_an_id_takes_the_same_turn():
    locks = KeyedLock()

    def attempt() -> bool:
        return try_at_once(locks, UUID(OBJECT_ID))

    assert until_saved(locks, OBJECT_ID.upper(), attempt, TOO_BUSY) is False


def test_a_command_that_waited_too_long_for_its_turn_goes_ahead(monkeypatch):
    """So that, the database gone, commands queued on one aggregate fail together."""
    monkeypatch.setattr(shared, "TURN_WAIT_SECONDS", 0.0)
    locks = KeyedLock()
    with locks.holding(UUID(OBJECT_ID)):
        assert in_another_thread(lambda: until_saved(
            locks, OBJECT_ID, lambda: "saved", TOO_BUSY)) == "saved"
