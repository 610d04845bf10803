"""Turns Settings into the eventsourcing `env` mapping (PostgreSQL persistence), and
lets every application and read model of a process share one connection pool."""

import itertools
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Self

import psycopg.conninfo
from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import BasePostgresFactory, PostgresDatastore, PostgresFactory
from psycopg.errors import ReadOnlySqlTransaction
from psycopg.sql import SQL
from psycopg.types.json import set_json_loads
from psycopg_pool import PoolTimeout

from arqium.infra.json_reading import json_loads
from arqium.infra.settings import Settings

GROUP_COMMIT_RECORDER = "arqium.infra.group_commit:GroupCommitRecorder"
RECEIPT_RECORDER = "arqium.infra.idempotency:ReceiptRecorder"
SHARED_POOL_FACTORY = "arqium.infra.eventstore:SharedPoolFactory"
SHARED_POOL = "ARQIUM_SHARED_POOL"  # the env key naming the pool to share
SAFE_TRANSCODER = "arqium.infra.transcoder:SafeJSONTranscoder"
LOCK_TIMEOUT_SECONDS = 10  # generous: concurrent commands queue behind the table lock
# While the database is out of reach, how often a process tries a connection, how long
# its pool keeps reconnecting in the background, and how long one attempt may take.
PROBE_SECONDS = 0.25
RECONNECT_SECONDS = 1.0
CONNECT_TIMEOUT_SECONDS = 2  # whole seconds, 2 at least (libpq)

log = logging.getLogger("arqium.eventstore")

# The pools open_pool made, by name: the env is text only, so it names the pool.
# Weak: a pool nobody holds any more is forgotten.
_pools: "weakref.WeakValueDictionary[str, PostgresDatastore]" = weakref.WeakValueDictionary()
# What the next connection taken in this context checks first (check_before_connecting):
# one list per context that asked, shared by the threads that copy the context.
_checks_before_connecting: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "checks_before_connecting", default=None)


def check_before_connecting(check: Callable[[], None]) -> None:
    """Run `check` when this context (or a thread that copies it) next takes a
    connection, before it does, and only then; its error is that connection's. The API
    defers a request's read-your-writes wait to its route's first query this way, in
    the worker thread that runs the route, instead of waiting in a dependency, which
    costs a hop to a worker thread of its own."""
    checks = _checks_before_connecting.get()
    if checks is None:
        checks = []
        _checks_before_connecting.set(checks)
    checks.append(check)


def run_checks_before_connecting() -> None:
    checks = _checks_before_connecting.get()
    while checks:
        checks.pop(0)()  # taken out first: their own queries do not run them again


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
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(
            settings.db_idle_in_transaction_seconds),
        "CREATE_TABLE": "yes" if create_tables else "no",
        "TRANSCODER_TOPIC": SAFE_TRANSCODER,
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
        idle_in_transaction_session_timeout=settings.db_idle_in_transaction_seconds)
    _pools[pool.shared_name] = pool
    return pool


