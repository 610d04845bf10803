"""One LISTEN connection for a whole process: a thread receives the notifications of
every channel its threads wait on, and wakes them."""

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg.sql import SQL, Identifier

from arqium.infra.connections import DEDICATED_CONNECTION

log = logging.getLogger("arqium.listener")

# How often the thread looks for channels to start listening to (a connection cannot
# run LISTEN while it waits for notifications), and waits before reconnecting.
CHECK_SECONDS = 0.2
RECONNECT_SECONDS = 0.5


class Listener:
    """Wakes waiters on PostgreSQL NOTIFY, and once when their channel is listened to
    (again, after a lost connection): no commit goes unnoticed. A wake-up is still a
    hint, never the only way to progress: waiters also look again on their own after a
    while."""

    def __init__(self, database_url: str):
        self._url = database_url
        self._conn = self._connect()
        # What each channel's notifications call (the `set` of waiting threads' events).
        self._waiters: dict[str, set[Callable[[], None]]] = defaultdict(set)
        self._listening: set[str] = set()
        self._mutex = threading.Lock()
        self._closing = threading.Event()
        # Its own channel: a NOTIFY there ends the thread's wait at once when closing.
        self._own_channel = f"arqium_listener_{uuid.uuid4().hex}"
        self._waiters[self._own_channel].add(threading.Event().set)
        self._thread = threading.Thread(target=self._run, name="listener", daemon=True)
        self._thread.start()

    @contextmanager
    def wakeups(self, channel: str) -> Iterator[threading.Event]:
        """An event set on every notification of `channel`, while the context lasts."""
        event = threading.Event()
        with self.calling(channel, event.set):
            yield event

    @contextmanager
    def calling(self, channel: str, callback: Callable[[], None]) -> Iterator[None]:
        """Call `callback` (as `on_notify` does) while the context lasts."""
        with self._mutex:
            self._waiters[channel].add(callback)
        try:
            yield
        finally:
            with self._mutex:
                self._waiters[channel].discard(callback)

    def on_notify(self, channel: str, callback: Callable[[], None]) -> None:
        """Call `callback` (in the listener's thread: it must be quick) on every
        notification of `channel`, and once each time LISTEN takes effect on it."""
        with self._mutex:
            self._waiters[channel].add(callback)

    def listening(self, channel: str) -> bool:
        """Whether LISTEN is in effect on `channel` (not while reconnecting)."""
        return channel in self._listening

    def wake_all(self) -> None:
        """Wake every waiter (they are stopping: none should sit out its poll)."""
        with self._mutex:
            wakes = [wake for channel_wakes in self._waiters.values()
                     for wake in channel_wakes]
        for wake in wakes:
            wake()

    def close(self) -> None:
        self._closing.set()
        self._nudge()
        self._thread.join()
        self._conn.close()

    def _nudge(self) -> None:
        """End the thread's wait for notifications now rather than after CHECK_SECONDS."""
        try:
            with psycopg.connect(self._url, autocommit=True,
                                 **DEDICATED_CONNECTION) as conn:
                conn.execute(SQL("NOTIFY {0}").format(Identifier(self._own_channel)))
        except psycopg.Error:
            pass  # unreachable: the thread ends after its check anyway

    def _run(self) -> None:
        while not self._closing.is_set():
            try:
                self._listen_to_new_channels()
                # After one batch the loop looks at `_closing` again: waiting out the rest
                # of CHECK_SECONDS would hold up close() (every test's teardown).
                for notify in self._conn.notifies(timeout=CHECK_SECONDS, stop_after=1):
                    self._wake(notify.channel)
            except psycopg.Error as error:
                if not self._closing.is_set():
                    log.warning("LISTEN connection lost (%s); reconnecting", error)
                    self._reconnect()

    def _connect(self) -> psycopg.Connection:
        return psycopg.connect(self._url, autocommit=True, **DEDICATED_CONNECTION)

    def _listen_to_new_channels(self) -> None:
        with self._mutex:
            new = [channel for channel in self._waiters if channel not in self._listening]
        for channel in new:
            self._conn.execute(SQL("LISTEN {0}").format(Identifier(channel)))
            # A commit before LISTEN took effect (or while the connection was lost) was
            # notified to no one: the channel's waiters look again now, before it counts
            # as listened to (what a cache drops now must not be served meanwhile).
            self._wake(channel)
            self._listening.add(channel)

    def _wake(self, channel: str) -> None:
        with self._mutex:
            wakes = list(self._waiters.get(channel, ()))
        for wake in wakes:
            wake()

    def _reconnect(self) -> None:
        self._listening.clear()
        self._conn.close()
        while not self._closing.wait(RECONNECT_SECONDS):
            try:
                self._conn = self._connect()
                log.info("LISTEN connection re-established")
                return
            except psycopg.OperationalError:
                continue
