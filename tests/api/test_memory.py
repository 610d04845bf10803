import time
from datetime import timedelta

import pytest

from tests.conftest import bearer, register


def store(client, headers, **body):
    return client.post("/api/v1/memory/store", headers=headers,
                       json={"content": "likes dark mode", **body})


def test_store_answers_201_with_the_memory_and_its_event_position(client, user):
    response = store(client, user["headers"], key="theme", tags=["ui"], layer="permanent")
    assert response.status_code == 201
    data = response.json()["data"]
    assert (data["key"], data["content"], data["layer"], data["tags"]) == (
        "theme", "likes dark mode", "permanent", ["ui"])
    assert data["id"] and data["created_at"].endswith("Z")
    assert response.headers["X-Event-Position"].startswith("memory.")


def test_store_without_a_key_generates_one(client, user):
    assert store(client, user["headers"]).json()["data"]["key"]


def test_store_keeps_the_confidence_sent_in_the_answer_and_the_read_model(client, user,
                                                                           workers):
    workers("memory_items")
    written = store(client, user["headers"], key="theme", confidence=0.9)
    assert written.json()["data"]["confidence"] == 0.9
    read = client.get(f"/api/v1/memory/{written.json()['data']['id']}", headers={
        **user["headers"], "X-Min-Position": written.headers["X-Event-Position"]})
    assert read.json()["data"]["confidence"] == 0.9


@pytest.mark.parametrize("confidence", [1.5, -0.1, "high", True])
def test_a_confidence_outside_0_to_1_is_a_400_naming_it(client, user, system, confidence):
    response = store(client, user["headers"], confidence=confidence)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == "confidence"
    assert system.memory.recorder.max_notification_id() is None


def test_recent_reads_your_write_when_given_the_position(client, user, workers):
    workers("memory_items")
    written = store(client, user["headers"], key="theme")
    response = client.get("/api/v1/memory/recent", headers={
        **user["headers"], "X-Min-Position": written.headers["X-Event-Position"]})
    assert response.status_code == 200
    assert [item["key"] for item in response.json()["data"]["items"]] == ["theme"]


def test_content_with_numbers_past_64_bits_is_answered_exactly(client, user, workers):
    workers("memory_items")
    content = {"big": 2**64 + 1, "small": -(2**70), "fine": 7}
    written = store(client, user["headers"], key="numbers", content=content)
    assert written.status_code == 201
    assert written.json()["data"]["content"] == content
    response = client.get("/api/v1/memory/recent", headers={
        **user["headers"], "X-Min-Position": written.headers["X-Event-Position"]})
    assert response.json()["data"]["items"][0]["content"] == content


SHOWN_ALIKE = [
    {"content": {"nested": {"list": [1, 2.5, 1e-7, True, None], "text": "café ☕ \"q\""},
                 "big": 2**64 + 1, "float": 0.1}, "tags": ["a", "ü"],
     "metadata": {"source": "test", "n": [1, {"x": None}]}, "layer": "permanent"},
    {"content": "plain words", "sensitivity": "secret", "confidence": 0.25,
     "session_id": "s-1", "context_id": "c-1", "layer": "context"},
    {"content": ["a", "$sealed"], "metadata": {"$sealed": "mine"}},
    {"content": {"name": "Ada"}, "sensitivity": "pii"},
    {"content": {"inner": {"$sealed": "not really"}}, "confidence": 1},
    {"content": [], "layer": "temporary"},
]


def test_recent_shows_each_memory_exactly_as_getting_it_does(client, user, workers, clock):
    """The recent page's memories are written by PostgreSQL, one memory's by Python: the
    same JSON, times with and without microseconds, sealed content opened."""
    workers("memory_items")
    ids = []
    for number, body in enumerate(SHOWN_ALIKE):
        clock.now = clock.now.replace(microsecond=0 if number % 2 else 120000)
        written = store(client, user["headers"], key=f"k{number}", **body)
        assert written.status_code == 201, written.text
        ids.append(written.json()["data"]["id"])
        clock.advance(seconds=1)
    recent = client.get("/api/v1/memory/recent", headers=user["headers"]).json()
    shown = {item["id"]: item for item in recent["data"]["items"]}
    assert set(shown) == set(ids)
    for memory_id in ids:
        one = client.get(f"/api/v1/memory/{memory_id}", headers=user["headers"]).json()
        assert shown[memory_id] == one["data"]
    assert shown[ids[0]]["created_at"].endswith(".120000Z")
    assert "." not in shown[ids[1]]["created_at"]
    assert shown[ids[1]]["content"] == "plain words"  # sealed at rest, opened for its owner


@pytest.mark.parametrize("path", ["/api/v1/memory/store", "/api/memory/upsert"])
def test_content_that_looks_sealed_is_a_400_and_stores_nothing(client, user, system, path):
    before = system.memory.recorder.max_notification_id()
    answer = client.post(path, headers=user["headers"],
                         json={"key": "k", "content": {"$sealed": "not really"}})
    assert answer.status_code == 400, answer.text
    assert "$sealed" in answer.text
    assert system.memory.recorder.max_notification_id() == before


