"""The Postgres half of the Elasticsearch memory search: a fused ranking's page is read
from the memory read model by the PostgreSQL search (real Postgres; no Elasticsearch
needed)."""

import pytest

from arqium.domain.memory.application import MemoryDraft
from arqium.infra.eventstore import eventsourcing_env
from arqium.projections.base import open_view
from arqium.projections.memory_search_es import EsMemorySearchProjection
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
