import pytest

from tests.conftest import SETUP

UPSERT = {"key": "user:123:preference:theme", "content": {"theme": "dark"},
          "layer": "temporary", "confidence": 0.9, "sensitivity": "public",
          "ttlMinutes": 10080, "tags": ["preference", "ui"]}


def upsert(client, user, **changes):
    return client.post("/api/memory/upsert", headers=user["headers"], json={**UPSERT, **changes})


def test_upsert_answers_the_seed_shape(client, user):
    response = upsert(client, user)
    assert response.status_code == 200
    memory = response.json()["memory"]
    assert {"id", "key", "content", "layer", "confidence", "createdAt"} <= set(memory)
    assert (memory["key"], memory["content"], memory["layer"], memory["confidence"]) == (
        UPSERT["key"], {"theme": "dark"}, "temporary", 0.9)


def test_upsert_and_native_store_are_one_memory_aggregate(client, user):
    native = client.post("/api/v1/memory/store", headers=user["headers"], json={
        "key": UPSERT["key"], "content": {"theme": "dark"}, "layer": "temporary"})
    assert upsert(client, user).json()["memory"]["id"] == native.json()["data"]["id"]


def test_owner_id_of_someone_else_is_forbidden(client, user):
    response = upsert(client, user, ownerId="someone-else")
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden_owner"


def test_owner_id_of_the_caller_is_accepted(client, user):
    assert upsert(client, user, ownerId=user["user"]["id"]).status_code == 200


def test_ttl_seconds_sets_the_expiry(client, user):
    memory = upsert(client, user, ttlMinutes=None, ttlSeconds=90).json()["memory"]
    assert memory["expiresAt"] is not None


def test_a_whole_number_written_as_a_float_is_that_integer(client, user):
    """JSON Schema's integer admits 90.0, and Python's json writes a float so."""
    memory = upsert(client, user, ttlMinutes=None, ttlSeconds=90.0).json()["memory"]
    assert memory["expiresAt"] is not None


def test_fields_the_seed_does_not_name_are_ignored(client, user):
    assert upsert(client, user, clientVersion="3.1").status_code == 200


@pytest.mark.parametrize("changes, field", [
    ({"key": ""}, "key"),
    ({"key": "k" * 256}, "key"),
    ({"content": "not an object"}, "content"),
    ({"confidence": 1.5}, "confidence"),
    ({"confidence": True}, "confidence"),
    ({"sensitivity": "top"}, "sensitivity"),
    ({"ttlMinutes": 0}, "ttlMinutes"),
    ({"ttlMinutes": "60"}, "ttlMinutes"),
    ({"ttlMinutes": 1.5}, "ttlMinutes"),
    ({"ttlMinutes": True}, "ttlMinutes"),
    ({"ttlMinutes": 17197453327515}, "ttlMinutes"),  # past what a date can hold
    ({"ttlMinutes": None, "ttlSeconds": 10**12}, "ttlSeconds"),
    ({"tags": [1, 2]}, "tags.0"),
])
def test_invalid_fields_are_a_400_validation_error_naming_the_field(client, user, changes, field):
    response = upsert(client, user, **changes)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["details"]["errors"][0]["field"] == field


def test_content_over_one_megabyte_is_refused(client, user):
    response = upsert(client, user, content={"blob": "x" * (1024 * 1024)})
    assert response.status_code == 400
    assert response.json()["details"]["errors"][0]["field"] == "content"


def test_the_megabyte_of_content_is_counted_in_utf_8(client, user):
    """600 KB of Chinese is 1.2 MB as \\uXXXX escapes, but 0.6 MB of UTF-8 JSON."""
    chinese = "记忆" * 100_000  # 600,000 bytes of UTF-8
    assert upsert(client, user, content={"text": chinese}).status_code == 200
    over = upsert(client, user, content={"text": "记" * 350_000})  # 1,050,000 bytes
    assert over.status_code == 400


