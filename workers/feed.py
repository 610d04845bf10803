"""Reads an application's notification log in batches, woken by its NOTIFY channel."""

import logging
import threading
import time
from collections.abc import Callable, Container, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from itertools import takewhile
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking
from psycopg.rows import tuple_row

from arqium.infra.listener import Listener
from arqium.infra.worker_failures import describe
from arqium.projections.base import filled_sql

log = logging.getLogger("arqium.feed")
BATCH_SIZE = 500
# What a batch's stored events may weigh in all (one event alone may weigh more): a feed
# behind 500 memories of a megabyte would hold them all at once, and a projector's rows
# of them as much again, enough for a small container to be killed for its memory, at
# the same batch every time it started again.
BATCH_BYTES = 32 * 1024 * 1024
IDLE_POLL_SECONDS = 0.5  # how long an idle feed waits, unwoken, before looking again
# With the process's LISTEN connection, every commit wakes the feed: its own look is
# only a safety net, and ~25 feeds looking twice a second were most of an idle
# system's queries.
NOTIFIED_POLL_SECONDS = 2.0


# The head, and the notifications after a position up to it (of some topics, or all):
# one snapshot, so none is past the head. (Bounded by the head as well, they misled the
# planner of a table without statistics, which then read every later event to sort
# them.) One row of the head alone (NULLs besides) when there are none. Past the batch's
# weight (the first row however heavy), rows come without their state: the sizes are
# read, not the states, which a row stored out of line (TOAST) keeps there until sent.
HEAD_AND_NOTIFICATIONS = """
SELECT head.notification_id AS head, e.notification_id, e.originator_id,
    e.originator_version, e.topic, e.within, CASE WHEN e.within THEN e.state END AS state
FROM (SELECT max(notification_id) AS notification_id FROM {table}) AS head
LEFT JOIN (
    SELECT *, coalesce(weighed <= %(bytes)s OR weighed = octet_length(state), true)
        AS within
    FROM (
        SELECT *, sum(octet_length(state)) OVER (ORDER BY notification_id) AS weighed
        FROM (
            SELECT notification_id, originator_id, originator_version, topic, state
            FROM {table}
            WHERE notification_id > %(after)s
                AND (%(topics)s::text[] IS NULL OR topic = ANY(%(topics)s::text[]))
            ORDER BY notification_id LIMIT %(limit)s
        ) AS next
    ) AS running
) AS e ON true
ORDER BY e.notification_id"""
HEAD, POSITION, WITHIN = 0, 1, 5  # of its columns


class EventFailed(Exception):
    """A worker could not handle the event at `position` (it is stuck there); `error` is
    why."""

    def __init__(self, position: int, error: BaseException):
        super().__init__(f"event at position {position}: {error!r}")
        self.position = position
        self.error = error


