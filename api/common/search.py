"""Memory search as every face asks for it: the system's one memory search (chosen at
start-up: Elasticsearch when a cluster is configured, else PostgreSQL), once it holds
the caller's writes."""

from functools import partial
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from arqium.api.common.deps import (
    MemoryItems,
    ReadModelWaits,
    SystemDep,
    behind,
    request_positions,
)
from arqium.api.common.positions import MIN_POSITION_HEADER
from arqium.api.usage import count_search
from arqium.infra.eventstore import check_before_connecting
from arqium.projections.memory_search import MemorySearch
from arqium.system.bootstrap import System


def caught_up_search(request: Request, system: SystemDep) -> MemorySearch:
    """The memory search, once it holds what the request must read."""
    count_search(request)
    wait_for_search(request, system)
    return system.memory_search


async def caught_up_search_when_read(request: Request, system: SystemDep) -> MemorySearch:
    """The memory search, whose caller's first query (in the route's worker thread)
    first waits until it holds what the request must read (see caught_up_when_read).
    Not while it searches Elasticsearch: its first query goes there, not to PostgreSQL."""
    count_search(request)
    if system.memory_search.words_projection() is None:
        await run_in_threadpool(wait_for_search, request, system)
    else:
        check_before_connecting(partial(wait_for_search, request, system))
    return system.memory_search


def wait_for_search(request: Request, system: System) -> None:
    """Wait (bounded) until the memory search holds what the request must read: up to
    its X-Min-Position, by words and meaning; else every earlier write by its words
    (embeddings can lag the writes under load: a memory is found by its words at once,
    by its meaning once embedded)."""
    search, waits = system.memory_search, ReadModelWaits(system)
    words = search.words_projection()
    if words is not None and waits.holds_the_head(request, words):
        return  # the usual case, told in one round trip
    position = request_positions(request, waits)(system.memory.name)
    if position is not None:
        wait = (search.wait if MIN_POSITION_HEADER in request.headers
                else search.wait_for_words)
        try:
            wait(system.memory.name, position, system.settings.read_wait_seconds)
        except TimeoutError:
            raise behind("the memory search") from None


MemorySearchDep = Annotated[MemorySearch, Depends(caught_up_search_when_read)]


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
