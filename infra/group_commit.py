"""An application recorder that coalesces concurrent appends into one transaction.

The library's recorder takes an exclusive table lock and sends a NOTIFY in every
inserting transaction, so concurrent commands queue behind each other and each pays
for its own commit. Here, while one thread commits, the others queue their events;
the next leader writes everything queued in one transaction. If that transaction
fails on a uniqueness violation (some aggregate's version was taken by a concurrent
writer), each queued append is retried in its own transaction, so every caller gets
its own outcome: each aggregate's version is still checked on its own. An append of a
request with an Idempotency-Key carries its receipt (infra/idempotency.py), taken in
the caller's thread when it is queued, and commits alone.
"""

import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent

from arqium.infra.eventstore import run_checks_before_connecting
from arqium.infra.idempotency import ReceiptRecorder, with_receipt


class _Append:
    def __init__(self, stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]):
        self.stored_events = stored_events
        self.kwargs = kwargs
        self.done = False
        self.notification_ids: Sequence[int] | None = None
        self.error: BaseException | None = None
        # Held until its caller is to wake: its append done, or the lead handed to it.
        self.woken = threading.Lock()
        self.woken.acquire()

    def has_extras(self) -> bool:
        return any(value is not None for value in self.kwargs.values())

    def result(self) -> Sequence[int] | None:
        if self.error is not None:
            raise self.error
        return self.notification_ids


class GroupCommitRecorder(ReceiptRecorder):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._queue: list[_Append] = []
        self._leading = False
        self.transactions = 0  # how many inserting transactions were committed
        self._successor: _Append | None = None  # handed the lead, not yet leading
        self._mutex = threading.Lock()

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any
                      ) -> Sequence[int] | None:
        # The caller's own checks (a request's read-your-writes wait) run here, in its
        # thread: never as the leader of a batch, where they would fail others' writes.
        run_checks_before_connecting()
        append = _Append(stored_events, with_receipt(stored_events, kwargs))
        with self._mutex:
            self._queue.append(append)
            follows, self._leading = self._leading, True
        if follows:
            self._wait_for_turn(append)
        if not append.done:
            self._lead()
        return append.result()

    def _wait_for_turn(self, append: _Append) -> None:
        """Sleep until the append is done or the lead is handed to it. A caller
        interrupted meanwhile (a signal, in the main thread) withdraws its append if it
        is still queued, and hands the lead on if it was handed it: the writers behind
        it would otherwise wait for ever."""
        try:
            append.woken.acquire()
        except BaseException:
            with self._mutex:
                if append in self._queue:
                    self._queue.remove(append)
                successor = self._next_leader() if self._successor is append else None
            if successor is not None:
                successor.woken.release()
            raise

    def _lead(self) -> None:
        """Commit every queued append, wake their callers, and hand the lead to the
        first append queued meanwhile. Only those threads wake: the rest of the queue
        sleeps on (a wake-up of every waiter on every commit cost each write one more
        thread switch)."""
        with self._mutex:
            batch, self._queue, self._successor = self._queue, [], None
        try:
            self._commit(batch)
        except BaseException as error:  # each append's own failure is caught: not this
            for append in batch:
                if not append.done:
                    append.error, append.done = error, True
            raise
        finally:
            with self._mutex:
                successor = self._next_leader()
            for append in batch:
                append.woken.release()
            if successor is not None:
                successor.woken.release()

    def _next_leader(self) -> _Append | None:
        """The first queued append, handed the lead (None: the lead is free). Called
        holding the mutex."""
        self._successor = self._queue[0] if self._queue else None
        self._leading = self._successor is not None
        return self._successor

    def _commit(self, batch: list[_Append]) -> None:
        # Appends that carry extras (a process application's tracking, a keyed
        # request's receipt) commit alone.
        if len(batch) == 1 or any(a.has_extras() for a in batch):
            for append in batch:
                self._commit_alone(append)
            return
        events = [e for append in batch for e in append.stored_events]
        try:
            ids = super().insert_events(events, receipt=None)
            self.transactions += 1
        except IntegrityError:
            for append in batch:
                self._commit_alone(append)
            return
        except BaseException as error:
            for append in batch:
                append.error, append.done = error, True
            return
        start = 0
        for append in batch:
            end = start + len(append.stored_events)
            append.notification_ids = ids[start:end] if ids is not None else None
            append.done, start = True, end

    def _commit_alone(self, append: _Append) -> None:
        try:
            append.notification_ids = super().insert_events(
                append.stored_events, **append.kwargs)
            self.transactions += 1
        except BaseException as error:
            append.error = error
        append.done = True
