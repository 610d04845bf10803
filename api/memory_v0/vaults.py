"""Memory Service v0 face (seed 002): users, vaults, memories and their contexts, bare
bodies, errors {error, message, code}. A vault or memory in a path is its id or, when
no id matches, its title: an id wins."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.deps import (
    IdentityApp,
    MemoryApp,
    Now,
    ReadModelWaits,
    SystemDep,
    Waits,
)
from arqium.api.common.documents import documented
from arqium.api.common.health import check_postgres
from arqium.api.common.positions import with_position
from arqium.api.common.shapes import now_iso
from arqium.api.errors import RETRY_AFTER
from arqium.api.memory_v0.access import (
    CallerDep,
    NotYourUser,
    UserDep,
    UsersAtHead,
    V0User,
    VaultsAtHead,
    check_uuid,
    context_body,
    memory_body,
    memory_row,
    user_body,
    vault_body,
    vault_row,
)
from arqium.api.memory_v0.documents import (
    ContextBody,
    HealthBody,
    MemoryBody,
    MemoryList,
    UserId,
    V0UserBody,
    VaultBody,
    VaultList,
)
from arqium.domain.identity.domainmodel import check_handle
from arqium.domain.memory.vaults import ContextNotFound, entry_key_prefix
from arqium.domain.shared import NotFound
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.projections.vaults import VaultsProjection

router = APIRouter(prefix="/v0", tags=["Memory Service v0"])
health_router = APIRouter(prefix="/v0", tags=["Memory Service v0"])  # not rate limited
USER = "/users/{userId}"
VAULT = USER + "/vaults/{vaultId}"
MEMORY = VAULT + "/memories/{memoryId}"
CREATED, NO_CONTENT = 201, 204


@health_router.get("/health", summary="Service health (v0)",
                   responses=documented(200, HealthBody))
def health(system: SystemDep):
    healthy = check_postgres(system)["status"] == "up"
    return JSONResponse({"status": "healthy" if healthy else "unhealthy",
                         "timestamp": now_iso()}, status_code=200 if healthy else 503,
                        headers=None if healthy else RETRY_AFTER)


class CreateUser(BaseModel):
    model_config = ConfigDict(extra="ignore")
    userId: UserId
    email: str = Field(min_length=3, max_length=320)
    displayName: str | None = Field(default=None, max_length=200)
    timeZone: str = Field(default="UTC", min_length=1, max_length=64)


@router.post("/users", status_code=201, summary="Create a user (v0)",
             responses=documented(201, V0UserBody))
def create_user(body: CreateUser, identity: IdentityApp, caller: CallerDep):
    """A user makes its own account a v0 user; an admin registers a new account, or
    gives an existing one (by `email`) its v0 userId. With ARQIUM_V0_AUTH=open, a new
    account (an e-mail address already registered is a 409)."""
    check_handle(body.userId)
    user_id, admin = None, caller.principal is not None and caller.principal.is_admin
    if caller.principal is not None and not admin:
        user_id = caller.principal.user_id
        if identity.user(user_id).email != body.email.strip().lower():
            raise NotYourUser("email must be your own account's e-mail address: a v0 "
                              "user you create is your own account", field="email")
    user, position = identity.claim_handle(
        body.userId, body.email, body.displayName or body.userId, body.timeZone,
        user_id=user_id, adopt_existing=admin, cause=caller.cause)
    return with_position(user_body({
        "handle": body.userId, "email": user.email,
        "display_name": body.displayName or body.userId, "time_zone": body.timeZone,
        "created_at": user.registered_at, "updated_at": user.registered_at}),
        identity.name, position, CREATED)


@router.get(USER, summary="Get a user (v0)", responses=documented(200, V0UserBody))
def get_user(user: UserDep, users: UsersAtHead):
    row = users.by_handle(user.handle)
    if row is None:
        raise NotFound(f"user {user.handle!r} not found", field="userId")
    return user_body(row)


class CreateVault(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: str
    description: str = Field(default="", max_length=2000)


@router.post(USER + "/vaults", status_code=201, summary="Create a vault (v0)",
             responses=documented(201, VaultBody))
def create_vault(body: CreateVault, user: UserDep, memory: MemoryApp):
    vault, position = memory.create_vault(user.owner_id, body.title, body.description,
                                          cause=user.cause)
    return with_position(vault_body(user, vault.id, vault.title, vault.description,
                                    vault.created_at, vault.created_at),
                         memory.name, position, CREATED)


@router.get(USER + "/vaults", summary="List vaults (v0)",
            responses=documented(200, VaultList))
def list_vaults(user: UserDep, vaults: VaultsAtHead):
    bodies = [vault_body(user, row["id"], row["title"], row["description"],
                         row["created_at"], row["updated_at"])
              for row in vaults.vaults(user.owner_id)]
    return {"vaults": bodies, "count": len(bodies)}


@router.get(VAULT, summary="Get a vault by id or title (v0)",
            responses=documented(200, VaultBody))
def get_vault(vaultId: str, user: UserDep, vaults: VaultsAtHead):
    row = vault_row(vaults, user, vaultId)
    return vault_body(user, row["id"], row["title"], row["description"],
                      row["created_at"], row["updated_at"])


@router.delete(VAULT, status_code=204, summary="Delete a vault with its memories (v0)")
def delete_vault(vaultId: str, user: UserDep, vaults: VaultsAtHead, memory: MemoryApp,
                 waits: Waits, now: Now):
    """Its memories and their entries are deleted too, each with its own event, in one
    atomic write."""
    vault = vault_row(vaults, user, vaultId)
    memory_ids = [str(row["id"]) for row in vaults.memories_in(user.owner_id, vault["id"])]
    memory.delete_vault(user.owner_id, str(vault["id"]), memory_ids,
                        live_entry_ids(waits, user, memory_ids, now), cause=user.cause)
    return Response(status_code=NO_CONTENT)


@router.post(MEMORY + "/attach", status_code=201, summary="Attach a memory to a vault (v0)",
             responses=documented(201, MemoryBody))
def attach_memory(vaultId: str, memoryId: str, user: UserDep, vaults: VaultsAtHead,
                  memory: MemoryApp, waits: Waits):
    """Moves one of the user's memories (by id) into this vault."""
    vault = vault_row(vaults, user, vaultId)
    collection, position = memory.attach_memory(
        user.owner_id, str(vault["id"]), check_uuid(memoryId, "memoryId"), cause=user.cause)
    row = waits.at_head(VaultsProjection).memory(user.owner_id, vault["id"],
                                                 str(collection.id))
    return with_position(memory_body(user, row), memory.name, position, CREATED)


