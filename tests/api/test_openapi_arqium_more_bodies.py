"""ARQIUM's sessions, memory history, ledger audit and health routes, and GraphQL,
answer their successes with the bodies /openapi.json documents."""

import pytest

from arqium.domain.ledger.digest import DIGEST_ID, seal_digest
from arqium.domain.shared import Cause
from tests.api.test_ledger_audit import auditor, contract  # noqa: F401 (fixtures)
from tests.api.test_openapi_v0_bodies import assert_documented

SESSION = "/api/v1/sessions/{session_id}"


@pytest.fixture
def document(client) -> dict:
    return client.get("/openapi.json").json()


def after(headers: dict, response) -> dict:
    """Headers that read what `response` wrote."""
    return {**headers, "X-Min-Position": response.headers["X-Event-Position"]}


def test_each_session_success_body_is_the_documented_one(client, user, workers, document):
    workers("chat_sessions", "session_messages", "contexts")
    headers = user["headers"]
    created = client.post("/api/v1/sessions", json={"title": "plan"}, headers=headers)
    assert_documented(document, "/api/v1/sessions", "post", created)
    path = "/api/v1/sessions/" + created.json()["data"]["id"]
    message = client.post(path + "/messages", json={"role": "user", "content": "hi"},
                          headers=headers)
    assert_documented(document, SESSION + "/messages", "post", message)
    context = client.post("/api/v1/contexts", json={
        "name": "c", "state": {"a": 1}, "session_id": created.json()["data"]["id"]},
        headers=headers)
    checkpoint = client.post(path + "/checkpoint", json={"label": "start"},
                             headers=after(headers, context))
    assert_documented(document, SESSION + "/checkpoint", "post", checkpoint)
    assert_documented(document, "/api/v1/sessions", "get",
                      client.get("/api/v1/sessions", headers=after(headers, checkpoint)))
    shown = client.get(path, headers=after(headers, checkpoint))
    assert_documented(document, SESSION, "get", shown)
    assert shown.json()["data"]["checkpoints"]
    assert_documented(document, SESSION + "/messages", "get",
                      client.get(path + "/messages", headers=after(headers, checkpoint)))
    archived = client.post(path + "/archive", headers=headers)
    assert_documented(document, SESSION + "/archive", "post", archived)
    reopened = client.post(path + "/resume", headers=headers)
    assert_documented(document, SESSION + "/resume", "post", reopened)
    resumed = client.post(path + "/resume", headers=headers, json={
        "checkpoint_id": checkpoint.json()["data"]["checkpoint_id"]})
    assert_documented(document, SESSION + "/resume", "post", resumed)
    assert resumed.json()["data"]["context"] and resumed.json()["data"]["messages"]
    assert_documented(document, SESSION, "delete", client.delete(path, headers=headers))


def test_a_memory_history_body_is_the_documented_one(client, user, document):
    stored = client.post("/api/v1/memory/store", json={"key": "k", "content": "tea"},
                         headers=user["headers"])
    client.post("/api/v1/memory/store", json={"key": "k", "content": "coffee"},
                headers=user["headers"])
    history = client.get(f"/api/v1/memory/{stored.json()['data']['id']}/history",
                         headers=user["headers"])
    assert_documented(document, "/api/v1/memory/{item_id}/history", "get", history)
    assert len(history.json()["data"]["items"]) == 2


@pytest.fixture
def projector(workers):
    workers("ledger_objects")


def test_each_ledger_audit_body_is_the_documented_one(
        client, projector, contract, auditor, document):  # noqa: F811
    path = f"/api/v1/ledger/objects/{contract['id']}"
    assert_documented(document, "/api/v1/ledger/objects/{object_id}/history", "get",
                      client.get(path + "/history", headers=contract["headers"]))
    for params in ({}, {"version": 1}):
        assert_documented(document, "/api/v1/ledger/objects/{object_id}", "get",
                          client.get(path, params=params, headers=contract["headers"]))
    assert_documented(document, "/api/v1/ledger/verify", "get",
                      client.get("/api/v1/ledger/verify", headers=auditor))


def test_a_failed_verification_body_is_the_documented_one(
        client, projector, contract, auditor, system, clock, document):  # noqa: F811
    seal_digest(system.ledger, clock(), cause=Cause(actor="ledger_digest"))
    with system.ledger.recorder.datastore.transaction(commit=True) as curs:
        curs.execute("SELECT notification_id, state FROM ledger_events "
                     "WHERE originator_id = %s AND topic LIKE %s", (DIGEST_ID, "%Sealed"))
        row = curs.fetchone()
        forged = bytes(row["state"]).replace(b'"digest":"', b'"digest":"0', 1)
        curs.execute("UPDATE ledger_events SET state = %s WHERE notification_id = %s",
                     (forged, row["notification_id"]))
    verified = client.get("/api/v1/ledger/verify", headers=auditor)
    assert_documented(document, "/api/v1/ledger/verify", "get", verified)
    assert verified.json()["data"]["ok"] is False


def test_the_health_body_is_the_documented_one(client, workers, document):
    workers("memory_items")
    assert_documented(document, "/api/v1/health", "get", client.get("/api/v1/health"))


def test_graphql_answers_the_documented_result_errors_included(client, user, document,
                                                               workers):
    workers("users")  # read by `user`
    for query in ("{ user { id email } }", "{ nosuchfield }"):
        assert_documented(document, "/graphql", "post", client.post(
            "/graphql", json={"query": query}, headers=user["headers"]))
        assert_documented(document, "/graphql", "get", client.get(
            "/graphql", params={"query": query}, headers=user["headers"]))
    refused = client.post("/graphql", json={"query": "{ user { id } }"})
    assert_documented(document, "/graphql", "post", refused)
    assert refused.json()["errors"]
