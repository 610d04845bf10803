"""CEREBRO, the Admin API and AstralBody answer their successes with the bodies
/openapi.json documents (null fields and the content of every face's memories included)."""

import pytest

from arqium.system.bootstrap import make_admin
from tests.api.test_openapi_v0_bodies import assert_documented
from tests.conftest import SETUP, bearer


@pytest.fixture
def document(client) -> dict:
    return client.get("/openapi.json").json()


def after(headers: dict, response) -> dict:
    """Headers that read what `response` wrote."""
    return {**headers, "X-Min-Position": response.headers["X-Event-Position"]}


def test_each_cerebro_memory_success_body_is_the_documented_one(client, user, system,
                                                                workers, document):
    workers("memory_items", "memory_embeddings", "chat_sessions", "session_messages")
    headers = user["headers"]
    assert_documented(document, "/ping", "get", client.get("/ping"))
    for memory in ({"key": "theme", "content": {"theme": "dark"}, "confidence": 0.9},
                   {"key": "tea", "content": {"drink": "tea"}, "layer": "permanent"}):
        upserted = client.post("/api/memory/upsert", json=memory, headers=headers)
        assert_documented(document, "/api/memory/upsert", "post", upserted)
    # ARQIUM's memories are CEREBRO's too, and their content may be a string.
    stored = client.post("/api/v1/memory/store", json={"content": "dark tea"},
                         headers=headers)
    found = client.post("/api/memory/search", json={"query": "dark"},
                        headers=after(headers, stored))
    assert_documented(document, "/api/memory/search", "post", found)
    assert found.json()["total"] >= 1
    shown = client.post("/api/memory/context", json={"chatId": "c1"},
                        headers=after(headers, stored))
    assert_documented(document, "/api/memory/context", "post", shown)
    assert {type(m["content"]) for m in shown.json()["memories"]} == {dict, str}
    promoted = client.post("/api/memory/promote", json={"key": "theme"}, headers=headers)
    assert_documented(document, "/api/memory/promote", "post", promoted)
    deleted = client.post("/api/memory/delete", json={"key": "tea"}, headers=headers)
    assert_documented(document, "/api/memory/delete", "post", deleted)
    make_admin(system, "root@example.com", "admin password", cause=SETUP)
    admin = client.post("/api/auth/login", json={
        "email": "root@example.com", "password": "admin password"}).json()
    assert_documented(document, "/api/memory/metrics", "get", client.get(
        "/api/memory/metrics", headers=after(bearer(admin["access_token"]), deleted)))


def test_each_cerebro_history_and_ledger_success_body_is_the_documented_one(
        client, user, workers, document):
    workers("chat_sessions", "session_messages", "ledger_objects")
    headers = user["headers"]
    opened = client.post("/api/v1/sessions", json={"title": "plans"}, headers=headers)
    history = client.get("/api/history", headers=after(headers, opened))
    assert_documented(document, "/api/history", "get", history)
    assert history.json()["total"] == 1
    created = client.post("/api/ledger/objects", headers=headers, json={
        "typeName": "contract", "data": {"amount": 10000.50, "status": "draft"}})
    assert_documented(document, "/api/ledger/objects", "post", created)
    object_id = created.json()["object"]["id"]
    recorded = client.post("/api/ledger/transactions", headers=headers, json={
        "objectId": object_id, "action": "sign", "data": {"status": "signed"}})
    assert_documented(document, "/api/ledger/transactions", "post", recorded)
    reading = after(headers, recorded)
    listed = client.get("/api/ledger/objects", headers=reading)
    assert_documented(document, "/api/ledger/objects", "get", listed)
    assert listed.json()["total"] == 1
    assert_documented(document, "/api/ledger/objects/{object_id}", "get",
                      client.get(f"/api/ledger/objects/{object_id}", headers=reading))
    statistics = client.get("/api/ledger/aggregates", headers=reading)
    assert_documented(document, "/api/ledger/aggregates", "get", statistics)
    assert statistics.json()["aggregates"]["totalTransactions"] == 1


def test_each_admin_auth_success_body_is_the_documented_one(client, user, workers,
                                                            document):
    workers("login_sessions", "users", "api_keys")
    login = client.post("/api/auth/login", json={
        "email": "ada@example.com", "password": "correct horse"})
    assert_documented(document, "/api/auth/login", "post", login)
    headers = bearer(login.json()["access_token"])
    live = client.get("/api/auth/sessions", headers=headers)
    assert_documented(document, "/api/auth/sessions", "get", live)
    key = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=headers)
    by_key = client.get("/api/auth/sessions", headers=after(
        {"X-API-Key": key.json()["data"]["key"]}, key))
    assert_documented(document, "/api/auth/sessions", "get", by_key)
    assert by_key.json()["current_session_id"] is None  # an API key has no session
    refreshed = client.post("/api/auth/refresh",
                            json={"refresh_token": login.json()["refresh_token"]})
    assert_documented(document, "/api/auth/refresh", "post", refreshed)
    [registered] = [s["id"] for s in live.json()["sessions"]
                    if s["id"] != live.json()["current_session_id"]]
    ended = client.delete(f"/api/auth/sessions/{registered}", headers=headers)
    assert_documented(document, "/api/auth/sessions/{session_id}", "delete", ended)
    logout = client.post("/api/auth/logout",
                         json={"token": refreshed.json()["refresh_token"]})
    assert_documented(document, "/api/auth/logout", "post", logout)


def test_each_astralbody_success_body_is_the_documented_one(client, user, workers,
                                                            document):
    workers("users", "chat_sessions", "session_messages")
    headers = user["headers"]
    assert_documented(document, "/health", "get", client.get("/health"))
    config = client.get("/auth/config", headers=headers)
    assert_documented(document, "/auth/config", "get", config)
    assert config.json()["issuer"] is None  # no OIDC issuer configured
    profile = client.get("/user/profile",
                         headers={**headers, "X-Min-Position": user["position"]})
    assert_documented(document, "/user/profile", "get", profile)
    changed = client.put("/user/profile", json={"name": "Ada L."}, headers=headers)
    assert_documented(document, "/user/profile", "put", changed)
    session_id = client.post("/api/v1/sessions", json={"title": "charts"},
                             headers=headers).json()["data"]["id"]
    for components in (None, [{"type": "chart"}]):
        appended = client.post(f"/api/v1/sessions/{session_id}/messages", headers=headers,
                               json={"role": "user", "content": "plot it",
                                     "components": components})
    sessions = client.get("/sessions", headers=after(headers, appended))
    assert_documented(document, "/sessions", "get", sessions)
    assert sessions.json()["total"] == 1
    messages = client.get(f"/sessions/{session_id}/messages",
                          headers=after(headers, appended))
    assert_documented(document, "/sessions/{session_id}/messages", "get", messages)
    assert [m["components"] for m in messages.json()["messages"]] == [[], [{"type": "chart"}]]
