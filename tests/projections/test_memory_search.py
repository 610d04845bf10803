"""The PostgreSQL memory search, without HTTP: each mode, each filter, snippets, the
working set and read-your-writes, over real read models."""

from datetime import timedelta

import pytest

from arqium.domain.memory.application import MemoryDraft
from arqium.projections.memory_search import RRF_K, MemoryQuery
from tests.conftest import SETUP

MEMORIES = {  # key: (note, layer, confidence, metadata)
    "editor": ("prefers a dark theme in every code editor", "temporary", 0.9, {}),
    "taxes": ("quarterly tax filing is due at the end of March", "temporary", 0.5,
              {"kind": "finance"}),
    "pets": ("has two cats named Miso and Tofu", "permanent", 0.5, {}),
    "trip/rome": ("a train to Rome in May", "temporary", None, {}),
    "trip/oslo": ("a ferry to Oslo in June", "temporary", None, {}),
}


@pytest.fixture
def stored(system, workers, postgres_search) -> dict:
    """u1's memories (and one of u2), by key, once both read models have them."""
    workers("memory_items", "memory_embeddings")
    items = {}
    for key, (note, layer, confidence, metadata) in MEMORIES.items():
        items[key], position = system.memory.upsert("u1", MemoryDraft(
            key=key, content={"note": note}, layer=layer, confidence=confidence,
            tags=[key], metadata=metadata), cause=SETUP)
    _, position = system.memory.upsert("u2", MemoryDraft(
        key="editor", content={"note": "a dark theme in the editor"}), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    return items


def found(search, system, text: str, **filters) -> list[str]:
    rows, _ = search.search(MemoryQuery("u1", text, **filters), system.clock())
    return [row["key"] for row in rows]


def test_keyword_mode_finds_the_memories_sharing_a_word(postgres_search, system, stored):
    assert found(postgres_search, system, "Tofu", mode="keyword") == ["pets"]
    assert found(postgres_search, system, "quartrly", mode="keyword") == ["taxes"]


def test_keyword_mode_finds_other_forms_of_a_word(postgres_search, system, stored):
    assert found(postgres_search, system, "tax", mode="keyword") == ["taxes"]
    assert found(postgres_search, system, "filings", mode="keyword") == ["taxes"]


def test_keyword_mode_finds_a_misspelt_word_by_the_owners_vocabulary(postgres_search,
                                                                    system, stored):
    assert found(postgres_search, system, "catts", mode="keyword") == ["pets"]


def test_keyword_mode_finds_nothing_for_a_word_no_memory_has(postgres_search, system,
                                                             stored):
    assert found(postgres_search, system, "xylophone", mode="keyword") == []


def test_semantic_mode_finds_a_memory_sharing_no_word(postgres_search, system, stored):
    question = "which colour scheme is favoured"
    assert found(postgres_search, system, question, mode="semantic")[0] == "editor"


def test_hybrid_mode_fuses_the_two_rankings_by_reciprocal_rank(postgres_search, system,
                                                                stored):
    by_keyword = found(postgres_search, system, "cats named Miso", mode="keyword", limit=50)
    by_meaning = found(postgres_search, system, "cats named Miso", mode="semantic",
                       limit=50)
    expected: dict[str, float] = {}
    for ranking in (by_keyword, by_meaning):
        for rank, key in enumerate(ranking, start=1):
            expected[key] = expected.get(key, 0) + 1 / (RRF_K + rank)
    rows, total = postgres_search.search(MemoryQuery("u1", "cats named Miso", limit=50),
                                         system.clock())
    assert by_keyword == ["pets"] and total == len(expected)
    assert {row["key"]: float(row["score"]) for row in rows} == pytest.approx(expected)


@pytest.mark.parametrize("filters, allowed", [
    ({"layer": "permanent"}, {"pets"}),
    ({"tags": ["taxes", "pets"]}, {"taxes", "pets"}),
    ({"min_confidence": 0.7}, {"editor"}),
    ({"key_prefix": "trip/"}, {"trip/rome", "trip/oslo"}),
    ({"metadata": {"kind": "finance"}}, {"taxes"}),
])
def test_filters_apply_inside_both_rankings(postgres_search, system, stored, filters,
                                            allowed):
    keys = found(postgres_search, system, "Rome tax filing cats dark theme", **filters)
    assert keys and set(keys) <= allowed


def test_an_expired_memory_is_not_found_from_its_expiry_on(postgres_search, system,
                                                           stored):
    _, position = system.memory.upsert("u1", MemoryDraft(
        key="flight", content="boarding pass for Lisbon", ttl_seconds=60), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    query = MemoryQuery("u1", "Lisbon", mode="keyword")
    assert postgres_search.search(query, system.clock())[1] == 1
    assert postgres_search.search(query, system.clock() + timedelta(seconds=61)) == ([], 0)


def test_the_limit_cuts_the_page_and_the_total_counts_every_match(postgres_search, system,
                                                                  stored):
    rows, total = postgres_search.search(MemoryQuery("u1", "trip", limit=1), system.clock())
    assert len(rows) == 1 and total > 1


def test_another_owners_memories_are_never_found(postgres_search, system, stored):
    rows, _ = postgres_search.search(MemoryQuery("u2", "dark theme editor"), system.clock())
    assert [row["content"] for row in rows] == [{"note": "a dark theme in the editor"}]


def test_snippets_mark_the_matched_words_only_when_asked(postgres_search, system, stored):
    [row] = postgres_search.search(MemoryQuery("u1", "quarterly", mode="keyword",
                                               snippets=True), system.clock())[0]
    assert "<mark>quarterly</mark>" in row["snippet"]
    [row] = postgres_search.search(MemoryQuery("u1", "quarterly", mode="keyword"),
                                   system.clock())[0]
    assert row["snippet"] is None


def test_a_hit_has_the_fields_every_face_shows(postgres_search, system, stored):
    [row] = postgres_search.search(MemoryQuery("u1", "Tofu", mode="keyword"),
                                   system.clock())[0]
    assert {"id", "key", "content", "layer", "confidence", "tags", "metadata", "created_at",
            "updated_at", "expires_at", "score", "total", "snippet"} <= set(row)


def test_the_working_set_leaves_secrets_out_and_ranks_the_permanent_first(
        postgres_search, system, stored):
    system.memory.keys.create("u1")  # a registered user's data key
    _, position = system.memory.upsert("u1", MemoryDraft(
        key="pin", content="1234", layer="permanent", sensitivity="secret"), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    shown = postgres_search.working_set("u1", system.clock(), 1000, 100)
    assert shown[0]["key"] == "pets" and "pin" not in {row["key"] for row in shown}


def test_the_working_set_favours_memories_relevant_to_the_conversation(
        postgres_search, system, stored):
    shown = postgres_search.working_set("u1", system.clock(), 1000, 100,
                                        conversation="user: book me a ferry to Oslo")
    temporary = [row["key"] for row in shown if row["layer"] == "temporary"]
    assert temporary[0] == "trip/oslo"


def test_the_working_set_fits_the_budget(postgres_search, system, stored):
    shown = postgres_search.working_set("u1", system.clock(), 30, 100)
    assert 0 < sum(row["tokens"] for row in shown) <= 30


def test_the_search_waits_for_the_embeddings_too(postgres_search, system, workers):
    workers("memory_items")
    _, position = system.memory.upsert("u1", MemoryDraft(key="k", content="words"), cause=SETUP)
    system.views["memory_items"].wait("memory", position, timeout=10)
    with pytest.raises(TimeoutError, match="memory_embeddings"):
        postgres_search.wait("memory", position, timeout=0.05)
