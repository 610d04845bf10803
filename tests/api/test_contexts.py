"""ARQIUM contexts: create, list, read, replace at a version, delete, merge-on-sync."""

import pytest


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("contexts")


def create(client, user, **body):
    return client.post("/api/v1/contexts", headers=user["headers"],
                       json={"name": "planning", "state": {"goal": "ship", "step": 1}, **body})


def at(response) -> dict:
    return {"X-Min-Position": response.headers["X-Event-Position"]}


def test_create_answers_201_with_version_1(client, user):
    response = create(client, user)
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["name"], data["state"], data["version"]) == (
        "planning", {"goal": "ship", "step": 1}, 1)
    assert data["created_at"] and data["updated_at"]


def test_contexts_are_listed_with_pagination(client, user):
    create(client, user, name="a")
    last = create(client, user, name="b")
    body = client.get("/api/v1/contexts?per_page=1",
                      headers={**user["headers"], **at(last)}).json()
    assert [c["name"] for c in body["data"]["items"]] == ["a"]
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 1, "total": 2}


def test_put_with_a_stale_version_is_409_conflict(client, user):
    context_id = create(client, user).json()["data"]["id"]
    updated = client.put(f"/api/v1/contexts/{context_id}", headers=user["headers"],
                         json={"state": {"goal": "ship", "step": 2}, "version": 1})
    assert updated.json()["data"]["version"] == 2
    stale = client.put(f"/api/v1/contexts/{context_id}", headers=user["headers"],
                       json={"state": {"goal": "other"}, "version": 1})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "CONFLICT"


def test_sync_merges_changes_to_different_keys(client, user):
    context_id = create(client, user).json()["data"]["id"]
    client.put(f"/api/v1/contexts/{context_id}", headers=user["headers"],
               json={"state": {"goal": "ship", "step": 2}})
    synced = client.post(f"/api/v1/contexts/{context_id}/sync", headers=user["headers"],
                         json={"state": {"goal": "ship", "step": 1, "notes": "hi"},
                               "base_version": 1})
    assert synced.status_code == 200
    assert synced.json()["data"]["state"] == {"goal": "ship", "step": 2, "notes": "hi"}
    read = client.get(f"/api/v1/contexts/{context_id}", headers={**user["headers"],
                                                                 **at(synced)})
    assert read.json()["data"]["state"] == {"goal": "ship", "step": 2, "notes": "hi"}


def test_delete_removes_the_context(client, user):
    context_id = create(client, user).json()["data"]["id"]
    deleted = client.delete(f"/api/v1/contexts/{context_id}", headers=user["headers"])
    assert deleted.status_code == 200
    assert client.get(f"/api/v1/contexts/{context_id}",
                      headers={**user["headers"], **at(deleted)}).status_code == 404
