"""Who a v0 request acts for, the read models it sees, and the v0 bodies."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Callable
from uuid import UUID

from fastapi import Depends, Path, Request

from arqium.api.common.caller import anonymous_cause, current_caller
from arqium.api.common.deps import ReadModelWaits, SystemDep, Waits
from arqium.api.common.shapes import iso
from arqium.api.memory_v0.documents import USER_ID_SCHEMA
from arqium.domain.identity.domainmodel import check_handle
from arqium.domain.memory.application import MemoryApplication
from arqium.domain.memory.vaults import CollectionNotFound, VaultNotFound
from arqium.domain.shared import Cause, Forbidden, NotFound
from arqium.infra.security import Principal
from arqium.projections.base import BatchProjection, ReadModel
from arqium.projections.users import UsersProjection, UsersView
from arqium.projections.vaults import VaultsProjection, VaultsView
from arqium.system.bootstrap import System


class NotYourUser(Forbidden):
    code = "FORBIDDEN"


@dataclass(frozen=True)
class V0User:
    """The v0 user of the path (its handle and its ARQIUM id) and the cause its commands
    record."""

    handle: str
    owner_id: str
    cause: Cause


@dataclass(frozen=True)
class V0Caller:
    """The credentials' holder (None when ARQIUM_V0_AUTH=open) and its cause."""

    principal: Principal | None
    cause: Cause

    @property
    def acts_for_anyone(self) -> bool:
        """Open v0, or an admin."""
        return self.principal is None or self.principal.is_admin

    def may_act_for(self, owner_id: str) -> bool:
        return self.acts_for_anyone or self.principal.user_id == owner_id


def v0_caller(request: Request, system: SystemDep) -> V0Caller:
    if system.settings.v0_auth == "open":
        return V0Caller(None, anonymous_cause())
    caller = current_caller(request, system)
    return V0Caller(caller.principal, caller.cause)


CallerDep = Annotated[V0Caller, Depends(v0_caller)]


def user_for(system: System, caller: V0Caller, handle: str) -> V0User:
    """The v0 user `handle`, if the caller may act for it (its own, or any as admin)."""
    check_handle(handle)
    try:
        owner_id = owner_of_handle(system, handle)
    except NotFound:
        if not caller.acts_for_anyone:
            raise _not_yours(handle) from None
        raise
    if not caller.may_act_for(owner_id):
        raise _not_yours(handle)
    return V0User(handle, owner_id, caller.cause)


def owner_of_handle(system: System, handle: str) -> str:
    """The id of the user a v0 userId names: from the users read model, or from the
    event store for a user created a moment ago."""
    row = system.read_models.users.by_handle(handle)
    return str(row["id"]) if row else system.identity.user_of_handle(handle)


def _not_yours(handle: str) -> NotYourUser:
    return NotYourUser(f"user {handle!r} is not yours: a userId in the path must be the "
                       "v0 user of your credentials, unless you are an admin",
                       field="userId")


def path_user(userId: Annotated[str, Path(json_schema_extra=USER_ID_SCHEMA)],
              system: SystemDep, caller: CallerDep) -> V0User:
    return user_for(system, caller, userId)


UserDep = Annotated[V0User, Depends(path_user)]


def at_head(projection: type[BatchProjection]) -> Callable[..., ReadModel]:
    """A dependency: the read model once it holds every write stored so far, so a v0
    client reads what it just wrote without sending positions (its seed has none)."""

    def dependency(waits: Waits) -> ReadModel:
        return waits.at_head(projection)

    return dependency


UsersAtHead = Annotated[UsersView, Depends(at_head(UsersProjection))]
VaultsAtHead = Annotated[VaultsView, Depends(at_head(VaultsProjection))]


def vault_row(vaults: VaultsView, user: V0User, ref: str) -> dict:
    """The user's vault named by `ref`: an id first, else a title (URL-decoded by the
    router). An id wins when a title looks like another vault's id."""
    row = vaults.vault(user.owner_id, ref)
    if row is None:
        raise VaultNotFound("vault not found", field="vaultId")
    return row


def memory_row(vaults: VaultsView, user: V0User, vault_ref: str, ref: str) -> dict:
    """The memory named by `ref` (id first, then title) in the vault named by vault_ref."""
    vault = vault_row(vaults, user, vault_ref)
    row = vaults.memory(user.owner_id, vault["id"], ref)
    if row is None:
        raise CollectionNotFound("memory not found", field="memoryId")
    return row


def command_target(memory: MemoryApplication, waits: ReadModelWaits, user: V0User,
                   vault_ref: str, memory_ref: str) -> tuple[str, str]:
    """The (vault id, memory id) a command addresses: ids are checked by the command
    itself, without waiting for a read model; titles are looked up."""
    if _is_uuid(vault_ref) and _is_uuid(memory_ref):
        try:
            memory.memory_in_vault(user.owner_id, vault_ref, memory_ref)
            return str(UUID(vault_ref)), str(UUID(memory_ref))
        except NotFound:
            pass  # titles that look like ids
    row = memory_row(waits.at_head(VaultsProjection), user, vault_ref, memory_ref)
    return str(row["vault_id"]), str(row["id"])


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def check_uuid(value: str, field: str) -> str:
    """Ids of vaults, memories, entries and contexts are UUIDs: anything else names
    nothing."""
    try:
        return str(UUID(value))
    except ValueError:
        raise NotFound(f"{field} {value!r} not found", field=field) from None


# --- bodies: the document's fields, plus the SDK's (creationTime, memory_type) ---------

def user_body(row: dict) -> dict:
    return {"userId": row["handle"], "email": row["email"],
            "displayName": row["display_name"], "timeZone": row["time_zone"],
            **times(row["created_at"], row["updated_at"])}


def vault_body(user: V0User, vault_id: Any, title: str, description: str,
               created_at: datetime, updated_at: datetime) -> dict:
    return {"vaultId": str(vault_id), "userId": user.handle, "title": title,
            "description": description, **times(created_at, updated_at)}


def memory_body(user: V0User, row: dict) -> dict:
    return {"memoryId": str(row["id"]), "vaultId": str(row["vault_id"]),
            "userId": user.handle, "title": row["title"], "memoryType": row["memory_type"],
            "memory_type": row["memory_type"], "description": row["description"],
            **times(row["created_at"], row["updated_at"])}


def entry_body(user: V0User, vault_id: Any, content: Any, metadata: dict,
               created_at: datetime, expires_at: datetime | None) -> dict:
    v0 = metadata["v0"]
    body = {"entryId": v0["entryId"], "userId": user.handle, "vaultId": str(vault_id),
            "memoryId": v0["memoryId"], "rawEntry": content,
            "metadata": v0["metadata"], "creationTime": iso(created_at)}
    if v0["tags"] is not None:  # an entry stored without tags is answered without them
        body["tags"] = v0["tags"]
    if v0.get("summary") is not None:
        body["summary"] = v0["summary"]
    if expires_at is not None:
        body["expirationTime"] = iso(expires_at)
    return body


def context_body(user: V0User, vault_id: Any, memory_id: Any, context_id: Any,
                 context: Any, created_at: datetime) -> dict:
    return {"contextId": str(context_id), "userId": user.handle, "vaultId": str(vault_id),
            "memoryId": str(memory_id), "context": context, "createdAt": iso(created_at),
            "creationTime": iso(created_at)}


def times(created_at: datetime, updated_at: datetime) -> dict:
    """Both the document's and the SDK's names for when a resource was made."""
    return {"created_at": iso(created_at), "updated_at": iso(updated_at),
            "creationTime": iso(created_at)}
