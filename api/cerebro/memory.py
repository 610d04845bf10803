"""CEREBRO face (seed 001): bare bodies, errors {error, message, details}."""

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from arqium.api.cerebro.documents import (
    CerebroDeleted,
    CerebroMetrics,
    CerebroPing,
    CerebroSearchResult,
    Promoted,
    Upserted,
    WorkingSet,
)
from arqium.api.common.caller import CurrentCaller, require_admin
from arqium.api.common.deps import (
    AppSettings,
    MemoryApp,
    MemoryItems,
    Now,
    QueryEmbedder,
    SessionMessages,
)
from arqium.api.common.documents import documented
from arqium.api.common.health import VERSION
from arqium.api.common.positions import bare, with_position
from arqium.api.common.search import MemorySearchDep, WorkingSets, relevance
from arqium.api.common.shapes import iso, now_iso
from arqium.api.common.validation import (
    WholeInt,
    bounded_whole_int,
    content_within_limit,
    not_blank,
)
from arqium.api.ratelimit import limited
from arqium.domain.memory.application import MemoryDraft
from arqium.domain.memory.domainmodel import (
    LAYERS,
    MAX_KEY_LENGTH,
    MAX_TTL_SECONDS,
    MemoryItem,
    memory_id_for,
)
from arqium.domain.memory.workingset import conversation_text
from arqium.domain.sessions.domainmodel import session_id_for
from arqium.domain.shared import Forbidden
from arqium.projections.memory_search import MemoryQuery

router = APIRouter(tags=["CEREBRO"])
# Seed 001's "Expensive (RAG, embeddings)" class: search embeds its query, a working set
# the chat's recent messages.
EXPENSIVE = [Depends(limited("cerebro_expensive"))]

WORKING_SET_CANDIDATES = 1000
RECENT_MESSAGES = 6  # what a working set's relevance is measured against
HIGH_LATENCY_MS = 100


class ForbiddenOwner(Forbidden):
    code = "forbidden_owner"


