"""One user never sees or changes another's resources: a test per resource kind.
Later resource kinds (contexts, sessions, ledger objects, files) add theirs here."""

import pytest

from tests.conftest import bearer, register


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("memory_items", "api_keys", "login_sessions", "users", "contexts")


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
