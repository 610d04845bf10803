"""Postgres advisory locks that elect one active runner per worker, and let a
rebuild ask the active projector to step aside."""

import zlib

import psycopg

ACTIVE = 73010  # held by the runner that currently owns a worker's position
REBUILD = 73011  # held by a rebuild that wants the projector out of the way


def lock_id(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def worker_lock_name(worker: str, application: str) -> str:
    return f"{worker}:{application}"


def active_worker_ids(curs) -> set[int]:
    """Lock ids of the workers that have an active runner right now."""
    curs.execute("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                 "AND classid = %s", (ACTIVE,))
    return {int(row["objid"]) for row in curs.fetchall()}


class AdvisoryLocks:
    """Session-level advisory locks on one dedicated connection."""

    def __init__(self, database_url: str, name: str):
        self.name = name
        self._key = lock_id(name)
        self._conn = psycopg.connect(database_url, autocommit=True)

    def try_acquire(self, kind: int) -> bool:
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                 (kind, self._key)).fetchone()
        return bool(row[0])

    def acquire(self, kind: int) -> None:
        self._conn.execute("SELECT pg_advisory_lock(%s, %s)", (kind, self._key))

    def release(self, kind: int) -> None:
        self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (kind, self._key))

    def held_elsewhere(self, kind: int) -> bool:
        row = self._conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND objid = %s AND pid <> pg_backend_pid()",
            (kind, self._key)).fetchone()
        return row[0] > 0

    def close(self) -> None:
        self._conn.close()
