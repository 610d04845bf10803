"""ARQIUM users: your profile, and users by id (yourself, or anyone for admins)."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.caller import CurrentCaller, require_admin
from arqium.api.common.deps import (
    AgentsApp,
    AnalyticsApp,
    ComponentsApp,
    IdentityApp,
    MemoryApp,
    SessionsApp,
    Users,
    Waits,
)
from arqium.api.common.documents import enveloped
from arqium.api.common.envelope import ok
from arqium.api.common.shapes import iso
from arqium.api.common.users import profile_view, user_row
from arqium.api.v1.documents import Deleted, PasswordChanged, ProfileView
from arqium.domain.identity.domainmodel import User
from arqium.domain.shared import Forbidden
from arqium.projections.api_keys import ApiKeysProjection
from arqium.projections.login_sessions import LoginSessionsProjection

router = APIRouter(prefix="/api/v1/users", tags=["ARQIUM: users"])


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    preferences: dict[str, Any] | None = None


def profile_from_user(user: User) -> dict:
    return {"id": str(user.id), "email": user.email, "name": user.name,
            "roles": list(user.roles), "preferences": user.preferences,
            "created_at": iso(user.registered_at)}


@router.get("/profile", summary="Your profile",
            responses=enveloped(200, ProfileView))
def get_profile(caller: CurrentCaller, users: Users):
    return ok(profile_view(user_row(users, caller.user_id)))


@router.put("/profile", summary="Change your name or preferences",
            responses=enveloped(200, ProfileView))
def put_profile(body: ProfileUpdate, caller: CurrentCaller, identity: IdentityApp):
    user, position = identity.update_profile(caller.user_id, body.name,
                                             body.preferences, cause=caller.cause)
    return ok(profile_from_user(user), position=(identity.name, position))


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


@router.put("/password", summary="Change your password",
            responses=enveloped(200, PasswordChanged))
def change_password(body: PasswordChange, caller: CurrentCaller, identity: IdentityApp):
    position = identity.change_password(caller.user_id, body.current_password,
                                        body.new_password, cause=caller.cause)
    return ok({"password_changed": True}, position=(identity.name, position))


@router.delete("/{user_id}", summary="Delete a user (admin only)",
               responses=enveloped(200, Deleted))
def delete_user(user_id: UUID, caller: CurrentCaller, identity: IdentityApp,
                memory: MemoryApp, sessions: SessionsApp, analytics: AnalyticsApp,
                components: ComponentsApp, agents: AgentsApp, waits: Waits):
    """Ends the user's sessions and keys, removes its rows from every read model and
    destroys its data key: its sensitive history becomes unreadable."""
    require_admin(caller)
    position = identity.delete_user(str(user_id), cause=caller.cause)
    memory.forget_owner(str(user_id), cause=caller.cause)
    sessions.forget_owner(str(user_id), cause=caller.cause)
    analytics.forget_owner(str(user_id), cause=caller.cause)
    components.forget_owner(str(user_id), cause=caller.cause)
    agents.forget_owner(str(user_id), cause=caller.cause)
    for projection in (LoginSessionsProjection, ApiKeysProjection):  # credentials die now
        waits.reached(projection, position)
    return ok({"id": str(user_id), "deleted": True}, position=(identity.name, position))


@router.get("/{user_id}", summary="A user by id: yourself, or anyone if you are an admin",
            responses=enveloped(200, ProfileView))
def get_user(user_id: UUID, caller: CurrentCaller, users: Users):
    if str(user_id) != caller.user_id and not caller.principal.is_admin:
        raise Forbidden("you may only read your own user unless you are an admin")
    return ok(profile_view(user_row(users, str(user_id))))
