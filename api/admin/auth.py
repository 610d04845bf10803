"""Admin API face (seed 003): auth tokens and login sessions; errors
{error{code,message,details}, status}."""

from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.admin.documents import AdminSuccess, AuthToken, LoginSessions
from arqium.api.common.caller import CurrentCaller
from arqium.api.common.deps import IdentityApp, Tokens, Waits
from arqium.api.common.documents import documented
from arqium.api.common.login_sessions import (
    end_session,
    open_session,
    refresh_session,
    session_of_any_token,
    user_cause,
)
from arqium.api.common.positions import with_position
from arqium.api.common.shapes import iso
from arqium.api.ratelimit import guard_login
from arqium.infra.security import TokenPair
from arqium.projections.login_sessions import LoginSessionsProjection

router = APIRouter(prefix="/api/auth", tags=["Admin API"])


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    remember_me: bool = False


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    refresh_token: str = Field(min_length=1, max_length=4096)


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    token: str = Field(min_length=1, max_length=4096)


def auth_token(tokens: TokenPair) -> dict:
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "expires_in": tokens.expires_in, "token_type": tokens.token_type}


@router.post("/login", summary="Log in (AuthToken)", responses=documented(200, AuthToken))
def login(body: LoginRequest, request: Request, identity: IdentityApp, tokens: Tokens):
    guard_login(request, body.email)
    user = identity.authenticate(body.email, body.password)
    pair, position = open_session(identity, tokens, user, request, body.remember_me)
    return with_position(auth_token(pair), identity.name, position)


@router.post("/refresh", summary="Exchange a refresh token (AuthToken)",
             responses=documented(200, AuthToken))
def refresh(body: RefreshRequest, identity: IdentityApp, tokens: Tokens, waits: Waits):
    return auth_token(refresh_session(identity, tokens, waits, body.refresh_token))


@router.post("/logout", summary="End the session of an access or refresh token",
             responses=documented(200, AdminSuccess))
def logout(body: LogoutRequest, identity: IdentityApp, tokens: Tokens, waits: Waits):
    user_id, session_id = session_of_any_token(tokens, body.token)
    end_session(identity, waits, session_id, user_id, "logout", cause=user_cause(user_id))
    return {"success": True}


@router.get("/sessions", summary="Your live login sessions",
            responses=documented(200, LoginSessions))
def sessions(caller: CurrentCaller, waits: Waits):
    # Every session started before this request is listed: a login just answered included.
    rows = waits.at_head(LoginSessionsProjection).active_for_user(caller.user_id)
    return {"sessions": [{"id": str(row["id"]), "user_id": row["user_id"],
                          "ip_address": row["ip_address"], "user_agent": row["user_agent"],
                          "last_activity": iso(row["last_activity"]),
                          "created_at": iso(row["created_at"])} for row in rows],
            "current_session_id": caller.principal.session_id}


@router.delete("/sessions/{session_id}", summary="End one of your sessions",
               responses=documented(200, AdminSuccess))
def delete_session(session_id: UUID, caller: CurrentCaller, identity: IdentityApp,
                   waits: Waits):
    end_session(identity, waits, str(session_id), caller.user_id, "revoked",
                cause=caller.cause)
    return {"success": True}
