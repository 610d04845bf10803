"""ARQIUM contexts: named state, optimistic versions, and merge-on-sync."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.caller import CurrentCaller
from arqium.api.common.contexts import ReplaceContext, context_view, from_aggregate
from arqium.api.common.deps import Contexts, MemoryApp
from arqium.api.common.documents import enveloped
from arqium.api.common.envelope import PageDep, ok
from arqium.api.common.validation import Version
from arqium.api.v1.documents import ContextList, ContextView, Deleted
from arqium.domain.memory.contexts import ContextNotFound

router = APIRouter(prefix="/api/v1/contexts", tags=["ARQIUM: contexts"])

class CreateContext(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=200)
    state: dict[str, Any] = Field(default_factory=dict)
    session_id: str | None = Field(default=None, max_length=255)


class SyncContext(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    state: dict[str, Any]
    base_version: Version


@router.post("", status_code=201, summary="Create a context",
             responses=enveloped(201, ContextView))
def create(body: CreateContext, caller: CurrentCaller, memory: MemoryApp):
    context, position = memory.create_context(caller.user_id, body.name, body.state,
                                              body.session_id, cause=caller.cause)
    return ok(from_aggregate(context), status=201, position=(memory.name, position))


@router.get("", summary="Your contexts, oldest first",
            responses=enveloped(200, ContextList))
def list_contexts(caller: CurrentCaller, contexts: Contexts, page: PageDep):
    rows, total = contexts.page(caller.user_id, page.limit, page.offset)
    return ok({"items": [context_view(row) for row in rows]}, pagination=page.meta(total))


@router.get("/{context_id}", summary="One of your contexts",
            responses=enveloped(200, ContextView))
def get(context_id: UUID, caller: CurrentCaller, contexts: Contexts):
    row = contexts.get(caller.user_id, context_id)
    if row is None:
        raise ContextNotFound("no such context (if it was just created, send the "
                              "X-Event-Position you got back as X-Min-Position)")
    return ok(context_view(row))


@router.put("/{context_id}", summary="Replace a context's name or state (optionally at a version)",
            responses=enveloped(200, ContextView))
def replace(context_id: UUID, body: ReplaceContext, caller: CurrentCaller,
            memory: MemoryApp):
    context, position = memory.replace_context(caller.user_id, context_id, body.name,
                                               body.state, body.version, cause=caller.cause)
    return ok(from_aggregate(context), position=(memory.name, position))


@router.delete("/{context_id}", summary="Delete a context",
               responses=enveloped(200, Deleted))
def delete(context_id: UUID, caller: CurrentCaller, memory: MemoryApp):
    position = memory.delete_context(caller.user_id, context_id, cause=caller.cause)
    return ok({"id": str(context_id), "deleted": True}, position=(memory.name, position))


@router.post("/{context_id}/sync", summary="Merge your changes made since base_version",
             responses=enveloped(200, ContextView))
def sync(context_id: UUID, body: SyncContext, caller: CurrentCaller, memory: MemoryApp):
    context, position = memory.sync_context(caller.user_id, context_id, body.state,
                                            body.base_version, cause=caller.cause)
    return ok(from_aggregate(context), position=(memory.name, position))
