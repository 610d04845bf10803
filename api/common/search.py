"""Memory search as every face asks for it: query embedding (cached twice), hybrid
ranking; in Elasticsearch when a cluster is configured, else in Postgres."""

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Depends, Request

from arqium.api.common.deps import SystemDep, caught_up
from arqium.api.common.positions import MIN_POSITION_HEADER, parse_position
from arqium.api.errors import ReadModelBehind
from arqium.projections.memory_embeddings import (
    RRF_K,
    MemoryEmbeddingsProjection,
    MemoryEmbeddingsView,
)
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.system.bootstrap import System

BEST_SCORE = 2 / (RRF_K + 1)  # first on both the keyword and the meaning ranking

PostgresSearch = Annotated[MemoryEmbeddingsView,
                           Depends(caught_up(MemoryItemsProjection,
                                             MemoryEmbeddingsProjection))]


def searched_index(request: Request, system: SystemDep, view: PostgresSearch) -> Any:
    """Where a search runs: the Elasticsearch index when one is configured (once it has
    reached the caller's X-Min-Position too), else the Postgres read models."""
    index = system.memory_search
    if index is None:
        return view
    token = request.headers.get(MIN_POSITION_HEADER)
    if token:
        application_name, position = parse_position(token)
        if application_name == system.memory.name:
            try:
                index.wait(application_name, position, system.settings.read_wait_seconds)
            except TimeoutError:
                raise ReadModelBehind(f"the memory search index has not reached {token} "
                                      "yet; retry shortly") from None
    return index


MemorySearch = Annotated[Any, Depends(searched_index)]


def search_memories(system: System, index: Any, owner_id: str, query: str,
                    *, mode: str = "hybrid", layer: str | None = None,
                    tags: Sequence[str] = (), min_confidence: float | None = None,
                    limit: int = 10) -> tuple[list[dict], int]:
    vector = (system.query_embeddings.vector(query) if mode in ("hybrid", "semantic")
              else None)
    return index.search(owner_id, query, vector, mode=mode, layer=layer, tags=tags,
                        min_confidence=min_confidence, limit=limit, now=system.clock())


def relevance(score: float) -> float:
    """A fused rank score as 0..1 (1: first by keyword and by meaning)."""
    return round(min(float(score) / BEST_SCORE, 1.0), 4)


def split_tags(tags: list[str]) -> list[str]:
    """Tags given as repeated parameters or comma-separated."""
    return [tag.strip() for value in tags for tag in value.split(",") if tag.strip()]
