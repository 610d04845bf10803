"""ARQIUM sessions: create, list, read, append, checkpoint, resume, archive, delete.
(Login sessions are tests/api/test_sessions.py.) The rules themselves (titles, order,
checkpoints, resume, archive, concurrent appends) are tests/application/test_sessions.py."""

import pytest


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("chat_sessions", "session_messages", "contexts")


def create(client, user, **body):
    return client.post("/api/v1/sessions", headers=user["headers"], json=body)


def new_session(client, user, **body) -> str:
    return create(client, user, **body).json()["data"]["id"]


def append(client, user, session_id: str, content="hello", role="user", **extra):
    return client.post(f"/api/v1/sessions/{session_id}/messages", headers=user["headers"],
                       json={"role": role, "content": content, **extra})


def checkpoint(client, user, session_id: str, **body):
    return client.post(f"/api/v1/sessions/{session_id}/checkpoint",
                       headers=user["headers"], json=body)


def resume(client, user, session_id: str, **body):
    return client.post(f"/api/v1/sessions/{session_id}/resume", headers=user["headers"],
                       json=body)


def at(response) -> dict:
    return {"X-Min-Position": response.headers["X-Event-Position"]}


def read(client, user, path: str, after, **params):
    return client.get(path, headers={**user["headers"], **at(after)}, params=params)


def contents(client, user, session_id: str, after, **params) -> list[str]:
    body = read(client, user, f"/api/v1/sessions/{session_id}/messages", after,
                **params).json()
    return [m["content"] for m in body["data"]["items"]]


def field_of(response) -> str:
    return response.json()["error"]["details"]["errors"][0]["field"]


def test_create_answers_201_with_an_active_empty_session(client, user):
    response = create(client, user, title="Planning", metadata={"agent": "helper"})
    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) >= {"id", "title", "status", "created_at", "updated_at",
                         "message_count"}
    assert (data["title"], data["status"], data["message_count"], data["metadata"]) == (
        "Planning", "active", 0, {"agent": "helper"})


def test_sessions_are_listed_most_recent_first_with_pagination(client, user, clock):
    create(client, user, title="old")
    clock.advance(seconds=1)
    last = create(client, user, title="new")
    body = read(client, user, "/api/v1/sessions", last, per_page=1).json()
    assert [s["title"] for s in body["data"]["items"]] == ["new"]
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 1, "total": 2}


@pytest.mark.parametrize("per_page", [0, 101])
def test_per_page_out_of_bounds_is_400(client, user, per_page):
    response = client.get("/api/v1/sessions", headers=user["headers"],
                          params={"per_page": per_page})
    assert response.status_code == 400 and field_of(response) == "per_page"


def test_get_answers_the_session_with_its_checkpoints(client, user):
    session_id = new_session(client, user, title="t")
    saved = checkpoint(client, user, session_id, label="start")
    data = read(client, user, f"/api/v1/sessions/{session_id}", saved).json()["data"]
    assert data["id"] == session_id
    assert [c["label"] for c in data["checkpoints"]] == ["start"]


def test_an_unknown_session_is_404(client, user):
    unknown = "00000000-0000-0000-0000-000000000000"
    response = client.get(f"/api/v1/sessions/{unknown}", headers=user["headers"])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert append(client, user, unknown).status_code == 404
    assert client.get(f"/api/v1/sessions/{unknown}/messages",
                      headers=user["headers"]).status_code == 404


def test_an_appended_message_answers_201_and_counts(client, user):
    session_id = new_session(client, user)
    response = append(client, user, session_id, "hi there")
    assert response.status_code == 201
    message = response.json()["data"]
    assert (message["role"], message["content"], message["seq"], message["abandoned"]) == (
        "user", "hi there", 1, False)
    row = read(client, user, f"/api/v1/sessions/{session_id}", response).json()["data"]
    assert row["message_count"] == 1


def test_a_message_without_content_is_400_naming_the_field(client, user):
    session_id = new_session(client, user)
    response = client.post(f"/api/v1/sessions/{session_id}/messages",
                           headers=user["headers"], json={"role": "user"})
    assert response.status_code == 400 and field_of(response) == "content"


