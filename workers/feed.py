"""Reads an application's notification log in batches, waking on its NOTIFY channel."""

from collections.abc import Callable, Iterator
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking
from psycopg.sql import SQL, Identifier

BATCH_SIZE = 500
IDLE_POLL_SECONDS = 0.5


class EventFeed:
    """Yields batches of (domain event, tracking) after `after`, until stopped."""

    def __init__(self, app: Application, after: int, should_stop: Callable[[], bool],
                 batch_size: int = BATCH_SIZE):
        self.app = app
        self.after = after
        self.should_stop = should_stop
        self.batch_size = batch_size

    def batches(self) -> Iterator[list[tuple[Any, Tracking]]]:
        recorder: Any = self.app.recorder
        with recorder.datastore.get_connection() as listener:
            listener.execute(SQL("LISTEN {0}").format(Identifier(recorder.channel_name)))
            while not self.should_stop():
                batch = self.next_batch()
                if batch:
                    yield batch
                    continue
                # Nothing new: sleep until a commit notifies (or a short poll elapses).
                for _ in listener.notifies(timeout=IDLE_POLL_SECONDS, stop_after=1):
                    pass

    def next_batch(self) -> list[tuple[Any, Tracking]]:
        notifications = self.app.recorder.select_notifications(
            start=self.after, limit=self.batch_size, inclusive_of_start=False)
        if notifications:
            self.after = notifications[-1].id
        return [(self.app.mapper.to_domain_event(n), Tracking(self.app.name, n.id))
                for n in notifications]
