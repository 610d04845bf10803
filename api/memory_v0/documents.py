"""The bodies Memory Service v0 answers, as the OpenAPI document describes them (the
routes build them in access.py; these models only document them)."""

from typing import Annotated, Any

from pydantic import BaseModel, Field

from arqium.domain.identity.domainmodel import HANDLE_PATTERN

# The rule of a userId, stated for clients and fuzzers; `check_handle` enforces it, with
# the message v0 clients know (so the models do not).
USER_ID_SCHEMA = {"pattern": HANDLE_PATTERN.pattern}
UserId = Annotated[str, Field(json_schema_extra=USER_ID_SCHEMA)]


class Times(BaseModel):
    created_at: str
    updated_at: str
    creationTime: str


class V0UserBody(Times):
    userId: UserId
    email: str | None
    displayName: str | None
    timeZone: str | None


class VaultBody(Times):
    vaultId: str
    userId: UserId
    title: str
    description: str | None


class VaultList(BaseModel):
    vaults: list[VaultBody]
    count: int


class MemoryBody(Times):
    memoryId: str
    vaultId: str
    userId: UserId
    title: str
    memoryType: str | None
    memory_type: str | None
    description: str | None


class MemoryList(BaseModel):
    memories: list[MemoryBody]
    count: int


class ContextBody(BaseModel):
    contextId: str
    userId: UserId
    vaultId: str
    memoryId: str
    context: Any
    createdAt: str
    creationTime: str


class EntryBody(BaseModel):
    entryId: str
    userId: UserId
    vaultId: str
    memoryId: str
    rawEntry: Any
    metadata: Any
    creationTime: str
    tags: list[str] | dict[str, Any] | None = None  # the SDK sends either, or none
    summary: str | None = None
    expirationTime: str | None = None


class EntryList(BaseModel):
    entries: list[EntryBody]
    count: int


class SearchHit(EntryBody):
    entry: EntryBody
    score: float
    snippet: str | None


class SearchResult(BaseModel):
    entries: list[SearchHit]
    count: int
    latestContext: Any
    contextTimestamp: str | None
    processingTimeMs: int


class HealthBody(BaseModel):
    status: str
    timestamp: str



# --- the current dialect (its newest SDK): actorId, creationTime, tags an object ------

class CurrentVault(BaseModel):
    vaultId: str
    actorId: str
    title: str
    creationTime: str
    description: str | None = None


class CurrentVaultList(BaseModel):
    vaults: list[CurrentVault]
    count: int


class CurrentMemory(BaseModel):
    memoryId: str
    actorId: str
    vaultId: str
    memoryType: str
    title: str
    creationTime: str
    description: str | None = None


class CurrentMemoryList(BaseModel):
    memories: list[CurrentMemory]
    count: int


class CurrentEntry(BaseModel):
    entryId: str
    actorId: str
    vaultId: str
    memoryId: str
    rawEntry: str
    creationTime: str
    summary: str | None = None
    metadata: dict[str, Any] | None = None
    tags: dict[str, str] | None = None
    expirationTime: str | None = None


class CurrentEntryList(BaseModel):
    entries: list[CurrentEntry]
    count: int


class CurrentContext(BaseModel):
    contextId: str
    actorId: str
    vaultId: str
    memoryId: str
    context: str
    creationTime: str


class CurrentSearchHit(CurrentEntry):
    score: float


class CurrentSearchResult(BaseModel):
    entries: list[CurrentSearchHit]
    count: int
    latestContext: str
    contextTimestamp: str | None
    bestContext: str
    bestContextTimestamp: str | None
    bestContextScore: float


CURRENT_ERROR = "MemoryV0CurrentError"  # its schema: api/openapi.py
ERROR_MEANINGS = {413: "the context is longer than 65,536 characters",
                  415: "the context is not sent as text/plain (UTF-8)"}


def current_errors(*statuses: int) -> dict[int, dict[str, Any]]:
    """`responses=` entries for the current dialect's own error statuses."""
    return {status: {"description": ERROR_MEANINGS[status], "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{CURRENT_ERROR}"}}}}
        for status in statuses}
