"""Memory Service v0 face (seed 002): entries and search. Entries are memory items of
their user, so the same hybrid search finds them; tags come back in the shape the
client sent (a list, or the Go SDK's object)."""

import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator
from pydantic_core import to_json

from arqium.api.common.deps import MemoryApp, Now, ReadModelWaits, SystemDep, Waits
from arqium.api.common.documents import documented
from arqium.api.common.positions import with_position
from arqium.api.common.search import relevance
from arqium.api.common.shapes import (
    CURRENT_DIALECT,
    FACE_KEY,
    MEMORY_V0_CURRENT,
    SEED_DIALECT,
    is_current_v0_search,
    iso,
)
from arqium.api.common.validation import MAX_INT64, UtcTime
from arqium.api.memory_v0.access import (
    UserDep,
    V0User,
    VaultsAtHead,
    check_uuid,
    command_target,
    entry_body,
    memory_row,
    user_for,
    v0_caller,
)
from arqium.api.memory_v0.current import search as current_search
from arqium.api.memory_v0.current.auth import account
from arqium.api.memory_v0.current.search import CurrentSearch
from arqium.api.memory_v0.documents import (
    CurrentSearchResult,
    EntryBody,
    EntryList,
    SearchResult,
    UserId,
)
from arqium.api.memory_v0.vaults import CREATED, MEMORY, NO_CONTENT
from arqium.api.usage import count_search
from arqium.domain.memory.domainmodel import memory_id_for
from arqium.domain.memory.vaults import (
    MAX_RAW_ENTRY,
    CollectionNotFound,
    entry_key,
    entry_key_prefix,
    tag_names,
)
from arqium.domain.shared import Invalid, NotFound
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.projections.memory_search import MemoryQuery
from arqium.projections.vaults import VaultsProjection, VaultsView
from arqium.system.bootstrap import System

ENTRY = MEMORY + "/entries/{entryId}"
Tags = list[str] | dict[str, Any]
MAX_TAGS = 100
DEFAULT_TOP_K = 10

router = APIRouter(prefix="/v0", tags=["Memory Service v0"])


def _check_tags(tags: Tags | None) -> Tags | None:
    """None (absent or null) stays None: such an entry is answered without `tags`."""
    if tags is None:
        return None
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    if isinstance(tags, dict) and not all(isinstance(v, str) for v in tags.values()):
        raise ValueError("tag values must be strings")
    return tags


class AddEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    rawEntry: str = Field(min_length=1, max_length=MAX_RAW_ENTRY)
    summary: str | None = Field(default=None, max_length=MAX_RAW_ENTRY)
    tags: Tags | None = None
    metadata: dict[str, Any] | None = None
    expirationTime: UtcTime | None = None

    _tags = field_validator("tags")(_check_tags)


class RetagEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tags: Tags | None = None

    _tags = field_validator("tags")(_check_tags)


@router.post(MEMORY + "/entries", status_code=201, summary="Add an entry (v0)",
             responses=documented(201, EntryBody))
def add_entry(vaultId: str, memoryId: str, body: AddEntry, user: UserDep, memory: MemoryApp,
              waits: Waits, now: Now):
    """`creationTime` is set by the server; the entry is searchable once the memory
    projections have indexed it (usually well under a second)."""
    vault_id, memory_id = command_target(memory, waits, user, vaultId, memoryId)
    expires_at = future(body.expirationTime, now)
    item, position = memory.add_entry(
        user.owner_id, vault_id, memory_id, body.rawEntry, body.tags,
        body.summary, body.metadata or {}, expires_at, cause=user.cause)
    return with_position(entry_body(user, vault_id, item.content, item.metadata,
                                    item.created_at, item.expires_at),
                         memory.name, position, CREATED)


def future(moment: datetime | None, now: datetime) -> datetime | None:
    if moment is None:
        return None
    if moment <= now:
        raise Invalid("expirationTime must be in the future", field="expirationTime")
    return moment


@router.get(MEMORY + "/entries", summary="List a memory's entries, newest first (v0)",
            responses=documented(200, EntryList))
def list_entries(vaultId: str, memoryId: str, user: UserDep, vaults: VaultsAtHead,
                 waits: Waits, now: Now,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                 offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
                 before: UtcTime | None = None, after: UtcTime | None = None):
    """Pages by `limit`/`offset` (the document) or by `before`/`after` (RFC 3339, the
    SDK); `count` is the number of entries in this answer."""
    memory = memory_row(vaults, user, vaultId, memoryId)
    rows = waits.at_head(MemoryItemsProjection).with_key_prefix(
        user.owner_id, entry_key_prefix(str(memory["id"])), now, limit=limit,
        offset=offset, before=before, after=after)
    entries = [entry_body(user, memory["vault_id"], row["content"], row["metadata"],
                          row["created_at"], row["expires_at"]) for row in rows]
    return {"entries": entries, "count": len(entries)}


@router.get(ENTRY, summary="Get an entry (v0)",
            responses=documented(200, EntryBody))
def get_entry(vaultId: str, memoryId: str, entryId: str, user: UserDep,
              vaults: VaultsAtHead, waits: Waits, now: Now):
    memory = memory_row(vaults, user, vaultId, memoryId)
    row = waits.at_head(MemoryItemsProjection).get(
        user.owner_id, entry_item_id(user, str(memory["id"]), entryId), now)
    if row is None:
        raise NotFound("entry not found", field="entryId")
    return entry_body(user, memory["vault_id"], row["content"], row["metadata"],
                      row["created_at"], row["expires_at"])


