"""Hybrid memory search: keyword (tsvector, trigram) and meaning (pgvector), fused."""

import pytest

from tests.api.test_memory import SHOWN_ALIKE
from tests.conftest import bearer, register

MEMORIES = {
    "editor": "prefers a dark theme in every code editor",
    "taxes": "quarterly tax filing is due at the end of March",
    "pets": "has two cats named Miso and Tofu",
}


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("memory_items", "memory_embeddings")


@pytest.fixture
def stored(client, user) -> dict:
    """Ada's memories, and the position after the last one."""
    position = None
    for key, text in MEMORIES.items():
        layer = "permanent" if key == "pets" else "temporary"
        response = client.post("/api/memory/upsert", headers=user["headers"], json={
            "key": key, "content": {"note": text}, "layer": layer,
            "confidence": 0.9 if key == "editor" else 0.5, "tags": [key]})
        position = response.headers["X-Event-Position"]
    return {"X-Min-Position": position}


def search(client, user, stored, q, **params):
    response = client.get("/api/v1/memory/search", params={"q": q, **params},
                          headers={**user["headers"], **stored})
    assert response.status_code == 200, response.text
    return response.json()["data"]["items"]


def test_a_query_sharing_no_word_finds_a_memory_by_meaning(client, user, stored):
    items = search(client, user, stored, "which colour scheme is favoured", mode="semantic")
    assert items[0]["key"] == "editor"


def test_hybrid_keeps_keyword_matches_and_meaning_matches(client, user, stored):
    items = search(client, user, stored, "Miso")
    assert items[0]["key"] == "pets" and 0 < items[0]["score"] <= 1


def test_filters_apply_inside_the_search(client, user, stored):
    assert [i["key"] for i in search(client, user, stored, "cats", layer="temporary")] != [
        "pets"]
    tagged = search(client, user, stored, "theme editor", tags="taxes")
    assert all(i["key"] == "taxes" for i in tagged)


def test_a_hit_shows_the_memory_as_getting_it_does(client, user):
    written = client.post("/api/v1/memory/store", headers=user["headers"], json={
        "key": "trip", "content": "the train to Lyon leaves at nine", "tags": ["travel"],
        "metadata": {"source": "chat"}, "session_id": "s-7", "context_id": "c-3"})
    assert written.status_code == 201, written.text
    [hit] = search(client, user, {"X-Min-Position": written.headers["X-Event-Position"]},
                   "train to Lyon")
    one = client.get(f"/api/v1/memory/{hit['id']}", headers=user["headers"]).json()["data"]
    assert hit.pop("score") > 0
    assert hit == one  # session_id and context_id included


def test_every_hit_shows_its_memory_exactly_as_getting_it_does(client, user, clock):
    """The search's hits are written by PostgreSQL, one memory by Python: the same JSON,
    times with and without microseconds, sealed content opened, numbers past 64 bits."""
    position = None
    for number, body in enumerate(SHOWN_ALIKE):
        clock.now = clock.now.replace(microsecond=0 if number % 2 else 120000)
        clock.advance(seconds=1)
        written = client.post("/api/v1/memory/store", headers=user["headers"], json={
            "content": "likes dark mode", **body, "key": f"alike-{number}",
            "tags": [*body.get("tags", []), "alike"]})
        assert written.status_code == 201, written.text
        position = written.headers["X-Event-Position"]
    hits = search(client, user, {"X-Min-Position": position}, "alike", mode="keyword",
                  per_page=20)
    assert len(hits) == len(SHOWN_ALIKE)
    for hit in hits:
        one = client.get(f"/api/v1/memory/{hit['id']}", headers=user["headers"]).json()
        assert 0 < hit.pop("score") <= 1
        assert hit == one["data"]
    assert {hit["created_at"][-8:] for hit in hits} >= {".120000Z"}
    assert any("." not in hit["created_at"] for hit in hits)


def test_cerebro_search_answers_the_seed_shape(client, user, stored):
    response = client.post("/api/memory/search", headers={**user["headers"], **stored},
                           json={"query": "dark theme", "minConfidence": 0.7, "limit": 5})
    body = response.json()
    assert body["total"] == 1
    [memory] = body["memories"]
    assert memory["key"] == "editor"
    assert {"id", "key", "content", "confidence", "relevanceScore"} <= set(memory)


def test_search_never_returns_another_users_memories(client, user, stored):
    eve = register(client, email="eve@example.com")
    response = client.get("/api/v1/memory/search", params={"q": "dark theme editor"},
                          headers={**bearer(eve["access_token"]), **stored})
    assert response.json()["data"]["items"] == []


def test_an_empty_query_is_a_400(client, user):
    response = client.post("/api/memory/search", headers=user["headers"], json={"query": ""})
    assert response.status_code == 400
    assert response.json()["details"]["errors"][0]["field"] == "query"
