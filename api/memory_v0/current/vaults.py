"""The current dialect's vaults and memories: `/v0/vaults/{vaultId}[/memories/...]`, the
caller's own, by id or title (an id wins), as the seed's paths find them."""

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.deps import MemoryApp, Now, Waits
from arqium.api.common.documents import documented
from arqium.api.common.positions import with_position
from arqium.api.memory_v0.access import VaultsAtHead, check_uuid, memory_row, vault_row
from arqium.api.memory_v0.current.auth import AccountDep
from arqium.api.memory_v0.current.bodies import memory_body, vault_body
from arqium.api.memory_v0.documents import (
    CurrentMemory,
    CurrentMemoryList,
    CurrentVault,
    CurrentVaultList,
)
from arqium.api.memory_v0.vaults import CREATED, NO_CONTENT, live_entry_ids

router = APIRouter(prefix="/v0", tags=["Memory Service v0 (current)"])
VAULT = "/vaults/{vaultId}"
MEMORY = VAULT + "/memories/{memoryId}"


class CreateVault(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: str
    description: str = Field(default="", max_length=2000)


@router.post("/vaults", status_code=201, summary="Create a vault (v0, current)",
             responses=documented(201, CurrentVault))
def create_vault(body: CreateVault, caller: AccountDep, memory: MemoryApp):
    vault, position = memory.create_vault(caller.owner_id, body.title, body.description,
                                          cause=caller.cause)
    return with_position(vault_body(caller, {
        "id": vault.id, "title": vault.title, "description": vault.description,
        "created_at": vault.created_at}), memory.name, position, CREATED)


@router.get("/vaults", summary="List the caller's vaults, newest first (v0, current)",
            responses=documented(200, CurrentVaultList))
def list_vaults(caller: AccountDep, vaults: VaultsAtHead):
    bodies = [vault_body(caller, row) for row in reversed(vaults.vaults(caller.owner_id))]
    return {"vaults": bodies, "count": len(bodies)}


@router.get(VAULT, summary="Get a vault by id or title (v0, current)",
            responses=documented(200, CurrentVault))
def get_vault(vaultId: str, caller: AccountDep, vaults: VaultsAtHead):
    return vault_body(caller, vault_row(vaults, caller, vaultId))


@router.delete(VAULT, status_code=204,
               summary="Delete a vault with its memories, entries and contexts "
                       "(v0, current; 204 also when absent)")
def delete_vault(vaultId: str, caller: AccountDep, vaults: VaultsAtHead, memory: MemoryApp,
                 waits: Waits, now: Now):
    vault = vaults.vault(caller.owner_id, vaultId)
    if vault is not None:
        memory_ids = [str(row["id"]) for row in vaults.memories_in(caller.owner_id,
                                                                    vault["id"])]
        memory.delete_vault(caller.owner_id, str(vault["id"]), memory_ids,
                            live_entry_ids(waits, caller, memory_ids, now),
                            cause=caller.cause)
    return Response(status_code=NO_CONTENT)


class CreateMemory(BaseModel):
    model_config = ConfigDict(extra="ignore")
    memoryType: str = Field(min_length=1, max_length=50)
    title: str
    description: str = Field(default="", max_length=2000)


@router.post(VAULT + "/memories", status_code=201,
             summary="Create a memory, with a default context (v0, current)",
             responses=documented(201, CurrentMemory))
def create_memory(vaultId: str, body: CreateMemory, caller: AccountDep,
                  vaults: VaultsAtHead, memory: MemoryApp):
    vault = vault_row(vaults, caller, vaultId)
    collection, position = memory.create_memory(
        caller.owner_id, str(vault["id"]), body.title, body.memoryType, body.description,
        cause=caller.cause)
    return with_position(memory_body(caller, {
        "id": collection.id, "vault_id": collection.vault_id, "title": collection.title,
        "memory_type": collection.memory_type, "description": collection.description,
        "created_at": collection.created_at}), memory.name, position, CREATED)


@router.get(VAULT + "/memories", summary="List a vault's memories, newest first "
                                         "(v0, current)",
            responses=documented(200, CurrentMemoryList))
def list_memories(vaultId: str, caller: AccountDep, vaults: VaultsAtHead):
    vault = vault_row(vaults, caller, vaultId)
    bodies = [memory_body(caller, row)
              for row in reversed(vaults.memories_in(caller.owner_id, vault["id"]))]
    return {"memories": bodies, "count": len(bodies)}


@router.get(MEMORY, summary="Get a memory by id or title (v0, current)",
            responses=documented(200, CurrentMemory))
def get_memory(vaultId: str, memoryId: str, caller: AccountDep, vaults: VaultsAtHead):
    return memory_body(caller, memory_row(vaults, caller, vaultId, memoryId))


@router.delete(MEMORY, status_code=204,
               summary="Delete a memory with its entries and contexts (v0, current; 204 "
                       "also when absent)")
def delete_memory(vaultId: str, memoryId: str, caller: AccountDep, vaults: VaultsAtHead,
                  memory: MemoryApp, waits: Waits, now: Now):
    vault = vaults.vault(caller.owner_id, vaultId)
    row = vault and vaults.memory(caller.owner_id, vault["id"], memoryId)
    if row:
        memory_id = str(row["id"])
        memory.delete_memory(caller.owner_id, str(row["vault_id"]), memory_id,
                             live_entry_ids(waits, caller, [memory_id], now),
                             cause=caller.cause)
    return Response(status_code=NO_CONTENT)


@router.post(MEMORY + "/attach", status_code=204,
             summary="Move one of the caller's memories (by id) into this vault "
                     "(v0, current)")
def attach_memory(vaultId: str, memoryId: str, caller: AccountDep, vaults: VaultsAtHead,
                  memory: MemoryApp):
    vault = vault_row(vaults, caller, vaultId)
    memory.attach_memory(caller.owner_id, str(vault["id"]),
                         check_uuid(memoryId, "memoryId"), cause=caller.cause)
    return Response(status_code=NO_CONTENT)