def test_recent_lists_newest_first_and_honours_limit(client, user, workers, clock):
    workers("memory_items")
    for key in ("a", "b", "c"):
        written = store(client, user["headers"], key=key)
        clock.advance(seconds=1)
    response = client.get("/api/v1/memory/recent?limit=2", headers={
        **user["headers"], "X-Min-Position": written.headers["X-Event-Position"]})
    assert [i["key"] for i in response.json()["data"]["items"]] == ["c", "b"]


def test_an_eventual_read_does_not_wait_for_the_projector(client, user):
    store(client, user["headers"], key="theme")
    response = client.get("/api/v1/memory/recent",
                          headers={**user["headers"], "X-Consistency": "eventual"})
    assert response.json()["data"]["items"] == []


def test_waiting_for_a_position_never_reached_is_a_bounded_503(client, user, settings):
    settings.read_wait_seconds = 0.2
    written = store(client, user["headers"], key="theme")
    started = time.monotonic()
    response = client.get("/api/v1/memory/recent", headers={
        **user["headers"], "X-Min-Position": written.headers["X-Event-Position"]})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert time.monotonic() - started < 2


def test_a_malformed_position_token_is_a_400(client, user):
    response = client.get("/api/v1/memory/recent",
                          headers={**user["headers"], "X-Min-Position": "nonsense"})
    assert response.status_code == 400


def test_unknown_fields_are_refused_on_the_native_face(client, user):
    response = store(client, user["headers"], colour="blue")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == "colour"


def test_wrong_types_are_a_400_naming_the_field(client, user):
    response = store(client, user["headers"], tags="not-a-list")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["details"]["errors"][0]["field"] == "tags"


def test_malformed_json_is_a_400(client, user):
    response = client.post("/api/v1/memory/store", content=b'{"content": ',
                           headers={**user["headers"], "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "request body is not valid JSON"


def test_an_oversize_body_is_a_400_and_stores_nothing(client, user, system):
    response = store(client, user["headers"], key="big", metadata={"blob": "x" * 3_000_000})
    assert response.status_code == 400
    assert system.memory.recorder.max_notification_id() is None


def test_get_returns_one_of_your_memories_and_hides_others(client, user, workers):
    workers("memory_items")
    written = store(client, user["headers"], key="theme")
    item_id = written.json()["data"]["id"]
    position = {"X-Min-Position": written.headers["X-Event-Position"]}
    mine = client.get(f"/api/v1/memory/{item_id}", headers={**user["headers"], **position})
    assert mine.json()["data"]["key"] == "theme"
    eve = register(client, email="eve@example.com")
    assert client.get(f"/api/v1/memory/{item_id}", headers={
        **bearer(eve["access_token"]), **position}).status_code == 404


def test_history_lists_every_version_in_order(client, user):
    first = store(client, user["headers"], key="theme", content="dark")
    store(client, user["headers"], key="theme", content="light")
    item_id = first.json()["data"]["id"]
    versions = client.get(f"/api/v1/memory/{item_id}/history",
                          headers=user["headers"]).json()["data"]["items"]
    assert [(v["version"], v["type"], v["content"]) for v in versions] == [
        (1, "Upserted", "dark"), (2, "Revised", "light")]
    assert versions[0]["actor"] == f"user:{user['user']['id']}"


def test_delete_removes_a_memory_from_queries_but_not_from_history(client, user, workers):
    workers("memory_items")
    item_id = store(client, user["headers"], key="theme").json()["data"]["id"]
    deleted = client.delete(f"/api/v1/memory/{item_id}", headers=user["headers"])
    assert deleted.json()["data"]["deleted"] is True
    recent = client.get("/api/v1/memory/recent", headers={
        **user["headers"], "X-Min-Position": deleted.headers["X-Event-Position"]})
    assert recent.json()["data"]["items"] == []
    versions = client.get(f"/api/v1/memory/{item_id}/history", headers=user["headers"])
    assert [v["type"] for v in versions.json()["data"]["items"]] == ["Upserted", "Deleted"]
    assert client.delete(f"/api/v1/memory/{item_id}",
                         headers=user["headers"]).status_code == 404


def test_clear_deletes_each_older_memory_with_its_own_event(client, user, workers, clock,
                                                            system):
    workers("memory_items")
    store(client, user["headers"], key="old-1")
    store(client, user["headers"], key="old-2")
    clock.advance(minutes=10)
    kept = store(client, user["headers"], key="new")
    cutoff = (clock() - timedelta(minutes=5)).isoformat()
    head = system.memory.recorder.max_notification_id()
    cleared = client.post("/api/v1/memory/clear", headers={
        **user["headers"], "X-Min-Position": kept.headers["X-Event-Position"]},
        json={"older_than": cutoff})
    assert cleared.json()["data"] == {"cleared": 2}
    assert system.memory.recorder.max_notification_id() == head + 2
    recent = client.get("/api/v1/memory/recent", headers={
        **user["headers"], "X-Min-Position": cleared.headers["X-Event-Position"]})
    assert [i["key"] for i in recent.json()["data"]["items"]] == ["new"]