class EventFeed:
    """Yields batches of (domain event, tracking) after `after`, until stopped: at most
    `batch_size` events a batch, weighing at most BATCH_BYTES as stored (but for one
    heavier event, which comes alone). An event at one of the `skipped` positions comes
    in a batch of its own, or, if it cannot be read, not at all. Given `topics`, it
    reads only events of those, and a batch that reaches the head ends with (None, the
    head's tracking): the positions passed over. A NOTIFY on `hurried_by` (a read
    waiting for what the feed's reader writes) ends a gather at once."""

    def __init__(self, app: Application, after: int, should_stop: Callable[[], bool],
                 listener: Listener | None = None, batch_size: int = BATCH_SIZE,
                 skipped: Container[int] = (), topics: Sequence[str] = (),
                 gather_seconds: float = 0.0, hurried_by: str | None = None):
        self.app = app
        self.after = after
        self.skipped = skipped
        self.topics = list(topics)
        self.gather_seconds = gather_seconds
        self.hurried_by = hurried_by
        self.should_stop = should_stop
        self.listener = listener  # the process's LISTEN connection; else it polls
        self.batch_size = batch_size
        self._closed = threading.Event()
        self._hurried = threading.Event()  # set by close() too: it ends a gather
        self._at_head = False  # whether the last read found the log's end
        self._wakeup: threading.Event | None = None

    def batches(self) -> Iterator[list[tuple[Any, Tracking]]]:
        with self._wakeups() as wakeup, self._hurries():
            self._wakeup = wakeup
            while True:
                wakeup.clear()  # before reading: a commit from now on wakes the wait
                self._hurried.clear()  # and a read waiting from now on ends the gather
                # Looked at after the clearing: a stop that comes later wakes the wait
                # and ends the gather (close() and a worker group's stop set both).
                if self._closed.is_set() or self.should_stop():
                    return
                read_at = time.monotonic()
                batch = self.next_batch()
                if batch:
                    yield batch
                    if self._at_head:  # else more is waiting: read on at once
                        self._gather(read_at)
                    continue
                # Nothing new: sleep until a commit notifies (or the poll elapses).
                wakeup.wait(IDLE_POLL_SECONDS if self.listener is None
                            else NOTIFIED_POLL_SECONDS)

    def _gather(self, last_read_at: float) -> None:
        """While commits keep coming, read at most once every `gather_seconds`: each
        read, and each transaction of what it read, then carries the events of several
        commits, for a fraction of the cost of one each. Unless a read waits: it is then
        worth more than the cost saved."""
        pause = last_read_at + self.gather_seconds - time.monotonic()
        if pause > 0:
            self._hurried.wait(pause)

    def close(self) -> None:
        """End `batches()` (called from another thread): at once, even while it waits
        for new events."""
        self._closed.set()
        self._hurry()

    def next_batch(self) -> list[tuple[Any, Tracking]]:
        """The next events (of the feed's topics, if it has any) up to the head; those
        before one that cannot be read (its topic unknown, its upcast failing), then
        EventFailed at that one. With topics, a batch that reaches the head ends with the
        head: the events between are none a reader of these topics applies, yet a read
        that waits for the head must see it reached."""
        batch: list[tuple[Any, Tracking]] = []
        while not batch:
            head, notifications, whole = self._head_and_notifications()
            if head <= self.after:
                break
            batch = self._read(notifications)
            read_to_head = whole and (not notifications
                                      or self.after == notifications[-1].id)
            self._at_head = read_to_head
            if read_to_head:
                if head > self.after:
                    batch.append((None, Tracking(self.app.name, head)))
                self.after = head
        return batch

    def _head_and_notifications(self) -> tuple[int, list[Notification], bool]:
        """The log's head, the next notifications up to it, and whether they are all
        there were up to it; in one statement (one snapshot): a feed woken by commits of
        other topics costs one round trip, as one reading every event does."""
        recorder: Any = self.app.recorder
        statement = filled_sql(HEAD_AND_NOTIFICATIONS, recorder.datastore.schema,
                               recorder.events_table_name)
        # Rows as tuples: psycopg makes those in C, a dict per row in Python (about 1 of
        # the 5 µs a notification costs this process to read).
        with recorder.datastore.get_connection() as conn, \
                conn.cursor(row_factory=tuple_row) as curs:
            rows = curs.execute(statement, {
                "after": self.after, "topics": self.topics or None,
                "limit": self.batch_size, "bytes": BATCH_BYTES,
            }).fetchall()
        listed = [row for row in rows if row[POSITION] is not None]
        weighed = list(takewhile(lambda row: row[WITHIN], listed))
        notifications = [
            Notification(id=position, originator_id=originator_id,
                         originator_version=version, topic=topic,
                         state=bytes(state or b""))  # none: it cannot be read
            for _, position, originator_id, version, topic, _, state in weighed]
        whole = len(listed) < self.batch_size and len(weighed) == len(listed)
        return (rows[0][HEAD] or 0), notifications, whole

    def _read(self, notifications: list[Any]) -> list[tuple[Any, Tracking]]:
        batch = []
        for notification in notifications:
            if notification.id in self.skipped:
                if batch:
                    break
                if lone := self._skipped_event(notification):
                    return lone
                continue
            try:
                domain_event = self.app.mapper.to_domain_event(notification)
            except Exception as error:
                if batch:
                    break
                raise EventFailed(notification.id, error) from error
            batch.append((domain_event, Tracking(self.app.name, notification.id)))
            self.after = notification.id
        return batch

    def _skipped_event(self, notification: Any) -> list[tuple[Any, Tracking]]:
        self.after = notification.id
        try:
            domain_event = self.app.mapper.to_domain_event(notification)
        except Exception as error:  # noqa: BLE001 - skipped already: stepped over again
            log.warning("the %s event at position %d, skipped by an operator, still cannot "
                        "be read (%s): stepped over again", self.app.name, notification.id,
                        describe(error))
            return []
        return [(domain_event, Tracking(self.app.name, notification.id))]

    def _wakeups(self) -> AbstractContextManager[threading.Event]:
        if self.listener is None:
            return nullcontext(threading.Event())
        recorder: Any = self.app.recorder
        return self.listener.wakeups(recorder.channel_name)

    def _hurries(self) -> AbstractContextManager[None]:
        if self.listener is None or self.hurried_by is None:
            return nullcontext()
        return self.listener.calling(self.hurried_by, self._hurry)

    def _hurry(self) -> None:
        """A read waits for what the feed's reader writes, or a rebuild for the reader to
        step aside: end a gather, and a wait for commits too (the commit's NOTIFY may
        not have come yet; a rebuild's request is seen only by looking)."""
        self._hurried.set()
        if self._wakeup is not None:
            self._wakeup.set()
