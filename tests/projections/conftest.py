"""What the read-model tests share."""

import pytest

from arqium.projections.memory_search import PostgresMemorySearch


@pytest.fixture
def postgres_search(system) -> PostgresMemorySearch:
    """The PostgreSQL memory search over the system's read models (whatever the settings
    choose for the system itself)."""
    return PostgresMemorySearch(system.views["memory_items"],
                                system.views["memory_embeddings"],
                                system.query_embeddings.vector)
