"""A client that sends no position reads its own earlier writes, on every face: a query
waits (bounded) until its read models hold every event stored before it began.
`X-Consistency: eventual` reads at once; `X-Min-Position` still works."""

import threading

import psycopg
import pytest
from psycopg import sql

from tests.conftest import bearer, register

EVENTUAL = {"X-Consistency": "eventual"}


@pytest.fixture
def projectors(workers):
    workers("users", "contexts", "chat_sessions", "memory_items", "memory_embeddings",
            "api_keys", "login_sessions", "session_messages", "ledger_objects")


def test_a_changed_profile_is_read_back_at_once(client, user, projectors):
    changed = client.put("/api/v1/users/profile", headers=user["headers"],
                         json={"preferences": {"theme": "dark"}})
    assert changed.status_code == 200, changed.text
    profile = client.get("/api/v1/users/profile", headers=user["headers"])
    assert profile.json()["data"]["preferences"] == {"theme": "dark"}


def test_a_deleted_context_is_gone_at_once(client, user, projectors):
    made = client.post("/api/v1/contexts", json={"name": "plan", "state": {}},
                       headers=user["headers"])
    context = "/api/v1/contexts/" + made.json()["data"]["id"]
    assert client.get(context, headers=user["headers"]).status_code == 200
    assert client.delete(context, headers=user["headers"]).status_code == 200
    assert client.get(context, headers=user["headers"]).status_code == 404


def test_a_memory_stored_again_is_read_back_with_its_new_content(client, user, projectors):
    for content in ("tea", "coffee"):
        stored = client.post("/api/v1/memory/store", headers=user["headers"],
                             json={"key": "drink", "content": content})
        assert stored.status_code in (200, 201), stored.text
    item = client.get("/api/v1/memory/" + stored.json()["data"]["id"],
                      headers=user["headers"])
    assert item.json()["data"]["content"] == "coffee"
    found = client.get("/api/v1/memory/search", params={"q": "coffee", "mode": "keyword"},
                       headers=user["headers"])
    assert [hit["key"] for hit in found.json()["data"]["items"]] == ["drink"]


def test_cleared_memories_are_gone_from_recent_at_once(client, user, projectors):
    for key in ("a", "b"):
        client.post("/api/v1/memory/store", headers=user["headers"],
                    json={"key": key, "content": key})
    assert len(client.get("/api/v1/memory/recent",
                          headers=user["headers"]).json()["data"]["items"]) == 2
    cleared = client.post("/api/v1/memory/clear", json={}, headers=user["headers"])
    assert cleared.json()["data"]["cleared"] == 2
    recent = client.get("/api/v1/memory/recent", headers=user["headers"])
    assert recent.json()["data"]["items"] == []


def test_a_graphql_session_is_in_the_next_sessions_query(client, user, projectors):
    created = client.post("/graphql", headers=user["headers"], json={
        "query": 'mutation { createSession(title: "Trip") { id } }'})
    session_id = created.json()["data"]["createSession"]["id"]
    answer = client.post("/graphql", headers=user["headers"],
                         json={"query": "{ sessions { items { id } } }"})
    assert answer.json()["data"]["sessions"]["items"] == [{"id": session_id}]


def test_another_users_acknowledged_write_is_seen_too(client, user, projectors):
    """Within one deployment: any write acknowledged before the read began."""
    eve = register(client, email="eve@example.com", name="Eve")
    client.post("/api/v1/memory/store", headers=bearer(eve["access_token"]),
                json={"key": "k", "content": "v"})
    client.post("/api/v1/memory/store", headers=user["headers"],
                json={"key": "mine", "content": "x"})
    assert [m["key"] for m in client.get("/api/v1/memory/recent", headers=bearer(
        eve["access_token"])).json()["data"]["items"]] == ["k"]


def test_a_cerebro_upsert_is_listed_at_once(client, user, projectors):
    stored = client.post("/api/memory/upsert", headers=user["headers"], json={
        "ownerId": user["user"]["id"], "key": "k", "content": {"text": "hello"}, "layer": "temporary"})
    assert stored.status_code in (200, 201), stored.text
    working_set = client.post("/api/memory/context", headers=user["headers"],
                              json={"chatId": "chat-1", "maxTokens": 500})
    assert [m["key"] for m in working_set.json()["memories"]] == ["k"]


def test_without_a_projector_the_default_read_is_a_503_and_eventual_reads_at_once(
        settings, clock, user_without_projectors):
    client, headers = user_without_projectors
    client.post("/api/v1/memory/store", headers=headers, json={"key": "k", "content": "v"})
    behind = client.get("/api/v1/memory/recent", headers=headers)
    assert behind.status_code == 503
    assert behind.headers["Retry-After"] == "1"
    assert "X-Consistency: eventual" in behind.json()["error"]["message"]
    at_once = client.get("/api/v1/memory/recent", headers={**headers, **EVENTUAL})
    assert at_once.status_code == 200
    assert at_once.json()["data"]["items"] == []  # what the read model holds, unwaited