class CreateMemory(BaseModel):
    model_config = ConfigDict(extra="ignore")
    title: str
    memoryType: str = Field(default="conversation", min_length=1, max_length=50)
    description: str = Field(default="", max_length=2000)


@router.post(VAULT + "/memories", status_code=201, summary="Create a memory (v0)",
             responses=documented(201, MemoryBody))
def create_memory(vaultId: str, body: CreateMemory, user: UserDep, vaults: VaultsAtHead,
                  memory: MemoryApp):
    """Also stores the memory's first context (an empty object)."""
    vault = vault_row(vaults, user, vaultId)
    collection, position = memory.create_memory(
        user.owner_id, str(vault["id"]), body.title, body.memoryType, body.description,
        cause=user.cause)
    return with_position(memory_body(user, {
        "id": collection.id, "vault_id": collection.vault_id, "title": collection.title,
        "memory_type": collection.memory_type, "description": collection.description,
        "created_at": collection.created_at, "updated_at": collection.updated_at}),
        memory.name, position, CREATED)


@router.get(VAULT + "/memories", summary="List a vault's memories, by vault id or title (v0)",
            responses=documented(200, MemoryList))
def list_memories(vaultId: str, user: UserDep, vaults: VaultsAtHead):
    vault = vault_row(vaults, user, vaultId)
    memories = [memory_body(user, row)
                for row in vaults.memories_in(user.owner_id, vault["id"])]
    return {"memories": memories, "count": len(memories)}


@router.get(MEMORY, summary="Get a memory by id or title (v0)",
            responses=documented(200, MemoryBody))
def get_memory(vaultId: str, memoryId: str, user: UserDep, vaults: VaultsAtHead):
    return memory_body(user, memory_row(vaults, user, vaultId, memoryId))


@router.delete(MEMORY, status_code=204, summary="Delete a memory with its entries (v0)")
def delete_memory(vaultId: str, memoryId: str, user: UserDep, vaults: VaultsAtHead,
                  memory: MemoryApp, waits: Waits, now: Now):
    row = memory_row(vaults, user, vaultId, memoryId)
    memory_id = str(row["id"])
    memory.delete_memory(user.owner_id, str(row["vault_id"]), memory_id,
                         live_entry_ids(waits, user, [memory_id], now), cause=user.cause)
    return Response(status_code=NO_CONTENT)


def live_entry_ids(waits: ReadModelWaits, user: V0User, memory_ids: list[str],
                   now: datetime) -> list[Any]:
    """The live entries of these memories, from the caught-up memory read model."""
    view = waits.at_head(MemoryItemsProjection)
    return [item_id for memory_id in memory_ids
            for item_id in view.ids_with_key_prefix(user.owner_id,
                                                    entry_key_prefix(memory_id), now)]


@router.put(MEMORY + "/contexts", status_code=201, summary="Put a memory's context (v0)",
            responses=documented(201, ContextBody))
def put_context(vaultId: str, memoryId: str, user: UserDep, vaults: VaultsAtHead,
                memory: MemoryApp, context: Annotated[Any, Body(embed=True)]):
    """A new latest context; earlier ones stay in the memory's history."""
    row = memory_row(vaults, user, vaultId, memoryId)
    context_id, at, position = memory.put_memory_context(
        user.owner_id, str(row["vault_id"]), str(row["id"]), context, cause=user.cause)
    return with_position(context_body(user, row["vault_id"], row["id"], context_id,
                                      context, at),
                         memory.name, position, CREATED)


@router.get(MEMORY + "/contexts", summary="Get a memory's latest context (v0)",
            responses=documented(200, ContextBody))
def get_context(vaultId: str, memoryId: str, user: UserDep, vaults: VaultsAtHead):
    memory = memory_row(vaults, user, vaultId, memoryId)
    latest = vaults.latest_context(memory["id"])
    if latest is None:
        raise ContextNotFound("this memory has no context", field="memoryId")
    return context_body(user, memory["vault_id"], memory["id"], latest["id"],
                        latest["context"], latest["created_at"])


@router.delete(MEMORY + "/contexts/{contextId}", status_code=204,
               summary="Delete one of a memory's contexts (v0)")
def delete_context(vaultId: str, memoryId: str, contextId: str, user: UserDep,
                   vaults: VaultsAtHead, memory: MemoryApp):
    row = memory_row(vaults, user, vaultId, memoryId)
    memory.delete_memory_context(user.owner_id, str(row["vault_id"]), str(row["id"]),
                                 check_uuid(contextId, "contextId"), cause=user.cause)
    return Response(status_code=NO_CONTENT)
