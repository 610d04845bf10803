"""The event feed workers read an application's log through."""

import threading

import psycopg
import pytest

from arqium.domain.memory.application import MemoryDraft
from arqium.infra.listener import Listener
from arqium.projections.vaults import VaultsProjection
from arqium.workers import feed as feed_module
from arqium.workers.feed import EventFeed
from tests.conftest import SETUP, eventually


def test_close_ends_a_feed_that_waits_for_events_at_once(system, monkeypatch):
    monkeypatch.setattr(feed_module, "IDLE_POLL_SECONDS", 60.0)  # else it looks again soon
    feed = EventFeed(system.memory, 0, lambda: False)
    batches, read = feed.batches(), []
    reader = threading.Thread(target=lambda: read.append(next(batches, None)))
    reader.start()
    reader.join(0.5)  # nothing stored: it waits for a commit
    feed.close()
    reader.join(10)
    assert not reader.is_alive()
    assert read == [None]


def make_unreadable(system, position: int) -> None:
    """The memory event at `position` cannot be read: its class is gone, as after a bad
    deployment."""
    with psycopg.connect(system.settings.database_url, autocommit=True) as conn:
        conn.execute("UPDATE memory_events SET topic = 'vanished.module:Gone' "
                     "WHERE notification_id = %s", (position,))


def positions_read(feed: EventFeed, batches: int) -> list[list[int]]:
    return [[tracking.notification_id for _, tracking in feed.next_batch()]
            for _ in range(batches)]


@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_feed_gives_a_skipped_event_alone_and_reads_on_past_one_it_cannot_read(
        system, batch_size):
    p = [system.memory.upsert("u1", MemoryDraft(key=key, content=key), cause=SETUP)[1]
         for key in "abcde"]
    make_unreadable(system, p[2])
    feed = EventFeed(system.memory, 0, lambda: False, batch_size=batch_size,
                     skipped={p[1], p[2]})
    expected = {1: [[p[0]], [p[1]], [p[3]], [p[4]], []],
                3: [[p[0]], [p[1]], [p[3], p[4]], [], []]}[batch_size]
    assert positions_read(feed, 5) == expected
    assert feed.after == p[4]


def test_an_event_stored_without_state_stops_the_feed_at_its_position(system):
    """The library's table allows a NULL state (it never writes one): the events before
    it are read, then EventFailed names its position, which an operator can skip."""
    p = [system.memory.upsert("u1", MemoryDraft(key=key, content=key), cause=SETUP)[1]
         for key in "abc"]
    with psycopg.connect(system.settings.database_url, autocommit=True) as conn:
        conn.execute("UPDATE memory_events SET state = NULL WHERE notification_id = %s",
                     (p[1],))
    feed = EventFeed(system.memory, 0, lambda: False)
    assert [tracking.notification_id for _, tracking in feed.next_batch()] == [p[0]]
    with pytest.raises(feed_module.EventFailed) as failed:
        feed.next_batch()
    assert failed.value.position == p[1]
    skipping = EventFeed(system.memory, 0, lambda: False, skipped={p[1]})
    assert positions_read(skipping, 2) == [[p[0]], [p[2]]]


def test_a_feed_of_topics_reads_their_events_under_either_topic_then_the_head(system):
    """Events of other topics are passed over, the head closing the batch that reaches
    it; a vault stored before the code was installed as `arqium` is read all the same."""
    def upsert(key: str) -> int:
        return system.memory.upsert("u1", MemoryDraft(key=key, content=key),
                                    cause=SETUP)[1]

    upsert("a")
    vault, _ = system.memory.create_vault("u1", "vault", "", cause=SETUP)
    upsert("b")
    with psycopg.connect(system.settings.database_url, autocommit=True) as conn:
        (created_at,), = conn.execute(
            "UPDATE memory_events SET topic = replace(topic, 'arqium.domain.', 'domain.') "
            "WHERE originator_id = %s RETURNING notification_id", (vault.id,)).fetchall()
    head = upsert("c")
    feed = EventFeed(system.memory, 0, lambda: False, batch_size=2,
                     topics=VaultsProjection.topics())
    assert [(event and type(event).__qualname__, tracking.notification_id)
            for event, tracking in feed.next_batch()] == [("Vault.Created", created_at),
                                                          (None, head)]
    assert feed.next_batch() == []
    later = upsert("d")
    assert [(event, tracking.notification_id) for event, tracking in feed.next_batch()
            ] == [(None, later)]


@pytest.mark.parametrize("topics", [(), VaultsProjection.topics()])
def test_a_batch_weighs_at_most_its_bytes_yet_holds_an_event_heavier_alone(
        system, monkeypatch, topics):
    """However large the events, a batch holds no more than BATCH_BYTES of them (one
    heavier event comes alone) and the feed reads every one, in order, reaching the head
    only after the last: a cut batch is not the log's end."""
    monkeypatch.setattr(feed_module, "BATCH_BYTES", 6000)
    sizes = [10, 2500, 2500, 2500, 9000, 10, 10, 2500]
    for number, size in enumerate(sizes):
        if topics:  # vaults, whose events the feed of topics reads, among memories
            system.memory.create_vault("u1", f"vault {number}", "d" * size, cause=SETUP)
        else:
            system.memory.upsert("u1", MemoryDraft(key=f"k{number}", content="x" * size),
                                 cause=SETUP)
    head = system.memory.upsert("u1", MemoryDraft(key="last", content="."),
                                cause=SETUP)[1]
    with psycopg.connect(system.settings.database_url) as conn:
        weights = dict(conn.execute(
            "SELECT notification_id, octet_length(state) FROM memory_events "
            "WHERE %(topics)s::text[] IS NULL OR topic = ANY(%(topics)s::text[]) "
            "ORDER BY notification_id", {"topics": list(topics) or None}).fetchall())
    feed = EventFeed(system.memory, 0, lambda: False, topics=topics)
    batches = []
    while batch := feed.next_batch():
        batches.append([tracking.notification_id for event, tracking in batch
                        if event is not None])
        assert feed._at_head == (feed.after == head)
    assert [position for batch in batches for position in batch] == list(weights)
    assert all(sum(weights[position] for position in batch) <= 6000
               for batch in batches if len(batch) > 1)
    assert any(len(batch) == 1 and weights[batch[0]] > 6000 for batch in batches)
    assert len(batches) > 3  # cut by weight: the batch size (500) would take them all
    assert feed.after == head


