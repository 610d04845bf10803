"""The Postgres half of the Elasticsearch memory search: a fused ranking's page is read
from the memory read model by the PostgreSQL search (real Postgres; no Elasticsearch
needed)."""

import json
from types import SimpleNamespace

import pytest

from arqium.api.common.memory import memory_view
from arqium.domain.memory.application import MemoryDraft
from arqium.infra.eventstore import eventsourcing_env
from arqium.projections.base import open_view
from arqium.projections.memory_search import MemoryQuery
from arqium.projections.memory_search_es import (
    ElasticsearchMemorySearch,
    EsMemorySearchProjection,
)
from tests.conftest import SETUP


@pytest.fixture
def view(settings):
    env = eventsourcing_env(settings, create_tables=True)
    view = open_view(EsMemorySearchProjection, env)
    yield view
    view.datastore.close()


@pytest.fixture
def stored(system, workers) -> dict:
    """Memories of u1 (a, b) and u2 (c), by key, once the memory read model has them."""
    workers("memory_items")
    items = {}
    for owner_id, key in (("u1", "a"), ("u1", "b"), ("u2", "c")):
        items[key], position = system.memory.upsert(owner_id, MemoryDraft(
            key=key, content={"note": f"note {key}"}), cause=SETUP)
    system.views["memory_items"].wait("memory", position, timeout=5)
    return items


def ranking(stored, *keys: str) -> list[tuple[str, float]]:
    return [(str(stored[key].id), 1 / rank) for rank, key in enumerate(keys, 1)]


def test_a_page_has_the_rows_of_the_postgres_search_in_fused_order(postgres_search, system,
                                                                  stored):
    rows = postgres_search.page_of(ranking(stored, "b", "a"), "u1", 10, system.clock())
    assert [(row["key"], row["content"]) for row in rows] == [
        ("b", {"note": "note b"}), ("a", {"note": "note a"})]
    assert {"id", "key", "content", "layer", "confidence", "tags", "updated_at",
            "score"} <= set(rows[0])
    assert rows[0]["id"] == stored["b"].id and rows[0]["total"] == 2


def test_a_shown_page_has_each_memory_as_the_native_face_shows_it(postgres_search, system,
                                                                 stored):
    """The same page, each memory as the JSON the native face answers (its search asks
    for it so), with its score."""
    page = ranking(stored, "b", "a")
    rows = postgres_search.page_of(page, "u1", 10, system.clock())
    shown = postgres_search.page_of(page, "u1", 10, system.clock(), shown=True)
    assert [json.loads(row["shown"]) for row in shown] == [
        {**memory_view(row), "id": str(row["id"])} for row in rows]
    assert [row["score"] for row in shown] == [row["score"] for row in rows]


def test_a_page_never_shows_another_owners_memory(postgres_search, system, stored):
    rows = postgres_search.page_of(ranking(stored, "c", "a"), "u1", 10, system.clock())
    assert [row["key"] for row in rows] == ["a"]


def test_a_page_leaves_out_a_memory_deleted_since_it_was_indexed(postgres_search, system,
                                                                 stored):
    _, position = system.memory.delete("u1", stored["a"].id, cause=SETUP)
    system.views["memory_items"].wait("memory", position, timeout=5)
    rows = postgres_search.page_of(ranking(stored, "a", "b"), "u1", 10, system.clock())
    assert [row["key"] for row in rows] == ["b"]


def test_a_page_is_at_most_limit_rows_and_empty_for_no_ranking(postgres_search, system,
                                                               stored):
    page = postgres_search.page_of(ranking(stored, "a", "b"), "u1", 1, system.clock())
    assert len(page) == 1
    assert postgres_search.page_of([], "u1", 10, system.clock()) == []


def test_the_indexer_knows_nothing_before_it_ran(view, stored):
    assert view.known([stored["a"].id]) == {}


class SimulatedElasticsearch:
    """An Elasticsearch server's msearch (none can run here), answering each side with
    the ranking the PostgreSQL search gives it: BM25, and knn scores for cosine."""

    def __init__(self, keyword: list[tuple[str, float]], meaning: list[tuple[str, float]]):
        self.answers = [{"hits": {"hits": [{"_id": memory_id, "_score": score}
                                           for memory_id, score in keyword]}},
                        {"hits": {"hits": [{"_id": memory_id, "_score": (1 + cosine) / 2}
                                           for memory_id, cosine in meaning]}}]

    def msearch(self, index: str, searches: list[dict]) -> dict:
        assert len(searches) == 4  # a header and a search a side
        return {"responses": self.answers}


def test_the_elasticsearch_search_fuses_as_the_postgresql_one(postgres_search, system,
                                                              workers):
    """Given the same sides, both searches rank alike: the conversation, the memories
    that ask, the prior and the spread over days."""
    workers("memory_items", "memory_embeddings")
    turns = [("Did you find a flat in Edinburgh?", "2024-03-04T10:00:00Z"),
             ("Yes! A one-bed in Leith, near the Shore.", "2024-03-04T10:01:00Z"),
             ("Haha, the flat!", "2024-03-04T10:02:00Z")]
    turns += [(f"We looked at a flat in Edinburgh, number {n}", f"2024-03-04T11:{n:02}:00Z")
              for n in range(12)]
    turns += [(f"Another flat viewing in Edinburgh today, {n}", f"2024-03-06T11:{n:02}:00Z")
              for n in range(8)]
    for n, (note, when) in enumerate(turns):
        _, position = system.memory.upsert("u3", MemoryDraft(
            key=f"turn/{n}", content=note, metadata={"session_date": when}), cause=SETUP)
    # Both read models: the keyword side reads memory_items, the meaning side both.
    system.views["memory_items"].wait("memory", position, timeout=60)
    system.views["memory_embeddings"].wait("memory", position, timeout=60)
    text = "Where is the flat in Edinburgh?"
    keyword = postgres_search.rankings(MemoryQuery("u3", text, mode="keyword"),
                                       system.clock())[0]
    meaning = postgres_search.rankings(MemoryQuery("u3", text, mode="semantic"),
                                       system.clock())[1]
    es_search = ElasticsearchMemorySearch(
        SimpleNamespace(es=SimulatedElasticsearch(keyword, meaning), index="memories"),
        postgres_search)
    query = MemoryQuery("u3", text, limit=30)
    rows, total = es_search.search(query, system.clock())
    expected, expected_total = postgres_search.search(query, system.clock())
    assert total == expected_total == len(turns)
    assert [row["score"] for row in rows] == pytest.approx(
        [float(row["score"]) for row in expected])
    assert ties_in_order(rows) == ties_in_order(expected)


def ties_in_order(rows: list[dict]) -> list[set[str]]:
    """The keys of a ranking, in order, as runs of equal scores: memories that tie in
    exact arithmetic may differ in the last bits between Python and SQL, so their order
    falls either way."""
    runs: list[tuple[float, set[str]]] = []
    for row in rows:
        if runs and float(row["score"]) == pytest.approx(runs[-1][0], rel=1e-9):
            runs[-1][1].add(row["key"])
        else:
            runs.append((float(row["score"]), {row["key"]}))
    return [keys for _, keys in runs]
