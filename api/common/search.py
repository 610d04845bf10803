"""Memory search as every face asks for it: the system's one memory search (chosen at
start-up: Elasticsearch when a cluster is configured, else PostgreSQL), once it holds
the caller's writes."""

from typing import Annotated

from fastapi import Depends, Request

from arqium.api.common.deps import (
    MemoryItems,
    ReadModelWaits,
    SystemDep,
    behind,
    request_positions,
)
from arqium.api.common.positions import MIN_POSITION_HEADER
from arqium.api.usage import count_search
from arqium.projections.memory_search import MemorySearch


def caught_up_search(request: Request, system: SystemDep) -> MemorySearch:
    """The memory search, once it holds what the request must read (bounded wait): up
    to its X-Min-Position, by words and meaning; else every earlier write by its words
    (embeddings can lag the writes under load: a memory is found by its words at once,
    by its meaning once embedded)."""
    count_search(request)
    search, waits = system.memory_search, ReadModelWaits(system)
    words = search.words_projection()
    if words is not None and waits.holds_the_head(request, words):
        return search  # the usual case, told in one round trip
    position = request_positions(request, waits)(system.memory.name)
    if position is not None:
        wait = (search.wait if MIN_POSITION_HEADER in request.headers
                else search.wait_for_words)
        try:
            wait(system.memory.name, position, system.settings.read_wait_seconds)
        except TimeoutError:
            raise behind("the memory search") from None
    return search


MemorySearchDep = Annotated[MemorySearch, Depends(caught_up_search)]


async def working_set_search(system: SystemDep, _ranked_on: MemoryItems) -> MemorySearch:
    """The memory search for working sets, once the memory read model (on which they are
    ranked) holds the caller's writes."""
    return system.memory_search


WorkingSets = Annotated[MemorySearch, Depends(working_set_search)]


def relevance(score: float) -> float:
    """A fused score, 0..1 (1: the best by keyword and by meaning), rounded."""
    return round(min(max(float(score), 0.0), 1.0), 4)


def split_tags(tags: list[str]) -> list[str]:
    """Tags given as repeated parameters or comma-separated."""
    return [tag.strip() for value in tags for tag in value.split(",") if tag.strip()]
