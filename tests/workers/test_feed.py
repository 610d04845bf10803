"""The event feed workers read an application's log through."""

import threading

from arqium.workers import feed as feed_module
from arqium.workers.feed import EventFeed


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
