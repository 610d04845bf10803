"""Turns Settings into the eventsourcing `env` mapping (PostgreSQL persistence), and
lets every application and read model of a process share one connection pool."""

import itertools
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

import psycopg.conninfo
from eventsourcing.persistence import OperationalError
from eventsourcing.postgres import BasePostgresFactory, PostgresDatastore, PostgresFactory
from psycopg_pool import PoolTimeout

from arqium.infra.settings import Settings

GROUP_COMMIT_RECORDER = "arqium.infra.group_commit:GroupCommitRecorder"
RECEIPT_RECORDER = "arqium.infra.idempotency:ReceiptRecorder"
SHARED_POOL_FACTORY = "arqium.infra.eventstore:SharedPoolFactory"
SHARED_POOL = "ARQIUM_SHARED_POOL"  # the env key naming the pool to share
LOCK_TIMEOUT_SECONDS = 10  # generous: concurrent commands queue behind the table lock
# The library's factory default: a transaction left idle is ended after 5 s.
IDLE_IN_TRANSACTION_SECONDS = 5

# The pools open_pool made, by name: the env is text only, so it names the pool.
# Weak: a pool nobody holds any more is forgotten.
_pools: "weakref.WeakValueDictionary[str, PostgresDatastore]" = weakref.WeakValueDictionary()
_pool_numbers = itertools.count(1)


def connection_params(database_url: str) -> dict[str, str]:
    """host, port, dbname, user, password of a postgresql:// URL (socket dirs work)."""
    params = psycopg.conninfo.conninfo_to_dict(database_url)
    return {
        "host": str(params.get("host") or "localhost"),
        "port": str(params.get("port") or "5432"),
        "dbname": str(params.get("dbname") or "postgres"),
        "user": str(params.get("user") or "postgres"),
        "password": str(params.get("password") or ""),
    }


def eventsourcing_env(settings: Settings, create_tables: bool = False,
                      pool_size: int | None = None) -> dict[str, str]:
    """An env whose applications each open a pool of their own: for one-off tools.
    Tables are created by `arqium migrate` only: concurrent DDL from several
    processes starting at once conflicts in PostgreSQL."""
    params = connection_params(settings.database_url or "")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": params["dbname"],
        "POSTGRES_HOST": params["host"],
        "POSTGRES_PORT": params["port"],
        "POSTGRES_USER": params["user"],
        "POSTGRES_PASSWORD": params["password"],
        "POSTGRES_POOL_SIZE": str(pool_size or settings.db_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.db_pool_max_overflow),
        # The library waits this long for a pooled connection (its default, 30 s, would
        # hold requests that long while the database is down or the pool exhausted).
        "POSTGRES_CONNECT_TIMEOUT": str(settings.db_pool_timeout_seconds),
        "POSTGRES_LOCK_TIMEOUT": str(LOCK_TIMEOUT_SECONDS),
        "CREATE_TABLE": "yes" if create_tables else "no",
    }
    # Either writes the receipts of requests with an Idempotency-Key with their events.
    env["APPLICATION_RECORDER_TOPIC"] = (GROUP_COMMIT_RECORDER if settings.group_commit
                                         else RECEIPT_RECORDER)
    return env


def open_pool(settings: Settings) -> PostgresDatastore:
    """A process's one connection pool (it connects on first use); its owner closes it."""
    pool = FailFastDatastore(
        **connection_params(settings.database_url or ""),
        pool_size=settings.db_pool_size, max_overflow=settings.db_pool_max_overflow,
        connect_timeout=settings.db_pool_timeout_seconds,
        lock_timeout=LOCK_TIMEOUT_SECONDS,
        idle_in_transaction_session_timeout=IDLE_IN_TRANSACTION_SECONDS)
    _pools[f"pool-{next(_pool_numbers)}"] = pool
    return pool


def shared_env(settings: Settings, pool: PostgresDatastore,
               create_tables: bool = False) -> dict[str, str]:
    """An env whose applications and recorders all use `pool` (made by open_pool)."""
    name = next(name for name, known in _pools.items() if known is pool)
    return {**eventsourcing_env(settings, create_tables),
            "PERSISTENCE_MODULE": SHARED_POOL_FACTORY, SHARED_POOL: name}


class SharedPoolFactory(PostgresFactory):
    """The library's PostgreSQL factory, on the pool its env names instead of a pool of
    its own: every application of a process would otherwise hold its own connections.
    The pool outlives the applications, so closing one leaves it open."""

    def __init__(self, env: Any):
        # Skips BasePostgresFactory.__init__, whose only work is to make a new pool.
        super(BasePostgresFactory, self).__init__(env)
        self.datastore = _pools[self.env.get(SHARED_POOL, "")]

    def close(self) -> None:
        """The pool is closed by whoever opened it."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """The pool is closed by whoever opened it."""


class FailFastDatastore(PostgresDatastore):
    """The library's datastore (its `connect_timeout` is how long a request waits for a
    pooled connection), failing fast while the database is out of reach: once a wait
    timed out, a request that would have to wait again within that time fails at once,
    unless a connection is idle in the pool by then (the database is back). It raises
    psycopg's PoolTimeout (a 503), not the library's OperationalError, which the
    library's recorders retry ten times, 0.2 s apart, waiting each time."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._out_of_reach_until = 0.0

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        if time.monotonic() < self._out_of_reach_until and not self._idle_connections():
            raise PoolTimeout("no database connection a moment ago; not waiting again")
        try:
            with super().get_connection() as conn:
                yield conn
        except OperationalError as error:
            if isinstance(error.__cause__, PoolTimeout):
                self._out_of_reach_until = time.monotonic() + self.pool.timeout
            raise

    def _idle_connections(self) -> int:
        return self.pool.get_stats().get("pool_available", 0)