def test_an_unknown_consistency_is_a_400_naming_the_header(client, user):
    answer = client.get("/api/v1/memory/recent",
                        headers={**user["headers"], "X-Consistency": "sometimes"})
    assert answer.status_code == 400
    assert "X-Consistency" in answer.json()["error"]["message"]


@pytest.fixture
def user_without_projectors(settings, clock, workers):
    """An app whose memory projector never runs, with a short wait."""
    from fastapi.testclient import TestClient

    from arqium.api.app import create_app
    from arqium.system.bootstrap import open_system

    workers("users", "login_sessions")
    settings.read_wait_seconds = 0.5
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as client:
        data = register(client)
        yield client, bearer(data["access_token"])


def test_a_created_ledger_object_is_read_back_at_once(client, user, projectors):
    created = client.post("/api/ledger/objects", headers=user["headers"], json={
        "typeName": "contract", "data": {"amount": 10}})
    assert created.status_code in (200, 201), created.text
    object_id = created.json()["object"]["id"]
    read = client.get(f"/api/ledger/objects/{object_id}", headers=user["headers"])
    assert read.status_code == 200, read.text
    assert read.json()["object"]["data"] == {"amount": 10}


def test_a_pushs_stream_id_is_taken_as_a_min_position(client, user, projectors):
    stored = client.post("/api/v1/memory/store", headers=user["headers"],
                         json={"key": "k", "content": "v"})
    stream_id = stored.headers["X-Event-Position"].replace(".", ":")  # as /ws/sync pushes it
    recent = client.get("/api/v1/memory/recent",
                        headers={**user["headers"], "X-Min-Position": stream_id})
    assert [m["key"] for m in recent.json()["data"]["items"]] == ["k"]


def test_a_key_used_the_instant_it_was_issued_is_accepted(client, user, workers, system,
                                                         settings):
    """The API-key read model is behind when the key is first used: the check waits for
    it (a second at most) instead of refusing the key."""
    workers("users", "memory_items", "api_keys")
    with psycopg.connect(settings.database_url) as holder:
        # The projector's write waits on this lock, so the read model is behind for
        # 0.3 s, whatever the machine's load; then it catches up at once.
        holder.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
            sql.Identifier(system.read_models.api_keys.name)))
        secret = client.post("/api/v1/api-keys", headers=user["headers"],
                             json={"name": "ci"}).json()["data"]["key"]
        threading.Timer(0.3, holder.rollback).start()
        stored = client.post("/api/v1/memory/store", headers={"X-API-Key": secret},
                             json={"key": "via-key", "content": "x"})
    assert stored.status_code == 201, stored.text


def test_a_search_finds_a_memory_by_its_words_before_it_is_embedded(client, user,
                                                                    workers, settings):
    """The embeddings lag heavy writes: the default search waits for the words only;
    X-Min-Position waits for the meaning too."""
    workers("users", "memory_items")  # no embeddings projector
    settings.read_wait_seconds = 0.5
    stored = client.post("/api/v1/memory/store", headers=user["headers"],
                         json={"key": "drink", "content": "jasmine tea"})
    found = client.get("/api/v1/memory/search", params={"q": "jasmine"},
                       headers=user["headers"])
    assert [hit["key"] for hit in found.json()["data"]["items"]] == ["drink"]
    exact = client.get("/api/v1/memory/search", params={"q": "jasmine"}, headers={
        **user["headers"], "X-Min-Position": stored.headers["X-Event-Position"]})
    assert exact.status_code == 503


def test_a_search_behind_the_callers_writes_waits_for_them_then_answers(
        client, user, workers, settings):
    """Its read model behind, the search waits its bounded while and says so (503);
    caught up, it finds the memory."""
    workers("users")  # the memory read model not running yet
    settings.read_wait_seconds = 0.3
    stored = client.post("/api/v1/memory/store", headers=user["headers"],
                         json={"key": "drink", "content": "jasmine tea"})
    assert stored.status_code == 201, stored.text
    behind = client.get("/api/v1/memory/search", params={"q": "jasmine"},
                        headers=user["headers"])
    assert behind.status_code == 503
    assert "the memory search has not caught up" in behind.text
    workers("memory_items")
    settings.read_wait_seconds = 10
    found = client.get("/api/v1/memory/search", params={"q": "jasmine"},
                       headers=user["headers"])
    assert [hit["key"] for hit in found.json()["data"]["items"]] == ["drink"]
