"""ARQIUM memory: store a memory, list the recent ones."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import MemoryApp, MemoryItems, Now
from arqium.api.common.documents import enveloped
from arqium.api.common.envelope import Page, ok, page_or_limit, whole_list_page
from arqium.api.common.json_response import as_json, with_member
from arqium.api.common.memory import StoreMemoryRequest, memory_view, store_memory
from arqium.api.common.search import MemorySearchDep, relevance, split_tags
from arqium.api.common.shapes import iso
from arqium.api.common.validation import UtcTime
from arqium.api.v1.documents import (
    Cleared,
    MemoryDeleted,
    MemoryHistory,
    MemoryHits,
    MemoryList,
    MemoryView,
)
from arqium.domain.memory.domainmodel import MemoryNotFound
from arqium.projections.memory_search import MemoryQuery

router = APIRouter(prefix="/api/v1/memory", tags=["ARQIUM: memory"])
# The page sizes each list had before it paged, so that old clients see no change.
SearchPage = Annotated[Page, Depends(page_or_limit(default=10))]
RecentPage = Annotated[Page, Depends(page_or_limit(default=20))]
HistoryPage = Annotated[Page, Depends(whole_list_page(default=100))]

@router.post("/store", status_code=201, summary="Store a memory item",
             responses=enveloped(201, MemoryView))
def store(body: StoreMemoryRequest, caller: CurrentCaller, memory: MemoryApp):
    data, position = store_memory(memory, caller, body)
    return ok(data, status=201, position=(memory.name, position))


@router.get("/search", summary="Search your memories (semantic + keyword)",
            responses=enveloped(200, MemoryHits))
def search(caller: CurrentCaller, memories: MemorySearchDep, now: Now, page: SearchPage,
           q: str = Query(min_length=1, max_length=1000),
           mode: Literal["hybrid", "semantic", "keyword"] = "hybrid",
           layer: Literal["context", "temporary", "permanent"] | None = None,
           tags: list[str] = Query(default=[])):
    """Best first, in pages of the fused ranking (each side ranks its best 100
    candidates): `total` is how many that ranking holds, pages past it are empty."""
    rows, total = memories.search(MemoryQuery(caller.user_id, q, mode=mode, layer=layer,
                                              tags=split_tags(tags), limit=page.limit,
                                              offset=page.offset, shown=True), now)
    return ok({"items": [with_member(row["shown"], "score", relevance(row["score"]))
                         for row in rows]}, pagination=page.meta(total))


@router.get("/recent", summary="Recent memories, newest first",
            responses=enveloped(200, MemoryList))
def recent(caller: CurrentCaller, view: MemoryItems, now: Now, page: RecentPage):
    """Your live memories, last changed first, in pages; `total` counts them all."""
    shown, total = view.recent_page_shown(caller.user_id, page.limit, page.offset, now)
    return ok({"items": [as_json(memory) for memory in shown]},
              pagination=page.meta(total))


class ClearRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    older_than: UtcTime | None = None
    layer: Literal["context", "temporary", "permanent"] | None = None


@router.post("/clear", summary="Delete your memories older than a time (or of a layer)",
             responses=enveloped(200, Cleared))
def clear(body: ClearRequest, caller: CurrentCaller, view: MemoryItems, memory: MemoryApp,
          now: Now):
    """Each cleared memory gets its own Deleted event."""
    ids = view.clearable(caller.user_id, body.older_than, body.layer, now)
    cleared, position = memory.clear(caller.user_id, ids, cause=caller.cause)
    return ok({"cleared": cleared}, position=(memory.name, position) if position else None)


@router.get("/{item_id}", summary="One of your memories",
            responses=enveloped(200, MemoryView))
def get_memory(item_id: UUID, caller: CurrentCaller, view: MemoryItems, now: Now):
    row = view.get(caller.user_id, item_id, now)
    if row is None:
        raise MemoryNotFound("no such memory (if it was just stored, send the "
                             "X-Event-Position you got back as X-Min-Position)")
    return ok(memory_view(row))


@router.get("/{item_id}/history", summary="Every version of one of your memories",
            responses=enveloped(200, MemoryHistory))
def history(item_id: UUID, caller: CurrentCaller, memory: MemoryApp, page: HistoryPage):
    """Oldest first, 100 versions a page unless per_page says otherwise."""
    versions = memory.history(caller.user_id, item_id)
    return ok({"items": [{**version, "at": iso(version["at"])}
                         for version in page.of(versions)]},
              pagination=page.meta(len(versions)))


@router.delete("/{item_id}", summary="Delete one of your memories",
               responses=enveloped(200, MemoryDeleted))
def delete_memory(item_id: UUID, caller: CurrentCaller, memory: MemoryApp):
    item, position = memory.delete(caller.user_id, item_id, cause=caller.cause)
    return ok({"id": str(item.id), "key": item.key, "deleted": True},
              position=(memory.name, position))
