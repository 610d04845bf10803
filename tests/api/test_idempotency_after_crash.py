"""Idempotency-Key after a crash: a key whose request died is never stuck; the retry
answers from the event store (what the first attempt stored is answered again, the
rest runs), and a database outage is a 503 like any other request's."""

import json
from uuid import uuid4

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from arqium.api.idempotency import request_fingerprint
from arqium.infra.idempotency import IdempotencyStore

STORE = "/api/v1/memory/store"
MEMORY = json.dumps({"content": "dark mode"}).encode()


def keyed(user, key: str) -> dict:
    return {**user["headers"], "Idempotency-Key": key, "Content-Type": "application/json"}


def lose_the_answer(system, key: str) -> None:
    """What a crash between the events' commit and the response's leaves: the claim
    with its receipts, no response, and a lease that has run out."""
    with system.pool.get_connection() as conn:
        conn.execute("UPDATE idempotent_responses SET status = NULL, headers = NULL, "
                     "body = NULL, leased_until = now() WHERE key = %s", (key,))


def claim_for(system, user, key: str, path: str, body: bytes, run_out: bool) -> None:
    """A claim as a request that died before storing anything leaves it."""
    store = IdempotencyStore(system.pool.get_connection, system.master_key)
    scope = f"user:{user['user']['id']}"
    store.claim(scope, key, request_fingerprint("POST", path, b"", body))
    if run_out:
        with system.pool.get_connection() as conn:
            conn.execute("UPDATE idempotent_responses SET leased_until = now() "
                         "WHERE key = %s", (key,))


def test_a_retry_after_a_request_died_before_storing_runs_the_command_once(
        client, user, system):
    claim_for(system, user, "died-early", STORE, MEMORY, run_out=True)
    head = system.memory.recorder.max_notification_id() or 0
    retry = client.post(STORE, content=MEMORY, headers=keyed(user, "died-early"))
    again = client.post(STORE, content=MEMORY, headers=keyed(user, "died-early"))
    assert retry.status_code == again.status_code == 201
    assert again.json()["data"]["id"] == retry.json()["data"]["id"]
    assert system.memory.recorder.max_notification_id() == head + 1


def test_a_retry_after_a_request_died_after_storing_answers_the_same_and_stores_nothing(
        client, user, system):
    first = client.post(STORE, content=MEMORY, headers=keyed(user, "died-late"))
    lose_the_answer(system, "died-late")
    head = system.memory.recorder.max_notification_id()
    retry = client.post(STORE, content=MEMORY, headers=keyed(user, "died-late"))
    assert retry.status_code == 201
    assert retry.json()["data"] == first.json()["data"]
    assert retry.headers["X-Event-Position"] == first.headers["X-Event-Position"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert system.memory.recorder.max_notification_id() == head


def test_a_key_whose_request_is_still_running_answers_409_with_the_lease_left(
        client, user, system):
    claim_for(system, user, "running", STORE, MEMORY, run_out=False)
    response = client.post(STORE, content=MEMORY, headers=keyed(user, "running"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert 1 <= int(response.headers["Retry-After"]) <= 5


def test_a_ledger_transaction_replayed_after_a_crash_changes_the_object_once(
        client, user, system):
    created = client.post("/api/ledger/objects", headers=user["headers"], json={
        "typeName": "account", "data": {"balance": 100}}).json()["object"]
    body = json.dumps({"objectId": created["id"], "action": "update",
                       "data": {"balance": 70}}).encode()
    first = client.post("/api/ledger/transactions", content=body,
                        headers=keyed(user, "pay-1"))
    lose_the_answer(system, "pay-1")
    retry = client.post("/api/ledger/transactions", content=body,
                        headers=keyed(user, "pay-1"))
    assert retry.status_code == first.status_code == 200
    assert retry.json()["transaction"] == first.json()["transaction"]
    assert system.ledger.any_object(created["id"]).version == 2


def test_a_graphql_mutation_replayed_after_a_crash_is_stored_once(client, user, system):
    mutation = 'mutation { createSession(title: "Once") { id } }'
    body = json.dumps({"query": mutation}).encode()
    first = client.post("/graphql", content=body, headers=keyed(user, "mutation-1"))
    lose_the_answer(system, "mutation-1")
    head = system.sessions.recorder.max_notification_id()
    retry = client.post("/graphql", content=body, headers=keyed(user, "mutation-1"))
    assert retry.status_code == first.status_code == 200
    assert retry.json() == first.json() and "errors" not in retry.json()
    assert system.sessions.recorder.max_notification_id() == head


@pytest.fixture
def database_down(settings, services):
    """Stops the test's database accepting connections (and ends those it has)."""
    name = conninfo_to_dict(settings.database_url)["dbname"]
    with psycopg.connect(services["postgres"], autocommit=True) as admin:
        def stop() -> None:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))

        yield stop
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@pytest.mark.parametrize("path, body", [
    (STORE, {"content": "dark mode"}),
    ("/api/memory/upsert", {"key": "theme", "content": {"theme": "dark"}}),
])
def test_a_keyed_command_during_a_database_outage_answers_503_like_one_without(
        client, user, database_down, path, body):
    database_down()
    without = client.post(path, json=body, headers=user["headers"])
    keyed_one = client.post(path, json=body, headers={**user["headers"],
                                                      "Idempotency-Key": str(uuid4())})
    assert without.status_code == keyed_one.status_code == 503
    assert keyed_one.json().keys() == without.json().keys()
    assert keyed_one.headers["Retry-After"] == "1"