@router.delete(ENTRY, status_code=204, summary="Delete an entry (v0)")
def delete_entry(vaultId: str, memoryId: str, entryId: str, user: UserDep,
                 memory: MemoryApp, waits: Waits):
    vault_id, memory_id = command_target(memory, waits, user, vaultId, memoryId)
    memory.delete_entry(user.owner_id, vault_id, memory_id, check_uuid(entryId, "entryId"),
                        cause=user.cause)
    return Response(status_code=NO_CONTENT)


@router.patch(ENTRY + "/tags", summary="Replace an entry's tags (v0)",
              responses=documented(200, EntryBody))
def retag_entry(vaultId: str, memoryId: str, entryId: str, body: RetagEntry,
                user: UserDep, memory: MemoryApp, waits: Waits):
    vault_id, memory_id = command_target(memory, waits, user, vaultId, memoryId)
    item, position = memory.retag_entry(
        user.owner_id, vault_id, memory_id, check_uuid(entryId, "entryId"),
        body.tags, cause=user.cause)
    return with_position(entry_body(user, vault_id, item.content, item.metadata,
                                    item.created_at, item.expires_at),
                         memory.name, position)


def entry_item_id(user: V0User, memory_id: str, entry_id: str) -> Any:
    return memory_id_for(user.owner_id, entry_key(memory_id, check_uuid(entry_id,
                                                                        "entryId")))


class SearchFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tags: Tags | None = None
    memoryType: str | None = Field(default=None, max_length=50)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    userId: UserId
    memoryId: str | None = None
    query: str = Field(min_length=1, max_length=1000)
    limit: int | None = Field(default=None, ge=1, le=100)
    topK: int | None = Field(default=None, ge=1, le=100)
    filters: SearchFilters | None = None


def search_dialect(body: Any) -> str:
    return CURRENT_DIALECT if is_current_v0_search(body) else SEED_DIALECT


SearchBody = Annotated[
    Annotated[SearchRequest, Tag(SEED_DIALECT)] | Annotated[CurrentSearch,
                                                            Tag(CURRENT_DIALECT)],
    Discriminator(search_dialect)]


@router.post("/search", summary="Search entries (v0: the seed's dialect, or the current "
                                "one: `memoryId` and no `userId`, with a bearer API key)",
             responses=documented(200, SearchResult | CurrentSearchResult))
def search(body: SearchBody, request: Request, system: SystemDep, waits: Waits):
    """Hybrid (keyword and meaning) search over the user's entries, or one memory's.
    The seed's dialect: `snippet` marks the matched words with <mark>;
    `processingTimeMs` is the server's time from checking the credentials to the
    answer. The current dialect: one memory's entries with a `score` each, its latest
    context and the one most like the query (`bestContext`)."""
    count_search(request)
    if isinstance(body, CurrentSearch):
        request.scope.setdefault("state", {})[FACE_KEY] = MEMORY_V0_CURRENT
        return current_search.search(body, account(request, system), system, waits)
    return _seed_search(body, request, system, waits)


def _seed_search(body: SearchRequest, request: Request, system: System,
                 waits: ReadModelWaits) -> Response:
    started = time.perf_counter()
    user = user_for(system, v0_caller(request, system), body.userId)
    memory_id = None if body.memoryId is None else check_uuid(body.memoryId, "memoryId")
    memories = _memories(system.read_models.vaults, waits, user, memory_id)
    filters = body.filters or SearchFilters()
    memory_type = filters.memoryType
    rows, _ = system.memory_search.search(MemoryQuery(
        user.owner_id, body.query, tags=tag_names(filters.tags or []),
        limit=body.limit or body.topK or DEFAULT_TOP_K,
        key_prefix=entry_key_prefix(memory_id), snippets=True,
        metadata={"v0": {"memoryType": memory_type}} if memory_type else None),
        system.clock())
    hits = [_hit(user, row, memories[row["metadata"]["v0"]["memoryId"]])
            for row in rows if row["metadata"]["v0"]["memoryId"] in memories]
    latest = memories[memory_id] if memory_id else {"context": None, "context_at": None}
    return Response(to_json({
        "entries": hits, "count": len(hits), "latestContext": latest["context"],
        "contextTimestamp": iso(latest["context_at"]),
        "processingTimeMs": round((time.perf_counter() - started) * 1000)}),
        media_type="application/json")


def _memories(vaults: VaultsView, waits: ReadModelWaits, user: V0User,
              memory_id: str | None) -> dict[str, dict]:
    """The user's memories (entries of deleted ones are not answered), with the latest
    context of the one searched, which must be the user's."""
    memories = vaults.memories_of(user.owner_id, memory_id)
    if memory_id and memory_id not in memories:
        vaults = waits.at_head(VaultsProjection)  # perhaps created a moment ago
        memories = vaults.memories_of(user.owner_id, memory_id)
        if memory_id not in memories:
            raise CollectionNotFound("memory not found", field="memoryId")
    return memories


def _hit(user: V0User, row: dict, memory: dict) -> dict:
    """The entry's fields flat (the SDK) and under `entry` (the document)."""
    entry = entry_body(user, memory["vault_id"], row["content"], row["metadata"],
                       row["created_at"], row["expires_at"])
    return {**entry, "entry": entry, "score": relevance(row["score"]),
            "snippet": row["snippet"]}
