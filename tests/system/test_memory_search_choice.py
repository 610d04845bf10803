"""The system's one memory search is chosen at start-up, from the settings."""

import pytest

from arqium.domain.memory.application import MemoryDraft
from arqium.projections.memory_search import PostgresMemorySearch
from arqium.system.bootstrap import open_system
from tests.conftest import SETUP

UNREACHED_CLUSTER = "http://127.0.0.1:9"  # building a client does not connect to it


@pytest.fixture
def system_for(settings, clock):
    """Opens the system with ARQIUM_ELASTICSEARCH_URL set to a value (or unset)."""
    systems = []

    def open_with(elasticsearch_url: str | None):
        changed = settings.model_copy(update={"elasticsearch_url": elasticsearch_url})
        systems.append(open_system(changed, clock=clock))
        return systems[-1]

    yield open_with
    for system in systems:
        system.close()


def test_without_a_cluster_memory_search_runs_in_postgres(system_for):
    assert isinstance(system_for(None).memory_search, PostgresMemorySearch)


def test_with_a_cluster_url_memory_search_runs_in_elasticsearch(system_for):
    from arqium.projections.memory_search_es import ElasticsearchMemorySearch

    system = system_for(UNREACHED_CLUSTER)
    assert isinstance(system.memory_search, ElasticsearchMemorySearch)
    assert system.memory_search.view.index == system.settings.elasticsearch_index


def test_with_a_cluster_working_sets_are_still_ranked_in_postgres(system_for, workers):
    system = system_for(UNREACHED_CLUSTER)
    workers("memory_items")
    _, position = system.memory.upsert("u1", MemoryDraft(key="k", content="a note"), cause=SETUP)
    system.views["memory_items"].wait("memory", position, timeout=10)
    shown = system.memory_search.working_set("u1", system.clock(), 1000, 100)
    assert [row["key"] for row in shown] == ["k"]
