"""The worker process through a PostgreSQL outage: every projection and the relay move
again soon after the database is back, without a restart; asked to stop during an
outage, it stops promptly."""

import os
import signal
import subprocess
import sys
import time

import psutil
import psycopg
import pytest

from arqium.domain.memory.application import MemoryDraft
from arqium.infra.embedded import EmbeddedNats, EmbeddedPostgres
from arqium.infra.settings import Settings
from arqium.system.bootstrap import migrate, open_system
from arqium.system.status import worker_positions
from tests.conftest import JWT_SECRET, SETUP, TEST_SCALE, still_running

OUTAGE_SECONDS = 3
# The target is 5 s after the database is back (README); the bound leaves room for a
# loaded test machine.
RECOVERY_BOUND_SECONDS = 15
STOP_BOUND_SECONDS = 10


@pytest.fixture
def own_services(postgres_home, tmp_path):
    """A PostgreSQL and a NATS server of this test's own, so it may stop them."""
    postgres, nats = EmbeddedPostgres(postgres_home), EmbeddedNats(tmp_path)
    settings = Settings(database_url=postgres.start(), nats_url=nats.start(),
                        jwt_secret=JWT_SECRET, data_dir=tmp_path / "data", **TEST_SCALE)
    migrate(settings)
    yield settings, postgres
    nats.stop()
    postgres.stop()


@pytest.fixture
def worker_process(own_services):
    settings, _ = own_services
    env = {**os.environ, "ARQIUM_DATABASE_URL": settings.database_url,
           "ARQIUM_NATS_URL": settings.nats_url, "ARQIUM_JWT_SECRET": JWT_SECRET}
    process = subprocess.Popen([sys.executable, "-m", "arqium.cli", "worker", "all"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def store_and_wait_for_every_worker(settings: Settings, key: str,
                                    bound: float = RECOVERY_BOUND_SECONDS) -> float:
    """Store a memory and a user; how long until every projection and relay had them."""
    system = open_system(settings)
    try:
        system.memory.upsert("u1", MemoryDraft(key=key, content=key), cause=SETUP)
        system.identity.register(f"{key}@example.com", key, "correct horse", cause=SETUP)
        started = time.monotonic()
        while not all(row["running"] and row["lag"] == 0 and row["state"] == "running"
                      for row in worker_positions(system)):
            assert time.monotonic() - started < bound, worker_positions(system)
            time.sleep(0.1)
        return time.monotonic() - started
    finally:
        system.close()


def test_after_an_outage_every_worker_moves_again_and_a_stop_during_one_is_prompt(
        own_services, worker_process):
    settings, postgres = own_services
    store_and_wait_for_every_worker(settings, "before", bound=60)  # the process starts
    postgres.stop()
    time.sleep(OUTAGE_SECONDS)
    postgres.start()
    print(f"moving again {store_and_wait_for_every_worker(settings, 'after'):.1f} s "
          "after PostgreSQL was back")
    assert worker_process.poll() is None  # never restarted
    postgres.stop()
    worker_process.send_signal(signal.SIGTERM)
    assert still_running([psutil.Process(worker_process.pid)], STOP_BOUND_SECONDS) == []
    assert worker_process.wait() == 0
    postgres.start()  # for the fixture's clean stop


def set_read_only(postgres: EmbeddedPostgres, on: bool) -> None:
    """Every session's next transaction read-only (or writable again), as on a standby."""
    with psycopg.connect(postgres.url("postgres"), autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")  # this session writes
        if on:
            conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
        else:
            conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
        conn.execute("SELECT pg_reload_conf()")


def test_workers_wait_out_a_read_only_database_and_move_again_once_it_takes_writes(
        own_services, worker_process):
    settings, postgres = own_services
    store_and_wait_for_every_worker(settings, "before", bound=60)  # the process starts
    worker = psutil.Process(worker_process.pid)
    worker.suspend()  # events are stored that the workers must then write while read-only
    system = open_system(settings)
    try:
        system.memory.upsert("u1", MemoryDraft(key="while", content="x"), cause=SETUP)
        system.identity.register("while@example.com", "w", "correct horse", cause=SETUP)
    finally:
        system.close()
    set_read_only(postgres, True)
    try:
        worker.resume()
        time.sleep(OUTAGE_SECONDS)  # every worker tries, and is refused, meanwhile
    finally:
        set_read_only(postgres, False)
    store_and_wait_for_every_worker(settings, "after")
    assert worker_process.poll() is None  # never restarted
