"""Memory search in a real Elasticsearch, end to end: API → events → indexer → search,
for the native, CEREBRO and v0 faces. Each test has an index of its own, deleted after
it."""

import os
import threading
import uuid

import pytest

from arqium.domain.memory.domainmodel import memory_id_for
from arqium.infra.eventstore import eventsourcing_env
from arqium.projections.base import open_view
from arqium.projections.memory_search import MemoryQuery
from arqium.workers.feed import EventFeed
from tests.conftest import SETUP, bearer, register

ELASTICSEARCH_URL = os.environ.get("ARQIUM_ELASTICSEARCH_URL")

pytestmark = pytest.mark.skipif(
    not ELASTICSEARCH_URL,
    reason="needs a running Elasticsearch: set ARQIUM_ELASTICSEARCH_URL "
           "(e.g. http://localhost:9200)")

MEMORIES = {
    "editor": "prefers a dark theme in every code editor",
    "taxes": "quarterly tax filing is due at the end of March",
    "pets": "has two cats named Miso and Tofu",
}


@pytest.fixture
def settings(settings):
    """Elasticsearch on, in this test's own index, with the indexer's tables."""
    from arqium.projections.memory_search_es import EsMemorySearchProjection, open_client

    settings = settings.model_copy(update={
        "elasticsearch_url": ELASTICSEARCH_URL,
        "elasticsearch_index": f"arqium-test-{uuid.uuid4().hex}"})
    env = eventsourcing_env(settings, create_tables=True)
    open_view(EsMemorySearchProjection, env).datastore.close()
    yield settings
    es = open_client(ELASTICSEARCH_URL)
    es.options(ignore_status=404).indices.delete(index=settings.elasticsearch_index)
    es.close()


@pytest.fixture(autouse=True)
def indexer(workers):
    workers("memory_items", "memory_embeddings", "memory_search_es")


@pytest.fixture
def system(client):
    """The API's own system (its clock is the test's clock)."""
    return client.app.state.system


def upsert(client, user, key: str, text: str, **fields) -> int:
    """Store a memory through the API; its event's position."""
    response = client.post("/api/memory/upsert", headers=user["headers"], json={
        "key": key, "content": {"note": text}, "tags": [key], **fields})
    assert response.status_code == 200, response.text
    return int(response.headers["X-Event-Position"].rpartition(".")[2])


@pytest.fixture
def stored(client, user) -> dict[str, int]:
    """Ada's memories, each with the position of its event."""
    return {key: upsert(client, user, key, text) for key, text in MEMORIES.items()}


def search(client, headers, q, position: int, **params) -> list[str]:
    """Keys found by the native face, once the search has reached `position`."""
    response = client.get("/api/v1/memory/search", params={"q": q, **params},
                          headers={**headers, "X-Min-Position": f"memory.{position}"})
    assert response.status_code == 200, response.text
    return [item["key"] for item in response.json()["data"]["items"]]


def indexed_ids(system, owner_id: str, query: str) -> list[str]:
    """What Elasticsearch alone finds (before Postgres reads the page)."""
    from arqium.projections.memory_search_es import fuse, rankings_of

    answers = system.memory_search.answers(MemoryQuery(owner_id, query), system.clock())
    return [memory_id for memory_id, _ in fuse(*rankings_of(answers))]


def document_id(user, key: str) -> str:
    return str(memory_id_for(user["user"]["id"], key))


def owner_documents(system, owner_id: str) -> int:
    index = system.memory_search.view
    return index.es.count(index=index.index,
                           query={"term": {"owner_id": owner_id}})["count"]


def test_a_keyword_match_is_found(client, user, stored):
    last = max(stored.values())
    assert search(client, user["headers"], "Tofu", last, mode="keyword") == ["pets"]
    assert search(client, user["headers"], "quarterly", last, mode="keyword") == ["taxes"]


def test_a_query_sharing_no_word_finds_a_memory_by_meaning(client, user, stored):
    found = search(client, user["headers"], "which colour scheme is favoured",
                   max(stored.values()), mode="semantic")
    assert found[0] == "editor"


def test_hybrid_search_scores_like_the_postgres_search(client, user, stored):
    response = client.post("/api/memory/search", headers={
        **user["headers"], "X-Min-Position": f"memory.{max(stored.values())}"},
        json={"query": "Miso", "limit": 5})
    [best, *_] = response.json()["memories"]
    assert best["key"] == "pets" and 0 < best["relevanceScore"] <= 1
    assert best["content"] == {"note": MEMORIES["pets"]}


def test_another_users_memories_never_appear(client, user, stored, system):
    eve = register(client, email="eve@example.com")
    found = search(client, bearer(eve["access_token"]), "dark theme editor",
                   max(stored.values()))
    assert found == []
    assert indexed_ids(system, eve["user"]["id"], "dark theme editor") == []


def test_a_secret_memory_is_found_by_its_words(client, user):
    position = upsert(client, user, "bank", "my bank PIN is 4321", sensitivity="secret")
    assert search(client, user["headers"], "bank PIN", position, mode="keyword") == ["bank"]


def test_a_deleted_memory_disappears(client, user, stored, system):
    response = client.post("/api/memory/delete", headers=user["headers"],
                           json={"key": "taxes"})
    position = int(response.headers["X-Event-Position"].rpartition(".")[2])
    assert "taxes" not in search(client, user["headers"], "tax filing", position)
    index = system.memory_search.view
    assert not index.es.exists(index=index.index, id=document_id(user, "taxes"))


