"""Query embeddings cached in process (L1) and in Postgres for every process (L2)."""

import pytest

from arqium.infra.embeddings import FLOAT_MODEL, shared_embedder
from arqium.infra.query_embeddings import QueryEmbeddings


@pytest.fixture
def connect(system):
    return system.identity.recorder.datastore.get_connection


def test_a_repeated_query_is_answered_from_the_process_cache(connect):
    cache = QueryEmbeddings(connect)
    first = cache.vector("dark editor theme")
    assert cache.vector("dark editor theme") == first and len(first) == 384
    assert (cache.l1.hits, cache.l1.lookups, cache.l1.ratio) == (1, 2, 0.5)
    assert (cache.l2.hits, cache.l2.lookups) == (0, 1)


def test_another_process_finds_the_query_in_the_shared_cache(connect):
    first = QueryEmbeddings(connect).vector("dentist appointment")
    other = QueryEmbeddings(connect)
    assert other.vector("dentist appointment") == first
    assert (other.l2.hits, other.l2.lookups, other.l2.ratio) == (1, 1, 1.0)


def test_the_cached_vector_is_the_models(connect):
    vector = QueryEmbeddings(connect).vector("weekend hiking trip")
    exact = shared_embedder(FLOAT_MODEL).embed(["weekend hiking trip"])[0]
    assert max(abs(a - b) for a, b in zip(vector, exact, strict=True)) < 1e-5


def test_the_process_cache_keeps_only_the_most_recent_queries(connect):
    cache = QueryEmbeddings(connect, l1_size=1)
    cache.vector("one")
    cache.vector("two")
    cache.vector("one")
    assert cache.l1.hits == 0 and cache.l2.hits == 1
