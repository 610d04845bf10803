"""The connections one API process and the worker process hold (README, "Connections"),
and the workers when the server has no connection slot left for them."""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from arqium.domain.memory.application import MemoryDraft
from arqium.system.status import worker_positions
from arqium.workers.runner import Backoff, WorkerGroup, worker_names
from tests.conftest import SETUP, eventually

BUDGET = 25  # one API process and every worker (DESIGN.md §5)
CLIENTS = 6
ROUNDS = 5
WAIT_SECONDS = 30
COUNT_CONNECTIONS = ("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                     "AND backend_type = 'client backend'")


class PeakConnections:
    """The most client connections the database had at any sample (every 10 ms)."""

    def __init__(self, admin_url: str, dbname: str):
        self.peak = self.samples = 0
        self._admin_url, self._dbname = admin_url, dbname
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        with psycopg.connect(self._admin_url, autocommit=True) as conn:  # not counted
            while not self._stopping.wait(0.01):
                count = conn.execute(COUNT_CONNECTIONS, (self._dbname,)).fetchone()[0]
                self.peak, self.samples = max(self.peak, count), self.samples + 1

    def reset(self) -> int:
        """The peak so far; sampling goes on from zero."""
        peak, self.peak = self.peak, 0
        return peak

    def wait_for_samples(self, count: int) -> None:
        assert eventually(lambda: self.samples >= count, WAIT_SECONDS), (
            "the sampler stalled")

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()


@contextmanager
def peak_connections(services, database):
    sampler = PeakConnections(services["postgres"], conninfo_to_dict(database)["dbname"])
    try:
        yield sampler
    finally:
        sampler.stop()


def all_caught_up(system) -> bool:
    rows = worker_positions(system)
    return all(row["running"] and row["lag"] == 0 for row in rows)


def client_load(client, headers: dict, number: int) -> list[int]:
    """One client's writes to every context, each followed by a read of its own write."""
    statuses = []
    session = client.post("/api/v1/sessions", headers=headers, json={"title": f"s{number}"})
    ledger = client.post("/api/ledger/objects", headers=headers,
                         json={"typeName": "contract", "data": {"amount": number}})
    for n in range(ROUNDS):
        for response in (
                client.post("/api/v1/memory/store", headers=headers,
                            json={"key": f"c{number}-{n}", "content": f"note {n}"}),
                client.post(f"/api/v1/sessions/{session.json()['data']['id']}/messages",
                            headers=headers, json={"role": "user", "content": f"m{n}"}),
                client.post("/api/ledger/transactions", headers=headers, json={
                    "objectId": ledger.json()["object"]["id"], "action": "update",
                    "data": {"step": n}})):
            statuses.append(response.status_code)
        statuses.append(client.get("/api/v1/memory/recent", headers=headers).status_code)
    return statuses


def test_one_api_process_and_every_worker_hold_at_most_25_connections_idle_and_under_load(
        client, user, workers, services, database):
    system = client.app.state.system
    with peak_connections(services, database) as sampler:
        workers(*worker_names())
        assert eventually(lambda: all_caught_up(system), WAIT_SECONDS, every=0.05), (
            "the workers did not all start")
        sampler.wait_for_samples(sampler.samples + 50)
        idle = sampler.reset()
        with ThreadPoolExecutor(CLIENTS) as pool:
            loads = pool.map(lambda n: client_load(client, user["headers"], n),
                             range(CLIENTS))
            statuses = [status for load in loads for status in load]
        assert eventually(lambda: all_caught_up(system), WAIT_SECONDS, every=0.05), (
            "the workers did not catch up")
        loaded = sampler.reset()
    assert set(statuses) <= {200, 201}
    assert idle <= BUDGET
    assert loaded <= BUDGET


@pytest.fixture
def limited_role(services, database):
    """A role that is no superuser (superusers pass connection limits), allowed to do
    all the workers do in the test's database."""
    role = f"limited_{conninfo_to_dict(database)['dbname']}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'limited'")
        conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        conn.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    yield role
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     f"WHERE usename = '{role}'")
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def refused_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "arqium.workers" and record.levelno == logging.ERROR]


@pytest.mark.parametrize("limited", ["DATABASE {database}", "ROLE {role}"])
def test_workers_refused_for_lack_of_slots_say_so_once_and_back_off_until_there_are(
        limited, system, settings, database, limited_role, caplog):
    limit = "ALTER " + limited.format(database=conninfo_to_dict(database)["dbname"],
                                      role=limited_role) + " CONNECTION LIMIT {0}"
    as_role = settings.model_copy(update={"database_url": make_conninfo(
        database, user=limited_role, password="limited")})
    group = WorkerGroup(["memory_items"], as_role, backoff=Backoff(first=0.05, cap=0.2))
    view = system.views["memory_items"]

    def write_and_wait(key: str) -> None:
        _, position = system.memory.upsert("u1", MemoryDraft(key=key, content=key),
                                           cause=SETUP)
        view.wait("memory", position, timeout=WAIT_SECONDS)

    group.start()
    try:
        write_and_wait("before")
        with psycopg.connect(database, autocommit=True) as conn:  # a superuser: admitted
            conn.execute(limit.format(0))
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE usename = %s", (limited_role,))
            assert eventually(lambda: len(group.backoff.delays) >= 5, WAIT_SECONDS), (
                "the workers did not retry")
            assert group.backoff.delays[:5] == [0.05, 0.1, 0.2, 0.2, 0.2]
            conn.execute(limit.format(-1))
        write_and_wait("after")
    finally:
        group.stop()
    assert not group.failures
    [line] = refused_lines(caplog)
    assert "too many connections for" in line
    assert "ARQIUM_DB_POOL_SIZE" in line
