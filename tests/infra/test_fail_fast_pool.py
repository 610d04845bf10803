"""The process's pool fails requests fast while the database is out of reach, and only
then: a wait that timed out because the pool was busy is no outage."""

import json
import socket
import threading
import time

import pytest
from eventsourcing.persistence import OperationalError
from psycopg_pool import PoolTimeout

from arqium.infra.eventstore import open_pool
from tests.conftest import eventually


def probing() -> bool:
    return any(thread.name == "postgres-probe" for thread in threading.enumerate())


def timed_out_wait(pool) -> None:
    """One request that waits for a connection until its timeout."""
    with pytest.raises(OperationalError) as raised:
        with pool.get_connection():
            pass
    assert isinstance(raised.value.__cause__, PoolTimeout)


@pytest.fixture
def small_pool(settings):
    """One connection at most, waited for one second."""
    pool = open_pool(settings.model_copy(update={
        "db_pool_size": 1, "db_pool_max_overflow": 0, "db_pool_timeout_seconds": 1}))
    yield pool
    pool.close()


@pytest.fixture
def unreachable(settings):
    """Settings naming a port nobody listens on."""
    with socket.socket() as vacant:
        vacant.bind(("127.0.0.1", 0))
        port = vacant.getsockname()[1]
    return settings.model_copy(update={
        "database_url": f"postgresql://postgres@127.0.0.1:{port}/arqium",
        "db_pool_size": 1, "db_pool_max_overflow": 0, "db_pool_timeout_seconds": 1})


def test_a_wait_for_a_busy_pool_that_timed_out_is_not_an_outage(small_pool):
    held, released = threading.Event(), threading.Event()

    def hold_the_only_connection():
        with small_pool.get_connection():
            held.set()
            released.wait(10)

    holder = threading.Thread(target=hold_the_only_connection)
    holder.start()
    try:
        assert held.wait(10)
        timed_out_wait(small_pool)
    finally:
        released.set()
        holder.join()
    # The next request is served at once, while the probe may still be at work.
    with small_pool.get_connection() as conn:
        assert conn.execute("SELECT 1").fetchone()
    assert eventually(lambda: not probing())
    assert not small_pool.out_of_reach


def test_a_database_out_of_reach_fails_requests_fast_once_a_probe_failed(unreachable):
    pool = open_pool(unreachable)
    try:
        timed_out_wait(pool)
        assert eventually(lambda: pool.out_of_reach)
        started = time.monotonic()
        with pytest.raises(PoolTimeout, match="out of reach"):
            with pool.get_connection():
                pass
        assert time.monotonic() - started < 0.5
    finally:
        pool.close()


@pytest.mark.parametrize("seconds", [7, 120])
def test_the_pool_s_sessions_end_a_transaction_left_idle_after_the_setting(settings,
                                                                          seconds):
    pool = open_pool(settings.model_copy(update={"db_idle_in_transaction_seconds": seconds}))
    try:
        with pool.get_connection() as conn:
            shown = conn.execute("SHOW idle_in_transaction_session_timeout").fetchone()
    finally:
        pool.close()
    assert list(shown.values()) == [f"{seconds}s" if seconds < 60 else f"{seconds // 60}min"]


@pytest.mark.parametrize("text", [
    '{"a": [1, 2.5, null, true, "x\\u00e9"], "b": {"c": -0.0}}',
    '{"n": 1000000000000000000000000000000, "m": [18446744073709551616]}',  # > 64 bits
    '[1e308, 1.7976931348623157e308, 5e-324, "\\ud83d\\ude00"]',
])
def test_the_pools_connections_read_json_as_the_standard_library_does(small_pool, text):
    """As json.loads reads the text PostgreSQL sends (jsonb writes 1e308 as digits)."""
    with small_pool.get_connection() as connection:
        for kind in ("json", "jsonb"):
            row = connection.execute(f"SELECT %s::{kind} AS v, %s::{kind}::text AS t",
                                     [text, text]).fetchone()
            assert row["v"] == json.loads(row["t"])
            assert repr(row["v"]) == repr(json.loads(row["t"]))  # ints stay ints
