"""Deleting a user (admin only): credentials die, read models forget, data key destroyed."""

import pytest

from arqium.domain.memory.domainmodel import memory_id_for
from arqium.domain.shared import Gone
from arqium.projections.login_sessions import LoginSessionsProjection
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.system.bootstrap import make_admin
from arqium.workers.rebuild import rebuild
from arqium.workers.runner import worker_names
from tests.conftest import SETUP, bearer, register

SECRET = "my bank PIN is 4321"


@pytest.fixture(autouse=True)
def all_workers(workers):
    workers(*[name for name in worker_names() if name != "nats_relay"])


@pytest.fixture
def admin(client, system):
    make_admin(system, "root@example.com", "admin password", cause=SETUP)
    data = client.post("/api/v1/auth/login", json={
        "email": "root@example.com", "password": "admin password"}).json()["data"]
    return bearer(data["access_token"])


def store(client, user, key: str, sensitivity: str):
    return client.post("/api/v1/memory/store", headers=user["headers"], json={
        "key": key, "content": SECRET, "sensitivity": sensitivity})


def raw_memory_events(system) -> bytes:
    with system.memory.recorder.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT state FROM memory_events ORDER BY notification_id")
        return b"".join(bytes(row["state"]) for row in curs.fetchall())


def delete(client, headers, user_id: str):
    return client.delete(f"/api/v1/users/{user_id}", headers=headers)


def test_only_admins_delete_users(client, user):
    eve = register(client, email="eve@example.com")
    response = delete(client, bearer(eve["access_token"]), user["user"]["id"])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_deleting_an_unknown_user_is_404(client, admin):
    assert delete(client, admin, "00000000-0000-0000-0000-000000000000").status_code == 404


def test_a_deleted_users_credentials_stop_working_at_once(client, user, admin):
    api_key = client.post("/api/v1/api-keys", headers=user["headers"],
                          json={"name": "k"}).json()["data"]["key"]
    # Used once before: the API keeps it (api/principals.py), and must drop it.
    assert client.get("/api/v1/memory/recent", headers={"X-API-Key": api_key}).status_code == 200
    assert delete(client, admin, user["user"]["id"]).status_code == 200
    assert client.get("/api/v1/memory/recent", headers=user["headers"]).status_code == 401
    assert client.get("/api/v1/memory/recent", headers={"X-API-Key": api_key}).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={
        "refresh_token": user["refresh_token"]}).status_code == 401
    assert client.post("/api/v1/auth/login", json={
        "email": "ada@example.com", "password": "correct horse"}).status_code == 401


def test_a_deleted_users_tokens_stay_refused_after_a_rebuild(client, user, admin, settings):
    delete(client, admin, user["user"]["id"])
    rebuild(LoginSessionsProjection, settings, show_progress=False)
    assert client.get("/api/v1/memory/recent", headers=user["headers"]).status_code == 401


def test_a_deleted_user_is_gone_from_the_read_models(client, user, admin, system, clock):
    written = store(client, user, "plain", "public")
    deleted = delete(client, admin, user["user"]["id"])
    position = {"X-Min-Position": deleted.headers["X-Event-Position"]}
    assert client.get(f"/api/v1/users/{user['user']['id']}",
                      headers={**admin, **position}).status_code == 404
    memory_position = system.memory.recorder.max_notification_id()
    system.views["memory_items"].wait("memory", memory_position, timeout=5)
    assert written.status_code == 201
    assert system.views["memory_items"].recent(user["user"]["id"], 10, clock()) == []
    assert system.views["memory_items"].query(  # nor is its search vocabulary kept
        "SELECT word FROM {words} WHERE owner_id = %(owner_id)s",
        owner_id=user["user"]["id"]) == []
    assert system.views["login_sessions"].active_for_user(user["user"]["id"]) == []


def test_a_deleted_users_chat_sessions_are_gone_from_the_read_models(client, user, admin,
                                                                     system):
    session = client.post("/api/v1/sessions", headers=user["headers"], json={})
    session_id = session.json()["data"]["id"]
    client.post(f"/api/v1/sessions/{session_id}/messages", headers=user["headers"],
                json={"role": "user", "content": "hi"})
    saved = client.post(f"/api/v1/sessions/{session_id}/checkpoint", headers=user["headers"])
    assert saved.status_code == 201
    delete(client, admin, user["user"]["id"])
    position = system.sessions.recorder.max_notification_id()
    owner = user["user"]["id"]
    for name in ("chat_sessions", "session_messages"):
        system.views[name].wait("sessions", position, timeout=5)
    assert system.views["chat_sessions"].page(owner, 10, 0) == ([], 0)
    assert system.views["chat_sessions"].checkpoints_of(owner, session_id) == []
    assert not system.views["session_messages"].has_session(owner, session_id)
    assert system.views["session_messages"].page(owner, session_id, 10, 0, True) == ([], 0)


def test_deleting_the_owner_shreds_its_sensitive_history(client, user, admin, system,
                                                       settings, clock):
    store(client, user, "pin", "secret")
    store(client, user, "passport", "pii")
    before = raw_memory_events(system)
    item = system.memory.repository.get(memory_id_for(user["user"]["id"], "pin"))
    assert system.memory.readable_content(item) == SECRET
    delete(client, admin, user["user"]["id"])
    assert raw_memory_events(system).startswith(before)  # the history is untouched...
    assert system.memory.readable_content(item) is None  # ...but unreadable by anyone
    with pytest.raises(Gone):
        system.memory.keys.open(user["user"]["id"], item.content)
    rebuild(MemoryItemsProjection, settings, show_progress=False)
    rows = system.views["memory_items"].recent(user["user"]["id"], 10, clock())
    assert rows == []
