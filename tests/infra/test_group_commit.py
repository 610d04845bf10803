import contextvars
import signal
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError
from psycopg.sql import SQL, Identifier

from arqium.domain.memory.application import MemoryDraft
from arqium.domain.memory.domainmodel import MemoryItem, memory_id_for
from arqium.domain.shared import Conflict
from arqium.infra.eventstore import check_before_connecting
from arqium.infra.group_commit import GroupCommitRecorder
from tests.conftest import SETUP, eventually


def test_the_applications_use_the_coalescing_recorder(system):
    assert isinstance(system.memory.recorder, GroupCommitRecorder)


def test_concurrent_commands_each_get_their_own_gap_free_position(system):
    with ThreadPoolExecutor(max_workers=16) as pool:
        positions = list(pool.map(partial(stored, system), range(200)))
    assert sorted(positions) == list(range(1, 201))


def test_concurrent_commands_share_transactions(system):
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(partial(stored, system), range(320)))
    assert system.memory.recorder.transactions < 320


def test_appends_queued_behind_a_stalled_commit_are_committed_together(system, settings):
    """While the leader's commit waits (the events table locked elsewhere), the appends
    that arrive queue; once it commits, one of them leads and commits them all in one
    transaction, and every caller gets its own position."""
    recorder = system.memory.recorder
    with psycopg.connect(settings.database_url) as blocker:
        first = a_stalled_leader(system, blocker)
        queued = [in_a_thread(stored, system, n) for n in range(1, 8)]
        assert eventually(lambda: len(recorder._queue) == 7)
        blocker.rollback()  # the table lock goes: the stalled commit goes through
        positions = [first.result(timeout=10), *(f.result(timeout=10) for f in queued)]
    assert sorted(positions) == list(range(1, 9))
    assert positions[0] == 1
    assert recorder.transactions == 2


class Interrupted(Exception):
    pass


def test_a_caller_interrupted_in_the_queue_withdraws_its_append_and_the_rest_commit(
        system, settings):
    """A caller interrupted while it waits its turn (a signal, in the main thread)
    leaves nothing behind: its append is not committed, and the appends queued behind
    it still are."""
    recorder = system.memory.recorder

    def interrupt(signum, frame):
        raise Interrupted

    previous = signal.signal(signal.SIGUSR1, interrupt)
    try:
        with psycopg.connect(settings.database_url) as blocker:
            first = a_stalled_leader(system, blocker)

            def meanwhile() -> Future:  # while this thread waits its turn
                assert eventually(lambda: len(recorder._queue) == 1)
                behind = in_a_thread(stored, system, 2)
                assert eventually(lambda: len(recorder._queue) == 2)
                signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
                assert eventually(lambda: len(recorder._queue) == 1)
                blocker.rollback()
                return behind

            later = in_a_thread(meanwhile)
            with pytest.raises(Interrupted):
                stored(system, 1)
            positions = [first.result(timeout=10), later.result(timeout=10).result(10)]
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert positions == [1, 2]
    assert recorder.max_notification_id() == 2
    assert memory_id_for("u1", "k1") not in system.memory.repository
    assert memory_id_for("u1", "k2") in system.memory.repository


def stored(system, n: int) -> int:
    """The position of memory k<n>, stored."""
    return system.memory.upsert("u1", MemoryDraft(key=f"k{n}", content=n),
                                cause=SETUP)[1]


def a_stalled_leader(system, blocker: psycopg.Connection) -> Future:
    """Memory k0 stored in a thread of its own, leading a commit that waits for the
    events table, which `blocker` locks (until it rolls back)."""
    recorder = system.memory.recorder
    blocker.execute(SQL("LOCK TABLE {0} IN EXCLUSIVE MODE").format(
        Identifier(recorder.datastore.schema, recorder.events_table_name)))
    leader = in_a_thread(stored, system, 0)
    assert eventually(lambda: waiting_for_a_lock(blocker) == 1)
    return leader


def in_a_thread(function, *args) -> Future:
    """`function(*args)` in a daemon thread: a caller never woken fails the test (its
    result times out) rather than hanging it."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as error:
            future.set_exception(error)

    threading.Thread(target=run, daemon=True).start()
    return future


def waiting_for_a_lock(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type "
                        "= 'Lock' AND datname = current_database()").fetchone()[0]


def test_a_version_conflict_fails_only_the_conflicting_command(system, cause):
    system.memory.upsert("u1", MemoryDraft(key="shared", content=0), cause=SETUP)
    stale = [system.memory.repository.get(MemoryItem.create_id("u1", "shared"))
             for _ in range(8)]
    for n, item in enumerate(stale):
        item.revise(content=n, layer="temporary", confidence=None, sensitivity="public",
                    tags=[], metadata={}, expires_at=None, at=system.clock())

    def save(item) -> str:
        try:
            system.memory.save(item)
            return "saved"
        except IntegrityError:
            return "conflict"

    def store(n: int):
        return system.memory.upsert("u1", MemoryDraft(key=f"other{n}", content=n),
                                    cause=SETUP)[1]

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(save, stale))
        others = list(pool.map(store, range(8)))
    assert outcomes.count("saved") == 1 and outcomes.count("conflict") == 7
    assert len(set(others)) == 8
    assert system.memory.repository.get(MemoryItem.create_id("u1", "shared")).version == 2


def test_a_concurrent_upsert_of_a_new_key_is_a_conflict_not_a_crash(system):
    def store(n: int) -> str:
        try:
            system.memory.upsert("u1", MemoryDraft(key="same", content=n), cause=SETUP)
            return "stored"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(store, range(8)))
    assert outcomes.count("stored") >= 1
    assert system.memory.repository.get(MemoryItem.create_id("u1", "same")).version == \
        outcomes.count("stored")


def test_an_append_of_megabytes_commits(system):
    # psycopg can deadlock syncing a pipeline that holds a parameter this large: such
    # appends are written without the library's explicit pipeline.
    for size in (100_000, 1_000_000, 4_000_000):
        _, position = system.memory.upsert("u1", MemoryDraft(
            key=f"big{size}", content="x" * size), cause=SETUP)
        assert position > 0
    stored = system.memory.repository.get(MemoryItem.create_id("u1", "big4000000"))
    assert len(stored.content) == 4_000_000


class Behind(Exception):
    pass


def test_a_callers_failing_check_fails_its_own_write_only(system):
    """A request's deferred read check runs in its own thread as it writes: never in a
    batch it leads, where it would fail the others' writes (or be skipped, its write
    committed by another leader)."""

    def behind() -> None:
        raise Behind("the read model is behind")

    def store(n: int) -> str:
        def in_request() -> str:
            if n % 4 == 0:
                check_before_connecting(behind)
            try:
                system.memory.upsert("u1", MemoryDraft(key=f"k{n}", content=n),
                                     cause=SETUP)
            except Behind:
                return "behind"
            return "stored"
        return contextvars.copy_context().run(in_request)

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(store, range(160)))
    assert outcomes == ["behind" if n % 4 == 0 else "stored" for n in range(160)]
    assert system.memory.recorder.max_notification_id() == 120
