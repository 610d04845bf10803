"""Rows kept in the process until a NOTIFY says they may have changed (what spares most
requests the query that verifies their credentials)."""

import time
import uuid

import psycopg
import pytest

from arqium.infra.notified_cache import NotifiedCache
from tests.conftest import eventually


@pytest.fixture
def channel():
    return f"arqium_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def cache(database, channel):
    cache = NotifiedCache(channel)
    cache.start(database)
    yield cache
    cache.close()


def listening(cache, within=5.0) -> None:
    """Wait until LISTEN is in effect (rows are kept from then on)."""
    assert eventually(cache.listening, within), "the cache never listened"


def test_before_it_starts_it_keeps_nothing(channel):
    cache = NotifiedCache(channel)
    reads = []
    for _ in range(2):
        assert cache.lookup("k", lambda: reads.append(1) or {"v": 1}) == {"v": 1}
    assert len(reads) == 2
    assert cache.cached("k") is None


def test_a_row_is_kept_until_a_notify_on_its_channel(cache, database, channel):
    listening(cache)
    reads = []
    for _ in range(3):
        assert cache.lookup("k", lambda: reads.append(1) or {"v": 1}) == {"v": 1}
    assert len(reads) == 1
    assert cache.cached("k") == {"v": 1}
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"NOTIFY {channel}")
    assert eventually(lambda: cache.cached("k") is None)


def test_a_notify_on_another_channel_drops_nothing(cache, database):
    listening(cache)
    cache.lookup("k", lambda: {"v": 1})
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("NOTIFY arqium_some_other_channel")
        conn.execute(f"NOTIFY {cache.channel}_not")
    time.sleep(0.5)
    assert cache.cached("k") == {"v": 1}


def test_none_is_never_kept(cache):
    listening(cache)
    reads = []
    cache.lookup("k", lambda: reads.append(1))
    cache.lookup("k", lambda: reads.append(1))
    assert len(reads) == 2


def test_a_row_read_while_the_rows_were_dropped_is_not_kept(cache):
    listening(cache)

    def read_during_a_change():
        row = {"v": "before the change"}
        cache.drop_all()  # the change's NOTIFY arrives while the row is being read
        return row

    assert cache.lookup("k", read_during_a_change) == {"v": "before the change"}
    assert cache.cached("k") is None


def test_while_its_listen_connection_is_lost_nothing_is_served_and_the_old_rows_go(
        cache, database, channel):
    listening(cache)
    cache.lookup("k", lambda: {"v": "old"})
    with psycopg.connect(database, autocommit=True) as conn:
        ended = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE query = %s", (f'LISTEN "{channel}"',)).fetchall()
    assert ended == [(True,)]
    assert eventually(lambda: not cache.listening(), within=5)
    assert cache.cached("k") is None
    assert cache.lookup("k", lambda: {"v": "new"}) == {"v": "new"}
    assert cache.cached("k") is None  # not kept while not listening
    listening(cache)
    assert cache.cached("k") is None  # what was kept before the loss is gone
    cache.lookup("k", lambda: {"v": "new"})
    assert cache.cached("k") == {"v": "new"}


def test_past_its_bound_it_starts_anew(database, channel):
    cache = NotifiedCache(channel, max_rows=2)
    cache.start(database)
    try:
        listening(cache)
        for key in ("a", "b", "c"):
            cache.lookup(key, lambda key=key: {"v": key})
        assert [cache.cached(key) for key in ("a", "b", "c")] == [None, None, {"v": "c"}]
    finally:
        cache.close()


def test_a_row_is_kept_no_longer_than_its_max_age(database, channel):
    """Should notifications never arrive (a pooler that swallows LISTEN), a change still
    shows within the max age."""
    cache = NotifiedCache(channel, max_age=0.3)
    cache.start(database)
    try:
        listening(cache)
        cache.lookup("k", lambda: {"v": "old"})
        assert cache.cached("k") == {"v": "old"}
        time.sleep(0.4)
        assert cache.cached("k") is None
        assert cache.lookup("k", lambda: {"v": "new"}) == {"v": "new"}
    finally:
        cache.close()
