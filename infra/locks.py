"""Postgres advisory locks that elect one active runner per worker, and let a
rebuild ask the active projector to step aside."""

import threading
import time
import zlib

import psycopg

from arqium.infra.connections import DEDICATED_CONNECTION

ACTIVE = 73010  # held by the runner that currently owns a worker's position
REBUILD = 73011  # held by a rebuild that wants the projector out of the way
REBUILDING = 73012  # held by a rebuild from its first event to its swap (status shows it)
# How stale a process's view of the locks other sessions hold may be: a rebuild waits at
# most this long, plus a batch, for the live projector to step aside.
HELD_CHECK_SECONDS = 0.2


def lock_id(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def worker_lock_name(worker: str, application: str) -> str:
    return f"{worker}:{application}"


def active_worker_ids(curs, kind: int = ACTIVE) -> set[int]:
    """Lock ids of the workers that have an active runner right now (or, with
    kind=REBUILDING, that are being rebuilt)."""
    curs.execute("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                 "AND classid = %s", (kind,))
    return {int(row["objid"]) for row in curs.fetchall()}


class AdvisoryLocks:
    """Session-level advisory locks of one process, all on one dedicated connection
    that its threads share: locks cost one connection however many workers run.
    Advisory locks are re-entrant within a session, so two runners of the same worker
    (a hot standby) need two instances: two processes. When the connection is lost,
    every lock is lost with it: `check` tells, and the workers that held them stop."""

    def __init__(self, database_url: str):
        self._conn = psycopg.connect(database_url, autocommit=True, **DEDICATED_CONNECTION)
        self._mutex = threading.Lock()
        self._held: dict[int, tuple[float | None, frozenset[int]]] = {}

    def of(self, name: str) -> "WorkerLocks":
        """The locks of the worker called `name`."""
        return WorkerLocks(self, lock_id(name))

    def fetch(self, sql: str, params: tuple) -> object:
        """The single value `sql` answers, one thread at a time on the connection."""
        with self._mutex:
            return self._conn.execute(sql, params).fetchone()[0]

    def held_elsewhere(self, kind: int) -> frozenset[int]:
        """The keys of `kind` that other sessions hold, as seen at most HELD_CHECK_SECONDS
        ago: one look for all the process's workers, however many ask."""
        with self._mutex:
            seen_at, keys = self._held.get(kind, (None, frozenset()))
            if seen_at is None or time.monotonic() - seen_at >= HELD_CHECK_SECONDS:
                rows = self._conn.execute(
                    "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND classid = %s AND pid <> pg_backend_pid()", (kind,)).fetchall()
                keys = frozenset(int(objid) for objid, in rows)
                self._held[kind] = (time.monotonic(), keys)
            return keys

    def check(self) -> None:
        """Raise (psycopg.OperationalError) if the connection, and so every lock, is lost."""
        self.fetch("SELECT 1", ())

    def close(self) -> None:
        self._conn.close()


class WorkerLocks:
    """One worker's locks: ACTIVE while it runs, REBUILD while a rebuild wants it out."""

    def __init__(self, locks: AdvisoryLocks, key: int):
        self._locks = locks
        self._key = key

    def try_acquire(self, kind: int) -> bool:
        return bool(self._locks.fetch("SELECT pg_try_advisory_lock(%s, %s)",
                                      (kind, self._key)))

    def acquire(self, kind: int) -> None:
        """Wait for the lock; every other thread's lock call waits meanwhile (only a
        rebuild, alone in its process, waits so)."""
        self._locks.fetch("SELECT pg_advisory_lock(%s, %s)", (kind, self._key))

    def release(self, kind: int) -> None:
        self._locks.fetch("SELECT pg_advisory_unlock(%s, %s)", (kind, self._key))

    def held_elsewhere(self, kind: int) -> bool:
        return self._key in self._locks.held_elsewhere(kind)
