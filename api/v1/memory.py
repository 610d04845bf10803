"""ARQIUM memory: store a memory, list the recent ones."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from arqium.api.deps import Caller, CurrentCaller, SystemDep, caught_up
from arqium.api.faces.shapes import iso
from arqium.api.search import MemorySearchDep, relevance, split_tags
from arqium.api.v1.envelope import ok
from arqium.api.validation import content_within_limit
from arqium.domain.memory.application import MemoryDraft
from arqium.domain.memory.domainmodel import MAX_KEY_LENGTH, MemoryNotFound
from arqium.domain.shared import acting
from arqium.projections.memory_items import MemoryItemsView
from arqium.projections.memory_search import MemoryQuery
from arqium.system.bootstrap import System

router = APIRouter(prefix="/api/v1/memory", tags=["ARQIUM: memory"])

MemoryItems = Annotated[MemoryItemsView, Depends(caught_up("memory_items"))]


class StoreMemoryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    content: str | dict[str, Any] | list[Any]
    key: str | None = Field(default=None, min_length=1, max_length=MAX_KEY_LENGTH)
    layer: Literal["context", "temporary", "permanent"] = "temporary"
    sensitivity: Literal["public", "confidential", "secret", "pii"] = "public"
    tags: list[str] = Field(default_factory=list, max_length=100)
    metadata: dict[str, Any] = Field(default_factory=dict)
    session_id: str | None = Field(default=None, max_length=255)
    context_id: str | None = Field(default=None, max_length=255)

    _content_size = field_validator("content")(content_within_limit)


def memory_view(fields: Mapping[str, Any]) -> dict:
    """A memory as the native face shows it, from an aggregate's fields or a row."""
    return {"id": str(fields["id"]), "key": fields["key"], "content": fields["content"],
            "layer": fields["layer"], "tags": fields["tags"],
            "metadata": fields.get("metadata", {}), "confidence": fields["confidence"],
            "session_id": fields.get("session_id"), "context_id": fields.get("context_id"),
            "created_at": iso(fields.get("created_at")),
            "updated_at": iso(fields["updated_at"]), "expires_at": iso(fields.get("expires_at"))}


def store_memory(system: System, caller: Caller, body: StoreMemoryRequest
                 ) -> tuple[dict, int]:
    """Store the caller's memory: its view and the position of the stored event."""
    draft = MemoryDraft(key=body.key or str(uuid.uuid4()), content=body.content,
                        layer=body.layer, sensitivity=body.sensitivity, tags=body.tags,
                        metadata=body.metadata,
                        session_id=body.session_id, context_id=body.context_id)
    with acting(caller.cause):
        item, position = system.memory.upsert(caller.user_id, draft)
    shown = {**vars(item), "id": item.id, "content": system.memory.readable_content(item)}
    return memory_view(shown), position


@router.post("/store", status_code=201, summary="Store a memory item")
def store(body: StoreMemoryRequest, caller: CurrentCaller, system: SystemDep):
    data, position = store_memory(system, caller, body)
    return ok(data, status=201, position=(system.memory.name, position))


@router.get("/search", summary="Search your memories (semantic + keyword)")
def search(caller: CurrentCaller, memories: MemorySearchDep, system: SystemDep,
           q: str = Query(min_length=1, max_length=1000),
           mode: Literal["hybrid", "semantic", "keyword"] = "hybrid",
           layer: Literal["context", "temporary", "permanent"] | None = None,
           tags: list[str] = Query(default=[]),
           limit: int = Query(default=10, ge=1, le=100)):
    rows, total = memories.search(MemoryQuery(caller.user_id, q, mode=mode, layer=layer,
                                              tags=split_tags(tags), limit=limit),
                                  system.clock())
    return ok({"items": [{**memory_view(row), "score": relevance(row["score"])}
                         for row in rows]}, pagination={"page": 1, "per_page": limit,
                                                        "total": total})


@router.get("/recent", summary="Recent memories, newest first")
def recent(caller: CurrentCaller, view: MemoryItems, system: SystemDep,
           limit: int = Query(default=20, ge=1, le=100)):
    rows = view.recent(caller.user_id, limit, system.clock())
    return ok({"items": [memory_view(row) for row in rows]})


class ClearRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    older_than: datetime | None = None
    layer: Literal["context", "temporary", "permanent"] | None = None


@router.post("/clear", summary="Delete your memories older than a time (or of a layer)")
def clear(body: ClearRequest, caller: CurrentCaller, view: MemoryItems, system: SystemDep):
    """Each cleared memory gets its own Deleted event."""
    ids = view.clearable(caller.user_id, body.older_than, body.layer, system.clock())
    with acting(caller.cause):
        cleared, position = system.memory.clear(caller.user_id, ids)
    return ok({"cleared": cleared},
              position=(system.memory.name, position) if position else None)


@router.get("/{item_id}", summary="One of your memories")
def get_memory(item_id: UUID, caller: CurrentCaller, view: MemoryItems, system: SystemDep):
    row = view.get(caller.user_id, item_id, system.clock())
    if row is None:
        raise MemoryNotFound("no such memory (if it was just stored, send the "
                             "X-Event-Position you got back as X-Min-Position)")
    return ok(memory_view(row))


@router.get("/{item_id}/history", summary="Every version of one of your memories")
def history(item_id: UUID, caller: CurrentCaller, system: SystemDep):
    versions = system.memory.history(caller.user_id, item_id)
    return ok({"items": [{**version, "at": iso(version["at"])} for version in versions]})


@router.delete("/{item_id}", summary="Delete one of your memories")
def delete_memory(item_id: UUID, caller: CurrentCaller, system: SystemDep):
    with acting(caller.cause):
        item, position = system.memory.delete(caller.user_id, item_id)
    return ok({"id": str(item.id), "key": item.key, "deleted": True},
              position=(system.memory.name, position))