class UpsertRequest(BaseModel):
    # Clients of this face may send fields the seed does not name: ignore them.
    model_config = ConfigDict(extra="ignore", strict=True)
    key: str = Field(min_length=1, max_length=MAX_KEY_LENGTH)
    content: dict[str, Any]
    layer: Literal["context", "temporary", "permanent"] = "temporary"
    confidence: float | None = Field(default=None, ge=0, le=1)  # strict: 1, never true
    sensitivity: Literal["public", "confidential", "secret", "pii"] = "public"
    ttlMinutes: bounded_whole_int(gt=0, le=MAX_TTL_SECONDS // 60) | None = None
    ttlSeconds: bounded_whole_int(gt=0, le=MAX_TTL_SECONDS) | None = None
    tags: list[str] = Field(default_factory=list, max_length=100)
    ownerId: str | None = None

    _key_not_blank = field_validator("key")(not_blank)
    _content_size = field_validator("content")(content_within_limit)

    def ttl_seconds(self) -> int | None:
        if self.ttlSeconds is not None:
            return self.ttlSeconds
        return None if self.ttlMinutes is None else self.ttlMinutes * 60


def memory_body(item: MemoryItem, content: Any) -> dict:
    return {"id": str(item.id), "key": item.key, "content": content,
            "layer": item.layer, "confidence": item.confidence,
            "sensitivity": item.sensitivity, "tags": item.tags,
            "createdAt": iso(item.created_at), "updatedAt": iso(item.updated_at),
            "expiresAt": iso(item.expires_at)}


def check_owner(owner_id: str | None, caller) -> None:
    """Seed 001's own client sends ownerId: it must be the caller."""
    if owner_id is not None and owner_id != caller.user_id:
        raise ForbiddenOwner("ownerId must be the authenticated user", field="ownerId")


@router.get("/ping", summary="Health check (CEREBRO)",
            responses=documented(200, CerebroPing))
def ping():
    return {"status": "ok", "timestamp": now_iso(), "version": VERSION}


@router.post("/api/memory/upsert", summary="Create or update a memory (CEREBRO)",
             dependencies=[Depends(limited("cerebro_general"))],
             responses=documented(200, Upserted))
def upsert(body: UpsertRequest, caller: CurrentCaller, memory: MemoryApp):
    check_owner(body.ownerId, caller)
    draft = MemoryDraft(key=body.key, content=body.content, layer=body.layer,
                        confidence=body.confidence, sensitivity=body.sensitivity,
                        tags=body.tags, ttl_seconds=body.ttl_seconds())
    item, position = memory.upsert(caller.user_id, draft, cause=caller.cause)
    answer = {"memory": memory_body(item, memory.readable_content(item))}
    return with_position(answer, memory.name, position)


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    key: str = Field(min_length=1, max_length=MAX_KEY_LENGTH)
    force: bool = False
    merge: bool = False
    reason: str = Field(default="requested", max_length=500)
    ownerId: str | None = None


@router.post("/api/memory/promote", summary="Promote a memory one layer up (CEREBRO)",
             dependencies=[Depends(limited("cerebro_general"))],
             responses=documented(200, Promoted))
def promote(body: PromoteRequest, caller: CurrentCaller, memory: MemoryApp):
    check_owner(body.ownerId, caller)
    item, position = memory.promote(caller.user_id, body.key, force=body.force,
                                    merge=body.merge, reason=body.reason,
                                    cause=caller.cause)
    answer = {"memory": {"id": str(item.id), "key": item.key, "layer": item.layer,
                         "promotedAt": iso(item.promoted_at)}}
    return with_position(answer, memory.name, position)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    query: str = Field(min_length=1, max_length=1000)
    layer: Literal["context", "temporary", "permanent"] | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    minConfidence: float | None = Field(default=None, ge=0, le=1)
    limit: WholeInt = Field(default=10, ge=1, le=100)
    ownerId: str | None = None


@router.post("/api/memory/search", summary="Search memories (CEREBRO)",
             dependencies=EXPENSIVE, responses=documented(200, CerebroSearchResult))
def search(body: SearchRequest, caller: CurrentCaller, memories: MemorySearchDep, now: Now):
    check_owner(body.ownerId, caller)
    rows, total = memories.search(MemoryQuery(
        caller.user_id, body.query, layer=body.layer, tags=body.tags,
        min_confidence=body.minConfidence, limit=body.limit), now)
    found = [{"id": str(row["id"]), "key": row["key"], "content": row["content"],
              "confidence": row["confidence"], "layer": row["layer"],
              "relevanceScore": relevance(row["score"])} for row in rows]
    return bare({"memories": found, "total": total})


class ContextRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    chatId: str = Field(min_length=1, max_length=255)
    maxTokens: WholeInt = Field(default=2000, gt=0, le=200_000)
    ownerId: str | None = None


@router.post("/api/memory/context", summary="The working set of memories for a chat (CEREBRO)",
             dependencies=EXPENSIVE, responses=documented(200, WorkingSet))
def working_set(body: ContextRequest, caller: CurrentCaller, working_sets: WorkingSets,
                messages: SessionMessages, memory: MemoryApp, now: Now):
    """Ranked by layer, confidence, recency and, when the chat is a session with
    messages, relevance to its recent messages; packed within maxTokens (counted with
    the WordPiece tokenizer on `key: content` when the memory was projected); secret
    memories are left out; each assembly is recorded as an event (X-Event-Position)."""
    check_owner(body.ownerId, caller)
    recent, _ = messages.before(caller.user_id, session_id_for(caller.user_id, body.chatId),
                                None, RECENT_MESSAGES)
    shown = working_sets.working_set(caller.user_id, now, body.maxTokens,
                                     WORKING_SET_CANDIDATES, conversation_text(recent))
    total, position = memory.record_working_set(
        caller.user_id, body.chatId, shown, body.maxTokens, cause=caller.cause)
    memories = [{"id": str(m["id"]), "key": m["key"], "content": m["content"],
                 "layer": m["layer"], "confidence": m["confidence"],
                 "createdAt": iso(m["updated_at"]), "tokens": m["tokens"]} for m in shown]
    return with_position({"memories": memories, "items": memories, "totalTokens": total,
                          "count": len(memories), "budget": body.maxTokens},
                         memory.name, position)


@router.get("/api/memory/metrics", summary="Memory system metrics (CEREBRO, admin only)",
            responses=documented(200, CerebroMetrics))
def metrics(request: Request, caller: CurrentCaller, view: MemoryItems,
            settings: AppSettings, cache: QueryEmbedder, now: Now):
    require_admin(caller)
    latency = request.app.state.latency
    p95, p99 = latency.percentile(0.95), latency.percentile(0.99)
    by_layer = view.count_by_layer(now)
    alerts = []
    if p95 is not None and p95 > HIGH_LATENCY_MS:
        alerts.append({"type": "high_latency", "threshold": HIGH_LATENCY_MS, "current": p95})
    return {"metrics": {
                # Query embeddings: L1 in this process, L2 in Postgres (all processes).
                "cacheHitRatioL1": cache.l1.ratio or 0.0,
                "cacheHitRatioL2": cache.l2.ratio or 0.0,
                "avgLatencyMs": {"p95": p95, "p99": p99},
                "totalMemories": {layer: by_layer.get(layer, 0) for layer in LAYERS}},
            "alerts": alerts,
            "config": {"tokenBudget": ContextRequest.model_fields["maxTokens"].default,
                       "ttls": {"context": settings.context_ttl_minutes,
                                "temporary": settings.temporary_ttl_minutes},
                       "promotionThreshold": settings.promotion_threshold}}


class DeleteRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    key: str | None = Field(default=None, min_length=1, max_length=MAX_KEY_LENGTH)
    id: UUID | None = Field(default=None, strict=False)  # a UUID in a JSON string
    ownerId: str | None = None

    @model_validator(mode="after")
    def _key_or_id(self) -> "DeleteRequest":
        if (self.key is None) == (self.id is None):
            raise ValueError("send exactly one of key and id")
        return self


@router.post("/api/memory/delete", summary="Delete a memory by key or id (CEREBRO)",
             dependencies=[Depends(limited("cerebro_general"))],
             responses=documented(200, CerebroDeleted))
def delete(body: DeleteRequest, caller: CurrentCaller, memory: MemoryApp):
    check_owner(body.ownerId, caller)
    item_id = body.id or memory_id_for(caller.user_id, body.key)
    item, position = memory.delete(caller.user_id, item_id, cause=caller.cause)
    return with_position({"deleted": True, "key": item.key}, memory.name, position)
