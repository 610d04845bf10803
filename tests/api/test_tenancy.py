"""One user never sees or changes another's resources: a test per resource kind.
Later resource kinds (contexts, sessions, ledger objects, files) add theirs here."""

import pytest

from arqium.domain.sessions.domainmodel import SessionConflict, session_id_for
from tests.conftest import SETUP, bearer, register


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("memory_items", "api_keys", "login_sessions", "users", "contexts",
            "chat_sessions", "session_messages", "ledger_objects")


@pytest.fixture
def eve(client) -> dict:
    data = register(client, email="eve@example.com", name="Eve")
    return {**data, "headers": bearer(data["access_token"])}


def test_memories_are_invisible_to_other_users(client, user, eve):
    written = client.post("/api/v1/memory/store", headers=user["headers"],
                          json={"key": "plan", "content": "secret plan"})
    response = client.get("/api/v1/memory/recent", headers={
        **eve["headers"], "X-Min-Position": written.headers["X-Event-Position"]})
    assert response.json()["data"]["items"] == []


def test_the_same_key_is_a_different_memory_for_another_user(client, user, eve):
    body = {"key": "theme", "content": {"theme": "dark"}}
    ada = client.post("/api/memory/upsert", headers=user["headers"], json=body).json()
    eves = client.post("/api/memory/upsert", headers=eve["headers"],
                       json={**body, "content": {"theme": "light"}}).json()
    assert ada["memory"]["id"] != eves["memory"]["id"]
    again = client.post("/api/memory/upsert", headers=user["headers"], json=body).json()
    assert again["memory"]["content"] == {"theme": "dark"}


def test_api_keys_cannot_be_listed_or_revoked_by_others(client, user, eve):
    key = client.post("/api/v1/api-keys", headers=user["headers"],
                      json={"name": "ci"}).json()["data"]
    assert client.get("/api/v1/api-keys", headers=eve["headers"]
                      ).json()["data"]["items"] == []
    response = client.delete(f"/api/v1/api-keys/{key['id']}", headers=eve["headers"])
    assert response.status_code == 404
    assert client.get("/api/v1/memory/recent",
                      headers={"X-API-Key": key["key"]}).status_code == 200


def test_login_sessions_cannot_be_listed_or_ended_by_others(client, user, eve):
    current = client.get("/api/auth/sessions", headers=user["headers"]
                         ).json()["current_session_id"]
    listed = client.get("/api/auth/sessions", headers=eve["headers"]).json()["sessions"]
    assert current not in {s["id"] for s in listed}
    response = client.delete(f"/api/auth/sessions/{current}", headers=eve["headers"])
    assert response.status_code == 404
    assert client.get("/api/v1/memory/recent", headers=user["headers"]).status_code == 200


def test_users_cannot_read_or_delete_each_other(client, user, eve):
    assert client.get(f"/api/v1/users/{user['user']['id']}",
                      headers=eve["headers"]).status_code == 403
    assert client.delete(f"/api/v1/users/{user['user']['id']}",
                         headers=eve["headers"]).status_code == 403
    assert client.post("/api/v1/auth/login", json={
        "email": "ada@example.com", "password": "correct horse"}).status_code == 200

def test_contexts_cannot_be_read_changed_or_deleted_by_others(client, user, eve):
    created = client.post("/api/v1/contexts", headers=user["headers"],
                          json={"name": "plan", "state": {"a": 1}})
    context_id = created.json()["data"]["id"]
    eve = eve["headers"]
    assert client.get(f"/api/v1/contexts/{context_id}", headers={
        **eve, "X-Min-Position": created.headers["X-Event-Position"]}).status_code == 404
    assert client.put(f"/api/v1/contexts/{context_id}", headers=eve,
                      json={"state": {}}).status_code == 404
    assert client.delete(f"/api/v1/contexts/{context_id}", headers=eve).status_code == 404


def test_chat_sessions_are_404_to_others_on_every_route(client, user, eve):
    created = client.post("/api/v1/sessions", headers=user["headers"], json={"title": "mine"})
    session_id = created.json()["data"]["id"]
    written = client.post(f"/api/v1/sessions/{session_id}/checkpoint",
                          headers=user["headers"], json={})
    checkpoint_id = written.json()["data"]["checkpoint_id"]
    eve = {**eve["headers"], "X-Min-Position": written.headers["X-Event-Position"]}
    path = f"/api/v1/sessions/{session_id}"
    answers = [
        client.get(path, headers=eve),
        client.get(f"{path}/messages", headers=eve),
        client.post(f"{path}/messages", headers=eve, json={"role": "user", "content": "x"}),
        client.post(f"{path}/checkpoint", headers=eve, json={}),
        client.post(f"{path}/resume", headers=eve, json={"checkpoint_id": checkpoint_id}),
        client.post(f"{path}/archive", headers=eve),
        client.delete(path, headers=eve),
        client.get(f"/sessions/{session_id}/messages", headers=eve),
        client.delete(f"/sessions/{session_id}", headers=eve)]
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert client.get("/api/v1/sessions", headers=eve).json()["data"]["items"] == []
    assert client.get("/sessions", headers=eve).json() == {"sessions": [], "total": 0}
    assert client.get(path, headers=user["headers"]).json()["data"]["title"] == "mine"


def test_a_session_id_in_use_by_another_user_cannot_be_taken(system, user, eve):
    chat_id = "0b4c3f9e-5d6a-4b7c-8d9e-0f1a2b3c4d5e"
    ada, eves = user["user"]["id"], eve["user"]["id"]
    session, _ = system.sessions.create_session(
        ada, session_id=session_id_for(ada, chat_id), cause=SETUP)
    with pytest.raises(SessionConflict):
        system.sessions.create_session(eves, session_id=session_id_for(eves, chat_id),
                                       cause=SETUP)
    assert system.sessions.repository.get(session.id).owner_id == ada


def test_ledger_objects_are_invisible_and_unchangeable_by_other_users(client, user, eve):
    created = client.post("/api/ledger/objects", headers=user["headers"], json={
        "typeName": "contract", "data": {"amount": 5}})
    object_id = created.json()["object"]["id"]
    seen = {**eve["headers"], "X-Min-Position": created.headers["X-Event-Position"]}
    assert client.get("/api/ledger/objects", headers=seen).json()["total"] == 0
    assert client.get("/api/ledger/aggregates", headers=seen).json()["aggregates"][
        "totalObjects"] == 0
    for path in (f"/api/ledger/objects/{object_id}", f"/api/v1/ledger/objects/{object_id}",
                 f"/api/v1/ledger/objects/{object_id}/history"):
        assert client.get(path, headers=seen).status_code == 404
    changed = client.post("/api/ledger/transactions", headers=eve["headers"], json={
        "objectId": object_id, "action": "void", "data": {"amount": 0}})
    assert changed.status_code == 404
