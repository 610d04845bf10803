"""AstralBody face (seed 004): bare bodies, errors {error{code,message,details,timestamp}}."""

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.astralbody import agents, components, files, sessions
from arqium.api.astralbody.documents import AstralHealth, AstralProfile, OidcClientConfig
from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import AppSettings, IdentityApp, SystemDep, Users
from arqium.api.common.documents import documented
from arqium.api.common.health import VERSION, check_postgres
from arqium.api.common.shapes import iso, now_iso
from arqium.api.common.users import user_row
from arqium.api.errors import RETRY_AFTER
from arqium.api.ratelimit import limited

router = APIRouter(tags=["AstralBody"])
per_user = [Depends(limited("astralbody_user"))]


class AstralProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    preferences: dict[str, Any] | None = None


def astral_profile(fields: dict) -> dict:
    return {"id": str(fields["id"]), "email": fields["email"], "name": fields["name"],
            "roles": list(fields["roles"]), "created_at": iso(fields["created_at"]),
            "last_login": iso(fields.get("last_login"))}


@router.get("/health", summary="Backend health (AstralBody)",
            responses=documented(200, AstralHealth))
def health(system: SystemDep):
    healthy = check_postgres(system)["status"] == "up"
    return JSONResponse({"status": "healthy" if healthy else "unhealthy",
                         "version": VERSION, "timestamp": now_iso()},
                        status_code=200 if healthy else 503,
                        headers=None if healthy else RETRY_AFTER)


@router.get("/auth/config", summary="OIDC configuration for the client",
            dependencies=per_user, responses=documented(200, OidcClientConfig))
def auth_config(settings: AppSettings):
    return {"issuer": settings.oidc_issuer, "client_id": settings.oidc_client_id,
            "scope": settings.oidc_scope, "redirect_uri": settings.oidc_redirect_uri}


@router.get("/user/profile", summary="Your profile (AstralBody)", dependencies=per_user,
            responses=documented(200, AstralProfile))
def get_profile(caller: CurrentCaller, users: Users):
    return astral_profile(user_row(users, caller.user_id))


@router.put("/user/profile", summary="Change your name or preferences (AstralBody)",
            dependencies=per_user, responses=documented(200, AstralProfile))
def put_profile(body: AstralProfileUpdate, caller: CurrentCaller, identity: IdentityApp):
    user, _ = identity.update_profile(caller.user_id, body.name, body.preferences,
                                      cause=caller.cause)
    return astral_profile({"id": user.id, "email": user.email, "name": user.name,
                           "roles": user.roles, "created_at": user.registered_at,
                           "last_login": None})


router.include_router(sessions.router, dependencies=per_user)
router.include_router(files.router)  # limited route by route: uploads have their own
router.include_router(components.router, dependencies=per_user)
router.include_router(agents.router, dependencies=per_user)
