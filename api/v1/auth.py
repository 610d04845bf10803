"""ARQIUM identity: register, log in, refresh, log out, validate."""

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.caller import CurrentCaller, anonymous_cause
from arqium.api.common.deps import IdentityApp, SystemDep, Tokens, Waits
from arqium.api.common.documents import enveloped
from arqium.api.common.envelope import ok
from arqium.api.common.login_sessions import end_session, open_session, refresh_session
from arqium.api.common.shapes import iso
from arqium.api.principals import access_principal
from arqium.api.v1.documents import LoggedOut, LoginView, TokenPairView, TokenValidity
from arqium.api.ratelimit import guard_login
from arqium.domain.identity.domainmodel import User
from arqium.domain.shared import AuthenticationFailed
from arqium.infra.security import TokenPair

router = APIRouter(prefix="/api/v1/auth", tags=["ARQIUM: auth"])


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)  # the policy is the domain's
    name: str = Field(min_length=1, max_length=200)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    refresh_token: str = Field(min_length=1, max_length=4096)


class ValidateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    token: str = Field(max_length=4096)


def user_view(user: User) -> dict:
    return {"id": str(user.id), "email": user.email, "name": user.name,
            "roles": list(user.roles), "created_at": iso(user.registered_at)}


def token_fields(tokens: TokenPair) -> dict:
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "expires_in": tokens.expires_in, "token_type": tokens.token_type}


@router.post("/register", status_code=201, summary="Register a user",
             responses=enveloped(201, LoginView))
def register(body: RegisterRequest, request: Request, identity: IdentityApp,
             tokens: Tokens):
    user, _ = identity.register(body.email, body.name, body.password,
                                cause=anonymous_cause())
    pair, position = open_session(identity, tokens, user, request)
    return ok({"user": user_view(user), **token_fields(pair)}, status=201,
              position=(identity.name, position))


@router.post("/login", summary="Log in with e-mail and password",
             responses=enveloped(200, LoginView))
def login(body: LoginRequest, request: Request, identity: IdentityApp, tokens: Tokens):
    guard_login(request, body.email)
    user = identity.authenticate(body.email, body.password)
    pair, position = open_session(identity, tokens, user, request)
    return ok({"user": user_view(user), **token_fields(pair)},
              position=(identity.name, position))


@router.post("/refresh", summary="Exchange a refresh token for a new token pair",
             responses=enveloped(200, TokenPairView))
def refresh(body: RefreshRequest, identity: IdentityApp, tokens: Tokens, waits: Waits):
    return ok(token_fields(refresh_session(identity, tokens, waits, body.refresh_token)))


@router.post("/logout", summary="End this login session; its tokens stop working",
             responses=enveloped(200, LoggedOut))
def logout(caller: CurrentCaller, identity: IdentityApp, waits: Waits):
    if caller.principal.session_id is None:
        raise AuthenticationFailed("log out with the session's bearer token, not an API key")
    end_session(identity, waits, caller.principal.session_id, caller.user_id, "logout",
                cause=caller.cause)
    return ok({"logged_out": True})


@router.post("/validate", summary="Tell whether an access token is valid now",
             responses=enveloped(200, TokenValidity))
def validate(body: ValidateRequest, system: SystemDep):
    try:
        principal = access_principal(system, body.token)
    except AuthenticationFailed:
        principal = None
    if principal is None:
        return ok({"valid": False, "user_id": None, "roles": [], "expires_at": None})
    return ok({"valid": True, "user_id": principal.user_id, "roles": list(principal.roles),
               "expires_at": iso(principal.expires_at)})
