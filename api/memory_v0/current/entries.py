"""The current dialect's entries: `/v0/vaults/{vaultId}/memories/{memoryId}/entries`,
tags only ever an object of strings (left out when the entry has none)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.deps import MemoryApp, Now, Waits
from arqium.api.common.documents import documented
from arqium.api.common.positions import with_position
from arqium.api.common.validation import UtcTime
from arqium.api.memory_v0.access import (
    VaultsAtHead,
    check_uuid,
    command_target,
    memory_row,
)
from arqium.api.memory_v0.current.auth import AccountDep
from arqium.api.memory_v0.current.bodies import entry_body
from arqium.api.memory_v0.current.vaults import MEMORY
from arqium.api.memory_v0.documents import CurrentEntry, CurrentEntryList
from arqium.api.memory_v0.entries import MAX_TAGS, entry_item_id, future
from arqium.api.memory_v0.vaults import CREATED, NO_CONTENT
from arqium.domain.memory.vaults import MAX_RAW_ENTRY, entry_key_prefix
from arqium.domain.shared import NotFound
from arqium.projections.memory_items import MemoryItemsProjection

router = APIRouter(prefix="/v0", tags=["Memory Service v0 (current)"])
ENTRIES = MEMORY + "/entries"
ENTRY = ENTRIES + "/{entryId}"
Tags = Annotated[dict[str, str], Field(max_length=MAX_TAGS)]


class AddEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    rawEntry: str = Field(min_length=1, max_length=MAX_RAW_ENTRY)
    summary: str | None = Field(default=None, max_length=MAX_RAW_ENTRY)
    metadata: dict | None = None
    tags: Tags | None = None
    expirationTime: UtcTime | None = None


class RetagEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tags: Tags


@router.post(ENTRIES, status_code=201, summary="Add an entry (v0, current)",
             responses=documented(201, CurrentEntry))
def add_entry(vaultId: str, memoryId: str, body: AddEntry, caller: AccountDep,
              memory: MemoryApp, waits: Waits, now: Now):
    vault_id, memory_id = command_target(memory, waits, caller, vaultId, memoryId)
    item, position = memory.add_entry(
        caller.owner_id, vault_id, memory_id, body.rawEntry, body.tags, body.summary,
        body.metadata or {}, future(body.expirationTime, now), cause=caller.cause)
    return with_position(entry_body(caller, vault_id, item.content, item.metadata,
                                    item.created_at, item.expires_at),
                         memory.name, position, CREATED)


@router.get(ENTRIES, summary="List a memory's entries, newest first (v0, current)",
            responses=documented(200, CurrentEntryList))
def list_entries(vaultId: str, memoryId: str, caller: AccountDep, vaults: VaultsAtHead,
                 waits: Waits, now: Now,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                 before: UtcTime | None = None, after: UtcTime | None = None):
    """`before` and `after` are RFC 3339 times; given both, `before` wins."""
    row = memory_row(vaults, caller, vaultId, memoryId)
    rows = waits.at_head(MemoryItemsProjection).with_key_prefix(
        caller.owner_id, entry_key_prefix(str(row["id"])), now, limit=limit,
        before=before, after=None if before else after)
    entries = [entry_body(caller, row["vault_id"], item["content"], item["metadata"],
                          item["created_at"], item["expires_at"]) for item in rows]
    return {"entries": entries, "count": len(entries)}


@router.get(ENTRY, summary="Get an entry (v0, current)",
            responses=documented(200, CurrentEntry))
def get_entry(vaultId: str, memoryId: str, entryId: str, caller: AccountDep,
              vaults: VaultsAtHead, waits: Waits, now: Now):
    row = memory_row(vaults, caller, vaultId, memoryId)
    item = waits.at_head(MemoryItemsProjection).get(
        caller.owner_id, entry_item_id(caller, str(row["id"]), entryId), now)
    if item is None:
        raise NotFound("entry not found", field="entryId")
    return entry_body(caller, row["vault_id"], item["content"], item["metadata"],
                      item["created_at"], item["expires_at"])


@router.delete(ENTRY, status_code=204,
               summary="Delete an entry (v0, current; 204 also when it is gone)")
def delete_entry(vaultId: str, memoryId: str, entryId: str, caller: AccountDep,
                 memory: MemoryApp, waits: Waits):
    vault_id, memory_id = command_target(memory, waits, caller, vaultId, memoryId)
    memory.discard_entry(caller.owner_id, vault_id, memory_id,
                         check_uuid(entryId, "entryId"), cause=caller.cause)
    return Response(status_code=NO_CONTENT)


@router.patch(ENTRY + "/tags", summary="Replace an entry's tags (v0, current)",
              responses=documented(200, CurrentEntry))
def retag_entry(vaultId: str, memoryId: str, entryId: str, body: RetagEntry,
                caller: AccountDep, memory: MemoryApp, waits: Waits):
    vault_id, memory_id = command_target(memory, waits, caller, vaultId, memoryId)
    item, position = memory.retag_entry(caller.owner_id, vault_id, memory_id,
                                        check_uuid(entryId, "entryId"), body.tags,
                                        cause=caller.cause)
    return with_position(entry_body(caller, vault_id, item.content, item.metadata,
                                    item.created_at, item.expires_at),
                         memory.name, position)
