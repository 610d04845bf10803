"""Rows read from PostgreSQL, kept in this process until a NOTIFY says they may have
changed: what spares most requests a query to verify their credentials."""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from arqium.infra.listener import Listener

MAX_ROWS = 10_000  # a few MB at most; past it, the cache starts anew
# How long a row is kept at most: should notifications never arrive (a LISTEN that a
# pooler in transaction mode swallows), a change still shows within this time.
MAX_AGE_SECONDS = 30.0


class NotifiedCache:
    """Rows looked up by key, all dropped on each NOTIFY of `channel` (which the writers
    of those rows send in the transaction that changes them). Nothing is kept or served
    while the channel is not listened to: a notification sent while the LISTEN
    connection was down cannot leave a stale row behind. No row is kept longer than
    `max_age` seconds. Until `start`, a pass-through."""

    def __init__(self, channel: str, max_rows: int = MAX_ROWS,
                 max_age: float = MAX_AGE_SECONDS):
        self.channel = channel
        self._max_rows = max_rows
        self._max_age = max_age
        self._rows: dict[Hashable, tuple[Any, float]] = {}  # each row, and until when
        self._generation = 0  # one more on each drop: a read begun before it is not kept
        self._mutex = threading.Lock()
        self._listener: Listener | None = None

    def start(self, database_url: str) -> None:
        self._listener = Listener(database_url)
        self._listener.on_notify(self.channel, self.drop_all)

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def cached(self, key: Hashable) -> Any | None:
        """The row kept for `key`, if any (no query)."""
        kept = self._rows.get(key) if self.listening() else None
        if kept is None or kept[1] < time.monotonic():
            return None
        return kept[0]

    def lookup(self, key: Hashable, read: Callable[[], Any | None]) -> Any | None:
        """The kept row, else `read()`'s (kept unless None, or the rows were dropped
        while it was being read: it may predate the change that dropped them)."""
        row = self.cached(key)
        if row is not None:
            return row
        generation = self._generation
        row = read()
        if row is not None:
            with self._mutex:
                if generation == self._generation and self.listening():
                    if len(self._rows) >= self._max_rows:
                        self._rows = {}
                    self._rows[key] = (row, time.monotonic() + self._max_age)
        return row

    def drop_all(self) -> None:
        """Forget every row (something they came from changed)."""
        with self._mutex:
            self._generation += 1
            self._rows = {}

    def listening(self) -> bool:
        """Whether rows are kept and served now (LISTEN is in effect)."""
        return self._listener is not None and self._listener.listening(self.channel)
