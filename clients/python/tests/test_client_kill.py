"""An API process killed with SIGKILL while the client's command is in flight, then
started again on the same port: the client's own retry, under the same Idempotency-Key,
stores the memory once."""

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from arqium.infra.embedded import free_port
from arqium.infra.settings import Settings
from arqium_client import Arqium, RetryPolicy
from tests.conftest import JWT_SECRET
from tests.e2e.test_idempotency_kill import answers, until

BOUND_SECONDS = 90  # every wait below ends by then, or the test fails
MEMORY_EVENTS = "memory_events"  # the memory application's event table
# Retried while the API is down and while the killed request's lease runs out.
PATIENT = RetryPolicy(attempts=400, first_delay=0.1, max_delay=0.3)


class ApiProcess:
    """`arqium serve` on the client tests' database, as a process of its own on one
    port; its PostgreSQL connections are named, so the test can find them."""

    def __init__(self, settings: Settings, data_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "ARQIUM_DATABASE_URL": settings.database_url,
                    "ARQIUM_NATS_URL": settings.nats_url, "ARQIUM_JWT_SECRET": JWT_SECRET,
                    "ARQIUM_DATA_DIR": str(data_dir),
                    "ARQIUM_IDEMPOTENCY_LEASE_SECONDS": "1"}
        self.process: subprocess.Popen | None = None

    def start(self, name: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "arqium.cli", "serve", "--port", str(self.port)],
            env={**self.env, "PGAPPNAME": name}, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until(lambda: answers(self.url) or self.process.poll() is not None,
              "the API's start")
        assert self.process.poll() is None, "the API process ended at its start"

    def kill(self) -> None:
        """SIGKILL: no shutdown, no answer to what is in flight."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait()


@pytest.fixture
def api_process(server_settings, tmp_path) -> Iterator[ApiProcess]:
    api = ApiProcess(server_settings, tmp_path)
    api.start("doomed-api")
    try:
        yield api
    finally:
        api.kill()


@pytest.fixture
def database(server_settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(server_settings.database_url, autocommit=True) as connection:
        yield connection


def waiting_on_a_lock(database: psycopg.Connection, name: str) -> bool:
    return database.execute(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = %s "
        "AND wait_event_type = 'Lock'", (name,)).fetchone() is not None


def test_a_store_in_flight_when_the_api_is_killed_is_stored_once_by_the_clients_retry(
        live_api, account, api_process, database, server_settings):
    keys_sent: list[str] = []  # the Idempotency-Key of every attempt of the store

    def note_key(request: httpx.Request) -> None:
        if request.url.path == "/api/v1/memory/store":
            keys_sent.append(request.headers["Idempotency-Key"])

    http = httpx.Client(timeout=BOUND_SECONDS, event_hooks={"request": [note_key]})
    arqium = Arqium(api_process.url, email=account.email, password=account.password,
                    retry=PATIENT, http=http)
    arqium.users.profile()  # logged in before the command is held
    stored = {}
    with psycopg.connect(server_settings.database_url) as holder:
        # The command's events wait on this lock: it is in flight, nothing stored yet.
        holder.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
            sql.Identifier(MEMORY_EVENTS)))
        command = threading.Thread(target=lambda: stored.update(
            memory=arqium.memory.store("Renew the passport", key="passport")))
        command.start()
        until(lambda: waiting_on_a_lock(database, "doomed-api"), "the command's hold")
        api_process.kill()
        # PostgreSQL learns of the dead client only when it writes to it: end its
        # sessions, so the held command is rolled back as the crash leaves it.
        database.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name = 'doomed-api'")
        holder.rollback()
    api_process.start("restarted-api")
    command.join(timeout=BOUND_SECONDS)
    assert not command.is_alive(), "the client's retries did not end"
    arqium.close()
    assert len(keys_sent) >= 2 and len(set(keys_sent)) == 1  # retried, under one key
    with Arqium(live_api.url, email=account.email, password=account.password) as reader:
        assert len(list(reader.memory.history(stored["memory"].id))) == 1
        assert [memory.key for memory in reader.memory.recent()] == ["passport"]