def test_a_feed_reads_what_commits_in_its_gather_time_at_once(system):
    """After a batch, a gathering feed reads again only once its gather time since the
    last read is over: commits made meanwhile come in one batch, not one each. Closing
    it ends a gather at once."""
    def upsert(key: str) -> int:
        return system.memory.upsert("u1", MemoryDraft(key=key, content=key),
                                    cause=SETUP)[1]

    first = upsert("a")
    feed = EventFeed(system.memory, 0, lambda: False, gather_seconds=1.0)
    batches = feed.batches()
    assert [tracking.notification_id for _, tracking in next(batches)] == [first]
    written = [upsert("b")]
    read: list = []
    reader = threading.Thread(target=lambda: read.append(next(batches)))
    reader.start()
    reader.join(0.2)  # still gathering: it has not read "b" on its own
    assert read == []
    written.append(upsert("c"))
    reader.join(10)
    assert [[tracking.notification_id for _, tracking in batch] for batch in read] == [
        written]
    ending = threading.Thread(target=lambda: read.append(next(batches, None)))
    ending.start()  # gathering again, for a second
    feed.close()
    ending.join(0.5)
    assert not ending.is_alive() and read[-1] is None


def test_a_stop_just_after_a_feeds_look_at_it_ends_its_next_gather(system):
    """A worker group stops its feeds by setting their stop event and waking their
    waits. A stop that comes just after a feed looked at that event, before it read,
    still ends the gather that follows the read, not 60 s later."""
    positions = [system.memory.upsert("u1", MemoryDraft(key=key, content=key),
                                      cause=SETUP)[1] for key in "abc"]
    listener = Listener(system.settings.database_url)
    stopping, looks = threading.Event(), []

    def should_stop() -> bool:
        looks.append(None)
        if len(looks) == 2:  # the stop comes now, once the feed has looked
            stopping.set()
            listener.wake_all()
            return False
        return stopping.is_set()

    # A full first batch (more is waiting: no gather), then the rest and a gather.
    feed = EventFeed(system.memory, 0, should_stop, listener, batch_size=2,
                     gather_seconds=60.0, hurried_by="arqium_awaited_test")
    read: list = []
    reader = threading.Thread(target=lambda: read.extend(
        [tracking.notification_id for _, tracking in batch] for batch in feed.batches()))
    try:
        # Listened to before the feed starts: LISTEN taking effect wakes it once too.
        listener.on_notify("arqium_awaited_test", lambda: None)
        eventually(lambda: listener.listening("arqium_awaited_test"))
        reader.start()
        reader.join(10)
        assert not reader.is_alive(), "the feed sat out its gather after the stop"
        assert read == [positions[:2], positions[2:]]
    finally:
        feed.close()
        reader.join(10)
        listener.close()


def test_a_feed_behind_the_log_reads_on_without_gathering(system):
    """A full batch says more is waiting: a projector or relay catching up reads the
    next one at once, at full speed, whatever its gather time."""
    positions = [system.memory.upsert("u1", MemoryDraft(key=key, content=key),
                                      cause=SETUP)[1] for key in "abcde"]
    feed = EventFeed(system.memory, 0, lambda: False, batch_size=2, gather_seconds=60.0)
    batches, read = feed.batches(), []
    reader = threading.Thread(target=lambda: read.extend(
        [tracking.notification_id for _, tracking in next(batches)] for _ in range(3)))
    reader.start()
    reader.join(10)
    assert read == [positions[:2], positions[2:4], positions[4:]]
    feed.close()


def test_a_notify_on_its_hurry_channel_ends_a_feeds_gather_at_once(system):
    """A read waiting for what the feed's reader writes asks it not to gather: the feed
    reads the commit made meanwhile at once, not at the end of its gather time."""
    def upsert(key: str) -> int:
        return system.memory.upsert("u1", MemoryDraft(key=key, content=key),
                                    cause=SETUP)[1]

    listener = Listener(system.settings.database_url)
    feed = EventFeed(system.memory, 0, lambda: False, listener, gather_seconds=60.0,
                     hurried_by="arqium_awaited_test")
    try:
        # Listened to before the feed starts: LISTEN taking effect wakes it once too.
        listener.on_notify("arqium_awaited_test", lambda: None)
        eventually(lambda: listener.listening("arqium_awaited_test"))
        upsert("a")
        batches, read = feed.batches(), []
        next(batches)
        later = upsert("b")
        reader = threading.Thread(target=lambda: read.append(next(batches)))
        reader.start()
        reader.join(0.5)  # gathering: a commit alone does not end it
        assert read == []
        with psycopg.connect(system.settings.database_url, autocommit=True) as conn:
            conn.execute("NOTIFY arqium_awaited_test")
        reader.join(10)
        assert [[tracking.notification_id for _, tracking in batch] for batch in read
                ] == [[later]]
    finally:
        feed.close()
        listener.close()
