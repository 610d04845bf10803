"""The bodies Memory Service v0 answers, as the OpenAPI document describes them (the
routes build them in access.py; these models only document them)."""

from typing import Any

from pydantic import BaseModel


class Times(BaseModel):
    created_at: str
    updated_at: str
    creationTime: str


class V0UserBody(Times):
    userId: str
    email: str | None
    displayName: str | None
    timeZone: str | None


class VaultBody(Times):
    vaultId: str
    userId: str
    title: str
    description: str | None


class VaultList(BaseModel):
    vaults: list[VaultBody]
    count: int


class MemoryBody(Times):
    memoryId: str
    vaultId: str
    userId: str
    title: str
    memoryType: str | None
    memory_type: str | None
    description: str | None


class MemoryList(BaseModel):
    memories: list[MemoryBody]
    count: int


class ContextBody(BaseModel):
    contextId: str
    userId: str
    vaultId: str
    memoryId: str
    context: Any
    createdAt: str
    creationTime: str


class EntryBody(BaseModel):
    entryId: str
    userId: str
    vaultId: str
    memoryId: str
    rawEntry: Any
    tags: list[str] | dict[str, Any]  # the SDK sends either
    metadata: Any
    creationTime: str
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