def test_an_expired_memory_is_not_returned(client, user, system, clock):
    position = upsert(client, user, "flight", "boarding pass for the flight to Lisbon",
                      ttlSeconds=60)
    assert search(client, user["headers"], "Lisbon", position) == ["flight"]
    clock.advance(seconds=61)
    assert search(client, user["headers"], "Lisbon", position) == []
    assert indexed_ids(system, user["user"]["id"], "Lisbon") == []


def test_an_expiry_recorded_by_the_worker_deletes_the_document(client, user, system,
                                                               settings, clock):
    from arqium.workers.expiry import Expirer

    position = upsert(client, user, "flight", "boarding pass", ttlSeconds=60)
    system.views["memory_items"].wait("memory", position, timeout=10)
    clock.advance(seconds=61)
    Expirer(settings, threading.Event(), clock=clock).expire_due(
        system.memory, system.views["memory_items"])
    system.memory_search.wait("memory", system.memory.recorder.max_notification_id(),
                              timeout=10)
    assert owner_documents(system, user["user"]["id"]) == 0


def test_forgetting_an_owner_removes_every_document_of_theirs(client, user, stored, system):
    position = system.memory.forget_owner(user["user"]["id"], cause=SETUP)
    system.memory_search.wait("memory", position, timeout=10)
    assert owner_documents(system, user["user"]["id"]) == 0


def test_replaying_the_same_events_leaves_one_document_per_memory(client, user, stored,
                                                                  system, settings):
    from arqium.projections.memory_search_es import EsMemorySearchProjection, projection_for

    system.memory_search.wait("memory", max(stored.values()), timeout=10)
    env = eventsourcing_env(settings, create_tables=True)
    for replay in ("replay_1", "replay_2"):  # as after a crash before tracking was recorded
        view = open_view(EsMemorySearchProjection, env, name=f"memory_search_es_{replay}")
        projection = projection_for(settings)(view=view)
        feed = EventFeed(system.memory, 0, lambda: False)
        while batch := feed.next_batch():
            projection.process_batch(batch)
        view.close()
    search_view = system.memory_search.view
    assert owner_documents(system, user["user"]["id"]) == len(MEMORIES)
    for key, position in stored.items():
        document = search_view.es.get(index=search_view.index, id=document_id(user, key))
        assert document["_version"] == position  # its event's position, not a replay's
    assert search(client, user["headers"], "Tofu", max(stored.values())) == ["pets"]


def test_the_system_searches_in_elasticsearch(system):
    from arqium.projections.memory_search_es import ElasticsearchMemorySearch

    assert isinstance(system.memory_search, ElasticsearchMemorySearch)


V0_ENTRIES = {"notes": "the quarterly budget review is on Friday",
              "docs": "budget report for the apple orchard"}


@pytest.fixture
def v0_memories(client, user, workers, system) -> dict:
    """Ada as a v0 user with two memories of different types and an entry in each, once
    the search has them."""
    workers("users", "vaults")
    v0_created(client, user, "/v0/users", {"userId": "ada_1", "email": "ada@example.com"})
    vault = v0_created(client, user, "/v0/users/ada_1/vaults", {"title": "work"})
    memories = {title: v0_created(client, user, f"/v0/users/ada_1/vaults/{vault['vaultId']}"
                                  "/memories", {"title": title, "memoryType": kind})
                for title, kind in (("notes", "conversation"), ("docs", "document"))}
    positions = [v0_entry(client, user, memories[title], text)
                 for title, text in V0_ENTRIES.items()]
    system.memory_search.wait("memory", max(positions), timeout=10)
    return memories


def v0_created(client, user, path: str, body: dict) -> dict:
    response = client.post(path, headers=user["headers"], json=body)
    assert response.status_code == 201, response.text
    return response.json()


def v0_entry(client, user, memory: dict, text: str) -> int:
    """Adds an entry; its event's position."""
    response = client.post(f"/v0/users/ada_1/vaults/{memory['vaultId']}/memories/"
                           f"{memory['memoryId']}/entries", headers=user["headers"],
                           json={"rawEntry": text})
    assert response.status_code == 201, response.text
    return int(response.headers["X-Event-Position"].rpartition(".")[2])


def v0_search(client, user, **body) -> list[dict]:
    response = client.post("/v0/search", headers=user["headers"],
                           json={"userId": "ada_1", "query": "budget", **body})
    assert response.status_code == 200, response.text
    return response.json()["entries"]


def test_v0_search_finds_entries_with_their_snippets_in_elasticsearch(client, user,
                                                                      v0_memories):
    hits = v0_search(client, user)
    assert len(hits) == 2
    assert all("<mark>budget</mark>" in hit["snippet"] for hit in hits)


def test_v0_search_in_one_memory_finds_only_its_entries(client, user, v0_memories):
    docs = v0_memories["docs"]["memoryId"]
    hits = v0_search(client, user, memoryId=docs)
    assert [hit["memoryId"] for hit in hits] == [docs]


def test_v0_search_by_memory_type_filters_on_the_indexed_metadata(client, user,
                                                                  v0_memories):
    hits = v0_search(client, user, filters={"memoryType": "conversation"})
    assert [hit["rawEntry"] for hit in hits] == [V0_ENTRIES["notes"]]