def test_upsert_without_authentication_is_401_in_the_seed_shape(client):
    response = client.post("/api/memory/upsert", json=UPSERT)
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_error"
    assert set(response.json()) == {"error", "message", "details"}


def test_malformed_json_is_a_bad_request(client, user):
    response = client.post("/api/memory/upsert", content=b"{oops",
                           headers={**user["headers"], "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_delete_by_key_answers_the_seed_shape(client, user):
    upsert(client, user)
    response = client.post("/api/memory/delete", headers=user["headers"],
                           json={"key": UPSERT["key"]})
    assert response.json() == {"deleted": True, "key": UPSERT["key"]}
    again = client.post("/api/memory/delete", headers=user["headers"],
                        json={"key": UPSERT["key"]})
    assert again.status_code == 404 and again.json()["error"] == "not_found"


def test_delete_by_id_works_too(client, user):
    memory_id = upsert(client, user).json()["memory"]["id"]
    response = client.post("/api/memory/delete", headers=user["headers"],
                           json={"id": memory_id})
    assert response.status_code == 200


@pytest.mark.parametrize("body", [
    {}, {"key": "k", "id": "00000000-0000-0000-0000-000000000001"}])
def test_delete_needs_a_key_or_an_id(client, user, body):
    response = client.post("/api/memory/delete", headers=user["headers"], json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    # a validator's own words, without pydantic's "Value error, " before them
    assert response.json()["message"] == "body: send exactly one of key and id"


def promote(client, user, **body):
    return client.post("/api/memory/promote", headers=user["headers"],
                       json={"key": UPSERT["key"], **body})


def test_promote_answers_the_seed_shape(client, user):
    upsert(client, user)
    response = promote(client, user)
    assert response.status_code == 200
    memory = response.json()["memory"]
    assert (memory["key"], memory["layer"]) == (UPSERT["key"], "permanent")
    assert memory["promotedAt"] and memory["id"]


def test_promote_below_the_threshold_is_400_naming_the_rule(client, user):
    upsert(client, user, confidence=0.3)
    response = promote(client, user)
    assert response.status_code == 400
    assert response.json()["details"]["rule"] == "confidence_threshold"
    assert response.json()["message"] == (
        "memory 'user:123:preference:theme' has confidence 0.3, below the promotion "
        "threshold 0.8; send force: true to promote anyway")
    assert promote(client, user, force=True).status_code == 200


def test_promoting_a_memory_without_a_confidence_says_it_has_none(client, user):
    upsert(client, user, confidence=None)
    response = promote(client, user)
    assert response.status_code == 400
    assert "has no confidence, below the promotion threshold" in response.json()["message"]


def test_merge_merges_onto_what_the_target_layer_held_before(client, user):
    upsert(client, user, layer="permanent", content={"theme": "dark", "font": "serif"})
    client.post("/api/memory/delete", headers=user["headers"], json={"key": UPSERT["key"]})
    upsert(client, user, layer="temporary", content={"theme": "light", "font": None})
    history_id = promote(client, user, merge=True).json()["memory"]["id"]
    versions = client.get(f"/api/v1/memory/{history_id}/history",
                          headers=user["headers"]).json()["data"]["items"]
    assert versions[-1]["type"] == "Promoted"
    assert versions[-1]["content"] == {"theme": "light"}


def test_working_set_answers_the_seed_shape_within_the_budget(client, user, workers, system):
    workers("memory_items")
    for n in range(5):
        last = upsert(client, user, key=f"fact-{n}", content={"fact": "word " * 20 * (n + 1)})
    upsert(client, user, key="pin", content={"pin": "1234"}, sensitivity="secret")
    response = client.post("/api/memory/context", json={"chatId": "chat-1", "maxTokens": 120},
                           headers={**user["headers"],
                                    "X-Min-Position": last.headers["X-Event-Position"]})
    body = response.json()
    assert response.status_code == 200
    assert body["totalTokens"] <= 120 and body["budget"] == 120
    assert body["count"] == len(body["memories"]) == len(body["items"]) > 0
    assert sum(m["tokens"] for m in body["memories"]) == body["totalTokens"]
    assert "pin" not in {m["key"] for m in body["memories"]}
    record = recorded_event(system, response.headers["X-Event-Position"])
    assert type(record).__name__ == "Assembled" and record.chat_id == "chat-1"
    assert record.memory_ids == [m["id"] for m in body["memories"]]
    assert record.total_tokens == body["totalTokens"]


def recorded_event(system, position: str):
    """The memory event at an X-Event-Position (`memory.N`), as an auditor reads it."""
    notification_id = int(position.removeprefix("memory."))
    [notification] = system.memory.recorder.select_notifications(notification_id, 1)
    return system.memory.mapper.to_domain_event(notification)


def test_working_set_favours_memories_relevant_to_the_chats_recent_messages(
        client, user, workers, clock, system):
    workers("memory_items", "memory_embeddings", "session_messages")
    upsert(client, user, key="dentist", content={"note": "dentist appointment on Tuesday"},
           confidence=0.5)
    clock.advance(minutes=1)  # the other memory is newer: first on recency alone
    last = upsert(client, user, key="colour", content={"note": "favourite colour is blue"},
                  confidence=0.5)
    session = client.post("/api/v1/sessions", headers=user["headers"], json={}).json()["data"]
    said = client.post(f"/api/v1/sessions/{session['id']}/messages", headers=user["headers"],
                       json={"role": "user", "content": "When do I see the dentist?"})
    assert said.status_code == 201, said.text

    def keys(chat_id: str, position: str) -> list[str]:
        response = client.post("/api/memory/context", headers={
            **user["headers"], "X-Min-Position": position},
            json={"chatId": chat_id, "maxTokens": 1000})
        return [m["key"] for m in response.json()["memories"]]

    memory_position = last.headers["X-Event-Position"]
    assert keys("a-chat-without-messages", memory_position) == ["colour", "dentist"]
    system.views["memory_embeddings"].wait("memory", int(memory_position.split(".")[1]), 10)
    assert keys(session["id"], said.headers["X-Event-Position"]) == ["dentist", "colour"]


def test_working_set_needs_a_positive_budget(client, user):
    response = client.post("/api/memory/context", headers=user["headers"],
                           json={"chatId": "c", "maxTokens": 0})
    assert response.status_code == 400
    assert response.json()["details"]["errors"][0]["field"] == "maxTokens"


def test_metrics_are_for_admins_only(client, user):
    response = client.get("/api/memory/metrics", headers=user["headers"])
    assert response.status_code == 403
    assert response.json()["error"] == "authorization_error"


def test_metrics_answer_the_seed_fields(client, user, system, workers):
    from arqium.system.bootstrap import make_admin

    workers("memory_items", "memory_embeddings")
    written = upsert(client, user)
    for _ in range(2):  # one query embedded (L1 and L2 miss), then found in L1
        client.post("/api/memory/search", headers=user["headers"], json={"query": "theme"})
    make_admin(system, "root@example.com", "admin password", cause=SETUP)
    token = client.post("/api/v1/auth/login", json={
        "email": "root@example.com", "password": "admin password"}).json()["data"]["access_token"]
    body = client.get("/api/memory/metrics", headers={
        "Authorization": f"Bearer {token}",
        "X-Min-Position": written.headers["X-Event-Position"]}).json()
    assert body["metrics"]["totalMemories"] == {"context": 0, "temporary": 1, "permanent": 0}
    assert body["metrics"]["avgLatencyMs"]["p95"] > 0
    assert (body["metrics"]["cacheHitRatioL1"], body["metrics"]["cacheHitRatioL2"]) == (0.5, 0)
    assert body["config"]["ttls"] == {"context": 15, "temporary": 10080}
    assert isinstance(body["alerts"], list)