def shared_env(settings: Settings, pool: "FailFastDatastore",
               create_tables: bool = False) -> dict[str, str]:
    """An env whose applications and recorders all use `pool` (made by open_pool)."""
    return {**eventsourcing_env(settings, create_tables),
            "PERSISTENCE_MODULE": SHARED_POOL_FACTORY, SHARED_POOL: pool.shared_name}


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
    pooled connection), failing fast while the database is out of reach and healing by
    itself as soon as it is back.

    Once a wait for a connection timed out, or a connection broke, a thread tries a
    connection of its own: the database may be out of reach, or only busy (a loaded
    machine, an exhausted pool, one session ended by an operator). Should that attempt
    fail, the database is out of reach: requests fail at once with psycopg's PoolTimeout
    (a 503) instead of waiting again (or being retried ten times, 0.2 s apart, by the
    library's recorders, which retry its OperationalError), and the thread tries again
    every PROBE_SECONDS; the first that works ends the outage: the pool drops its broken
    connections and opens new ones. The pool's own reconnection backs off exponentially
    (a minute and more after a long outage); this takes under a second, whatever the
    outage's length."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Its name in _pools (which an env names it by): looked up, never searched for,
        # as another thread may be adding a pool meanwhile.
        self.shared_name = f"pool-{next(_pool_numbers)}"
        # The pool gives up reconnecting in the background soon (the probe watches the
        # database meanwhile) and grows again on demand once it is back; its connection
        # attempts never hang on an unreachable host (libpq waits forever by default).
        self.pool.reconnect_timeout = RECONNECT_SECONDS
        self.pool.kwargs["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        self._out_of_reach = threading.Event()
        self._closing = threading.Event()
        self._reach_lock = threading.Lock()
        self._probing = False

    def after_connect_func(self) -> Callable[[Any], None]:
        """The library's set-up of each new connection, and json/jsonb read by orjson
        (the standard library's parser was 7 % of the API's processor for a page of
        memories)."""
        library_set_up = super().after_connect_func()

        def after_connect(conn: Any) -> None:  # no bound method: the pool would hold self
            library_set_up(conn)
            set_json_loads(json_loads, conn)

        return after_connect

    @property
    def out_of_reach(self) -> bool:
        """The database failed a request lately and has not answered a probe since."""
        return self._out_of_reach.is_set()

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        run_checks_before_connecting()
        if self.out_of_reach:
            raise PoolTimeout("the database is out of reach; not waiting for it")
        used = None
        try:
            with super().get_connection() as conn:
                used = conn
                try:
                    yield conn
                except ReadOnlySqlTransaction:
                    # Its session would stay read-only after `ALTER DATABASE ... SET
                    # default_transaction_read_only` is reset: the pool opens a new one.
                    conn.close()
                    raise
        except (OperationalError, InterfaceError) as error:
            if isinstance(error.__cause__, PoolTimeout) or (used is not None and used.broken):
                self.doubt_reach(error)
            raise

    def ping(self, timeout: float) -> float:
        """Seconds the database took to answer, within `timeout` (else an error): waits
        at most that long for a connection and for the answer."""
        if self.out_of_reach:
            raise PoolTimeout("the database is out of reach")
        started = time.perf_counter()
        self.pool.open()
        with self.pool.connection(timeout=timeout) as conn:
            try:
                with conn.transaction():
                    conn.execute(SQL("SET LOCAL statement_timeout = {0}").format(
                        int(timeout * 1000)))
                    conn.execute("SELECT 1")
            except psycopg.OperationalError as error:
                if conn.broken:
                    self.doubt_reach(error)
                raise
        return time.perf_counter() - started

    def doubt_reach(self, error: Exception) -> None:
        """A request found the database slow or a connection broken: a thread tries a
        connection of its own, and fails requests fast from its first failed attempt
        until one works. Meanwhile requests go on as usual."""
        with self._reach_lock:
            if self._probing or self._closing.is_set():
                return
            self._probing = True
        threading.Thread(target=self._probe, args=(error,), name="postgres-probe",
                         daemon=True).start()

    def _probe(self, error: Exception) -> None:
        try:
            if self._answers():
                if not self._closing.is_set():
                    self.pool.check()  # a broken connection out, should one be left
                return
            self._out_of_reach.set()
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            log.warning("PostgreSQL is out of reach (%s); failing fast until it answers "
                        "again", reason)
            while not self._closing.wait(PROBE_SECONDS):
                if self._answers() and not self._closing.is_set():
                    self.pool.check()  # broken connections out, new ones in
                    self._out_of_reach.clear()
                    log.warning("PostgreSQL is back")
                    return
        finally:
            with self._reach_lock:
                self._probing = False

    def _answers(self) -> bool:
        try:
            with psycopg.connect(self.pool.conninfo, **self.pool.kwargs) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def close(self) -> None:
        self._closing.set()
        super().close()