def test_a_checkpoint_answers_201_with_its_place_in_the_thread(client, user):
    session_id = new_session(client, user)
    append(client, user, session_id, "one")
    append(client, user, session_id, "two")
    response = checkpoint(client, user, session_id, label="two messages")
    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == {"checkpoint_id", "session_id", "label", "message_count",
                         "position", "created_at"}
    assert (data["session_id"], data["label"], data["message_count"], data["position"]) == (
        session_id, "two messages", 2, 2)


def test_resuming_a_checkpoint_answers_the_session_as_it_was(client, user):
    session_id = new_session(client, user)
    append(client, user, session_id, "kept")
    saved = checkpoint(client, user, session_id).json()["data"]
    append(client, user, session_id, "abandoned")
    response = resume(client, user, session_id, checkpoint_id=saved["checkpoint_id"])
    assert response.status_code == 200
    data = response.json()["data"]
    assert [m["content"] for m in data["messages"]] == ["kept"]
    assert (data["message_count"], data["checkpoint_id"]) == (1, saved["checkpoint_id"])


def test_abandoned_messages_stay_readable_with_include_abandoned(client, user):
    session_id = new_session(client, user)
    append(client, user, session_id, "kept")
    saved = checkpoint(client, user, session_id).json()["data"]
    append(client, user, session_id, "abandoned")
    resume(client, user, session_id, checkpoint_id=saved["checkpoint_id"])
    last = append(client, user, session_id, "after")
    assert contents(client, user, session_id, last) == ["kept", "after"]
    everything = read(client, user, f"/api/v1/sessions/{session_id}/messages", last,
                      include_abandoned="true").json()["data"]["items"]
    assert [(m["content"], m["abandoned"]) for m in everything] == [
        ("kept", False), ("abandoned", True), ("after", False)]


def test_a_checkpoint_keeps_the_context_bound_to_the_session(client, user):
    session_id = new_session(client, user)
    context = client.post("/api/v1/contexts", headers=user["headers"], json={
        "name": "plan", "state": {"step": 1}, "session_id": session_id})
    context_id = context.json()["data"]["id"]
    saved = client.post(f"/api/v1/sessions/{session_id}/checkpoint",
                        headers={**user["headers"], **at(context)}, json={})
    client.put(f"/api/v1/contexts/{context_id}", headers=user["headers"],
               json={"state": {"step": 2}})
    data = resume(client, user, session_id,
                  checkpoint_id=saved.json()["data"]["checkpoint_id"]).json()["data"]
    assert data["context"] == {context_id: {"name": "plan", "state": {"step": 1},
                                            "version": 1}}


def test_an_archived_session_is_reopened_by_resume_without_a_checkpoint(client, user):
    session_id = new_session(client, user)
    archived = client.post(f"/api/v1/sessions/{session_id}/archive", headers=user["headers"])
    assert archived.json()["data"]["status"] == "archived"
    assert append(client, user, session_id).status_code == 409
    reopened = client.post(f"/api/v1/sessions/{session_id}/resume", headers=user["headers"])
    assert reopened.status_code == 200 and reopened.json()["data"]["status"] == "active"
    assert append(client, user, session_id).status_code == 201


def test_appending_to_a_deleted_session_is_404(client, user):
    session_id = new_session(client, user)
    deleted = client.delete(f"/api/v1/sessions/{session_id}", headers=user["headers"])
    assert deleted.status_code == 200
    assert append(client, user, session_id).status_code == 404
    assert read(client, user, f"/api/v1/sessions/{session_id}", deleted).status_code == 404
    assert read(client, user, f"/api/v1/sessions/{session_id}/messages",
                deleted).status_code == 404


def test_an_idempotent_retry_appends_nothing_new(client, user, system):
    session_id = new_session(client, user)
    headers = {**user["headers"], "Idempotency-Key": "msg-1"}
    body = {"role": "user", "content": "once"}
    path = f"/api/v1/sessions/{session_id}/messages"
    first = client.post(path, headers=headers, json=body)
    again = client.post(path, headers=headers, json=body)
    assert first.json()["data"]["id"] == again.json()["data"]["id"]
    assert contents(client, user, session_id, again) == ["once"]
